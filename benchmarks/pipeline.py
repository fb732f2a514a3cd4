"""Our video pipeline against the naive DeepFace loop, side by side, on the same videos.

    .venv/bin/python benchmarks/pipeline.py [DATASET_DIR] [--fps 1] [--long] [--profile]
                                            [--output FILE]
    .venv/bin/python benchmarks/pipeline.py --end-to-end [--inputs-dir DIR] [--rounds N]
                                            [--only "<=720p"|1080p] [--ours-only]
                                            [--against OTHER_CHECKOUT]

- naive (GitHub issue 6): every sampled frame (OpenCV's reader, grabbing every frame as a
  script would; our rate and times) goes to `DeepFace.represent` with our detector and model,
  every face found is embedded, and all faces of all videos are grouped by average linkage at
  DeepFace's verification threshold.
- ours: `process_video` on each video, then all tracks grouped as `manage.py cluster` does.

Each side runs in its own process (models loaded once, load time apart), so peak RSS is its
own. Per video and in total: wall and CPU seconds, real-time factor, frames decoded and sampled,
faces detected and embedded, tracks, people, detection recall and BCubed F against the
`.truth.json` files. `--fps` sets both sampling rates (default: our setting). `--long` adds
1- and 10-minute 1280x720 and a 1-minute 1920x1080 H.264 video joined from the shared videos
with people in them (imageio-ffmpeg's ffmpeg), each run in its own process: time and memory
must grow linearly, and the real-time factor of 720p and 1080p input is measured on minutes,
not on the few seconds of the shared 1080p clip.
`--profile` adds a pyinstrument summary of our side from a separate run, so the timings carry
no profiler overhead. Writes benchmarks/results/pipeline.json (pipeline_fps<N>.json at other
rates, pipeline_profile.txt) and prints Markdown. `--end-to-end` times whole `manage.py ingest`
processes instead (`pipeline_e2e.py`; results/pipeline_end_to_end.json). The machine is shared:
load averages are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

import numpy as np
from pipeline_report import by_resolution, machine, markdown

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faaaaaces.settings")
RESULTS = REPO / "benchmarks" / "results"
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov"}
PROFILE_LINES = 40


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def elapsed(since: tuple[float, float]) -> dict:
    """Wall seconds, and CPU seconds of all this process's threads (less hurt by other load)."""
    wall_s, cpu_s = time.perf_counter() - since[0], time.process_time() - since[1]
    return {"seconds": wall_s, "cpu_seconds": cpu_s}


def naive_side(paths: list[Path], fps: float | None) -> dict:
    """DeepFace.represent on every sampled frame, every real face embedded, grouped naively."""
    from deepface.commons import weight_utils
    from django.conf import settings

    from catalog.engine import pipeline_config
    from ingestion.pipeline.thresholds import verification_distance
    from ingestion.pipeline.weights import deepface_environment, weights_dir

    config = pipeline_config()
    fps = fps or config.sample_fps
    requested: dict[str, bool] = {}
    started = time.perf_counter()
    with deepface_environment(settings.FACE_MODELS_DIR, False):
        from deepface import DeepFace

        guard = weight_utils.download_weights_if_necessary  # refuses to download: record it too

        def record(file_name: str, source_url, compress_type=None) -> str:
            requested[file_name] = (weights_dir(settings.FACE_MODELS_DIR) / file_name).is_file()
            return guard(file_name, source_url, compress_type)

        weight_utils.download_weights_if_necessary = record  # the environment restores it

        represent = partial(DeepFace.represent, model_name=config.recognition_model,
                            detector_backend=config.detector_backend,
                            enforce_detection=False, align=True)  # fmt: skip
        represent(np.zeros((64, 64, 3), dtype=np.uint8))  # loads both models
        load_s = time.perf_counter() - started
        rows, items, vectors = [], [], []
        for number, path in enumerate(paths):
            since = clock()
            capture, info = naive_open(path)
            row = video_row(path, info)
            samples = []
            try:
                for frame_index, time_s, image in naive_frames(capture, info, fps):
                    row["frames_sampled"] += 1
                    row["frames_decoded"] = frame_index + 1
                    boxes = []
                    for found in represent(image):
                        if found.get("face_confidence", 0) <= 0:
                            continue  # DeepFace's "no face" placeholder: the whole frame
                        area = found["facial_area"]
                        box = [area["x"], area["y"], area["w"], area["h"]]
                        boxes.append(box)
                        items.append((number, [[time_s, frame_index, *box]]))
                        vector = np.asarray(found["embedding"], dtype=np.float32)
                        vectors.append(vector / np.linalg.norm(vector))
                    row["faces_detected"] += len(boxes)
                    samples.append((time_s, boxes))
            finally:
                capture.release()
            row.update(elapsed(since), faces_embedded=row["faces_detected"], samples=samples)
            rows.append(row)
    side_config = {"sample_fps": fps, "detector_backend": config.detector_backend,
                   "recognition_model": config.recognition_model, "algorithm": "agglomerative",
                   "distance_threshold": verification_distance(config.recognition_model),
                   "weight_files_requested_and_present": requested}  # fmt: skip
    return finish_side(rows, items, vectors, [], side_config, load_s)


