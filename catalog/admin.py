from django.contrib import admin, messages
from django.utils.html import format_html

from catalog.models import Face, Person, Track, Video
from catalog.services import index_sync, videos


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
    raw_id_fields = ["cover_face"]

    @admin.display(description="cover")
    def cover(self, person: Person) -> str:
        return crop_thumbnail(person.cover_face)

    def save_model(self, request, obj, form, change):
        # A name given by a person is a curator's decision: re-clustering must keep it.
        if "name" in form.changed_data and obj.name:
            obj.named_by_curator = True
        super().save_model(request, obj, form, change)
        if change and "hidden" in form.changed_data:
            index_sync.set_person_hidden(obj.id, obj.hidden)


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
