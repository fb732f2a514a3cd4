from django.contrib import admin

from catalog.admin import video_thumbnail
from ingestion.models import IngestJob


@admin.register(IngestJob)
class IngestJobAdmin(admin.ModelAdmin):
    list_display = ["id", "thumbnail", "kind", "source", "status", "stage", "progress",
                    "created_at"]  # fmt: skip
    list_filter = ["status", "kind"]
    search_fields = ["source", "error"]
    list_select_related = ["video"]
    readonly_fields = ["thumbnail", "task_id", "result", "started_at", "finished_at"]

    @admin.display(description="faces")
    def thumbnail(self, job: IngestJob) -> str:
        return video_thumbnail(job.video)
