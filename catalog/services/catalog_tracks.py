"""The catalog's tracks as grouping reads them: one template vector per track (stored with the
track, store_track_templates), with its video, frames, person and the people a curator said it
is not.

The whole catalog is read in chunks of track ids (one range query each for faces and tracks),
so a re-cluster never holds more than the templates, not every face's row at once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Max, Min

from catalog.grouping import TrackSet, track_template
from catalog.models import Face, Track, TrackRejection

# Tracks read per chunk when reading the whole catalog: ~15,000 faces, a few MB of rows.
LOAD_CHUNK_TRACKS = 5000
NOBODY: frozenset[int] = frozenset()


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

    def extend(self, other: CatalogTracks) -> None:
        """Append another chunk's rows (vectors are joined by the caller, once)."""
        self.track_ids += other.track_ids
        self.video_ids += other.video_ids
        self.frames += other.frames
        self.person_ids += other.person_ids
        self.face_ids += other.face_ids
        self.rejected += other.rejected

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


def load_catalog_tracks(
    model_name: str, tracks=None, progress: Callable[[float], None] = lambda fraction: None
) -> CatalogTracks:
    """These tracks (a queryset), or every track of the catalog, read in chunks."""
    if tracks is not None:
        faces = Face.objects.filter(track__in=tracks)
        return _load_tracks(model_name, faces, lambda ids: Track.objects.filter(id__in=ids))
    bounds = Track.objects.aggregate(low=Min("id"), high=Max("id"))
    result = CatalogTracks()
    if bounds["low"] is None:
        return result
    low, high = bounds["low"], bounds["high"]
    chunks = []
    for start in range(low, high + 1, LOAD_CHUNK_TRACKS):
        span = {"gte": start, "lt": start + LOAD_CHUNK_TRACKS}
        faces = Face.objects.filter(track_id__gte=span["gte"], track_id__lt=span["lt"])
        chunk = _load_tracks(
            model_name,
            faces,
            lambda ids, span=span: Track.objects.filter(id__gte=span["gte"], id__lt=span["lt"]),
        )
        result.extend(chunk)
        if len(chunk.track_ids):
            chunks.append(chunk.vectors)
        progress(min(1.0, (start + LOAD_CHUNK_TRACKS - low) / (high + 1 - low)))
    result.vectors = np.concatenate(chunks) if chunks else result.vectors
    return result


def _load_tracks(model_name: str, faces, tracks_of) -> CatalogTracks:
    """The tracks of these faces (tracks_of(ids): a queryset holding at least those tracks),
    each with its stored template (store_track_templates: the one definition of it; a track
    stored without one gets it now)."""
    # The model and "not a face" are checked here, not in SQL: with them in the WHERE clause
    # SQLite reads the rows through the (embedding_model, person) index, i.e. every face of
    # the model, instead of the track's index (EXPLAIN QUERY PLAN).
    faces = faces.order_by("track_id", "id").values_list(
        "id", "track_id", "person_id", "embedding_model", "is_not_face"
    )
    persons_by_track: dict[int, Counter] = defaultdict(Counter)
    faces_by_track: dict[int, list[int]] = defaultdict(list)
    for face_id, track_id, person_id, model, not_face in faces:
        if model == model_name and not not_face:
            persons_by_track[track_id][person_id] += 1
            faces_by_track[track_id].append(face_id)
    rejected: dict[int, set[int]] = defaultdict(set)
    for track_id, person_id in TrackRejection.objects.filter(
        track_id__in=list(faces_by_track)
    ).values_list("track_id", "person_id"):
        rejected[track_id].add(person_id)
    meta = tracks_of(list(faces_by_track)).values_list(
        "id", "video_id", "detections", "template", "template_model"
    )
    meta = [row for row in meta.order_by("id") if row[0] in faces_by_track]
    templates = _templates_of([(row[0], row[3], row[4]) for row in meta], model_name)
    result = CatalogTracks()
    rows = []
    for track_id, video_id, detections, _, _ in meta:
        if track_id not in templates:
            continue
        rows.append(templates[track_id])
        result.track_ids.append(track_id)
        result.video_ids.append(video_id)
        result.frames.append(Track.frames_in(detections))
        result.person_ids.append(_majority(persons_by_track[track_id]))
        result.face_ids.append(faces_by_track[track_id])
        result.rejected.append(frozenset(rejected[track_id]) if track_id in rejected else NOBODY)
    if rows:
        result.vectors = np.asarray(rows, dtype=np.float32)
    return result


