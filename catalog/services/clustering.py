"""Grouping faces into people, for one new video (incremental) or the whole catalog (re-cluster).

The unit is the track: all faces of a track are one person, and two tracks seen in the same frame
are never one person. A new video's tracks and the existing people are grouped in one
agglomeration (catalog.grouping.place_tracks), so the people do not depend on the order videos
came in. Re-clustering regroups everything except people a curator named or locked: those keep
every face they have and may only gain faces.

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
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from catalog.grouping import TrackSet, place_tracks, track_template
from catalog.models import Face, Person, Track, TrackRejection, Video
from catalog.services.candidates import candidate_people
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


def on_screen_together(video_a: int, frames_a: frozenset[int], video_b: int,
                       frames_b: frozenset[int]) -> bool:  # fmt: skip
    """Two tracks seen in one frame of one video: certainly two different people."""
    return video_a == video_b and not frames_a.isdisjoint(frames_b)


@dataclass
class CatalogTracks:
    """One row per track: its average face vector, video, frames, current person and the people
    a curator said it is not."""

    track_ids: list[int] = field(default_factory=list)
    video_ids: list[int] = field(default_factory=list)
    frames: list[frozenset[int]] = field(default_factory=list)
    person_ids: list[int | None] = field(default_factory=list)
    face_ids: list[list[int]] = field(default_factory=list)
    rejected: list[frozenset[int]] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    def may_join(self, rows: list[int], person_id: int) -> bool:
        return not any(person_id in self.rejected[row] for row in rows)

    @property
    def track_set(self) -> TrackSet:
        """The tracks for catalog.grouping, with each "not this person" kept apart from the
        person's current tracks (as if they were on screen together)."""
        rows_of: dict[int, list[int]] = defaultdict(list)
        for row, person_id in enumerate(self.person_ids):
            if person_id is not None:
                rows_of[person_id].append(row)
        apart = {
            row: {other for person_id in rejected for other in rows_of[person_id]}
            for row, rejected in enumerate(self.rejected)
            if rejected
        }
        return TrackSet(self.vectors, self.video_ids, self.frames, apart)

    def conflict(self, a: int, b: int) -> bool:
        return on_screen_together(
            self.video_ids[a], self.frames[a], self.video_ids[b], self.frames[b]
        )

    def cannot_link_pairs(self, rows: list[int]) -> list[tuple[int, int]]:
        conflicting = self.track_set.conflicts(rows)
        return [(p, q) for p, others in enumerate(conflicting) for q in sorted(others) if p < q]


def load_catalog_tracks(model_name: str, tracks=None) -> CatalogTracks:
    tracks = Track.objects.all() if tracks is None else tracks
    faces = (
        Face.objects.filter(track__in=tracks, embedding_model=model_name, is_not_face=False)
        .order_by("track_id", "id")
        .values_list("id", "track_id", "person_id", "quality", "embedding")
    )
    vectors_by_track: dict[int, list[np.ndarray]] = defaultdict(list)
    qualities_by_track: dict[int, list[float]] = defaultdict(list)
    persons_by_track: dict[int, Counter] = defaultdict(Counter)
    faces_by_track: dict[int, list[int]] = defaultdict(list)
    for face_id, track_id, person_id, quality, embedding in faces:
        vectors_by_track[track_id].append(np.frombuffer(embedding, dtype=np.float32))
        qualities_by_track[track_id].append(quality)
        persons_by_track[track_id][person_id] += 1
        faces_by_track[track_id].append(face_id)
    rejected: dict[int, set[int]] = defaultdict(set)
    for track_id, person_id in TrackRejection.objects.filter(
        track_id__in=list(vectors_by_track)
    ).values_list("track_id", "person_id"):
        rejected[track_id].add(person_id)
    result = CatalogTracks()
    rows = []
    meta = Track.objects.filter(id__in=list(vectors_by_track)).values_list(
        "id", "video_id", "detections"
    )
    for track_id, video_id, detections in meta.order_by("id"):
        rows.append(track_template(vectors_by_track[track_id], qualities_by_track[track_id]))
        result.track_ids.append(track_id)
        result.video_ids.append(video_id)
        result.frames.append(Track.frames_in(detections))
        result.person_ids.append(persons_by_track[track_id].most_common(1)[0][0])
        result.face_ids.append(faces_by_track[track_id])
        result.rejected.append(frozenset(rejected[track_id]))
    if rows:
        result.vectors = np.asarray(rows, dtype=np.float32)
    return result


