"""The search page: a photo's faces come back as boxes to pick from, with the people found;
"more like this face" from a crop; an unusable photo is explained."""

import pytest
from django.core.management import call_command

from catalog.models import Person
from tests.conftest import PEOPLE, SHARED_DATA, VIDEOS, empty_catalog, person_at

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(scope="module")
def slideshow(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        empty_catalog()
        call_command("ingest", str(VIDEOS / "slideshow_1.mp4"))
        yield
        empty_catalog()


@pytest.fixture
def curator(client, django_user_model, slideshow):
    client.force_login(django_user_model.objects.create_user("curator", password="x" * 20))
    return client


def post_photo(client, path, **extra):
    with open(path, "rb") as photo:
        return client.post("/search/photo", {"photo": photo, **extra},
                           HTTP_ACCEPT="application/json")  # fmt: skip


def test_a_photo_finds_its_person_first_with_moments_linking_to_the_video(curator):
    obama = person_at("slideshow_1.mp4", 1.0)
    body = post_photo(curator, PEOPLE / "barack_obama" / "obama2.jpg").json()
    assert len(body["faces"]) == 1 and body["chosen_face"] == 0
    first = body["html"].split('class="result"')[1]
    assert f'data-person-id="{obama.id}"' in first
    video_id = obama.faces.first().video_id
    assert f"/videos/{video_id}/?t=" in first


def test_a_photo_with_two_faces_gives_both_boxes_and_searches_the_one_picked(curator):
    photo = SHARED_DATA / "misc" / "two_people.jpg"  # barack_obama, joe_biden
    largest = post_photo(curator, photo).json()
    assert len(largest["faces"]) == 2
    assert all(len(face["box"]) == 4 for face in largest["faces"])
    obama = person_at("slideshow_1.mp4", 1.0)
    left = post_photo(curator, photo, face="0").json()
    assert left["chosen_face"] == 0
    assert left["html"].split('class="result"')[1].count(f'data-person-id="{obama.id}"') == 1


def test_a_file_that_is_not_a_photo_is_explained(curator, tmp_path):
    junk = tmp_path / "notes.jpg"
    junk.write_text("not an image")
    response = post_photo(curator, junk)
    assert response.status_code == 400
    assert "not an image" in response.json()["error"]["message"]


def test_more_like_this_face_lists_people_like_a_crop(curator):
    rose = person_at("slideshow_1.mp4", 10.0)
    page = curator.get(f"/search/?face={rose.faces.first().id}").content.decode()
    assert "People found" in page and rose.faces.first().crop.url in page


def test_a_person_can_be_merged_into_someone_picked_by_face(curator):
    kit = person_at("slideshow_1.mp4", 7.0)
    page = curator.get(f"/search/?face={kit.faces.first().id}").content.decode()
    others = [p for p in Person.objects.exclude(pk=kit.id) if f'value="#{p.id}"' in page]
    assert others, "no merge button for the people found"
    assert f'action="/people/{kit.id}/merge"' in page
