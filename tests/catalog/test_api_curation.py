"""A curator's decisions through the REST API, on real faces: the same service as the admin."""

import pytest

from catalog.models import CurationAction, Face, Person
from tests.conftest import person_at

# Real transactions: the index follows each change once it has committed.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def second_video_faces(person: Person) -> list[int]:
    faces = person.faces.filter(video__original_name="slideshow_2.mp4")
    return list(faces.values_list("id", flat=True))


def test_split_suggest_refuse_and_undo_through_the_api(api_client, slideshows):
    obama = person_at("slideshow_1.mp4", 1.5)
    faces = second_video_faces(obama)
    created = api_client.post(f"/api/people/{obama.id}/split/", {"faces": faces}, format="json")
    assert created.status_code == 201
    new_id = created.json()["id"]
    assert set(Face.objects.filter(person_id=new_id).values_list("id", flat=True)) == set(faces)

    suggested = api_client.get(f"/api/people/{obama.id}/suggestions/").json()
    assert suggested[0]["person"]["id"] == new_id and 0 < suggested[0]["score"] <= 1
    refused = api_client.post(f"/api/people/{obama.id}/different/", {"person": new_id},
                              format="json")  # fmt: skip
    assert refused.status_code == 204
    again = api_client.get(f"/api/people/{obama.id}/suggestions/").json()
    assert new_id not in [s["person"]["id"] for s in again]

    log = api_client.get("/api/curation/").json()["results"]
    assert [entry["kind"] for entry in log] == ["different_people", "split"]
    assert api_client.post("/api/curation/undo/").json()["kind"] == "different_people"
    undone = api_client.post("/api/curation/undo/").json()
    assert undone["kind"] == "split" and undone["undone_at"]
    assert not Person.objects.filter(pk=new_id).exists()
    assert api_client.post("/api/curation/undo/").status_code == 409


def test_reject_not_a_face_and_restore_through_the_api(api_client, slideshows):
    obama = person_at("slideshow_1.mp4", 1.5)
    faces = second_video_faces(obama)
    rejected = api_client.post(f"/api/people/{obama.id}/reject/", {"faces": faces}, format="json")
    assert rejected.json() == {"faces": len(faces)}
    assert not obama.faces.filter(id__in=faces).exists()
    crop = faces[0]
    assert api_client.post("/api/faces/not_a_face/", {"faces": [crop]},
                           format="json").json() == {"faces": 1}  # fmt: skip
    found = api_client.post("/api/search/", {"face_id": crop}, format="json")
    assert found.status_code == 404  # not a face: not a search query either
    assert api_client.post("/api/faces/restore/", {"faces": [crop]},
                           format="json").json() == {"faces": 1}  # fmt: skip
    assert Face.objects.get(pk=crop).person_id not in (None, obama.id)


def test_a_taken_name_is_a_conflict_unless_merging_is_asked(api_client, slideshows):
    kit, rose = person_at("slideshow_1.mp4", 7.5), person_at("slideshow_1.mp4", 10.5)
    api_client.patch(f"/api/people/{kit.id}/", {"name": "Kit"}, format="json")
    taken = api_client.patch(f"/api/people/{rose.id}/", {"name": "kit"}, format="json")
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "name_taken"
    merged = api_client.patch(f"/api/people/{rose.id}/", {"name": "Kit", "merge": True},
                              format="json")  # fmt: skip
    assert merged.status_code == 200 and merged.json()["id"] == kit.id
    assert not Person.objects.filter(pk=rose.id).exists()


def test_deleting_a_person_regroups_their_faces_and_locking_is_a_patch(api_client, slideshows):
    rose, kit = person_at("slideshow_1.mp4", 10.5), person_at("slideshow_1.mp4", 7.5)
    faces = list(rose.faces.values_list("id", flat=True))
    assert api_client.delete(f"/api/people/{rose.id}/").status_code == 204
    assert Face.objects.filter(id__in=faces, person__isnull=True).count() == 0
    locked = api_client.patch(f"/api/people/{kit.id}/", {"locked": True}, format="json").json()
    assert locked["locked"] is True
    assert CurationAction.objects.filter(kind="lock").exists()
