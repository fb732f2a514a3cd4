"""Rebuilding the index from the database, the source of truth."""

import numpy as np
import pytest

from catalog.services.index_sync import get_face_index
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
