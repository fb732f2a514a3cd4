"""Each track's stored template (what a new video's candidates are checked against) is the one
grouping computes from the track's faces: written by ingestion, and kept right when a curator
marks a face "not a face", restores it, or undoes either. So is its length (the weighted mean's,
which bounds how close the template can be to what a face is close to), in the database and in
every index point of the track."""

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from catalog.grouping import track_template
from catalog.models import Face, Track
from catalog.services import curation, index_sync
from catalog.services.catalog_tracks import load_catalog_tracks, track_lengths, track_templates
from tests.conftest import VIDEOS, empty_catalog

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


def computed_length(track_id: int) -> float | None:
    """The length of the weighted mean of the track's faces, from the faces themselves: the
    quality weights of track_template (faces under half the best one's quality count for
    nothing), their weighted sum's norm over the weights' sum."""
    faces = Face.objects.filter(track_id=track_id, is_not_face=False).order_by("id")
    rows = list(faces.values_list("embedding", "quality"))
    if not rows:
        return None
    vectors = np.stack([np.frombuffer(embedding, dtype=np.float32) for embedding, _ in rows])
    qualities = np.array([quality for _, quality in rows], dtype=np.float64)
    weights = np.where(qualities >= 0.5 * qualities.max(), qualities, 0.0)
    return float(np.linalg.norm(weights @ vectors) / weights.sum())


def lengths_in_index(track_id: int) -> dict[int, float | None]:
    """Face id -> the track length its index point carries, for the track's faces."""
    faces = list(Face.objects.filter(track_id=track_id, is_not_face=False))
    index = index_sync.get_face_index("SFace", 128)
    found = {}
    for face in faces:
        hits = index.search(face.vector, limit=50)
        found |= {hit.face_id: hit.track_length for hit in hits if hit.face_id == face.id}
    return found


def assert_index_lengths(track_id: int, length: float) -> None:
    """Every face of the track that is a face has a point, carrying this length."""
    in_index = lengths_in_index(track_id)
    assert set(in_index) == set(
        Face.objects.filter(track_id=track_id, is_not_face=False).values_list("id", flat=True)
    )
    assert all(value == pytest.approx(length, abs=1e-5) for value in in_index.values())


def test_ingestion_stores_each_tracks_template_and_grouping_reads_it(slideshows):
    tracks = load_catalog_tracks("SFace")
    assert len(tracks.track_ids) >= 8
    rows = dict(Track.objects.values_list("id", "template_model"))
    assert all(rows[track_id] == "SFace" for track_id in tracks.track_ids)
    for row, track_id in enumerate(tracks.track_ids):
        np.testing.assert_allclose(stored(track_id), computed(track_id), atol=1e-6)
        np.testing.assert_allclose(tracks.vectors[row], computed(track_id), atol=1e-6)
    lengths = dict(Track.objects.values_list("id", "template_length"))
    for track_id in tracks.track_ids:
        assert lengths[track_id] == pytest.approx(computed_length(track_id), abs=1e-5)
        assert 0.3 < lengths[track_id] <= 1.0 + 1e-6
        assert_index_lengths(track_id, lengths[track_id])


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

    original_length = Track.objects.get(pk=track_id).template_length
    curation.mark_not_faces([face.id])
    without = stored(track_id)
    np.testing.assert_allclose(without, computed(track_id), atol=1e-6)
    assert float(without @ original) < 1 - 1e-4, "the best face's crop no longer counts"
    # The length too, in the database and in the index points of the track's other faces.
    length = Track.objects.get(pk=track_id).template_length
    assert length == pytest.approx(computed_length(track_id), abs=1e-5)
    assert length != pytest.approx(original_length, abs=1e-4)
    in_index = lengths_in_index(track_id)
    assert face.id not in in_index and in_index, "the other faces' points"
    assert_index_lengths(track_id, length)

    curation.undo()
    np.testing.assert_allclose(stored(track_id), original, atol=1e-6)
    assert_index_lengths(track_id, original_length)

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


def test_a_track_stored_before_lengths_gets_one_when_indexed(slideshows):
    """A catalog from before tracks stored their length: indexing a track's faces (reindex,
    a move) computes it, stores it and writes it into the points."""
    track_id = Track.objects.values_list("id", flat=True).first()
    expected = computed_length(track_id)
    Track.objects.update(template_length=None)
    assert track_lengths({track_id}) == {track_id: pytest.approx(expected, abs=1e-5)}
    assert Track.objects.get(pk=track_id).template_length == pytest.approx(expected, abs=1e-5)
    Track.objects.update(template_length=None)
    call_command("reindex")
    assert not Track.objects.filter(template_length=None).exists()
    assert_index_lengths(track_id, expected)


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
