"""Grouping on a sparse nearest-neighbour graph gives what the dense agglomeration gives, with
memory that grows with the tracks, not their square. Plain numeric, no Django."""

from functools import partial

import numpy as np
import pytest

from catalog import grouping_graph
from catalog.grouping import METHODS, TrackSet, merge_groups, place_tracks
from catalog.grouping_graph import merge_groups_on_graph, neighbour_graph


def identities(count: int, per: int, noise: float, seed: int = 0) -> np.ndarray:
    """Unit vectors around `count` random directions, `per` each: people seen in many poses."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(count, 128))
    vectors = np.repeat(centres, per, axis=0) + noise * rng.normal(size=(count * per, 128))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_the_graph_holds_each_close_pair_both_ways_and_no_far_one():
    vectors = identities(20, 5, 0.8)
    neighbours = neighbour_graph(vectors, threshold=0.5, k=10)
    distances = 1.0 - vectors @ vectors.T
    for a, row in enumerate(neighbours):
        assert a not in row
        assert all(distances[a, b] < 0.5 and a in neighbours[b] for b in row)


def test_the_graph_searched_in_chunks_holds_every_row_s_nearest_close_rows(monkeypatch):
    monkeypatch.setattr(grouping_graph, "SEARCH_CHUNK", 7)  # rows of one chunk, found in others
    vectors = identities(20, 5, 0.8)
    seen = []
    neighbours = neighbour_graph(vectors, threshold=0.5, k=10, progress=seen.append)
    distances = 1.0 - vectors.astype(np.float64) @ vectors.T.astype(np.float64)
    np.fill_diagonal(distances, np.inf)
    expected = [set() for _ in vectors]
    for a, row in enumerate(distances):
        for b in np.argsort(row)[:10]:
            if row[b] < 0.5:
                expected[a].add(int(b))
                expected[int(b)].add(a)
    assert [set(row.tolist()) for row in neighbours] == expected
    assert sum(map(len, expected)) > len(vectors)  # the test holds edges to find
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 15


@pytest.mark.parametrize("method", METHODS)
def test_grouping_on_the_graph_equals_the_dense_grouping(method):
    vectors = identities(60, 8, 0.9)
    conflicting = [set() for _ in vectors]
    for a in range(0, len(vectors), 5):  # some pairs seen in one frame, within and across
        b = (a * 37 + 1) % len(vectors)
        conflicting[a].add(b)
        conflicting[b].add(a)
    singletons = [[i] for i in range(len(vectors))]
    dense = merge_groups(vectors, conflicting, singletons, method, 0.58)
    sparse = merge_groups_on_graph(vectors, conflicting, singletons, method, 0.58)
    assert sparse == dense
    assert all(not conflicting[i] & set(group) for group in sparse for i in group)


def test_placing_tracks_on_the_graph_keeps_curated_people_apart():
    vectors = identities(2, 6, 0.3)
    tracks = TrackSet(vectors, [0] * 12, [frozenset({i}) for i in range(12)])
    people = {"a": [0, 1], "b": [6, 7]}
    for merge in (merge_groups, partial(merge_groups_on_graph)):
        placed = place_tracks(tracks, [2, 3, 8, 9], people, "knn", 0.58, {"a", "b"}, merge)
        assert sorted((key, sorted(rows)) for rows, key in placed) == [
            ("a", [0, 1, 2, 3]),
            ("b", [6, 7, 8, 9]),
        ]


def test_the_graph_grouping_reports_progress():
    seen = []
    merge_groups_on_graph(
        identities(30, 20, 0.5), [set() for _ in range(600)], [[i] for i in range(600)],
        "knn", 0.58, progress=seen.append,
    )  # fmt: skip
    assert seen[0] == 0.0 and seen == sorted(seen) and len(seen) > 1
