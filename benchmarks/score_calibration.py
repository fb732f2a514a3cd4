"""Fitting the search score (ingestion/pipeline/thresholds.py) from an evaluation's results.

The score is logistic in the cosine distance. Its slope is fitted on every same/different pair
of the labeled photos (people/); its midpoint on search outcomes: for each query photo, each
person search returned, whether it is the photo's person. Only the tuning half of the
identities (by a hash of the name) is used for the midpoint; the other half is reported.

    .venv/bin/python manage.py evaluate ../shared/data --json > result.json
    .venv/bin/python benchmarks/score_calibration.py result.json

Prints the fitted values as shares of the model's verification distance, and false matches
and top-1 at score >= 0.5 on each half. Plain Python: no Django, no models.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.linear_model import LogisticRegression

VERIFICATION_DISTANCE = {"SFace": 0.593}  # DeepFace's, for the shares printed


def tuning_half(identity: str) -> bool:
    return hashlib.sha256(identity.encode()).digest()[0] % 2 == 0


def fit_slope(same: np.ndarray, different: np.ndarray) -> float:
    distances = np.r_[same, different][:, None]
    labels = np.r_[np.ones(len(same)), np.zeros(len(different))]
    model = LogisticRegression(C=1e4).fit(distances, labels)
    return float(-1.0 / model.coef_[0][0])


def search_outcomes(rows: list[dict], half: bool) -> tuple[np.ndarray, np.ndarray]:
    points = [
        (1.0 - entry["similarity"], entry["name"] == row["identity"])
        for row in rows
        if tuning_half(row["identity"]) == half
        for entry in row["top"]
    ]
    return np.array([p[0] for p in points]), np.array([p[1] for p in points])


def fit_midpoint(distances: np.ndarray, same: np.ndarray, scale: float) -> float:
    def negative_log_likelihood(midpoint: float) -> float:
        p = np.clip(1.0 / (1.0 + np.exp((distances - midpoint) / scale)), 1e-9, 1 - 1e-9)
        return float(-(same * np.log(p) + (~same) * np.log(1 - p)).sum())

    return float(minimize_scalar(negative_log_likelihood, bounds=(0.2, 0.9), method="bounded").x)


def outcomes_at(rows: list[dict], half: bool, midpoint: float, scale: float) -> dict:
    chosen = [r for r in rows if tuning_half(r["identity"]) == half and r["top"]]

    def score(entry):
        return 1.0 / (1.0 + np.exp(((1.0 - entry["similarity"]) - midpoint) / scale))

    present = [r for r in chosen if r["in_catalog"]]
    absent = [r for r in chosen if not r["in_catalog"]]
    return {
        "present": len(present),
        "top1_at_half": sum(r["top1"] and score(r["top"][0]) >= 0.5 for r in present),
        "absent": len(absent),
        "false_matches": sum(score(r["top"][0]) >= 0.5 for r in absent),
    }


def main() -> None:
    result = json.loads(Path(sys.argv[1]).read_text())
    model = result["configuration"]["recognition_model"]
    distances = result["verification"]["distances"]
    scale = fit_slope(np.asarray(distances["same"]), np.asarray(distances["different"]))
    midpoint = fit_midpoint(*search_outcomes(result["search"]["rows"], True), scale)
    rates = result["verification"]["rates_at"]
    base = VERIFICATION_DISTANCE.get(model, rates["model_verification_threshold"]["threshold"])
    print(f"{model}: midpoint {midpoint:.4f} ({midpoint / base:.3f}x), "
          f"scale {scale:.4f} ({scale / base:.4f}x)")  # fmt: skip
    for half, name in ((True, "tuning"), (False, "held-out")):
        print(name, outcomes_at(result["search"]["rows"], half, midpoint, scale))


if __name__ == "__main__":
    main()