def _place_groups(
    tracks: CatalogTracks,
    free_rows: list[int],
    joinable: set[int],
    curated: set[int],
    reuse_ids: bool,
) -> list[tuple[list[int], int | None]]:
    """Group the free tracks with the joinable people; say which person each changed group is
    (None: a new person). See catalog.grouping.place_tracks: a joinable person may gain tracks,
    and an uncurated one may merge with another person it is now close to; curated people never
    merge with each other. With reuse_ids, a group that joins nobody keeps the id of the
    non-joinable person most of its tracks had, so people's ids (and links to them) survive a
    re-cluster.
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
    )
    claimed = {person_id for _, person_id in groups if person_id is not None}
    placed = []
    for rows, person_id in groups:
        if person_id is None and reuse_ids:
            previous = Counter(tracks.person_ids[r] for r in rows)
            for candidate, _ in previous.most_common():
                if (
                    candidate is not None
                    and candidate not in claimed | joinable
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
    """Write the placement, creating new people.

    Returns person id -> the faces that moved to them, and how many people were created.
    """
    moved: dict[int, list[int]] = defaultdict(list)
    created = 0
    for rows, person_id in groups:
        if person_id is None:
            person_id = Person.objects.create().id
            created += 1
        for row in rows:
            if tracks.person_ids[row] != person_id:
                moved[person_id].extend(tracks.face_ids[row])
                tracks.person_ids[row] = person_id
    for person_id, face_ids in moved.items():
        Face.objects.filter(id__in=face_ids).update(person_id=person_id)
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


def _wait_for_other_groupings() -> None:
    """Serialise groupings across processes until the transaction ends.

    Each grouping reads the whole catalog and writes people from what it read; two at once (two
    workers finishing together) would each miss the other's new people and split one person in
    two. SQLite already runs one write transaction at a time (IMMEDIATE); Postgres does not.
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

    Only the people the vector index finds near these tracks are read (their tracks, whole):
    the cost follows the video and its neighbours, not the catalog
    (catalog/services/candidates.py). When the index cannot be trusted the whole catalog is
    read instead, as a re-cluster does.
    """
    _wait_for_other_groupings()
    model_name = settings.FACE_RECOGNITION_MODEL
    new = load_catalog_tracks(model_name, Track.objects.filter(id__in=track_ids))
    if not new.track_ids:
        return ClusteringSummary(0, 0, 0, {})
    candidates = candidate_people(
        new.vectors,
        new.rejected,
        [face_id for faces in new.face_ids for face_id in faces],
        model_name,
        new.vectors.shape[1],
        grouping_threshold(model_name),
    )
    if candidates is None:
        tracks = load_catalog_tracks(model_name)
    else:
        of_candidates = Face.objects.filter(person_id__in=candidates).values("track_id")
        tracks = load_catalog_tracks(
            model_name, Track.objects.filter(Q(id__in=track_ids) | Q(id__in=of_candidates))
        )
    free_rows = [row for row, track_id in enumerate(tracks.track_ids) if track_id in track_ids]
    before = {tracks.person_ids[row] for row in free_rows} - {None}
    for row in free_rows:
        tracks.person_ids[row] = None  # a re-run regroups these tracks from scratch
    existing = {p for p in tracks.person_ids if p is not None}
    if candidates is not None:
        existing &= candidates  # a track of a candidate may be mostly someone else's
    curated = set(Person.objects.curated().filter(id__in=existing).values_list("id", flat=True))
    groups = _place_groups(tracks, free_rows, existing, curated, reuse_ids=False)
    moved, created = _apply_placement(tracks, groups)
    refresh_cover_faces(moved)
    # Only the people these tracks left, or who merged into another, can be left empty.
    Person.objects.filter(id__in=before | existing).delete_left_empty()
    people = {tracks.person_ids[row] for row in free_rows}
    return ClusteringSummary(len(free_rows), len(people), created, moved)


@transaction.atomic
def recluster_people() -> ClusteringSummary:
    """Regroup the whole catalog; curated people keep every face and may only gain faces."""
    _wait_for_other_groupings()
    model_name = settings.FACE_RECOGNITION_MODEL
    tracks = load_catalog_tracks(model_name)
    curated = set(Person.objects.curated().values_list("id", flat=True))
    free_rows = [row for row, person_id in enumerate(tracks.person_ids) if person_id not in curated]
    groups = _place_groups(tracks, free_rows, curated, curated, reuse_ids=True) if free_rows else []
    moved, created = _apply_placement(tracks, groups)
    Person.objects.delete_left_empty()
    refresh_cover_faces(set(tracks.person_ids) - {None})
    people = {p for p in tracks.person_ids if p is not None}
    return ClusteringSummary(len(tracks.track_ids), len(people), created, moved)
