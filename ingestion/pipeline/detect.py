"""Face detection on whole frames, with any DeepFace detector backend.

DeepFace's own `extract_faces` pads the frame before detecting (halving the effective resolution)
and its YuNet wrapper shrinks every frame to 640 px and keeps only the eyes. So YuNet is driven
here directly, at the resolution that still finds the smallest face wanted (a 720p frame is
detected at 768 px, a 1080p one at 1152, none below 640), with all five landmarks;
other backends go through DeepFace's detector objects. Boxes come back in original-frame pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


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
        self, backend: str, min_confidence: float, max_side_px: int, min_face_px: int = 20
    ) -> None:
        from deepface.modules import modeling

        self.backend = backend
        self.min_confidence = min_confidence
        self.max_side_px = max_side_px
        smallest = SMALLEST_RELIABLE_FACE_PX.get(backend)
        self.max_scale = min(1.0, smallest / min_face_px) if smallest else 1.0
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

    def _detect_yunet(self, image: np.ndarray) -> list[Detection]:
        yunet = self._client.model  # cv2.FaceDetectorYN inside DeepFace's client
        yunet.setInputSize((image.shape[1], image.shape[0]))
        # Filter ourselves afterwards; YuNet's own default (0.9) is stricter than needed.
        yunet.setScoreThreshold(min(self.min_confidence, 0.5))
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


def _rescale(detection: Detection, factor: float) -> Detection:
    x, y, w, h = detection.box
    landmarks = None if detection.landmarks is None else detection.landmarks * factor
    return Detection(
        (x * factor, y * factor, w * factor, h * factor), detection.confidence, landmarks
    )


class DetectionScale:
    """How large to detect each sampled frame: only as large as the faces on screen need.

    Once every face on screen is big, the next frames are shrunk until the smallest is about
    TRACKED_FACE_PX at the detector (landmarks stay precise enough for alignment there). The
    full scale, which finds the smallest wanted face anywhere, is used at every cut, whenever
    the last frame had no face or only small ones, and at least every few seconds, so a small
    face walking in is found within that time.
    """

    TRACKED_FACE_PX = 96
    MIN_SIDE_PX = 320
    FULL_EVERY_S = 3.0

    def __init__(self, detector: FaceDetector) -> None:
        self.detector = detector
        self._last_full_s: float | None = None

    def choose(self, frame_shape, time_s: float, new_shot: bool, smallest_face_px) -> float:
        full = self.detector.full_scale(frame_shape)
        due = self._last_full_s is None or time_s - self._last_full_s >= self.FULL_EVERY_S
        if new_shot or due or not smallest_face_px:
            self._last_full_s = time_s
            return full
        longest = max(frame_shape[:2])
        reduced = max(self.TRACKED_FACE_PX / smallest_face_px, self.MIN_SIDE_PX / longest)
        return min(full, reduced)
