"""Per-model distances under which two faces are taken for one person.

DeepFace publishes one cosine threshold per recognition model for verifying a pair of photos.
People are grouped from track averages, and a wrong merge costs a user more than a split (a split
is one click to merge; a merge mixes two people's faces), so grouping uses a margin below it:
on ../shared/data with SFace the closest different people sit at 0.59 and DeepFace's own 0.593
merged two of them, while 0.85 x 0.593 = 0.50 kept every person apart and split only hard
profiles (see benchmarks/README.md).
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


def match_score(similarity: float, model_name: str) -> float:
    """A 0-1 score for "same person" from a cosine similarity, comparable across models.

    Logistic in the distance, 0.5 at DeepFace's verification threshold and 0.9 at the (stricter)
    grouping threshold, so 0.5 reads as "as likely as not" and 0.9 as "would be grouped".
    """
    distance = 1.0 - similarity
    threshold = verification_distance(model_name)
    scale = threshold * (1 - GROUPING_MARGIN) / math.log(9)
    return float(1.0 / (1.0 + math.exp((distance - threshold) / scale)))
