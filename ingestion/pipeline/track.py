"""Following one face across neighbouring sampled frames, so a person seen for a minute is one
track with a few good crops, not sixty unrelated faces.

Two detections in nearby samples join when their embeddings agree; box overlap lowers the
agreement needed. Links are made by optimal assignment per frame, so two faces of one frame can
never end up in the same track.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class TrackedFace:
    """A detection good enough to be kept as one of its track's faces."""

    time_s: float
    frame_index: int
    box: tuple[float, float, float, float]
    confidence: float
    quality: float
    embedding: np.ndarray
    crop_bgr: np.ndarray


@dataclass
class FaceTrack:
    index: int
    # [time_s, frame_index, x, y, w, h, confidence] for every detection
    detections: list[list[float]] = field(default_factory=list)
    _best: list[tuple[float, int, TrackedFace]] = field(default_factory=list)
    _embedding_sum: np.ndarray | None = None
    last_box: tuple[float, float, float, float] = (0, 0, 0, 0)
    last_time_s: float = 0.0

    def add(self, face: TrackedFace, keep: int) -> None:
        x, y, w, h = face.box
        self.detections.append(
            [
                face.time_s,
                face.frame_index,
                round(x, 1),
                round(y, 1),
                round(w, 1),
                round(h, 1),
                round(face.confidence, 4),
            ]
        )
        if self._embedding_sum is None:
            self._embedding_sum = face.embedding.astype(np.float64).copy()
        else:
            self._embedding_sum += face.embedding
        self.last_box, self.last_time_s = face.box, face.time_s
        # A min-heap of the best `keep` faces; the frame index breaks ties deterministically.
        entry = (face.quality, -face.frame_index, face)
        if len(self._best) < keep:
            heapq.heappush(self._best, entry)
        elif entry[:2] > self._best[0][:2]:
            heapq.heapreplace(self._best, entry)

    @property
    def mean_embedding(self) -> np.ndarray:
        vector = self._embedding_sum
        return (vector / max(np.linalg.norm(vector), 1e-12)).astype(np.float32)

    @property
    def best_faces(self) -> list[TrackedFace]:
        return [entry[2] for entry in sorted(self._best, key=lambda e: (-e[0], -e[1]))]

    @property
    def start_time_s(self) -> float:
        return self.detections[0][0]

    @property
    def end_time_s(self) -> float:
        return self.detections[-1][0]


def box_iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


class FaceTracker:
    def __init__(self, link_max_distance: float, max_gap_s: float, faces_per_track: int) -> None:
        self.link_max_distance = link_max_distance
        self.max_gap_s = max_gap_s
        self.faces_per_track = faces_per_track
        self.tracks: list[FaceTrack] = []
        self._active: list[FaceTrack] = []

    def update(self, time_s: float, faces: list[TrackedFace]) -> None:
        self._active = [t for t in self._active if time_s - t.last_time_s <= self.max_gap_s]
        assigned: dict[int, FaceTrack] = {}
        if self._active and faces:
            cost = np.full((len(self._active), len(faces)), np.inf)
            for i, track in enumerate(self._active):
                track_vector = track.mean_embedding
                for j, face in enumerate(faces):
                    distance = 1.0 - float(np.dot(track_vector, face.embedding))
                    overlaps = box_iou(track.last_box, face.box) >= 0.1
                    # Without overlap (a cut, a fast move) the faces must look much more alike.
                    limit = self.link_max_distance * (1.0 if overlaps else 0.6)
                    if distance < limit:
                        cost[i, j] = distance
            finite = np.where(np.isfinite(cost), cost, 1e6)
            for i, j in zip(*linear_sum_assignment(finite), strict=True):
                if np.isfinite(cost[i, j]):
                    assigned[j] = self._active[i]
        for j, face in enumerate(faces):
            track = assigned.get(j)
            if track is None:
                track = FaceTrack(index=len(self.tracks))
                self.tracks.append(track)
                self._active.append(track)
            track.add(face, self.faces_per_track)
