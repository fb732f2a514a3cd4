"""Grouping face-track vectors into people, under "cannot be the same person" constraints.

Plain numeric code (no models): the clustering service feeds it a TrackSet (one L2-normalised
template per track, with its video and frames) and the people so far, and maps the groups back
to people (place_tracks, group_catalog). group_vectors, the scikit-learn algorithms over a bare
matrix the service used before, stays for the older benchmarks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

# group_vectors' algorithms, over a plain matrix of vectors (kept for benchmarks and sweeps)
VECTOR_ALGORITHMS = ("dbscan", "agglomerative", "hdbscan")
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
    # Imported here: scikit-learn takes ~2 s to import and only these older algorithms use it,
    # so a process that ingests, searches or serves pages does not pay for it.
    from sklearn.cluster import DBSCAN, AgglomerativeClustering

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
        raise ValueError(f"unknown algorithm {algorithm!r}; use one of {VECTOR_ALGORITHMS}")
    return split_conflicting_groups(labels, distances, conflicts)


def _hdbscan(distances: np.ndarray, min_samples: int) -> np.ndarray:
    """HDBSCAN: density-based like DBSCAN, but it finds the cut for each cluster itself, so the
    distance threshold is not used. (Its cluster_selection_epsilon, which would add one, fails
    inside scikit-learn 1.9 on real face distances: TypeError in its epsilon search.)"""
    from sklearn.cluster import HDBSCAN

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


# --- Grouping tracks into people: one method for a new video and for the whole catalog --------
#
# "single" is what DBSCAN with min_samples=1 does (a track joins a person when it is close to
# any one of the person's tracks), so a chain of look-alikes becomes one person. The others
# ask a track to be close to the person as a whole:
# - "average": average linkage, the mean distance over every pair of tracks;
# - "knn": each track's mean distance to its K_NEAREST nearest tracks of the other side,
#   averaged over both sides: like average linkage for small people, but a person seen in many
#   poses is judged by the tracks nearest in pose, and it only ever needs a track's nearest
#   neighbours, which a vector index gives (the form issue "scale" needs).
# Two groups seen in one frame never merge, in every method.
METHODS = ("knn", "average", "single")
ALGORITHMS = METHODS  # what settings.CLUSTERING_ALGORITHM may name
K_NEAREST = 3
# Faces of a track below this share of its best face's quality are left out of its template.
TEMPLATE_MIN_QUALITY_SHARE = 0.5
# Added to the distance between tracks of different videos ("stricter across videos than
# within one"). Off: 0.03-0.05 moved where merges start but split more below the threshold and
# made the order matter more on the degraded copies (benchmarks/README.md, "Grouping methods").
ACROSS_VIDEOS_MARGIN = 0.0
# place_tracks regroups a person near a new video from their single tracks up to this size; a
# larger person stays one group (its tracks' agglomeration costs with the square of their count,
# and a person seen that often is no longer at the mercy of which track came first).
REGROUPED_MAX_TRACKS = 64


@dataclass
class TrackSet:
    """The tracks to group: one template vector each, the video and frames each was seen in."""

    vectors: np.ndarray
    videos: list[Hashable]
    frames: list[frozenset[int]]
    # Rows that must never be one person although not on screen together (a curator's "not
    # this person": the rejected track and that person's tracks), by row.
    apart: dict[int, set[int]] = field(default_factory=dict)

    @classmethod
    def from_faces(
        cls,
        face_vectors: Sequence[np.ndarray],
        qualities: Sequence[Sequence[float]],
        videos: Sequence[Hashable],
        frames: Sequence[frozenset[int]],
    ) -> TrackSet:
        templates = [track_template(v, q) for v, q in zip(face_vectors, qualities, strict=True)]
        vectors = np.asarray(templates, dtype=np.float32).reshape(len(templates), -1)
        return cls(vectors, list(videos), list(frames))

    def conflicts(self, rows: Sequence[int]) -> list[set[int]]:
        """For each of `rows` (by position), the positions of the rows seen in one frame of one
        video with it: certainly other people. Sparse: conflicts only arise within a video."""
        conflicting: list[set[int]] = [set() for _ in rows]
        by_video: dict[Hashable, list[int]] = {}
        for position, row in enumerate(rows):
            by_video.setdefault(self.videos[row], []).append(position)
        for positions in by_video.values():
            for i, p in enumerate(positions):
                for q in positions[i + 1 :]:
                    if not self.frames[rows[p]].isdisjoint(self.frames[rows[q]]):
                        conflicting[p].add(q)
                        conflicting[q].add(p)
        if self.apart:
            position = {row: p for p, row in enumerate(rows)}
            for row, others in self.apart.items():
                p = position.get(row)
                for q in (position[other] for other in others if other in position):
                    if p is not None:
                        conflicting[p].add(q)
                        conflicting[q].add(p)
        return conflicting


def track_template(vectors: np.ndarray, qualities: Sequence[float]) -> np.ndarray:
    """A track's vector: its faces' mean weighted by quality, blurred, tiny or profile faces
    (under half the best one's quality) left out, so one bad crop does not pull it away."""
    vectors = np.asarray(vectors, dtype=np.float64).reshape(len(qualities), -1)
    weights = np.asarray(qualities, dtype=np.float64)
    if len(weights) and weights.max() > 0:
        weights = np.where(weights >= TEMPLATE_MIN_QUALITY_SHARE * weights.max(), weights, 0.0)
    else:
        weights = np.ones(len(vectors))
    mean = weights @ vectors
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def linkage(distances: np.ndarray, method: str) -> float:
    """Distance between two groups from the distances between their tracks (rows x columns)."""
    if method == "single":
        return float(distances.min())
    if method == "average":
        return float(distances.mean())
    if method == "knn":
        # Each track's mean distance to its K nearest of the other group, averaged, both ways.
        # Where a group has no more than K tracks every one of them is among the nearest: the
        # plain mean, without sorting (most groups measured are a track or a few).
        n_rows, n_columns = distances.shape
        if n_rows <= K_NEAREST and n_columns <= K_NEAREST:
            return float(distances.mean())
        rows = distances
        if n_columns > K_NEAREST:
            rows = np.partition(distances, K_NEAREST - 1, axis=1)[:, :K_NEAREST]
        columns = distances
        if n_rows > K_NEAREST:
            columns = np.partition(distances, K_NEAREST - 1, axis=0)[:K_NEAREST, :]
        return float((rows.mean() + columns.mean()) / 2)
    raise ValueError(f"unknown grouping method {method!r}; use one of {METHODS}")


def merge_groups(
    vectors: np.ndarray,
    conflicting: list[set[int]],
    groups: list[list[int]],
    method: str,
    threshold: float,
    settled: Sequence[bool] | None = None,
    curated: Sequence[bool] | None = None,
    videos: Sequence[Hashable] | None = None,
) -> list[list[int]]:
    """Agglomerative grouping: merge the closest two groups under `threshold` with no conflict
    between them, until none is left. `vectors` and `conflicting` are per item; `groups` lists
    the items of each starting group. Two `settled` groups (people as they were, not yet
    joined by anything new) are not compared: they were apart before and nothing changed; two
    `curated` groups never merge. Returns the groups, largest first.

    Distances are computed from a group's items to all items only when the group is new or has
    changed (never all pairs of a catalog), and since every linkage is at least the closest
    pair's distance, only groups with a pair under the threshold are measured exactly.
    """
    groups = [list(g) for g in groups]
    count = len(groups)
    settled = np.asarray(settled if settled is not None else [False] * count, dtype=bool)
    curated = np.asarray(curated if curated is not None else [False] * count, dtype=bool)
    owner = np.empty(len(vectors), dtype=int)
    for number, group in enumerate(groups):
        owner[group] = number
    sizes = np.asarray([len(group) for group in groups])
    blocked = [set().union(*(conflicting[i] for i in group)) for group in groups]
    between = np.full((count, count), np.inf)
    alive = np.ones(count, dtype=bool)
    across = None
    if videos is not None and ACROSS_VIDEOS_MARGIN:
        numbers = {video: n for n, video in enumerate(dict.fromkeys(videos))}
        across = np.asarray([numbers[video] for video in videos])

    def measure_row(a: int) -> None:
        """Linkage from group a to every other live group it may merge with."""
        between[a, :] = between[:, a] = np.inf
        distances = cosine_distances(vectors[groups[a]], vectors)
        if across is not None:
            distances += ACROSS_VIDEOS_MARGIN * (across[groups[a]][:, None] != across[None, :])
        closest = np.full(count, np.inf)
        np.minimum.at(closest, owner, distances.min(axis=0))
        near = alive & (closest < threshold)
        near[a] = False
        near &= ~(settled[a] & settled) & ~(curated[a] & curated)
        if blocked[a]:
            near[owner[list(blocked[a])]] = False
        others = np.flatnonzero(near)
        if method == "single":
            between[a, others] = between[others, a] = closest[others]
            return
        # The mean distance to every group at once: average linkage, and knn's wherever neither
        # group has more than K_NEAREST tracks (nearly every pair a new video measures).
        means = np.bincount(owner, weights=distances.sum(axis=0), minlength=count)
        means[others] /= sizes[a] * sizes[others]
        between[a, others] = between[others, a] = means[others]
        if method == "average":
            return
        exact = others[sizes[others] > K_NEAREST] if sizes[a] <= K_NEAREST else others
        for b in exact.tolist():
            between[a, b] = between[b, a] = linkage(distances[:, groups[b]], method)

    for a in range(count):
        if not settled[a]:  # pairs of settled groups are never measured
            measure_row(a)
    while alive.sum() > 1:
        a, b = sorted(divmod(int(np.argmin(between)), count))
        if not between[a, b] < threshold:
            break
        groups[a] += groups[b]
        groups[b] = []
        owner[groups[a]] = a
        sizes[a], sizes[b] = len(groups[a]), 0
        blocked[a] |= blocked[b]
        settled[a] &= settled[b]
        curated[a] |= curated[b]
        alive[b] = False
        between[b, :] = between[:, b] = np.inf
        measure_row(a)
    return sorted((g for g in groups if g), key=lambda g: (-len(g), g[0]))


def group_tracks(tracks: TrackSet, rows: Sequence[int], method: str, threshold: float):
    """The rows grouped into people (lists of rows), from the rows' tracks alone."""
    rows = list(rows)
    if not rows:
        return []
    grouped = merge_groups(
        tracks.vectors[rows],
        tracks.conflicts(rows),
        [[i] for i in range(len(rows))],
        method,
        threshold,
        videos=[tracks.videos[row] for row in rows],
    )
    return [[rows[i] for i in group] for group in grouped]


def group_catalog(tracks: TrackSet, method: str, threshold: float) -> np.ndarray:
    """A person label per track, grouping every track at once (a re-cluster)."""
    labels = np.full(len(tracks.videos), -1)
    for label, rows in enumerate(
        group_tracks(tracks, range(len(tracks.videos)), method, threshold)
    ):
        labels[rows] = label
    return labels


def place_tracks(
    tracks: TrackSet,
    new_rows: Sequence[int],
    people: dict[Hashable, list[int]],
    method: str,
    threshold: float,
    curated: set[Hashable] = frozenset(),
    merge: Callable[..., list[list[int]]] | None = None,
    loose: set[Hashable] = frozenset(),
) -> list[tuple[list[int], Hashable | None]]:
    """New tracks grouped among themselves and with existing people in one agglomeration.

    The people are starting groups and the new tracks start alone; the closest pair under the
    threshold merges first, whoever it is. Two people as they were are not compared (they were
    apart already), but a person who gained new tracks may merge with another, and two curated
    people never merge.

    `loose` people (never curated ones) within the threshold of a new track, of at most
    REGROUPED_MAX_TRACKS tracks, start from their single tracks instead, as in a re-cluster of
    them with the new tracks: the agglomeration's path then no longer depends on which video
    came first (a person's tracks joined before a closer track arrived may now part), so the
    catalog's people are those of grouping it all at once, in any order.

    Returns the groups that changed: all their rows, and the person they are now (a curated
    one if any, else the one with most rows there, each person given to one group only; None:
    a new person). `merge`: merge_groups unless given (catalog.grouping_graph.
    merge_groups_on_graph for a whole catalog).
    """
    merge = merge or merge_groups
    keys = [key for key, rows in people.items() if rows]
    regrouped = _near_new_tracks(
        tracks,
        new_rows,
        {
            key: people[key]
            for key in keys
            if key in loose and key not in curated and len(people[key]) <= REGROUPED_MAX_TRACKS
        },
        threshold,
    )
    whole = [key for key in keys if key not in regrouped]
    starting = (
        [list(people[key]) for key in whole]
        + [[row] for key in keys if key in regrouped for row in people[key]]
        + [[row] for row in new_rows]
    )
    rows = [row for group in starting for row in group]
    position = {row: i for i, row in enumerate(rows)}
    person_of = {position[row]: number for number, key in enumerate(keys) for row in people[key]}
    merged = merge(
        tracks.vectors[rows],
        tracks.conflicts(rows),
        [[position[row] for row in group] for group in starting],
        method,
        threshold,
        settled=[number < len(whole) for number in range(len(starting))],
        curated=[n < len(whole) and whole[n] in curated for n in range(len(starting))],
        videos=[tracks.videos[row] for row in rows],
    )
    # Each person goes to one group: the one holding most of their rows (curated first).
    claims = sorted(
        (
            (keys[number] in curated, count, -number, -index, index, number)
            for index, group in enumerate(merged)
            for number, count in Counter(person_of[i] for i in group if i in person_of).items()
        ),
        reverse=True,
    )
    person_of_group: dict[int, int] = {}
    claimed: set[int] = set()
    for *_, index, number in claims:
        if index not in person_of_group and number not in claimed:
            person_of_group[index] = number
            claimed.add(number)
    changed = []
    for index, group in enumerate(merged):
        number = person_of_group.get(index)
        if number is not None and sorted(rows[i] for i in group) == sorted(people[keys[number]]):
            continue  # a person left as they were
        changed.append(([rows[i] for i in group], None if number is None else keys[number]))
    return changed


def _near_new_tracks(
    tracks: TrackSet, new_rows: Sequence[int], people: dict[Hashable, list[int]], threshold: float
) -> set[Hashable]:
    """The people with a track under `threshold` of one of the new tracks: the only ones the
    agglomeration can join to them first."""
    if not people or not new_rows:
        return set()
    keys = [key for key, rows in people.items() for _ in rows]
    rows = [row for key_rows in people.values() for row in key_rows]
    close = cosine_distances(tracks.vectors[list(new_rows)], tracks.vectors[rows]).min(axis=0)
    return {key for key, distance in zip(keys, close.tolist(), strict=True) if distance < threshold}


def place_video(
    tracks: TrackSet, person: np.ndarray, rows: Sequence[int], method: str, threshold: float
) -> None:
    """One new video placed among the people so far (label >= 0 in `person`); in place."""
    people: dict[Hashable, list[int]] = {}
    for row, label in enumerate(person.tolist()):
        if label >= 0:
            people.setdefault(label, []).append(row)
    next_label = int(person.max()) + 1 if len(person) else 0
    for group, key in place_tracks(tracks, rows, people, method, threshold, loose=set(people)):
        if key is None:
            key, next_label = next_label, next_label + 1
        person[group] = key
