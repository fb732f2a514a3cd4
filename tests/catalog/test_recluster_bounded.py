"""Re-clustering in bounded memory (tracks read in chunks, grouped on a sparse nearest-neighbour
graph) gives the people the dense grouping gave on the shared real videos, reports its progress,
and never writes a grouping computed from a catalog that changed meanwhile."""

import pytest
from django.conf import settings

from catalog.grouping import merge_groups, place_tracks
from catalog.grouping_graph import merge_groups_on_graph
from catalog.models import Face, Person
from catalog.services import catalog_tracks, clustering
from catalog.services.clustering import grouping_threshold, load_catalog_tracks, recluster_people

# Each test in a transaction rolled back: the catalog ingested once for the module stays.
pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def partition(groups) -> set[frozenset[int]]:
    return {frozenset(rows) for rows, _ in groups}


def test_the_graph_grouping_equals_the_dense_one_on_every_shared_video(all_videos_ingested):
    tracks = load_catalog_tracks(settings.FACE_RECOGNITION_MODEL)
    assert len(tracks.track_ids) > 50
    rows = list(range(len(tracks.track_ids)))
    threshold = grouping_threshold(settings.FACE_RECOGNITION_MODEL)
    dense, sparse = (
        place_tracks(tracks.track_set, rows, {}, "knn", threshold, merge=merge)
        for merge in (merge_groups, merge_groups_on_graph)
    )
    assert partition(sparse) == partition(dense)


def test_reading_the_catalog_in_chunks_reads_the_same_tracks(all_videos_ingested, monkeypatch):
    whole = load_catalog_tracks(settings.FACE_RECOGNITION_MODEL)
    monkeypatch.setattr(catalog_tracks, "LOAD_CHUNK_TRACKS", 7)
    chunked = load_catalog_tracks(settings.FACE_RECOGNITION_MODEL)
    assert len(whole.track_ids) > 50
    assert chunked.track_ids == whole.track_ids and chunked.face_ids == whole.face_ids
    assert chunked.person_ids == whole.person_ids and chunked.frames == whole.frames
    assert (chunked.vectors == whole.vectors).all()


def test_reclustering_reports_its_progress_and_keeps_the_people(all_videos_ingested):
    before = {p.id: set(p.faces.values_list("id", flat=True)) for p in Person.objects.all()}
    seen = []
    recluster_people(seen.append)
    assert seen == sorted(seen) and seen[0] <= 0.4 and seen[-1] >= 0.95
    after = {p.id: set(p.faces.values_list("id", flat=True)) for p in Person.objects.all()}
    assert after == before


def test_a_grouping_computed_while_the_catalog_changed_is_computed_again(
    all_videos_ingested, monkeypatch
):
    plans = []
    plan = clustering._plan_recluster

    def plan_then_change(*args):
        plans.append(plan(*args))
        if len(plans) == 1:  # a curator takes a face out of its person meanwhile
            Face.objects.filter(pk=Face.objects.order_by("id").first().pk).update(person=None)
        return plans[-1]

    monkeypatch.setattr(clustering, "_plan_recluster", plan_then_change)
    recluster_people()
    assert len(plans) == 2
    assert not Face.objects.filter(person=None, is_not_face=False).exists()
