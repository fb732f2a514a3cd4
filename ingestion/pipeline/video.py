"""The video -> face tracks pipeline: sample frames, detect, align, embed, track.

Plain Python with no Django in it, so tasks, commands, tests and benchmarks drive it alike.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .align import align_face, display_crop
from .detect import FaceDetector, FrameDetector
from .embed import FaceEmbedder
from .frames import SampledFrame, VideoInfo, open_video, sampled_frames
from .prefetch import Prefetcher
from .progress import ProgressCallback
from .quality import face_quality
from .track import FaceTrack, FaceTracker, TrackedFace
from .weights import deepface_environment, weights_dir

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineConfig:
    detector_backend: str = "yunet"
    recognition_model: str = "SFace"
    # "auto": OpenVINO's choice (bfloat16 where the CPU computes it natively); "f32": exact.
    embedding_precision: str = "auto"
    min_confidence: float = 0.8
    min_face_px: int = 20
    detection_max_side_px: int = 1280
    alignment: str = "similarity"  # or "eyes": DeepFace's rotate-only way, for comparison
    sample_fps: float = 1.0
    faces_per_track: int = 3
    # Cosine distance under which a detection continues a track (with box overlap).
    track_link_max_distance: float = 0.5
    # A track survives this many missed samples (a turned head, a detector miss).
    track_max_missed_samples: int = 2


@dataclass
class VideoFaces:
    info: VideoInfo
    frames_decoded: int = 0
    frames_sampled: int = 0
    faces_detected: int = 0
    faces_embedded: int = 0
    tracks: list[FaceTrack] = field(default_factory=list)
    # When each sampled frame was shown (seconds), faces or not: what was looked at.
    sample_times_s: list[float] = field(default_factory=list)


class FaceEngine:
    """The detector and the recognition model, loaded once and reused for every video."""

    def __init__(self, config: PipelineConfig, models_dir: Path, allow_download: bool = False):
        self.config = config
        with deepface_environment(models_dir, allow_download):
            self.detector = FaceDetector(
                config.detector_backend,
                config.min_confidence,
                config.detection_max_side_px,
                config.min_face_px,
                weights_dir(models_dir),
            )
            self.embedder = FaceEmbedder(
                config.recognition_model, weights_dir(models_dir), config.embedding_precision
            )

    @property
    def embedding_dimension(self) -> int:
        return self.embedder.dimension


def process_video(
    path: Path, engine: FaceEngine, on_progress: ProgressCallback | None = None
) -> VideoFaces:
    config = engine.config
    tracker = FaceTracker(
        link_max_distance=config.track_link_max_distance,
        max_gap_s=(config.track_max_missed_samples + 1) / config.sample_fps + 1e-3,
        faces_per_track=config.faces_per_track,
    )
    frame_detector = FrameDetector(engine.detector, config.min_face_px)
    with (
        open_video(path) as video,
        Prefetcher(video.looked_at(config.sample_fps), name="decode") as decoded,
        Prefetcher(sampled_frames(decoded, video.info.fps), name="convert") as frames,
        Prefetcher(_found_faces(frames, frame_detector, engine), name="detect") as found,
    ):
        result = VideoFaces(info=video.info)
        for frame, faces in found:
            result.frames_sampled += 1
            result.sample_times_s.append(frame.time_s)
            result.faces_detected += len(faces)
            tracker.update(frame.time_s, faces, engine.embedder.embed, frame.new_shot)
            if on_progress and video.info.frame_count:
                on_progress(min(1.0, (frame.frame_index + 1) / video.info.frame_count))
        result.frames_decoded = video.frames_decoded
    result.tracks = tracker.finish(engine.embedder.embed)
    result.faces_embedded = tracker.faces_embedded
    if on_progress:
        on_progress(1.0)
    return result


def _found_faces(
    frames: Iterable[SampledFrame], frame_detector: FrameDetector, engine: FaceEngine
) -> Iterator[tuple[SampledFrame, list[TrackedFace]]]:
    """Each sampled frame with its faces detected, aligned and cropped (not yet embedded)."""
    config = engine.config
    size = engine.embedder.input_size_px
    for frame in frames:
        faces = []
        for d in frame_detector.detect(frame.image_bgr, frame.time_s, frame.new_shot):
            aligned = align_face(frame.image_bgr, d, size, config.alignment)
            faces.append(
                TrackedFace(
                    time_s=frame.time_s,
                    frame_index=frame.frame_index,
                    box=d.box,
                    confidence=d.confidence,
                    quality=face_quality(d, aligned),
                    aligned_bgr=aligned,
                    crop_bgr=display_crop(frame.image_bgr, d.box),
                )
            )
        yield frame, faces
