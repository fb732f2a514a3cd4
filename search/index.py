"""The vector index of face embeddings: one interface, two Qdrant backends.

- `EdgeFaceIndex`: Qdrant Edge (qdrant-edge-py), in-process, in a folder: the embedded default.
- `ServerFaceIndex`: a Qdrant server through qdrant-client (or its in-memory mode, for tests).

Points are faces: the id is the face id, the payload holds face_id, video_id, person_id, whether
the person is hidden and the face's track. (The catalog keeps a second index of this kind per
model whose points are tracks, a track's id in place of a face's: catalog/services/index_sync.py.)
Plain Python: no Django, no catalog models.

Several processes (web server, workers, commands) share one Edge folder. Qdrant Edge 0.9.0 cannot
let them each keep the shard loaded: a copy loaded before another process wrote never sees the
write, and when that stale copy is closed or garbage-collected it writes its old vector count
back, so the other process's new points keep their ids but lose their vectors (measured; `count`
does not notice). So at any moment one process at most has the shard loaded: the index owner
(`manage.py serve_index`), which serves the others over a Unix socket, or, when no owner runs,
each operation under the folder's exclusive lock (load, work, flush, close). Details in
`search/edge_index.py`, `search/index_owner.py` (the owner) and `search/index_owner_client.py`
(how the others reach it); the server backend in `search/server_index.py`; which backend a
setting names, in `search/index_backends.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

UPSERT_BATCH = 512
# How both backends build and search the graph (benchmarks/README.md, "Vector index tuning"):
# vectors also kept as int8 (a quarter of the memory, ~2x faster graph build and search here),
# each search's candidates rescored on the float vectors, twice as many as asked for. Measured
# recall@10 1.0 at 10^5 and 3x10^5 against exact neighbours.
QUANTIZATION_QUANTILE = 0.99
RESCORE_OVERSAMPLING = 2.0
# Links per point in the graph (HNSW `m`; Qdrant's default is 16). At 10^6 synthetic faces
# (identities as random directions in 128 dimensions, the hardest case for a graph) a search
# found 98.5 % of the searched person's own faces among the exact 10 nearest with 16 and
# 99.6 % with 32, for 0.4-1 ms more a search and ~8 % more time to build (benchmarks/README.md,
# "Catalog scale"). The graph's lowest layer has up to 2x this many links a point.
GRAPH_LINKS = 32
GRAPH_BUILD_BREADTH = 100  # ef_construct, Qdrant's default
# Candidates a rescored graph search (search by photo: the best 10) keeps while it walks (HNSW
# `ef`; Qdrant's default is ef_construct). At 10^6 synthetic faces, recall@10 read 0.988-0.997
# at 100 over builds of one catalog (each build's graph differs); 128 costs ~0.1 ms a search.
# The grouping's search for candidates (64 tracks, int8 scores) keeps the default: placements
# were the same at 128, for 4 ms more a video (benchmarks/README.md, "Catalog scale").
# Segments searched exactly ignore it.
SEARCH_BREADTH = 128
FULL_SCAN_BELOW_KB = 10_000  # segments this small are searched exactly, as Qdrant's default


class FaceIndexError(RuntimeError):
    """The index cannot be opened or used."""


@dataclass(frozen=True)
class IndexPoint:
    face_id: int
    vector: Sequence[float] | np.ndarray
    video_id: int
    person_id: int | None
    hidden: bool = False


@dataclass(frozen=True)
class IndexStatus:
    points: int
    optimising: bool  # a search graph is being built (searches answer meanwhile)
    optimised: bool | None  # no optimisation is due (None: this process cannot tell)


@dataclass(frozen=True)
class IndexHit:
    face_id: int
    similarity: float  # cosine similarity, higher is closer
    video_id: int
    person_id: int | None


class FaceIndex(Protocol):
    dimension: int

    def upsert(self, points: Iterable[IndexPoint], batch_size: int = UPSERT_BATCH) -> None: ...
    def delete_faces(self, face_ids: Iterable[int]) -> None: ...
    def delete_video(self, video_id: int) -> None: ...
    def delete_person(self, person_id: int) -> None: ...
    def set_person(self, face_ids: Iterable[int], person_id: int | None) -> None: ...
    def set_person_hidden(self, person_id: int, hidden: bool) -> None: ...
    def search(
        self,
        vector: Sequence[float] | np.ndarray,
        limit: int = 10,
        *,
        video_id: int | None = None,
        person_id: int | None = None,
        exclude_hidden: bool = False,
        min_similarity: float | None = None,
    ) -> list[IndexHit]: ...
    def search_batch(
        self,
        vectors: Sequence[Sequence[float] | np.ndarray],
        limit: int = 10,
        *,
        exclude_hidden: bool = False,
        exclude_people: Sequence[Sequence[int]] | None = None,
        min_similarity: float | None = None,
        # False: ranked and scored by the int8 copies alone (in memory), the float vectors not
        # read: for candidates that are checked afterwards, not for scores shown to anyone.
        rescore: bool = True,
    ) -> list[list[IndexHit]]: ...
    def count(self) -> int: ...
    def held(self, face_ids: Iterable[int]) -> set[int]: ...  # which of these it holds
    def face_ids(self) -> set[int]: ...
    def clear(self) -> None: ...
    def optimize(self) -> None: ...
    def status(self) -> IndexStatus: ...
    def close(self) -> None: ...


def point_payload(point: IndexPoint) -> dict:
    payload = {
        "face_id": int(point.face_id),
        "video_id": int(point.video_id),
        "person_id": None if point.person_id is None else int(point.person_id),
        # 0/1, not a bool: Qdrant Edge's MatchValue(True) matches the integer 1, never a bool.
        "hidden": int(bool(point.hidden)),
    }
    return payload


def batches(items: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def as_vector(vector, dimension: int) -> list[float]:
    values = np.asarray(vector, dtype=np.float32).ravel()
    if values.shape[0] != dimension:
        raise ValueError(f"vector has {values.shape[0]} dimensions, the index holds {dimension}")
    if not np.isfinite(values).all():
        # Qdrant Edge stores a NaN vector without complaint and the point never comes back
        # from a search again: refuse it here, where the caller can still see which face it is.
        raise ValueError("vector has NaN or infinite values")
    return values.tolist()


def make_hit(point_id, score: float, payload: dict | None) -> IndexHit:
    payload = payload or {}
    return IndexHit(
        face_id=int(point_id),
        similarity=float(score),
        video_id=int(payload.get("video_id", -1)),
        person_id=payload.get("person_id"),
    )
