"""Which defaults find people best: `manage.py evaluate` under one configuration after another.

Each configuration is a set of environment variables (the same ones an operator sets); every run
ingests the whole dataset into its own throwaway catalog. The figures are the evaluate
command's: detection recall, BCubed F of people, crowd count ratio, search top-1, verification
true-accept rate at 1 % false accepts, faces found in group photos, faces on no-face inputs.

    .venv/bin/python benchmarks/accuracy_configurations.py [DATASET_DIR] [--only NAME ...]

Writes benchmarks/results/accuracy_configurations.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "accuracy_configurations.json"

CONFIGURATIONS: dict[str, dict[str, str]] = {
    "default (yunet 0.8, SFace, 5-point alignment, 1 fps, knn 0.581)": {},
    "alignment: eyes only (DeepFace's way)": {"FACE_ALIGNMENT": "eyes"},
    "detector confidence 0.6": {"FACE_DETECTION_MIN_CONFIDENCE": "0.6"},
    "detector confidence 0.9 (YuNet's default)": {"FACE_DETECTION_MIN_CONFIDENCE": "0.9"},
    "detection at 640 px (DeepFace's YuNet size)": {"FACE_DETECTION_MAX_SIDE_PX": "640"},
    "detector opencv (Haar)": {"FACE_DETECTOR": "opencv"},
    "detector dlib (HOG)": {"FACE_DETECTOR": "dlib"},
    "model Dlib": {"FACE_RECOGNITION_MODEL": "Dlib"},
    "sampling 2 fps": {"FRAME_SAMPLE_FPS": "2"},
    "sampling 5 fps": {"FRAME_SAMPLE_FPS": "5"},
    "clustering average linkage": {"CLUSTERING_ALGORITHM": "average"},
    "clustering single linkage": {"CLUSTERING_ALGORITHM": "single"},
    "threshold 0.593 (DeepFace's own)": {"CLUSTERING_DISTANCE_THRESHOLD": "0.593"},
    "threshold 0.42": {"CLUSTERING_DISTANCE_THRESHOLD": "0.42"},
}


def evaluate(dataset: Path, overrides: dict[str, str]) -> dict:
    environment = os.environ | overrides
    command = [sys.executable, str(REPO / "manage.py"), "evaluate", str(dataset), "--json"]
    started = time.perf_counter()
    completed = subprocess.run(
        command, env=environment, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1:]}
    output = completed.stdout
    result = json.loads(output[: output.rindex("}") + 1])
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return result


def headline(result: dict) -> dict:
    if "error" in result:
        return {"error": result["error"]}
    people, crowds = result["people"], result["people"]["crowds"]
    no_face = sum(result["photos"]["faces_on_no_face_photos"].values()) + sum(
        result["detection"]["faces_on_no_face_videos"].values()
    )
    return {
        "detection_recall": result["detection"]["recall"],
        "bcubed_f": people["bcubed"]["f"],
        "pairwise_precision": people["pairwise"]["precision"],
        "pairwise_recall": people["pairwise"]["recall"],
        "people_for_true": f"{people['people_found_for_them']}/{people['true_people']}",
        "crowd_people": crowds[0]["people_found"] if crowds else None,
        "search_top1": result["search"]["top1"],
        "false_matches_absent": len(result["search"]["false_matches"]),
        "tar_at_far_1pct": result["verification"].get("tar_at_far_1pct"),
        "group_photo_recall": result["photos"]["group_recall"],
        "faces_on_no_face_inputs": no_face,
        "wall_s": result["wall_s"],
        "targets_met": sum(bool(c["met"]) for c in result["targets"].values()),
        "targets": len(result["targets"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", nargs="?", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--only", nargs="*", help="names (or parts of names) to run")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    chosen = {
        name: overrides
        for name, overrides in CONFIGURATIONS.items()
        if not args.only or any(part in name for part in args.only)
    }
    rows = {}
    if args.only and args.output.exists():  # a partial run updates those rows, keeps the rest
        rows = json.loads(args.output.read_text())["rows"]
    for name, overrides in chosen.items():
        print(f"evaluating: {name}", file=sys.stderr, flush=True)
        rows[name] = {"environment": overrides, **headline(evaluate(args.dataset, overrides))}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    rows = {name: rows[name] for name in CONFIGURATIONS if name in rows}  # in table order
    args.output.write_text(json.dumps({"dataset": str(args.dataset), "rows": rows}, indent=2))
    print(markdown(rows))


def markdown(rows: dict) -> str:
    lines = [
        "| configuration | detection recall | BCubed F | pairwise P / R | people (true) "
        "| crowd people (8-12) | search top-1 | absent matched | TAR @ 1% FAR | group photo faces "
        "| faces on no-face inputs | targets met | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        if "error" in row:
            lines.append(f"| {name} | failed: {row['error']} |" + " |" * 11)
            continue
        lines.append(
            f"| {name} | {row['detection_recall']} | {row['bcubed_f']} "
            f"| {row['pairwise_precision']} / {row['pairwise_recall']} | {row['people_for_true']} "
            f"| {row['crowd_people']} | {row['search_top1']} | {row['false_matches_absent']} "
            f"| {row['tar_at_far_1pct']} | {row['group_photo_recall']} "
            f"| {row['faces_on_no_face_inputs']} | {row['targets_met']}/{row['targets']} "
            f"| {row['wall_s']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
