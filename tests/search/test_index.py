"""The vector index behaves the same on both backends (Qdrant Edge, Qdrant server API), and
several processes can share one Edge folder without losing a write. Plain pytest, no Django."""

import multiprocessing
import shutil
import tempfile
import threading
import time
import traceback
from pathlib import Path

import numpy as np
import pytest

from search.edge_index import EdgeFaceIndex
from search.index import FaceIndexError, IndexPoint
from search.index_backends import open_face_index
from search.index_owner import IndexOwner
from search.server_index import ServerFaceIndex

DIMENSION = 8

pytestmark = [
    # qdrant-client's in-memory mode says payload indexes do nothing there; a server uses them.
    pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning"),
    # ... and that it searches exactly, so the quantization's search parameters do nothing there.
    pytest.mark.filterwarnings("ignore:Local mode performs exact:UserWarning"),
    # Said from a background thread of the unreachable-server test, so it lands on any test.
    pytest.mark.filterwarnings("ignore:Failed to obtain server version:UserWarning"),
]


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=DIMENSION).astype(np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture
def index_root(tmp_path):
    """A folder for Edge indexes, in memory where the machine has /dev/shm: without an owner
    every Edge operation loads, flushes and closes the shard, which costs ~15 ms there and up to
    ~0.5 s on a disk busy with other work. (Reopening from disk has its own test.)"""
    shm = Path("/dev/shm")
    if not shm.is_dir():
        yield tmp_path
        return
    root = Path(tempfile.mkdtemp(prefix="faaaaaces-index-", dir=shm))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["edge", "edge-owner", "server"])
def index(request, index_root):
    if request.param == "edge-owner":
        owner = IndexOwner(index_root)
        owner.start()
        request.addfinalizer(owner.stop)
    if request.param.startswith("edge"):
        face_index = open_face_index(
            "edge", dimension=DIMENSION, collection="faces", path=index_root
        )
    else:
        face_index = open_face_index(
            "server", dimension=DIMENSION, collection="faces", url=":memory:"
        )
    yield face_index
    face_index.close()


def points(count: int, video_id: int = 1, person_id: int | None = None, start: int = 1):
    return [IndexPoint(i, unit(i), video_id, person_id) for i in range(start, start + count)]


def test_the_factory_opens_the_backend_it_is_asked_for(index_root):
    edge = open_face_index("edge", dimension=DIMENSION, collection="faces", path=index_root)
    server = open_face_index("server", dimension=DIMENSION, collection="faces", url=":memory:")
    assert isinstance(edge, EdgeFaceIndex) and isinstance(server, ServerFaceIndex)
    assert edge.dimension == server.dimension == DIMENSION
    edge.close()
    server.close()


def test_the_factory_refuses_an_unknown_backend_or_a_missing_location():
    with pytest.raises(ValueError, match="unknown index backend"):
        open_face_index("faiss", dimension=DIMENSION, collection="faces")
    with pytest.raises(ValueError, match="folder"):
        open_face_index("edge", dimension=DIMENSION, collection="faces")
    with pytest.raises(ValueError, match="URL"):
        open_face_index("server", dimension=DIMENSION, collection="faces")


def test_an_empty_index_holds_nothing(index):
    assert index.count() == 0
    assert index.face_ids() == set()
    assert index.search(unit(1)) == []


def test_the_index_says_which_of_some_faces_it_holds(index):
    assert index.held([1, 2]) == set()
    index.upsert(points(10))
    index.delete_faces([4])
    assert index.held([1, 4, 10, 11, 99]) == {1, 10}
    assert index.held([]) == set()


def test_the_nearest_face_comes_first_with_similarity_one(index):
    index.upsert(points(20))
    hits = index.search(unit(7), limit=3)
    assert hits[0].face_id == 7
    assert hits[0].similarity == pytest.approx(1.0, abs=1e-4)
    assert hits[0].video_id == 1
    assert hits[0].similarity >= hits[1].similarity >= hits[2].similarity


def test_a_batch_of_searches_answers_each_vector_as_one_search_would(index):
    index.upsert(points(10, person_id=5) + points(10, video_id=2, start=11))
    index.set_person_hidden(5, True)
    queries = [unit(3), unit(14), unit(20)]
    batch = index.search_batch(queries, limit=4)
    one_by_one = [index.search(vector, limit=4) for vector in queries]
    assert [[(h.face_id, h.person_id) for h in hits] for hits in batch] == [
        [(h.face_id, h.person_id) for h in hits] for hits in one_by_one
    ]
    assert [hits[0].face_id for hits in batch] == [3, 14, 20]
    visible = index.search_batch(queries, limit=20, exclude_hidden=True)
    assert all(h.person_id is None for hits in visible for h in hits)
    assert index.search_batch([], limit=4) == []


