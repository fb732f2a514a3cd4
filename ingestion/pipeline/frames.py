"""Sampling frames from a video file with OpenCV at a fixed rate per second of video."""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .shots import CHECKS_PER_SECOND, ShotChangeDetector


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
    # A cut between the previous sampled frame and this one (always True for the first).
    new_shot: bool = True


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
    A few frames a second are also converted, small, to notice cuts between samples.
    Timestamps come from the container when it gives them, so variable frame rates are honoured.
    """
    interval_s = 1.0 / sample_fps
    check_every = max(1, round(info.fps / CHECKS_PER_SECOND))
    shots = ShotChangeDetector()
    next_time_s = 0.0
    frame_index = -1
    first = True
    while capture.grab():
        frame_index += 1
        position_ms = capture.get(cv2.CAP_PROP_POS_MSEC)
        time_s = frame_index / info.fps
        if position_ms and position_ms > 0 and frame_index > 0:
            time_s = position_ms / 1000.0
        # Half a frame of tolerance, so a 25 fps video sampled at 1/s takes frames 0, 25, 50...
        if time_s + 0.5 / info.fps < next_time_s:
            if frame_index % check_every == 0:
                ok, image = capture.retrieve()
                if ok and image is not None:
                    shots.feed(image)
            continue
        ok, image = capture.retrieve()
        if not ok or image is None:
            continue
        shots.feed(image)
        new_shot = shots.cut_since_last_asked() or first
        first = False
        yield SampledFrame(frame_index, round(time_s, 3), image, new_shot)
        next_time_s += interval_s
        while next_time_s <= time_s:
            next_time_s += interval_s


class FramePrefetcher:
    """Decodes ahead in a thread while the caller runs the models on the frames it has.

    OpenCV releases the GIL while it decodes, so decoding and inference use both cores.
    Use as a context manager: leaving it stops the thread before the capture is released.
    """

    _DONE = object()

    def __init__(self, frames: Iterator[SampledFrame], depth: int = 4) -> None:
        self._frames = frames
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="frame-decoder", daemon=True)

    def __enter__(self) -> FramePrefetcher:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()  # a producer waiting on a full queue sees it within 0.1 s
        self._thread.join()

    def _run(self) -> None:
        try:
            for frame in self._frames:
                if not self._put(frame):
                    return
            self._put(self._DONE)
        except Exception as error:  # handed to the consumer, raised there
            self._put(error)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[SampledFrame]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, Exception):
                raise item
            yield item