def naive_open(path: Path):
    """OpenCV's reader, as a DeepFace script would use it."""
    import cv2

    from ingestion.pipeline.frames import VideoInfo

    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    return capture, VideoInfo(fps, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)),
                              int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                              int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))  # fmt: skip


def naive_frames(capture, info, fps: float):
    """(frame index, time, BGR image) every 1/fps s: every frame grabbed (decoded), the sampled
    ones converted; the same times as our reader, within a frame."""
    import cv2

    next_time_s, frame_index = 0.0, -1
    while capture.grab():
        frame_index += 1
        position_ms = capture.get(cv2.CAP_PROP_POS_MSEC)
        time_s = position_ms / 1000.0 if position_ms > 0 and frame_index else frame_index / info.fps
        if time_s + 0.5 / info.fps < next_time_s:
            continue
        ok, image = capture.retrieve()
        if ok:
            yield frame_index, round(time_s, 3), image
        while next_time_s <= time_s + 0.5 / info.fps:
            next_time_s += 1.0 / fps


def load_engine(fps: float | None):
    """The engine the product uses, or one like it at another sampling rate."""
    from django.conf import settings

    from catalog.engine import get_face_engine, pipeline_config
    from ingestion.pipeline.video import FaceEngine

    config = pipeline_config()
    if fps is None or fps == config.sample_fps:
        return get_face_engine()
    return FaceEngine(replace(config, sample_fps=fps), settings.FACE_MODELS_DIR)


def our_side(paths: list[Path], fps: float | None) -> dict:
    """process_video on each video, then all tracks grouped as `manage.py cluster` does."""
    from django.conf import settings

    from catalog.services.catalog_tracks import on_screen_together
    from catalog.services.clustering import grouping_threshold
    from ingestion.pipeline.video import process_video

    started = time.perf_counter()
    engine = load_engine(fps)
    load_s = time.perf_counter() - started
    rows, items, vectors = [], [], []
    for number, path in enumerate(paths):
        since = clock()
        found = process_video(path, engine)
        timing = elapsed(since)
        boxes_at: dict[float, list] = {}
        for track in found.tracks:
            items.append((number, track.detections))
            mean = np.mean([f.embedding for f in track.best_faces], axis=0)
            vectors.append(mean / np.linalg.norm(mean))
            for detection in track.detections:
                boxes_at.setdefault(detection[0], []).append(detection[2:6])
        row = video_row(path, found.info)
        row.update(timing, frames_decoded=found.frames_decoded,
                   frames_sampled=found.frames_sampled, faces_detected=found.faces_detected,
                   faces_embedded=found.faces_embedded, tracks=len(found.tracks),
                   samples=[(t, boxes_at.get(t, [])) for t in found.sample_times_s])  # fmt: skip
        rows.append(row)
    frames = [frozenset(int(d[1]) for d in detections) for _, detections in items]
    cannot_link = [
        (a, b)
        for a in range(len(items))
        for b in range(a + 1, len(items))
        if on_screen_together(items[a][0], frames[a], items[b][0], frames[b])
    ]
    model = engine.config.recognition_model
    side_config = {**asdict(engine.config), "algorithm": settings.CLUSTERING_ALGORITHM,
                   "distance_threshold": grouping_threshold(model)}  # fmt: skip
    return finish_side(rows, items, vectors, cannot_link, side_config, load_s)


