"""The face pipeline on real videos and photos, driven directly (no database)."""

import subprocess
from dataclasses import replace

import cv2
import numpy as np
import pytest
from django.conf import settings

from ingestion.pipeline.align import align_face
from ingestion.pipeline.frames import VideoDecodeError, open_video
from ingestion.pipeline.video import FaceEngine, process_video
from tests.conftest import PEOPLE, VIDEOS


def test_one_frame_is_sampled_per_second_of_video():
    with open_video(VIDEOS / "slideshow_1.mp4") as video:
        frames = list(video.sample(1.0))
        # frames nothing refers to are skipped, not decoded: a sample may come a frame late
        assert video.frames_decoded < video.info.frame_count
    two_frames_s = 2 / video.info.fps
    assert [f.time_s for f in frames] == pytest.approx(
        [float(t) for t in range(12)], abs=two_frames_s
    )
    assert [f.frame_index for f in frames] == [round(f.time_s * video.info.fps) for f in frames]


def test_sampling_twice_per_second_takes_twice_the_frames():
    with open_video(VIDEOS / "aoc_speech_b.mp4") as video:
        times = [f.time_s for f in video.sample(2.0)]
    assert len(times) == 10  # 125 frames at 25 fps: 0.0 to 4.96 s
    assert times == pytest.approx([t / 2 for t in range(10)], abs=2 / 25)


def _copied_stream(source, target, *input_options):
    """`source`'s video stream, not re-encoded, in `target`'s container (FFmpeg)."""
    import imageio_ffmpeg

    ffmpeg = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", *input_options]
    subprocess.run([*ffmpeg, "-i", str(source), "-c", "copy", str(target)], check=True)
    return target


def test_a_phone_video_is_turned_upright_as_players_show_it(tmp_path):
    # the same picture, stored with a display matrix saying "turn 90 degrees" (as phones do)
    turned = _copied_stream(
        VIDEOS / "slideshow_1.mp4", tmp_path / "portrait.mp4", "-display_rotation", "90"
    )
    with open_video(VIDEOS / "slideshow_1.mp4") as plain, open_video(turned) as video:
        assert (video.info.width, video.info.height) == (plain.info.height, plain.info.width)
        original, upright = next(plain.sample(1.0)), next(video.sample(1.0))
    assert upright.image_bgr.shape[:2] == original.image_bgr.shape[1::-1]
    assert np.array_equal(upright.image_bgr, np.rot90(original.image_bgr))


def test_a_bare_stream_without_timestamps_is_sampled_by_counting_frames(tmp_path):
    # an H.264 elementary stream: no container, no times
    bare = _copied_stream(VIDEOS / "slideshow_1.mp4", tmp_path / "camera.h264")
    with open_video(bare) as video:
        times = [f.time_s for f in video.sample(1.0)]
    assert times == pytest.approx([float(t) for t in range(12)])


def test_every_slide_of_a_slideshow_gives_one_track_with_its_best_crops(face_engine):
    found = process_video(VIDEOS / "slideshow_1.mp4", face_engine)
    assert found.frames_sampled == 12
    assert found.faces_detected == 12  # four photos of one face, three seconds each
    assert len(found.tracks) == 4
    for track in found.tracks:
        assert len(track.detections) == 3
        # a short track keeps one face: its best, embedded
        assert len(track.best_faces) == 1 and track.best_faces[0].embedding is not None
        # an ended track holds its crop as JPEG bytes, not as decoded images
        kept = track.best_faces[0]
        assert kept.crop_bgr is None and kept.aligned_bgr is None
        assert kept.crop_jpeg.startswith(b"\xff\xd8")


def test_a_long_steady_track_keeps_several_faces_and_absorbs_most_frames(face_engine):
    config = replace(face_engine.config, sample_fps=5.0)
    engine = FaceEngine(config, settings.FACE_MODELS_DIR)
    found = process_video(VIDEOS / "talking_head_1.mp4", engine)
    assert len(found.tracks) == 1 and found.faces_detected >= 25
    track = found.tracks[0]
    assert len(track.best_faces) == 3
    assert all(face.embedding is not None for face in track.best_faces)
    qualities = [face.quality for face in track.best_faces]
    assert qualities == sorted(qualities, reverse=True)
    # start + a check every second + the kept faces: far fewer than one per detection
    assert found.faces_embedded <= found.faces_detected // 3


