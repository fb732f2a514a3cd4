"""A data subject's requests on real faces: export everything held on a person, or erase it
everywhere (rows, crop files, index points, the curation log)."""

import json
import zipfile

import pytest
from django.core.management import call_command

from catalog.models import CurationAction, Face, Person, Track
from catalog.services import curation
from catalog.services.index_sync import get_face_index
from tests.conftest import assert_track_index_matches_database, person_at

# Real transactions: files and index points go once the erasure has committed.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_export_person_writes_their_faces_crops_and_appearances(slideshows, tmp_path):
    obama = person_at("slideshow_1.mp4", 1.5)
    curation.rename_person(obama, "Barack Obama")
    call_command("export_person", str(obama.id), "--output", str(tmp_path / "obama.zip"))
    with zipfile.ZipFile(tmp_path / "obama.zip") as archive:
        record = json.loads(archive.read("person.json"))
        crops = [name for name in archive.namelist() if name.startswith("crops/")]
        first = archive.read(crops[0])
    assert record["person"]["name"] == "Barack Obama"
    assert {f["id"] for f in record["faces"]} == set(obama.faces.values_list("id", flat=True))
    assert {a["video"]["title"] for a in record["appearances"]} == {"slideshow_1", "slideshow_2"}
    assert len(crops) == len(record["faces"]) and first[:2] == b"\xff\xd8"  # JPEG


def test_forget_person_erases_them_everywhere_and_nobody_else(slideshows):
    obama, kit = person_at("slideshow_1.mp4", 1.5), person_at("slideshow_1.mp4", 7.5)
    curation.rename_person(obama, "Barack Obama")
    faces = list(Face.objects.filter(person=obama))
    crops = [face.crop.name for face in faces]
    storage = faces[0].crop.storage
    kit_faces = set(kit.faces.values_list("id", flat=True))
    call_command("forget_person", str(obama.id), "--yes")
    assert not Person.objects.filter(pk=obama.pk).exists()
    assert not Face.objects.filter(id__in=[f.id for f in faces]).exists()
    assert not Track.objects.filter(id__in={f.track_id for f in faces}).exists()
    assert not any(storage.exists(name) for name in crops)
    indexed = get_face_index("SFace", 128).face_ids()
    assert not indexed & {f.id for f in faces} and kit_faces <= indexed
    assert_track_index_matches_database()
    assert not CurationAction.objects.filter(summary__contains="Barack Obama").exists()
    assert set(Person.objects.get(pk=kit.pk).faces.values_list("id", flat=True)) == kit_faces
