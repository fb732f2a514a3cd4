import django_filters

from catalog.models import Face, Person, Video


class PersonFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    video = django_filters.NumberFilter(field_name="faces__video", distinct=True)

    class Meta:
        model = Person
        fields = ["name", "hidden", "named_by_curator", "locked", "video"]


class FaceFilter(django_filters.FilterSet):
    class Meta:
        model = Face
        fields = ["video", "person", "track"]


class VideoFilter(django_filters.FilterSet):
    title = django_filters.CharFilter(lookup_expr="icontains")
    person = django_filters.NumberFilter(field_name="faces__person", distinct=True)

    class Meta:
        model = Video
        fields = ["status", "source", "title", "person"]