def profile_side(paths: list[Path], fps: float | None) -> dict:
    """Where our time goes over all videos: the CPU seconds of each pipeline thread, then
    pyinstrument's call tree of the main thread (tracking and embedding; waiting for the decoding
    and detection threads shows as Queue.get), trimmed."""
    from pyinstrument import Profiler

    from ingestion.pipeline import prefetch
    from ingestion.pipeline.video import process_video

    engine = load_engine(fps)
    cpu_by_thread: dict[str, float] = {}
    stage_run = prefetch.Prefetcher._run

    def counted_run(self) -> None:  # the CPU time of each stage's own thread
        started = time.thread_time()
        stage_run(self)
        name = self._thread.name
        cpu_by_thread[name] = cpu_by_thread.get(name, 0.0) + time.thread_time() - started

    prefetch.Prefetcher._run = counted_run
    profiler = Profiler(interval=0.005)
    main_started, wall_started = time.thread_time(), time.perf_counter()
    profiler.start()
    for path in paths:
        process_video(path, engine)
    profiler.stop()
    cpu_by_thread["main (tracking, embedding)"] = time.thread_time() - main_started
    wall_s = time.perf_counter() - wall_started
    prefetch.Prefetcher._run = stage_run
    threads = ", ".join(f"{name} {seconds:.2f}" for name, seconds in cpu_by_thread.items())
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    summary = f"CPU seconds by thread in {wall_s:.2f} s (with the profiler): {threads}\n\n"
    trimmed = "\n".join(text.strip("\n").splitlines()[:PROFILE_LINES]) + "\n"
    return {"profile": summary + trimmed, "cpu_seconds_by_thread": cpu_by_thread}


def video_row(path: Path, info) -> dict:
    return {"video": path.name, "path": str(path), "duration_s": info.duration_s,
            "width": info.width, "height": info.height, "frames_decoded": 0,
            "frames_sampled": 0, "faces_detected": 0, "faces_embedded": 0}  # fmt: skip


def finish_side(rows, items, vectors, cannot_link, side_config, load_s) -> dict:
    """Group all items (tracks, or faces for naive), score against the truth files, add totals.

    `items` holds (video number, detections) per grouped vector; a naive face is its own item.
    """
    from catalog.grouping import group_vectors
    from evaluation import scoring

    since = clock()
    matrix = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1 if vectors else 1)
    labels = group_vectors(matrix,
                           cannot_link, algorithm=side_config["algorithm"],
                           distance_threshold=side_config["distance_threshold"])  # fmt: skip
    grouping_s = elapsed(since)["seconds"]
    named, appearances = [], []
    for number, row in enumerate(rows):
        own = [i for i, (video, _) in enumerate(items) if video == number]
        row["people"] = len({int(labels[i]) for i in own})
        row["realtime_factor"] = row["duration_s"] / max(row["seconds"], 1e-9)
        truth_path = Path(row.pop("path")).with_suffix(".truth.json")
        samples = row.pop("samples")
        if not truth_path.exists():
            continue
        truth = scoring.VideoTruth.load(truth_path)
        found = scoring.labeled_appearances(truth, samples)
        appearances += found
        recall = scoring.detection_recall(found)
        row["detection_recall"] = recall.rate
        row["appearances_found"], row["appearances_labeled"] = recall.found, recall.total
        video_named = [
            (name, int(labels[i]))
            for name, i in scoring.name_track_detections(truth, [(i, items[i][1]) for i in own])
        ]
        row["bcubed_f"] = scoring.bcubed_scores(video_named).f if video_named else None
        named += video_named
    summed = ["duration_s", "seconds", "cpu_seconds", "frames_decoded", "frames_sampled"]
    summed += ["faces_detected", "faces_embedded"]
    totals = {key: sum(row[key] for row in rows) for key in summed}
    recall = scoring.detection_recall(appearances)
    totals.update(tracks=len(items) if "tracks" in rows[0] else None,
                  people=len(set(labels.tolist())),
                  realtime_factor=totals["duration_s"] / max(totals["seconds"], 1e-9),
                  detection_recall=recall.rate, appearances_found=recall.found,
                  appearances_labeled=recall.total, scored_detections=len(named),
                  bcubed_f=scoring.bcubed_scores(named).f if named else None)  # fmt: skip
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"config": side_config, "load_models_s": load_s, "grouping_s": grouping_s,
            "videos": rows, "totals": totals, "peak_rss_mb": peak_rss_mb,
            "load_average_1min_at_end": os.getloadavg()[0]}  # fmt: skip


