"""Deleting a video takes everything that came from it, and nothing a curator decided."""

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from catalog.models import Face, Person, Video
from catalog.services.index_sync import get_face_index, get_track_index
from search.services.photo_search import search_people
from tests.conftest import VIDEOS, assert_track_index_matches_database, empty_catalog, person_at

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SFACE_DIMENSION = 128


@pytest.fixture
def two_slideshows():
    """slideshow_1 (Obama, Lacamoire, Harington, Leslie) and slideshow_2 (Biden, Obama,
    Harington, Lacamoire): Rose Leslie is only in the first."""
    empty_catalog()
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"), str(VIDEOS / "slideshow_2.mp4"))
    yield (
        Video.objects.get(original_name="slideshow_1.mp4"),
        Video.objects.get(original_name="slideshow_2.mp4"),
    )
    empty_catalog()


def indexed_face_ids() -> set[int]:
    return get_face_index("SFace", SFACE_DIMENSION).face_ids()


def test_deleting_a_video_removes_its_faces_files_and_index_points(
    api_client, two_slideshows, django_capture_on_commit_callbacks
):
    first, second = two_slideshows
    rose = person_at("slideshow_1.mp4", 10.5)
    obama = person_at("slideshow_1.mp4", 1.5)
    api_client.patch(f"/api/people/{rose.id}/", {"name": "Rose Leslie"}, format="json")
    deleted_faces = list(Face.objects.filter(video=first))
    files = [face.crop.name for face in deleted_faces] + [first.file.name]
    assert all(default_storage.exists(name) for name in files)
    obama_vector = next(face.vector for face in deleted_faces if face.person_id == obama.id)

    with django_capture_on_commit_callbacks(execute=True):  # files and points go after commit
        response = api_client.delete(f"/api/videos/{first.id}/")

    assert response.status_code == 204
    assert not Video.objects.filter(pk=first.pk).exists()
    assert not Face.objects.filter(video_id=first.id).exists()
    assert not any(default_storage.exists(name) for name in files)
    remaining = set(Face.objects.values_list("id", flat=True))
    assert remaining and indexed_face_ids() == remaining
    assert_track_index_matches_database()
    # The person named by a curator stays, even with no face left; Obama keeps the other video's.
    assert Person.objects.get(pk=rose.pk).name == "Rose Leslie"
    obama.refresh_from_db()
    assert obama.cover_face.video_id == second.id
    found = search_people(obama_vector, "SFace", SFACE_DIMENSION, top=5)
    assert found[0].person_id == obama.id
    assert {face.video_id for match in found for face in match.best_faces} == {second.id}
    assert api_client.get(f"/api/videos/{first.id}/").status_code == 404


def test_the_admin_deletes_through_the_same_service(
    admin_client, two_slideshows, django_capture_on_commit_callbacks
):
    first, _ = two_slideshows
    rose = person_at("slideshow_1.mp4", 10.5)  # not named: goes with her only video
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/catalog/video/{first.id}/delete/", {"post": "yes"}, follow=True
        )
    assert response.status_code == 200
    assert not Video.objects.filter(pk=first.pk).exists()
    assert not Person.objects.filter(pk=rose.pk).exists()
    assert indexed_face_ids() == set(Face.objects.values_list("id", flat=True))


def test_search_leaves_out_points_whose_faces_are_gone(two_slideshows):
    first, second = two_slideshows
    obama = person_at("slideshow_1.mp4", 1.5)
    gone = Face.objects.filter(video=first, person=obama).first()
    vector = gone.vector
    gone_tracks = set(Face.objects.filter(video=first).values_list("track_id", flat=True))
    Face.objects.filter(video=first).delete()  # as if the index clean-up had failed
    assert gone.id in indexed_face_ids()

    found = search_people(vector, "SFace", SFACE_DIMENSION, top=5)

    assert found[0].person_id == obama.id
    assert {face.video_id for match in found for face in match.best_faces} == {second.id}
    call_command("check_index", "--fix")
    assert gone.id not in indexed_face_ids()
    assert not gone_tracks & get_track_index("SFace", SFACE_DIMENSION).face_ids()
    assert_track_index_matches_database()


def test_a_video_being_processed_is_not_deleted(api_client):
    video = Video.objects.create(
        source=Video.Source.UPLOAD,
        original_name="busy.mp4",
        file="videos/busy.mp4",
        content_sha256="b" * 64,
        status=Video.Status.PROCESSING,
    )
    response = api_client.delete(f"/api/videos/{video.id}/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "busy"
    assert Video.objects.filter(pk=video.pk).exists()
