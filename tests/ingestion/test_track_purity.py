"""A track never holds two people: on the shared videos, on darkened copies of them, and when
one real face takes another's place on screen."""

from dataclasses import replace
from pathlib import Path

import cv2
import pytest

from evaluation.scoring import VideoTruth, impure_tracks, name_track_detections
from evaluation.variants import SOURCE_VIDEOS, make_variants
from ingestion.pipeline import track as track_module
from ingestion.pipeline.align import align_face, display_crop
from ingestion.pipeline.quality import face_quality
from ingestion.pipeline.track import FaceTracker, TrackedFace
from ingestion.pipeline.video import process_video
from tests.conftest import PEOPLE, VIDEOS


def _impure_tracks_of(path: Path, face_engine) -> tuple[dict, int]:
    found = process_video(path, face_engine)
    truth = VideoTruth.load(path.with_suffix(".truth.json"))
    named = name_track_detections(truth, [(t.index, t.detections) for t in found.tracks])
    return impure_tracks(named), len({track for _, track in named})


@pytest.mark.slow
def test_no_track_holds_two_people_in_the_shared_videos_or_their_darkened_copies(
    face_engine, tmp_path
):
    videos = sorted(p for p in VIDEOS.iterdir() if p.suffix in {".mp4", ".avi"})
    videos += make_variants(VIDEOS, tmp_path, variants=("dark",), sources=SOURCE_VIDEOS)
    labeled = 0
    for path in videos:
        impure, tracks = _impure_tracks_of(path, face_engine)
        assert impure == {}, (path.name, impure)
        labeled += tracks
    assert labeled >= 45  # enough labeled tracks for "none is impure" to mean something


def _face_at(face_engine, photo: Path, time_s: float, frame_index: int) -> TrackedFace:
    image = cv2.imread(str(photo))
    detection = max(face_engine.detector.detect(image), key=lambda d: d.size_px)
    aligned = align_face(image, detection, face_engine.embedder.input_size_px)
    return TrackedFace(
        time_s=time_s,
        frame_index=frame_index,
        box=(100.0, 100.0, 120.0, 120.0),  # the same place on screen for both people
        confidence=detection.confidence,
        quality=face_quality(detection, aligned),
        aligned_bgr=aligned,
        crop_bgr=display_crop(image, detection.box),
    )


def test_a_face_taking_another_ones_place_without_a_cut_starts_a_new_track(face_engine):
    # Obama for two samples, then Biden in exactly his box, no cut seen between (a dim room
    # hides cuts; children swap seats): box overlap alone would continue the track.
    tracker = FaceTracker(link_max_distance=0.504, max_gap_s=3.0, faces_per_track=3)
    embed = face_engine.embedder.embed
    for second in range(5):
        photo = "barack_obama/obama.jpg" if second < 2 else "joe_biden/biden.jpg"
        face = _face_at(face_engine, PEOPLE / photo, float(second), second * 25)
        tracker.update(float(second), [face], embed, new_shot=second == 0)
    tracks = tracker.finish(embed)
    assert [[d[0] for d in t.detections] for t in tracks] == [[0.0, 1.0], [2.0, 3.0, 4.0]]


@pytest.mark.parametrize("seconds", [5, 8])  # the other face up to the track's end, or beyond
def test_a_switch_the_cheap_check_misses_is_undone_by_the_next_embedded_face(
    face_engine, monkeypatch, seconds
):
    # Obama for two samples, then Biden in his box: with the thumbnail check fooled, Biden's
    # faces are absorbed unembedded until the track's next embedded face (its 3 s check, or its
    # last face) disagrees; then they are embedded and leave Obama's track.
    monkeypatch.setattr(track_module, "ABSORB_MIN_CORRELATION", -1.0)
    tracker = FaceTracker(link_max_distance=0.504, max_gap_s=3.0, faces_per_track=3)
    embed = face_engine.embedder.embed
    for second in range(seconds):
        photo = "barack_obama/obama.jpg" if second < 2 else "joe_biden/biden.jpg"
        face = _face_at(face_engine, PEOPLE / photo, float(second), second * 25)
        tracker.update(float(second), [face], embed, new_shot=second == 0)
    tracks = tracker.finish(embed)
    times = [[d[0] for d in t.detections] for t in tracks]
    assert times[0] == [0.0, 1.0]
    assert sorted(time for part in times[1:] for time in part) == [
        float(s) for s in range(2, seconds)
    ]


def test_faces_that_plainly_continue_their_track_are_absorbed_without_an_embedding(face_engine):
    tracker = FaceTracker(link_max_distance=0.504, max_gap_s=3.0, faces_per_track=3)
    embed = face_engine.embedder.embed
    face = _face_at(face_engine, PEOPLE / "barack_obama/obama.jpg", 0.0, 0)
    for second in range(7):  # the same face in the same place: nothing changes
        tracker.update(
            float(second),
            [replace(face, time_s=float(second), frame_index=second * 25)],
            embed,
            new_shot=second == 0,
        )
    tracks = tracker.finish(embed)
    assert len(tracks) == 1 and len(tracks[0].detections) == 7
    assert tracker.faces_embedded <= 4  # the first, a check every 3 s, the last; not all seven
