"""The whole flow on the shared real videos: ingest them all, then compare the people found with
the ground truth of their .truth.json files."""

from collections import Counter
from pathlib import Path

import pytest

from catalog.models import Face, Track, Video
from evaluation.scoring import VideoTruth, bcubed_scores, name_track_detections, pairwise_scores
from ingestion.models import IngestJob
from tests.conftest import VIDEOS

pytestmark = pytest.mark.slow
ALL_VIDEOS = sorted(VIDEOS.glob("*.mp4")) + sorted(VIDEOS.glob("*.avi"))


@pytest.fixture(scope="module")
def ingested(all_videos_ingested):
    return all_videos_ingested


def person_of_each_track() -> dict[int, int]:
    votes: dict[int, Counter] = {}
    for track_id, person_id in Face.objects.values_list("track_id", "person_id"):
        votes.setdefault(track_id, Counter())[person_id] += 1
    return {track_id: counts.most_common(1)[0][0] for track_id, counts in votes.items()}


def labeled_pairs() -> list[tuple[str, int]]:
    """(true name, person found) for every scored detection in every video."""
    person_of = person_of_each_track()
    pairs = []
    for video in Video.objects.all():
        truth = VideoTruth.load(VIDEOS / f"{Path(video.original_name).stem}.truth.json")
        tracks = Track.objects.filter(video=video).values_list("id", "detections")
        pairs += [(name, person_of[key]) for name, key in name_track_detections(truth, tracks)]
    return pairs


@pytest.mark.django_db
def test_every_video_is_ingested_and_ready(ingested):
    assert Video.objects.count() == len(ALL_VIDEOS)
    assert set(Video.objects.values_list("status", flat=True)) == {Video.Status.READY}
    assert IngestJob.objects.filter(status=IngestJob.Status.DONE).count() == len(ALL_VIDEOS)


@pytest.mark.django_db
def test_people_found_agree_with_the_ground_truth(ingested):
    pairs = labeled_pairs()
    assert len(pairs) >= 120  # enough scored detections for the scores to mean something
    pairwise = pairwise_scores(pairs)
    bcubed = bcubed_scores(pairs)
    assert pairwise.precision >= 0.95, pairwise
    assert pairwise.recall >= 0.8, pairwise
    assert bcubed.f >= 0.9, bcubed


@pytest.mark.django_db
def test_one_person_seen_in_several_videos_is_one_person(ingested):
    pairs = labeled_pairs()
    obama = Counter(person for name, person in pairs if name == "barack_obama")
    person, count = obama.most_common(1)[0]
    assert count / sum(obama.values()) >= 0.9
    videos = Face.objects.filter(person_id=person).values("video").distinct().count()
    assert videos >= 3  # slideshows 1-3 (and the Hamilton audience when scored)


@pytest.mark.django_db
def test_no_person_has_two_faces_from_one_frame(ingested):
    for track in Track.objects.all():
        assert len({d[1] for d in track.detections}) == len(track.detections)
    seen = Counter(Face.objects.values_list("person_id", "video_id", "frame_index"))
    assert max(seen.values()) == 1


@pytest.mark.django_db
def test_videos_without_people_finish_with_no_faces(ingested):
    for name in ("no_faces_earth.avi", "no_faces_gopher_toy.mp4"):
        video = Video.objects.get(original_name=name)
        assert video.status == Video.Status.READY
        assert video.faces.count() == 0


@pytest.mark.django_db
def test_every_face_has_a_crop_a_vector_and_a_person(ingested):
    faces = Face.objects.all()
    assert faces.count() >= Track.objects.count() >= 60  # every track keeps a face at least
    assert not faces.filter(person__isnull=True).exists()
    for face in faces[:20]:
        assert face.crop.size > 500
        assert face.vector.shape == (face.embedding_dim,)
