"""How good a face crop is to show and to recognise: sharp, large, frontal, confidently found."""

from __future__ import annotations

import cv2
import numpy as np

from .detect import Detection


def sharpness(aligned_bgr: np.ndarray) -> float:
    """0-1 from the variance of the Laplacian; blurred crops score low."""
    gray = cv2.cvtColor(aligned_bgr, cv2.COLOR_BGR2GRAY)
    return float(min(1.0, cv2.Laplacian(gray, cv2.CV_64F).var() / 400.0))


def frontalness(detection: Detection) -> float:
    """0-1: how far the nose sits from the middle of the eyes (1 = frontal, 0 = profile)."""
    landmarks = detection.landmarks
    if landmarks is None or len(landmarks) < 3:
        return 0.5
    left_eye, right_eye, nose = landmarks[0], landmarks[1], landmarks[2]
    half_eye_distance = max(1e-6, abs(right_eye[0] - left_eye[0]) / 2)
    offset = abs(nose[0] - (left_eye[0] + right_eye[0]) / 2) / half_eye_distance
    return float(max(0.0, 1.0 - offset))


def face_quality(
    detection: Detection, aligned_bgr: np.ndarray, reference_size_px: float = 80
) -> float:
    size = min(1.0, detection.size_px / reference_size_px)
    score = 0.35 * frontalness(detection) + 0.35 * sharpness(aligned_bgr) + 0.3 * size
    return round(float(score * min(1.0, detection.confidence)), 4)
