"""Reading the catalog for pages and the API."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)

from catalog.models import Face, Person, Track, Video

GALLERY_FILTERS = ("all", "named", "unnamed", "hidden")
GALLERY_SORTS = ("appearances", "name", "newest")
BEST_CROPS_PER_VIDEO = 6
FACES_PER_VIDEO_SHOWN = 12

# What a page needs of a face to show it (never the embedding).
FACE_FIELDS_SHOWN = ("id", "video_id", "track_id", "person_id", "time_s", "quality", "crop")


def faces_shown() -> QuerySet[Face]:
    return Face.objects.only(*FACE_FIELDS_SHOWN)


def people_with_counts() -> QuerySet[Person]:
    # The cover faces are fetched for the rows asked for only (a join here would put each
    # cover's columns into the GROUP BY of every person).
    return (
        Person.objects.annotate(
            face_count=F("face_total"),
            video_count=Count("faces__video", distinct=True),
        )
        .prefetch_related(Prefetch("cover_face", queryset=faces_shown()))
        .order_by("-face_count", "id")
    )


def people_for_gallery() -> QuerySet[Person]:
    return people_with_counts().filter(hidden=False)


class _Ordered:
    """The ids of a gallery's people in order, with their number counted apart: the paginator
    then counts with a plain COUNT and slices only ids (no per-person counts for every row)."""

    def __init__(self, ids: QuerySet, total: int) -> None:
        self.ids, self.total = ids, total

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, key):
        return list(self.ids[key])


def gallery_people(show: str = "all", sort: str = "appearances") -> _Ordered:
    """The gallery's people, as ids to paginate (`people_by_ids` loads a page of them): `show`
    one of GALLERY_FILTERS ("all" leaves hidden people out), `sort` one of GALLERY_SORTS (named
    people first, alphabetically, for "name")."""
    people = Person.objects.all()
    if show == "hidden":
        people = people.filter(hidden=True)
    else:
        people = people.filter(hidden=False)
        if show == "named":
            people = people.exclude(name="")
        elif show == "unnamed":
            people = people.filter(name="")
    if sort == "name":
        unnamed = ExpressionWrapper(Q(name=""), output_field=BooleanField())
        ordered = people.alias(unnamed=unnamed).order_by("unnamed", "name", "id")
    elif sort == "newest":
        ordered = people.order_by("-created_at", "-id")
    else:
        # The database keeps each person's total (catalog/face_totals.py): no faces counted.
        ordered = people.order_by("-face_total", "id")
    return _Ordered(ordered.values_list("id", flat=True), people.count())


def people_by_ids(ids: list[int]) -> list[Person]:
    """These people with their counts and cover faces, in the order given."""
    found = people_with_counts().in_bulk(ids)
    return [found[i] for i in ids if i in found]


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
    """The newest videos with their counts (counted for those videos only)."""
    newest = list(Video.objects.order_by("-created_at").values_list("id", flat=True)[:limit])
    return videos_with_counts().filter(id__in=newest)


def video_thumbnails(videos) -> dict[int, Face]:
    """The best face of each of these videos, as its thumbnail."""
    best = Face.objects.filter(video=OuterRef("pk")).order_by("-quality").values("id")[:1]
    ids = Video.objects.filter(id__in=[v.id for v in videos]).annotate(face_id=Subquery(best))
    faces = faces_shown().in_bulk([face_id for _, face_id in ids.values_list("id", "face_id")])
    return {face.video_id: face for face in faces.values()}


def resolve_person(reference: str) -> Person | None:
    """A person named by a curator in a form: "12", "#12", "#12 Ada Lovelace" or "Ada Lovelace"."""
    reference = reference.strip()
    head = reference.lstrip("#").split(" ", 1)[0]
    if head.isdigit():
        return Person.objects.filter(pk=int(head)).first()
    matches = list(Person.objects.filter(name__iexact=reference)[:2]) if reference else []
    return matches[0] if len(matches) == 1 else None


def people_to_pick(typed: str, limit: int = 20) -> QuerySet[Person]:
    """People offered while a curator types a target's name (merge, move): named people whose
    name contains what was typed, or the person of that #number."""
    typed = typed.strip().lstrip("#")
    people = Person.objects.filter(hidden=False)
    if typed.isdigit():
        return people.filter(pk=int(typed))
    return people.filter(name__icontains=typed).exclude(name="").order_by("name", "id")[:limit]


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
    video_id: int
    on_screen_s: float = 0.0  # the durations of the person's tracks in the video, summed
    face_count: int = 0
    video: Video | None = None
    spans: list[Span] = field(default_factory=list)
    faces: list[Face] = field(default_factory=list)  # the best ones, in time order

    @property
    def more_faces(self) -> int:
        return self.face_count - len(self.faces)


