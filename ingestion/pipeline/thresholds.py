"""Per-model distances under which two faces are taken for one person, and the search score.

DeepFace publishes one cosine threshold per recognition model for verifying a pair of photos.
A track only continues with a face at a margin below it (0.85 x 0.593 = 0.50 for SFace: a wrong
continuation glues two people together at any grouping threshold); people are grouped by their
own rule in catalog/services/clustering.py. See benchmarks/README.md.
"""

import math

from deepface.config.threshold import thresholds as DEEPFACE_THRESHOLDS

GROUPING_MARGIN = 0.85

# Length of each DeepFace model's embedding, known without loading the model.
EMBEDDING_DIMENSIONS = {
    "SFace": 128, "Dlib": 128, "Facenet": 128, "OpenFace": 128, "DeepID": 160,
    "ArcFace": 512, "Facenet512": 512, "GhostFaceNet": 512, "Buffalo_L": 512,
    "VGG-Face": 4096, "DeepFace": 4096,
}  # fmt: skip


def verification_distance(model_name: str) -> float:
    """DeepFace's cosine distance threshold for "same person" on one pair of faces."""
    try:
        return float(DEEPFACE_THRESHOLDS[model_name]["cosine"])
    except KeyError as error:
        known = ", ".join(sorted(DEEPFACE_THRESHOLDS))
        raise ValueError(f"no threshold known for model {model_name!r}; known: {known}") from error


def grouping_distance(model_name: str) -> float:
    """The default cosine distance under which tracks are grouped into one person."""
    return round(verification_distance(model_name) * GROUPING_MARGIN, 4)


# The search score is logistic in the distance, 0.5 where a photo's best match in the catalog
# is as likely the same person as not. Fitted on SFace (benchmarks/score_calibration.py): the
# slope on the 5,253 same/different pairs of ../shared/data/people, the midpoint on search
# outcomes (each query photo's nearest people, the same person or not) of the tuning half of
# the identities, where a match is the best of many comparisons, so it sits lower than a
# single pair's threshold. Other models take the same shares of their DeepFace threshold.
SCORE_MIDPOINT_SHARE = 0.865  # x the verification distance: SFace 0.513
SCORE_SCALE_SHARE = 0.038  # x the verification distance: SFace 0.0225


def match_score(similarity: float, model_name: str) -> float:
    """A 0-1 score for "this is the person in the photo" from a cosine similarity: 0.5 reads
    as "as likely as not" (above it: found; below it: not in the catalog)."""
    threshold = verification_distance(model_name)
    midpoint, scale = threshold * SCORE_MIDPOINT_SHARE, threshold * SCORE_SCALE_SHARE
    exponent = min(50.0, ((1.0 - similarity) - midpoint) / scale)
    return float(1.0 / (1.0 + math.exp(exponent)))
