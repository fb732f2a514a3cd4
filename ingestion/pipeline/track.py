"""Following one face across neighbouring sampled frames, so a person seen for a minute is one
track with a few good crops, not sixty unrelated faces.

A track must never switch identity (it is the unit people are grouped by), so a face joins a
track only when its appearance agrees with the track's, never on box overlap alone: dim light
hides cuts, and children sit close together and cross. A face that sits where a track's face was
in the previous sample, with no cut between and nothing competing for it, may skip its embedding
only if the track was checked less than a second ago (at the default 1 frame/s every face is
checked; at higher rates the frames in between are absorbed). Every other face joins a track by
embedding agreement (box overlap lowers the agreement needed), by optimal assignment per frame,
so two faces of one frame never share a track. A track whose embedded faces still disagree when
it ends (a slow drift from one face to another) is split where they change. Short tracks keep
fewer faces: one per few samples, up to the limit.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from .align import encode_jpeg
from .detect import box_iou

Embed = Callable[[list[np.ndarray]], np.ndarray]  # aligned crops -> L2-normalised vectors

# A face this much overlapping a track's last box, of about its size, continues it (no cut).
FOLLOW_MIN_IOU = 0.3
FOLLOW_MAX_SIZE_RATIO = 1.5
# A track keeps one best face per this many detections (at least one, at most faces_per_track).
DETECTIONS_PER_KEPT_FACE = 4
# Quality (0-1) by which an absorbed face must beat an embedded one to be kept instead of it.
EMBEDDED_QUALITY_BONUS = 0.05


@dataclass(frozen=True)
class TrackedFace:
    """One detection: what the tracker needs, and what a kept face is saved with."""

    time_s: float
    frame_index: int
    box: tuple[float, float, float, float]
    confidence: float
    quality: float
    aligned_bgr: np.ndarray | None
    crop_bgr: np.ndarray | None  # the crop people see; JPEG (crop_jpeg) once the track ends
    embedding: np.ndarray | None = None  # None: absorbed into its track without embedding
    crop_jpeg: bytes = b""


@dataclass
class FaceTrack:
    index: int
    # [time_s, frame_index, x, y, w, h, confidence] for every detection
    detections: list[list[float]] = field(default_factory=list)
    _best: list[tuple[float, int, TrackedFace]] = field(default_factory=list)
    _embedding_sum: np.ndarray | None = None
    last_box: tuple[float, float, float, float] = (0, 0, 0, 0)
    last_time_s: float = 0.0
    last_embedded_s: float = 0.0
    last_embedding: np.ndarray | None = None
    # Every embedded face (crop as JPEG, no aligned image), so a track can be split at the end.
    embedded: list[TrackedFace] = field(default_factory=list)

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
        self.last_box, self.last_time_s = face.box, face.time_s
        if face.embedding is not None:
            self.last_embedded_s = face.time_s
            self._add_embedded(_compact(face))
        self._add_kept(face, keep)

    def _add_embedded(self, face: TrackedFace) -> None:
        self.last_embedding = face.embedding
        self.embedded.append(face)
        if self._embedding_sum is None:
            self._embedding_sum = face.embedding.astype(np.float64).copy()
        else:
            self._embedding_sum += face.embedding

    def _add_kept(self, face: TrackedFace, keep: int) -> None:
        # A min-heap of the best `keep` faces; the frame index breaks ties deterministically.
        # Their embeddings may wait for finish(): the aligned crop is kept until then.
        entry = (face.quality, -face.frame_index, face)
        if len(self._best) < keep:
            heapq.heappush(self._best, entry)
        elif entry[:2] > self._best[0][:2]:
            heapq.heapreplace(self._best, entry)

    @property
    def mean_embedding(self) -> np.ndarray:
        vector = self._embedding_sum
        return (vector / max(np.linalg.norm(vector), 1e-12)).astype(np.float32)

    def distance_to(self, vector: np.ndarray) -> float:
        """How far a face is from the track: the larger of its distances to the track's mean
        and to the track's latest embedded face, so neither a long history nor one odd face
        lets a different person in."""
        distance = 1.0 - float(np.dot(self.mean_embedding, vector))
        if self.last_embedding is not None:
            distance = max(distance, 1.0 - float(np.dot(self.last_embedding, vector)))
        return distance

    @property
    def best_faces(self) -> list[TrackedFace]:
        return [entry[2] for entry in sorted(self._best, key=lambda e: (-e[0], -e[1]))]

    def finish(self, keep: int) -> list[TrackedFace]:
        """Keep one face per few detections (up to `keep`); return those still to be embedded."""
        wanted = max(1, min(keep, -(-len(self.detections) // DETECTIONS_PER_KEPT_FACE)))

        def rank(entry):  # an already embedded face wins a near tie: no extra embedding
            bonus = EMBEDDED_QUALITY_BONUS if entry[2].embedding is not None else 0.0
            return (-(entry[0] + bonus), -entry[1])

        self._best = sorted(self._best, key=rank)[:wanted]
        return [entry[2] for entry in self._best if entry[2].embedding is None]

    def set_embeddings(self, vectors: dict[int, np.ndarray]) -> None:
        """The kept faces' embeddings, by frame index. The track has ended: its images shrink to
        what is saved (a JPEG crop), so a long video's ended tracks hold kilobytes, not frames;
        every embedded face it held for the split check is let go."""
        self.embedded = []
        self._best = [
            (quality, order, replace(
                face,
                aligned_bgr=None,
                crop_bgr=None,
                crop_jpeg=encode_jpeg(face.crop_bgr) if face.crop_bgr is not None
                else face.crop_jpeg,
                embedding=vectors.get(face.frame_index, face.embedding),
            ))
            for quality, order, face in self._best
        ]  # fmt: skip

    @property
    def start_time_s(self) -> float:
        return self.detections[0][0]

    @property
    def end_time_s(self) -> float:
        return self.detections[-1][0]


class FaceTracker:
    def __init__(
        self,
        link_max_distance: float,
        max_gap_s: float,
        faces_per_track: int,
        verify_after_s: float = 1.0,
    ) -> None:
        self.link_max_distance = link_max_distance
        self.max_gap_s = max_gap_s
        self.faces_per_track = faces_per_track
        self.verify_after_s = verify_after_s
        self.tracks: list[FaceTrack] = []
        self.faces_embedded = 0
        self._active: list[FaceTrack] = []
        self._previous_time_s: float | None = None

    def update(
        self, time_s: float, faces: list[TrackedFace], embed: Embed, new_shot: bool = True
    ) -> None:
        """Place one sampled frame's faces; `new_shot`: a cut since the previous sample."""
        ended = [t for t in self._active if time_s - t.last_time_s > self.max_gap_s]
        if ended:
            self._close(ended, embed)
            self._active = [t for t in self._active if t not in ended]
        followed = {} if new_shot else self._follow(faces)
        to_embed = [
            j
            for j in range(len(faces))
            # (sample times fall on frames: 0.9 keeps a 1 s check from skipping a 0.999 s gap)
            if j not in followed
            or time_s - followed[j].last_embedded_s >= 0.9 * self.verify_after_s
        ]
        vectors: dict[int, np.ndarray] = {}
        if to_embed:
            embedded = embed([faces[j].aligned_bgr for j in to_embed])
            vectors = dict(zip(to_embed, embedded, strict=True))
            self.faces_embedded += len(to_embed)
        assigned: dict[int, FaceTrack] = {}
        for j, track in followed.items():
            vector = vectors.get(j)
            if vector is None or track.distance_to(vector) < self.link_max_distance:
                assigned[j] = track
        assigned |= self._link_by_embedding(faces, vectors, assigned)
        for j, face in enumerate(faces):
            track = assigned.get(j)
            if track is None:
                track = FaceTrack(index=len(self.tracks))
                self.tracks.append(track)
                self._active.append(track)
            track.add(replace(face, embedding=vectors.get(j)), self.faces_per_track)
        self._previous_time_s = time_s

    def finish(self, embed: Embed) -> list[FaceTrack]:
        """Close every open track (see _close) and return all tracks of the video."""
        self._close(self._active, embed)
        self._active = []
        for number, track in enumerate(self.tracks):
            track.index = number  # split tracks took their place: number them in order again
        return self.tracks

    def _close(self, tracks: list[FaceTrack], embed: Embed) -> None:
        """Split ended tracks whose faces disagree; embed their absorbed kept faces in one batch."""
        for track in tracks:
            parts = split_disagreeing(track, self.link_max_distance, self.faces_per_track)
            if len(parts) > 1:
                at = self.tracks.index(track)
                self.tracks[at : at + 1] = parts
                tracks = [t for t in tracks if t is not track] + parts
        waiting = [(t, face) for t in tracks for face in t.finish(self.faces_per_track)]
        vectors = embed([face.aligned_bgr for _, face in waiting]) if waiting else []
        self.faces_embedded += len(waiting)
        by_track: dict[int, dict[int, np.ndarray]] = {}
        for (track, face), vector in zip(waiting, vectors, strict=True):
            by_track.setdefault(track.index, {})[face.frame_index] = vector
        for track in tracks:
            track.set_embeddings(by_track.get(track.index, {}))

    def _follow(self, faces: list[TrackedFace]) -> dict[int, FaceTrack]:
        """Faces that unambiguously continue a track seen in the previous sample."""
        recent = [t for t in self._active if t.last_time_s == self._previous_time_s]
        pairs = [
            (j, track)
            for j, face in enumerate(faces)
            for track in recent
            if box_iou(track.last_box, face.box) >= FOLLOW_MIN_IOU
            and _similar_size(track.last_box, face.box)
        ]
        faces_per_track: dict[int, int] = {}
        tracks_per_face: dict[int, int] = {}
        for j, track in pairs:
            faces_per_track[track.index] = faces_per_track.get(track.index, 0) + 1
            tracks_per_face[j] = tracks_per_face.get(j, 0) + 1
        return {
            j: track
            for j, track in pairs
            if faces_per_track[track.index] == 1 and tracks_per_face[j] == 1
        }

    def _link_by_embedding(
        self,
        faces: list[TrackedFace],
        vectors: dict[int, np.ndarray],
        taken: dict[int, FaceTrack],
    ) -> dict[int, FaceTrack]:
        free_faces = [j for j in range(len(faces)) if j not in taken]
        taken_tracks = {id(t) for t in taken.values()}
        free_tracks = [t for t in self._active if id(t) not in taken_tracks]
        if not free_faces or not free_tracks:
            return {}
        cost = np.full((len(free_tracks), len(free_faces)), np.inf)
        for i, track in enumerate(free_tracks):
            for k, j in enumerate(free_faces):
                distance = track.distance_to(vectors[j])
                overlaps = box_iou(track.last_box, faces[j].box) >= 0.1
                # Without overlap (a cut, a fast move) the faces must look much more alike.
                limit = self.link_max_distance * (1.0 if overlaps else 0.6)
                if distance < limit:
                    cost[i, k] = distance
        finite = np.where(np.isfinite(cost), cost, 1e6)
        return {
            free_faces[k]: free_tracks[i]
            for i, k in zip(*linear_sum_assignment(finite), strict=True)
            if np.isfinite(cost[i, k])
        }


