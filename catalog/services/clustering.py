"""Grouping faces into people, for one new video (incremental) or the whole catalog (re-cluster).

The unit is the track: all faces of a track are one person, and two tracks seen in the same frame
are never one person. A new video's tracks and the existing people are grouped in one
agglomeration (catalog.grouping.place_tracks), in which the uncurated people near the new tracks
start again from their single tracks, so the people do not depend on the order videos came in:
they are those of grouping everything at once. Re-clustering regroups everything except people a
curator named or locked: those keep every face they have and may only gain faces.

The rule: grouping, incremental or full, never undoes a curator's decision.
- Names, locks and covers: a named or locked person keeps their name, every face and their
  cover; every curation operation (merge, split, move, "not this person", "different people")
  locks the people it touches, so what it decided is kept this way.
- "Not this person" (`TrackRejection`): a track is never placed into a person it was rejected
  from, whichever way it would get there.
- "Not a face" (`Face.is_not_face`): such faces are left out of grouping altogether.
- Hidden people stay hidden (grouping never changes `hidden`); "different people" were locked
  when a curator said so, and curated people never merge with each other.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Sum

from catalog.grouping import place_tracks
from catalog.grouping_graph import merge_groups_on_graph
from catalog.models import CurationAction, Face, Person, Track, TrackRejection, Video
from catalog.services.candidates import candidate_people
from catalog.services.catalog_tracks import CatalogTracks, load_catalog_tracks
from ingestion.pipeline.thresholds import verification_distance

# People are grouped by k-nearest-track linkage (catalog/grouping.py), an average of several
# distances between track templates, each itself the mean of a track's faces: less noisy than
# the one pair of photos DeepFace's verification threshold is set for, so the threshold sits
# just under it. On ../shared/data that is the middle of the range where no two people merge
# and the fewest are split (benchmarks/README.md, "Grouping methods").
PEOPLE_MARGIN = 0.98


def grouping_threshold(model_name: str) -> float:
    configured = settings.CLUSTERING_DISTANCE_THRESHOLD
    if configured is not None:
        return configured
    return round(verification_distance(model_name) * PEOPLE_MARGIN, 4)


def _place_groups(
    tracks: CatalogTracks,
    free_rows: list[int],
    joinable: set[int],
    curated: set[int],
    reuse_ids: bool,
    merge=None,
    loose: set[int] = frozenset(),
) -> list[tuple[list[int], int | None]]:
    """Group the free tracks with the joinable people; say which person each changed group is
    (None: a new person). See catalog.grouping.place_tracks: a joinable person may gain tracks,
    and an uncurated one may merge with another person it is now close to; curated people never
    merge with each other. With reuse_ids, a group that joins nobody keeps the id of the
    non-joinable person most of its tracks had, so people's ids (and links to them) survive a
    re-cluster. `merge`: how place_tracks agglomerates (catalog.grouping.merge_groups unless
    given); `loose`: joinable people it may regroup from their single tracks.
    """
    free = set(free_rows)
    people: dict[int, list[int]] = defaultdict(list)
    for row, person_id in enumerate(tracks.person_ids):
        if person_id in joinable and row not in free:
            people[person_id].append(row)
    groups = place_tracks(
        tracks.track_set,
        free_rows,
        people,
        method=settings.CLUSTERING_ALGORITHM,
        threshold=grouping_threshold(settings.FACE_RECOGNITION_MODEL),
        curated=curated,
        merge=merge,
        loose=loose,
    )
    claimed = {person_id for _, person_id in groups if person_id is not None}
    placed = []
    for rows, person_id in groups:
        if person_id is None and reuse_ids:
            previous = Counter(tracks.person_ids[r] for r in rows)
            for candidate, _ in previous.most_common():
                if (
                    candidate is not None
                    and candidate not in claimed
                    and candidate not in joinable
                    and tracks.may_join(rows, candidate)
                ):
                    person_id = candidate
                    claimed.add(candidate)
                    break
        placed.append((rows, person_id))
    return placed


def _apply_placement(
    tracks: CatalogTracks, groups: list[tuple[list[int], int | None]]
) -> tuple[dict[int, list[int]], int]:
    """Write the placement, creating new people, and mend the covers of the people faces moved
    to and away from (a person may lose the track their cover was on).

    Returns person id -> the faces that moved to them, and how many people were created.
    """
    moved: dict[int, list[int]] = defaultdict(list)
    left: set[int] = set()
    created = 0
    for rows, person_id in groups:
        if person_id is None:
            person_id = Person.objects.create().id
            created += 1
        for row in rows:
            if tracks.person_ids[row] != person_id:
                moved[person_id].extend(tracks.face_ids[row])
                if tracks.person_ids[row] is not None:
                    left.add(tracks.person_ids[row])
                tracks.person_ids[row] = person_id
    for person_id, face_ids in moved.items():
        Face.objects.filter(id__in=face_ids).update(person_id=person_id)
    refresh_cover_faces(set(moved) | left)
    return moved, created


def refresh_cover_faces(person_ids) -> None:
    """Each person's cover is their best face, unless a curator chose one that is still theirs."""
    for person in Person.objects.filter(id__in=list(person_ids)):
        if person.cover_face_id and person.faces.filter(id=person.cover_face_id).exists():
            continue
        best = person.faces.order_by("-quality", "id").first()
        Person.objects.filter(id=person.id).update(cover_face=best)


# Any constant: the key of the Postgres advisory lock that one grouping at a time holds.
GROUPING_LOCK_KEY = 0x46414345


