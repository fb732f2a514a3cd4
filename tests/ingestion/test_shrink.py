"""Shrunk pictures made cheaply (the cut checks' thumbnails, the detector's input) against
OpenCV's exact area average."""

import av
import cv2
import numpy as np
import pytest

from ingestion.pipeline.frames import open_video
from ingestion.pipeline.shots import THUMBNAIL_SIZE
from ingestion.pipeline.shrink import shrink
from tests.conftest import VIDEOS, copied_stream

# Every frame size among the shared videos: whole ratios (1280x720, 640x360, 1920x1080) and not.
VIDEO_NAMES = sorted(p.name for p in VIDEOS.iterdir() if p.suffix in {".mp4", ".avi"})


def _luma_frames(name: str, count: int = 5) -> list[np.ndarray]:
    with av.open(str(VIDEOS / name)) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="gray"))
            if len(frames) == count:
                return frames
    return frames


@pytest.mark.parametrize("name", VIDEO_NAMES)
def test_thumbnails_of_every_shared_video_stay_within_a_grey_level_of_the_area_average(name):
    for luma in _luma_frames(name):
        exact = cv2.resize(luma, THUMBNAIL_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
        cheap = shrink(luma, THUMBNAIL_SIZE)
        assert cheap.shape == exact.shape and cheap.dtype == np.uint8
        # A cut moves thumbnails by 28-89 grey levels on average (shots.py); this moves them by
        # under one, so the threshold of 15 keeps its meaning.
        assert np.abs(cheap.astype(np.float32) - exact).mean() < 1.0


def test_a_whole_ratio_is_the_area_average_exactly():
    luma = _luma_frames("friends_poker.mp4", 1)[0]  # 1280x720: 20x20 blocks
    exact = cv2.resize(luma, THUMBNAIL_SIZE, interpolation=cv2.INTER_AREA)
    assert np.array_equal(shrink(luma, THUMBNAIL_SIZE), exact)


def test_a_video_smaller_than_the_thumbnail_is_stretched_to_it():
    luma = _luma_frames("eye_makeup_ucf101.avi", 1)[0][:30, :50]  # 50x30: under 64x36
    thumbnail = shrink(luma, THUMBNAIL_SIZE)
    exact = cv2.resize(luma, THUMBNAIL_SIZE, interpolation=cv2.INTER_LINEAR).astype(np.float32)
    assert thumbnail.shape == exact.shape
    assert np.abs(thumbnail.astype(np.float32) - exact).mean() < 1.0


def _first_samples(path, count: int):
    with open_video(path) as video:
        return [f for f, _ in zip(video.sample(1.0), range(count), strict=False)]


@pytest.mark.parametrize("name", ["friends_poker.mp4", "crowd_royal_opera_house.mp4"])
def test_a_sampled_frame_shrunk_from_its_decoded_planes_is_the_area_average(name):
    for frame in _first_samples(VIDEOS / name, 3):
        height, width = frame.image_bgr.shape[:2]
        size = (round(width * 0.7), round(height * 0.7))  # the detector's full size for 720p
        exact = cv2.resize(frame.image_bgr, size, interpolation=cv2.INTER_AREA)
        shrunk = frame.shrunk_bgr(size)
        assert frame.decoded is not None and shrunk.shape == exact.shape
        # FFmpeg converts the colours at the smaller size: a grey level or two apart on average
        assert np.abs(shrunk.astype(np.float32) - exact).mean() < 2.0


def test_a_turned_video_is_shrunk_from_its_upright_picture(tmp_path):
    turned = copied_stream(
        VIDEOS / "slideshow_1.mp4", tmp_path / "portrait.mp4", "-display_rotation", "90"
    )
    frame = _first_samples(turned, 1)[0]
    height, width = frame.image_bgr.shape[:2]
    assert frame.decoded is None and height > width  # upright, so not the decoded planes
    size = (width // 3, height // 3)
    exact = cv2.resize(frame.image_bgr, size, interpolation=cv2.INTER_AREA)
    assert np.array_equal(frame.shrunk_bgr(size), exact)


def test_faces_found_on_the_shrunk_planes_are_those_found_on_the_bgr_copy(face_engine):
    from ingestion.pipeline.detect import FrameDetector

    for frame in _first_samples(VIDEOS / "friends_poker.mp4", 8):
        # a whole-frame pass, as the first sample of a video gets
        ours = FrameDetector(face_engine.detector, 20)
        via_planes = ours.detect(frame.image_bgr, frame.time_s, True, frame.shrunk_bgr)
        via_copy = FrameDetector(face_engine.detector, 20).detect(
            frame.image_bgr, frame.time_s, True
        )
        assert len(via_planes) == len(via_copy) > 0
        for a, b in zip(
            sorted(d.box for d in via_planes), sorted(d.box for d in via_copy), strict=True
        ):
            assert max(abs(p - q) for p, q in zip(a, b, strict=True)) < 0.05 * b[2]
