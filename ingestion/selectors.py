"""Reading jobs for the pages: what is running, what failed, what a page asked to follow."""

from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from ingestion.models import IngestJob

# A job that just finished stays among the jobs in progress for a while, shown as done.
RECENTLY_FINISHED = timedelta(minutes=10)


def jobs_in_progress(limit: int = 50) -> QuerySet[IngestJob]:
    running = Q(status__in=[IngestJob.Status.QUEUED, IngestJob.Status.RUNNING])
    just_done = Q(status=IngestJob.Status.DONE, finished_at__gte=timezone.now() - RECENTLY_FINISHED)
    return IngestJob.objects.filter(running | just_done).select_related("video")[:limit]


def failed_jobs(limit: int = 20) -> QuerySet[IngestJob]:
    stopped = [IngestJob.Status.FAILED, IngestJob.Status.CANCELLED]
    return IngestJob.objects.filter(status__in=stopped).select_related("video")[:limit]


def jobs_by_ids(ids: list[int]) -> QuerySet[IngestJob]:
    return IngestJob.objects.filter(id__in=ids[:500]).select_related("video")
