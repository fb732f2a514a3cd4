"""Pages for getting videos in: the add-videos page (files, a URL, a batch of URLs) and the jobs
JSON the pages poll for live progress. Uploads and URLs go through the REST API the page calls
(`/api/upload_video`, `/api/process_urls`), so there is one way in."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from catalog import selectors as catalog_selectors
from ingestion import selectors
from ingestion.models import IngestJob
from ingestion.services.jobs import cancel_job, retry_job


def job_as_json(job: IngestJob) -> dict:
    return {
        "id": job.id,
        "kind": job.get_kind_display(),
        "source": job.source,
        "status": job.status,
        "stage": job.get_stage_display(),
        "progress": job.progress,
        "error": job.error,
        "warnings": job.warnings,
        "video_url": reverse("catalog:video", args=[job.video_id]) if job.video_id else None,
        "retry_url": reverse("ingestion:retry", args=[job.id]),
        "cancel_url": reverse("ingestion:cancel", args=[job.id]),
        "result": job.result,
    }


@require_GET
def add_videos(request):
    return render(request, "ingestion/add_videos.html", {"max_upload_mb": settings.MAX_UPLOAD_MB})


@require_GET
def jobs_json(request):
    """`?ids=1,2`: those jobs; otherwise the jobs in progress and the failed ones, with the
    catalog's counts too for `?counts=1` (the dashboard's, which change as jobs finish)."""
    ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.strip().isdigit()]
    if ids:
        return JsonResponse({"jobs": [job_as_json(j) for j in selectors.jobs_by_ids(ids)]})
    body = {
        "in_progress": [job_as_json(j) for j in selectors.jobs_in_progress()],
        "failed": [job_as_json(j) for j in selectors.failed_jobs()],
    }
    if request.GET.get("counts"):
        body["counts"] = catalog_selectors.catalog_counts()
    return JsonResponse(body)


@require_POST
def retry(request, job_id: int):
    retry_job(get_object_or_404(IngestJob, pk=job_id))
    return redirect("dashboard")


@require_POST
def cancel(request, job_id: int):
    """Stop a queued or running job; its video stays, and the job can be retried."""
    cancel_job(get_object_or_404(IngestJob, pk=job_id))
    return redirect("dashboard")
