"""Server time and query count of the pages on a big catalog: 10,000 people, 100,000 faces.

    .venv/bin/python benchmarks/pages.py [--people 10000] [--faces 100000] [--runs 40]
                                         [--data-dir DIR]   # keep (or reuse) the catalog there

The catalog is generated in bulk in a throwaway data folder (fake embeddings: the pages do not
look at them, and "more like this face" searches the index filled with them); face crops are
names only, since the pages link them and never open them. Each page is requested through
Django's test client as a logged-in user, in this process: the time is the server's (routing,
middleware, queries, templates), not the network's. Writes benchmarks/results/pages.json and
prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _data_dir_argument() -> str | None:
    if "--data-dir" in sys.argv:
        return sys.argv[sys.argv.index("--data-dir") + 1]
    return None


# Settings are read when Django starts, before argparse runs: the data folder is chosen first.
KEPT_DATA_DIR = _data_dir_argument()
os.environ["FAAAAACES_IGNORE_DOTENV"] = "1"
os.environ["FAAAAACES_DATA_DIR"] = KEPT_DATA_DIR or tempfile.mkdtemp(prefix="faaaaaces-pages-")
os.environ.setdefault("FAAAAACES_MODELS_DIR", str(REPO / "data" / "models"))
os.environ["DJANGO_SETTINGS_MODULE"] = "faaaaaces.settings"
os.environ["LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from catalog.models import Face, Person, Track, Video  # noqa: E402
from ingestion.models import IngestJob  # noqa: E402
from search.services.index_maintenance import rebuild_index  # noqa: E402

DIMENSION = 128
FACES_PER_TRACK = 3
FACES_PER_VIDEO = 500  # 200 videos at 100,000 faces, 2,000 at a million
BATCH = 5000
TARGET_P95_MS = 200


def video_count(faces: int) -> int:
    return max(200, faces // FACES_PER_VIDEO)


def generate_catalog(people: int, faces: int, seed: int = 7) -> None:
    """People with a long-tailed number of faces (a few with hundreds, most with a few), each
    face in a track of three in one of the videos (FACES_PER_VIDEO faces each)."""
    rng = np.random.default_rng(seed)
    video_total = video_count(faces)
    videos = Video.objects.bulk_create(
        Video(source="upload", original_name=f"video_{i}.mp4", title=f"Video {i}",
              file=f"videos/bench/{i}.mp4", content_sha256=f"{i:064x}", duration_s=600.0,
              status=Video.Status.READY)
        for i in range(video_total)
    )  # fmt: skip
    Person.objects.bulk_create(
        (Person(name=f"Person {i}" if i % 3 == 0 else "", named_by_curator=i % 3 == 0,
                hidden=i % 50 == 0) for i in range(people)),
        batch_size=BATCH,
    )  # fmt: skip
    person_ids = list(Person.objects.order_by("id").values_list("id", flat=True))
    weights = 1.0 / np.arange(1, people + 1) ** 0.8  # Zipf-like: the biggest has ~1 % of faces
    person_of_face = rng.choice(person_ids, size=faces, p=weights / weights.sum())
    person_of_face.sort()
    tracks, face_rows = [], []
    track_count = faces // FACES_PER_TRACK
    video_of_track = rng.integers(0, video_total, size=track_count)
    start_of_track = rng.uniform(0, 590, size=track_count)
    per_video_index = [0] * video_total
    for t in range(track_count):
        v = int(video_of_track[t])
        tracks.append(
            Track(video=videos[v], index_in_video=per_video_index[v],
                  start_time_s=float(start_of_track[t]), end_time_s=float(start_of_track[t]) + 4,
                  detections=[[float(start_of_track[t]), 0, 10, 10, 80, 80, 0.99]])
        )  # fmt: skip
        per_video_index[v] += 1
    Track.objects.bulk_create(tracks, batch_size=BATCH)
    track_rows = list(Track.objects.order_by("id").values_list("id", "video_id", "start_time_s"))
    vectors = rng.normal(size=(faces, DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for i in range(faces):
        track_id, video_id, start_s = track_rows[min(i // FACES_PER_TRACK, len(track_rows) - 1)]
        face_rows.append(
            Face(video_id=video_id, track_id=track_id, person_id=int(person_of_face[i]),
                 time_s=start_s + (i % FACES_PER_TRACK), frame_index=i % 1000, box_x=10,
                 box_y=10, box_w=80, box_h=80, detector_confidence=0.99,
                 quality=float(rng.uniform()), crop=f"faces/bench/{i}.jpg",
                 embedding=vectors[i].tobytes(), embedding_model="SFace",
                 embedding_dim=DIMENSION)
        )  # fmt: skip
        if len(face_rows) == BATCH:
            Face.objects.bulk_create(face_rows)
            face_rows = []
    Face.objects.bulk_create(face_rows)
    first_face = dict(Face.objects.order_by("person_id", "-id").values_list("person_id", "id"))
    covers = [Person(id=p, cover_face_id=f) for p, f in first_face.items()]
    Person.objects.bulk_update(covers, ["cover_face"], batch_size=BATCH)
    IngestJob.objects.bulk_create(
        IngestJob(kind="upload", source=f"video_{i}.mp4", video=videos[i],
                  status="failed" if i % 40 == 0 else "done", error="x" if i % 40 == 0 else "")
        for i in range(video_total)
    )  # fmt: skip


def describe_catalog() -> dict:
    """The rows the pages are measured on: a typical and the biggest person, a face, a video."""
    counts = dict(
        Face.objects.values("person_id")
        .annotate(n=django.db.models.Count("id"))
        .values_list("person_id", "n")
    )
    typical = int(np.median(list(counts.values())))
    return {
        "biggest_person": max(counts, key=counts.get),
        "biggest_person_faces": max(counts.values()),
        "typical_person": next(p for p, n in counts.items() if n == typical),
        "typical_person_faces": typical,
        "face": Face.objects.order_by("id").values_list("id", flat=True)[Face.objects.count() // 2],
        "video": Video.objects.order_by("id").values_list("id", flat=True)[
            Video.objects.count() // 2
        ],
    }


def measure(client: Client, url: str, runs: int) -> dict:
    for _ in range(3):  # warm up caches and templates
        assert client.get(url).status_code == 200, url
    times_ms, queries = [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)
            times_ms.append((time.perf_counter() - start) * 1000)
        queries = len(captured.captured_queries)
    quantiles = statistics.quantiles(times_ms, n=20)
    return {
        "p50_ms": round(statistics.median(times_ms), 1),
        "p95_ms": round(quantiles[18], 1),
        "queries": queries,
        "bytes": len(response.content),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "pages.json"))
    parser.add_argument("--data-dir", help="keep the generated catalog there; reuse it if there")
    parser.add_argument(
        "--skip-index",
        action="store_true",
        help="leave the vector index empty and the pages that search it out (a million faces "
        "take most of an hour to index on 2 cores)",
    )
    args = parser.parse_args()

    setup_test_environment()  # the test client's host name is allowed
    call_command("migrate", verbosity=0)
    owner = subprocess.Popen(
        [sys.executable, "manage.py", "serve_index"], cwd=REPO, env=os.environ.copy()
    )
    try:
        _wait_for_owner()
        run(args)
    finally:
        owner.terminate()
        owner.wait()
        if not KEPT_DATA_DIR:
            shutil.rmtree(settings.DATA_DIR, ignore_errors=True)


def _wait_for_owner(timeout_s: float = 60) -> None:
    socket_path = Path(settings.QDRANT_PATH) / "owner.sock"
    deadline = time.monotonic() + timeout_s
    while not socket_path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the index owner did not start")
        time.sleep(0.2)


def run(args) -> None:
    generated_s = indexed_s = None
    if Person.objects.count() < args.people:
        started = time.perf_counter()
        generate_catalog(args.people, args.faces)
        generated_s = round(time.perf_counter() - started, 1)
        if not args.skip_index:
            started = time.perf_counter()
            rebuild_index("SFace")
            indexed_s = round(time.perf_counter() - started, 1)
    catalog = describe_catalog()
    client = Client()
    user, _ = User.objects.get_or_create(username="bench")
    User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)  # the admin's pages
    client.force_login(user)

    pages = {
        "dashboard": "/",
        "gallery (by appearances)": "/people/",
        "gallery (by name, page 100)": "/people/?sort=name&page=100",
        "gallery (unnamed)": "/people/?show=unnamed",
        f"person page (typical: {catalog['typical_person_faces']} faces)": (
            f"/people/{catalog['typical_person']}/"
        ),
        f"person page (biggest: {catalog['biggest_person_faces']} faces)": (
            f"/people/{catalog['biggest_person']}/"
        ),
        "appears with (typical person, loaded by the page)": (
            f"/people/{catalog['typical_person']}/appears-with"
        ),
        "appears with (biggest person, loaded by the page)": (
            f"/people/{catalog['biggest_person']}/appears-with"
        ),
        "video page": f"/videos/{catalog['video']}/",
        "search page": "/search/",
        "more like this face (index search)": f"/search/?face={catalog['face']}",
        "jobs JSON (polled)": "/jobs.json",
        "merge suggestions for a person (API, from the index)": (
            f"/api/people/{catalog['typical_person']}/suggestions/"
        ),
        "merge suggestions page (admin, 20 people, from the index)": (
            "/admin/catalog/person/suggestions/"
        ),
        "person picker (typing a name)": "/people/pick.json?q=person 12",
    }
    if args.skip_index:
        pages = {name: url for name, url in pages.items() if "index" not in name}
    results = {}
    for name, url in pages.items():
        results[name] = {"url": url, **measure(client, url, args.runs)}
        print(f"{name}: {results[name]}", flush=True)

    report = {
        "people": args.people,
        "faces": args.faces,
        "videos": Video.objects.count(),
        "index_searched": not args.skip_index,
        "runs": args.runs,
        "generate_s": generated_s,
        "index_s": indexed_s,
        "target_p95_ms": TARGET_P95_MS,
        # The machine's 1-minute load when done: other work on it inflates every figure.
        "load_average_1min": round(os.getloadavg()[0], 2),
        "pages": results,
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"\n{args.people} people, {args.faces} faces, {report['videos']} videos; "
        f"{args.runs} runs each\n"
    )
    print("| page | p50 ms | p95 ms | queries | within 200 ms |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        ok = "yes" if r["p95_ms"] <= TARGET_P95_MS else "**no**"
        print(f"| {name} | {r['p50_ms']} | {r['p95_ms']} | {r['queries']} | {ok} |")


if __name__ == "__main__":
    main()
