"""One rule for the people a change leaves with no face: they go, unless a curator named or
locked them. Grouping, curation and deleting a video all follow it."""

import pytest
from django.core.management import call_command

from catalog.models import Person, Video
from catalog.services import curation, videos
from catalog.services.clustering import recluster_people
from tests.conftest import VIDEOS, empty_catalog, person_at

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def slideshow():
    """slideshow_1: Obama, Lacamoire, Harington, Leslie, one photo after another."""
    empty_catalog()
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"))
    yield Video.objects.get()
    empty_catalog()


def test_a_locked_unnamed_person_survives_having_every_face_moved_away(slideshow):
    obama, alex = person_at("slideshow_1.mp4", 1.5), person_at("slideshow_1.mp4", 4.5)
    curation.set_person_locked(obama, True)
    curation.move_faces(obama.faces.values_list("id", flat=True), alex)
    assert Person.objects.filter(pk=obama.pk, locked=True).exists()
    assert not obama.faces.exists()


def test_an_uncurated_person_left_empty_by_a_move_is_removed(slideshow):
    obama, alex = person_at("slideshow_1.mp4", 1.5), person_at("slideshow_1.mp4", 4.5)
    curation.move_faces(obama.faces.values_list("id", flat=True), alex)
    assert not Person.objects.filter(pk=obama.pk).exists()


def test_reclustering_and_deleting_the_video_keep_an_empty_locked_person(slideshow):
    obama, alex = person_at("slideshow_1.mp4", 1.5), person_at("slideshow_1.mp4", 4.5)
    curation.set_person_locked(obama, True)
    curation.move_faces(obama.faces.values_list("id", flat=True), alex)
    recluster_people()
    assert Person.objects.filter(pk=obama.pk).exists()
    videos.delete_video(slideshow)
    assert list(Person.objects.values_list("id", flat=True)) == [obama.pk, alex.pk]
    assert Person.objects.get(pk=alex.pk).locked  # a move locks its target
