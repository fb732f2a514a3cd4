"""How the grouping threshold and algorithm trade splits for merges on labeled videos.

Runs the face pipeline (default settings) on every video of a dataset laid out like
../shared/data, groups all tracks of all videos together as `manage.py cluster` does, and scores
the people found against the `.truth.json` files for a sweep of thresholds.

    .venv/bin/python benchmarks/grouping_thresholds.py [DATASET_DIR]

Writes benchmarks/results/grouping_thresholds.json and prints a Markdown table.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faaaaaces.settings")

import django  # noqa: E402

django.setup()

from catalog.engine import get_face_engine  # noqa: E402
from catalog.grouping import group_vectors  # noqa: E402
from catalog.services.catalog_tracks import on_screen_together  # noqa: E402
from evaluation.scoring import (  # noqa: E402
    VideoTruth,
    bcubed_scores,
    name_track_detections,
    pairwise_scores,
)
from ingestion.pipeline.thresholds import grouping_distance, verification_distance  # noqa: E402
from ingestion.pipeline.video import process_video  # noqa: E402


def collect_tracks(dataset: Path):
    engine = get_face_engine()
    vectors, videos, frames, named = [], [], [], []
    videos_dir = dataset / "videos"
    paths = sorted(p for p in videos_dir.iterdir() if p.suffix in {".mp4", ".avi", ".mkv", ".mov"})
    for video_number, path in enumerate(paths):
        found = process_video(path, engine)
        base = len(vectors)
        for track in found.tracks:
            mean = np.mean([f.embedding for f in track.best_faces], axis=0)
            vectors.append(mean / np.linalg.norm(mean))
            videos.append(video_number)
            frames.append(frozenset(int(d[1]) for d in track.detections))
        truth_path = path.with_suffix(".truth.json")
        if truth_path.exists():
            truth = VideoTruth.load(truth_path)
            keyed = [(base + t.index, t.detections) for t in found.tracks]
            named += name_track_detections(truth, keyed)
    cannot_link = [
        (a, b)
        for a in range(len(vectors))
        for b in range(a + 1, len(vectors))
        if on_screen_together(videos[a], frames[a], videos[b], frames[b])
    ]
    return np.asarray(vectors, dtype=np.float32), cannot_link, named


def main() -> None:
    dataset = Path(sys.argv[1] if len(sys.argv) > 1 else REPO.parent / "shared" / "data")
    model = get_face_engine().config.recognition_model
    started = time.perf_counter()
    vectors, cannot_link, named = collect_tracks(dataset)
    pipeline_s = time.perf_counter() - started
    base = verification_distance(model)
    rows = []
    for algorithm in ("dbscan", "agglomerative"):
        for factor in (0.6, 0.7, 0.8, 0.85, 0.9, 1.0, 1.1):
            threshold = round(base * factor, 4)
            labels = group_vectors(
                vectors, cannot_link, algorithm=algorithm, distance_threshold=threshold
            )
            pairs = [(name, int(labels[row])) for name, row in named]
            pairwise, bcubed = pairwise_scores(pairs), bcubed_scores(pairs)
            true_people = len({name for name, _ in named})
            found_for_named = len(Counter(p for _, p in pairs))
            rows.append(
                {
                    "algorithm": algorithm,
                    "threshold": threshold,
                    "factor_of_deepface_threshold": factor,
                    "pairwise_precision": round(pairwise.precision, 4),
                    "pairwise_recall": round(pairwise.recall, 4),
                    "bcubed_precision": round(bcubed.precision, 4),
                    "bcubed_recall": round(bcubed.recall, 4),
                    "bcubed_f": round(bcubed.f, 4),
                    "labeled_people": true_people,
                    "people_found_for_them": found_for_named,
                    "people_found_total": len(set(labels.tolist())),
                }
            )
    result = {
        "dataset": str(dataset),
        "model": model,
        "default_threshold": grouping_distance(model),
        "tracks": len(vectors),
        "scored_detections": len(named),
        "pipeline_seconds": round(pipeline_s, 1),
        "rows": rows,
    }
    out = REPO / "benchmarks" / "results" / "grouping_thresholds.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{len(vectors)} tracks, {len(named)} scored detections, model {model}")
    print("| algorithm | threshold | pairwise P | pairwise R | BCubed F | people (labeled) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['algorithm']} | {r['threshold']} ({r['factor_of_deepface_threshold']}x) "
            f"| {r['pairwise_precision']:.3f} | {r['pairwise_recall']:.3f} | {r['bcubed_f']:.3f} "
            f"| {r['people_found_for_them']} ({r['labeled_people']}) |"
        )


if __name__ == "__main__":
    main()
