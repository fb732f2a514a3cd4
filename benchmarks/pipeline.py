"""Our video pipeline against the naive DeepFace loop, side by side, on the same videos.

    .venv/bin/python benchmarks/pipeline.py [DATASET_DIR] [--fps 1] [--long] [--profile]

- naive: what the obvious script does. Every sampled frame (same rate, same timestamps rule)
  goes to `DeepFace.represent` with the same detector and model as ours; every face found is
  embedded; all faces of all videos are grouped by average linkage at DeepFace's own
  threshold, with no tracks and no constraints.
- ours: `process_video` (tracks absorb frames, detection sized to the faces, batched SFace,
  decoding in a thread), then all tracks of all videos grouped as `manage.py cluster` does.

Each side runs in its own process, models loaded once (load time reported apart), so peak RSS
is its own. Per video and in total: wall time, real-time factor, frames decoded and sampled,
faces detected and embedded, tracks, people, detection recall and BCubed F against the
`.truth.json` files. `--long` adds 1-minute and 10-minute videos made by concatenating the
shared videos (1280x720 H.264, imageio-ffmpeg's ffmpeg) to show time grows linearly;
`--profile` adds a pyinstrument summary of where our time goes. Writes
benchmarks/results/pipeline[_fps<N>].json and prints Markdown tables.
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
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faaaaaces.settings")
RESULTS = REPO / "benchmarks" / "results"
VIDEO_SUFFIXES = {".mp4", ".avi"}


def naive_side(paths: list[Path], fps: float) -> dict:
    import numpy as np
    from django.conf import settings

    from ingestion.pipeline.frames import open_video
    from ingestion.pipeline.thresholds import verification_distance
    from ingestion.pipeline.weights import deepface_environment
    from ingestion.services.engine import pipeline_config

    config = pipeline_config()
    started = time.perf_counter()
    with deepface_environment(settings.FACE_MODELS_DIR, allow_download=False):
        from deepface import DeepFace

        def represent(image):
            return DeepFace.represent(
                img_path=image,
                model_name=config.recognition_model,
                detector_backend=config.detector_backend,
                enforce_detection=False,
                align=True,
            )

        represent(np.zeros((64, 64, 3), dtype=np.uint8))  # load the models
        load_s = time.perf_counter() - started
        rows, faces = [], []  # faces: (video number, detection list, vector)
        for number, path in enumerate(paths):
            begun = time.perf_counter()
            capture, info = open_video(path)
            row = {"video": path.name, "path": str(path), "duration_s": info.duration_s,
                   "height": info.height,
                   "frames_decoded": 0, "frames_sampled": 0, "faces_detected": 0}  # fmt: skip
            samples, next_s, index = [], 0.0, -1
            while capture.grab():  # the loop a script writes: grab all, decode the sampled ones
                index += 1
                time_s = index / info.fps
                if time_s + 0.5 / info.fps < next_s:
                    continue
                next_s += 1.0 / fps
                ok, image = capture.retrieve()
                if not ok:
                    continue
                row["frames_sampled"] += 1
                boxes = []
                for found in represent(image):
                    if found.get("face_confidence", 0) <= 0:
                        continue  # DeepFace's "no face" placeholder: the whole frame
                    area = found["facial_area"]
                    box = [area["x"], area["y"], area["w"], area["h"]]
                    boxes.append(box)
                    vector = np.asarray(found["embedding"], dtype=np.float32)
                    faces.append((number, [time_s, index, *box], vector / np.linalg.norm(vector)))
                row["faces_detected"] += len(boxes)
                samples.append((round(time_s, 3), boxes))
            row["frames_decoded"] = index + 1
            capture.release()
            row["seconds"] = time.perf_counter() - begun
            row["faces_embedded"] = row["faces_detected"]
            row["samples"] = samples
            rows.append(row)
    vectors = np.asarray([f[2] for f in faces]) if faces else np.zeros((0, 128))
    tracks = [(f[0], [f[1]]) for f in faces]  # every face on its own: no tracking
    return finish_side(rows, tracks, vectors, [], "agglomerative",
                       verification_distance(config.recognition_model), load_s)  # fmt: skip


def our_side(paths: list[Path], fps: float, profile: bool) -> dict:
    import numpy as np
    from django.conf import settings

    from catalog.services.clustering import grouping_threshold
    from ingestion.pipeline.video import FaceEngine, process_video
    from ingestion.services.engine import pipeline_config

    started = time.perf_counter()
    config = replace(pipeline_config(), sample_fps=fps)
    engine = FaceEngine(config, settings.FACE_MODELS_DIR)
    load_s = time.perf_counter() - started
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005)
        profiler.start()
    rows, tracks, vectors = [], [], []
    for number, path in enumerate(paths):
        begun = time.perf_counter()
        found = process_video(path, engine)
        boxes_at: dict[float, list] = {}
        for track in found.tracks:
            tracks.append((number, track.detections))
            mean = np.mean([f.embedding for f in track.best_faces], axis=0)
            vectors.append(mean / np.linalg.norm(mean))
            for detection in track.detections:
                boxes_at.setdefault(detection[0], []).append(detection[2:6])
        rows.append({
            "video": path.name, "path": str(path), "duration_s": found.info.duration_s,
            "height": found.info.height,
            "seconds": time.perf_counter() - begun, "frames_decoded": found.frames_decoded,
            "frames_sampled": found.frames_sampled, "faces_detected": found.faces_detected,
            "faces_embedded": found.faces_embedded, "tracks": len(found.tracks),
            "samples": [(t, boxes_at.get(t, [])) for t in found.sample_times_s],
        })  # fmt: skip
    summary = None
    if profiler:
        profiler.stop()
        summary = profiler.output_text(unicode=False, color=False, show_all=False)
    vectors = np.asarray(vectors) if vectors else np.zeros((0, 128))
    frames = [frozenset(int(d[1]) for d in detections) for _, detections in tracks]
    cannot_link = [
        (a, b)
        for a in range(len(tracks))
        for b in range(a + 1, len(tracks))
        if tracks[a][0] == tracks[b][0] and frames[a] & frames[b]
    ]
    result = finish_side(rows, tracks, vectors, cannot_link, settings.CLUSTERING_ALGORITHM,
                         grouping_threshold(config.recognition_model), load_s)  # fmt: skip
    if summary:
        result["profile"] = summary
    return result


def finish_side(rows, tracks, vectors, cannot_link, algorithm, threshold, load_s) -> dict:
    """Group, score against the truth files, and add totals and peak memory."""
    from catalog.grouping import group_vectors
    from evaluation.scoring import (
        VideoTruth,
        bcubed_scores,
        detection_recall,
        labeled_appearances,
        name_track_detections,
    )

    labels = group_vectors(vectors, cannot_link, algorithm=algorithm, distance_threshold=threshold)
    named, appearances = [], []
    for number, row in enumerate(rows):
        own = [i for i, (video, _) in enumerate(tracks) if video == number]
        row["people"] = len({int(labels[i]) for i in own})
        truth_path = Path(row.pop("path")).with_suffix(".truth.json")
        samples = row.pop("samples")
        if truth_path.exists():
            truth = VideoTruth.load(truth_path)
            found = labeled_appearances(truth, samples)
            appearances += found
            recall = detection_recall(found)
            row["detection_recall"] = recall.rate
            video_named = name_track_detections(truth, [(i, tracks[i][1]) for i in own])
            named += [(name, int(labels[i])) for name, i in video_named]
    summed = ["duration_s", "seconds", "frames_decoded", "frames_sampled"]
    summed += ["faces_detected", "faces_embedded"]
    totals = {key: sum(row[key] for row in rows) for key in summed}
    totals["people"] = len(set(labels.tolist()))
    totals["tracks"] = len(tracks)
    totals["realtime_factor"] = totals["duration_s"] / max(totals["seconds"], 1e-9)
    recall = detection_recall(appearances)
    totals["detection_recall"] = recall.rate
    totals["bcubed_f"] = bcubed_scores(named).f if named else None
    totals["scored_detections"] = len(named)
    for row in rows:
        row["realtime_factor"] = row["duration_s"] / max(row["seconds"], 1e-9)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "load_models_s": load_s,
        "videos": rows,
        "totals": totals,
        "peak_rss_mb": peak_kb / 1024,
    }


def run_side(side: str, paths: list[Path], fps: float, profile: bool) -> dict:
    """One side in a fresh process, so its peak memory and model loading are its own."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as output:
        result_path = Path(output.name)
    command = [sys.executable, __file__, "--side", side, "--fps", str(fps),
               "--side-output", str(result_path)]  # fmt: skip
    if profile:
        command.append("--profile")
    command += ["--", str(REPO), *map(str, paths)]
    subprocess.run(command, check=True)
    result = json.loads(result_path.read_text())
    result_path.unlink()
    return result


