"""Noticing cuts between shots, so a face at the same place after a cut is not taken for the face
that was there before it.

Small grey thumbnails of frames a fifth of a second apart are compared; a cut changes most of
the picture at once, while motion inside a shot changes little in that time. The threshold errs
towards seeing cuts (a shaky camera may look like one): a cut seen wrongly only costs an
embedding, a cut missed could put two people in one track.
"""

from __future__ import annotations

import numpy as np

from .shrink import shrink

THUMBNAIL_SIZE = (64, 36)
# Mean absolute difference (0-255) of thumbnails 0.2 s apart. Measured on the shared videos:
# hard cuts 28-89, motion inside a shot mostly under 15 (up to 25 with a moving camera).
CUT_DIFFERENCE = 15.0
CHECKS_PER_SECOND = 5.0


# Decoded pictures whose first plane is 8-bit luma: the thumbnail is made from it directly,
# without converting the frame to colour (a fifth of the cost).
LUMA_FIRST_FORMATS = {
    "yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21",
}  # fmt: skip
FULL_RANGE = 2  # AVCOL_RANGE_JPEG; video luma is otherwise 16-235


def thumbnail(frame) -> np.ndarray:
    """A small grey picture of a decoded PyAV frame, 0-255 like OpenCV's grey."""
    if frame.format.name in LUMA_FIRST_FORMATS:
        plane = frame.planes[0]
        size = frame.height * plane.line_size  # rows are padded to line_size bytes
        rows = np.frombuffer(plane, np.uint8)[:size].reshape(frame.height, plane.line_size)
        luma = rows[:, : frame.width]
        full_range = frame.color_range == FULL_RANGE or frame.format.name.startswith("yuvj")
    else:
        luma, full_range = frame.to_ndarray(format="gray"), True
    small = shrink(luma, THUMBNAIL_SIZE).astype(np.float32)
    return small if full_range else (small - 16.0) * (255.0 / 219.0)


class ShotChangeDetector:
    """Fed frames in order; says whether a cut happened since the last time it was asked."""

    def __init__(self, threshold: float = CUT_DIFFERENCE) -> None:
        self.threshold = threshold
        self._previous: np.ndarray | None = None
        self._cut_seen = False

    def feed(self, frame) -> None:
        """The next checked frame, decoded (PyAV)."""
        current = thumbnail(frame)
        previous = self._previous
        if previous is not None and float(np.abs(current - previous).mean()) > self.threshold:
            self._cut_seen = True
        self._previous = current

    def cut_since_last_asked(self) -> bool:
        seen, self._cut_seen = self._cut_seen, False
        return seen
