"""Load on the server as `make run` starts it (gunicorn, one worker, index owner), on
127.0.0.1 only, bounded in count and time: UPLOADS concurrent uploads of shared videos, then
SEARCHES concurrent searches by photo while the uploaded videos are still being processed.

    .venv/bin/python benchmarks/load.py [--uploads 20] [--searches 200]
                                        [--search-concurrency 200,8] [--output FILE]

Reports throughput, p50/p95 latency and errors of each, whether every upload got exactly one
job and every job finished, and the CPU. Targets (issue 17): zero 5xx, zero lost or duplicated
jobs, search p95 <= 1 s under that load. Results: benchmarks/results/load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from cpu_info import cpu_model_and_flags

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
PHOTOS = [
    DATA / "people" / "barack_obama" / "obama2.jpg",
    DATA / "people" / "kit_harington" / "john2.jpeg",
    DATA / "people" / "rose_leslie" / "img2.jpg",
]
DEADLINE_S = 900  # the whole run stops by itself past this
OPEN_JOBS = "SELECT COUNT(*) FROM ingestion_ingestjob WHERE status IN ('queued', 'running')"
JOB_STATUSES = "SELECT status, COUNT(*) FROM ingestion_ingestjob GROUP BY status"
MAKE_TOKEN = (
    "from django.contrib.auth.models import User; from rest_framework.authtoken.models import "
    "Token; print(Token.objects.create(user=User.objects.create_user('load')).key)"
)


def cpu() -> dict:
    model, flags = cpu_model_and_flags()
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
    return {
        "model": model,
        "cores": os.cpu_count(),
        "flags": sorted(flags & set(wanted)),
        "platform": platform.platform(),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 3)


def summary(timings: list[tuple[int, float]], wall_s: float) -> dict:
    latencies = [seconds for _, seconds in timings]
    codes: dict[str, int] = {}
    for code, _ in timings:
        codes[str(code)] = codes.get(str(code), 0) + 1
    return {
        "requests": len(timings),
        "wall_s": round(wall_s, 2),
        "throughput_per_s": round(len(timings) / wall_s, 2) if wall_s else None,
        "p50_s": percentile(latencies, 0.5),
        "p95_s": percentile(latencies, 0.95),
        "mean_s": round(statistics.mean(latencies), 3) if latencies else None,
        "status_codes": codes,
        "server_errors": sum(
            n for code, n in codes.items() if code.startswith("5") or code == "-1"
        ),
    }


def timed(call) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        status = call().status_code
    except requests.RequestException:
        status = -1  # no answer at all counts as an error
    return status, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument(
        "--search-concurrency",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[200, 8],
        help="searches in flight at once, one round of --searches each (the first is the target's)",
    )
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks/results/load.json")
    options = parser.parse_args()
    videos = sorted((DATA / "videos").glob("*.mp4"))
    uploads = [videos[i % len(videos)] for i in range(options.uploads)]

    data_dir = Path(tempfile.mkdtemp(prefix="faaaaaces-load-"))
    env = {
        **os.environ,
        "FAAAAACES_DATA_DIR": str(data_dir),
        "FAAAAACES_IGNORE_DOTENV": "1",
        "DJANGO_SETTINGS_MODULE": "faaaaaces.settings",
        "FAAAAACES_MODELS_DIR": str(REPO / "data" / "models"),
    }
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    token = (
        subprocess.run(
            [
                python,
                "manage.py",
                "shell",
                "-c",
                MAKE_TOKEN,
            ],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    port = free_port()
    server = subprocess.Popen(
        ["bash", "scripts/run_dev.sh", python, f"127.0.0.1:{port}"],
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api, headers = f"http://127.0.0.1:{port}/api", {"Authorization": f"Token {token}"}
    started = time.monotonic()
    try:
        while True:
            try:
                if requests.get(f"{api}/jobs/", headers=headers, timeout=5).ok:
                    break
            except requests.RequestException:  # not listening yet, or still starting
                pass
            if time.monotonic() - started > 120:
                raise SystemExit("the server did not start")
            time.sleep(0.5)

        def upload(path: Path):
            with open(path, "rb") as handle:
                return requests.post(
                    f"{api}/upload_video",
                    headers=headers,
                    files={"file": (path.name, handle)},
                    timeout=120,
                )

        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(uploads)) as pool:
            upload_timings = list(pool.map(lambda p: timed(lambda: upload(p)), uploads))
        upload_result = summary(upload_timings, time.perf_counter() - began)

        photos = [p.read_bytes() for p in PHOTOS]

        def search(number: int):
            return requests.post(
                f"{api}/search/",
                headers=headers,
                timeout=120,
                files={"photo": ("q.jpg", photos[number % len(photos)])},
            )

        search_results = {}
        for concurrency in options.search_concurrency:
            began = time.perf_counter()
            with ThreadPoolExecutor(max_workers=min(concurrency, options.searches)) as pool:
                search_timings = list(
                    pool.map(lambda n: timed(lambda: search(n)), range(options.searches))
                )
            search_results[concurrency] = summary(search_timings, time.perf_counter() - began)
        search_result = search_results[options.search_concurrency[0]]

        database = data_dir / "faaaaaces.sqlite3"
        while time.monotonic() - started < DEADLINE_S:
            with sqlite3.connect(database, timeout=30) as db:
                open_jobs = db.execute(OPEN_JOBS).fetchone()[0]
            if not open_jobs:
                break
            time.sleep(1)
        jobs_done_s = time.monotonic() - started
        with sqlite3.connect(database, timeout=30) as db:
            statuses = dict(db.execute(JOB_STATUSES).fetchall())
            jobs = db.execute("SELECT COUNT(*) FROM ingestion_ingestjob").fetchone()[0]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a worker finishing a job: not worth waiting for
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)

    accepted = upload_result["status_codes"].get("202", 0)
    result = {
        "cpu": cpu(),
        "uploads": upload_result,
        "searches": search_result,
        # The same searches with fewer in flight at once: the latency of a steady load rather
        # than of one burst (on 2 cores a burst of 200 waits for ~200 x the CPU of one search).
        "searches_by_concurrency": {str(c): r for c, r in search_results.items()},
        "load_average_1min": round(os.getloadavg()[0], 2),
        "jobs": {
            "accepted_uploads": accepted,
            "jobs": jobs,
            "statuses": statuses,
            "lost_or_duplicated": abs(jobs - accepted),
            "all_finished_after_s": round(jobs_done_s, 1),
        },
        "targets": {
            "zero_5xx": upload_result["server_errors"]
            + sum(r["server_errors"] for r in search_results.values())
            == 0,
            "zero_lost_or_duplicated_jobs": jobs == accepted and statuses.get("done") == jobs,
            "search_p95_under_1_s": (search_result["p95_s"] or 99) <= 1.0,
        },
    }
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
