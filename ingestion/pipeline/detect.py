"""Face detection on whole frames, with any DeepFace detector backend.

DeepFace's own `extract_faces` pads the frame before detecting (halving the effective resolution)
and its YuNet wrapper shrinks every frame to 640 px and keeps only the eyes. So YuNet is driven
here directly (through onnxruntime: yunet.py), with all five landmarks, at the resolution that
still finds the smallest face wanted (0.7x with the default 20 px: a 720p frame is detected at
896 px, a 1080p one at 1280, none below 640); other backends go through DeepFace's detector
objects. Boxes come back in original-frame pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .yunet import WEIGHTS_FILE as YUNET_WEIGHTS
from .yunet import YuNet


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x, y, w, h in frame pixels
    confidence: float
    # Subject's right eye, left eye, nose, right and left mouth corner (image left first);
    # two rows (eyes only) for detectors that give no more, None when none at all.
    landmarks: np.ndarray | None

    @property
    def size_px(self) -> float:
        return min(self.box[2], self.box[3])


# The smallest face (px, at the detector's input) a backend still finds reliably. Frames are
# shrunk so that the smallest face wanted (FACE_MIN_SIZE_PX) lands there: detecting at a larger
# size costs time and finds nothing more. YuNet's smallest anchor is 10 px at stride 8.
SMALLEST_RELIABLE_FACE_PX = {"yunet": 14}
# ...but never below this longest side: small frames lose their big faces' detail otherwise.
MIN_DETECTION_SIDE_PX = 640


class FaceDetector:
    def __init__(
        self,
        backend: str,
        min_confidence: float,
        max_side_px: int,
        min_face_px: int = 20,
        weights_folder: Path | None = None,
    ) -> None:
        from deepface.modules import modeling

        self.backend = backend
        self.min_confidence = min_confidence
        self.max_side_px = max_side_px
        smallest = SMALLEST_RELIABLE_FACE_PX.get(backend)
        self.max_scale = min(1.0, smallest / min_face_px) if smallest else 1.0
        # YuNet through onnxruntime when its file is at hand; DeepFace's detector otherwise
        # (built only then: it would load the same model a second time).
        self._yunet = self._client = None
        if backend == "yunet" and weights_folder and (weights_folder / YUNET_WEIGHTS).is_file():
            self._yunet = YuNet(weights_folder / YUNET_WEIGHTS)
        else:
            self._client = modeling.build_model(task="face_detector", model_name=backend)

    def full_scale(self, frame_shape) -> float:
        """The scale that finds the smallest face wanted anywhere in a frame of this shape."""
        longest = max(frame_shape[:2])
        scale = max(self.max_scale, min(1.0, MIN_DETECTION_SIDE_PX / longest))
        return min(scale, self.max_side_px / longest)

    def detect(self, frame_bgr: np.ndarray, scale: float | None = None) -> list[Detection]:
        """Faces in the frame, found at `scale` (default: full_scale), boxes in frame pixels."""
        height, width = frame_bgr.shape[:2]
        scale = self.full_scale(frame_bgr.shape) if scale is None else scale
        image = frame_bgr
        if scale < 1.0:
            image = cv2.resize(
                frame_bgr,
                (round(width * scale), round(height * scale)),
                interpolation=cv2.INTER_AREA,
            )
        if self.backend == "yunet":
            detections = self._detect_yunet(image)
        else:
            detections = self._detect_deepface(image)
        if scale < 1.0:
            detections = [_rescale(d, 1.0 / scale) for d in detections]
        return [d for d in detections if d.confidence >= self.min_confidence]

    def detect_around(
        self, frame_bgr: np.ndarray, boxes, face_px: int, margin: float = 1.0
    ) -> list[Detection]:
        """Faces near known boxes only: each box grown by `margin` times its size on every side,
        searched at the size that makes its face about `face_px`; duplicates merged."""
        height, width = frame_bgr.shape[:2]
        found: list[Detection] = []
        for x, y, w, h in boxes:
            x0, y0 = max(0, int(x - margin * w)), max(0, int(y - margin * h))
            x1, y1 = min(width, int(x + (1 + margin) * w)), min(height, int(y + (1 + margin) * h))
            if x1 - x0 < 8 or y1 - y0 < 8:
                continue
            scale = min(1.0, face_px / max(w, h, 1.0))
            for detection in self.detect(frame_bgr[y0:y1, x0:x1], scale):
                moved = _offset(detection, x0, y0)
                if all(box_iou(moved.box, kept.box) < 0.5 for kept in found):
                    found.append(moved)
        return found

    def _detect_yunet(self, image: np.ndarray) -> list[Detection]:
        # Filter ourselves afterwards; YuNet's own default (0.9) is stricter than needed.
        min_score = min(self.min_confidence, 0.5)
        if self._yunet is not None:
            rows = self._yunet.detect(image, min_score)
        else:
            yunet = self._client.model  # cv2.FaceDetectorYN inside DeepFace's client
            yunet.setInputSize((image.shape[1], image.shape[0]))
            yunet.setScoreThreshold(min_score)
            _, rows = yunet.detect(image)
        if rows is None:
            return []
        return [
            Detection(
                box=(float(r[0]), float(r[1]), float(r[2]), float(r[3])),
                confidence=float(r[14]),
                landmarks=np.asarray(r[4:14], dtype=np.float32).reshape(5, 2),
            )
            for r in rows
        ]

    def _detect_deepface(self, image: np.ndarray) -> list[Detection]:
        detections = []
        for region in self._client.detect_faces(image):
            points = [region.right_eye, region.left_eye]  # DeepFace names eyes by the person
            if all(p is not None for p in points):
                # DeepFace's "right_eye" is the subject's right = image left, as in YuNet.
                extra = [region.nose, region.mouth_right, region.mouth_left]
                if all(p is not None for p in extra):
                    points += extra
                landmarks = np.asarray(points, dtype=np.float32)
                if landmarks[0, 0] > landmarks[1, 0]:  # keep image-left eye first
                    landmarks[[0, 1]] = landmarks[[1, 0]]
            else:
                landmarks = None
            confidence = 1.0 if region.confidence is None else float(region.confidence)
            # Some backends give numpy integers; boxes are plain floats everywhere (JSON, maths).
            box = (float(region.x), float(region.y), float(region.w), float(region.h))
            detections.append(Detection(box, confidence, landmarks))
        return detections


def _offset(detection: Detection, dx: float, dy: float) -> Detection:
    x, y, w, h = detection.box
    shift = np.array([dx, dy], dtype=np.float32)
    landmarks = None if detection.landmarks is None else detection.landmarks + shift
    return Detection((x + dx, y + dy, w, h), detection.confidence, landmarks)


def box_iou(a, b) -> float:
    """Intersection over union of two x, y, w, h boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def _rescale(detection: Detection, factor: float) -> Detection:
    x, y, w, h = detection.box
    landmarks = None if detection.landmarks is None else detection.landmarks * factor
    return Detection(
        (x * factor, y * factor, w * factor, h * factor), detection.confidence, landmarks
    )


