"""The index in Qdrant Edge (qdrant-edge-py), in a folder, shared by several processes.

What Qdrant Edge 0.9.0 does here (wal_enabled=False, measured on this machine): several
processes can load one shard, but a loaded shard never sees another process's later writes,
and closing it, even after reads only, writes its own view of the segment trackers back to
disk: a shard closed after another process wrote silently undid that write. So at any moment
exactly one process may have a shard loaded, and it must be the one that last wrote it.

Two ways to use a folder follow from that, and `EdgeFaceIndex` picks one per call:
- through the index owner (`manage.py serve_index`, started by `make run`): one process holds
  an exclusive `flock` on the folder for its whole life, keeps the shard loaded, and serves the
  web server and the workers over a Unix socket (`search/index_owner.py`); a query costs the
  search itself plus a fraction of a millisecond;
- directly, when no owner answers (commands, tests, a single process): each operation takes the
  folder's exclusive `flock`, loads the shard, works, flushes and closes it; correct, but every
  operation pays the load (12 ms at 1,000 points, 90 ms at 100,000 here).
Either way there is no lost write and no lock error, only waiting.

Writes land in plain segments, searched exactly; building their HNSW graph (`optimize`) is the
owner's, when idle, on a copy beside the shard (`search/edge_optimiser.py`): a `reindex` or a
catalog fed video by video never waits for a graph, and searches never wait for one either.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from search.index import (
    FULL_SCAN_BELOW_KB,
    GRAPH_BUILD_BREADTH,
    GRAPH_LINKS,
    QUANTIZATION_QUANTILE,
    RESCORE_OVERSAMPLING,
    SEARCH_BREADTH,
    UPSERT_BATCH,
    FaceIndexError,
    IndexHit,
    IndexPoint,
    IndexStatus,
    as_vector,
    batches,
    make_hit,
    point_payload,
)
from search.index_owner_client import OwnerClient

LOCK_WAIT_S = 120.0
PAYLOAD_FIELDS = ("video_id", "person_id", "face_id", "hidden")
# Points written since the last optimisation past which the owner optimises when idle: about
# what Qdrant indexes a segment from (10,000 KB of vectors: 20,000 of 128 floats); fewer sit in
# a plain segment, searched exactly in a millisecond or two.
OPTIMISE_AFTER_CHANGES = 20_000
OPTIMISED_SUFFIX = ".optimised"  # a file: nothing written since the folder was last optimised
ASIDE_SUFFIX = ".optimising"  # the copy being optimised (search/edge_optimiser.py)
PREVIOUS_SUFFIX = ".previous"  # the folder an optimised copy replaces, while it does
IN_MEMORY_PAYLOAD = "in_ram_mmap"  # a segment's payload storage under memory_placement()
SHARD_CONFIG_FILE = "edge_config.json"  # Qdrant Edge's record of a shard's configuration


def lock_path(folder: Path) -> Path:
    return folder.with_name(folder.name + ".lock")


def sibling(folder: Path, suffix: str) -> Path:
    return folder.with_name(folder.name + suffix)


def recover(folder: Path) -> None:
    """Before loading: finish or undo a swap of an optimised copy that a crash interrupted (both
    folders are complete at every step), drop a half-made copy."""
    previous = sibling(folder, PREVIOUS_SUFFIX)
    if previous.exists():
        if folder.exists():  # crashed after the swap: the new folder is complete
            shutil.rmtree(previous, ignore_errors=True)
        else:  # crashed between the two renames: the previous folder is complete
            previous.rename(folder)
    shutil.rmtree(sibling(folder, ASIDE_SUFFIX), ignore_errors=True)


def take_folder_lock(folder: Path, wait_s: float, give_up=lambda: False):
    """An open file holding the folder's exclusive flock; waits up to wait_s (or until
    give_up() says another way is open, then returns None)."""
    folder.parent.mkdir(parents=True, exist_ok=True)  # the index folder may have been deleted
    lock_file = open(lock_path(folder), "a+")  # noqa: SIM115 - held past this function
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return lock_file
        except BlockingIOError:
            if give_up():
                lock_file.close()
                return None
            if time.monotonic() > deadline:
                lock_file.close()
                raise FaceIndexError(
                    f"the index at {folder} stayed locked by another process for {wait_s:.0f} s"
                ) from None
            time.sleep(0.01)


def new_shard_config(dimension: int):
    """How a new shard is made; kept in its folder, so the optimiser's child reads it too."""
    import qdrant_edge as qe

    return qe.EdgeConfig(
        vectors=vector_params(dimension),
        hnsw_config=graph_config(),
        quantization_config=qe.ScalarQuantizationConfig(
            type=qe.ScalarType.Int8, quantile=QUANTIZATION_QUANTILE, always_ram=True
        ),
        wal_enabled=False,
        **memory_placement(),
    )


