"""Sampling frames from a video file with OpenCV at a fixed rate per second of video."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


class VideoDecodeError(ValueError):
    """The file is not a video OpenCV can decode."""


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    frame_count: int
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0


@dataclass(frozen=True)
class SampledFrame:
    frame_index: int
    time_s: float
    image_bgr: np.ndarray


def open_video(path: Path) -> tuple[cv2.VideoCapture, VideoInfo]:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise VideoDecodeError("could not be opened as a video (corrupt, or not a video format)")
    fps = capture.get(cv2.CAP_PROP_FPS)
    if not fps or math.isnan(fps) or fps <= 0 or fps > 1000:
        fps = 25.0  # a guess for containers that do not say; only the timestamps depend on it
    info = VideoInfo(
        fps=float(fps),
        frame_count=max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))),
        width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
        height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
    )
    if info.width <= 0 or info.height <= 0:
        capture.release()
        raise VideoDecodeError("has no video stream that can be decoded")
    return capture, info


def sample_frames(
    capture: cv2.VideoCapture, info: VideoInfo, sample_fps: float
) -> Iterator[SampledFrame]:
    """Yield one frame every 1/sample_fps seconds of video time.

    Frames in between are only grabbed (demuxed and decoded, never converted to BGR or copied);
    seeking instead would cost a decode from the last keyframe on every sample of a long-GOP file.
    Timestamps come from the container when it gives them, so variable frame rates are honoured.
    """
    interval_s = 1.0 / sample_fps
    next_time_s = 0.0
    frame_index = -1
    while capture.grab():
        frame_index += 1
        position_ms = capture.get(cv2.CAP_PROP_POS_MSEC)
        time_s = frame_index / info.fps
        if position_ms and position_ms > 0 and frame_index > 0:
            time_s = position_ms / 1000.0
        # Half a frame of tolerance, so a 25 fps video sampled at 1/s takes frames 0, 25, 50...
        if time_s + 0.5 / info.fps < next_time_s:
            continue
        ok, image = capture.retrieve()
        if not ok or image is None:
            continue
        yield SampledFrame(frame_index, round(time_s, 3), image)
        next_time_s += interval_s
        while next_time_s <= time_s:
            next_time_s += interval_s
