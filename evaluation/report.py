"""Showing an evaluation: a plain-text summary and an HTML report with pictures.

The report folder gets `index.html`, the charts as PNG (matplotlib) and a copy of every found
person's face crops, so it can be opened or shared without the catalog it came from.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from django.template.loader import render_to_string

from catalog.models import Person

FACES_PER_PERSON = 12


def format_summary(result: dict) -> str:
    people, detection = result["people"], result["detection"]
    verification, search, photos = result["verification"], result["search"], result["photos"]
    config = result["configuration"]
    lines = [
        f"dataset: {result['dataset']}",
        "configuration: " + ", ".join(f"{k}={v}" for k, v in config.items()),
        f"videos: {len(result['videos'])} in {result['timings']['videos_s']} s; "
        f"total {result['timings']['total_s']} s",
        f"detection: {detection['recall']} of {detection['labeled_appearances']} labeled "
        "appearances found; by face size: "
        + ", ".join(
            f"{band} {r['found']}/{r['labeled']}" for band, r in detection["by_size"].items()
        ),
        f"people: BCubed P {people['bcubed']['precision']} R {people['bcubed']['recall']} "
        f"F {people['bcubed']['f']}; pairwise P {people['pairwise']['precision']} "
        f"R {people['pairwise']['recall']} on {people['scored_detections']} detections; "
        f"{people['people_found_for_them']} people found for {people['true_people']} true",
    ]
    lines.append(
        f"track purity: {len(people['impure_tracks'])} of {people['labeled_tracks']} labeled "
        "tracks hold more than one person"
        + "".join(f"; {'+'.join(t['names'])}" for t in people["impure_tracks"])
    )
    if people["split_people"] or people["merged_people"]:
        lines.append(
            f"  split: {', '.join(people['split_people']) or '-'}; "
            f"merged: {', '.join(people['merged_people']) or '-'}"
        )
    after = result["people_after_recluster"]
    lines.append(f"after re-cluster: BCubed F {after['bcubed']['f']}")
    plateau = result["threshold_sweep"].get("plateau")
    if plateau:
        lines.append(
            "threshold plateau: BCubed F "
            + ", ".join(f"{f}x {v}" for f, v in plateau["bcubed_f"].items())
            + f" (largest change {plateau['largest_change']})"
        )
    for crowd in people["crowds"]:
        lines.append(
            f"crowd {crowd['video']}: {crowd['people_found']} people for "
            f"{crowd['true_range'][0]}-{crowd['true_range'][1]} (ratio {crowd['ratio']})"
        )
    lines.append(
        f"search: top-1 {search['top1']} top-5 {search['top5']} over "
        f"{search['queries_of_people_in_catalog']} photos"
        + (f"; missed {', '.join(search['missed'])}" if search["missed"] else "")
        + f"; top-1 at score >= 0.5: {search.get('top1_scored_over_half')}"
        + f"; false matches for absent people (score >= 0.5): {len(search['false_matches'])}"
        f"/{search['queries_of_people_not_in_catalog']}"
    )
    lines.append(
        f"verification: TAR {verification.get('tar_at_far_1pct')} at 1% FAR over "
        f"{verification['photos']} photos of {verification['identities']} people"
        + (
            f"; no face in {', '.join(verification['photos_without_face'])}"
            if verification["photos_without_face"]
            else ""
        )
    )
    lines.append(
        f"photos: {photos['group_faces_found']}/{photos['group_faces_true']} faces found in "
        f"{photos['group_photos']} group photos; faces on no-face inputs: "
        f"{sum(photos['faces_on_no_face_photos'].values())} photos, "
        f"{sum(detection['faces_on_no_face_videos'].values())} videos"
    )
    lines.append("targets:")
    for name, check in result["targets"].items():
        mark = {True: "met", False: "NOT MET", None: "n/a"}[check["met"]]
        lines.append(f"  {name}: {check['measured']} (target {check['target']}) {mark}")
    return "\n".join(lines)


def write_report(result: dict, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    charts = {
        "distances": _distance_histogram(result, folder / "distances.png"),
        "precision_recall": _precision_recall_curve(result, folder / "precision_recall.png"),
        "f_over_threshold": _f_over_threshold(result, folder / "f_over_threshold.png"),
    }
    gallery = _copy_faces(result, folder / "faces")
    html = render_to_string(
        "evaluation/report.html",
        {
            "result": result,
            "summary": format_summary(result),
            "charts": charts,
            "gallery": gallery,
        },
    )
    index = folder / "index.html"
    index.write_text(html)
    return index


def _distance_histogram(result: dict, path: Path) -> str:
    figure, axes = plt.subplots(1, 2, figsize=(12, 4))
    config = result["configuration"]
    panels = [
        ("Tracks of the labeled videos", result["track_distances"]),
        ("Photos of people/", result["verification"].get("distances", {})),
    ]
    for axis, (title, distances) in zip(axes, panels, strict=True):
        bins = [i / 50 for i in range(0, 76)]
        # Normalised: a few dozen same-person pairs against thousands of different ones.
        for kind, label in (("different", "different people"), ("same", "same person")):
            values = distances.get(kind, [])
            if values:
                axis.hist(values, bins=bins, alpha=0.6, density=True,
                          label=f"{label} ({len(values)} pairs)")  # fmt: skip
        axis.axvline(config["clustering_threshold"], color="black", linestyle="--",
                     label=f"grouping threshold {config['clustering_threshold']}")  # fmt: skip
        far = result["verification"].get("rates_at", {}).get("far_1pct")
        if far and title.startswith("Photos"):
            axis.axvline(far["threshold"], color="red", linestyle=":",
                         label=f"1% FAR {far['threshold']}")  # fmt: skip
        axis.set_title(title)
        axis.set_xlabel("cosine distance")
        axis.set_ylabel("share of pairs (density)")
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path.name


def _precision_recall_curve(result: dict, path: Path) -> str:
    sweep = result["threshold_sweep"]
    figure, axis = plt.subplots(figsize=(6, 5))
    for algorithm in sorted({row["algorithm"] for row in sweep["rows"]}):
        rows = [r for r in sweep["rows"] if r["algorithm"] == algorithm]
        axis.plot(
            [r["pairwise_recall"] for r in rows],
            [r["pairwise_precision"] for r in rows],
            marker="o",
            markersize=3,
            label=algorithm,
        )
    chosen = result["people_after_recluster"]["pairwise"]
    axis.plot(chosen["recall"], chosen["precision"], "k*", markersize=12,
              label=f"configured ({sweep['chosen_threshold']:.3f})" if sweep["chosen_threshold"]
              else "configured")  # fmt: skip
    axis.set_xlabel("pairwise recall (same person kept together)")
    axis.set_ylabel("pairwise precision (different people kept apart)")
    axis.set_title("Grouping over thresholds (0.5x to 1.4x)")
    recalls = [r["pairwise_recall"] for r in sweep["rows"]] + [chosen["recall"]]
    precisions = [r["pairwise_precision"] for r in sweep["rows"]] + [chosen["precision"]]
    axis.set_xlim(max(0.0, min(recalls) - 0.05), 1.01)
    axis.set_ylim(max(0.0, min(precisions) - 0.05), 1.01)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path.name


def _f_over_threshold(result: dict, path: Path) -> str:
    """BCubed F of every method over the threshold, with the x0.9-x1.1 band around the chosen
    one: a good threshold sits on a flat stretch, not a knife edge."""
    sweep = result["threshold_sweep"]
    figure, axis = plt.subplots(figsize=(6, 4))
    for algorithm in sorted({row["algorithm"] for row in sweep["rows"]}):
        rows = [r for r in sweep["rows"] if r["algorithm"] == algorithm]
        axis.plot([r["threshold"] for r in rows], [r["bcubed_f"] for r in rows], marker="o",
                  markersize=3, label=algorithm)  # fmt: skip
    chosen = sweep["chosen_threshold"]
    if chosen:
        axis.axvline(chosen, color="black", linestyle="--", label=f"configured ({chosen:.3f})")
        axis.axvspan(chosen * 0.9, chosen * 1.1, color="grey", alpha=0.2, label="x0.9-x1.1")
    axis.set_xlabel("cosine distance threshold")
    axis.set_ylabel("BCubed F")
    axis.set_title("People over thresholds")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path.name


def _copy_faces(result: dict, folder: Path) -> list[dict]:
    """Every person of the catalog with up to a dozen of their face crops, biggest first."""
    folder.mkdir(parents=True, exist_ok=True)
    names = result.get("person_names", {})
    gallery = []
    for person in Person.objects.all().order_by("id"):
        faces = list(person.faces.order_by("-quality", "id")[:FACES_PER_PERSON])
        if not faces:
            continue
        files = []
        for face in faces:
            target = folder / f"person{person.id}_face{face.id}.jpg"
            with face.crop.open("rb") as source, target.open("wb") as copy:
                shutil.copyfileobj(source, copy)
            files.append(f"faces/{target.name}")
        gallery.append(
            {
                "person_id": person.id,
                "true_name": names.get(str(person.id), ""),
                "faces": person.faces.count(),
                "videos": person.faces.values("video").distinct().count(),
                "files": files,
            }
        )
    gallery.sort(key=lambda p: -p["faces"])
    return gallery