def vector_params(dimension: int):
    """The shard's vectors: made with these, and loaded with them (Qdrant Edge checks that a
    shard loaded agrees)."""
    import qdrant_edge as qe

    return qe.EdgeVectorParams(size=dimension, distance=qe.Distance.Cosine)


def graph_config(saved: dict | None = None):
    """The search graph's settings: GRAPH_LINKS links a point, the rest as `saved` (a shard's
    recorded hnsw_config) has them, else the defaults. Loading a shard with other links than its
    graph has makes Qdrant Edge rebuild the graph at its next optimisation."""
    import qdrant_edge as qe

    saved = saved or {}
    return qe.HnswIndexConfig(
        m=GRAPH_LINKS,
        ef_construct=saved.get("ef_construct", GRAPH_BUILD_BREADTH),
        full_scan_threshold=saved.get("full_scan_threshold", FULL_SCAN_BELOW_KB),
    )


def memory_placement() -> dict:
    """Where a loaded shard keeps what every search reads besides the graph and the int8
    vectors (in memory already): the payload of each hit (its face's person and video)
    and the point id tracker. Qdrant Edge's default leaves the payload in its files, read on
    demand: at 10^6 faces a new video's 30 candidate searches (64 hits each) then took ~120 ms
    with the files out of the page cache against ~40 ms without payloads
    (benchmarks/README.md, "Catalog scale"). "Cached" reads the payload in at load (Qdrant
    Edge cannot pin a payload; ~140 MB at 10^6 faces), "Pinned" copies the id tracker into the
    process (~20 MB). The float32 vectors, read only to rescore a search by photo, stay in
    their files."""
    import qdrant_edge as qe

    return {"payload_memory": qe.Memory.Cached, "id_tracker_memory": qe.Memory.Pinned}


def layout_outdated(folder: Path) -> bool:
    """Whether a segment of the shard in `folder` keeps its payload in files (made before the
    memory placement was set) or a graph with other than GRAPH_LINKS links a point (made
    before that was raised): segments take both when rebuilt, so its owner optimises it. (The
    segments' own records are read: loading the shard rewrites the shard's configuration file
    at once, before any segment is rebuilt.)"""
    for record in (folder / "segments").glob("*/segment.json"):
        try:
            config = json.loads(record.read_text())["config"]
        except (OSError, ValueError, KeyError):
            continue  # a segment being written: the optimiser will look at it anyway
        if config.get("payload_storage_type", {}).get("type") != IN_MEMORY_PAYLOAD:
            return True
        for vectors in config.get("vector_data", {}).values():
            graph = vectors.get("index", {})
            if graph.get("type") == "hnsw" and graph["options"].get("m") != GRAPH_LINKS:
                return True
    return False


def load_shard(folder: Path, dimension: int):
    """The shard in `folder`, loaded with the memory placement (memory_placement) and the
    graph's links (graph_config)."""
    import qdrant_edge as qe

    try:
        saved = json.loads((folder / SHARD_CONFIG_FILE).read_text()).get("hnsw_config")
    except (OSError, ValueError):
        saved = None  # Qdrant Edge says what is wrong with the folder when it loads it
    config = qe.EdgeConfig(
        vectors=vector_params(dimension), hnsw_config=graph_config(saved), **memory_placement()
    )
    return qe.EdgeShard.load(str(folder), config)


def open_shard(folder: Path, dimension: int, create: bool):
    import qdrant_edge as qe

    recover(folder)  # a swap of an optimised copy that a crash interrupted
    exists = folder.is_dir() and any(folder.iterdir())
    try:
        if exists:
            return load_shard(folder, dimension)
        if not create:
            return None
        shard = qe.EdgeShard.create(str(folder), new_shard_config(dimension))
        for field in PAYLOAD_FIELDS:
            shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Integer))
        shard.flush()
        return shard
    except Exception as error:
        raise FaceIndexError(f"the index at {folder} cannot be opened: {error}") from error