def test_a_batch_not_rescored_finds_the_same_nearest_faces(index):
    """Without rescoring, hits are ranked on the int8 copies (where the backend has built
    them): the same nearest faces, similarities within a hundredth of the exact ones."""
    index.upsert(points(40))
    queries = [unit(3) + 0.1 * unit(100), unit(17) + 0.1 * unit(101)]
    exact = index.search_batch(queries, limit=5)
    quick = index.search_batch(queries, limit=5, rescore=False)
    for exact_hits, quick_hits in zip(exact, quick, strict=True):
        assert quick_hits[0].face_id == exact_hits[0].face_id
        by_id = {hit.face_id: hit.similarity for hit in exact_hits}
        for hit in quick_hits:
            if hit.face_id in by_id:
                assert hit.similarity == pytest.approx(by_id[hit.face_id], abs=0.01)


def test_each_search_of_a_batch_can_leave_out_people_of_its_own(index):
    index.upsert(points(5, person_id=5) + points(5, person_id=6, start=6) + points(5, start=11))
    batch = index.search_batch([unit(1), unit(1)], limit=15, exclude_people=[[5], [5, 6]])
    assert {h.person_id for h in batch[0]} == {6, None}
    assert {h.person_id for h in batch[1]} == {None}


def test_filters_restrict_results_to_a_video_a_person_or_visible_people(index):
    index.upsert(points(10, video_id=1, person_id=5) + points(10, video_id=2, start=11))
    assert {h.video_id for h in index.search(unit(3), limit=20, video_id=2)} == {2}
    assert {h.person_id for h in index.search(unit(3), limit=20, person_id=5)} == {5}
    index.set_person_hidden(5, True)
    visible = index.search(unit(3), limit=20, exclude_hidden=True)
    assert len(visible) == 10 and all(h.person_id is None for h in visible)


def test_filters_combine(index):
    index.upsert(points(5, video_id=1, person_id=5) + points(5, video_id=2, person_id=5, start=6))
    hits = index.search(unit(1), limit=20, video_id=2, person_id=5)
    assert {h.face_id for h in hits} == {6, 7, 8, 9, 10}


def test_a_hidden_person_comes_back_when_unhidden(index):
    index.upsert([IndexPoint(i, unit(i), 1, 4, hidden=True) for i in (1, 2)] + points(2, start=3))
    assert {h.face_id for h in index.search(unit(1), limit=10, exclude_hidden=True)} == {3, 4}
    index.set_person_hidden(4, False)
    assert len(index.search(unit(1), limit=10, exclude_hidden=True)) == 4


def test_min_similarity_drops_far_faces(index):
    index.upsert(points(30))
    hits = index.search(unit(4), limit=30, min_similarity=0.99)
    assert [h.face_id for h in hits] == [4]


def test_moving_faces_to_a_person_is_seen_by_search(index):
    index.upsert(points(5))
    index.set_person([1, 2], 9)
    assert {h.face_id for h in index.search(unit(1), limit=10, person_id=9)} == {1, 2}


def test_faces_can_be_taken_out_of_a_person(index):
    index.upsert(points(3, person_id=9))
    index.set_person([1], None)
    assert {h.face_id for h in index.search(unit(1), limit=10, person_id=9)} == {2, 3}
    assert index.search(unit(1), limit=1)[0].person_id is None


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
    with pytest.raises(ValueError, match="dimensions"):
        index.search(np.ones(DIMENSION - 1))


