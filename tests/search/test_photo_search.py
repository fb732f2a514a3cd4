"""Search by photo on the shared data: held-out photos find the right person in the videos."""

import json

import cv2
import pytest
from django.core.management import CommandError, call_command

from catalog.models import Face, Video
from search.services.photo_search import PhotoError, search_by_photo, search_like_face
from tests.conftest import PEOPLE, SHARED_DATA, VIDEOS, true_name_of_each_person

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# Photos of people seen in the videos that no video was made from (MANIFEST.md), and the
# Friends actors' photos (stills of other scenes and crops from other footage).
HELD_OUT_PHOTOS = {
    "barack_obama": ["obama2.jpg"],
    "joe_biden": ["biden2.jpg"],
    "alex_lacamoire": ["alex_lacamoire1.jpg"],
    "lin_manuel_miranda": ["lin-manuel-miranda.png"],
    "kit_harington": ["john2.jpeg"],
    "rose_leslie": ["img2.jpg"],
    **{
        actor: [f"{actor}_still.png", f"{actor}_crop.png"]
        for actor in (
            "jennifer_aniston",
            "matt_leblanc",
            "courteney_cox",
            "matthew_perry",
            "lisa_kudrow",
            "david_schwimmer",
        )
    },
}


@pytest.mark.parametrize("identity", sorted(HELD_OUT_PHOTOS))
def test_a_held_out_photo_finds_its_person_first(all_videos_ingested, identity):
    names = true_name_of_each_person()
    for photo in HELD_OUT_PHOTOS[identity]:
        result = search_by_photo((PEOPLE / identity / photo).read_bytes(), top=5)
        best = result.people[0]
        assert names.get(best.person_id) == identity, (photo, best, names.get(best.person_id))
        assert 0.0 <= best.score <= 1.0
        assert best.moments, "where the person appears"


def test_the_moments_returned_cover_when_the_person_is_on_screen(all_videos_ingested):
    result = search_by_photo(
        (PEOPLE / "lin_manuel_miranda" / "lin-manuel-miranda.png").read_bytes()
    )
    hamilton = Video.objects.get(original_name="short_hamilton_clip.mp4")
    moments = [m for m in result.people[0].moments if m.video_id == hamilton.id]
    # frontal shot of Lin-Manuel Miranda: 2.74-7.04 s in the truth file
    assert any(m.start_s <= 5.0 <= m.end_s + 1.0 and m.start_s >= 2.5 for m in moments)


def test_a_frame_of_one_clip_finds_the_same_person_in_the_other(all_videos_ingested, tmp_path):
    capture = cv2.VideoCapture(str(VIDEOS / "aoc_speech_a.mp4"))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 100)
    _, frame = capture.read()
    photo = tmp_path / "frame.jpg"
    cv2.imwrite(str(photo), frame)
    other = Video.objects.get(original_name="aoc_speech_b.mp4")
    best = search_by_photo(photo.read_bytes()).people[0]
    assert any(m.video_id == other.id for m in best.moments)


def test_a_photo_with_several_faces_lets_the_caller_choose(all_videos_ingested):
    data = (SHARED_DATA / "misc" / "kit_with_rose.jpg").read_bytes()  # rose left, kit right
    names = true_name_of_each_person()
    left = search_by_photo(data, face_number=0)
    right = search_by_photo(data, face_number=1)
    assert len(left.faces) == 2
    assert names.get(left.people[0].person_id) == "rose_leslie"
    assert names.get(right.people[0].person_id) == "kit_harington"


def test_more_like_this_face_ranks_its_own_person_first(all_videos_ingested):
    face = Face.objects.filter(video__original_name="katie_hill.mp4").first()
    people = search_like_face(face.id)
    assert people[0].person_id == face.person_id
    assert face.id not in {f.face_id for f in people[0].best_faces}


def test_photos_that_cannot_be_searched_get_clear_errors(all_videos_ingested):
    with pytest.raises(PhotoError, match="not an image"):
        search_by_photo(b"this is text, not a photo")
    with pytest.raises(PhotoError, match="No face"):
        search_by_photo((SHARED_DATA / "misc" / "no_face_limes.jpg").read_bytes())
    with pytest.raises(PhotoError, match="choose one from 0 to 1"):
        search_by_photo((SHARED_DATA / "misc" / "kit_with_rose.jpg").read_bytes(), face_number=5)


def test_the_search_photo_command_prints_json(all_videos_ingested, capsys):
    call_command("search_photo", str(PEOPLE / "joe_biden" / "biden2.jpg"), "--json", "--top", "2")
    result = json.loads(capsys.readouterr().out)
    assert len(result["people"]) <= 2
    assert {"person_id", "score", "moments", "best_faces"} <= set(result["people"][0])
    with pytest.raises(CommandError, match="No face"):
        call_command("search_photo", str(SHARED_DATA / "misc" / "no_face_white.png"))


def test_check_index_then_reindex_after_losing_the_index(all_videos_ingested, capsys, settings):
    import shutil

    query = (PEOPLE / "kit_harington" / "john2.jpeg").read_bytes()
    before = [(p.person_id, p.similarity) for p in search_by_photo(query).people]
    call_command("check_index")
    assert "matches the database" in capsys.readouterr().out
    shutil.rmtree(settings.QDRANT_PATH)
    with pytest.raises(CommandError, match="does not match"):
        call_command("check_index")
    call_command("reindex")
    call_command("check_index")
    after = [(p.person_id, p.similarity) for p in search_by_photo(query).people]
    assert after == before
