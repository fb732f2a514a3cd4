"""The admin as a curator's tool, driven as a curator would through the test client: the face
grid, admin actions, merge suggestions, regrouping and undo; and refused to non-staff users."""

import pytest

from catalog.models import CurationAction, DifferentPeople, Face, Person
from catalog.services.suggestions import merge_suggestions
from search.services.photo_search import search_like_face
from tests.conftest import person_at

# Real transactions: the index follows each change once it has committed.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def faces_of(person: Person) -> set[int]:
    return set(Face.objects.filter(person_id=person.id).values_list("id", flat=True))


def second_video_faces(person: Person) -> list[int]:
    return list(
        person.faces.filter(video__original_name="slideshow_2.mp4").values_list("id", flat=True)
    )


def act_on_faces(client, person: Person, operation: str, faces, **fields):
    return client.post(
        f"/admin/catalog/person/{person.pk}/faces/",
        {"operation": operation, "faces": list(faces), **fields},
        follow=True,
    )


def test_a_persons_page_shows_their_faces_to_select(staff_client, slideshows):
    obama = person_at("slideshow_1.mp4", 1.5)
    page = staff_client.get(f"/admin/catalog/person/{obama.pk}/change/").content.decode()
    for face in obama.faces.all():
        assert f'value="{face.pk}"' in page and face.crop.url in page
    assert "Not this person" in page and "Split into a new person" in page


def test_splitting_selected_faces_in_the_admin_makes_a_new_person(staff_client, slideshows):
    obama = person_at("slideshow_1.mp4", 1.5)
    chosen = second_video_faces(obama)
    page = act_on_faces(staff_client, obama, "split", chosen).content.decode()
    new_person = Person.objects.get(faces__id=chosen[0])
    assert new_person.id != obama.id and faces_of(new_person) == set(chosen)
    assert "a new person" in page
    action = CurationAction.objects.get()
    assert (action.kind, action.user) == (CurationAction.Kind.SPLIT, staff_client.user)


def test_not_this_person_and_not_a_face_from_the_grid(staff_client, slideshows):
    obama, alex = person_at("slideshow_1.mp4", 1.5), person_at("slideshow_1.mp4", 4.5)
    rejected = second_video_faces(obama)
    act_on_faces(staff_client, obama, "reject", rejected)
    assert not faces_of(Person.objects.get(pk=obama.pk)) & set(rejected)
    crop = next(iter(faces_of(alex)))
    act_on_faces(staff_client, alex, "not_a_face", [crop])
    assert Face.objects.get(pk=crop).is_not_face
    assert all(crop not in [m.face_id for m in p.best_faces] for p in search_like_face(rejected[0]))


def test_a_refused_operation_says_why_and_changes_nothing(staff_client, slideshows):
    obama, alex = person_at("slideshow_1.mp4", 1.5), person_at("slideshow_1.mp4", 4.5)
    before = faces_of(alex)
    page = act_on_faces(staff_client, obama, "cover", [next(iter(before))]).content.decode()
    assert "is not one of" in page
    assert faces_of(alex) == before and not CurationAction.objects.exists()


def test_merging_selected_people_with_the_admin_action(staff_client, slideshows):
    rose, kit = person_at("slideshow_1.mp4", 10.5), person_at("slideshow_1.mp4", 7.5)
    everyone = faces_of(rose) | faces_of(kit)
    staff_client.post(
        "/admin/catalog/person/",
        {"action": "merge_selected", "_selected_action": [rose.pk, kit.pk]},
        follow=True,
    )
    kept = Person.objects.get(faces__id=next(iter(everyone)))
    assert (
        faces_of(kept) == everyone and Person.objects.filter(pk__in=[rose.pk, kit.pk]).count() == 1
    )


def test_suggestions_page_merges_or_remembers_different_people(staff_client, slideshows):
    obama = person_at("slideshow_1.mp4", 1.5)
    act_on_faces(staff_client, obama, "split", second_video_faces(obama))
    other = Person.objects.filter(locked=True).exclude(pk=obama.pk).get()  # the split's
    page = staff_client.get("/admin/catalog/person/suggestions/").content.decode()
    assert f"/admin/catalog/person/{other.pk}/change/" in page
    staff_client.post(
        "/admin/catalog/person/suggestions/",
        {"person": obama.pk, "other": other.pk, "answer": "different"},
        follow=True,
    )
    assert DifferentPeople.objects.filter(person_a=obama, person_b=other).exists()
    assert other.id not in [s.other_id for s in merge_suggestions(obama)]
    page = staff_client.get("/admin/catalog/person/suggestions/").content.decode()
    assert f"/admin/catalog/person/{other.pk}/change/" not in page


def test_undo_from_the_log_restores_a_split(staff_client, slideshows):
    obama = person_at("slideshow_1.mp4", 1.5)
    everything = faces_of(obama)
    act_on_faces(staff_client, obama, "split", second_video_faces(obama))
    log = staff_client.get("/admin/catalog/curationaction/").content.decode()
    assert "Undo" in log
    staff_client.post("/admin/catalog/person/undo/", {"next": "/admin/catalog/curationaction/"})
    assert faces_of(Person.objects.get(pk=obama.pk)) == everything
    assert CurationAction.objects.get().undone_at is not None


def test_regroup_unassigned_gives_faces_without_a_person_one(staff_client, slideshows):
    rose = person_at("slideshow_1.mp4", 10.5)
    faces = faces_of(rose)
    Face.objects.filter(id__in=faces).update(person=None)  # e.g. left by a failed grouping
    listed = staff_client.get("/admin/catalog/face/?assigned=no").content.decode()
    assert all(f"/admin/catalog/face/{f}/change/" in listed for f in faces)
    staff_client.post("/admin/catalog/person/regroup-unassigned/", follow=True)
    assert Face.objects.filter(id__in=faces, person__isnull=True).count() == 0


def test_the_curators_pages_refuse_users_who_are_not_staff(client, django_user_model, slideshows):
    client.force_login(django_user_model.objects.create_user("viewer", password="a long pw 123"))
    obama = person_at("slideshow_1.mp4", 1.5)
    before = faces_of(obama)
    for url in ("/admin/catalog/person/suggestions/", "/admin/catalog/curationaction/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response.url
    response = act_on_faces(client, obama, "split", list(before))
    assert faces_of(obama) == before
