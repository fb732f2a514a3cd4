from django.shortcuts import render

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
