"""The search graph is built beside the index, never in a write's way: searches are right before,
during and after it, and writes made while it is built are kept. Real SFace embeddings of every
face in the shared photos; exact nearest neighbours computed here to compare with."""

import threading

import numpy as np
import pytest
import qdrant_edge as qe

from search import edge_index, edge_optimiser
from search.edge_optimiser import OwnedEdgeIndex
from search.index import QUANTIZATION_QUANTILE, IndexPoint
from search.services.photo_search import embed_photo_face, faces_in_photo, read_photo
from tests.conftest import PEOPLE, SHARED_DATA

pytestmark = pytest.mark.slow

DIMENSION = 128


def tiny_thresholds_config(dimension: int):
    """The product's shard, with graphs built and used from the first kilobyte, so a few hundred
    faces get one."""
    return qe.EdgeConfig(
        vectors=qe.EdgeVectorParams(size=dimension, distance=qe.Distance.Cosine),
        hnsw_config=qe.HnswIndexConfig(m=16, ef_construct=100, full_scan_threshold=1),
        quantization_config=qe.ScalarQuantizationConfig(  # as the product's shards have
            type=qe.ScalarType.Int8, quantile=QUANTIZATION_QUANTILE, always_ram=True
        ),
        optimizers=qe.EdgeOptimizersConfig(indexing_threshold=1),
        wal_enabled=False,
    )


@pytest.fixture(scope="module")
def real_faces():
    """(ids, vectors, a "video" per photo) of every face the engine finds in the photos."""
    vectors, photos = [], []
    paths = sorted(PEOPLE.glob("*/*")) + sorted((SHARED_DATA / "misc").glob("*.jpg"))
    for number, path in enumerate(paths):
        image = read_photo(path.read_bytes())
        for detection in faces_in_photo(image):
            vectors.append(embed_photo_face(image, detection))
            photos.append(number)
    return np.arange(1, len(vectors) + 1), np.stack(vectors).astype(np.float32), photos


@pytest.fixture
def owned(tmp_path, monkeypatch):
    monkeypatch.setattr(edge_index, "new_shard_config", tiny_thresholds_config)
    index = OwnedEdgeIndex(tmp_path / "faces", DIMENSION)
    yield index
    index.close()


def points(ids, vectors, videos, person_id=None) -> list[IndexPoint]:
    return [
        IndexPoint(int(i), v, video, person_id)
        for i, v, video in zip(ids, vectors, videos, strict=True)
    ]


def exact_nearest(ids, vectors, query, k=5) -> list[int]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = unit @ (query / np.linalg.norm(query))
    return ids[np.argsort(-similarity, kind="stable")[:k]].tolist()


def found(index, query, k=5) -> list[int]:
    return [hit.face_id for hit in index.search(query, limit=k)]


def indexed_vectors(index) -> int:
    with index.session() as shard:
        return int(shard.info().indexed_vectors_count)


def test_searches_find_the_nearest_faces_before_and_after_the_graph_is_built(real_faces, owned):
    ids, vectors, videos = real_faces
    assert len(ids) >= 100
    owned.upsert(points(ids, vectors, videos))
    assert indexed_vectors(owned) == 0  # written, not indexed: searched exactly
    before = [found(owned, v) for v in vectors]
    assert before == [exact_nearest(ids, vectors, v) for v in vectors]

    owned.optimize()

    assert indexed_vectors(owned) >= len(ids)
    assert owned.count() == len(ids)
    assert [found(owned, v) for v in vectors] == before
    assert owned.status().optimised


def test_writes_and_searches_while_the_graph_is_built_are_kept(real_faces, owned, monkeypatch):
    ids, vectors, videos = real_faces
    first, later = len(ids) // 2, ids[len(ids) // 2 :]
    owned.upsert(points(ids[:first], vectors[:first], videos[:first]))
    during: dict = {}

    def write_and_search() -> None:
        # Runs once the copy is made and the child optimises it (the shard serving meanwhile).
        during["optimising"] = owned.status().optimising
        during["found"] = [found(owned, v) for v in vectors[:first]]
        owned.upsert(points(later, vectors[first:], videos[first:], person_id=7))
        owned.delete_faces([int(ids[0])])

    start_child = edge_optimiser.start_optimising_copy

    def start_child_then_write(copy):
        child = start_child(copy)
        writer = threading.Thread(target=write_and_search)
        writer.start()

        class WritesFirst:  # the child is waited for only once the writes are done
            exitcode = property(lambda self: child.exitcode)
            terminate = child.terminate

            def join(self):
                writer.join()
                child.join()

        return WritesFirst()

    monkeypatch.setattr(edge_optimiser, "start_optimising_copy", start_child_then_write)
    owned.optimize()

    assert during["optimising"] is True
    assert during["found"] == [
        exact_nearest(ids[:first], vectors[:first], v) for v in vectors[:first]
    ]
    kept_ids, kept = ids[1:], vectors[1:]
    assert owned.face_ids() == set(kept_ids.tolist())
    assert [found(owned, v) for v in kept] == [exact_nearest(kept_ids, kept, v) for v in kept]
    assert {hit.face_id for hit in owned.search(vectors[-1], limit=500, person_id=7)} == set(
        later.tolist()
    )
    assert indexed_vectors(owned) >= first  # the copy's graph, with the later writes replayed
