"""Curating people in the Django admin goes through the curation service, as the API does."""

import pytest
from django.core.management import call_command

from catalog.models import Person
from catalog.services.clustering import recluster_people
from search.services.photo_search import search_like_face
from tests.conftest import VIDEOS, empty_catalog, person_at

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(scope="module")
def two_slideshows(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        empty_catalog()
        call_command("ingest", str(VIDEOS / "slideshow_1.mp4"), str(VIDEOS / "slideshow_2.mp4"))
        yield
        empty_catalog()


def change_person(client, person: Person, **changes):
    form = {
        "name": person.name,
        "locked": "on" if person.locked else "",
        "hidden": "on" if person.hidden else "",
        "cover_face": person.cover_face_id or "",
    }
    form.update(changes)
    form = {key: value for key, value in form.items() if value != ""}
    return client.post(f"/admin/catalog/person/{person.pk}/change/", form)


def test_a_name_given_in_the_admin_is_a_curators_decision_that_reclustering_keeps(
    staff_client, two_slideshows
):
    rose = person_at("slideshow_1.mp4", 10.5)
    faces = set(rose.faces.values_list("id", flat=True))
    response = change_person(staff_client, rose, name="  Rose Leslie ")
    assert response.status_code == 302
    rose.refresh_from_db()
    assert (rose.name, rose.named_by_curator) == ("Rose Leslie", True)
    recluster_people()
    rose.refresh_from_db()
    assert rose.name == "Rose Leslie"
    assert faces <= set(rose.faces.values_list("id", flat=True))


def test_hiding_a_person_in_the_admin_takes_them_out_of_search(
    staff_client, two_slideshows, django_capture_on_commit_callbacks
):
    kit = person_at("slideshow_1.mp4", 7.5)
    face = kit.faces.first()
    assert kit.id in [match.person_id for match in search_like_face(face.id)]
    with django_capture_on_commit_callbacks(execute=True):  # the index follows the commit
        change_person(staff_client, kit, hidden="on")
    assert kit.id not in [match.person_id for match in search_like_face(face.id)]
    with django_capture_on_commit_callbacks(execute=True):
        change_person(staff_client, Person.objects.get(pk=kit.pk), hidden="")
    assert kit.id in [match.person_id for match in search_like_face(face.id)]


def test_a_cover_face_of_someone_else_is_refused_and_nothing_is_saved(staff_client, two_slideshows):
    alex, obama = person_at("slideshow_1.mp4", 4.5), person_at("slideshow_1.mp4", 1.5)
    cover_before = alex.cover_face_id
    response = change_person(staff_client, alex, name="Alex", cover_face=obama.faces.first().id)
    assert response.status_code == 302
    alex.refresh_from_db()
    assert (alex.name, alex.cover_face_id) == ("", cover_before)
    page = staff_client.get(response.url)
    assert "is not one of" in page.content.decode()


def test_the_admin_refuses_a_user_who_is_not_staff(client, django_user_model, two_slideshows):
    user = django_user_model.objects.create_user("viewer", password="a long test password")
    client.force_login(user)
    person = Person.objects.first()
    response = client.get(f"/admin/catalog/person/{person.pk}/change/")
    assert response.status_code == 302 and "/admin/login/" in response.url
