"""The same videos give the same people whatever the order they come in, and whether or not the
catalog is re-clustered afterwards."""

import itertools

import pytest
from django.core.management import call_command

from catalog.models import Face
from catalog.services.clustering import recluster_people
from evaluation.scoring import pairwise_scores
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
    outcomes = {}
    for order, videos in (("forward", WITH_PEOPLE), ("reverse", WITH_PEOPLE[::-1])):
        empty_catalog()
        for video in videos:
            call_command("ingest", str(video))
        outcomes[order] = people_of_faces()
        recluster_people()
        outcomes[f"{order}, re-clustered"] = people_of_faces()
    empty_catalog()
    for (name_a, a), (name_b, b) in itertools.combinations(outcomes.items(), 2):
        assert agreement(a, b) >= 0.99, (name_a, name_b, agreement(a, b))
