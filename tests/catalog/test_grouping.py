"""Grouping rules that hold whatever the vectors: constraints are never broken."""

import numpy as np

from catalog.grouping import group_vectors


def _unit(vectors):
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_tracks_seen_in_one_frame_are_never_grouped_even_when_alike():
    vectors = _unit([[1, 0, 0], [1, 0.01, 0], [0, 1, 0]])
    for algorithm in ("dbscan", "agglomerative", "hdbscan"):
        labels = group_vectors(vectors, [(0, 1)], algorithm=algorithm, distance_threshold=0.5)
        assert labels[0] != labels[1]


def test_a_dbscan_chain_through_a_conflict_is_split():
    # 0 ~ 1 ~ 2 chain together, but 0 and 2 were seen in one frame
    vectors = _unit([[1, 0, 0], [1, 0.5, 0], [1, 1.0, 0]])
    labels = group_vectors(vectors, [(0, 2)], algorithm="dbscan", distance_threshold=0.2)
    assert labels[0] != labels[2]
    assert labels[1] in (labels[0], labels[2])


def test_close_vectors_group_and_far_ones_do_not():
    vectors = _unit([[1, 0, 0], [1, 0.1, 0], [0, 0, 1], [0, 0.1, 1]])
    for algorithm in ("dbscan", "agglomerative", "hdbscan"):
        labels = group_vectors(vectors, [], algorithm=algorithm, distance_threshold=0.3)
        assert labels[0] == labels[1] and labels[2] == labels[3] and labels[0] != labels[2]
