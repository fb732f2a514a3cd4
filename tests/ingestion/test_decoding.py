"""Skipping frames while decoding (ingestion/pipeline/frames.py), against decoding every frame."""

import numpy as np
import pytest

from ingestion.pipeline.frames import open_video
from tests.conftest import VIDEOS

SHARED_VIDEOS = sorted(p for p in VIDEOS.iterdir() if p.suffix in {".mp4", ".avi"})
# How much later than decoding every frame a sample may come when non-reference frames are
# skipped: at most the run of them between two reference frames (3 B-frames in the shared videos).
LATE_FRAMES = 3


def _every_frame(path, sample_fps):
    """Every frame looked at (sampled or checked for cuts) when every frame is decoded, by
    timestamp, and the sampled ones in order."""
    with open_video(path, "none") as video:
        looked_at = {d.frame.pts: d.frame.to_ndarray() for d in video.looked_at(sample_fps)}
    with open_video(path, "none") as video:
        return looked_at, list(video.sample(sample_fps)), video.info.fps


@pytest.mark.slow
@pytest.mark.parametrize("sample_fps", [1.0, 5.0])
@pytest.mark.parametrize("path", SHARED_VIDEOS, ids=lambda p: p.name)
def test_exact_skipping_gives_the_frames_decoding_every_frame_gives(path, sample_fps):
    with open_video(path, "none") as every, open_video(path, "exact") as skipping:
        expected, got = every.sample(sample_fps), skipping.sample(sample_fps)
        for theirs, ours in zip(expected, got, strict=True):
            assert (ours.frame_index, ours.time_s, ours.new_shot) == (
                theirs.frame_index,
                theirs.time_s,
                theirs.new_shot,
            )
            assert np.array_equal(ours.image_bgr, theirs.image_bgr), f"at {ours.time_s} s"
    assert skipping.frames_decoded <= every.frames_decoded


@pytest.mark.slow
@pytest.mark.parametrize("path", SHARED_VIDEOS, ids=lambda p: p.name)
def test_skipped_frames_change_no_frame_decoded_and_samples_come_at_most_a_few_frames_late(path):
    every_looked_at, every_sampled, fps = _every_frame(path, 1.0)
    with open_video(path) as video:
        decoded = [d for d in video.looked_at(1.0)]
        sampled = [d for d in decoded if d.sampled]
        assert len(sampled) == len(every_sampled)
        for ours, theirs in zip(sampled, every_sampled, strict=True):
            late_frames = round((ours.time_s - theirs.time_s) * fps)
            assert 0 <= late_frames <= LATE_FRAMES, f"at {theirs.time_s} s"
        for frame in (d.frame for d in decoded):
            if frame.pts in every_looked_at:  # the same frame, decoded either way
                assert np.array_equal(frame.to_ndarray(), every_looked_at[frame.pts])


def test_frames_nothing_refers_to_are_not_decoded():
    # friends_poker.mp4 is H.264 with B-frames that are not references (399 of 632 frames)
    with open_video(VIDEOS / "friends_poker.mp4") as video:
        for _ in video.looked_at(1.0):
            pass
    assert video.frames_decoded == 632 - 399
