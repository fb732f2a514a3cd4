"""Project-wide pages: the dashboard, which brings together what every app holds (counts, recent
videos, jobs), and the error pages (JSON in the API's error format under /api/, Django's usual
pages elsewhere)."""

from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.http import require_GET

from catalog import selectors as catalog
from ingestion import selectors as jobs

RECENT_VIDEOS = 8


@require_GET
def dashboard(request):
    videos = list(catalog.recent_videos(RECENT_VIDEOS))
    return render(
        request,
        "dashboard.html",
        {
            "counts": catalog.catalog_counts(),
            "videos": videos,
            "thumbnails": catalog.video_thumbnails(videos),
            "jobs_in_progress": jobs.jobs_in_progress(),
            "failed_jobs": jobs.failed_jobs(),
        },
    )


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        body = {"error": {"code": "not_found", "message": "No such endpoint or object."}}
        return JsonResponse(body, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        body = {"error": {"code": "server_error", "message": "Something went wrong on our side."}}
        return JsonResponse(body, status=500)
    return defaults.server_error(request)
