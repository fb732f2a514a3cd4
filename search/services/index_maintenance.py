"""Rebuilding, comparing and repairing the vector index from the database, which holds every
embedding (`manage.py reindex`, `manage.py check_index [--fix]`). Keeping the index in step with
each write is the catalog's (`catalog/services/index_sync.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from catalog.models import Face
from catalog.services.index_sync import (
    get_face_index,
    get_track_index,
    index_faces,
    index_tracks,
    model_dimension,
    rebuild_track_index,
)
from search.index import IndexPoint


def faces_of_model(model_name: str):
    """The faces the index should hold: every face of the model but those marked "not a face"."""
    return (
        Face.objects.filter(embedding_model=model_name, is_not_face=False)
        .select_related("person")
        .order_by("id")
    )


def tracks_of_model(model_name: str):
    """The tracks the index of track templates should hold: those with a face of the model
    that is a face."""
    return (
        Face.objects.filter(embedding_model=model_name, is_not_face=False)
        .order_by()
        .values_list("track_id", flat=True)
        .distinct()
    )


def rebuild_index(model_name: str, batch_size: int = 5000, build_graph: bool = False) -> int:
    """Refill the model's index from the database: every face written again, then the points
    of faces the database no longer has removed, so searches answer all along; then the
    tracks' templates the same way (rebuild_track_index).

    Read in id order, a batch at a time after the last id (not OFFSET, which rescans every row
    before it: quadratic), only the columns a point needs (no Face objects). The search graph is
    not built here (minutes at 10^5 faces): the index owner builds it when idle, a Qdrant server
    by itself, and searches are exact meanwhile; `build_graph` waits for it instead."""
    dimension = model_dimension(model_name)
    if dimension is None:
        return 0
    index = get_face_index(model_name, dimension)
    stale = index.face_ids()
    indexed, after = 0, 0
    rows = faces_of_model(model_name).values_list(
        "id", "embedding", "video_id", "person_id", "person__hidden"
    )
    while batch := list(rows.filter(id__gt=after)[:batch_size]):
        index.upsert(
            (
                IndexPoint(face_id, np.frombuffer(embedding, dtype=np.float32), video_id,
                           person_id, bool(hidden))
                for face_id, embedding, video_id, person_id, hidden in batch
            ),
            batch_size=batch_size,
        )  # fmt: skip
        stale.difference_update(row[0] for row in batch)
        indexed += len(batch)
        after = batch[-1][0]
    if stale:
        index.delete_faces(sorted(stale))
    tracks = rebuild_track_index(model_name, dimension, batch_size)
    if build_graph:
        index.optimize()
        tracks.optimize()
    return indexed


@dataclass(frozen=True)
class IndexComparison:
    model_name: str
    faces_in_database: int
    points_in_index: int
    missing_from_index: list[int]
    unknown_to_database: list[int]
    # the index of track templates, the same way
    tracks_in_database: int = 0
    track_points_in_index: int = 0
    tracks_missing_from_index: list[int] = field(default_factory=list)
    tracks_unknown_to_database: list[int] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not (
            self.missing_from_index
            or self.unknown_to_database
            or self.tracks_missing_from_index
            or self.tracks_unknown_to_database
        )


def compare_index(model_name: str) -> IndexComparison:
    in_database = set(faces_of_model(model_name).values_list("id", flat=True))
    tracks = set(tracks_of_model(model_name))
    dimension = model_dimension(model_name)
    in_index, track_points_held = set(), set()
    if dimension is not None:
        in_index = get_face_index(model_name, dimension).face_ids()
        track_points_held = get_track_index(model_name, dimension).face_ids()
    return IndexComparison(
        model_name=model_name,
        faces_in_database=len(in_database),
        points_in_index=len(in_index),
        missing_from_index=sorted(in_database - in_index),
        unknown_to_database=sorted(in_index - in_database),
        tracks_in_database=len(tracks),
        track_points_in_index=len(track_points_held),
        tracks_missing_from_index=sorted(tracks - track_points_held),
        tracks_unknown_to_database=sorted(track_points_held - tracks),
    )


def repair_index(comparison: IndexComparison) -> None:
    """Add what the index misses, remove what the database no longer has."""
    dimension = model_dimension(comparison.model_name)
    if dimension is None:
        return
    index = get_face_index(comparison.model_name, dimension)
    if comparison.unknown_to_database:
        index.delete_faces(comparison.unknown_to_database)
    missing = list(
        Face.objects.filter(id__in=comparison.missing_from_index).select_related("person")
    )
    index_faces(missing)  # (their tracks' points too)
    if comparison.tracks_unknown_to_database:
        get_track_index(comparison.model_name, dimension).delete_faces(
            comparison.tracks_unknown_to_database
        )
    written = {face.track_id for face in missing}
    tracks = set(comparison.tracks_missing_from_index) - written
    index_tracks(tracks, comparison.model_name, dimension)
