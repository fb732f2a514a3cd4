"""Reading the catalog for pages and the API."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from catalog.models import Face, Person, Track, Video

GALLERY_FILTERS = ("all", "named", "unnamed", "hidden")
GALLERY_SORTS = ("appearances", "name", "newest")
BEST_CROPS_PER_VIDEO = 6


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


def gallery_people(show: str = "all", sort: str = "appearances") -> QuerySet[Person]:
    """The gallery: `show` one of GALLERY_FILTERS ("all" leaves hidden people out), `sort` one of
    GALLERY_SORTS (named people first, alphabetically, for "name")."""
    people = people_with_counts()
    if show == "hidden":
        people = people.filter(hidden=True)
    else:
        people = people.filter(hidden=False)
        if show == "named":
            people = people.exclude(name="")
        elif show == "unnamed":
            people = people.filter(name="")
    if sort == "name":
        return people.annotate(unnamed=Q(name="")).order_by("unnamed", "name", "id")
    if sort == "newest":
        return people.order_by("-created_at", "-id")
    return people


def catalog_counts() -> dict[str, int]:
    return {
        "videos": Video.objects.count(),
        "faces": Face.objects.count(),
        "people": Person.objects.filter(hidden=False).count(),
        "named_people": Person.objects.filter(hidden=False).exclude(name="").count(),
    }


def videos_with_counts() -> QuerySet[Video]:
    return Video.objects.annotate(
        face_count=Count("faces", distinct=True), person_count=Count("faces__person", distinct=True)
    ).order_by("-created_at")


def recent_videos(limit: int = 50) -> QuerySet[Video]:
    return videos_with_counts()[:limit]


def video_thumbnails(videos) -> dict[int, Face]:
    """The best face of each of these videos, as its thumbnail."""
    best: dict[int, Face] = {}
    for face in Face.objects.filter(video__in=videos).order_by("video_id", "-quality"):
        best.setdefault(face.video_id, face)
    return best


def resolve_person(reference: str) -> Person | None:
    """A person named by a curator in a form: "12", "#12", "#12 Ada Lovelace" or "Ada Lovelace"."""
    reference = reference.strip()
    head = reference.lstrip("#").split(" ", 1)[0]
    if head.isdigit():
        return Person.objects.filter(pk=int(head)).first()
    matches = list(Person.objects.filter(name__iexact=reference)[:2]) if reference else []
    return matches[0] if len(matches) == 1 else None


def people_to_pick(limit: int = 500) -> QuerySet[Person]:
    """People offered when picking a target (merge, move): named ones first, then the biggest."""
    return (
        Person.objects.filter(hidden=False)
        .annotate(face_count=Count("faces"), unnamed=Q(name=""))
        .order_by("unnamed", "name", "-face_count")[:limit]
    )


# --- A person's page ----------------------------------------------------------------------------


@dataclass
class Span:
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class VideoAppearance:
    video: Video
    spans: list[Span] = field(default_factory=list)
    faces: list[Face] = field(default_factory=list)

    @property
    def on_screen_s(self) -> float:
        return sum(s.duration_s for s in self.spans)

    @property
    def best_faces(self) -> list[Face]:
        return sorted(self.faces, key=lambda f: -f.quality)[:BEST_CROPS_PER_VIDEO]


def person_appearances(person: Person) -> list[VideoAppearance]:
    """Every video the person is in, with the time span of each of their tracks and their faces,
    in the order the videos were added."""
    by_video: dict[int, VideoAppearance] = {}
    faces = person.faces.select_related("video").order_by("video_id", "time_s")
    for face in faces:
        by_video.setdefault(face.video_id, VideoAppearance(face.video)).faces.append(face)
    tracks = Track.objects.filter(id__in=faces.values("track_id")).order_by("start_time_s")
    for video_id, start_s, end_s in tracks.values_list("video_id", "start_time_s", "end_time_s"):
        by_video[video_id].spans.append(Span(start_s, end_s))
    return sorted(by_video.values(), key=lambda a: a.video.created_at)


@dataclass(frozen=True)
class Companion:
    person: Person
    together_s: float
    videos: int


def _overlap_s(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def appears_with(person: Person, limit: int = 8) -> list[Companion]:
    """The people most often on screen at the same time as this one (their tracks overlap in
    time in the same video), with the seconds they share."""
    mine = defaultdict(list)
    for video_id, start_s, end_s in Track.objects.filter(
        id__in=person.faces.values("track_id")
    ).values_list("video_id", "start_time_s", "end_time_s"):
        mine[video_id].append((start_s, end_s))
    others = (
        Face.objects.filter(video_id__in=list(mine), person__isnull=False)
        .exclude(person=person)
        .values_list("person_id", "video_id", "track__start_time_s", "track__end_time_s")
        .distinct()
    )
    together: dict[int, float] = defaultdict(float)
    videos: dict[int, set[int]] = defaultdict(set)
    for person_id, video_id, start_s, end_s in others:
        shared = sum(_overlap_s((start_s, end_s), span) for span in mine[video_id])
        if shared > 0:
            together[person_id] += shared
            videos[person_id].add(video_id)
    ranked = sorted(together, key=lambda p: -together[p])[:limit]
    people = Person.objects.select_related("cover_face").in_bulk(ranked)
    return [
        Companion(people[p], round(together[p], 1), len(videos[p])) for p in ranked if p in people
    ]


def appearance_rows(person: Person) -> list[dict]:
    """One row per track of the person, for export."""
    tracks = (
        Track.objects.filter(id__in=person.faces.values("track_id"))
        .select_related("video")
        .annotate(kept_faces=Count("faces", filter=Q(faces__person=person)))
        .order_by("video_id", "start_time_s")
    )
    return [
        {
            "person_id": person.id,
            "person_name": person.name,
            "video_id": t.video_id,
            "video_title": str(t.video),
            "start_s": round(t.start_time_s, 2),
            "end_s": round(t.end_time_s, 2),
            "faces": t.kept_faces,
        }
        for t in tracks
    ]


# --- A video's page -----------------------------------------------------------------------------


@dataclass
class Lane:
    person: Person | None
    spans: list[Span] = field(default_factory=list)


def video_lanes(video: Video) -> list[Lane]:
    """Who is on screen when: one lane per person (faces of no person in a last lane), the
    person on screen longest first."""
    person_of_track = dict(
        Face.objects.filter(video=video).values_list("track_id", "person_id").distinct()
    )
    people = Person.objects.in_bulk({p for p in person_of_track.values() if p is not None})
    lanes: dict[int | None, Lane] = {}
    tracks = video.tracks.order_by("start_time_s")
    for track_id, start_s, end_s in tracks.values_list("id", "start_time_s", "end_time_s"):
        if track_id not in person_of_track:
            continue
        person_id = person_of_track[track_id]
        lane = lanes.setdefault(person_id, Lane(people.get(person_id)))
        lane.spans.append(Span(start_s, end_s))
    return sorted(
        lanes.values(),
        key=lambda lane: (lane.person is None, -sum(s.duration_s for s in lane.spans)),
    )
