"""The search graph is built beside the index, never in a write's way: searches are right before,
during and after it, and writes made while it is built are kept. Real SFace embeddings of every
face in the shared photos; exact nearest neighbours computed here to compare with."""

import json
import threading

import numpy as np
import pytest
import qdrant_edge as qe

from search import edge_index, edge_optimiser
from search.edge_optimiser import OwnedEdgeIndex
from search.index import GRAPH_LINKS, QUANTIZATION_QUANTILE, IndexPoint
from search.services.photo_search import embed_photo_face, faces_in_photo, read_photo
from tests.conftest import PEOPLE, SHARED_DATA

pytestmark = pytest.mark.slow

DIMENSION = 128


def tiny_thresholds_config(dimension: int, outdated: bool = False):
    """The product's shard, with graphs built and used from the first kilobyte, so a few hundred
    faces get one (outdated: as made before its memory placement and graph links were set)."""
    links = 16 if outdated else GRAPH_LINKS
    return qe.EdgeConfig(
        vectors=qe.EdgeVectorParams(size=dimension, distance=qe.Distance.Cosine),
        hnsw_config=qe.HnswIndexConfig(m=links, ef_construct=100, full_scan_threshold=1),
        quantization_config=qe.ScalarQuantizationConfig(  # as the product's shards have
            type=qe.ScalarType.Int8, quantile=QUANTIZATION_QUANTILE, always_ram=True
        ),
        optimizers=qe.EdgeOptimizersConfig(indexing_threshold=1),
        wal_enabled=False,
        **({} if outdated else edge_index.memory_placement()),
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

    def start_child_then_write(copy, dimension):
        child = start_child(copy, dimension)
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


def segment_configs(folder) -> list[dict]:
    segments = (folder / "segments").glob("*/segment.json")
    return [json.loads(s.read_text())["config"] for s in segments]


def payload_storage_types(folder) -> set[str]:
    return {config["payload_storage_type"]["type"] for config in segment_configs(folder)}


def graph_links(folder) -> set[int]:
    """The links a point of each segment's graph (segments without a graph left out)."""
    graphs = [config["vector_data"][""]["index"] for config in segment_configs(folder)]
    return {graph["options"]["m"] for graph in graphs if graph["type"] == "hnsw"}


def test_an_older_shard_takes_the_memory_placement_and_the_graph_links_when_optimised(
    real_faces, tmp_path
):
    """Every search reads its hits' payloads: in a shard made before the placement they stay
    in files, read on demand (slow once out of the page cache); its graph has 16 links a point,
    which lose neighbours at scale. Its owner optimises it once, and the rebuilt segments hold
    the payloads in memory and a graph of GRAPH_LINKS; the points are the same."""
    ids, vectors, videos = real_faces
    folder = tmp_path / "faces"
    shard = qe.EdgeShard.create(str(folder), tiny_thresholds_config(DIMENSION, outdated=True))
    for batch in range(0, len(ids), 100):
        chunk = slice(batch, batch + 100)
        shard.update(
            qe.UpdateOperation.upsert_points(
                [
                    qe.Point(int(i), v.tolist(), {"video_id": video, "hidden": 0})
                    for i, v, video in zip(ids[chunk], vectors[chunk], videos[chunk], strict=True)
                ]
            )
        )
    assert shard.optimize()  # the graph built: nothing else to do but the placement
    shard.flush()
    shard.close()
    edge_index.sibling(folder, edge_index.OPTIMISED_SUFFIX).touch()
    edge_index.load_shard(folder, DIMENSION).close()  # a command read it first (no owner yet)
    assert edge_index.layout_outdated(folder)
    assert payload_storage_types(folder) == {"mmap"}
    assert graph_links(folder) == {16}

    owned = OwnedEdgeIndex(folder, DIMENSION)
    try:
        assert not owned.status().optimised  # due, though marked optimised
        assert owned.wants_optimising()
        owned.optimize()
        assert owned.status().optimised
        assert not edge_index.layout_outdated(folder)
        assert payload_storage_types(folder) == {edge_index.IN_MEMORY_PAYLOAD}
        assert graph_links(folder) == {GRAPH_LINKS}
        assert owned.face_ids() == set(ids.tolist())
        assert [found(owned, v) for v in vectors[::7]] == [
            exact_nearest(ids, vectors, v) for v in vectors[::7]
        ]
    finally:
        owned.close()


def test_a_new_shard_is_made_with_its_memory_placement_and_graph_links(real_faces, tmp_path):
    ids, vectors, videos = real_faces
    index = OwnedEdgeIndex(tmp_path / "faces", DIMENSION)
    try:
        index.upsert(points(ids[:50], vectors[:50], videos[:50]))
        assert not edge_index.layout_outdated(tmp_path / "faces")
        config = json.loads((tmp_path / "faces" / edge_index.SHARD_CONFIG_FILE).read_text())
        assert (config["payload_memory"], config["id_tracker_memory"]) == ("cached", "pinned")
        assert config["hnsw_config"]["m"] == GRAPH_LINKS
    finally:
        index.close()
