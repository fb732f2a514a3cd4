"""Grouping rules that hold whatever the vectors: constraints are never broken, chains of
look-alikes do not make one person, curated people never merge."""

import numpy as np
import pytest

from catalog.grouping import (
    METHODS,
    TrackSet,
    group_catalog,
    group_vectors,
    linkage,
    place_tracks,
    track_template,
)


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


def _tracks(vectors, videos=None, frames=None) -> TrackSet:
    count = len(vectors)
    return TrackSet(
        _unit(vectors),
        list(videos or range(count)),
        list(frames or [frozenset({i}) for i in range(count)]),
    )


def _chain(count: int, step: float):
    """Unit vectors each `step` radians from the last: neighbours close, ends far apart."""
    return _at_angles(np.arange(count) * step)


def _at_angles(angles):
    angles = np.asarray(angles, dtype=float)
    count = len(angles)
    return np.stack([np.cos(angles), np.sin(angles), np.zeros(count)], axis=1)


def test_single_linkage_chains_look_alikes_and_the_other_methods_do_not():
    # six tracks 0.25 rad apart: each within 0.04 of its neighbour, the ends 0.9 apart
    tracks = _tracks(_chain(6, 0.25))
    assert len(set(group_catalog(tracks, "single", 0.1).tolist())) == 1
    for method in ("average", "knn"):
        assert len(set(group_catalog(tracks, method, 0.1).tolist())) > 1


def test_no_method_groups_tracks_seen_in_one_frame():
    tracks = _tracks([[1, 0, 0], [1, 0.01, 0], [0, 1, 0]], videos=[7, 7, 7],
                     frames=[frozenset({1, 2}), frozenset({2, 3}), frozenset({9})])  # fmt: skip
    for method in METHODS:
        labels = group_catalog(tracks, method, 0.5)
        assert labels[0] != labels[1]


def test_a_person_who_gains_a_track_can_merge_with_another_person_it_now_matches():
    # a and b are 0.30 apart; the new track sits between them, 0.06 from a and 0.10 from b: it
    # joins a, and a (now two tracks, 0.20 from b on average) and b become one person
    tracks = _tracks(_at_angles([0.0, 0.35, 0.8]))
    placed = place_tracks(tracks, [1], {"a": [0], "b": [2]}, method="average", threshold=0.22)
    assert [(sorted(rows), key) for rows, key in placed] == [([0, 1, 2], "a")]


def test_two_curated_people_never_merge_whatever_joins_them():
    tracks = _tracks(_at_angles([0.0, 0.35, 0.8]))
    placed = place_tracks(
        tracks, [1], {"a": [0], "b": [2]}, method="average", threshold=0.22, curated={"a", "b"}
    )
    assert [(sorted(rows), key) for rows, key in placed] == [([0, 1], "a")]


def test_a_person_near_a_new_track_is_regrouped_as_if_everything_came_at_once():
    # a's tracks 0 and 1 are 0.175 apart (joined, under 0.2); new track 2 is 0.045 from 0 and
    # 0.378 from 1. All at once, 2 joins 0 first and 1 is then too far from both (0.277):
    # placed one video at a time, a is taken apart the same way, and keeps its id where most of
    # it went (a tie here: the larger group). Curated, a stays whole and 2 is a new person.
    tracks = _tracks(_at_angles([0.0, 0.6, -0.3]))
    assert group_catalog(tracks, "average", 0.2).tolist() == [0, 1, 0]
    placed = place_tracks(tracks, [2], {"a": [0, 1]}, "average", 0.2, loose={"a"})
    assert sorted((sorted(rows), key) for rows, key in placed) == [([0, 2], "a"), ([1], None)]
    for kept_whole in ({"curated": {"a"}, "loose": {"a"}}, {"loose": set()}):
        placed = place_tracks(tracks, [2], {"a": [0, 1]}, "average", 0.2, **kept_whole)
        assert [(sorted(rows), key) for rows, key in placed] == [([2], None)]


def test_a_track_kept_apart_from_a_person_never_joins_them_however_close():
    # a curator's "not this person": the new track 0 is nearly person a's track 1, but apart
    tracks = _tracks(_at_angles([0.0, 0.02, 1.5]))
    tracks.apart = {0: {1}}
    for method in METHODS:
        placed = place_tracks(tracks, [0], {"a": [1], "b": [2]}, method=method, threshold=0.3)
        assert [(sorted(rows), key) for rows, key in placed] == [([0], None)]


def test_a_track_template_leaves_out_faces_far_worse_than_the_best():
    good, blurred = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    template = track_template(np.stack([good, good, blurred]), [0.8, 0.7, 0.2])
    assert np.allclose(template, good)


def test_knn_linkage_is_each_tracks_mean_to_its_k_nearest_of_the_other_group_both_ways():
    """Written out from the definition (K = 3), for groups of every size from one track up."""
    rng = np.random.default_rng(3)
    for rows, columns in [(1, 1), (1, 3), (3, 1), (2, 2), (1, 5), (5, 1), (3, 7), (8, 4), (6, 6)]:
        distances = rng.uniform(0.2, 1.0, size=(rows, columns))
        from_rows = np.mean([np.mean(sorted(row)[:3]) for row in distances])
        from_columns = np.mean([np.mean(sorted(column)[:3]) for column in distances.T])
        expected = (from_rows + from_columns) / 2
        assert linkage(distances, "knn") == pytest.approx(expected, abs=1e-12), (rows, columns)