def hold_grouping_lock() -> None:
    """Serialise groupings and curation across processes until the transaction ends.

    Each grouping reads people and writes people from what it read; two at once (two workers
    finishing together), or a grouping beside a curator's merge or move, would each miss the
    other's changes (a person split in two, a face moved back). SQLite already runs one write
    transaction at a time (IMMEDIATE); Postgres does not.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [GROUPING_LOCK_KEY])


@dataclass(frozen=True)
class ClusteringSummary:
    tracks: int
    people: int
    new_people: int
    moved_faces: dict[int, list[int]]


@transaction.atomic
def assign_people_to_video(video: Video) -> ClusteringSummary:
    """Give every track of a freshly processed video a person, new or existing."""
    return assign_people_to_tracks(set(video.tracks.values_list("id", flat=True)))


@transaction.atomic
def assign_people_to_tracks(track_ids: set[int]) -> ClusteringSummary:
    """Group these tracks among themselves and give each group a person, new or existing (a
    new video's tracks, or faces a curator left without a person).

    Only the people the index of track templates finds near these tracks are read (their
    tracks, whole):
    the cost follows the video and its neighbours, not the catalog
    (catalog/services/candidates.py). When the index cannot be trusted the whole catalog is
    read instead, as a re-cluster does.
    """
    hold_grouping_lock()
    model_name = settings.FACE_RECOGNITION_MODEL
    new = load_catalog_tracks(model_name, Track.objects.filter(id__in=track_ids))
    if not new.track_ids:
        return ClusteringSummary(0, 0, 0, {})
    candidates = candidate_people(
        new.vectors,
        new.rejected,
        new.track_ids,
        model_name,
        new.vectors.shape[1],
        grouping_threshold(model_name),
    )
    if candidates is None:
        tracks = load_catalog_tracks(model_name)
    else:
        of_candidates = (
            Face.objects.filter(person_id__in=candidates).order_by().values_list("track_id")
        )
        ids = set(track_ids) | {track_id for (track_id,) in of_candidates}
        tracks = load_catalog_tracks(model_name, Track.objects.filter(id__in=ids))
    free_rows = [row for row, track_id in enumerate(tracks.track_ids) if track_id in track_ids]
    before = {tracks.person_ids[row] for row in free_rows} - {None}
    for row in free_rows:
        tracks.person_ids[row] = None  # a re-run regroups these tracks from scratch
    existing = {p for p in tracks.person_ids if p is not None}
    if candidates is not None:
        existing &= candidates  # a track of a candidate may be mostly someone else's
    curated = set(Person.objects.curated().filter(id__in=existing).values_list("id", flat=True))
    # The people near these tracks are regrouped with them from their single tracks, as a
    # re-cluster would (catalog.grouping.place_tracks), so the order videos came in does not
    # decide who is who; curated people are never taken apart, nor hidden ones (a part split
    # off would be shown).
    hidden = set(Person.objects.filter(id__in=existing, hidden=True).values_list("id", flat=True))
    groups = _place_groups(
        tracks, free_rows, existing, curated, reuse_ids=False, loose=existing - curated - hidden
    )
    moved, created = _apply_placement(tracks, groups)
    # Only the people these tracks left, or who merged into another, can be left empty.
    Person.objects.filter(id__in=before | existing).delete_left_empty()
    people = {tracks.person_ids[row] for row in free_rows}
    return ClusteringSummary(len(free_rows), len(people), created, moved)


def recluster_people(
    progress: Callable[[float], None] = lambda fraction: None,
) -> ClusteringSummary:
    """Regroup the whole catalog; curated people keep every face and may only gain faces.

    Bounded memory: tracks are read in chunks and grouped on a sparse k-nearest-neighbour graph
    (catalog.grouping_graph), never a tracks x tracks matrix. The grouping is computed outside
    the write transaction, so its progress shows and ingestion is not held up meanwhile; it is
    written only if the catalog did not change in between (else computed again, under the lock).
    """
    seen = catalog_version()
    tracks, groups = _plan_recluster(progress)
    with transaction.atomic():
        hold_grouping_lock()
        if catalog_version() != seen:
            tracks, groups = _plan_recluster()
        progress(0.95)
        moved, created = _apply_placement(tracks, groups)
        Person.objects.delete_left_empty()
        refresh_cover_faces(Person.objects.filter(cover_face=None).values_list("id", flat=True))
    people = {p for p in tracks.person_ids if p is not None}
    return ClusteringSummary(len(tracks.track_ids), len(people), created, moved)


def _plan_recluster(progress: Callable[[float], None] = lambda fraction: None):
    """The tracks and the groups a re-cluster would write (nothing written)."""
    tracks = load_catalog_tracks(
        settings.FACE_RECOGNITION_MODEL, progress=lambda fraction: progress(0.4 * fraction)
    )
    curated = set(Person.objects.curated().values_list("id", flat=True))
    free_rows = [row for row, person_id in enumerate(tracks.person_ids) if person_id not in curated]
    if not free_rows:
        return tracks, []
    merge = partial(
        merge_groups_on_graph, progress=lambda fraction: progress(0.45 + 0.5 * fraction)
    )
    return tracks, _place_groups(tracks, free_rows, curated, curated, reuse_ids=True, merge=merge)


def catalog_version() -> tuple:
    """Changes whenever faces, people, their faces' people, rejections or curation change: a
    re-cluster computed from one version is written only onto the same version."""
    return (
        tuple(Face.objects.aggregate(Count("id"), Max("id"), Sum("person_id")).values()),
        tuple(Person.objects.aggregate(Count("id"), Max("id"), Max("updated_at")).values()),
        tuple(TrackRejection.objects.aggregate(Count("id"), Max("id")).values()),
        tuple(CurationAction.objects.aggregate(Max("id"), Max("undone_at")).values()),
    )
