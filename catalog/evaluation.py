"""Scoring found people against labeled ground truth (`videos/<name>.truth.json` files).

A truth file lists segments with who is on screen, left to right. A frame is scored only when it
falls inside a segment without unnamed extras and the pipeline found exactly as many faces as the
segment lists; its faces are then named left to right. Plain Python, used by tests and commands.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float
    people: tuple[str, ...]
    has_extras: bool


@dataclass(frozen=True)
class VideoTruth:
    video: str
    segments: tuple[Segment, ...]

    @classmethod
    def load(cls, path: Path) -> VideoTruth:
        data = json.loads(Path(path).read_text())
        segments = tuple(
            Segment(
                start_s=float(s["start"]),
                end_s=float(s["end"]),
                people=tuple(s.get("people_left_to_right", [])),
                has_extras=s.get("extras", 0) not in (0, "0", None, ""),
            )
            for s in data["segments"]
        )
        return cls(video=data["video"], segments=segments)

    def segment_at(self, time_s: float) -> Segment | None:
        for segment in self.segments:
            if segment.start_s <= time_s < segment.end_s:
                return segment
        return None

    def name_faces(self, time_s: float, face_xs: Sequence[float]) -> list[str | None]:
        """The true name of each face of one frame (by horizontal position), or None each where
        the frame is not scored."""
        segment = self.segment_at(time_s)
        if (
            segment is None
            or segment.has_extras
            or not segment.people
            or len(segment.people) != len(face_xs)
        ):
            return [None] * len(face_xs)
        order = sorted(range(len(face_xs)), key=lambda i: face_xs[i])
        names: list[str | None] = [None] * len(face_xs)
        for rank, i in enumerate(order):
            names[i] = segment.people[rank]
        return names


def name_track_detections(
    truth: VideoTruth, tracks: Iterable[tuple[Hashable, list]]
) -> list[tuple[str, Hashable]]:
    """(true name, track key) for every scored detection of a video's tracks.

    `tracks` gives each track's key and its detections ([time_s, frame_index, x, y, w, h, ...]).
    """
    by_frame: dict[int, list[tuple[Hashable, list]]] = {}
    for key, detections in tracks:
        for detection in detections:
            by_frame.setdefault(int(detection[1]), []).append((key, detection))
    named = []
    for items in by_frame.values():
        centers = [d[2] + d[4] / 2 for _, d in items]
        for (key, _), name in zip(items, truth.name_faces(items[0][1][0], centers), strict=True):
            if name is not None:
                named.append((name, key))
    return named


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float

    @property
    def f(self) -> float:
        total = self.precision + self.recall
        return 0.0 if total == 0 else 2 * self.precision * self.recall / total


def _pairs(count: int) -> int:
    return count * (count - 1) // 2


def pairwise_scores(labels: Iterable[tuple[Hashable, Hashable]]) -> Scores:
    """Precision and recall over all pairs of items: (true label, predicted label) each."""
    items = list(labels)
    joint = Counter(items)
    true_sizes = Counter(t for t, _ in items)
    predicted_sizes = Counter(p for _, p in items)
    same_both = sum(_pairs(n) for n in joint.values())
    same_predicted = sum(_pairs(n) for n in predicted_sizes.values())
    same_true = sum(_pairs(n) for n in true_sizes.values())
    return Scores(
        precision=same_both / same_predicted if same_predicted else 1.0,
        recall=same_both / same_true if same_true else 1.0,
    )


def bcubed_scores(labels: Iterable[tuple[Hashable, Hashable]]) -> Scores:
    """BCubed precision and recall: per item, the share of its cluster (class) that is right."""
    items = list(labels)
    if not items:
        return Scores(1.0, 1.0)
    joint = Counter(items)
    true_sizes = Counter(t for t, _ in items)
    predicted_sizes = Counter(p for _, p in items)
    precision = sum(joint[(t, p)] / predicted_sizes[p] for t, p in items) / len(items)
    recall = sum(joint[(t, p)] / true_sizes[t] for t, p in items) / len(items)
    return Scores(precision, recall)