def make_long_videos(sources: list[Path], folder: Path) -> list[Path]:
    """1-minute and 10-minute 720p H.264 videos, the shared videos with people end to end.

    Each source is first brought to one format (1280x720, 25 fps, H.264) so the pieces can be
    joined without re-encoding; the 10-minute video is the 1-minute one ten times.
    """
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    scale = "scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:-1:-1,fps=25"
    pieces = []
    for number, source in enumerate(sources):
        piece = folder / f"piece{number:02d}.mp4"
        subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-i", str(source), "-an", "-vf",
                        scale, "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                        str(piece)], check=True)  # fmt: skip
        pieces.append(piece)
    listing = folder / "pieces.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in pieces * 2))
    one_minute = folder / "long_1min.mp4"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i",
                    str(listing), "-t", "60", "-c", "copy", str(one_minute)],
                   check=True)  # fmt: skip
    ten_minutes = folder / "long_10min.mp4"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-stream_loop", "9", "-i",
                    str(one_minute), "-c", "copy", str(ten_minutes)], check=True)  # fmt: skip
    return [one_minute, ten_minutes]


def markdown(naive: dict, ours: dict) -> str:
    lines = [
        "| video | duration s | naive s | ours s | speed-up | ours x real time "
        "| recall naive / ours | faces embedded naive / ours | people naive / ours |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for a, b in zip(naive["videos"], ours["videos"], strict=True):
        lines.append(
            f"| {a['video']} | {a['duration_s']:.1f} | {a['seconds']:.2f} | {b['seconds']:.2f} "
            f"| {a['seconds'] / b['seconds']:.1f}x | {b['realtime_factor']:.0f} "
            f"| {_fmt(a.get('detection_recall'))} / {_fmt(b.get('detection_recall'))} "
            f"| {a['faces_embedded']} / {b['faces_embedded']} | {a['people']} / {b['people']} |"
        )
    a, b = naive["totals"], ours["totals"]
    lines.append(
        f"| **all** | {a['duration_s']:.1f} | {a['seconds']:.2f} | {b['seconds']:.2f} "
        f"| **{a['seconds'] / b['seconds']:.1f}x** | {b['realtime_factor']:.0f} "
        f"| {_fmt(a['detection_recall'])} / {_fmt(b['detection_recall'])} "
        f"| {a['faces_embedded']} / {b['faces_embedded']} | {a['people']} / {b['people']} |"
    )
    lines.append(
        f"\nBCubed F naive {_fmt(a['bcubed_f'])} / ours {_fmt(b['bcubed_f'])}; peak RSS naive "
        f"{naive['peak_rss_mb']:.0f} MB / ours {ours['peak_rss_mb']:.0f} MB; model loading "
        f"naive {naive['load_models_s']:.1f} s / ours {ours['load_models_s']:.1f} s."
    )
    return "\n".join(lines)


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def by_resolution(side: dict) -> dict:
    groups = {"up to 720p": [], "1080p": []}
    for row in side["videos"]:
        groups["1080p" if row["height"] > 720 else "up to 720p"].append(row)
    return {
        name: sum(r["duration_s"] for r in rows) / sum(r["seconds"] for r in rows)
        for name, rows in groups.items()
        if rows
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", nargs="?", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--fps", type=float, default=1.0, help="sampled frames per second")
    parser.add_argument("--long", action="store_true", help="add 1 and 10 minute videos")
    parser.add_argument("--profile", action="store_true", help="profile our side")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--side", choices=["naive", "ours"], help=argparse.SUPPRESS)
    parser.add_argument("--side-output", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("videos", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:  # the child process of run_side
        import django

        django.setup()
        if args.side == "naive":
            result = naive_side(args.videos, args.fps)
        else:
            result = our_side(args.videos, args.fps, args.profile)
        args.side_output.write_text(json.dumps(result))
        return
    paths = sorted(p for p in (args.dataset / "videos").iterdir() if p.suffix in VIDEO_SUFFIXES)
    report = {"machine": machine(), "fps": args.fps, "dataset": str(args.dataset)}
    report["naive"] = run_side("naive", paths, args.fps, False)
    report["ours"] = run_side("ours", paths, args.fps, args.profile)
    report["speedup"] = report["naive"]["totals"]["seconds"] / report["ours"]["totals"]["seconds"]
    report["ours_realtime_by_resolution"] = by_resolution(report["ours"])
    print(markdown(report["naive"], report["ours"]))
    print("ours x real time by resolution:", report["ours_realtime_by_resolution"])
    if args.long:
        with tempfile.TemporaryDirectory() as folder:
            with_people = [p for p in paths if not p.name.startswith("no_faces")]
            long_paths = make_long_videos(with_people, Path(folder))
            report["long"] = {
                "naive": run_side("naive", long_paths, args.fps, False),
                "ours": run_side("ours", long_paths, args.fps, False),
            }
        print(markdown(report["long"]["naive"], report["long"]["ours"]))
    output = args.output or RESULTS / (
        "pipeline.json" if args.fps == 1 else f"pipeline_fps{args.fps:g}.json"
    )
    output.write_text(json.dumps(report, indent=2))
    if "profile" in report["ours"]:
        (RESULTS / "pipeline_profile.txt").write_text(report["ours"]["profile"])
    print(f"results: {output}")


def machine() -> dict:
    import cv2
    import deepface

    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "opencv": cv2.__version__,
        "deepface": deepface.__version__,
    }


if __name__ == "__main__":
    main()
