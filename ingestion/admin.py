from django.contrib import admin

from ingestion.models import IngestJob


@admin.register(IngestJob)
class IngestJobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "source", "status", "stage", "progress", "created_at"]
    list_filter = ["status", "kind"]
    readonly_fields = ["task_id", "result", "started_at", "finished_at"]
