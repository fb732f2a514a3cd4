"""Following one face across neighbouring sampled frames, so a person seen for a minute is one
track with a few good crops, not sixty unrelated faces.

A track must never switch identity (it is the unit people are grouped by), so a face joins a
track only when its appearance agrees with the track's, never on box overlap alone: dim light
hides cuts, and children sit close together and cross. Embedding a face (SFace) is the costly
part, so a face may be absorbed without one only when it plainly continues its track: no cut
since the previous sample, its box nearly the track's last box and no other face near it, and a
small grey thumbnail of it correlating with the track's previous face. Such absorbed faces wait
for the track's next embedded face (at most `verify_after_s` later, and always the track's last
face): if that one disagrees, the waiting faces are embedded too and those from the first that
disagrees on leave the track for a new one, so a switch costs embeddings, never purity. Every
other face joins a track by embedding agreement (box overlap lowers the agreement needed), by
optimal assignment per frame, so two faces of one frame never share a track. A track whose
embedded faces still disagree when it ends (a slow drift from one face to another) is split
where they change. Short tracks keep fewer faces: one per few samples, up to the limit.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

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
# A face is absorbed without an embedding only this close to the track's last box, with no
# other face of the frame touching that box, and its grey thumbnail (THUMBNAIL_PX square, zero
# mean, unit norm) this correlated with the previous face's.
ABSORB_MIN_IOU = 0.5
ABSORB_MIN_CORRELATION = 0.7
THUMBNAIL_PX = 16


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
    # Faces absorbed since the last embedded one, aligned crops kept: checked by the next one.
    pending: list[TrackedFace] = field(default_factory=list)
    last_thumbnail: np.ndarray | None = None

    def add(self, face: TrackedFace, keep: int, thumbnail: np.ndarray | None = None) -> None:
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
        self.last_thumbnail = thumbnail
        if face.embedding is not None:
            self.last_embedded_s = face.time_s
            self._add_embedded(_compact(face))
            self.pending = []  # an agreeing embedded face vouches for the ones absorbed before it
        else:
            self.pending.append(face)
        self._add_kept(face, keep)

    def confirm_pending(self, vectors: np.ndarray) -> None:
        """The waiting faces, embedded (in order) and agreeing: they count as embedded faces."""
        embedded = {}
        for face, vector in zip(self.pending, vectors, strict=True):
            self._add_embedded(_compact(replace(face, embedding=vector)))
            embedded[face.frame_index] = vector
        self._best = [
            (quality, order, replace(face, embedding=embedded.get(face.frame_index)))
            if face.embedding is None and face.frame_index in embedded
            else (quality, order, face)
            for quality, order, face in self._best
        ]
        heapq.heapify(self._best)
        if self.pending:
            self.last_embedded_s = self.pending[-1].time_s
        self.pending = []

    def drop_from(self, frame_index: int) -> None:
        """Forget the detections from `frame_index` on (they were someone else's): the track
        ends where its last remaining detection is, and its next face must be embedded."""
        self.detections = [d for d in self.detections if int(d[1]) < frame_index]
        self._best = [e for e in self._best if e[2].frame_index < frame_index]
        heapq.heapify(self._best)
        self.pending = [f for f in self.pending if f.frame_index < frame_index]
        last = self.detections[-1]
        self.last_box, self.last_time_s = tuple(last[2:6]), last[0]
        self.last_thumbnail = None

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
        verify_after_s: float = 3.0,
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
        followed = {} if new_shot else self._follow(faces)
        thumbnails = [thumbnail(face.aligned_bgr) for face in faces]
        to_embed = [
            j
            for j in range(len(faces))
            if j not in followed
            or not self._may_absorb(followed[j], j, faces, thumbnails[j], time_s)
        ]
        vectors: dict[int, np.ndarray] = {}
        if to_embed:
            embedded = embed([faces[j].aligned_bgr for j in to_embed])
            vectors = dict(zip(to_embed, embedded, strict=True))
            self.faces_embedded += len(to_embed)
        assigned: dict[int, FaceTrack] = {}
        for j, track in followed.items():
            vector = vectors.get(j)
            if vector is None or self._check_pending(track, embed, vector):
                assigned[j] = track
        assigned |= self._link_by_embedding(faces, vectors, assigned)
        for j, face in enumerate(faces):
            track = assigned.get(j)
            if track is None:
                track = self._new_track()
            track.add(replace(face, embedding=vectors.get(j)), self.faces_per_track, thumbnails[j])
        self._previous_time_s = time_s

    def _may_absorb(
        self,
        track: FaceTrack,
        j: int,
        faces: list[TrackedFace],
        face_thumbnail: np.ndarray | None,
        time_s: float,
    ) -> bool:
        """Whether face j may join its followed track without an embedding (see the module)."""
        # (sample times fall on frames: 0.9 keeps a 3 s check from skipping a 2.999 s gap)
        if time_s - track.last_embedded_s >= 0.9 * self.verify_after_s:
            return False
        if box_iou(track.last_box, faces[j].box) < ABSORB_MIN_IOU:
            return False
        if any(k != j and box_iou(track.last_box, f.box) > 0 for k, f in enumerate(faces)):
            return False
        if face_thumbnail is None or track.last_thumbnail is None:
            return False
        return float(np.dot(face_thumbnail, track.last_thumbnail)) >= ABSORB_MIN_CORRELATION

    def _check_pending(self, track: FaceTrack, embed: Embed, vector: np.ndarray | None) -> bool:
        """Check a track's absorbed faces with its newest face's embedding `vector` (None: its
        last absorbed face, embedded now). True if that face agrees. If not, the absorbed faces
        are embedded and those from the first that disagrees on move to a new track."""
        waiting = track.pending
        if vector is None:
            if not waiting:
                return True
            vector = embed([waiting[-1].aligned_bgr])[0]
            self.faces_embedded += 1
            if track.distance_to(vector) < self.link_max_distance:
                track.pending = waiting[-1:]  # the last one now counts as embedded
                track.confirm_pending(vector[None])
                return True
            earlier = embed([face.aligned_bgr for face in waiting[:-1]])
            vectors = np.concatenate([earlier.reshape(-1, len(vector)), vector[None]])
            self.faces_embedded += len(waiting) - 1
        elif track.distance_to(vector) < self.link_max_distance:
            return True
        elif not waiting:
            return False
        else:
            vectors = embed([face.aligned_bgr for face in waiting])
            self.faces_embedded += len(waiting)
        first_other = next(
            (i for i, v in enumerate(vectors) if track.distance_to(v) >= self.link_max_distance),
            len(waiting),
        )
        track.pending = waiting[:first_other]
        track.confirm_pending(vectors[:first_other])
        if first_other < len(waiting):
            track.drop_from(waiting[first_other].frame_index)
            other = self._new_track()
            for face, v in zip(waiting[first_other:], vectors[first_other:], strict=True):
                other.add(replace(face, embedding=v), self.faces_per_track)
        return False

    def _new_track(self) -> FaceTrack:
        track = FaceTrack(index=len(self.tracks))
        self.tracks.append(track)
        self._active.append(track)
        return track

    def finish(self, embed: Embed) -> list[FaceTrack]:
        """Close every open track (see _close) and return all tracks of the video."""
        self._close(list(self._active), embed)
        for number, track in enumerate(self.tracks):
            track.index = number  # split tracks took their place: number them in order again
        return self.tracks

    def _close(self, tracks: list[FaceTrack], embed: Embed) -> None:
        """Check ended tracks' last absorbed faces, split tracks whose faces disagree, and embed
        their absorbed kept faces in one batch."""
        for track in list(tracks):
            before = len(self.tracks)
            self._check_pending(track, embed, None)
            tracks = tracks + self.tracks[before:]  # a split-off tail ends with its track
        closed = {id(t) for t in tracks}
        self._active = [t for t in self._active if id(t) not in closed]
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
        return {free_faces[k]: free_tracks[i] for i, k in _assignment(cost)}


def _assignment(cost: np.ndarray) -> list[tuple[int, int]]:
    """The (row, column) pairs of finite cost that a minimum-cost assignment makes. When no row
    and no column has two finite costs (nearly every frame), that is every finite pair; only
    real contention needs scipy's solver, whose import costs a process 0.5-2 s of start-up."""
    finite = np.isfinite(cost)
    if finite.sum(axis=0).max(initial=0) <= 1 and finite.sum(axis=1).max(initial=0) <= 1:
        return [(int(i), int(k)) for i, k in zip(*np.nonzero(finite), strict=True)]
    from scipy.optimize import linear_sum_assignment

    rows, columns = linear_sum_assignment(np.where(finite, cost, 1e6))
    return [(int(i), int(k)) for i, k in zip(rows, columns, strict=True) if finite[i, k]]


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


def thumbnail(aligned_bgr: np.ndarray | None) -> np.ndarray | None:
    """A tiny grey picture of an aligned face, zero mean and unit norm: the dot product of two
    is their correlation, a cheap check that one sample's face is still the previous one."""
    if aligned_bgr is None:
        return None
    grey = cv2.cvtColor(aligned_bgr, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(grey, (THUMBNAIL_PX, THUMBNAIL_PX), interpolation=cv2.INTER_AREA)
    vector = small.astype(np.float32).ravel()
    vector -= vector.mean()
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 1e-6 else None


def _compact(face: TrackedFace) -> TrackedFace:
    crop = encode_jpeg(face.crop_bgr) if face.crop_bgr is not None else face.crop_jpeg
    return replace(face, aligned_bgr=None, crop_bgr=None, crop_jpeg=crop)


def _similar_size(a, b) -> bool:
    ratio = max(a[2], 1e-6) / max(b[2], 1e-6)
    return 1 / FOLLOW_MAX_SIZE_RATIO <= ratio <= FOLLOW_MAX_SIZE_RATIO