def test_no_track_crosses_a_cut_between_shots(face_engine):
    # friends_poker.mp4 cuts at frames 104, 270, 401, 452 and 553 (its truth file); the same
    # places on screen hold different actors on each side of a cut.
    cuts = [104, 270, 401, 452, 553]
    config = replace(face_engine.config, sample_fps=5.0)
    found = process_video(
        VIDEOS / "friends_poker.mp4", FaceEngine(config, settings.FACE_MODELS_DIR)
    )
    for track in found.tracks:
        frames = [d[1] for d in track.detections]
        assert not any(min(frames) < cut <= max(frames) for cut in cuts), track.detections


def test_a_video_without_people_has_no_faces(face_engine):
    for name in ("no_faces_gopher_toy.mp4", "no_faces_earth.avi"):
        found = process_video(VIDEOS / name, face_engine)
        assert found.frames_sampled > 0
        assert found.tracks == []


def test_two_faces_in_one_frame_never_share_a_track(face_engine):
    found = process_video(VIDEOS / "friends_poker.mp4", face_engine)
    for track in found.tracks:
        frames = [d[1] for d in track.detections]
        assert len(frames) == len(set(frames))
    assert max(len(t.detections) for t in found.tracks) >= 4  # a shot of ~4 s is one track


def test_small_faces_in_a_1080p_crowd_are_found(face_engine):
    found = process_video(VIDEOS / "crowd_royal_opera_house.mp4", face_engine)
    # 8-12 pedestrians on screen in each of the 5 sampled frames, faces of 20-90 px
    assert found.faces_detected >= 5 * 6


def test_a_corrupt_video_raises_a_clear_decode_error(face_engine, tmp_path):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes((VIDEOS / "slideshow_1.mp4").read_bytes()[:2000])
    with pytest.raises(VideoDecodeError, match=r"could not be opened|could be decoded"):
        process_video(corrupt, face_engine)


def _embed_photo(face_engine, path):
    image = cv2.imread(str(path))
    detections = face_engine.detector.detect(image)
    largest = max(detections, key=lambda d: d.box[2] * d.box[3])
    crop = align_face(image, largest, face_engine.embedder.input_size_px)
    return face_engine.embedder.embed([crop])[0]


def test_aligned_embeddings_tell_people_apart(face_engine):
    kit = [
        _embed_photo(face_engine, PEOPLE / "kit_harington" / n)
        for n in ("john1.jpeg", "john2.jpeg")
    ]
    rose = [_embed_photo(face_engine, PEOPLE / "rose_leslie" / n) for n in ("img1.jpg", "img2.jpg")]
    same_person = max(1 - float(np.dot(*kit)), 1 - float(np.dot(*rose)))
    different_people = min(1 - float(np.dot(k, r)) for k in kit for r in rose)
    assert same_person < 0.5
    assert different_people > 0.6


def test_batched_sface_gives_the_embeddings_deepface_gives(face_engine):
    from ingestion.pipeline.embed import FaceEmbedder
    from ingestion.pipeline.weights import deepface_environment, weights_dir

    crops = []
    for name in ("barack_obama/obama.jpg", "joe_biden/biden.jpg", "rose_leslie/img1.jpg"):
        image = cv2.imread(str(PEOPLE / name))
        largest = max(face_engine.detector.detect(image), key=lambda d: d.size_px)
        crops.append(align_face(image, largest, face_engine.embedder.input_size_px))
    with deepface_environment(settings.FACE_MODELS_DIR, allow_download=False):
        deepface_way = FaceEmbedder("SFace").embed(crops)  # no weights folder: one at a time
    exact = FaceEmbedder("SFace", weights_dir(settings.FACE_MODELS_DIR), precision="f32")
    assert np.abs(exact.embed(crops) - deepface_way).max() < 1e-4
    # The default may compute in bfloat16: each face stays within 0.001 of its exact self.
    default = face_engine.embedder.embed(crops)
    assert (1 - (default * deepface_way).sum(axis=1)).max() < 1e-3
    assert float(default[0] @ default[1]) < 0.5  # and they still tell people apart


