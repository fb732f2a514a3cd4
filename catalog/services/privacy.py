"""A data subject's requests about one person: everything the catalog holds on them, exported,
or forgotten (rows, crops, index points and the log's mentions), wherever the files and the
index live (local or S3, Edge or a server)."""

from __future__ import annotations

import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.db.models import Q

from catalog.models import CurationAction, Face, Person, Track
from catalog.services import index_sync

logger = logging.getLogger(__name__)


def person_record(person: Person) -> dict:
    """What the catalog knows of a person: their faces (where and when) and appearances."""
    faces = (
        Face.objects.filter(person=person).select_related("video").order_by("video_id", "time_s")
    )
    tracks = Track.objects.filter(faces__person=person).distinct().select_related("video")
    return {
        "person": {
            "id": person.id,
            "name": person.name,
            "hidden": person.hidden,
            "created_at": person.created_at.isoformat(),
        },
        "faces": [
            {
                "id": face.id,
                "video": {"id": face.video_id, "title": str(face.video)},
                "time_s": round(face.time_s, 3),
                "box": {"x": face.box_x, "y": face.box_y, "w": face.box_w, "h": face.box_h},
                "not_a_face": face.is_not_face,
                "crop": f"crops/{face.id}.jpg" if face.crop else None,
            }
            for face in faces
        ],
        "appearances": [
            {
                "video": {"id": t.video_id, "title": str(t.video)},
                "start_s": round(t.start_time_s, 2),
                "end_s": round(t.end_time_s, 2),
            }
            for t in tracks.order_by("video_id", "start_time_s")
        ],
    }


def export_person(person: Person, destination: Path) -> Path:
    """A zip file with person.json and every crop of the person; returns its path."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("person.json", json.dumps(person_record(person), indent=2))
        for face in Face.objects.filter(person=person).exclude(crop=""):
            with face.crop.open("rb") as crop:
                archive.writestr(f"crops/{face.id}.jpg", crop.read())
    return destination


@dataclass(frozen=True)
class ForgottenPerson:
    person_id: int
    faces: int
    tracks: int
    log_entries: int


def forget_person(person: Person) -> ForgottenPerson:
    """Erase a person: their tracks (every detection of them) with their faces, the crops, the
    index points, the curation log's entries about them, and the person. Rows go in one
    transaction; files and points once it has committed."""
    faces = list(
        Face.objects.filter(person=person).values_list(
            "id", "crop", "embedding_model", "embedding_dim"
        )
    )
    track_ids = set(Face.objects.filter(person=person).values_list("track_id", flat=True))
    key = str(person.id)
    mentions = CurationAction.objects.filter(
        Q(before__people__has_key=key) | Q(after__people__has_key=key)
    )
    with transaction.atomic():
        log_entries = mentions.count()
        mentions.delete()
        Track.objects.filter(id__in=track_ids).delete()  # their faces go with them
        person_id = person.id
        Person.objects.filter(id=person_id).delete()
        transaction.on_commit(lambda: _erase_files_and_points(faces, track_ids))
    return ForgottenPerson(person_id, len(faces), len(track_ids), log_entries)


def _erase_files_and_points(faces: list[tuple], track_ids: set[int]) -> None:
    storage = Face._meta.get_field("crop").storage
    by_model: dict[tuple[str, int], list[int]] = {}
    for face_id, crop, model_name, dimension in faces:
        by_model.setdefault((model_name, dimension), []).append(face_id)
        if crop:
            storage.delete(crop)
    for (model_name, dimension), ids in by_model.items():
        index_sync.remove_faces(ids, model_name, dimension, track_ids)