class FrameDetector:
    """Detects the sampled frames of one video, each only as thoroughly as it needs.

    - Between whole-frame passes (at most WHOLE_FRAME_EVERY_S apart, at every cut, and as soon
      as a face is lost), only the neighbourhood of the faces of the previous sample is
      searched: at 5 samples a second most frames cost a few small crops, and a face walking
      in is found within that time.
    - A whole-frame pass is shrunk, once every face on screen is big, until the smallest is
      about TRACKED_FACE_PX at the detector (landmarks stay precise enough for alignment); the
      full size, which finds the smallest wanted face anywhere, comes back at every cut,
      whenever the last frame had no or only small faces, and every FULL_SIZE_EVERY_S.
    """

    TRACKED_FACE_PX = 96
    MIN_SIDE_PX = 320
    FULL_SIZE_EVERY_S = 3.0
    WHOLE_FRAME_EVERY_S = 0.5

    def __init__(self, detector: FaceDetector, min_face_px: int) -> None:
        self.detector = detector
        self.min_face_px = min_face_px
        self._last_full_s: float | None = None
        self._last_whole_s: float | None = None
        self._previous: list[Detection] = []

    def detect(self, frame_bgr: np.ndarray, time_s: float, new_shot: bool) -> list[Detection]:
        previous = self._previous
        recent = self._last_whole_s is not None and (
            time_s - self._last_whole_s < self.WHOLE_FRAME_EVERY_S - 1e-6
        )
        found = None
        if previous and recent and not new_shot:
            boxes = [d.box for d in previous]
            found = self.detector.detect_around(frame_bgr, boxes, self.TRACKED_FACE_PX)
            if len(found) < len(previous):
                found = None  # a face was lost: look at the whole frame again
        if found is None:
            smallest = min((d.size_px for d in previous), default=None)
            scale = self.choose(frame_bgr.shape, time_s, new_shot, smallest)
            found = self.detector.detect(frame_bgr, scale)
            self._last_whole_s = time_s
        self._previous = [d for d in found if d.size_px >= self.min_face_px]
        return self._previous

    def choose(self, frame_shape, time_s: float, new_shot: bool, smallest_face_px) -> float:
        """The scale of a whole-frame pass."""
        full = self.detector.full_scale(frame_shape)
        due = self._last_full_s is None or time_s - self._last_full_s >= self.FULL_SIZE_EVERY_S
        if new_shot or due or not smallest_face_px:
            self._last_full_s = time_s
            return full
        longest = max(frame_shape[:2])
        reduced = max(self.TRACKED_FACE_PX / smallest_face_px, self.MIN_SIDE_PX / longest)
        return min(full, reduced)
