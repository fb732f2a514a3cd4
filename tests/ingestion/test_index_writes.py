"""Ingesting a video writes each of its faces to the vector index once."""

from collections import Counter

import pytest
from django.core.management import call_command

from catalog.models import Face
from search.edge_index import EdgeFaceIndex
from tests.conftest import VIDEOS, empty_catalog

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def upserted_face_ids(monkeypatch):
    """Every face id the index is asked to write, as many times as it is asked."""
    written: Counter = Counter()
    upsert = EdgeFaceIndex.upsert

    def counting_upsert(self, points, batch_size=512):
        points = list(points)
        written.update(point.face_id for point in points)
        return upsert(self, points, batch_size)

    monkeypatch.setattr(EdgeFaceIndex, "upsert", counting_upsert)
    return written


def test_each_face_of_a_new_video_is_written_to_the_index_once(upserted_face_ids):
    empty_catalog()
    upserted_face_ids.clear()
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"))
    faces = set(Face.objects.values_list("id", flat=True))
    assert faces, "the slideshow has four people: faces must be found"
    assert set(upserted_face_ids) == faces
    assert set(upserted_face_ids.values()) == {1}
    empty_catalog()


def test_a_second_video_writes_only_its_own_faces(upserted_face_ids):
    empty_catalog()
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"))
    first = set(Face.objects.values_list("id", flat=True))
    upserted_face_ids.clear()
    call_command("ingest", str(VIDEOS / "slideshow_2.mp4"))  # Obama, Harington, Lacamoire again
    second = set(Face.objects.values_list("id", flat=True)) - first
    assert set(upserted_face_ids) == second
    assert set(upserted_face_ids.values()) == {1}
    empty_catalog()
