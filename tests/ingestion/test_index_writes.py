"""Ingesting a video writes each of its faces to the vector index once, and each of its tracks
to the index of track templates once."""

from collections import Counter

import pytest
from django.core.management import call_command

from catalog.models import Face, Track
from catalog.services import index_sync
from search.edge_index import EdgeFaceIndex
from tests.conftest import VIDEOS, assert_track_index_matches_database, empty_catalog

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def upserts(monkeypatch) -> dict[str, Counter]:
    """Every point id each index ("faces", "tracks") is asked to write, as many times as it is
    asked."""
    written = {"faces": Counter(), "tracks": Counter()}
    upsert = EdgeFaceIndex.upsert
    track_collection = index_sync.track_collection_name("SFace", 128)

    def counting_upsert(self, points, batch_size=512):
        points = list(points)
        kind = "tracks" if self.folder.name == track_collection else "faces"
        written[kind].update(point.face_id for point in points)
        return upsert(self, points, batch_size)

    monkeypatch.setattr(EdgeFaceIndex, "upsert", counting_upsert)
    return written


def test_each_face_of_a_new_video_is_written_to_the_index_once(upserts):
    empty_catalog()
    for written in upserts.values():
        written.clear()
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"))
    faces = set(Face.objects.values_list("id", flat=True))
    assert faces, "the slideshow has four people: faces must be found"
    assert set(upserts["faces"]) == faces
    assert set(upserts["faces"].values()) == {1}
    assert set(upserts["tracks"]) == set(Track.objects.values_list("id", flat=True))
    assert set(upserts["tracks"].values()) == {1}
    empty_catalog()


def test_a_second_video_writes_only_its_own_faces(upserts):
    empty_catalog()
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"))
    first = set(Face.objects.values_list("id", flat=True))
    first_tracks = set(Track.objects.values_list("id", flat=True))
    for written in upserts.values():
        written.clear()
    call_command("ingest", str(VIDEOS / "slideshow_2.mp4"))  # Obama, Harington, Lacamoire again
    second = set(Face.objects.values_list("id", flat=True)) - first
    assert set(upserts["faces"]) == second
    assert set(upserts["faces"].values()) == {1}
    assert set(upserts["tracks"]) == set(Track.objects.values_list("id", flat=True)) - first_tracks
    assert set(upserts["tracks"].values()) == {1}
    empty_catalog()


def test_check_index_fix_writes_each_missing_face_and_track_once(slideshows, upserts):
    # a track with its points lost (its faces and its template), and another track's point
    lost_faces = list(Face.objects.filter(track=Track.objects.order_by("id").first()))
    lost_tracks = {lost_faces[0].track_id, Track.objects.order_by("-id").first().id}
    index_sync.get_face_index("SFace", 128).delete_faces([f.id for f in lost_faces])
    index_sync.get_track_index("SFace", 128).delete_faces(sorted(lost_tracks))
    for written in upserts.values():
        written.clear()

    call_command("check_index", "--fix")

    assert upserts["faces"] == Counter(f.id for f in lost_faces)
    # the first track through its faces, the other alone: neither twice
    assert upserts["tracks"] == Counter(lost_tracks)
    assert_track_index_matches_database()
