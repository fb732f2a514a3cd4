"""Reading the catalog for pages and the API."""

from django.db.models import Count, QuerySet

from catalog.models import Person, Video


def people_with_counts() -> QuerySet[Person]:
    return (
        Person.objects.annotate(
            face_count=Count("faces", distinct=True),
            video_count=Count("faces__video", distinct=True),
        )
        .select_related("cover_face")
        .order_by("-face_count", "id")
    )


def people_for_gallery() -> QuerySet[Person]:
    return people_with_counts().filter(hidden=False)


def videos_with_counts() -> QuerySet[Video]:
    return Video.objects.annotate(
        face_count=Count("faces", distinct=True), person_count=Count("faces__person", distinct=True)
    ).order_by("-created_at")


def recent_videos(limit: int = 50) -> QuerySet[Video]:
    return videos_with_counts()[:limit]
