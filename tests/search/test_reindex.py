"""Rebuilding the index from the database, the source of truth."""

import numpy as np
import pytest

from catalog.models import Face, Track
from catalog.services.index_sync import get_face_index, get_track_index
from search.index import IndexPoint
from search.services.index_maintenance import compare_index, rebuild_index

pytestmark = pytest.mark.django_db


def test_reindex_drops_points_of_faces_the_database_no_longer_has():
    index = get_face_index("SFace", 128)
    stale = np.ones(128, dtype=np.float32) / np.sqrt(128)
    index.upsert([IndexPoint(987654, stale, 1, 2)])
    assert compare_index("SFace").unknown_to_database == [987654]
    assert rebuild_index("SFace") == 0
    assert index.count() == 0
    assert compare_index("SFace").consistent


def nearest_people(index, faces) -> list[list[int | None]]:
    return [
        [hit.person_id for hit in index.search(np.frombuffer(f.embedding, np.float32), limit=5)]
        for f in faces
    ]


def test_reindex_of_a_real_catalog_leaves_the_same_points_and_search_finds_the_same_people(
    slideshows,
):
    index = get_face_index("SFace", 128)
    faces = list(Face.objects.order_by("id"))
    points_before, people_before = index.face_ids(), nearest_people(index, faces)
    assert points_before == {f.id for f in faces}
    assert all(found[0] == face.person_id for found, face in zip(people_before, faces, strict=True))

    assert rebuild_index("SFace") == len(faces)

    assert index.face_ids() == points_before
    assert nearest_people(index, faces) == people_before
    assert compare_index("SFace").consistent


def test_reindex_writes_each_tracks_template_with_its_person_and_drops_unknown_tracks(
    slideshows,
):
    tracks = get_track_index("SFace", 128)
    tracks.clear()
    tracks.upsert([IndexPoint(999_999, np.ones(128), 1, None)])
    rebuild_index("SFace")
    expected = {t.id: t for t in Track.objects.all()}
    assert tracks.face_ids() == set(expected)
    for track in expected.values():
        template = np.frombuffer(track.template, np.float32)
        (hit,) = tracks.search(template, limit=1)
        assert (hit.face_id, hit.video_id) == (track.id, track.video_id)
        assert hit.person_id == track.faces.first().person_id
        assert hit.similarity == pytest.approx(1.0, abs=1e-3)
    assert compare_index("SFace").consistent


def test_reindex_writes_the_points_and_leaves_the_search_graph_to_the_index_owner(
    slideshows, monkeypatch
):
    index = get_face_index("SFace", 128)
    built = []
    monkeypatch.setattr(type(index), "optimize", lambda self: built.append(self))
    rebuild_index("SFace")
    assert built == []
    rebuild_index("SFace", build_graph=True)
    assert built == [index, get_track_index("SFace", 128)]
