"""Reading the catalog for pages and the API."""

from django.db.models import Count, QuerySet

from catalog.models import Person, Video


def people_for_gallery() -> QuerySet[Person]:
    return (
        Person.objects.filter(hidden=False)
        .annotate(
            face_count=Count("faces", distinct=True),
            video_count=Count("faces__video", distinct=True),
        )
        .select_related("cover_face")
        .order_by("-face_count", "id")
    )


def recent_videos(limit: int = 50) -> QuerySet[Video]:
    return Video.objects.annotate(
        face_count=Count("faces", distinct=True), person_count=Count("faces__person", distinct=True)
    ).order_by("-created_at")[:limit]