def person_appearances(person: Person) -> list[VideoAppearance]:
    """Every video the person is in, the one where they are on screen longest first: counted by
    the database, one row a video (a person in hundreds of videos has thousands of faces, and
    only a page of videos is shown). `fill_appearances` loads the page's videos, spans and faces."""
    person_tracks = Track.objects.filter(id__in=person.faces.values("track_id")).order_by()
    on_screen = person_tracks.values("video_id").annotate(
        seconds=Sum(F("end_time_s") - F("start_time_s"))
    )
    by_video = {
        video_id: VideoAppearance(video_id, on_screen_s=seconds)
        for video_id, seconds in on_screen.values_list("video_id", "seconds")
    }
    faces = person.faces.order_by().values("video_id").annotate(count=Count("id"))
    for video_id, count in faces.values_list("video_id", "count"):
        by_video.setdefault(video_id, VideoAppearance(video_id)).face_count = count
    return sorted(by_video.values(), key=lambda a: (-a.on_screen_s, a.video_id))


def fill_appearances(
    person: Person, appearances: list[VideoAppearance], all_faces_of_video: int | None = None
) -> list[VideoAppearance]:
    """The videos, the time span of each of the person's tracks and their best faces (all of
    them for the video `all_faces_of_video`), for these appearances only."""
    by_video = {a.video_id: a for a in appearances}
    videos = Video.objects.in_bulk(by_video)
    # Through the faces' (person, video, track) index: the page's videos only.
    tracks = Track.objects.filter(
        id__in=person.faces.filter(video_id__in=by_video).values("track_id")
    )
    tracks = tracks.order_by("start_time_s").values_list("video_id", "start_time_s", "end_time_s")
    for video_id, start_s, end_s in tracks:
        by_video[video_id].spans.append(Span(start_s, end_s))
    best: dict[int, list[tuple[float, int]]] = {video_id: [] for video_id in by_video}
    face_rows = person.faces.filter(video_id__in=by_video).order_by()
    for video_id, face_id, quality in face_rows.values_list("video_id", "id", "quality"):
        best[video_id].append((quality, face_id))
    shown_ids = {}
    for video_id, ranked in best.items():
        ranked.sort(reverse=True)
        if video_id != all_faces_of_video:
            ranked = ranked[:FACES_PER_VIDEO_SHOWN]
        shown_ids[video_id] = [face_id for _, face_id in ranked]
    faces = faces_shown().in_bulk([f for ids in shown_ids.values() for f in ids])
    for appearance in appearances:
        appearance.video = videos[appearance.video_id]
        shown = [faces[f] for f in shown_ids[appearance.video_id] if f in faces]
        appearance.faces = sorted(shown, key=lambda f: f.time_s)
    return appearances


@dataclass(frozen=True)
class Companion:
    person: Person
    together_s: float
    videos: int


# Pairs of tracks of one video that overlap in time, one of this person's and one of someone
# else's, with the seconds they overlap; summed per other person. One query: only the tracks
# that overlap are compared (the track table's index starts with the video).
APPEARS_WITH_SQL = """
WITH mine AS (
    SELECT DISTINCT t.id, t.video_id, t.start_time_s AS s, t.end_time_s AS e
    FROM catalog_track t JOIN catalog_face f ON f.track_id = t.id
    WHERE f.person_id = %(person)s
), pairs AS (
    SELECT DISTINCT m.id AS mine_id, t.id AS other_id, t.video_id, f.person_id,
        (CASE WHEN m.e < t.end_time_s THEN m.e ELSE t.end_time_s END)
        - (CASE WHEN m.s > t.start_time_s THEN m.s ELSE t.start_time_s END) AS shared_s
    FROM mine m
    JOIN catalog_track t ON t.video_id = m.video_id
        AND t.start_time_s < m.e AND t.end_time_s > m.s AND t.id <> m.id
    JOIN catalog_face f ON f.track_id = t.id
    WHERE f.person_id IS NOT NULL AND f.person_id <> %(person)s
)
SELECT person_id, SUM(shared_s) AS together_s, COUNT(DISTINCT video_id) AS videos
FROM pairs GROUP BY person_id ORDER BY together_s DESC, person_id LIMIT %(limit)s
"""


def appears_with(person: Person, limit: int = 8) -> list[Companion]:
    """The people most often on screen at the same time as this one (their tracks overlap in
    time in the same video), with the seconds they share."""
    with connection.cursor() as cursor:
        cursor.execute(APPEARS_WITH_SQL, {"person": person.id, "limit": limit})
        rows = cursor.fetchall()
    people = Person.objects.prefetch_related(
        Prefetch("cover_face", queryset=faces_shown())
    ).in_bulk([row[0] for row in rows])
    return [
        Companion(people[p], round(together_s, 1), videos)
        for p, together_s, videos in rows
        if p in people
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
        Face.objects.filter(video=video).order_by().values_list("track_id", "person_id").distinct()
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
