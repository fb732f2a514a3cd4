"""Keeping the vector index in step with the catalog's writes; the one place that opens it.

Two collections a model: its faces (search by photo) and its tracks' templates (which people a
new video's tracks may join: catalog/services/candidates.py). A track's point is written
whenever one of its faces' points is (same person, template as stored with the track), and goes
with the track's video or its last face.

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

from catalog.models import Face, Person, Track
from catalog.services.catalog_tracks import track_people, track_templates
from ingestion.pipeline.thresholds import EMBEDDING_DIMENSIONS
from search.index import FaceIndex, IndexPoint
from search.index_backends import open_face_index, owned_while

_indexes: dict[tuple, FaceIndex] = {}
_indexes_lock = threading.Lock()


def collection_name(model_name: str, dimension: int) -> str:
    # One collection per model: vectors of two models cannot be compared.
    slug = "".join(c if c.isalnum() else "_" for c in model_name.lower())
    return f"{settings.QDRANT_COLLECTION_PREFIX}_{slug}_{dimension}"


def track_collection_name(model_name: str, dimension: int) -> str:
    return f"{collection_name(model_name, dimension)}_tracks"


def get_face_index(model_name: str, dimension: int) -> FaceIndex:
    return _open(collection_name(model_name, dimension), dimension)


def get_track_index(model_name: str, dimension: int) -> FaceIndex:
    """The index of the model's track templates. The same kind of index as the faces', its
    points tracks: a point's id (and track_id) is the track's id, its person the track's."""
    return _open(track_collection_name(model_name, dimension), dimension)


def _open(collection: str, dimension: int) -> FaceIndex:
    key = (settings.QDRANT_BACKEND, str(settings.QDRANT_PATH), settings.QDRANT_URL, collection)
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
    return [
        IndexPoint(
            face_id=face.id,
            vector=np.frombuffer(face.embedding, dtype=np.float32),
            video_id=face.video_id,
            person_id=face.person_id,
            hidden=bool(face.person_id and face.person.hidden),
        )
        for face in faces
    ]


def index_faces(faces) -> int:
    """Add or replace these faces' vectors (grouped by model, one collection each), and their
    tracks' templates."""
    by_model: dict[tuple[str, int], list] = {}
    for face in faces:
        by_model.setdefault((face.embedding_model, face.embedding_dim), []).append(face)
    for (model_name, dimension), group in by_model.items():
        get_face_index(model_name, dimension).upsert(index_points(group))
        index_tracks({face.track_id for face in group}, model_name, dimension)
    return sum(len(g) for g in by_model.values())


def track_points(track_ids, model_name: str) -> tuple[list[IndexPoint], list[int]]:
    """The points of these tracks (template as stored, person as their faces say: see
    catalog_tracks.track_people), and those of them with no template (no face left to make one
    of), whose points must go."""
    track_ids = set(track_ids)
    templates = track_templates(track_ids, model_name)
    people = track_people(templates, model_name)
    points = [
        IndexPoint(
            face_id=track_id,
            vector=templates[track_id],
            video_id=video_id,
            person_id=person_id,
        )
        for track_id, (video_id, person_id) in people.items()
    ]
    return points, sorted(track_ids - set(people))


def rebuild_track_index(model_name: str, dimension: int, batch_size: int = 5000):
    """Write every track's template point again (in id order, a batch of ids at a time), then
    remove the points of tracks the database no longer has; returns the index."""
    index = get_track_index(model_name, dimension)
    stale = index.face_ids()
    ids = Track.objects.order_by("id").values_list("id", flat=True)
    after = 0
    while batch := list(ids.filter(id__gt=after)[:batch_size]):
        points, _ = track_points(batch, model_name)
        index.upsert(points, batch_size=batch_size)
        stale.difference_update(point.face_id for point in points)
        after = batch[-1]
    if stale:
        index.delete_faces(sorted(stale))
    return index


def index_tracks(track_ids, model_name: str, dimension: int) -> None:
    """Write these tracks' template points (person and template as the database has them now);
    a track with no template left loses its point."""
    points, emptied = track_points(track_ids, model_name)
    index = get_track_index(model_name, dimension)
    index.upsert(points)
    if emptied:
        index.delete_faces(emptied)


def reindex_moved_faces(moved: dict[int, list[int]]) -> int:
    """Rewrite the points of faces that changed person (person id and hidden flag with them)."""
    face_ids = [face_id for ids in moved.values() for face_id in ids]
    if not face_ids:
        return 0
    return index_faces(Face.objects.filter(id__in=face_ids).select_related("person"))


def remove_faces(
    face_ids: list[int], model_name: str, dimension: int, track_ids: Iterable[int] = ()
) -> None:
    """Take these faces' points out, and those of these tracks (deleted with them)."""
    if face_ids:
        get_face_index(model_name, dimension).delete_faces(face_ids)
    if track_ids := sorted(track_ids):
        get_track_index(model_name, dimension).delete_faces(track_ids)


def remove_video(video_id: int, model_name: str, dimension: int) -> None:
    get_face_index(model_name, dimension).delete_video(video_id)
    get_track_index(model_name, dimension).delete_video(video_id)


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
    person (and whether they are hidden), a track's point its person and its template, which a
    face of the track marked or unmarked "not a face" changes; so every face of their tracks is
    rewritten, with the tracks. A "not a face" has no point, nor a track with no face left.
    With hidden_of_people, each of those people's points get their hidden flag too."""
    tracks = Face.objects.filter(id__in=set(face_ids)).values("track_id")
    faces = list(Face.objects.filter(track_id__in=tracks).select_related("person"))
    index_faces([face for face in faces if not face.is_not_face])
    not_faces: dict[tuple[str, int], list[Face]] = {}
    for face in faces:
        if face.is_not_face:
            not_faces.setdefault((face.embedding_model, face.embedding_dim), []).append(face)
    kept_tracks = {face.track_id for face in faces if not face.is_not_face}
    for (model_name, dimension), group in not_faces.items():
        remove_faces([face.id for face in group], model_name, dimension)
        # a track with a face left was rewritten above; one with none loses its point
        index_tracks({face.track_id for face in group} - kept_tracks, model_name, dimension)
    for person_id, hidden in Person.objects.filter(id__in=set(hidden_of_people)).values_list(
        "id", "hidden"
    ):
        set_person_hidden(person_id, hidden)
