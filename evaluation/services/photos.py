"""Scoring photos: search by photo, face verification, and faces found in group/no-face photos.

Every photo goes through the same services as a user's photo search (the Pillow checks, the
catalog's detector, alignment and model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from scipy.optimize import linear_sum_assignment

from catalog.services.clustering import grouping_threshold
from evaluation.dataset import LabeledPhoto, MiscPhoto
from ingestion.pipeline.thresholds import verification_distance
from search.services.photo_search import (
    PhotoError,
    embed_photo_face,
    faces_in_photo,
    read_photo,
    search_by_photo,
)

FALSE_ACCEPT_RATE = 0.01


@dataclass(frozen=True)
class PhotoVector:
    photo: LabeledPhoto
    vector: np.ndarray | None  # None: no face found (or the photo cannot be read)
    faces_found: int
    error: str = ""


def embed_largest_face(photo: LabeledPhoto) -> PhotoVector:
    try:
        image = read_photo(photo.path.read_bytes())
    except PhotoError as error:
        return PhotoVector(photo, None, 0, str(error))
    detections = faces_in_photo(image)
    if not detections:
        return PhotoVector(photo, None, 0, "no face found")
    largest = max(detections, key=lambda d: d.size_px)
    return PhotoVector(photo, embed_photo_face(image, largest), len(detections))


def score_verification(photos: list[LabeledPhoto]) -> dict:
    """True accepts at 1 % false accepts over every pair of photos (same vs different person).

    A photo without a face found rejects every pair it is in: it counts against the true-accept
    rate, never for it.
    """
    embedded = [embed_largest_face(p) for p in photos]
    same, different = [], []
    for i, a in enumerate(embedded):
        for b in embedded[i + 1 :]:
            if a.vector is None or b.vector is None:
                distance = float("inf")
            else:
                distance = float(1.0 - np.dot(a.vector, b.vector))
            (same if a.photo.identity == b.photo.identity else different).append(distance)
    same_arr, different_arr = np.asarray(same), np.asarray(different)
    result = {
        "photos": len(photos),
        "identities": len({p.identity for p in photos}),
        "same_pairs": len(same),
        "different_pairs": len(different),
        "photos_without_face": [
            f"{e.photo.identity}/{e.photo.path.name}" for e in embedded if e.vector is None
        ],
    }
    if not len(same_arr) or not len(different_arr):
        return result | {"tar_at_far_1pct": None}
    allowed = int(np.floor(FALSE_ACCEPT_RATE * len(different_arr)))
    threshold = float(np.sort(different_arr)[allowed])  # accept below: at most `allowed` false
    model = settings.FACE_RECOGNITION_MODEL
    at = {
        "far_1pct": threshold,
        "model_verification_threshold": verification_distance(model),
        "grouping_threshold": grouping_threshold(model),
    }
    return result | {
        "tar_at_far_1pct": round(float(np.mean(same_arr < threshold)), 4),
        "rates_at": {
            name: {
                "threshold": round(t, 4),
                "true_accept_rate": round(float(np.mean(same_arr < t)), 4),
                "false_accept_rate": round(float(np.mean(different_arr < t)), 4),
            }
            for name, t in at.items()
        },
        "distances": {
            "same": np.round(same_arr[np.isfinite(same_arr)], 4).tolist(),
            "different": np.round(different_arr[np.isfinite(different_arr)], 4).tolist(),
        },
    }


def score_search(
    queries: list[LabeledPhoto], in_catalog: set[str], person_names: dict[int, str]
) -> dict:
    """Top-1/top-5 for photos of people in the catalog; false matches for people who are not."""
    rows = []
    for photo in queries:
        row = {"photo": f"{photo.identity}/{photo.path.name}", "identity": photo.identity}
        try:
            found = search_by_photo(photo.path.read_bytes(), top=5)
            ranked = [(person_names.get(p.person_id), p.score, p.similarity) for p in found.people]
        except PhotoError as error:
            row["error"] = str(error)
            ranked = []
        names = [name for name, _, _ in ranked]
        row["in_catalog"] = photo.identity in in_catalog
        row["top"] = [
            {"name": n, "score": round(s, 3), "similarity": round(c, 4)} for n, s, c in ranked
        ]
        row["top1"] = bool(names) and names[0] == photo.identity
        row["top5"] = photo.identity in names
        # Someone absent from the catalog should not be matched (score 0.5: as likely as not);
        # someone present should be found first and at a score that says so.
        row["false_match"] = not row["in_catalog"] and bool(ranked) and ranked[0][1] >= 0.5
        row["found_at_half"] = row["top1"] and ranked[0][1] >= 0.5
        rows.append(row)
    present = [r for r in rows if r["in_catalog"]]
    absent = [r for r in rows if not r["in_catalog"]]
    return {
        "queries_of_people_in_catalog": len(present),
        "top1": round(float(np.mean([r["top1"] for r in present])), 4) if present else None,
        "top5": round(float(np.mean([r["top5"] for r in present])), 4) if present else None,
        "missed": [r["photo"] for r in present if not r["top1"]],
        "top1_scored_over_half": (
            round(float(np.mean([r["found_at_half"] for r in present])), 4) if present else None
        ),
        "queries_of_people_not_in_catalog": len(absent),
        "false_matches": [r["photo"] for r in absent if r["false_match"]],
        "rows": rows,
    }


def score_misc_photos(photos: list[MiscPhoto]) -> dict:
    """Faces found per group photo against its truth; no face at all on no-face photos."""
    rows = []
    for photo in photos:
        try:
            detections = faces_in_photo(read_photo(photo.path.read_bytes()))
        except PhotoError as error:
            rows.append({"photo": photo.path.name, "error": str(error), "faces_found": 0})
            continue
        boxes = [d.box for d in detections]
        row = {
            "photo": photo.path.name,
            "faces_true": photo.faces,
            "faces_range": [photo.faces_min, photo.faces_max],
            "faces_found": len(boxes),
        }
        if photo.noses:
            row["noses_matched"] = _noses_in_boxes(photo.noses, boxes)
        row["found_of_true"] = min(row.get("noses_matched", len(boxes)), photo.faces)
        rows.append(row)
    groups = [r for p, r in zip(photos, rows, strict=True) if p.faces >= 2]
    no_face = [r for p, r in zip(photos, rows, strict=True) if p.expects_no_face]
    true_total = sum(r.get("faces_true", 0) for r in groups)
    found_total = sum(r.get("found_of_true", 0) for r in groups)
    return {
        "group_photos": len(groups),
        "group_faces_true": true_total,
        "group_faces_found": found_total,
        "group_recall": round(found_total / true_total, 4) if true_total else None,
        "faces_beyond_range": sum(
            max(0, r["faces_found"] - r["faces_range"][1]) for r in groups if "faces_range" in r
        ),
        "no_face_photos": len(no_face),
        "faces_on_no_face_photos": {r["photo"]: r["faces_found"] for r in no_face},
        "rows": rows,
    }


def _noses_in_boxes(noses, boxes) -> int:
    """Annotated noses that fall inside a found box, each box used once."""
    if not boxes:
        return 0
    inside = np.array(
        [[x <= nx <= x + w and y <= ny <= y + h for x, y, w, h in boxes] for nx, ny in noses]
    )
    rows, cols = linear_sum_assignment(-inside.astype(float))
    return int(inside[rows, cols].sum())
