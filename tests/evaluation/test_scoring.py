"""The ground-truth scorer used by the tests and the evaluate command."""

from evaluation.scoring import (
    Recall,
    VideoTruth,
    bcubed_scores,
    count_ratio,
    detection_recall,
    detection_recall_by_size,
    labeled_appearances,
    pairwise_scores,
)
from tests.conftest import VIDEOS


def test_faces_are_named_left_to_right_inside_a_labeled_segment():
    truth = VideoTruth.load(VIDEOS / "friends_poker.truth.json")
    assert truth.name_faces(1.0, [700, 100]) == ["matt_leblanc", "jennifer_aniston"]


def test_frames_with_unlisted_faces_or_extras_are_not_scored():
    truth = VideoTruth.load(VIDEOS / "short_hamilton_clip.truth.json")
    assert truth.name_faces(1.0, [10, 200]) == [None, None]  # segment with extras
    assert truth.name_faces(4.0, [10, 200]) == [None, None]  # one person listed, two found


def test_pairwise_and_bcubed_scores_count_splits_and_merges():
    perfect = [("a", 1), ("a", 1), ("b", 2)]
    assert pairwise_scores(perfect).f == 1.0 and bcubed_scores(perfect).f == 1.0
    split = [("a", 1), ("a", 2)]
    assert pairwise_scores(split).precision == 1.0 and pairwise_scores(split).recall == 0.0
    merged = [("a", 1), ("b", 1)]
    assert pairwise_scores(merged).precision == 0.0 and bcubed_scores(merged).recall == 1.0


def test_detection_recall_counts_every_labeled_person_in_every_sampled_frame():
    truth = VideoTruth.load(VIDEOS / "friends_poker.truth.json")
    samples = [
        (1.0, [(100, 0, 100, 100), (700, 0, 120, 120)]),  # both found
        (2.0, [(690, 0, 100, 100)]),  # only the one on the right
        (5.0, []),  # nobody found
        (11.25, []),  # between two segments: not scored
    ]
    appearances = labeled_appearances(truth, samples)
    assert detection_recall(appearances) == Recall(found=3, total=6)
    missed = [(a.time_s, a.name) for a in appearances if not a.found]
    assert (2.0, "jennifer_aniston") in missed  # the box was on Matt LeBlanc's side
    by_size = detection_recall_by_size(appearances)
    assert by_size["80-160 px"] == Recall(3, 4) and by_size["size unknown"] == Recall(0, 2)


def test_a_crowd_is_scored_by_its_lowest_count_and_people_by_distance_from_the_range():
    truth = VideoTruth.load(VIDEOS / "crowd_royal_opera_house.truth.json")
    assert truth.is_crowd and truth.segments[0].extras_range == (8, 12)
    appearances = labeled_appearances(truth, [(0.0, [(0, 0, 30, 30)] * 5)])
    assert detection_recall(appearances) == Recall(5, 8)
    assert count_ratio(10, (8, 12)) == 1.0 and count_ratio(15, (8, 12)) == 1.25
    assert count_ratio(4, (8, 12)) == 0.5
