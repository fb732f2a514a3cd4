"""Grouping face-track vectors into people, under "cannot be the same person" constraints.

Plain numeric code (no models): the clustering service feeds it one L2-normalised vector per
track and the pairs of tracks seen in the same frame, and maps the groups back to people.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN, AgglomerativeClustering

ALGORITHMS = ("dbscan", "agglomerative", "hdbscan")
# A cosine distance no threshold reaches: pairs that must stay apart are put this far apart.
APART = 2.0


def cosine_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.clip(1.0 - a @ b.T, 0.0, APART)


def group_vectors(
    vectors: np.ndarray,
    cannot_link: Iterable[tuple[int, int]],
    *,
    algorithm: str,
    distance_threshold: float,
    min_samples: int = 1,
) -> np.ndarray:
    """A group label per row of `vectors`; rows in a cannot-link pair never share a label."""
    count = len(vectors)
    if count == 0:
        return np.zeros(0, dtype=int)
    if count == 1:
        return np.zeros(1, dtype=int)
    distances = cosine_distances(vectors, vectors)
    conflicts = np.zeros((count, count), dtype=bool)
    for i, j in cannot_link:
        conflicts[i, j] = conflicts[j, i] = True
    distances[conflicts] = APART
    np.fill_diagonal(distances, 0.0)
    if algorithm == "dbscan":
        labels = DBSCAN(eps=distance_threshold, min_samples=min_samples, metric="precomputed")
        labels = labels.fit_predict(distances)
        noise = labels < 0  # DBSCAN's outliers are people seen once, each their own group
        labels[noise] = labels.max() + 1 + np.arange(noise.sum())
    elif algorithm == "agglomerative":
        labels = AgglomerativeClustering(
            n_clusters=None,
            distance_threshold=distance_threshold,
            metric="precomputed",
            linkage="average",
        ).fit_predict(distances)
    elif algorithm == "hdbscan":
        labels = _hdbscan(distances, min_samples)
    else:
        raise ValueError(f"unknown clustering algorithm {algorithm!r}; use one of {ALGORITHMS}")
    return split_conflicting_groups(labels, distances, conflicts)


def _hdbscan(distances: np.ndarray, min_samples: int) -> np.ndarray:
    """HDBSCAN: density-based like DBSCAN, but it finds the cut for each cluster itself, so the
    distance threshold is not used. (Its cluster_selection_epsilon, which would add one, fails
    inside scikit-learn 1.9 on real face distances: TypeError in its epsilon search.)"""
    labels = HDBSCAN(
        min_cluster_size=2, min_samples=min_samples, metric="precomputed", copy=True
    ).fit_predict(distances)
    noise = labels < 0  # outliers are people seen once, each their own group
    labels[noise] = labels.max() + 1 + np.arange(noise.sum())
    return labels


def split_conflicting_groups(
    labels: np.ndarray, distances: np.ndarray, conflicts: np.ndarray
) -> np.ndarray:
    """Break any group holding a cannot-link pair (DBSCAN chains can) into conflict-free parts.

    Members are placed most central first, each into the closest part it has no conflict with.
    """
    labels = labels.copy()
    next_label = labels.max() + 1
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if not conflicts[np.ix_(members, members)].any():
            continue
        centrality = distances[np.ix_(members, members)].mean(axis=1)
        parts: list[list[int]] = []
        for member in members[np.argsort(centrality)]:
            fitting = [p for p in parts if not conflicts[member, p].any()]
            if fitting:
                min(fitting, key=lambda p: distances[member, p].mean()).append(member)
            else:
                parts.append([member])
        for part in parts[1:]:
            labels[part] = next_label
            next_label += 1
    return labels
