"""The cut checks' thumbnails, made cheaply, against OpenCV's exact area average."""

import av
import cv2
import numpy as np
import pytest

from ingestion.pipeline.shots import THUMBNAIL_SIZE
from ingestion.pipeline.shrink import shrink
from tests.conftest import VIDEOS

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
