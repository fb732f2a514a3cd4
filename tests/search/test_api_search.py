"""The search API: by photo upload and by face id."""

import pytest

from catalog.models import Face
from tests.conftest import PEOPLE, SHARED_DATA, true_name_of_each_person

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_a_photo_upload_finds_the_person(api_client, all_videos_ingested):
    with open(PEOPLE / "joe_biden" / "biden2.jpg", "rb") as photo:
        response = api_client.post("/api/search/", {"photo": photo, "top": 3}, format="multipart")
    assert response.status_code == 200
    body = response.json()
    assert len(body["faces"]) == 1 and body["chosen_face"] == 0
    best = body["people"][0]
    assert true_name_of_each_person()[best["person_id"]] == "joe_biden"
    assert best["moments"] and best["best_faces"] and 0.5 < best["score"] <= 1


def test_a_face_id_finds_more_of_the_same_person(api_client, all_videos_ingested):
    face = Face.objects.filter(video__original_name="talking_head_1.mp4").first()
    body = api_client.post("/api/search/", {"face_id": face.id}, format="json").json()
    assert body["people"][0]["person_id"] == face.person_id


def test_search_errors_are_clear(api_client, all_videos_ingested):
    neither = api_client.post("/api/search/", {}, format="json")
    assert neither.status_code == 400 and "either" in neither.json()["error"]["message"]
    unknown = api_client.post("/api/search/", {"face_id": 999999}, format="json")
    assert unknown.status_code == 404
    with open(SHARED_DATA / "misc" / "no_face_beach_sand.jpg", "rb") as photo:
        no_face = api_client.post("/api/search/", {"photo": photo}, format="multipart")
    assert no_face.status_code == 400 and no_face.json()["error"]["code"] == "unusable_photo"
