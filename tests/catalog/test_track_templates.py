"""Each track's stored template (what a new video's candidates are found by) is the one grouping
computes from the track's faces: written by ingestion, and kept right when a curator marks a
face "not a face", restores it, or undoes either, in the database and in the track's point of
the track index."""

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from catalog.grouping import track_template
from catalog.models import Face, Track
from catalog.services import curation
from catalog.services.catalog_tracks import load_catalog_tracks, track_templates
from tests.conftest import VIDEOS, assert_track_index_matches_database, empty_catalog

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def stored(track_id: int) -> np.ndarray | None:
    template = Track.objects.get(pk=track_id).template
    return None if not template else np.frombuffer(template, dtype=np.float32)


def computed(track_id: int) -> np.ndarray | None:
    """The template as grouping defines it, from the faces themselves: their quality-weighted
    mean, "not a face" crops left out."""
    faces = Face.objects.filter(track_id=track_id, is_not_face=False).order_by("id")
    rows = list(faces.values_list("embedding", "quality"))
    if not rows:
        return None
    vectors = [np.frombuffer(embedding, dtype=np.float32) for embedding, _ in rows]
    return track_template(vectors, [quality for _, quality in rows])


def test_ingestion_stores_each_tracks_template_and_grouping_reads_it(slideshows):
    tracks = load_catalog_tracks("SFace")
    assert len(tracks.track_ids) >= 8
    rows = dict(Track.objects.values_list("id", "template_model"))
    assert all(rows[track_id] == "SFace" for track_id in tracks.track_ids)
    for row, track_id in enumerate(tracks.track_ids):
        np.testing.assert_allclose(stored(track_id), computed(track_id), atol=1e-6)
        np.testing.assert_allclose(tracks.vectors[row], computed(track_id), atol=1e-6)
    assert_track_index_matches_database()


@pytest.fixture
def talking_head():
    empty_catalog()
    call_command("ingest", str(VIDEOS / "talking_head_1.mp4"))
    yield
    empty_catalog()


def test_not_a_face_restore_and_undo_keep_the_template_right(talking_head):
    track_id = (
        Face.objects.values("track_id")
        .annotate(n=Count("id"))
        .filter(n__gte=2)
        .order_by("-n")
        .values_list("track_id", flat=True)
        .first()
    )
    assert track_id is not None, "a track of several faces"
    original = stored(track_id).copy()
    face = Face.objects.filter(track_id=track_id).order_by("-quality").first()

    curation.mark_not_faces([face.id])
    without = stored(track_id)
    np.testing.assert_allclose(without, computed(track_id), atol=1e-6)
    assert float(without @ original) < 1 - 1e-4, "the best face's crop no longer counts"
    assert_track_index_matches_database()  # the track's point has the template without it

    curation.undo()
    np.testing.assert_allclose(stored(track_id), original, atol=1e-6)
    assert_track_index_matches_database()

    curation.mark_not_faces([face.id])
    curation.restore_faces([face.id])
    np.testing.assert_allclose(stored(track_id), original, atol=1e-6)


def test_a_track_stored_without_a_template_gets_one_when_read(slideshows):
    track_id = Track.objects.values_list("id", flat=True).first()
    expected = computed(track_id)
    Track.objects.filter(pk=track_id).update(template=None, template_model="")
    templates = track_templates({track_id}, "SFace")
    np.testing.assert_allclose(templates[track_id], expected, atol=1e-6)
    np.testing.assert_allclose(stored(track_id), expected, atol=1e-6)
    assert track_templates({track_id}, "ArcFace") == {}


def test_grouping_fills_a_template_missing_from_a_track(slideshows):
    """A catalog from before tracks stored templates: the first grouping to read a track
    computes it, stores it, and groups with it."""
    track_id = Track.objects.values_list("id", flat=True).first()
    expected = computed(track_id)
    Track.objects.update(template=None, template_model="")
    tracks = load_catalog_tracks("SFace")
    np.testing.assert_allclose(
        tracks.vectors[tracks.track_ids.index(track_id)], expected, atol=1e-6
    )
    np.testing.assert_allclose(stored(track_id), expected, atol=1e-6)
    assert not Track.objects.filter(template=None).exists()


def test_a_track_with_no_face_left_has_an_empty_template_that_is_not_recomputed(talking_head):
    track_id = Track.objects.values_list("id", flat=True).first()
    original = stored(track_id).copy()
    face_ids = list(Face.objects.filter(track_id=track_id).values_list("id", flat=True))

    curation.mark_not_faces(face_ids)
    assert bytes(Track.objects.get(pk=track_id).template) == b""
    with CaptureQueriesContext(connection) as queries:
        assert track_templates({track_id}, "SFace") == {}
    assert len(queries) == 1, "read, not computed again from the faces"

    curation.restore_faces(face_ids)
    np.testing.assert_allclose(stored(track_id), original, atol=1e-6)