def test_a_vector_with_nan_is_refused(index):
    # Qdrant Edge would store it, and the face would never be found again.
    broken = unit(1)
    broken[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        index.upsert([IndexPoint(1, broken, 1, None)])
    assert index.count() == 0


def test_an_edge_index_keeps_its_points_when_reopened(tmp_path):
    first = EdgeFaceIndex(tmp_path / "faces", DIMENSION)
    first.upsert(points(5))
    first.close()
    again = EdgeFaceIndex(tmp_path / "faces", DIMENSION)
    assert again.count() == 5
    assert again.search(unit(5), limit=1)[0].face_id == 5


def test_an_edge_folder_that_is_not_an_index_raises_face_index_error(index_root):
    (index_root / "faces").mkdir()
    (index_root / "faces" / "edge_config.json").write_text("not json")
    index = EdgeFaceIndex(index_root / "faces", DIMENSION)
    with pytest.raises(FaceIndexError, match="cannot be opened"):
        index.count()


def test_a_server_collection_made_before_is_brought_to_the_layout_and_keeps_its_points():
    """Opening a collection that exists asks the server for in-memory payloads and the graph's
    links (a real server rebuilds in the background; qdrant-client's local mode, which has no
    graph, accepts the request and changes nothing); the points and searches stay."""
    index = ServerFaceIndex(":memory:", "faces", DIMENSION)
    try:
        index.upsert(points(5))
        index._update_layout()
        assert index.count() == 5
        assert index.search(unit(3), limit=1)[0].face_id == 3
    finally:
        index.close()


def test_an_unreachable_server_raises_face_index_error():
    with pytest.raises(FaceIndexError, match="cannot be used"):
        # Port 9 (discard) refuses at once on a machine that runs nothing there.
        open_face_index("server", dimension=DIMENSION, collection="f", url="http://127.0.0.1:9")


# --- several processes on one Edge folder ---------------------------------------------------
# The children are module-level functions so the 'spawn' context can import them; they report
# an exception through the queue, so a failing child fails the test with its traceback.


def _write_points(folder, start: int, count: int, batches: int, errors) -> None:
    try:
        index = EdgeFaceIndex(folder, DIMENSION)
        size = count // batches
        for batch in range(batches):
            index.upsert(points(size, start=start + batch * size))
        index.close()
    except BaseException:
        errors.put(traceback.format_exc())
        raise


def _spawn_writers(folder, ranges: list[tuple[int, int]], batches: int):
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    writers = [
        context.Process(target=_write_points, args=(folder, start, count, batches, errors))
        for start, count in ranges
    ]
    for writer in writers:
        writer.start()
    return writers, errors


def _join(writers, errors) -> None:
    for writer in writers:
        writer.join(timeout=120)
    reported = []
    while not errors.empty():
        reported.append(errors.get())
    assert reported == []
    assert [writer.exitcode for writer in writers] == [0] * len(writers)


def _assert_all_points_intact(folder, expected: set[int]) -> None:
    fresh = EdgeFaceIndex(folder, DIMENSION)
    assert fresh.count() == len(expected)
    assert fresh.face_ids() == expected
    # Every point still has its vector: count() and face_ids() would not notice a point whose
    # vector was lost (what a stale Edge copy does to other processes' writes), a search does.
    found = fresh.search(unit(0), limit=len(expected) + 10)
    assert {hit.face_id for hit in found} == expected
    some = sorted(expected)[:: max(1, len(expected) // 5)]
    assert [fresh.search(unit(i), limit=1)[0].face_id for i in some] == some
    fresh.close()


@pytest.mark.parametrize("with_owner", [False, True], ids=["direct", "through-owner"])
def test_searches_go_on_while_another_process_writes(index_root, with_owner):
    folder = index_root / "faces"
    if with_owner:
        owner = IndexOwner(index_root)
        owner.start()
    writers, errors = _spawn_writers(folder, [(1, 2000)], batches=20)
    reader = EdgeFaceIndex(folder, DIMENSION)
    seen = []
    while writers[0].is_alive():
        seen.append(reader.count())
        hits = reader.search(unit(1), limit=5)
        assert not hits or hits[0].face_id == 1
        # A pause, as between a web server's queries: without one, a reader that takes the
        # folder's lock back at once (direct mode) can keep the writer waiting for long.
        time.sleep(0.01)
    reader.close()
    _join(writers, errors)
    if with_owner:
        owner.stop()
    assert seen == sorted(seen)  # a reader never sees points disappear
    _assert_all_points_intact(folder, set(range(1, 2001)))


@pytest.mark.parametrize("with_owner", [False, True], ids=["direct", "through-owner"])
def test_two_processes_writing_at_once_lose_nothing(index_root, with_owner):
    folder = index_root / "faces"
    if with_owner:
        owner = IndexOwner(index_root)
        owner.start()
    writers, errors = _spawn_writers(folder, [(1, 1000), (100_001, 1000)], batches=5)
    _join(writers, errors)
    if with_owner:
        owner.stop()
    _assert_all_points_intact(folder, set(range(1, 1001)) | set(range(100_001, 101_001)))


def test_a_second_owner_for_the_same_folder_is_refused(index_root):
    first = IndexOwner(index_root)
    first.start()
    try:
        with pytest.raises(RuntimeError, match="already serves"):
            IndexOwner(index_root).start()
    finally:
        first.stop()


def test_an_owner_waits_for_another_to_stop_and_then_serves(index_root):
    # `make run` started while a `manage.py ingest` batch owns the folder: it takes over after.
    batch = IndexOwner(index_root)
    batch.start()
    index = EdgeFaceIndex(index_root / "faces", DIMENSION)
    index.upsert(points(10))
    waiting = IndexOwner(index_root)
    served = []

    def stop_the_batch_then_use_the_next_owner():
        try:
            time.sleep(1.5)
            assert not waiting._indexes  # it has not taken the folder while the batch owned it
            batch.stop()
            deadline = time.monotonic() + 10
            while not waiting._indexes and time.monotonic() < deadline:
                index.upsert(points(1, start=100))  # served directly or by the new owner
                time.sleep(0.2)
            served.append(index.count())
        finally:  # a failed check must not leave serve_forever waiting for ever
            waiting._stopping.set()

    helper = threading.Thread(target=stop_the_batch_then_use_the_next_owner)
    helper.start()
    waiting.serve_forever(wait_for_other_owner=True)  # returns once told to stop
    helper.join()
    assert served == [11]


def test_work_continues_directly_when_the_owner_stops(index_root):
    owner = IndexOwner(index_root)
    owner.start()
    index = EdgeFaceIndex(index_root / "faces", DIMENSION)
    index.upsert(points(10))
    owner.stop()
    index.upsert(points(5, start=11))
    assert index.count() == 15
