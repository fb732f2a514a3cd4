"""The same videos give the same people whatever the order they come in, and whether or not the
catalog is re-clustered afterwards."""

import itertools

import pytest
from django.core.management import call_command

from catalog.models import Face, Person
from catalog.services.clustering import recluster_people
from evaluation.scoring import pairwise_scores
from evaluation.variants import VARIANTS, make_variants
from tests.conftest import VIDEOS, empty_catalog

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
# Every shared video with people (the two without faces add nothing to compare).
WITH_PEOPLE = sorted(
    p for p in VIDEOS.iterdir() if p.suffix in {".mp4", ".avi"} and "no_faces" not in p.name
)


def people_of_faces() -> dict[tuple, int]:
    """Each face (video, frame, box: the same in every run) -> its person."""
    rows = Face.objects.values_list("video__original_name", "frame_index", "box_x", "box_y",
                                    "person_id")  # fmt: skip
    return {row[:4]: row[4] for row in rows}


def agreement(a: dict, b: dict) -> float:
    """Pairwise F between two groupings of the same faces (1.0: the same people)."""
    assert a.keys() == b.keys()
    return pairwise_scores([(a[key], b[key]) for key in a]).f


def test_one_by_one_in_either_order_and_reclustered_gives_the_same_people():
    assert_same_people_in_any_order(WITH_PEOPLE)


def test_copies_of_one_scene_give_the_same_people_in_any_order(tmp_path):
    """friends_poker and its four degraded copies: five near-identical faces of one moment.
    Before a new video's nearby people were regrouped from their tracks, the first copies to
    come formed people the later ones could only join, and the orders agreed at 0.915."""
    source = VIDEOS / "friends_poker.mp4"
    copies = make_variants(VIDEOS, tmp_path, variants=tuple(VARIANTS), sources=(source.name,))
    assert_same_people_in_any_order([source, *copies])


def assert_same_people_in_any_order(videos: list) -> None:
    outcomes = {}
    for order, in_order in (("forward", videos), ("reverse", videos[::-1])):
        empty_catalog()
        for video in in_order:
            call_command("ingest", str(video))
        outcomes[order] = people_of_faces()
        assert_every_cover_is_its_persons_face()
        recluster_people()
        outcomes[f"{order}, re-clustered"] = people_of_faces()
        assert_every_cover_is_its_persons_face()
    empty_catalog()
    for (name_a, a), (name_b, b) in itertools.combinations(outcomes.items(), 2):
        assert agreement(a, b) >= 0.99, (name_a, name_b, agreement(a, b))


def assert_every_cover_is_its_persons_face() -> None:
    """Regrouping moves tracks between people: a person whose cover went with a track gets
    another one of their own, never a face now shown under someone else."""
    people = Person.objects.values_list("id", "cover_face__person_id")
    assert people
    assert all(person_id == cover_owner for person_id, cover_owner in people), list(people)
