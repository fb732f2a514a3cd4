"""The vector index of face embeddings: one interface, two Qdrant backends.

- `EdgeFaceIndex`: Qdrant Edge (qdrant-edge-py), in-process, in a folder: the embedded default.
- `ServerFaceIndex`: a Qdrant server through qdrant-client (or its in-memory mode, for tests).

Points are faces: the id is the face id, the payload holds face_id, video_id, person_id and
whether the person is hidden. Plain Python: no Django, no catalog models.

Several processes, one Edge folder. The web server searches while django-q2 workers write.
Measured with qdrant-edge 0.9.0 (wal_enabled=False): several processes can load one shard, but
a loaded shard does not see another process's later writes, and closing it, even after reads
only, writes its own view of the trackers back to disk: a shard closed after another process
wrote silently undid that write. So a shard is never kept loaded between operations: each one
takes an exclusive `flock` on `<folder>.lock`, loads the shard, works, flushes and closes it.
Loading costs about 12 ms at 1,000 points and 90 ms at 100,000 (this machine), a price worth
paying for no lost write and no lock error; callers batch their changes into few operations.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

UPSERT_BATCH = 512


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
    def count(self) -> int: ...
    def face_ids(self) -> set[int]: ...
    def clear(self) -> None: ...
    def close(self) -> None: ...


def _payload(point: IndexPoint) -> dict:
    return {
        "face_id": int(point.face_id),
        "video_id": int(point.video_id),
        "person_id": None if point.person_id is None else int(point.person_id),
        # 0/1, not a bool: Qdrant Edge's MatchValue(True) matches the integer 1, never a bool.
        "hidden": int(bool(point.hidden)),
    }


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _as_vector(vector, dimension: int) -> list[float]:
    values = np.asarray(vector, dtype=np.float32).ravel()
    if values.shape[0] != dimension:
        raise ValueError(f"vector has {values.shape[0]} dimensions, the index holds {dimension}")
    return values.tolist()


def _hit(point_id, score: float, payload: dict | None) -> IndexHit:
    payload = payload or {}
    return IndexHit(
        face_id=int(point_id),
        similarity=float(score),
        video_id=int(payload.get("video_id", -1)),
        person_id=payload.get("person_id"),
    )


class EdgeFaceIndex:
    """Qdrant Edge in `folder`; safe for many processes (see the module docstring)."""

    def __init__(self, folder: Path, dimension: int) -> None:
        self.folder = Path(folder)
        self.dimension = dimension
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        self._lock_path = self.folder.with_name(self.folder.name + ".lock")
        self._thread_lock = threading.RLock()

    # --- locking ------------------------------------------------------------------------------
    @contextmanager
    def _locked(self, create: bool = False):
        """The shard, loaded for this operation only, under the folder's exclusive lock; None
        when there is no index yet and `create` is false."""
        with self._thread_lock, open(self._lock_path, "a+") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                shard = self._open(create)
                try:
                    yield shard
                finally:
                    if shard is not None:
                        shard.close()
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _open(self, create: bool):
        import qdrant_edge as qe

        exists = self.folder.is_dir() and any(self.folder.iterdir())
        try:
            if exists:
                return qe.EdgeShard.load(str(self.folder))
            return self._create(qe) if create else None
        except Exception as error:
            raise FaceIndexError(f"the index at {self.folder} cannot be opened: {error}") from error

    def _create(self, qe):
        config = qe.EdgeConfig(
            vectors=qe.EdgeVectorParams(size=self.dimension, distance=qe.Distance.Cosine),
            wal_enabled=False,
        )
        shard = qe.EdgeShard.create(str(self.folder), config)
        for field in ("video_id", "person_id", "face_id", "hidden"):
            shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Integer))
        shard.flush()
        return shard

    def _write(self, operations: Iterable) -> None:
        with self._locked(create=True) as shard:
            for operation in operations:
                shard.update(operation)
            shard.flush()

    # --- the interface --------------------------------------------------------------------
    def upsert(self, points: Iterable[IndexPoint], batch_size: int = UPSERT_BATCH) -> None:
        import qdrant_edge as qe

        operations = (
            qe.UpdateOperation.upsert_points(
                [qe.Point(int(p.face_id), _as_vector(p.vector, self.dimension), _payload(p))
                 for p in batch]
            )
            for batch in _batches(points, batch_size)
        )  # fmt: skip
        self._write(operations)

    def _match(self, key: str, value):
        import qdrant_edge as qe

        return qe.Filter(must=[qe.FieldCondition(key=key, match=qe.MatchValue(value))])

    def delete_faces(self, face_ids: Iterable[int]) -> None:
        import qdrant_edge as qe

        ids = [int(i) for i in face_ids]
        if ids:
            self._write([qe.UpdateOperation.delete_points(ids)])

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

    def search(self, vector, limit: int = 10, *, video_id=None, person_id=None,
               exclude_hidden=False, min_similarity=None) -> list[IndexHit]:  # fmt: skip
        import qdrant_edge as qe

        must, must_not = [], []
        if video_id is not None:
            must.append(qe.FieldCondition(key="video_id", match=qe.MatchValue(int(video_id))))
        if person_id is not None:
            must.append(qe.FieldCondition(key="person_id", match=qe.MatchValue(int(person_id))))
        if exclude_hidden:
            must_not.append(qe.FieldCondition(key="hidden", match=qe.MatchValue(1)))
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(_as_vector(vector, self.dimension)),
            with_payload=True,
            with_vector=False,
            filter=qe.Filter(must=must, must_not=must_not) if must or must_not else None,
            score_threshold=min_similarity,
        )
        with self._locked() as shard:
            if shard is None:
                return []
            points = shard.query(request)
        return [_hit(p.id, p.score, p.payload) for p in points]

    def count(self) -> int:
        import qdrant_edge as qe

        with self._locked() as shard:
            return 0 if shard is None else int(shard.count(qe.CountRequest(exact=True)))

    def face_ids(self) -> set[int]:
        import qdrant_edge as qe

        found: set[int] = set()
        with self._locked() as shard:
            if shard is None:
                return found
            offset = None
            while True:
                records, offset = shard.scroll(
                    qe.ScrollRequest(offset=offset, limit=1000, with_payload=False,
                                     with_vector=False)
                )  # fmt: skip
                found.update(int(r.id) for r in records)
                if offset is None:
                    return found

    def clear(self) -> None:
        import qdrant_edge as qe

        self._write([qe.UpdateOperation.delete_points_by_filter(qe.Filter(must=[]))])

    def optimize(self) -> None:
        """Build the HNSW graph and merge segments (worth it after large imports)."""
        with self._locked(create=True) as shard:
            if shard.optimize():
                shard.flush()

    def close(self) -> None:
        """Nothing stays open between operations."""


class ServerFaceIndex:
    """A collection on a Qdrant server (url), or in qdrant-client's memory (url=":memory:")."""

    def __init__(self, url: str, collection: str, dimension: int, api_key: str | None = None):
        from qdrant_client import QdrantClient, models

        self.dimension = dimension
        self.collection = collection
        self._models = models
        try:
            if url == ":memory:":
                self._client = QdrantClient(location=":memory:")
            else:
                self._client = QdrantClient(url=url, api_key=api_key, timeout=30)
            if not self._client.collection_exists(collection):
                self._client.create_collection(
                    collection,
                    vectors_config=models.VectorParams(
                        size=dimension, distance=models.Distance.COSINE
                    ),
                )
                for field, schema in (
                    ("video_id", models.PayloadSchemaType.INTEGER),
                    ("person_id", models.PayloadSchemaType.INTEGER),
                    ("face_id", models.PayloadSchemaType.INTEGER),
                    ("hidden", models.PayloadSchemaType.INTEGER),
                ):
                    self._client.create_payload_index(collection, field, schema)
        except Exception as error:
            raise FaceIndexError(f"the Qdrant server at {url} cannot be used: {error}") from error

    def _match(self, key: str, value):
        m = self._models
        return m.Filter(must=[m.FieldCondition(key=key, match=m.MatchValue(value=value))])

    def upsert(self, points: Iterable[IndexPoint], batch_size: int = UPSERT_BATCH) -> None:
        m = self._models
        for batch in _batches(points, batch_size):
            structs = [
                m.PointStruct(id=int(p.face_id), vector=_as_vector(p.vector, self.dimension),
                              payload=_payload(p))
                for p in batch
            ]  # fmt: skip
            self._client.upsert(self.collection, structs, wait=True)

    def delete_faces(self, face_ids: Iterable[int]) -> None:
        ids = [int(i) for i in face_ids]
        if ids:
            selector = self._models.PointIdsList(points=ids)
            self._client.delete(self.collection, selector, wait=True)

    def delete_video(self, video_id: int) -> None:
        selector = self._models.FilterSelector(filter=self._match("video_id", int(video_id)))
        self._client.delete(self.collection, selector, wait=True)

    def delete_person(self, person_id: int) -> None:
        selector = self._models.FilterSelector(filter=self._match("person_id", int(person_id)))
        self._client.delete(self.collection, selector, wait=True)

    def set_person(self, face_ids: Iterable[int], person_id: int | None) -> None:
        ids = [int(i) for i in face_ids]
        if ids:
            person = None if person_id is None else int(person_id)
            self._client.set_payload(self.collection, {"person_id": person}, points=ids, wait=True)

    def set_person_hidden(self, person_id: int, hidden: bool) -> None:
        self._client.set_payload(
            self.collection, {"hidden": int(bool(hidden))},
            points=self._match("person_id", int(person_id)), wait=True,
        )  # fmt: skip

    def search(self, vector, limit: int = 10, *, video_id=None, person_id=None,
               exclude_hidden=False, min_similarity=None) -> list[IndexHit]:  # fmt: skip
        m = self._models
        must, must_not = [], []
        if video_id is not None:
            must.append(m.FieldCondition(key="video_id", match=m.MatchValue(value=int(video_id))))
        if person_id is not None:
            must.append(m.FieldCondition(key="person_id", match=m.MatchValue(value=int(person_id))))
        if exclude_hidden:
            must_not.append(m.FieldCondition(key="hidden", match=m.MatchValue(value=1)))
        response = self._client.query_points(
            self.collection,
            query=_as_vector(vector, self.dimension),
            limit=limit,
            query_filter=m.Filter(must=must, must_not=must_not) if must or must_not else None,
            score_threshold=min_similarity,
            with_payload=True,
        )
        return [_hit(p.id, p.score, p.payload) for p in response.points]

    def count(self) -> int:
        return int(self._client.count(self.collection, exact=True).count)

    def face_ids(self) -> set[int]:
        found: set[int] = set()
        offset = None
        while True:
            records, offset = self._client.scroll(
                self.collection, limit=1000, offset=offset, with_payload=False, with_vectors=False
            )
            found.update(int(r.id) for r in records)
            if offset is None:
                return found

    def clear(self) -> None:
        selector = self._models.FilterSelector(filter=self._models.Filter(must=[]))
        self._client.delete(self.collection, selector, wait=True)

    def optimize(self) -> None:
        """The server optimises on its own."""

    def close(self) -> None:
        self._client.close()


def open_face_index(backend: str, *, dimension: int, collection: str,
                    path: str | Path | None = None, url: str | None = None,
                    api_key: str | None = None) -> FaceIndex:  # fmt: skip
    if backend == "edge":
        if path is None:
            raise ValueError("the edge backend needs a folder (path)")
        return EdgeFaceIndex(Path(path) / collection, dimension)
    if backend == "server":
        if not url:
            raise ValueError("the server backend needs a URL (QDRANT_URL)")
        return ServerFaceIndex(url, collection, dimension, api_key)
    raise ValueError(f"unknown index backend {backend!r}: use 'edge' or 'server'")