def test_an_unknown_embedding_precision_is_refused_by_name(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    from ingestion.pipeline.embed import FaceEmbedder

    with pytest.raises(ValueError, match="'fp8'"):
        FaceEmbedder("SFace", precision="fp8")
    settings.FACE_EMBEDDING_PRECISION = "fp8"  # and `manage.py check` says so at start-up
    with pytest.raises(SystemCheckError, match="FACE_EMBEDDING_PRECISION='fp8'"):
        call_command("check")


@pytest.mark.parametrize("size", [(640, 360), (896, 504), (333, 517)])
def test_yunet_through_onnxruntime_finds_what_opencv_finds(size):
    from ingestion.pipeline.weights import weights_dir
    from ingestion.pipeline.yunet import WEIGHTS_FILE, YuNet

    weights = weights_dir(settings.FACE_MODELS_DIR) / WEIGHTS_FILE
    ours = YuNet(weights)
    for photo in [
        "misc/bbt1.jpg",
        "misc/group_compreface_012_4.jpg",
        "people/barack_obama/obama.jpg",
    ]:
        image = cv2.resize(cv2.imread(str(PEOPLE.parent / photo)), size)  # sizes not /32 too
        opencv = cv2.FaceDetectorYN.create(str(weights), "", size, 0.5, 0.3, 5000)
        expected = opencv.detect(image)[1]
        found = ours.detect(image, 0.5)
        assert expected is not None and len(found) == len(expected)
        order = np.argsort(-expected[:, 14])
        assert np.abs(found - expected[order]).max() < 0.01  # boxes, landmarks, scores


def test_boxes_are_plain_floats_whatever_the_detector(face_engine):
    # OpenCV's Haar detector (through DeepFace) gives numpy integers, which the database's JSON
    # field cannot store: `evaluate FACE_DETECTOR=opencv` failed on them once.
    from ingestion.pipeline.detect import FaceDetector
    from ingestion.pipeline.weights import deepface_environment

    with deepface_environment(settings.FACE_MODELS_DIR, allow_download=False):
        haar = FaceDetector("opencv", 0.0, 1280)
    found = haar.detect(cv2.imread(str(PEOPLE / "barack_obama" / "obama.jpg")))
    assert found and all(type(v) is float for d in found for v in d.box)


def test_frames_with_only_big_faces_are_detected_smaller_and_full_size_comes_back(face_engine):
    from ingestion.pipeline.detect import FrameDetector

    scales = FrameDetector(face_engine.detector, 20)
    shape = (720, 1280, 3)
    full = face_engine.detector.full_scale(shape)
    assert scales.choose(shape, 0.0, True, None) == full  # first frame: look everywhere
    reduced = scales.choose(shape, 1.0, False, 300.0)  # only a 300 px face on screen
    assert reduced < full and 300 * reduced >= FrameDetector.TRACKED_FACE_PX
    assert scales.choose(shape, 2.0, False, 30.0) == full  # a small face: full size again
    assert scales.choose(shape, 2.5, True, 300.0) == full  # a cut: look everywhere
    assert scales.choose(shape, 3.0, False, 300.0) < full
    assert scales.choose(shape, 5.6, False, 300.0) == full  # at least every 3 s
    # and a big face is still found, where it is, at the reduced size
    image = cv2.imread(str(PEOPLE / "barack_obama" / "obama.jpg"))
    at_full = max(face_engine.detector.detect(image), key=lambda d: d.size_px)
    small = max(face_engine.detector.detect(image, 0.25), key=lambda d: d.size_px)
    assert abs(small.box[0] - at_full.box[0]) < 0.1 * at_full.box[2]


def test_between_whole_frame_passes_the_faces_are_found_around_where_they_were(face_engine):
    from ingestion.pipeline.detect import FrameDetector

    with open_video(VIDEOS / "friends_poker.mp4") as video:
        frames = [f for f, _ in zip(video.sample(5.0), range(10), strict=False)]
    detector = FrameDetector(face_engine.detector, 20)
    around = [detector.detect(f.image_bgr, f.time_s, f.new_shot) for f in frames]
    whole = [face_engine.detector.detect(f.image_bgr) for f in frames]
    # the two players of the first shot in every sample (the whole frame sometimes adds a
    # partial face at the edge, which the truth file leaves unlabeled)
    assert [len(a) for a in around] == [2] * len(frames)
    for found, reference in zip(around, whole, strict=True):
        for a in (d.box for d in found):
            assert any(
                abs(a[0] - w[0]) < 0.15 * w[2] and abs(a[2] - w[2]) < 0.25 * w[2]
                for w in (d.box for d in reference)
            )