class EdgeOperations:
    """Every index operation, given a way to get the shard for the length of one operation."""

    def __init__(self, folder: Path, dimension: int) -> None:
        self.folder = Path(folder)
        self.dimension = dimension
        self.folder.parent.mkdir(parents=True, exist_ok=True)

    def session(self, create: bool = False):
        raise NotImplementedError

    def _write(self, operations: Iterable, changes: int = 1) -> None:
        """Apply the operations; `changes`: how many points they write or delete (about)."""
        with self.session(create=True) as shard:
            for operation in operations:
                shard.update(operation)
            shard.flush()

    @staticmethod
    def _match(key: str, value: int):
        import qdrant_edge as qe

        return qe.Filter(must=[qe.FieldCondition(key=key, match=qe.MatchValue(int(value)))])

    def upsert(self, points: Iterable[IndexPoint], batch_size: int = UPSERT_BATCH) -> None:
        import qdrant_edge as qe

        points = list(points)
        operations = [
            qe.UpdateOperation.upsert_points(
                [
                    qe.Point(int(p.face_id), as_vector(p.vector, self.dimension), point_payload(p))
                    for p in batch
                ]
            )
            for batch in batches(points, batch_size)
        ]
        self._write(operations, len(points))

    def delete_faces(self, face_ids: Iterable[int]) -> None:
        import qdrant_edge as qe

        ids = [int(i) for i in face_ids]
        if ids:
            self._write([qe.UpdateOperation.delete_points(ids)], len(ids))

    def delete_video(self, video_id: int) -> None:
        import qdrant_edge as qe

        self._write([qe.UpdateOperation.delete_points_by_filter(self._match("video_id", video_id))])

    def delete_person(self, person_id: int) -> None:
        import qdrant_edge as qe

        operation = qe.UpdateOperation.delete_points_by_filter(self._match("person_id", person_id))
        self._write([operation])

    def set_person(self, face_ids: Iterable[int], person_id: int | None) -> None:
        import qdrant_edge as qe

        ids = [int(i) for i in face_ids]
        if ids:
            person = None if person_id is None else int(person_id)
            self._write([qe.UpdateOperation.set_payload(ids, {"person_id": person})])

    def set_person_hidden(self, person_id: int, hidden: bool) -> None:
        import qdrant_edge as qe

        operation = qe.UpdateOperation.set_payload_by_filter(
            self._match("person_id", person_id), {"hidden": int(bool(hidden))}
        )
        self._write([operation])

    def _request(
        self,
        vector,
        limit,
        video_id,
        person_id,
        exclude_hidden,
        min_similarity,
        not_people=(),
        rescore=True,
    ):
        import qdrant_edge as qe

        must, must_not = [], []
        if not_people:
            must_not.append(
                qe.FieldCondition(key="person_id", match=qe.MatchAny([int(p) for p in not_people]))
            )
        if video_id is not None:
            must.append(qe.FieldCondition(key="video_id", match=qe.MatchValue(int(video_id))))
        if person_id is not None:
            must.append(qe.FieldCondition(key="person_id", match=qe.MatchValue(int(person_id))))
        if exclude_hidden:
            must_not.append(qe.FieldCondition(key="hidden", match=qe.MatchValue(1)))
        quantization = qe.QuantizationSearchParams(
            rescore=rescore, oversampling=RESCORE_OVERSAMPLING if rescore else None
        )
        return qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(as_vector(vector, self.dimension)),
            params=qe.SearchParams(
                hnsw_ef=SEARCH_BREADTH if rescore else None, quantization=quantization
            ),
            with_payload=True,
            with_vector=False,
            filter=qe.Filter(must=must, must_not=must_not) if must or must_not else None,
            score_threshold=min_similarity,
        )

    def search(
        self,
        vector,
        limit: int = 10,
        *,
        video_id: int | None = None,
        person_id: int | None = None,
        exclude_hidden: bool = False,
        min_similarity: float | None = None,
    ) -> list[IndexHit]:
        request = self._request(vector, limit, video_id, person_id, exclude_hidden, min_similarity)
        with self.session() as shard:
            points = [] if shard is None else shard.query(request)
        return [make_hit(p.id, p.score, p.payload) for p in points]

    def search_batch(
        self,
        vectors,
        limit: int = 10,
        *,
        exclude_hidden: bool = False,
        exclude_people: list | None = None,
        min_similarity: float | None = None,
        rescore: bool = True,
    ) -> list[list[IndexHit]]:
        """One search per vector, planned as one batch (one pass over the segments);
        exclude_people[i]: the people whose faces search i leaves out; rescore: False to rank
        by the int8 vectors alone (search.index.FaceIndex.search_batch)."""
        import qdrant_edge as qe

        exclude_people = exclude_people or [()] * len(vectors)
        requests = [
            self._request(
                vector, limit, None, None, exclude_hidden, min_similarity, not_people, rescore
            )
            for vector, not_people in zip(vectors, exclude_people, strict=True)
        ]
        if not requests:
            return []
        with self.session() as shard:
            if shard is None:
                return [[] for _ in requests]
            results = shard.query_batch(qe.QueryBatchRequest(requests))
        return [[make_hit(p.id, p.score, p.payload) for p in points] for points in results]

    def count(self) -> int:
        import qdrant_edge as qe

        with self.session() as shard:
            return 0 if shard is None else int(shard.count(qe.CountRequest(exact=True)))

    def held(self, face_ids: Iterable[int]) -> set[int]:
        ids = [int(i) for i in face_ids]
        if not ids:
            return set()
        with self.session() as shard:
            if shard is None:
                return set()
            return {int(r.id) for r in shard.retrieve(ids, with_payload=False, with_vector=False)}

    def face_ids(self) -> set[int]:
        import qdrant_edge as qe

        found: set[int] = set()
        with self.session() as shard:
            offset = None
            while shard is not None:
                request = qe.ScrollRequest(
                    offset=offset, limit=2000, with_payload=False, with_vector=False
                )
                records, offset = shard.scroll(request)
                found.update(int(r.id) for r in records)
                if offset is None:
                    break
        return found

    def clear(self) -> None:
        import qdrant_edge as qe

        operation = qe.UpdateOperation.delete_points_by_filter(qe.Filter(must=[]))
        self._write([operation], OPTIMISE_AFTER_CHANGES)  # segments of deleted points to vacuum

    def optimize(self) -> None:
        """Build the HNSW graphs, merge and vacuum segments, here and now (the shard is busy
        meanwhile: minutes at 10^5 points). The owner does it beside the shard instead."""
        with self.session(create=True) as shard:
            if shard.optimize():
                shard.flush()
        self._optimised_marker().touch()

    def status(self) -> IndexStatus:
        optimised = self._optimised_marker().exists()
        return IndexStatus(self.count(), optimising=False, optimised=optimised)

    def _optimised_marker(self) -> Path:
        return sibling(self.folder, OPTIMISED_SUFFIX)

    def close(self) -> None:
        pass


