"""Sampling frames from a video file at a fixed rate per second of video, with PyAV (FFmpeg).

Sparse sampling still needs every frame of a long-GOP stream decoded up to the sampled one, so
the cost is in decoding, not in the frames kept. It is cut by skipping the frames no other frame
refers to (most B-frames of H.264/HEVC; none of an intra-only codec): nothing depends on them, so
every frame decoded has the pixels it would have had, and a sample a frame or two off its exact
time changes nothing for faces. ("exact" skipping keeps the non-reference frames that are looked
at, for samples at their exact times: more frames decoded, see benchmarks/README.md.) Frames in
between are decoded, never converted; a few a second give a thumbnail of their luma to notice
cuts. OpenCV's reader could do neither: it decoded every frame, for 1.5x the CPU time here.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import numpy as np

from .shots import CHECKS_PER_SECOND, ShotChangeDetector

# FFmpeg's complaints about damaged packets tell a user nothing; the errors raised here do.
logging.getLogger("libav").setLevel(logging.CRITICAL)


# One decoding thread: it runs beside the models (prefetch.py), and FFmpeg's own threads only
# fought them for the cores (2 cores: 7.1 s against 6.7 s in all).
DECODING_THREADS = 1
# Containers whose packets carry no times of showing: AVI stores none, and FFmpeg numbers its
# frames in decoding order, so with B-frames skipped other pictures get the times (the shared
# .avi videos: samples a frame early, pictures not the ones decoding every frame gives them).
# Every frame of them is decoded.
NO_PRESENTATION_TIMES = {"avi"}


# Which frames are not decoded: "non-reference" ones (a sample may come a frame or two late),
# those of them no sample or cut check looks at ("exact": samples as decoding every frame gives
# them), or "none".
Skipping = Literal["non-reference", "exact", "none"]


class VideoDecodeError(ValueError):
    """The file is not a video FFmpeg can decode."""


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    frame_count: int
    width: int  # as displayed (rotation applied)
    height: int

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0


@dataclass(frozen=True)
class SampledFrame:
    frame_index: int  # from the frame's timestamp: frames in between may not be decoded
    time_s: float
    image_bgr: np.ndarray
    # A cut between the previous sampled frame and this one (always True for the first).
    new_shot: bool = True


class VideoReader:
    """An open video file: its info, then its frames, sampled once. A context manager."""

    def __init__(self, path: Path, skipping: Skipping = "non-reference") -> None:
        try:
            self._container = av.open(str(path))
        except (av.FFmpegError, UnicodeDecodeError) as error:
            raise VideoDecodeError(
                "could not be opened as a video (corrupt, or not a video format)"
            ) from error
        try:
            streams = self._container.streams.video
            if not streams or not streams[0].codec_context.width:
                raise VideoDecodeError("has no video stream that can be decoded")
            self._stream = streams[0]
            self._stream.codec_context.thread_count = DECODING_THREADS
            if set(self._container.format.name.split(",")) & NO_PRESENTATION_TIMES:
                skipping = "none"
            self._skipping = skipping
            # Packets not judged one by one (below) are decoded so; skipped before the first
            # frame too, as it is a reference frame.
            self._skip_frame = "NONREF" if skipping == "non-reference" else "DEFAULT"
            # "exact": which packets hold a frame that is looked at, known once sampling starts.
            self._looked_at_packets: LookedAtPackets | None = None
            self.frames_decoded = 0
            self._frames = self._decoded_frames()
            # The first frame says how the video is turned, and that it decodes at all.
            first = next(self._frames, None)
            if first is None:
                raise VideoDecodeError("no frame of it could be decoded (corrupt or truncated)")
            self._frames = itertools.chain([first], self._frames)
            # A bare stream (no container) has no timestamps: its frames are then counted, so
            # every one of them must be decoded.
            self._timed = first.pts is not None
            if not self._timed:
                self._skipping, self._skip_frame = "none", "DEFAULT"
            self._origin = first.pts * first.time_base if self._timed else None
            self.info = self._read_info(turned=_quarter_turns(first) % 2 == 1)
        except BaseException:
            self._container.close()
            raise

    def _read_info(self, turned: bool) -> VideoInfo:
        stream = self._stream
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate and 0 < float(rate) <= 1000 else 25.0  # a guess; times only
        frame_count = stream.frames
        if not frame_count:
            if stream.duration and stream.time_base:
                seconds = float(stream.duration * stream.time_base)
            else:
                seconds = (self._container.duration or 0) / av.time_base
            frame_count = round(seconds * fps)
        width, height = stream.codec_context.width, stream.codec_context.height
        if turned:
            width, height = height, width
        return VideoInfo(fps=fps, frame_count=max(0, frame_count), width=width, height=height)

    def sample(self, sample_fps: float) -> Iterator[SampledFrame]:
        """One frame every 1/sample_fps seconds of video time (the first decoded at or after
        each sampling time, within half a frame), with whether a cut came since the last one.

        Times come from the container, counted from the stream's first frame, so variable frame
        rates are honoured; the rotation phone videos carry is applied. Two halves, which the
        pipeline runs in two threads: decoding (`looked_at`), then converting (`sampled_frames`).
        """
        return sampled_frames(self.looked_at(sample_fps), self.info.fps)

    def looked_at(self, sample_fps: float) -> Iterator[DecodedFrame]:
        """The decoded frames that are sampled or checked for cuts, not yet converted."""
        interval_s = 1.0 / sample_fps
        check_interval_s = 1.0 / CHECKS_PER_SECOND
        half_frame_s = 0.5 / self.info.fps
        if self._skipping == "exact":
            self._looked_at_packets = LookedAtPackets(
                self._origin, half_frame_s, (interval_s, check_interval_s)
            )
        next_sample_s = next_check_s = 0.0
        for number, frame in enumerate(self._frames):
            if not self._timed:
                time_s = number / self.info.fps
            elif frame.pts is None:
                continue
            else:
                time_s = float(frame.pts * frame.time_base - self._origin)
            sampled = time_s + half_frame_s >= next_sample_s
            if not sampled and time_s + half_frame_s < next_check_s:
                continue
            while next_check_s <= time_s + half_frame_s:
                next_check_s += check_interval_s
            yield DecodedFrame(time_s, frame, sampled)
            while sampled and next_sample_s <= time_s + half_frame_s:
                next_sample_s += interval_s

    def _decoded_frames(self) -> Iterator[av.VideoFrame]:
        """The stream's frames in order; a damaged packet is skipped, as players skip it.

        "exact" skipping decides packet by packet, by its timestamp (packets come in decoding
        order, not in the order frames are shown: B-frames): one whose frame is not looked at is
        decoded only if it is a reference frame (other frames are decoded from it).
        """
        context = self._stream.codec_context
        applied, last_pts = None, None  # the skip_frame setting the decoder has now
        for packet in self._container.demux(self._stream):
            wanted = self._looked_at_packets
            if wanted is None:
                skip = self._skip_frame
            else:
                skip = "DEFAULT" if wanted.holds(packet) else "NONREF"
            if skip != applied:
                context.skip_frame = applied = skip
            try:
                frames = packet.decode()
            except av.FFmpegError:
                continue
            self.frames_decoded += len(frames)
            for frame in frames:
                # Frames come out in the order they are shown: times that go back are not times
                # of showing (a container like AVI), so packets cannot be judged by them.
                went_back = None not in (frame.pts, last_pts) and frame.pts <= last_pts
                if went_back and self._skipping == "exact":
                    self._skipping, self._looked_at_packets = "none", None
                last_pts = frame.pts if frame.pts is not None else last_pts
                yield frame

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_video(path: Path, skipping: Skipping = "non-reference") -> VideoReader:
    return VideoReader(path, skipping)


class LookedAtPackets:
    """Whether a packet may hold a frame that `VideoReader.looked_at` takes, from its timestamp.

    A frame is taken when a sampling or cut-check time falls after the previous frame (in the
    order frames are shown) plus half a frame and no later than itself plus half a frame. Packets
    come in decoding order, so the previous frame may not have arrived yet (a B-frame shown
    before the reference frame decoded ahead of it): the latest earlier time seen so far stands
    for it, which can only widen the window. So every frame that decoding every frame would have
    taken is decoded, and a few more; their pixels are the same, since no frame that is skipped
    is one any other frame is decoded from.
    """

    RECENT = 32  # packets remembered: more than any decoder reorders (H.264: 16)
    SLACK_S = 1e-6  # for times summed in floating point by looked_at

    def __init__(self, origin, half_frame_s: float, intervals_s: tuple[float, ...]) -> None:
        self._origin = origin  # the first frame's time, in seconds (a Fraction)
        self._half_frame_s = half_frame_s
        self._intervals_s = intervals_s
        self._recent_s: deque[float] = deque(maxlen=self.RECENT)

    def holds(self, packet: av.Packet) -> bool:
        if packet.pts is None or packet.time_base is None:
            return True
        time_s = float(packet.pts * packet.time_base - self._origin)
        earlier = [t for t in self._recent_s if t < time_s]
        self._recent_s.append(time_s)
        after_s = (max(earlier) if earlier else -math.inf) + self._half_frame_s - self.SLACK_S
        until_s = time_s + self._half_frame_s + self.SLACK_S
        for interval_s in self._intervals_s:
            last = math.floor(until_s / interval_s)  # the last time of this kind up to until_s
            if last >= 0 and last * interval_s > after_s:
                return True
        return False


@dataclass(frozen=True)
class DecodedFrame:
    time_s: float
    frame: av.VideoFrame
    sampled: bool  # else only checked for a cut


def sampled_frames(looked_at: Iterator[DecodedFrame], fps: float) -> Iterator[SampledFrame]:
    """The sampled frames, upright in BGR, each saying whether a cut came since the last."""
    shots = ShotChangeDetector()
    first = True
    for decoded in looked_at:
        shots.feed(decoded.frame)
        if not decoded.sampled:
            continue
        frame = decoded.frame
        image = _upright(frame.to_ndarray(format="bgr24"), frame)
        new_shot = shots.cut_since_last_asked() or first
        first = False
        time_s = decoded.time_s
        yield SampledFrame(round(time_s * fps), round(time_s, 3), image, new_shot)


def _quarter_turns(frame: av.VideoFrame) -> int:
    """Quarter turns counter-clockwise that display the frame upright (its display matrix)."""
    return round((frame.rotation or 0) / 90) % 4


def _upright(image: np.ndarray, frame: av.VideoFrame) -> np.ndarray:
    turns = _quarter_turns(frame)
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image
