"""Re-clustering regroups people but never undoes a curator's decision."""

import pytest
from django.core.management import call_command

from catalog.models import Face, Person
from catalog.services.clustering import recluster_people
from tests.conftest import VIDEOS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def two_slideshows():
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"), str(VIDEOS / "slideshow_2.mp4"))


def test_reclustering_an_unchanged_catalog_keeps_people_and_their_ids(two_slideshows):
    before = {p.id: set(p.faces.values_list("id", flat=True)) for p in Person.objects.all()}
    summary = recluster_people()
    after = {p.id: set(p.faces.values_list("id", flat=True)) for p in Person.objects.all()}
    assert after == before
    assert summary.new_people == 0 and summary.moved_faces == {}


def test_a_named_person_keeps_name_and_faces_through_reclustering(two_slideshows, settings):
    obama = (
        Person.objects.filter(faces__video__original_name="slideshow_1.mp4", faces__time_s__lt=3.0)
        .distinct()
        .get()
    )
    obama.name, obama.named_by_curator = "Barack Obama", True
    obama.save()
    faces = set(obama.faces.values_list("id", flat=True))
    # Even a threshold that would tear everyone apart must leave the curated person whole.
    settings.CLUSTERING_DISTANCE_THRESHOLD = 0.01
    recluster_people()
    obama.refresh_from_db()
    assert obama.name == "Barack Obama"
    assert set(obama.faces.values_list("id", flat=True)) >= faces


def test_a_curated_person_gains_the_new_video_faces_of_the_same_person(two_slideshows):
    alex = (
        Person.objects.filter(
            faces__video__original_name="slideshow_1.mp4",
            faces__time_s__gte=3.0,
            faces__time_s__lt=6.0,
        )
        .distinct()
        .get()
    )
    alex.name, alex.locked = "Alex Lacamoire", True
    alex.save()
    call_command("ingest", str(VIDEOS / "short_hamilton_clip.mp4"))
    call_command("cluster")
    alex.refresh_from_db()
    assert alex.name == "Alex Lacamoire"
    assert alex.faces.filter(video__original_name="slideshow_2.mp4").exists()


def test_the_cluster_command_reports_people(two_slideshows, capsys):
    call_command("cluster")
    assert "people" in capsys.readouterr().out
    assert not Face.objects.filter(person__isnull=True).exists()
