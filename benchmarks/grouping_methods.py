"""Track purity, and grouping methods compared on labeled videos, with a held-out half.

Runs the face pipeline (default settings) once on every labeled video of a dataset laid out
like ../shared/data, plus the harder copies `evaluation/variants.py` makes of some of them
(darkened, blurred, downscaled, low bitrate), and keeps every track's faces. Then:
- track purity: labeled tracks whose scored detections carry more than one true name;
- each grouping method in `catalog/grouping.py`, over a range of thresholds, on the videos
  split into a tuning half and a held-out half (by a hash of the file name, so the split does
  not depend on what is in the folder), both as one batch (`manage.py cluster`) and video by
  video in two orders (what ingestion does), with pairwise F between the outcomes.

    .venv/bin/python benchmarks/grouping_methods.py [DATASET_DIR] [--variants DIR] [--cache F]

Writes benchmarks/results/grouping_methods.json and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faaaaaces.settings")

import django  # noqa: E402

django.setup()

from catalog import grouping  # noqa: E402
from catalog.engine import get_face_engine  # noqa: E402
from catalog.grouping import (  # noqa: E402
    METHODS,
    TrackSet,
    group_catalog,
    place_video,
)
from catalog.services.clustering import grouping_threshold  # noqa: E402
from evaluation.scoring import (  # noqa: E402
    VideoTruth,
    bcubed_scores,
    impure_tracks,
    name_track_detections,
    pairwise_scores,
)
from evaluation.slideshows import make_photo_catalog  # noqa: E402
from evaluation.variants import make_variants  # noqa: E402
from ingestion.pipeline.video import process_video  # noqa: E402

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov"}


def held_out(name: str) -> bool:
    """Half the videos, chosen by a hash of the name (the source's, for a variant)."""
    source = name.split("_dark")[0].split("_blurred")[0].split("_downscaled")[0]
    source = source.split("_low_bitrate")[0].rsplit(".", 1)[0]
    return hashlib.sha256(source.encode()).digest()[0] % 2 == 1


def in_photo_catalog(name: str) -> bool:
    """The slideshows of people/ (`evaluation/slideshows.py`): never used to choose defaults."""
    return name.startswith("people_catalog_")


def collect(paths: list[Path]) -> list[dict]:
    """Per track: video, frames, face vectors and qualities, and the true names it carries."""
    engine = get_face_engine()
    tracks = []
    for path in paths:
        found = process_video(path, engine)
        truth_path = path.with_suffix(".truth.json")
        truth = VideoTruth.load(truth_path) if truth_path.exists() else None
        named = (
            name_track_detections(truth, [(t.index, t.detections) for t in found.tracks])
            if truth
            else []
        )
        names: dict[int, list[str]] = {}
        for name, index in named:
            names.setdefault(index, []).append(name)
        for track in found.tracks:
            faces = track.best_faces
            tracks.append(
                {
                    "video": path.name,
                    "frames": sorted({int(d[1]) for d in track.detections}),
                    "vectors": np.asarray([f.embedding for f in faces], dtype=np.float32),
                    "qualities": [f.quality for f in faces],
                    "names": names.get(track.index, []),
                }
            )
    return tracks


PLAIN_MEAN = False  # True: every face of a track counts the same in its template


def track_set(tracks: list[dict]) -> TrackSet:
    return TrackSet.from_faces(
        [t["vectors"] for t in tracks],
        [[1.0] * len(t["qualities"]) if PLAIN_MEAN else t["qualities"] for t in tracks],
        [t["video"] for t in tracks],
        [frozenset(t["frames"]) for t in tracks],
    )


def score(tracks: list[dict], labels) -> dict:
    items = [(n, int(labels[i])) for i, t in enumerate(tracks) for n in t["names"]]
    pairwise, bcubed = pairwise_scores(items), bcubed_scores(items)
    true = {n for n, _ in items}
    return {
        "bcubed_f": round(bcubed.f, 4),
        "bcubed_p": round(bcubed.precision, 4),
        "bcubed_r": round(bcubed.recall, 4),
        "pairwise_p": round(pairwise.precision, 4),
        "pairwise_r": round(pairwise.recall, 4),
        "people": len({p for _, p in items}),
        "true_people": len(true),
    }


def incremental(tracks: list[dict], order: list[str], method: str, threshold: float):
    """Video by video in `order`, each video grouped then placed among the people so far."""
    everything = track_set(tracks)
    person = np.full(len(tracks), -1)
    for video in order:
        rows = [i for i, t in enumerate(tracks) if t["video"] == video]
        place_video(everything, person, rows, method=method, threshold=threshold)
    return person


def agreement(a, b) -> float:
    """Pairwise F between two groupings of the same tracks (1.0: the same people)."""
    return pairwise_scores(list(zip(a.tolist(), b.tolist(), strict=True))).f


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", nargs="?", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--variants", type=Path, help="folder for the harder copies (made once)")
    parser.add_argument(
        "--photo-catalog", type=Path, help="folder for the slideshows of people/ (made once)"
    )
    parser.add_argument("--cache", type=Path, help="keep the pipeline's tracks here between runs")
    parser.add_argument(
        "--output", type=Path, default=REPO / "benchmarks/results/grouping_methods.json"
    )
    args = parser.parse_args()
    videos = args.dataset / "videos"
    paths = sorted(p for p in videos.iterdir() if p.suffix in VIDEO_SUFFIXES)
    if args.variants:
        paths += make_variants(videos, args.variants)
    if args.photo_catalog:
        paths += make_photo_catalog(args.dataset, args.photo_catalog)
    if args.cache and args.cache.exists():
        tracks = pickle.loads(args.cache.read_bytes())
    else:
        started = time.perf_counter()
        tracks = collect(paths)
        print(f"pipeline: {len(paths)} videos, {len(tracks)} tracks, "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        if args.cache:
            args.cache.write_bytes(pickle.dumps(tracks))
    result = {"purity": purity(tracks), "methods": compare(tracks)}
    global PLAIN_MEAN
    PLAIN_MEAN = True
    result["plain_mean_templates"] = compare(tracks, methods=("knn",), factors=(0.9, 1.0, 1.1))
    PLAIN_MEAN = False
    for margin in (0.03, 0.05):
        grouping.ACROSS_VIDEOS_MARGIN = margin
        result[f"across_videos_margin_{margin}"] = compare(
            tracks, methods=("knn",), factors=(1.0, 1.1, 1.2)
        )
    grouping.ACROSS_VIDEOS_MARGIN = 0.0
    args.output.write_text(json.dumps(result, indent=1))
    print_tables(result)


def purity(tracks: list[dict]) -> dict:
    labeled = {i: t["names"] for i, t in enumerate(tracks) if t["names"]}
    impure = impure_tracks((n, i) for i, names in labeled.items() for n in names)
    return {
        "labeled_tracks": len(labeled),
        "impure": [{"video": tracks[i]["video"], "names": n} for i, n in impure.items()],
    }


def compare(tracks: list[dict], methods=METHODS, factors=(0.7, 0.8, 0.9, 1.0, 1.1, 1.2)):
    base = grouping_threshold(get_face_engine().config.recognition_model)
    rows = []
    videos = [t for t in tracks if not in_photo_catalog(t["video"])]
    halves = {
        "tuning": [t for t in videos if not held_out(t["video"])],
        "held_out": [t for t in videos if held_out(t["video"])],
        "all": videos,
        "photo_catalog": [t for t in tracks if in_photo_catalog(t["video"])],
    }
    for method in methods:
        for factor in factors:
            threshold = round(base * factor, 4)
            row = {"method": method, "factor": factor, "threshold": threshold}
            for half, subset in halves.items():
                if not subset:
                    continue
                batch = group_catalog(track_set(subset), method=method, threshold=threshold)
                order = sorted({t["video"] for t in subset})
                forward = incremental(subset, order, method, threshold)
                backward = incremental(subset, order[::-1], method, threshold)
                row[half] = score(subset, batch) | {
                    "incremental_f": score(subset, forward)["bcubed_f"],
                    "reverse_f": score(subset, backward)["bcubed_f"],
                    "order_agreement": round(
                        min(agreement(batch, forward), agreement(forward, backward),
                            agreement(batch, backward)), 4),
                }  # fmt: skip
            rows.append(row)
    return rows


def print_tables(result: dict) -> None:
    purity = result["purity"]
    print(f"track purity: {len(purity['impure'])} impure of {purity['labeled_tracks']} labeled")
    for item in purity["impure"]:
        print(f"  {item['video']}: {'+'.join(item['names'])}")
    print(
        "| method | threshold (x configured) | tuning F (P/R) | people | held-out F (P/R) | people "
        "| all F | incremental / reverse F | order agreement "
        "| photo catalog F (P/R) | people | incremental / reverse F | order agreement |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    plain = [r | {"method": f"{r['method']}, plain-mean templates"}
             for r in result["plain_mean_templates"]]  # fmt: skip
    for margin in (0.03, 0.05):
        plain += [r | {"method": f"{r['method']}, +{margin} across videos"}
                  for r in result[f"across_videos_margin_{margin}"]]  # fmt: skip
    for row in result["methods"] + plain:
        cells = [f"{row['method']}", f"{row['threshold']} ({row['factor']}x)"]
        for half in ("tuning", "held_out"):
            s = row[half]
            cells += [
                f"{s['bcubed_f']} ({s['pairwise_p']}/{s['pairwise_r']})",
                f"{s['people']}/{s['true_people']}",
            ]
        a = row["all"]
        cells += [
            f"{a['bcubed_f']}",
            f"{a['incremental_f']} / {a['reverse_f']}",
            f"{a['order_agreement']}",
        ]
        if p := row.get("photo_catalog"):
            cells += [
                f"{p['bcubed_f']} ({p['pairwise_p']}/{p['pairwise_r']})",
                f"{p['people']}/{p['true_people']}",
                f"{p['incremental_f']} / {p['reverse_f']}",
                f"{p['order_agreement']}",
            ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
