"""The agglomeration of catalog.grouping on a sparse k-nearest-neighbour graph: memory grows with
the tracks, not with their square, so a catalog of a million faces can be regrouped.

merge_groups keeps a groups x groups matrix (100k faces: 33k tracks, 14 GB). Here two groups are
compared only when some pair of their tracks is an edge of the graph: each track's GRAPH_K
nearest tracks closer than the threshold. Since every linkage is at least the closest pair's
distance, that is the pair merge_groups would measure too, as long as no track has more than
GRAPH_K tracks under the threshold that the graph leaves out and its group reaches no other way
(a group's edges are all its tracks' edges, so the groups of one large person stay linked).
Linkages are computed exactly from the vectors, and merges go closest first from a heap, so the
result is merge_groups' on the same data (tests/catalog/test_recluster_bounded.py).

Plain numeric code (no models), like catalog.grouping.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

import numpy as np

from catalog.grouping import ACROSS_VIDEOS_MARGIN, K_NEAREST, cosine_distances

GRAPH_K = 30


# Rows searched at once: bounds the search's memory and paces its progress.
SEARCH_CHUNK = 20_000


def neighbour_graph(
    vectors: np.ndarray,
    threshold: float,
    k: int = GRAPH_K,
    progress: Callable[[float], None] = lambda fraction: None,
) -> list[np.ndarray]:
    """For each row, the rows among its k nearest closer than `threshold` (cosine distance),
    both ways (if b is a's neighbour, a is b's). An exact search (FAISS's flat inner-product
    index: the vectors are unit length, so the inner product is the cosine similarity), in
    chunks of rows; progress(fraction of rows searched)."""
    # Imported here: only re-clustering builds this graph, and the ingest command and the
    # worker would otherwise pay for loading FAISS.
    import faiss

    count = len(vectors)
    if count < 2:
        return [np.zeros(0, dtype=np.int64) for _ in range(count)]
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    rows, columns = [], []
    for start in range(0, count, SEARCH_CHUNK):
        chunk = vectors[start : start + SEARCH_CHUNK]
        similarities, neighbours = index.search(chunk, min(k + 1, count))
        own = np.arange(start, start + len(chunk), dtype=np.int64)[:, None]
        close = (1.0 - similarities < threshold) & (neighbours != own) & (neighbours >= 0)
        rows.append(np.repeat(own[:, 0], close.sum(axis=1)))
        columns.append(neighbours[close].astype(np.int64))
        progress(min(1.0, (start + len(chunk)) / count))
    rows, columns = np.concatenate(rows), np.concatenate(columns)
    # Each edge both ways, once: pairs as one int64 key (row * count + column), sorted.
    keys = np.unique(np.concatenate([rows * count + columns, columns * count + rows]))
    rows, columns = np.divmod(keys, count)
    starts = np.searchsorted(rows, np.arange(count + 1))
    return [columns[starts[i] : starts[i + 1]] for i in range(count)]


def merge_groups_on_graph(
    vectors: np.ndarray,
    conflicting: list[set[int]],
    groups: list[list[int]],
    method: str,
    threshold: float,
    settled: Sequence[bool] | None = None,
    curated: Sequence[bool] | None = None,
    videos: Sequence | None = None,
    *,
    neighbours: Sequence[np.ndarray] | None = None,
    progress: Callable[[float], None] = lambda fraction: None,
) -> list[list[int]]:
    """catalog.grouping.merge_groups (same arguments; it can stand in for it in place_tracks),
    comparing only groups linked by an edge of `neighbours` (per item; neighbour_graph's unless
    given). Returns the groups, largest first. `videos` is accepted for merge_groups' sake:
    the across-videos margin it serves is off (catalog.grouping.ACROSS_VIDEOS_MARGIN)."""
    if ACROSS_VIDEOS_MARGIN:
        raise NotImplementedError("the across-videos margin is not applied on the graph")
    progress(0.0)
    searching = 0.0  # the share of the progress the graph's search takes
    if neighbours is None:
        searching = 0.7  # built here, the search is most of the time (all rows against all)
        neighbours = neighbour_graph(vectors, threshold, progress=lambda f: progress(searching * f))

    def merging(fraction: float) -> None:
        progress(searching + (1.0 - searching) * fraction)

    groups = [list(g) for g in groups]
    count = len(groups)
    settled = list(settled if settled is not None else [False] * count)
    curated = list(curated if curated is not None else [False] * count)
    owner = np.empty(len(vectors), dtype=np.int64)
    for number, group in enumerate(groups):
        owner[group] = number
    blocked = [set().union(*(conflicting[i] for i in group)) for group in groups]
    version = [0] * count
    heap: list[tuple[float, int, int, int, int]] = []

    def linked(a: int) -> set[int]:
        reached = np.concatenate([neighbours[i] for i in groups[a]]) if groups[a] else []
        return set(owner[np.asarray(reached, dtype=np.int64)].tolist()) - {a}

    def measure(a: int, others) -> None:
        others = [
            b
            for b in others
            if not (settled[a] and settled[b])
            and not (curated[a] and curated[b])
            and blocked[a].isdisjoint(groups[b])
        ]
        if not others:
            return
        columns = [groups[b] for b in others]
        sizes = np.asarray([len(c) for c in columns])
        distances = cosine_distances(vectors[groups[a]], vectors[np.concatenate(columns)])
        for b, value in zip(others, linkages(distances, sizes, method).tolist(), strict=True):
            if value < threshold:
                low, high = min(a, b), max(a, b)
                heapq.heappush(heap, (value, low, high, version[low], version[high]))

    # Two single tracks: every linkage is their distance. Measured for all such edges at once.
    single = [len(g) == 1 for g in groups]
    pairs = [
        (a, b)
        for a in range(count)
        if single[a]
        for b in linked(a)
        if b > a and single[b] and groups[a][0] not in blocked[b]
        and not (settled[a] and settled[b]) and not (curated[a] and curated[b])
    ]  # fmt: skip
    if pairs:
        items = np.asarray([(groups[a][0], groups[b][0]) for a, b in pairs])
        products = np.einsum("ij,ij->i", vectors[items[:, 0]], vectors[items[:, 1]])
        distances = np.clip(1.0 - products, 0.0, None).tolist()
        heap = [
            (d, a, b, 0, 0) for (a, b), d in zip(pairs, distances, strict=True) if d < threshold
        ]
    heapq.heapify(heap)
    for a in range(count):
        if not single[a]:
            measure(a, [b for b in linked(a) if single[b] or b > a])
    merges, possible = 0, max(1, count - 1)
    while heap:
        _, a, b, version_a, version_b = heapq.heappop(heap)
        if version[a] != version_a or version[b] != version_b or not groups[a] or not groups[b]:
            continue  # measured before one of the two changed
        groups[a] += groups[b]
        groups[b] = []
        owner[groups[a]] = a
        blocked[a] |= blocked[b]
        settled[a] = settled[a] and settled[b]
        curated[a] = curated[a] or curated[b]
        version[a] += 1
        version[b] += 1
        measure(a, linked(a))
        merges += 1
        if merges % 256 == 0:
            merging(min(1.0, merges / possible))
    return sorted((g for g in groups if g), key=lambda g: (-len(g), g[0]))


def linkages(distances: np.ndarray, sizes: np.ndarray, method: str) -> np.ndarray:
    """catalog.grouping.linkage from one group (the rows) to several at once: `distances`
    holds their columns side by side, `sizes` columns each. One pass of numpy for them all,
    not a few calls per pair: the re-cluster measures hundreds of thousands of pairs."""
    distances = distances.astype(np.float64)
    rows = distances.shape[0]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    if method == "single":
        return np.minimum.reduceat(distances.min(axis=0), starts)
    if method == "average":
        return np.add.reduceat(distances.sum(axis=0), starts) / (rows * sizes)
    if method != "knn":
        raise ValueError(f"unknown grouping method {method!r}")
    # Each row's K nearest columns of each group: sort each row within its groups (a group's
    # number keys the sort first), then take each group's first k_b.
    group_of_column = np.repeat(np.arange(len(sizes)), sizes)
    order = np.lexsort((distances, np.broadcast_to(group_of_column, distances.shape)), axis=1)
    ordered = np.take_along_axis(distances, order, axis=1)
    k_rows = np.minimum(K_NEAREST, sizes)
    taken = np.concatenate([start + np.arange(k) for start, k in zip(starts, k_rows, strict=True)])
    row_side = np.add.reduceat(ordered[:, taken].mean(axis=0), np.cumsum(k_rows) - k_rows) / k_rows
    # Each column's K nearest rows.
    k_columns = min(K_NEAREST, rows)
    nearest_rows = np.partition(distances, k_columns - 1, axis=0)[:k_columns].mean(axis=0)
    column_side = np.add.reduceat(nearest_rows, starts) / sizes
    return (row_side + column_side) / 2
