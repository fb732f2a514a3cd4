"""Jobs: one row per thing a user asked for: ingest a file or a URL, or regroup all faces into
people."""

from django.db import models
from django.utils import timezone


class IngestJob(models.Model):
    class Kind(models.TextChoices):
        UPLOAD = "upload", "Uploaded file"
        URL = "url", "URL"
        # "cluster": the seed's name, kept for the rows and queued tasks that carry it.
        REGROUP_PEOPLE = "cluster", "Regroup people"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Stage(models.TextChoices):
        QUEUED = "queued", "Queued"
        DOWNLOADING = "downloading", "Downloading"
        DETECTING = "detecting", "Finding faces"
        SAVING = "saving", "Saving faces"
        CLUSTERING = "clustering", "Grouping people"
        INDEXING = "indexing", "Indexing"
        FINISHED = "finished", "Finished"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    # What was asked for, as given: a URL, or the uploaded file's name.
    source = models.CharField(max_length=2048, blank=True)
    video = models.ForeignKey(
        "catalog.Video", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # What the job found, for the summary: faces, tracks, people, deduplicated...
    result = models.JSONField(default=dict, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    # Each run of the job is an attempt; a task handed an older attempt (a worker that died and
    # whose task the broker delivers again) does nothing.
    attempt = models.PositiveSmallIntegerField(default=1)
    # Written every few seconds while a worker runs the job: a running job whose heartbeat
    # stopped lost its worker, and is started again (`ingestion/services/jobs.py`).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # Things a user should know about a job that finished: e.g. a video that ends early.
    warnings = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} job {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED}

    def mark_running(self) -> None:
        self.status = self.Status.RUNNING
        self.started_at = self.started_at or timezone.now()
        self.heartbeat_at = timezone.now()
        self.error = ""
        self.save(update_fields=["status", "started_at", "heartbeat_at", "error"])

    def report(self, stage: str, progress: int) -> None:
        self.stage = stage
        self.progress = max(0, min(100, int(progress)))
        self.save(update_fields=["stage", "progress"])

    def mark_done(self, result: dict) -> None:
        self.status = self.Status.DONE
        self.stage = self.Stage.FINISHED
        self.progress = 100
        self.result = result
        self.finished_at = timezone.now()
        self.save(update_fields=["status", "stage", "progress", "result", "finished_at"])

    def mark_failed(self, error: str) -> None:
        self.status = self.Status.FAILED
        self.error = error
        self.finished_at = timezone.now()
        self.save(update_fields=["status", "error", "finished_at"])

    def mark_cancelled(self) -> None:
        self.status = self.Status.CANCELLED
        self.error = "Cancelled by a user."
        self.finished_at = timezone.now()
        self.save(update_fields=["status", "error", "finished_at"])
