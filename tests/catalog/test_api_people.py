"""The API for browsing and curating people, videos and faces."""

import pytest
from django.core.management import call_command

from catalog.models import Face, Person, Video
from tests.conftest import VIDEOS, empty_catalog, person_at

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(scope="module")
def three_videos(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        empty_catalog()
        names = ("slideshow_1.mp4", "slideshow_2.mp4", "slideshow_3.mp4")
        call_command("ingest", *(str(VIDEOS / n) for n in names))
        yield
        empty_catalog()


def test_clusters_lists_people_with_counts_and_cover_crops(api_client, three_videos):
    body = api_client.get("/api/clusters").json()
    assert body["count"] == Person.objects.filter(hidden=False).count()
    first = body["results"][0]
    assert {"id", "name", "face_count", "video_count", "cover_crop_url"} <= set(first)
    assert first["face_count"] >= body["results"][-1]["face_count"]
    assert api_client.get(first["cover_crop_url"]).status_code == 200


def test_renaming_a_person_makes_the_name_a_curators(api_client, three_videos):
    person = person_at("slideshow_1.mp4", 0.0)
    response = api_client.patch(f"/api/people/{person.id}/", {"name": "Barack Obama"},
                                format="json")  # fmt: skip
    assert response.status_code == 200
    assert response.json()["name"] == "Barack Obama"
    assert response.json()["named_by_curator"] is True


def test_a_hidden_person_leaves_the_clusters_and_the_search(
    api_client, three_videos, django_capture_on_commit_callbacks
):
    person = person_at("slideshow_1.mp4", 9.0)  # rose_leslie
    with django_capture_on_commit_callbacks(execute=True):  # the index follows the commit
        api_client.patch(f"/api/people/{person.id}/", {"hidden": True}, format="json")
    ids = [p["id"] for p in api_client.get("/api/clusters").json()["results"]]
    assert person.id not in ids
    face = person.faces.first()
    found = api_client.post("/api/search/", {"face_id": face.id}, format="json").json()
    assert person.id not in [p["person_id"] for p in found["people"]]
    with django_capture_on_commit_callbacks(execute=True):
        api_client.patch(f"/api/people/{person.id}/", {"hidden": False}, format="json")


def test_merging_people_moves_their_faces_and_removes_them(api_client, three_videos):
    kit_1 = person_at("slideshow_1.mp4", 6.0)
    alex = person_at("slideshow_1.mp4", 3.0)
    faces = alex.faces.count() + kit_1.faces.count()
    response = api_client.post(f"/api/people/{kit_1.id}/merge/", {"people": [alex.id]},
                               format="json")  # fmt: skip
    assert response.status_code == 200
    assert response.json()["face_count"] == faces
    assert not Person.objects.filter(pk=alex.id).exists()
    assert Person.objects.get(pk=kit_1.id).locked


def test_people_seen_in_one_frame_cannot_be_merged(api_client, three_videos):
    video = Video.objects.get(original_name="slideshow_3.mp4")
    pair = list(
        Person.objects.filter(
            faces__video=video, faces__track__start_time_s=0.0, faces__track__end_time_s__gte=0.0
        ).distinct()
    )
    assert len(pair) == 2  # Rose Leslie and Kit Harington, side by side
    response = api_client.post(f"/api/people/{pair[0].id}/merge/", {"people": [pair[1].id]},
                               format="json")  # fmt: skip
    assert response.status_code == 400
    assert (
        "same frame" in response.json()["error"]["message"]
        or "together" in (response.json()["error"]["message"])
    )


def test_merging_an_unknown_person_is_not_found(api_client, three_videos):
    person = Person.objects.first()
    response = api_client.post(f"/api/people/{person.id}/merge/", {"people": [99999]},
                               format="json")  # fmt: skip
    assert response.status_code == 404


def test_moving_a_face_moves_its_track_to_the_person(api_client, three_videos):
    biden = person_at("slideshow_2.mp4", 0.0)
    target = Person.objects.create(name="Somebody else")
    face = biden.faces.filter(video__original_name="slideshow_2.mp4").first()
    response = api_client.post(f"/api/people/{target.id}/faces/", {"faces": [face.id]},
                               format="json")  # fmt: skip
    assert response.status_code == 200
    track_faces = Face.objects.filter(track=face.track)
    assert response.json()["moved_faces"] == track_faces.count()
    assert set(track_faces.values_list("person_id", flat=True)) == {target.id}


def test_video_info_and_resources_filter_and_page(api_client, three_videos):
    video = Video.objects.get(original_name="slideshow_2.mp4")
    kept = Face.objects.filter(video=video).count()
    assert kept >= 5  # at least one face of each of the five photos shown
    info = api_client.get(f"/api/video_info/{video.id}").json()
    assert info["original_name"] == "slideshow_2.mp4" and len(info["faces"]) == kept
    assert api_client.get("/api/video_info/999999").status_code == 404
    faces = api_client.get(f"/api/faces/?video={video.id}").json()
    assert faces["count"] == kept
    assert {f["video"] for f in faces["results"]} == {video.id}
    videos = api_client.get("/api/videos/?status=ready").json()
    assert videos["count"] == 3
    one = api_client.get(f"/api/videos/{video.id}/").json()
    assert len(one["faces"]) == kept
    bad = api_client.get("/api/faces/?video=not-a-number")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
