"""Project-wide pages: the home page, which shows what every app holds, and the error pages
(JSON in the API's error format under /api/, Django's usual pages elsewhere)."""

from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults

from catalog import selectors
from ingestion.models import IngestJob


def home(request):
    return render(
        request,
        "home.html",
        {
            "videos": selectors.recent_videos(),
            "people": selectors.people_for_gallery(),
            "jobs": IngestJob.objects.all()[:10],
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