def split_disagreeing(track: FaceTrack, max_distance: float, keep: int) -> list[FaceTrack]:
    """The track, or its parts when its embedded faces fall into two groups farther apart than
    `max_distance` (the means of the faces before and after the best split point); each part
    is checked again. Detections go to the part their time falls in."""
    faces = track.embedded
    if len(faces) < 2:
        return [track]
    vectors = np.asarray([f.embedding for f in faces], dtype=np.float64)
    before, after = (
        np.cumsum(vectors, axis=0)[:-1],
        vectors.sum(axis=0) - np.cumsum(vectors, 0)[:-1],
    )
    cosine = (before * after).sum(axis=1) / np.maximum(
        np.linalg.norm(before, axis=1) * np.linalg.norm(after, axis=1), 1e-12
    )
    cut = int(np.argmin(cosine)) + 1  # faces[:cut] | faces[cut:]
    if 1.0 - float(cosine[cut - 1]) < max_distance:
        return [track]
    boundary = faces[cut].frame_index
    parts = []
    for in_part in (lambda frame: frame < boundary, lambda frame: frame >= boundary):
        part = FaceTrack(index=track.index)
        part.detections = [d for d in track.detections if in_part(int(d[1]))]
        part.last_box, part.last_time_s = track.last_box, track.last_time_s
        embedded = [f for f in faces if in_part(f.frame_index)]
        absorbed = [
            e[2] for e in track._best if e[2].embedding is None and in_part(e[2].frame_index)
        ]
        for face in embedded:
            part._add_embedded(face)
        for face in sorted(embedded + absorbed, key=lambda f: f.frame_index):
            part._add_kept(face, keep)
        parts += split_disagreeing(part, max_distance, keep)
    return parts


def _compact(face: TrackedFace) -> TrackedFace:
    crop = encode_jpeg(face.crop_bgr) if face.crop_bgr is not None else face.crop_jpeg
    return replace(face, aligned_bgr=None, crop_bgr=None, crop_jpeg=crop)


def _similar_size(a, b) -> bool:
    ratio = max(a[2], 1e-6) / max(b[2], 1e-6)
    return 1 / FOLLOW_MAX_SIZE_RATIO <= ratio <= FOLLOW_MAX_SIZE_RATIO
