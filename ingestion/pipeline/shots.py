"""Noticing cuts between shots, so a face at the same place after a cut is not taken for the face
that was there before it.

Small grey thumbnails of frames a fifth of a second apart are compared; a cut changes most of
the picture at once, while motion inside a shot changes little in that time. The threshold errs
towards seeing cuts (a shaky camera may look like one): a cut seen wrongly only costs an
embedding, a cut missed could put two people in one track.
"""

from __future__ import annotations

import cv2
import numpy as np

THUMBNAIL_SIZE = (64, 36)
# Mean absolute difference (0-255) of thumbnails 0.2 s apart. Measured on the shared videos:
# hard cuts 28-89, motion inside a shot mostly under 15 (up to 25 with a moving camera).
CUT_DIFFERENCE = 15.0
CHECKS_PER_SECOND = 5.0


def thumbnail(frame_bgr: np.ndarray) -> np.ndarray:
    small = cv2.resize(frame_bgr, THUMBNAIL_SIZE, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)


class ShotChangeDetector:
    """Fed frames in order; says whether a cut happened since the last time it was asked."""

    def __init__(self, threshold: float = CUT_DIFFERENCE) -> None:
        self.threshold = threshold
        self._previous: np.ndarray | None = None
        self._cut_seen = False

    def feed(self, frame_bgr: np.ndarray) -> None:
        current = thumbnail(frame_bgr)
        previous = self._previous
        if previous is not None and float(np.abs(current - previous).mean()) > self.threshold:
            self._cut_seen = True
        self._previous = current

    def cut_since_last_asked(self) -> bool:
        seen, self._cut_seen = self._cut_seen, False
        return seen
