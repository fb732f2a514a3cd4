"""Each person's face total, kept by the database's triggers, equals their faces counted, after
ingesting real videos and after every kind of change a curator or a deletion makes."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count

from catalog import face_totals
from catalog.models import Face, Person, Video
from catalog.services import curation
from catalog.services.videos import delete_video
from tests.conftest import VIDEOS, person_at

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def totals_and_counts() -> tuple[dict[int, int], dict[int, int]]:
    totals = dict(Person.objects.values_list("id", "face_total"))
    counted = dict(Person.objects.annotate(n=Count("faces")).values_list("id", "n"))
    return totals, counted


def assert_totals_true() -> None:
    totals, counted = totals_and_counts()
    assert totals == counted
    assert sum(totals.values()) == Face.objects.exclude(person=None).count() > 0


def test_face_totals_follow_ingest_curation_and_deletion(slideshows):
    assert_totals_true()
    obama, kit = person_at("slideshow_1.mp4", 0.5), person_at("slideshow_1.mp4", 7.5)
    biden = person_at("slideshow_2.mp4", 0.5)
    assert obama.face_total > 1

    curation.merge_people(obama, [kit])
    assert_totals_true()
    curation.undo()
    assert_totals_true()
    one_face = Face.objects.filter(person=obama).values_list("id", flat=True)[:1]
    curation.move_faces(one_face, biden)
    assert_totals_true()
    curation.mark_not_faces(Face.objects.filter(person=biden).values_list("id", flat=True)[:1])
    assert_totals_true()
    curation.reject_faces(Face.objects.filter(person=kit).values_list("id", flat=True)[:1], kit)
    assert_totals_true()
    curation.delete_person(biden)
    assert_totals_true()

    call_command("ingest", str(VIDEOS / "slideshow_3.mp4"))
    assert_totals_true()
    delete_video(Video.objects.get(original_name="slideshow_1.mp4"))
    assert_totals_true()
    call_command("cluster")
    assert_totals_true()


def test_a_rebuilt_face_table_gets_its_triggers_back_after_migrate(db):
    """SQLite drops a table's triggers when a migration rebuilds it: `migrate` restores them."""
    if connection.vendor != "sqlite":
        pytest.skip("only SQLite rebuilds tables")
    face_totals.drop_triggers(connection)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'catalog_face'"
        )
        names = {row[0] for row in cursor.fetchall()}
    assert names == {f"catalog_face_total_{n}" for n in ("insert", "delete", "update")}
