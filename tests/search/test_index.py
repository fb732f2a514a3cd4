"""The vector index behaves the same on both backends (Qdrant Edge, Qdrant server API)."""

import multiprocessing

import numpy as np
import pytest

from search.edge_index import EdgeFaceIndex
from search.index import IndexPoint, open_face_index
from search.index_owner import IndexOwner

DIMENSION = 8


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=DIMENSION).astype(np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture(params=["edge", "edge-owner", "server"])
def index(request, tmp_path):
    if request.param == "edge-owner":
        owner = IndexOwner(tmp_path)
        owner.start()
        request.addfinalizer(owner.stop)
    if request.param.startswith("edge"):
        face_index = open_face_index("edge", dimension=DIMENSION, collection="faces", path=tmp_path)
    else:
        face_index = open_face_index(
            "server", dimension=DIMENSION, collection="faces", url=":memory:"
        )
    yield face_index
    face_index.close()


def points(count: int, video_id: int = 1, person_id: int | None = None, start: int = 1):
    return [IndexPoint(i, unit(i), video_id, person_id) for i in range(start, start + count)]


def test_the_nearest_face_comes_first_with_similarity_one(index):
    index.upsert(points(20))
    hits = index.search(unit(7), limit=3)
    assert hits[0].face_id == 7
    assert hits[0].similarity == pytest.approx(1.0, abs=1e-4)
    assert hits[0].video_id == 1
    assert hits[0].similarity >= hits[1].similarity >= hits[2].similarity


def test_filters_restrict_results_to_a_video_a_person_or_visible_people(index):
    index.upsert(points(10, video_id=1, person_id=5) + points(10, video_id=2, start=11))
    assert {h.video_id for h in index.search(unit(3), limit=20, video_id=2)} == {2}
    assert {h.person_id for h in index.search(unit(3), limit=20, person_id=5)} == {5}
    index.set_person_hidden(5, True)
    visible = index.search(unit(3), limit=20, exclude_hidden=True)
    assert len(visible) == 10 and all(h.person_id is None for h in visible)


def test_min_similarity_drops_far_faces(index):
    index.upsert(points(30))
    hits = index.search(unit(4), limit=30, min_similarity=0.99)
    assert [h.face_id for h in hits] == [4]


def test_moving_faces_to_a_person_is_seen_by_search(index):
    index.upsert(points(5))
    index.set_person([1, 2], 9)
    assert {h.face_id for h in index.search(unit(1), limit=10, person_id=9)} == {1, 2}


def test_deleting_by_face_video_and_person(index):
    index.upsert(points(5, video_id=1, person_id=3) + points(5, video_id=2, start=6))
    index.delete_faces([1])
    assert index.count() == 9
    index.delete_person(3)
    assert index.face_ids() == {6, 7, 8, 9, 10}
    index.delete_video(2)
    assert index.count() == 0


def test_upserting_a_face_again_replaces_it(index):
    index.upsert(points(3))
    index.upsert([IndexPoint(2, unit(2), 7, 4)])
    assert index.count() == 3
    assert index.search(unit(2), limit=1)[0].video_id == 7


def test_clear_empties_the_index(index):
    index.upsert(points(1500))
    assert len(index.face_ids()) == 1500
    index.clear()
    assert index.count() == 0


def test_a_vector_of_the_wrong_size_is_refused(index):
    with pytest.raises(ValueError, match="dimensions"):
        index.upsert([IndexPoint(1, np.ones(DIMENSION + 1), 1, None)])


def test_an_edge_index_keeps_its_points_when_reopened(tmp_path):
    first = EdgeFaceIndex(tmp_path / "faces", DIMENSION)
    first.upsert(points(5))
    first.close()
    again = EdgeFaceIndex(tmp_path / "faces", DIMENSION)
    assert again.count() == 5
    assert again.search(unit(5), limit=1)[0].face_id == 5


def _write_points(folder, start: int, count: int, batches: int) -> None:
    index = EdgeFaceIndex(folder, DIMENSION)
    size = count // batches
    for batch in range(batches):
        index.upsert(points(size, start=start + batch * size))
    index.close()


def _read_repeatedly(folder, rounds: int, results) -> None:
    index = EdgeFaceIndex(folder, DIMENSION)
    seen = []
    for _ in range(rounds):
        seen.append(index.count())
        index.search(unit(1), limit=5)
    index.close()
    results.put(seen)


def _serve_index(root, stop) -> None:
    owner = IndexOwner(root)
    owner.start()
    stop.wait(120)
    owner.stop()


@pytest.mark.parametrize("with_owner", [False, True], ids=["direct", "through-owner"])
def test_processes_share_one_edge_index_without_losing_writes(tmp_path, with_owner):
    folder = tmp_path / "faces"
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    stop_owner = context.Event()
    if with_owner:
        owner = context.Process(target=_serve_index, args=(tmp_path, stop_owner))
        owner.start()
    writers = [
        context.Process(target=_write_points, args=(folder, 1, 1000, 20)),
        context.Process(target=_write_points, args=(folder, 100_001, 1000, 20)),
    ]
    reader = context.Process(target=_read_repeatedly, args=(folder, 200, results))
    for process in [*writers, reader]:
        process.start()
    seen = results.get(timeout=120)
    for process in [*writers, reader]:
        process.join(timeout=120)
        assert process.exitcode == 0
    stop_owner.set()
    if with_owner:
        owner.join(timeout=60)
        assert owner.exitcode == 0
    assert seen == sorted(seen)  # a reader never sees points disappear
    fresh = EdgeFaceIndex(folder, DIMENSION)
    assert fresh.count() == 2000
    assert fresh.face_ids() == set(range(1, 1001)) | set(range(100_001, 101_001))


def test_a_second_owner_for_the_same_folder_is_refused(tmp_path):
    first = IndexOwner(tmp_path)
    first.start()
    try:
        with pytest.raises(RuntimeError, match="already serves"):
            IndexOwner(tmp_path).start()
    finally:
        first.stop()


def test_work_continues_directly_when_the_owner_stops(tmp_path):
    owner = IndexOwner(tmp_path)
    owner.start()
    index = EdgeFaceIndex(tmp_path / "faces", DIMENSION)
    index.upsert(points(10))
    owner.stop()
    index.upsert(points(5, start=11))
    assert index.count() == 15
