"""Scoring what the pipeline found against labeled ground truth (`videos/<name>.truth.json`).

A truth file lists segments with who is on screen, left to right, and how many unnamed extras.
Grouping is scored on frames inside a segment without extras where the pipeline found exactly as
many faces as the segment lists; those faces are named left to right. Detection is scored on
every sampled frame of a labeled segment. Plain Python, used by tests, benchmarks and `evaluate`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float
    people: tuple[str, ...]
    has_extras: bool
    # "8-12 unnamed pedestrians" -> (8, 12); None when the count of extras is not given.
    extras_range: tuple[int, int] | None = None


def _count_range(extras) -> tuple[int, int] | None:
    if isinstance(extras, int) and extras > 0:
        return (extras, extras)
    numbers = [int(n) for n in re.findall(r"\d+", str(extras or ""))[:2]]
    if not numbers or numbers[0] == 0:
        return None
    return (numbers[0], numbers[-1])


@dataclass(frozen=True)
class VideoTruth:
    video: str
    segments: tuple[Segment, ...]
    _sources: tuple[str, ...] = ()

    @classmethod
    def load(cls, path: Path) -> VideoTruth:
        data = json.loads(Path(path).read_text())
        segments = tuple(
            Segment(
                start_s=float(s["start"]),
                end_s=float(s["end"]),
                people=tuple(s.get("people_left_to_right", [])),
                has_extras=s.get("extras", 0) not in (0, "0", None, ""),
                extras_range=_count_range(s.get("extras")),
            )
            for s in data["segments"]
        )
        sources = tuple(s["source"] for s in data["segments"] if s.get("source"))
        return cls(video=data["video"], segments=segments, _sources=sources)

    @property
    def source_files(self) -> set[str]:
        """Photos a video was built from (slideshows), as written in the truth file."""
        return set(self._sources)

    @property
    def names(self) -> set[str]:
        return {name for segment in self.segments for name in segment.people}

    @property
    def is_crowd(self) -> bool:
        """Only unnamed people with a known count: scored by how many people were found."""
        return all(not s.people and s.extras_range for s in self.segments) and bool(self.segments)

    @property
    def expects_no_face(self) -> bool:
        return all(not s.people and not s.has_extras for s in self.segments)

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


def impure_tracks(named: Iterable[tuple[str, Hashable]]) -> dict[Hashable, list[str]]:
    """Tracks whose scored detections carry more than one true name: tracks that switched
    identity (a track is grouped as one person, so each of these glues people together)."""
    names: dict[Hashable, set[str]] = {}
    for name, track in named:
        names.setdefault(track, set()).add(name)
    return {track: sorted(n) for track, n in names.items() if len(n) > 1}


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


# Face height bands (pixels of the original video) for detection recall.
SIZE_BANDS: tuple[tuple[float, float, str], ...] = (
    (0, 40, "under 40 px"),
    (40, 80, "40-80 px"),
    (80, 160, "80-160 px"),
    (160, float("inf"), "160 px and over"),
)
UNKNOWN_SIZE = "size unknown"

Box = Sequence[float]  # x, y, w, h


@dataclass(frozen=True)
class Appearance:
    """One labeled person on screen in one sampled frame, and whether a face was found for it."""

    time_s: float
    name: str | None  # None: one of a segment's unnamed extras
    found: bool
    # Face height: the matching box when found, else the person's median in the same segment.
    size_px: float | None

    @property
    def size_band(self) -> str:
        if self.size_px is None:
            return UNKNOWN_SIZE
        return next(label for low, high, label in SIZE_BANDS if low <= self.size_px < high)


def labeled_appearances(
    truth: VideoTruth, samples: Iterable[tuple[float, Sequence[Box]]]
) -> list[Appearance]:
    """Every labeled appearance in the sampled frames: (time_s, boxes found) per sampled frame.

    In a frame with as many faces as the segment lists (or more: the largest are taken), every
    listed person is found, named left to right. With fewer, the boxes go to the people whose
    usual position in the segment is nearest. Unnamed extras count by the low end of their range.
    """
    by_segment: dict[Segment, list[tuple[float, list[Box]]]] = {}
    for time_s, boxes in samples:
        segment = truth.segment_at(time_s)
        if segment is not None:
            by_segment.setdefault(segment, []).append((time_s, list(boxes)))
    appearances: list[Appearance] = []
    for segment, frames in by_segment.items():
        appearances += _named_appearances(segment, frames)
        if segment.extras_range and not segment.people:
            expected = segment.extras_range[0]
            for time_s, boxes in frames:
                sizes = sorted((b[3] for b in boxes), reverse=True)[:expected]
                appearances += [Appearance(time_s, None, True, s) for s in sizes]
                appearances += [Appearance(time_s, None, False, None)] * (expected - len(sizes))
    return sorted(appearances, key=lambda a: (a.time_s, a.name or ""))


def _named_appearances(segment: Segment, frames: list[tuple[float, list[Box]]]) -> list[Appearance]:
    people = segment.people
    if not people:
        return []
    count = len(people)
    positions: dict[str, list[float]] = {name: [] for name in people}
    sizes: dict[str, list[float]] = {name: [] for name in people}
    full, partial = [], []
    for time_s, boxes in frames:
        if segment.has_extras:
            # Extras share the frame: how many were found is known, not whose face is whose.
            found = min(len(boxes), count)
            partial.append((time_s, None, found))
        elif len(boxes) >= count:
            largest = sorted(boxes, key=lambda b: b[3], reverse=True)[:count]
            named = sorted(largest, key=lambda b: b[0] + b[2] / 2)
            for name, box in zip(people, named, strict=True):
                positions[name].append(box[0] + box[2] / 2)
                sizes[name].append(box[3])
            full.append((time_s, named))
        else:
            partial.append((time_s, boxes, len(boxes)))
    median_size = {n: float(np.median(v)) if v else None for n, v in sizes.items()}
    appearances = [
        Appearance(time_s, name, True, box[3])
        for time_s, named in full
        for name, box in zip(people, named, strict=True)
    ]
    for time_s, boxes, found in partial:
        owners = {} if boxes is None else _nearest_people(people, positions, boxes)
        for rank, name in enumerate(people):
            if boxes is None:
                appearances.append(Appearance(time_s, name, rank < found, median_size[name]))
            elif name in owners:
                appearances.append(Appearance(time_s, name, True, owners[name][3]))
            else:
                appearances.append(Appearance(time_s, name, False, median_size[name]))
    return appearances


def _nearest_people(
    people: tuple[str, ...], positions: dict[str, list[float]], boxes: list[Box]
) -> dict[str, Box]:
    """Fewer faces than people: give each box to the person usually nearest to it."""
    centres = [b[0] + b[2] / 2 for b in boxes]
    usual = [float(np.median(positions[n])) if positions[n] else None for n in people]
    if any(u is None for u in usual):  # no full frame to learn positions: left to right
        ordered = sorted(boxes, key=lambda b: b[0])
        return dict(zip(people, ordered, strict=False))
    cost = np.abs(np.subtract.outer(np.asarray(usual), np.asarray(centres)))
    rows, cols = linear_sum_assignment(cost)
    return {people[r]: boxes[c] for r, c in zip(rows, cols, strict=True)}


@dataclass(frozen=True)
class Recall:
    found: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.found / self.total if self.total else None


def detection_recall(appearances: Iterable[Appearance]) -> Recall:
    items = list(appearances)
    return Recall(sum(a.found for a in items), len(items))


def detection_recall_by_size(appearances: Iterable[Appearance]) -> dict[str, Recall]:
    """Recall of named appearances per face size band (extras have no size when missed)."""
    bands: dict[str, list[Appearance]] = {}
    for appearance in appearances:
        if appearance.name is not None:
            bands.setdefault(appearance.size_band, []).append(appearance)
    order = [label for _, _, label in SIZE_BANDS] + [UNKNOWN_SIZE]
    return {label: detection_recall(bands[label]) for label in order if label in bands}


def count_ratio(found: int, true_range: tuple[int, int]) -> float:
    """How far a people count is from a true range: 1.0 inside it, found/low or found/high out."""
    low, high = true_range
    if found < low:
        return found / low
    if found > high:
        return found / high
    return 1.0