# A track's stored template when it has no face to make one of (every face "not a face"); a
# null template is one not computed yet (catalog.models.Track.template).
NO_TEMPLATE = b""


def track_templates(track_ids, model_name: str) -> dict[int, np.ndarray]:
    """The stored template of each of these tracks that has faces of `model_name` (a track
    without one yet is computed from its faces now, and stored)."""
    stored = Track.objects.filter(id__in=list(track_ids)).values_list(
        "id", "template", "template_model"
    )
    return _templates_of(stored, model_name)


def _templates_of(stored, model_name: str) -> dict[int, np.ndarray]:
    """stored: (track id, template, template model) rows; a missing template is computed."""
    templates: dict[int, np.ndarray] = {}
    missing = []
    for track_id, template, model in stored:
        if template is None:
            missing.append(track_id)
        elif model == model_name and len(template):
            templates[track_id] = np.frombuffer(template, dtype=np.float32)
    if missing:
        computed = store_track_templates(missing)
        templates |= {t: vector for t, (model, vector) in computed.items() if model == model_name}
    return templates


def store_track_templates(track_ids) -> dict[int, tuple[str, np.ndarray]]:
    """Compute these tracks' templates from their faces and store them (after a track's faces
    were written, or one of them was marked or unmarked as "not a face"); returns each track's
    (model, template). A track whose faces are all "not a face" has none: stored as empty
    (NO_TEMPLATE), so that it is not computed again on every read. The index of track templates
    holds them too: whoever changes a track's faces re-syncs its point (index_sync.sync_faces
    does, for the tracks of the faces it is given)."""
    faces = (
        Face.objects.filter(track_id__in=list(track_ids), is_not_face=False)
        .order_by("track_id", "id")
        .values_list("track_id", "embedding_model", "quality", "embedding")
    )
    faces_of: dict[int, list] = defaultdict(list)
    for track_id, model, quality, embedding in faces:
        faces_of[track_id].append((model, quality, embedding))
    computed: dict[int, tuple[str, np.ndarray]] = {}
    rows = []
    for track_id, track_faces in faces_of.items():
        model = track_faces[0][0]  # (a video's faces are embedded by one model)
        same = [face for face in track_faces if face[0] == model]
        vectors = [np.frombuffer(face[2], dtype=np.float32) for face in same]
        template = track_template(vectors, [face[1] for face in same])
        computed[track_id] = (model, template)
        rows.append(Track(id=track_id, template=template.tobytes(), template_model=model))
    emptied = set(track_ids) - set(computed)
    Track.objects.bulk_update(rows, ["template", "template_model"], batch_size=1000)
    Track.objects.filter(id__in=emptied).update(template=NO_TEMPLATE, template_model="")
    return computed


def track_people(track_ids, model_name: str) -> dict[int, tuple[int, int | None]]:
    """Each of these tracks' video and person, as _load_tracks reads them (the person most of
    its faces of `model_name` have, "not a face" left out); a track without such a face is
    left out."""
    faces = (
        Face.objects.filter(track_id__in=list(track_ids))
        .order_by()
        .values_list("id", "track_id", "video_id", "person_id", "embedding_model", "is_not_face")
    )  # the model and "not a face" checked here, not in SQL: see _load_tracks
    people_of: dict[int, Counter] = defaultdict(Counter)
    video_of: dict[int, int] = {}
    for _, track_id, video_id, person_id, model, not_face in sorted(faces):
        if model == model_name and not not_face:
            people_of[track_id][person_id] += 1
            video_of[track_id] = video_id
    return {t: (video_of[t], _majority(people)) for t, people in people_of.items()}


def _majority(people: Counter) -> int | None:
    """A track's person: the one most of its faces have (None: most are in no person). The
    counts are made in the order of the faces' ids, so a tie goes to the earliest face's."""
    return people.most_common(1)[0][0]
