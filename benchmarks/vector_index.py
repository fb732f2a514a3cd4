"""The vector index at catalog scale: both backends, 100k and 1M faces of 128 dimensions.

    .venv/bin/python benchmarks/vector_index.py [--sizes 100000,1000000] [--backends edge,server]

- edge: Qdrant Edge as the product runs it, an index owner in its own process
  (`search/index_owner.py`) and this process talking to it as the web server does;
- server: the Qdrant-server code path through qdrant-client's in-memory mode, the only Qdrant
  "server" this machine can run (it is qdrant-client's local brute-force engine, not a server).

Vectors are realistic rather than uniform: one centre per person (a person has ~30 faces),
faces spread around it as SFace embeddings of one person are; payloads give each face a video
(~300 faces per video), a person, and 2 % of people hidden. Writes benchmarks/results/
vector_index.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from search.edge_index import DirectEdgeIndex, EdgeFaceIndex  # noqa: E402
from search.index import IndexPoint  # noqa: E402
from search.index_owner import IndexOwner  # noqa: E402
from search.server_index import ServerFaceIndex  # noqa: E402

DIMENSION = 128
FACES_PER_PERSON = 30
FACES_PER_VIDEO = 300
BATCH = 2000


def rss_mb(pid: int | None = None) -> float:
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def make_faces(count: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    people = max(1, count // FACES_PER_PERSON)
    centres = rng.normal(size=(people, DIMENSION)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    person_of = rng.integers(0, people, size=count)
    vectors = centres[person_of] + rng.normal(scale=0.06, size=(count, DIMENSION)).astype(
        np.float32
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    hidden_people = set(rng.choice(people, size=max(1, people // 50), replace=False).tolist())
    return centres, person_of, vectors, hidden_people


def points(person_of, vectors, hidden_people, start: int, stop: int):
    return [
        IndexPoint(
            face_id=i + 1,
            vector=vectors[i],
            video_id=i // FACES_PER_VIDEO + 1,
            person_id=int(person_of[i]) + 1,
            hidden=int(person_of[i]) in hidden_people,
        )
        for i in range(start, stop)
    ]


def percentile_ms(samples: list[float], q: float) -> float:
    return round(float(np.percentile(samples, q)) * 1000, 3)


def time_queries(index, centres, count: int, seed: int, **filters_of) -> list[float]:
    rng = np.random.default_rng(seed)
    timings = []
    for _ in range(count):
        person = int(rng.integers(0, len(centres)))
        query = centres[person] + rng.normal(scale=0.06, size=DIMENSION).astype(np.float32)
        filters = {key: make(person, rng) for key, make in filters_of.items()}
        started = time.perf_counter()
        index.search(query, limit=10, **filters)
        timings.append(time.perf_counter() - started)
    return timings


def _serve(root: str, ready, stop) -> None:
    owner = IndexOwner(Path(root))
    owner.start()
    ready.set()
    stop.wait()
    owner.stop()


def measure(backend: str, size: int, queries: int) -> dict:
    centres, person_of, vectors, hidden = make_faces(size)
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{backend}-{size}-"))
    result: dict = {"backend": backend, "faces": size, "queries": queries}
    owner = stop = None
    rss_before = rss_mb()
    if backend == "edge":
        context = multiprocessing.get_context("spawn")
        ready, stop = context.Event(), context.Event()
        owner = context.Process(target=_serve, args=(str(folder), ready, stop))
        owner.start()
        ready.wait(60)
        index = EdgeFaceIndex(folder / "faces", DIMENSION)
    else:
        index = ServerFaceIndex(":memory:", "faces", DIMENSION)

    started = time.perf_counter()
    for start in range(0, size, BATCH):
        index.upsert(points(person_of, vectors, hidden, start, min(size, start + BATCH)), BATCH)
    upsert_s = time.perf_counter() - started
    result["upsert_s"] = round(upsert_s, 1)
    result["upsert_per_s"] = round(size / upsert_s)

    started = time.perf_counter()
    index.optimize()
    result["index_build_s"] = round(time.perf_counter() - started, 1) if backend == "edge" else None

    people = len(centres)
    plain = time_queries(index, centres, queries, 1)
    by_person = time_queries(index, centres, queries, 2, person_id=lambda p, rng: p + 1)
    by_video = time_queries(
        index, centres, queries, 3,
        video_id=lambda p, rng: int(rng.integers(1, size // FACES_PER_VIDEO + 2)),
    )  # fmt: skip
    visible = time_queries(index, centres, queries, 4, exclude_hidden=lambda p, rng: True)
    result.update(
        query_p50_ms=percentile_ms(plain, 50),
        query_p95_ms=percentile_ms(plain, 95),
        filtered_person_p95_ms=percentile_ms(by_person, 95),
        filtered_video_p95_ms=percentile_ms(by_video, 95),
        exclude_hidden_p95_ms=percentile_ms(visible, 95),
        people=people,
    )
    # Recall@10 of the unfiltered search against exact cosine neighbours, on 20 queries.
    rng = np.random.default_rng(5)
    recalls = []
    for _ in range(20):
        query = centres[int(rng.integers(0, people))] + rng.normal(scale=0.06, size=DIMENSION)
        query = (query / np.linalg.norm(query)).astype(np.float32)
        exact = set((np.argsort(-(vectors @ query))[:10] + 1).tolist())
        found = {hit.face_id for hit in index.search(query, limit=10)}
        recalls.append(len(exact & found) / 10)
    result["recall_at_10"] = round(float(np.mean(recalls)), 3)

    if backend == "edge":
        result["owner_rss_mb"] = round(rss_mb(owner.pid))
        stop.set()
        owner.join(120)
        direct = DirectEdgeIndex(folder / "faces", DIMENSION)
        started = time.perf_counter()
        direct.count()  # lock, load, count, close: what a process without the owner pays
        result["open_load_ms"] = round((time.perf_counter() - started) * 1000, 1)
    else:
        result["process_rss_growth_mb"] = round(rss_mb() - rss_before)
        result["open_load_ms"] = None
        index.close()
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="edge,server")
    parser.add_argument("--queries", type=int, default=500, help="per query type (edge)")
    parser.add_argument(
        "--output", default=str(REPO / "benchmarks" / "results" / "vector_index.json")
    )
    parser.add_argument(
        "--server-queries",
        type=int,
        default=30,
        help="per query type for the in-memory server path (brute force: slow)",
    )
    arguments = parser.parse_args()
    rows = []
    for backend in arguments.backends.split(","):
        for size in (int(s) for s in arguments.sizes.split(",")):
            queries = arguments.queries if backend == "edge" else arguments.server_queries
            rows.append(measure(backend, size, queries))
    out = Path(arguments.output)
    out.write_text(json.dumps({"dimension": DIMENSION, "rows": rows}, indent=2) + "\n")
    print(
        "| backend | faces | upsert/s | index build s | query p50 ms | query p95 ms | "
        "person-filtered p95 ms | video-filtered p95 ms | hidden-excluded p95 ms | "
        "recall@10 | load ms |"
    )
    print("|" + "---|" * 11)
    for r in rows:
        print(
            f"| {r['backend']} | {r['faces']:,} | {r['upsert_per_s']:,} | {r['index_build_s']} "
            f"| {r['query_p50_ms']} | {r['query_p95_ms']} | {r['filtered_person_p95_ms']} | "
            f"{r['filtered_video_p95_ms']} | {r['exclude_hidden_p95_ms']} | "
            f"{r['recall_at_10']} | {r['open_load_ms']} |"
        )


if __name__ == "__main__":
    main()
