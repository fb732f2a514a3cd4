"""What adding a video, re-clustering, reindexing and search by photo cost as the catalog grows.

    .venv/bin/python benchmarks/catalog_scale.py [--sizes 10000,100000,1000000] [--output FILE]
                                                 [--videos 5] [--searches 20]
                                                 [--steps reindex,add_videos,search,recluster]

For each size, a synthetic catalog is built in bulk in a throwaway data folder, shaped as the
code writes it: 30 tracks a video, 3 faces a track, 128-d unit vectors around one identity per
~30 faces (each video shows 10 identities, 3 tracks each; neighbouring tracks of a video are on
screen together and are different identities), one person per identity as grouping would have
made them, 1 % of them named by a curator. The index owner (`manage.py serve_index`, as `make
run` starts it) holds the index. Then, each step in a process of its own (its peak RSS is that
step's):
- `reindex`: the index rebuilt from the database (what `manage.py reindex` runs: the points
  written, the search graph left to the owner), then the wait until the owner has built it, and
  index queries before and after, and recall@10 against the exact nearest faces (the next
  steps run on the built graph, as before);
- adding a video: the catalog's files dropped from the page cache first (at every size: as
  the kernel does with files left alone a while, and as a 10^6 catalog made minutes earlier
  already is; what the index owner keeps mapped stays), then `--videos` new videos of 30
  tracks (2/3 of them identities already known, 1/3 new), each grouped
  (`assign_people_to_video`) and indexed (`index_video_faces`) as the ingest job does (the
  face pipeline itself excluded), with how many tracks went to the right person;
- search by photo through the API (`POST /api/search/`, a real photo: detection, embedding,
  index query, the people), `--searches` times;
- re-clustering (`recluster_people`), with how many faces it moved.
Results (one entry per size, with CPU model and flags and the 1-minute load average after each
step: the machine is shared) go to benchmarks/results/catalog_scale.json; a Markdown table is
printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from cpu_info import cpu_model_and_flags, instruction_set

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "catalog_scale.json"
PHOTO = REPO.parent / "shared" / "data" / "people" / "barack_obama"
DIMENSION = 128
FACES_PER_TRACK = 3
TRACKS_PER_VIDEO = 30
IDENTITIES_PER_VIDEO = 10
BATCH = 5000
GRAPH_WAIT_S = 3600  # how long the reindex step waits for the owner to build the search graph
# Spread of a face around its identity (cosine ~0.75 to it, ~0.55 to another face of it, like
# SFace on one person) and of a track's centre around the identity (pose, light).
FACE_NOISE = 0.078
TRACK_NOISE = 0.04
TARGETS = {
    "add_video_s": "≤ 1 s at 10⁶ faces, at most twice the time at 10⁴",
    "recluster_s": "≤ 60 s at 10⁵, ≤ 15 min at 10⁶",
    "recluster_peak_rss_gb": "≤ 4 GB at 10⁶",
    "reindex_s": "≤ 30 s at 10⁵",
    "search_p50_ms": "≤ 300 ms at 10⁶ (end to end, through the API)",
}


def machine() -> dict:
    model, flags = cpu_model_and_flags()
    wanted = (
        "avx2",
        "avx512f",
        "avx512_vnni",
        "avx512_bf16",
        "amx_bf16",
        "amx_tile",
        "fma",
        "f16c",
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "flags": sorted(flags & set(wanted)),
        "instruction_set": instruction_set(),
        "platform": platform.platform(),
    }


def load_1min() -> float:
    return round(os.getloadavg()[0], 2)


def peak_rss_gb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 3)


def evict_from_page_cache(data_dir: str) -> float:
    """Drop the catalog's files from the page cache, as the kernel does with files left alone
    a while: a 10^6 catalog generated and indexed a quarter of an hour earlier already is out of
    it, a 10^4 one made seconds earlier is not, and adding a video is to be compared at the two
    sizes from the same start. Pages the index owner holds mapped (what it keeps in memory)
    stay. Returns the GB looked at."""
    total = 0
    for path in Path(data_dir).rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            total += path.stat().st_size
    return round(total / 1024**3, 2)


def setup_django(data_dir: str) -> None:
    os.environ["FAAAAACES_IGNORE_DOTENV"] = "1"
    os.environ["FAAAAACES_DATA_DIR"] = data_dir
    os.environ.setdefault("FAAAAACES_MODELS_DIR", str(REPO / "data" / "models"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "faaaaaces.settings"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["SEARCH_RATE_LIMIT"] = "100000/minute"
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


# --- the synthetic catalog ----------------------------------------------------------------------


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def identity_centres(count: int, seed: int = 11) -> np.ndarray:
    return unit_rows(np.random.default_rng(seed).normal(size=(count, DIMENSION)))


def video_tracks(rng, centres: np.ndarray, identities: np.ndarray) -> tuple[list, np.ndarray]:
    """One video: per track its identity, frames and 3 face vectors. Track j is on screen over
    frames [10 j, 10 j + 15): each overlaps the next one, which is another identity."""
    per_track = np.resize(identities, TRACKS_PER_VIDEO)  # round robin: neighbours differ
    tracks = []
    for j, identity in enumerate(per_track):
        centre = unit_rows(centres[identity] + TRACK_NOISE * rng.normal(size=(1, DIMENSION)))
        faces = unit_rows(centre + FACE_NOISE * rng.normal(size=(FACES_PER_TRACK, DIMENSION)))
        frames = list(range(10 * j, 10 * j + 15, 3))
        tracks.append((int(identity), frames, faces))
    return tracks, per_track


def face_qualities() -> list[float]:
    return [0.6 + 0.1 * k for k in range(FACES_PER_TRACK)]


def write_video(number: int, tracks: list, person_of_identity: dict | None, status: str):
    """Rows as ingestion writes them: the video, its tracks (with detections and template),
    their faces."""
    from catalog.grouping import track_template
    from catalog.models import Face, Track, Video

    video = Video.objects.create(
        source="upload", original_name=f"video_{number}.mp4", file=f"videos/bench/{number}.mp4",
        content_sha256=f"{number:064x}", duration_s=60.0, status=status,
    )  # fmt: skip
    track_rows = []
    for j, (_, frames, vectors) in enumerate(tracks):
        template = track_template(vectors, face_qualities())
        track_rows.append(
            Track(video=video, index_in_video=j, start_time_s=frames[0] / 5,
                  end_time_s=frames[-1] / 5,
                  detections=[[f / 5, f, 10, 10, 80, 80, 0.99] for f in frames],
                  template=template.tobytes(), template_model="SFace")
        )  # fmt: skip
    track_rows = Track.objects.bulk_create(track_rows)
    faces = []
    for track, (identity, frames, vectors) in zip(track_rows, tracks, strict=True):
        person = None if person_of_identity is None else person_of_identity[identity]
        for k, vector in enumerate(vectors):
            faces.append(
                Face(video=video, track=track, person_id=person, time_s=frames[k] / 5,
                     frame_index=frames[k], box_x=10, box_y=10, box_w=80, box_h=80,
                     detector_confidence=0.99, quality=face_qualities()[k],
                     crop=f"faces/bench/{number}_{track.index_in_video}_{k}.jpg",
                     embedding=vector.tobytes(), embedding_model="SFace",
                     embedding_dim=DIMENSION)
            )  # fmt: skip
    return video, faces


def generate(size: int) -> dict:
    """The catalog of `size` faces, with one person per identity; nothing indexed yet."""
    from catalog.models import Face, Person

    started = time.perf_counter()
    rng = np.random.default_rng(size)
    videos = max(1, size // (TRACKS_PER_VIDEO * FACES_PER_TRACK))
    identities = max(IDENTITIES_PER_VIDEO, size // 30)
    centres = identity_centres(identities)
    people = Person.objects.bulk_create(
        (Person(name=f"Person {i}" if i % 100 == 0 else "", named_by_curator=i % 100 == 0)
         for i in range(identities)),
        batch_size=BATCH,
    )  # fmt: skip
    person_of_identity = {i: p.id for i, p in enumerate(people)}
    pending = []
    for number in range(videos):
        chosen = rng.choice(identities, size=IDENTITIES_PER_VIDEO, replace=False)
        tracks, _ = video_tracks(rng, centres, chosen)
        _, faces = write_video(number, tracks, person_of_identity, "ready")
        pending += faces
        if len(pending) >= BATCH:
            Face.objects.bulk_create(pending, batch_size=BATCH)
            pending = []
    Face.objects.bulk_create(pending, batch_size=BATCH)
    covers = dict(Face.objects.order_by("person_id", "-id").values_list("person_id", "id"))
    Person.objects.bulk_update(
        [Person(id=p, cover_face_id=f) for p, f in covers.items()], ["cover_face"], batch_size=BATCH
    )
    return {
        "faces": Face.objects.count(),
        "tracks": videos * TRACKS_PER_VIDEO,
        "videos": videos,
        "identities": identities,
        "generate_s": round(time.perf_counter() - started, 1),
    }


# --- the steps, each run in a process of its own ------------------------------------------------


def index_query_ms(index, count: int = 500, warm_up: int = 20) -> tuple[float, float]:
    """p50 and p95 of one index search (k = 10) near a random identity, through the owner,
    after `warm_up` searches not counted (the first after a new graph is swapped in read its
    pages from disk: that is the swap's cost, not a search's; until 2bcc04e 100 searches were
    timed with none before)."""
    centres, rng, times = (
        identity_centres(max(IDENTITIES_PER_VIDEO, 1000)),
        np.random.default_rng(3),
        [],
    )
    for _ in range(warm_up + count):
        query = unit_rows(
            centres[rng.integers(len(centres))] + FACE_NOISE * rng.normal(size=(1, DIMENSION))
        )
        started = time.perf_counter()
        index.search(query[0], limit=10)
        times.append((time.perf_counter() - started) * 1000)
    times = times[warm_up:]
    return round(float(np.percentile(times, 50)), 2), round(float(np.percentile(times, 95)), 2)


def index_recall_at_10(index, count: int = 100) -> dict:
    """recall@10 of the index's search (rescored, as search by photo asks) against the exact
    nearest faces over every face of the catalog; each query is near the centre of an identity
    the catalog holds, as a new track of a known person is. Also what the product needs of it:
    the share of the exact 10 nearest that are the queried person's own faces that it finds
    (the rest are other people's, by chance about as near: with random identities in 128
    dimensions, at cosine ~0.4, beyond any match)."""
    from catalog.models import Face, Person

    ids, vectors, people = [], [], []
    for face_id, embedding, person_id in Face.objects.values_list(
        "id", "embedding", "person_id"
    ).iterator(chunk_size=20_000):
        ids.append(face_id)
        vectors.append(np.frombuffer(embedding, dtype=np.float32))
        people.append(person_id)
    ids, vectors, people = np.asarray(ids), unit_rows(np.stack(vectors)), np.asarray(people)
    identity_of = {
        p: i for i, p in enumerate(Person.objects.order_by("id").values_list("id", flat=True))
    }
    centres = identity_centres(len(identity_of))
    rng, recalls, own_found, own_exact = np.random.default_rng(4), [], 0, 0
    for _ in range(count):
        person = people[int(rng.integers(len(people)))]
        query = unit_rows(
            centres[identity_of[person]] + FACE_NOISE * rng.normal(size=(1, DIMENSION))
        )
        nearest = np.argsort(-(vectors @ query[0]))[:10]
        found = {hit.face_id for hit in index.search(query[0], limit=10)}
        recalls.append(len(set(ids[nearest].tolist()) & found) / 10)
        own = ids[nearest][people[nearest] == person].tolist()
        own_exact += len(own)
        own_found += len(found.intersection(own))
    return {
        "index_recall_at_10": round(float(np.mean(recalls)), 4),
        "index_recall_at_10_own_faces": round(own_found / max(own_exact, 1), 4),
    }


def step_reindex() -> dict:
    """`reindex` (it writes the points; the owner builds the search graph when idle), then how
    long the owner took to build it and what an index query costs before and after."""
    from catalog.services.index_sync import get_face_index, get_track_index
    from search.services.index_maintenance import rebuild_index

    index = get_face_index("SFace", DIMENSION)
    tracks = get_track_index("SFace", DIMENSION)  # (rebuilt by reindex too; its graph as well)
    started = time.perf_counter()
    indexed = rebuild_index("SFace")
    result = {"reindex_s": round(time.perf_counter() - started, 2), "indexed": indexed}
    result["reindex_load_1min_at_end"] = load_1min()
    p50, p95 = index_query_ms(index)
    result |= {"index_query_before_graph_p50_ms": p50, "index_query_before_graph_p95_ms": p95}
    started = time.perf_counter()
    while not index.status().optimised and time.perf_counter() - started < GRAPH_WAIT_S:
        time.sleep(6)  # longer than the owner's idle time: polling does not keep it busy
    result["graph_built_after_s"] = round(time.perf_counter() - started, 1)
    result["graph_built"] = index.status().optimised
    while not tracks.status().optimised and time.perf_counter() - started < GRAPH_WAIT_S:
        time.sleep(6)
    result["track_graph_built_after_s"] = round(time.perf_counter() - started, 1)
    result["track_points"] = tracks.count()
    p50, p95 = index_query_ms(index)
    result |= {"index_query_after_graph_p50_ms": p50, "index_query_after_graph_p95_ms": p95}
    # ... and once the owner has served a while (a loaded shard's files are mapped in page by
    # page: its first few hundred searches are 2-3x slower at 10^6)
    p50, p95 = index_query_ms(index, count=1000, warm_up=1000)
    result |= {"index_query_steady_p50_ms": p50, "index_query_steady_p95_ms": p95}
    result |= index_recall_at_10(index)
    return result


def step_add_videos(count: int) -> dict:
    """New videos grouped and indexed as the ingest job does; returns the median times."""
    from django.db.models import Max

    from catalog.models import Face, Person, Video
    from catalog.services.clustering import assign_people_to_video
    from ingestion.services.processing import index_video_faces

    identities = Person.objects.count()
    centres = identity_centres(identities)
    person_of_identity = dict(enumerate(Person.objects.order_by("id").values_list("id", flat=True)))
    first_number = (Video.objects.aggregate(n=Max("id"))["n"] or 0) + 1000
    grouping, indexing, right, placed = [], [], 0, 0
    rng = np.random.default_rng(first_number)
    for number in range(first_number, first_number + count):
        known = rng.choice(identities, size=IDENTITIES_PER_VIDEO * 2 // 3, replace=False)
        new_centres = identity_centres(IDENTITIES_PER_VIDEO - len(known), seed=number)
        all_centres = np.concatenate([centres, new_centres])
        chosen = np.concatenate([known, identities + np.arange(len(new_centres))])
        tracks, per_track = video_tracks(rng, all_centres, chosen)
        video, faces = write_video(number, tracks, None, "processing")
        Face.objects.bulk_create(faces)
        started = time.perf_counter()
        summary = assign_people_to_video(video)
        grouping.append(time.perf_counter() - started)
        started = time.perf_counter()
        index_video_faces(video, summary)
        indexing.append(time.perf_counter() - started)
        Video.objects.filter(id=video.id).update(status="ready")
        person_of_track = dict(video.faces.values_list("track__index_in_video", "person_id"))
        for j, identity in enumerate(per_track):
            if identity < identities:
                placed += 1
                right += person_of_track[j] == person_of_identity[int(identity)]
    totals = [g + i for g, i in zip(grouping, indexing, strict=True)]
    return {
        "add_video_grouping_s": round(statistics.median(grouping), 3),
        "add_video_indexing_s": round(statistics.median(indexing), 3),
        "add_video_s": round(statistics.median(totals), 3),
        "add_video_s_each": [round(total, 3) for total in totals],
        "known_tracks_placed_right": f"{right}/{placed}",
    }


def step_search(count: int) -> dict:
    from django.contrib.auth.models import User
    from django.test.utils import setup_test_environment
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    setup_test_environment()
    user, _ = User.objects.get_or_create(username="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    photo = sorted(PHOTO.iterdir())[0]
    times_ms = []
    for attempt in range(count + 2):
        with photo.open("rb") as handle:
            started = time.perf_counter()
            response = client.post("/api/search/", {"photo": handle}, format="multipart")
            elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.content[:300]
        if attempt >= 2:  # the first two load the face models
            times_ms.append(elapsed)
    quantiles = statistics.quantiles(times_ms, n=20)
    return {
        "search_p50_ms": round(statistics.median(times_ms), 1),
        "search_p95_ms": round(quantiles[18], 1),
        "search_people_found": len(response.json()["people"]),
    }


def step_recluster() -> dict:
    from catalog.models import Person
    from catalog.services.clustering import recluster_people

    people_before = Person.objects.count()
    started = time.perf_counter()
    summary = recluster_people()
    return {
        "recluster_s": round(time.perf_counter() - started, 1),
        "recluster_tracks": summary.tracks,
        "recluster_people_before": people_before,
        "recluster_people_after": summary.people,
        "recluster_moved_faces": sum(len(v) for v in summary.moved_faces.values()),
    }


def run_step(step: str, data_dir: str, *extra: str) -> dict:
    """One step in a child process; its JSON answer, with its peak RSS and the load after."""
    command = [sys.executable, __file__, "--step", step, "--data-dir", data_dir, *extra]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    if done.returncode:
        raise RuntimeError(f"step {step} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result[f"{step}_load_1min"] = load_1min()
    return result


def child(step: str, data_dir: str, argument: int) -> None:
    setup_django(data_dir)
    if step == "generate":
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        result = generate(argument)
    elif step == "reindex":
        result = step_reindex()
    elif step == "add_videos":
        result = step_add_videos(argument)
    elif step == "search":
        result = step_search(argument)
    elif step == "recluster":
        result = step_recluster()
    else:
        raise SystemExit(f"unknown step {step}")
    result[f"{step}_peak_rss_gb"] = peak_rss_gb()
    print(json.dumps(result))


def owner_rss_gb(pid: int) -> float | None:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024**2, 3)
    return None


STEPS = ("reindex", "add_videos", "search", "recluster")


def measure_size(size: int, videos: int, searches: int, steps=STEPS) -> dict:
    data_dir = tempfile.mkdtemp(prefix=f"faaaaaces-scale-{size}-")
    environment = os.environ | {"FAAAAACES_DATA_DIR": data_dir, "FAAAAACES_IGNORE_DOTENV": "1"}
    environment.setdefault("FAAAAACES_MODELS_DIR", str(REPO / "data" / "models"))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=REPO, check=False).stdout.strip()  # fmt: skip
    result: dict = {"size": size, "commit": commit, "machine": machine()}
    owner = None
    try:
        result |= run_step("generate", data_dir, "--argument", str(size))
        print(f"{size}: generated {result['faces']} faces in {result['generate_s']} s", flush=True)
        owner = subprocess.Popen(
            [sys.executable, "manage.py", "serve_index"], cwd=REPO, env=environment,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        socket_path = Path(data_dir) / "qdrant" / "owner.sock"
        deadline = time.monotonic() + 60
        while not socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        arguments = {"add_videos": ("--argument", str(videos)),
                     "search": ("--argument", str(searches))}  # fmt: skip
        for step in STEPS:
            if step != "reindex" and step not in steps:
                continue  # (the index is always filled: the other steps need it)
            if step == "add_videos":
                result["add_video_evicted_gb"] = evict_from_page_cache(data_dir)
            result |= run_step(step, data_dir, *arguments.get(step, ()))
            result[f"{step}_commit"] = commit
            print(f"{size}: {step} done", flush=True)
        result["index_owner_peak_rss_gb"] = owner_rss_gb(owner.pid)
    finally:
        if owner is not None:
            owner.terminate()
            owner.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
    return result


def markdown(results: list[dict]) -> str:
    lines = [
        "| faces | add a video (grouping + indexing) | re-cluster | re-cluster peak RSS | "
        "`reindex` (graph built by the owner after) | search by photo p50 / p95 (API) | "
        "known tracks placed right | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        r = defaultdict(lambda: "-", r)  # steps not measured (--steps) show as "-"
        lines.append(
            f"| {r['faces']:,} | {r['add_video_s']} s ({r['add_video_grouping_s']} + "
            f"{r['add_video_indexing_s']}) | {r['recluster_s']} s | "
            f"{r['recluster_peak_rss_gb']} GB | {r['reindex_s']} s "
            f"({r['graph_built_after_s']} s) | "
            f"{r['search_p50_ms']} / {r['search_p95_ms']} ms | {r['known_tracks_placed_right']} | "
            f"{r['recluster_load_1min']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--videos", type=int, default=5)
    parser.add_argument("--searches", type=int, default=20)
    parser.add_argument(
        "--steps",
        default=",".join(STEPS),
        help="steps to measure (reindex always runs); figures of steps not run stay in the file",
    )
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--argument", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        child(args.step, args.data_dir, args.argument)
        return
    # Sizes measured before and not now stay in the file (one entry per size).
    kept = []
    if args.output.exists():
        before = json.loads(args.output.read_text())
        # (files from before each entry named its machine: the file's one machine was theirs)
        kept = [{"machine": before.get("machine")} | r for r in before["results"]]
    results = []
    steps = tuple(args.steps.split(","))
    for size in (int(s) for s in args.sizes.split(",")):
        earlier = next((r for r in kept if r["size"] == size), {})
        results.append(earlier | measure_size(size, args.videos, args.searches, steps))
        measured = {r["size"] for r in results}
        entries = sorted([r for r in kept if r["size"] not in measured] + results,
                         key=lambda r: r["size"])  # fmt: skip
        report = {"targets": TARGETS, "results": entries}  # each entry names its machine
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(entries))


if __name__ == "__main__":
    main()
