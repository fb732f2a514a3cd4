"""Filters of the API's lists, declared (django-filter), never hand-parsed."""

import django_filters

from apitools import id_filter
from catalog.models import Face, Person, Video


class PersonFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    video = id_filter("faces__video", distinct=True)

    class Meta:
        model = Person
        fields = ["name", "hidden", "named_by_curator", "locked", "video"]


class FaceFilter(django_filters.FilterSet):
    video = id_filter("video")
    person = id_filter("person")
    track = id_filter("track")

    class Meta:
        model = Face
        fields = ["video", "person", "track"]


class VideoFilter(django_filters.FilterSet):
    title = django_filters.CharFilter(lookup_expr="icontains")
    person = id_filter("faces__person", distinct=True)

    class Meta:
        model = Video
        fields = ["status", "source", "title", "person"]