def run_side(side: str, paths: list[Path], fps: float | None) -> dict:
    """One side in a fresh process, so its peak memory and model loading are its own."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as output:
        result_path = Path(output.name)
    command = [sys.executable, __file__, "--side", side, "--side-output", str(result_path)]
    command += ["--fps", str(fps)] if fps else []
    subprocess.run([*command, "--videos", *map(str, paths)], check=True)
    result = json.loads(result_path.read_text())
    result_path.unlink()
    return result


def make_long_videos(sources: list[Path], folder: Path) -> list[Path]:
    """1- and 10-minute 1280x720 and 1-minute 1920x1080 25 fps H.264 videos: the sources end to
    end, repeated (so the 1080p one is upscaled: real 1080p decoding, faces as in the sources).

    Each source is brought to one format first (scaled and padded) so the pieces join without
    re-encoding; the 10-minute video is the 1-minute one ten times.
    """
    one_minute = _joined_minute(sources, folder, 1280, 720, "long_1min.mp4")
    ten_minutes = folder / "long_10min.mp4"
    subprocess.run([*_ffmpeg(), "-stream_loop", "9", "-i", str(one_minute), "-c", "copy",
                    str(ten_minutes)], check=True)  # fmt: skip
    return [one_minute, ten_minutes, _joined_minute(sources, folder, 1920, 1080, "long_1080p.mp4")]


def _ffmpeg() -> list[str]:
    import imageio_ffmpeg

    return [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y"]


def _joined_minute(sources: list[Path], folder: Path, width: int, height: int, name: str) -> Path:
    scale = (f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
             f"pad={width}:{height}:-1:-1,fps=25")  # fmt: skip
    pieces = []
    for number, source in enumerate(sources):
        piece = folder / f"piece{height}_{number:02d}.mp4"
        subprocess.run([*_ffmpeg(), "-i", str(source), "-an", "-vf", scale, "-c:v", "libx264",
                        "-preset", "veryfast", "-pix_fmt", "yuv420p", str(piece)],
                       check=True)  # fmt: skip
        pieces.append(piece)
    listing = folder / f"pieces{height}.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in pieces * 10))  # cut at 60 s
    joined = folder / name
    subprocess.run([*_ffmpeg(), "-f", "concat", "-safe", "0", "-i", str(listing), "-t", "60",
                    "-c", "copy", str(joined)], check=True)  # fmt: skip
    return joined


def long_run(paths: list[Path], fps: float | None) -> dict:
    """Each long video on each side in its own process: peak RSS per length, not cumulative."""
    result = {}
    for side in ("naive", "ours"):
        rows = []
        for path in paths:
            run = run_side(side, [path], fps)
            row = run["videos"][0]
            row.update(peak_rss_mb=run["peak_rss_mb"], load_models_s=run["load_models_s"],
                       seconds_per_minute=row["seconds"] / (row["duration_s"] / 60))  # fmt: skip
            rows.append(row)
        per_minute = {row["video"]: row["seconds_per_minute"] for row in rows}
        result[side] = {
            "videos": rows,
            # seconds per minute of video at 10 min over 1 min: 1.0 is perfectly linear
            "growth_10min_over_1min": per_minute["long_10min.mp4"] / per_minute["long_1min.mp4"],
        }
    return result


def has_people(path: Path) -> bool:
    from evaluation.scoring import VideoTruth

    truth = path.with_suffix(".truth.json")
    return not truth.exists() or not VideoTruth.load(truth).expects_no_face


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--fps", type=float, help="sampled frames per second (default: ours)")
    parser.add_argument("--long", action="store_true", help="add 1 and 10 minute videos")
    parser.add_argument("--profile", action="store_true", help="profile our side too")
    parser.add_argument(
        "--end-to-end",
        action="store_true",
        help="time `manage.py ingest` processes on looped inputs instead",
    )
    parser.add_argument("--inputs-dir", type=Path, help="where looped inputs are kept (reused)")
    parser.add_argument("--rounds", type=int, default=1, help="end-to-end runs of each side")
    parser.add_argument("--only", choices=["<=720p", "1080p"], help="one end-to-end input group")
    parser.add_argument("--ours-only", action="store_true", help="end to end: ours alone")
    parser.add_argument(
        "--against", type=Path, metavar="CHECKOUT", help="end to end: ours and another checkout"
    )
    parser.add_argument("--output", type=Path, help="results file (default: from the fps)")
    parser.add_argument("--side", choices=["naive", "ours", "profile"], help=argparse.SUPPRESS)
    parser.add_argument("--side-output", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--videos", nargs="+", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:  # a child process started by run_side
        import django

        django.setup()
        sides = {"naive": naive_side, "ours": our_side, "profile": profile_side}
        args.side_output.write_text(json.dumps(sides[args.side](args.videos, args.fps)))
        return
    if args.end_to_end:
        return end_to_end_main(args)
    paths = sorted(p for p in (args.dataset / "videos").iterdir() if p.suffix in VIDEO_SUFFIXES)
    report = {"machine": machine(), "dataset": str(args.dataset), "videos": len(paths)}
    report["load_average_1min_at_start"] = os.getloadavg()[0]
    report["naive"] = run_side("naive", paths, args.fps)
    report["ours"] = run_side("ours", paths, args.fps)
    fps = report["ours"]["config"]["sample_fps"]
    report["config"] = {"sample_fps": fps, "naive": report["naive"].pop("config"),
                        "ours": report["ours"].pop("config")}  # fmt: skip
    report["speedup"] = report["naive"]["totals"]["seconds"] / report["ours"]["totals"]["seconds"]
    report["ours_realtime_by_resolution"] = by_resolution(report["ours"])
    if args.long:
        with tempfile.TemporaryDirectory() as folder:
            with_people = [p for p in paths if has_people(p)]
            report["long"] = long_run(make_long_videos(with_people, Path(folder)), args.fps)
    output = args.output or RESULTS / ("pipeline.json" if fps == 1 else f"pipeline_fps{fps:g}.json")
    if args.profile:
        profile = run_side("profile", paths, args.fps)
        report["profile"] = profile["profile"]
        report["cpu_seconds_by_thread"] = profile["cpu_seconds_by_thread"]
        output.with_name(f"{output.stem}_profile.txt").write_text(report["profile"])
    print(markdown(report))
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults: {output}")


def end_to_end_main(args) -> None:
    import pipeline_e2e

    models_dir = Path(os.environ.get("FAAAAACES_MODELS_DIR", REPO / "data" / "models")).resolve()
    report = {"machine": machine(), "dataset": str(args.dataset)}
    report |= pipeline_e2e.end_to_end(args.dataset / "videos", models_dir, args.inputs_dir,
                                      args.fps, args.rounds, args.only,
                                      args.ours_only, args.against)  # fmt: skip
    print(pipeline_e2e.markdown(report))
    output = args.output or RESULTS / "pipeline_end_to_end.json"
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults: {output}")


if __name__ == "__main__":
    main()
