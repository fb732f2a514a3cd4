"""The face engine of this process, built from settings once and reused for every video."""

from __future__ import annotations

import threading
from functools import lru_cache

from django.conf import settings

from ingestion.pipeline.thresholds import grouping_distance
from ingestion.pipeline.video import FaceEngine, PipelineConfig

_engine_lock = threading.Lock()


def pipeline_config() -> PipelineConfig:
    return PipelineConfig(
        detector_backend=settings.FACE_DETECTOR,
        recognition_model=settings.FACE_RECOGNITION_MODEL,
        embedding_precision=settings.FACE_EMBEDDING_PRECISION,
        min_confidence=settings.FACE_DETECTION_MIN_CONFIDENCE,
        min_face_px=settings.FACE_MIN_SIZE_PX,
        detection_max_side_px=settings.FACE_DETECTION_MAX_SIDE_PX,
        alignment=settings.FACE_ALIGNMENT,
        sample_fps=settings.FRAME_SAMPLE_FPS,
        faces_per_track=settings.FACES_PER_TRACK,
        track_link_max_distance=grouping_distance(settings.FACE_RECOGNITION_MODEL),
    )


@lru_cache(maxsize=2)
def _build_engine(config: PipelineConfig, models_dir: str, allow_download: bool) -> FaceEngine:
    from pathlib import Path

    return FaceEngine(config, Path(models_dir), allow_download)


def get_face_engine() -> FaceEngine:
    """Loading models takes seconds: a worker process pays it once, not per video."""
    with _engine_lock:
        return _build_engine(
            pipeline_config(), str(settings.FACE_MODELS_DIR), settings.FACE_MODELS_ALLOW_DOWNLOAD
        )
