"""Keeping the vector index in step with the catalog's writes; the one place that opens it.

Every service that changes faces or people calls this after its transaction commits. The
database holds every embedding, so anything here can be redone from it: rebuilding, comparing
and repairing the index is `search/services/index_maintenance.py` (`manage.py reindex`,
`check_index --fix`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
from django.conf import settings

from catalog.models import Face, Person
from catalog.services.catalog_tracks import track_lengths
from ingestion.pipeline.thresholds import EMBEDDING_DIMENSIONS
from search.index import FaceIndex, IndexPoint
from search.index_backends import open_face_index, owned_while

_indexes: dict[tuple, FaceIndex] = {}
_indexes_lock = threading.Lock()


def collection_name(model_name: str, dimension: int) -> str:
    # One collection per model: vectors of two models cannot be compared.
    slug = "".join(c if c.isalnum() else "_" for c in model_name.lower())
    return f"{settings.QDRANT_COLLECTION_PREFIX}_{slug}_{dimension}"


def get_face_index(model_name: str, dimension: int) -> FaceIndex:
    key = (
        settings.QDRANT_BACKEND,
        str(settings.QDRANT_PATH),
        settings.QDRANT_URL,
        collection_name(model_name, dimension),
    )
    with _indexes_lock:
        if key not in _indexes:
            _indexes[key] = open_face_index(
                settings.QDRANT_BACKEND,
                dimension=dimension,
                collection=key[3],
                path=settings.QDRANT_PATH,
                url=settings.QDRANT_URL,
                api_key=settings.QDRANT_API_KEY,
            )
        return _indexes[key]


def index_owned_here():
    """The index kept loaded by this process for a batch (`manage.py ingest` of many videos)
    when no owner serves it: loaded once instead of once per operation."""
    return owned_while(settings.QDRANT_BACKEND, settings.QDRANT_PATH)


def index_points(faces: Iterable) -> list[IndexPoint]:
    faces = list(faces)
    lengths = track_lengths({face.track_id for face in faces})
    return [
        IndexPoint(
            face_id=face.id,
            vector=np.frombuffer(face.embedding, dtype=np.float32),
            video_id=face.video_id,
            person_id=face.person_id,
            hidden=bool(face.person_id and face.person.hidden),
            track_id=face.track_id,
            track_length=lengths.get(face.track_id),
        )
        for face in faces
    ]


def index_faces(faces) -> int:
    """Add or replace these faces' vectors (grouped by model, one collection each)."""
    by_model: dict[tuple[str, int], list] = {}
    for face in faces:
        by_model.setdefault((face.embedding_model, face.embedding_dim), []).append(face)
    for (model_name, dimension), group in by_model.items():
        get_face_index(model_name, dimension).upsert(index_points(group))
    return sum(len(g) for g in by_model.values())


def reindex_moved_faces(moved: dict[int, list[int]]) -> int:
    """Rewrite the points of faces that changed person (person id and hidden flag with them)."""
    face_ids = [face_id for ids in moved.values() for face_id in ids]
    if not face_ids:
        return 0
    return index_faces(Face.objects.filter(id__in=face_ids).select_related("person"))


def remove_faces(face_ids: list[int], model_name: str, dimension: int) -> None:
    if face_ids:
        get_face_index(model_name, dimension).delete_faces(face_ids)


def remove_video(video_id: int, model_name: str, dimension: int) -> None:
    get_face_index(model_name, dimension).delete_video(video_id)


def model_dimension(model_name: str) -> int | None:
    """The embedding length of a model: as stored with its faces, else as the model is known."""
    stored = (
        Face.objects.filter(embedding_model=model_name)
        .values_list("embedding_dim", flat=True)
        .first()
    )
    return stored or EMBEDDING_DIMENSIONS.get(model_name)


def set_person_hidden(person_id: int, hidden: bool) -> None:
    """Hidden people drop out of search results; their faces stay indexed."""
    for model_name, dimension in (
        Face.objects.filter(person_id=person_id)
        .values_list("embedding_model", "embedding_dim")
        .distinct()
    ):
        get_face_index(model_name, dimension).set_person_hidden(person_id, hidden)


def sync_faces(face_ids: Iterable[int], hidden_of_people: Iterable[int] = ()) -> None:
    """Bring these faces' points in step after a curator's change: a face's point carries its
    person (and whether they are hidden) and its track's template length, which a face of the
    track marked or unmarked "not a face" changes, so every face of their tracks is rewritten;
    a "not a face" has no point. With hidden_of_people, each of those people's points get their
    hidden flag too."""
    tracks = Face.objects.filter(id__in=set(face_ids)).values("track_id")
    faces = list(Face.objects.filter(track_id__in=tracks).select_related("person"))
    index_faces([face for face in faces if not face.is_not_face])
    not_faces: dict[tuple[str, int], list[int]] = {}
    for face in faces:
        if face.is_not_face:
            not_faces.setdefault((face.embedding_model, face.embedding_dim), []).append(face.id)
    for (model_name, dimension), ids in not_faces.items():
        remove_faces(ids, model_name, dimension)
    for person_id, hidden in Person.objects.filter(id__in=set(hidden_of_people)).values_list(
        "id", "hidden"
    ):
        set_person_hidden(person_id, hidden)
