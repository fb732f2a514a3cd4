"""The ground-truth scorer used by the tests and the evaluate command."""

from catalog.evaluation import VideoTruth, bcubed_scores, pairwise_scores
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
