"""Rebuilding, comparing and repairing the vector index from the database, which holds every
embedding (`manage.py reindex`, `manage.py check_index [--fix]`). Keeping the index in step with
each write is the catalog's (`catalog/services/index_sync.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.models import Face
from catalog.services.index_sync import get_face_index, index_faces, index_points, model_dimension


def faces_of_model(model_name: str):
    """The faces the index should hold: every face of the model but those marked "not a face"."""
    return (
        Face.objects.filter(embedding_model=model_name, is_not_face=False)
        .select_related("person")
        .order_by("id")
    )


def rebuild_index(model_name: str, batch_size: int = 2000) -> int:
    """Empty the model's index and refill it from the database, then build its graph."""
    dimension = model_dimension(model_name)
    if dimension is None:
        return 0
    index = get_face_index(model_name, dimension)
    index.clear()
    indexed = 0
    for start in range(0, faces_of_model(model_name).count(), batch_size):
        batch = list(faces_of_model(model_name)[start : start + batch_size])
        index.upsert(index_points(batch))
        indexed += len(batch)
    index.optimize()
    return indexed


@dataclass(frozen=True)
class IndexComparison:
    model_name: str
    faces_in_database: int
    points_in_index: int
    missing_from_index: list[int]
    unknown_to_database: list[int]

    @property
    def consistent(self) -> bool:
        return not self.missing_from_index and not self.unknown_to_database


def compare_index(model_name: str) -> IndexComparison:
    in_database = set(faces_of_model(model_name).values_list("id", flat=True))
    dimension = model_dimension(model_name)
    in_index = set() if dimension is None else get_face_index(model_name, dimension).face_ids()
    return IndexComparison(
        model_name=model_name,
        faces_in_database=len(in_database),
        points_in_index=len(in_index),
        missing_from_index=sorted(in_database - in_index),
        unknown_to_database=sorted(in_index - in_database),
    )


def repair_index(comparison: IndexComparison) -> None:
    """Add what the index misses, remove what the database no longer has."""
    dimension = model_dimension(comparison.model_name)
    if dimension is None:
        return
    index = get_face_index(comparison.model_name, dimension)
    if comparison.unknown_to_database:
        index.delete_faces(comparison.unknown_to_database)
    missing = Face.objects.filter(id__in=comparison.missing_from_index).select_related("person")
    index_faces(missing)
