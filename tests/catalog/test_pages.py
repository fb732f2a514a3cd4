"""The catalog's pages: gallery, a person's page and the curator's actions on it, a video's page."""

import csv
import io

import pytest
from django.core.management import call_command

from catalog.models import Face, Person, Track, Video
from catalog.selectors import appears_with
from tests.conftest import VIDEOS, empty_catalog, person_at

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(scope="module")
def two_videos(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        empty_catalog()
        call_command("ingest", str(VIDEOS / "slideshow_1.mp4"), str(VIDEOS / "slideshow_2.mp4"))
        yield
        empty_catalog()


@pytest.fixture
def curator(client, django_user_model, two_videos):
    client.force_login(django_user_model.objects.create_user("curator", password="x" * 20))
    return client


def test_the_gallery_lists_people_with_cover_and_counts(curator):
    page = curator.get("/people/").content.decode()
    for person in Person.objects.filter(hidden=False):
        assert f'data-person-id="{person.id}"' in page
        assert person.cover_face.crop.url in page
    assert "Unknown #" in page


def test_the_gallery_filters_named_and_hidden_people(curator):
    obama = person_at("slideshow_1.mp4", 1.0)
    curator.post(f"/people/{obama.id}/rename", {"name": "Barack Obama"})
    named = curator.get("/people/?show=named").content.decode()
    unnamed = curator.get("/people/?show=unnamed").content.decode()
    assert "Barack Obama" in named and f'data-person-id="{obama.id}"' not in unnamed
    curator.post(f"/people/{obama.id}/hide", {"hidden": "1"})
    assert f'data-person-id="{obama.id}"' not in curator.get("/people/").content.decode()
    assert f'data-person-id="{obama.id}"' in curator.get("/people/?show=hidden").content.decode()
    curator.post(f"/people/{obama.id}/hide", {"hidden": "0"})
    assert not Person.objects.get(pk=obama.id).hidden


def test_the_person_page_shows_each_video_with_its_time_spans(curator):
    obama = person_at("slideshow_1.mp4", 1.0)
    page = curator.get(f"/people/{obama.id}/").content.decode()
    for video in Video.objects.filter(faces__person=obama).distinct():
        assert f'data-video-id="{video.id}"' in page
    for face in obama.faces.all():
        assert f'value="{face.id}"' in page  # selectable
        assert f"/videos/{face.video_id}/?t={face.time_s:.2f}" in page


def test_appearances_export_as_csv_and_json_one_row_per_track(curator):
    obama = person_at("slideshow_1.mp4", 1.0)
    tracks = Track.objects.filter(faces__person=obama).distinct().count()
    rows = list(csv.DictReader(io.StringIO(curator.get(f"/people/{obama.id}/appearances.csv")
                                           .content.decode())))  # fmt: skip
    body = curator.get(f"/people/{obama.id}/appearances.json").json()
    assert len(rows) == len(body["appearances"]) == tracks
    assert {"video_id", "video_title", "start_s", "end_s", "faces"} <= set(rows[0])
    assert curator.get(f"/people/{obama.id}/appearances.xml").status_code == 404


def test_selected_faces_move_to_a_new_person_and_back(curator):
    kit = person_at("slideshow_1.mp4", 7.0)
    face = kit.faces.filter(video__original_name="slideshow_2.mp4").first()
    response = curator.post(f"/people/{kit.id}/move-faces", {"faces": [face.id], "into": "new"})
    assert response.status_code == 302
    newcomer = Face.objects.get(pk=face.id).person
    assert newcomer.id != kit.id
    curator.post(f"/people/{newcomer.id}/move-faces", {"faces": [face.id], "into": f"#{kit.id}"})
    assert Face.objects.get(pk=face.id).person_id == kit.id
    assert not Face.objects.filter(person=newcomer).exists()


def test_a_refused_action_shows_the_services_message(curator):
    kit = person_at("slideshow_1.mp4", 7.0)
    people_before = Person.objects.count()
    response = curator.post(
        f"/people/{kit.id}/move-faces",
        {"faces": [], "into": "new"},
        HTTP_REFERER=f"http://testserver/people/{kit.id}/",
        follow=True,
    )
    assert "None of these faces exist." in response.content.decode()
    assert Person.objects.count() == people_before  # the new person was not kept


def test_merging_by_name_sends_the_curator_to_the_person_merged_into(curator):
    alex = person_at("slideshow_1.mp4", 4.0)
    face = alex.faces.filter(video__original_name="slideshow_2.mp4").first()
    curator.post(f"/people/{alex.id}/move-faces", {"faces": [face.id], "into": "new"})
    split_off = Face.objects.get(pk=face.id).person
    curator.post(f"/people/{alex.id}/rename", {"name": "Alex Lacamoire"})
    response = curator.post(f"/people/{split_off.id}/merge", {"into": "alex lacamoire"})
    assert response["Location"] == f"/people/{alex.id}/"
    assert not Person.objects.filter(pk=split_off.id).exists()
    assert Face.objects.get(pk=face.id).person_id == alex.id


def test_an_unknown_merge_target_is_explained(curator):
    person = person_at("slideshow_1.mp4", 1.0)
    response = curator.post(f"/people/{person.id}/merge", {"into": "Nobody At All"}, follow=True)
    assert "Pick a person from the list" in response.content.decode()
    assert Person.objects.filter(pk=person.id).exists()


def test_the_video_page_plays_the_file_and_has_a_lane_per_person(curator):
    video = Video.objects.get(original_name="slideshow_1.mp4")
    page = curator.get(f"/videos/{video.id}/?t=6").content.decode()
    assert f'src="{video.file.url}"' in page and 'data-start="6.0"' in page
    people = set(video.faces.values_list("person_id", flat=True))
    assert page.count('class="lane"') == len(people)
    for face in video.faces.all():
        assert f'data-seek="{face.time_s}"' in page


def test_people_on_screen_together_appear_with_each_other(db):
    video = Video.objects.create(source="upload", original_name="v.mp4", content_sha256="0" * 64)
    ada, bob, cy = (Person.objects.create(name=n) for n in ("Ada", "Bob", "Cy"))
    for index, (person, start_s, end_s) in enumerate([(ada, 0, 10), (bob, 5, 12), (cy, 11, 20)]):
        track = Track.objects.create(
            video=video, index_in_video=index, start_time_s=start_s, end_time_s=end_s
        )
        Face.objects.create(video=video, track=track, person=person, time_s=start_s,
                            frame_index=0, box_x=0, box_y=0, box_w=9, box_h=9,
                            detector_confidence=1, quality=1, crop="x.jpg", embedding=b"",
                            embedding_model="SFace", embedding_dim=128)  # fmt: skip
    companions = appears_with(ada)
    assert [(c.person.name, c.together_s) for c in companions] == [("Bob", 5.0)]
    assert [c.person.name for c in appears_with(bob)] == ["Ada", "Cy"]
    video.delete()
    Person.objects.filter(id__in=[ada.id, bob.id, cy.id]).delete()


def test_the_person_picker_offers_named_people_as_the_curator_types(curator):
    obama = person_at("slideshow_1.mp4", 1.0)
    curator.post(f"/people/{obama.id}/rename", {"name": "Barack Obama"})
    assert curator.get("/people/pick.json?q=obam").json()["people"] == [
        {"id": obama.id, "name": "Barack Obama"}
    ]
    assert curator.get(f"/people/pick.json?q=%23{obama.id}").json()["people"][0]["id"] == obama.id
    assert curator.get("/people/pick.json?q=zzz").json()["people"] == []


def test_the_person_page_loads_who_they_appear_with_apart(curator):
    obama = person_at("slideshow_1.mp4", 1.0)
    page = curator.get(f"/people/{obama.id}/").content.decode()
    assert f'data-url="/people/{obama.id}/appears-with"' in page
    fragment = curator.get(f"/people/{obama.id}/appears-with").content.decode()
    assert "Appears with" in fragment  # nobody else is on screen with him in the slideshows


def test_not_this_person_not_a_face_and_undo_from_the_person_page(curator):
    obama = person_at("slideshow_1.mp4", 1.5)
    rejected = obama.faces.filter(video__original_name="slideshow_2.mp4").first()
    page = curator.get(f"/people/{obama.id}/").content.decode()
    assert "Not this person" in page and "Not a face" in page and "Undo last change" in page
    curator.post(f"/people/{obama.id}/reject-faces", {"faces": [rejected.id]})
    rejected.refresh_from_db()
    assert rejected.person_id not in (None, obama.id)
    crop = obama.faces.first()
    curator.post(f"/people/{obama.id}/not-a-face", {"faces": [crop.id]})
    crop.refresh_from_db()
    assert crop.is_not_face and crop.person_id is None
    back = curator.post("/curation/undo", HTTP_REFERER=f"http://testserver/people/{obama.id}/")
    assert back.url == f"http://testserver/people/{obama.id}/"
    crop.refresh_from_db()
    assert not crop.is_not_face and crop.person_id == obama.id
    curator.post("/curation/undo")
    rejected.refresh_from_db()
    assert rejected.person_id == obama.id