class DirectEdgeIndex(EdgeOperations):
    """Each operation: the folder's exclusive lock, load, work, flush, close."""

    def __init__(self, folder: Path, dimension: int, owner_answers=lambda: False) -> None:
        super().__init__(folder, dimension)
        self._thread_lock = threading.RLock()
        self._owner_answers = owner_answers

    def _write(self, operations: Iterable, changes: int = 1) -> None:
        super()._write(operations, changes)
        self._optimised_marker().unlink(missing_ok=True)  # the owner will look at it again

    @contextmanager
    def session(self, create: bool = False) -> Iterator:
        with self._thread_lock:
            lock_file = take_folder_lock(self.folder, LOCK_WAIT_S, self._owner_answers)
            if lock_file is None:
                raise OwnerAppeared
            try:
                shard = open_shard(self.folder, self.dimension, create)
                try:
                    yield shard
                finally:
                    if shard is not None:
                        shard.close()
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
                lock_file.close()


class OwnerAppeared(Exception):
    """An index owner started while we waited for the lock: use it instead."""


class EdgeFaceIndex:
    """The Edge index of one folder: through its owner when one answers, else directly."""

    def __init__(self, folder: Path, dimension: int) -> None:
        self.folder = Path(folder)
        self.dimension = dimension
        self._owner = OwnerClient(self.folder.parent)
        self._direct = DirectEdgeIndex(self.folder, dimension, self._owner.answers)

    def _call(self, method: str, *args, **kwargs):
        for _ in range(3):
            answered, value = self._owner.call(self.folder, self.dimension, method, args, kwargs)
            if answered:
                return value
            try:
                return getattr(self._direct, method)(*args, **kwargs)
            except OwnerAppeared:
                continue
        raise FaceIndexError(f"the index at {self.folder} could not be reached")

    def upsert(self, points: Iterable[IndexPoint], batch_size: int = UPSERT_BATCH) -> None:
        for batch in batches(points, batch_size):
            self._call("upsert", batch, batch_size)

    def delete_faces(self, face_ids: Iterable[int]) -> None:
        self._call("delete_faces", [int(i) for i in face_ids])

    def delete_video(self, video_id: int) -> None:
        self._call("delete_video", video_id)

    def delete_person(self, person_id: int) -> None:
        self._call("delete_person", person_id)

    def set_person(self, face_ids: Iterable[int], person_id: int | None) -> None:
        self._call("set_person", [int(i) for i in face_ids], person_id)

    def set_person_hidden(self, person_id: int, hidden: bool) -> None:
        self._call("set_person_hidden", person_id, hidden)

    def search(self, vector, limit: int = 10, **filters) -> list[IndexHit]:
        return self._call("search", as_vector(vector, self.dimension), limit, **filters)

    def search_batch(self, vectors, limit: int = 10, **filters) -> list[list[IndexHit]]:
        vectors = [as_vector(vector, self.dimension) for vector in vectors]
        return self._call("search_batch", vectors, limit, **filters)

    def count(self) -> int:
        return self._call("count")

    def held(self, face_ids: Iterable[int]) -> set[int]:
        return self._call("held", [int(i) for i in face_ids])

    def face_ids(self) -> set[int]:
        return self._call("face_ids")

    def clear(self) -> None:
        self._call("clear")

    def optimize(self) -> None:
        self._call("optimize")

    def status(self) -> IndexStatus:
        return self._call("status")

    def close(self) -> None:
        self._owner.close()
