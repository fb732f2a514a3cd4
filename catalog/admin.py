from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils.html import format_html

from catalog.models import Face, Person, Track, Video
from catalog.services import curation, videos


def crop_thumbnail(face: Face | None) -> str:
    if not face or not face.crop:
        return ""
    return format_html('<img src="{}" style="height:64px;border-radius:4px">', face.crop.url)


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ["id", "__str__", "source", "status", "duration_s", "created_at"]
    list_filter = ["status", "source"]
    search_fields = ["title", "original_name", "content_sha256"]
    readonly_fields = [
        "content_sha256",
        "size_bytes",
        "duration_s",
        "fps",
        "width",
        "height",
        "processed_at",
    ]

    # Deleting goes through the service, so crops, the file and index points go with the rows.
    def delete_model(self, request, obj: Video) -> None:
        self.delete_queryset(request, Video.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        for video in queryset:
            try:
                videos.delete_video(video)
            except videos.VideoBusy as error:
                self.message_user(request, str(error), messages.WARNING)


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["id", "cover", "__str__", "named_by_curator", "locked", "hidden"]
    list_filter = ["named_by_curator", "locked", "hidden"]
    search_fields = ["name"]
    fields = ["name", "locked", "hidden", "cover_face", "named_by_curator"]
    readonly_fields = ["named_by_curator"]
    raw_id_fields = ["cover_face"]

    # People come from grouping faces; an empty one made by hand would be nobody.
    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="cover")
    def cover(self, person: Person) -> str:
        return crop_thumbnail(person.cover_face)

    def save_model(self, request, obj: Person, form, change) -> None:
        """Every change goes through the curation service, as the API's do: the same checks,
        the same index updates, and re-clustering keeps the decision."""
        person = Person.objects.get(pk=obj.pk)
        changed = set(form.changed_data)
        if "name" in changed:
            curation.rename_person(person, obj.name)
        if "locked" in changed:
            curation.set_person_locked(person, obj.locked)
        if "hidden" in changed:
            curation.set_person_hidden(person, obj.hidden)
        if "cover_face" in changed:
            curation.set_cover_face(person, obj.cover_face)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except curation.CurationError as error:  # shown on the page; nothing was saved
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.path)


@admin.register(Face)
class FaceAdmin(admin.ModelAdmin):
    list_display = ["id", "thumbnail", "video", "time_s", "person", "quality"]
    list_filter = ["embedding_model"]
    raw_id_fields = ["video", "track", "person"]
    exclude = ["embedding"]

    @admin.display(description="crop")
    def thumbnail(self, face: Face) -> str:
        return crop_thumbnail(face)


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["id", "video", "index_in_video", "start_time_s", "end_time_s"]
    raw_id_fields = ["video"]
