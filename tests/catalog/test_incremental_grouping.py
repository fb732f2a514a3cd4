"""Grouping a new video reads only the people the index finds near it, never the whole catalog,
and gives the same people as reading the whole catalog would; an index that cannot be trusted
sends it back to the database, never to a wrong person."""

import hashlib
import logging
from dataclasses import replace

import numpy as np
import pytest
from django.core.management import call_command

from catalog.models import Face, Person, Track, Video
from catalog.services import candidates, clustering, index_sync
from tests.catalog.test_order_independence import WITH_PEOPLE, agreement, people_of_faces
from tests.conftest import VIDEOS, empty_catalog, person_at

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
FILLER_TRACKS = 300


@pytest.fixture
def tracks_loaded(monkeypatch):
    """Every call of load_catalog_tracks: whether it read the whole catalog, and how many
    tracks it returned."""
    calls = []
    load = clustering.load_catalog_tracks

    def spy(model_name, tracks=None):
        result = load(model_name, tracks)
        calls.append((tracks is None, len(result.track_ids)))
        return result

    monkeypatch.setattr(clustering, "load_catalog_tracks", spy)
    return calls


def add_filler_video(tracks: int = FILLER_TRACKS) -> Video:
    """A finished video of strangers, shaped as ingestion writes it (3 faces a track), indexed:
    a catalog larger than any video's neighbourhood. Random 128-d directions are far from every
    real face."""
    rng = np.random.default_rng(7)
    faces = []
    for _ in range(tracks):
        centre = rng.normal(size=128)
        faces.append([(centre + 0.2 * rng.normal(size=128), 0.8) for _ in range(3)])
    return add_video_of_tracks("strangers.mp4", faces)


def add_video_of_tracks(name: str, tracks: list[list[tuple[np.ndarray, float]]]) -> Video:
    """A finished, grouped and indexed video with these tracks, one a second (so no two share a
    frame), each a list of faces given as (128-d vector, quality)."""
    video = Video.objects.create(
        source=Video.Source.UPLOAD,
        original_name=name,
        content_sha256=hashlib.sha256(name.encode()).hexdigest(),
        status=Video.Status.READY,
    )
    faces = []
    for number, track_faces in enumerate(tracks):
        track = Track.objects.create(
            video=video,
            index_in_video=number,
            start_time_s=number,
            end_time_s=number + 1,
            detections=[[number, number, 0, 0, 50, 50, 0.9]],
        )
        for vector, quality in track_faces:
            faces.append(
                Face(
                    video=video,
                    track=track,
                    time_s=number,
                    frame_index=number,
                    box_x=0,
                    box_y=0,
                    box_w=50,
                    box_h=50,
                    detector_confidence=0.9,
                    quality=quality,
                    embedding=(vector / np.linalg.norm(vector)).astype(np.float32).tobytes(),
                    embedding_model="SFace",
                    embedding_dim=128,
                )
            )
    Face.objects.bulk_create(faces)
    clustering.assign_people_to_video(video)
    index_sync.index_faces(Face.objects.filter(video=video).select_related("person"))
    return video


def test_adding_a_video_reads_only_the_people_near_it(tracks_loaded):
    empty_catalog()
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"))
    add_filler_video()
    tracks_loaded.clear()
    call_command("ingest", str(VIDEOS / "slideshow_2.mp4"))
    whole_catalog, read = zip(*tracks_loaded, strict=True)
    assert not any(whole_catalog)
    new_tracks = Track.objects.filter(video__original_name="slideshow_2.mp4").count()
    first_tracks = Track.objects.filter(video__original_name="slideshow_1.mp4").count()
    # The new video, then it with its candidates: slideshow 1's people, and at most the odd
    # stranger (random directions: ~0.2 % of faces come within the candidates' similarity).
    assert read[-1] <= new_tracks + first_tracks + 10
    obama = person_at("slideshow_1.mp4", 1.5)
    assert obama.faces.filter(video__original_name="slideshow_2.mp4").exists()
    empty_catalog()


def test_the_index_gives_the_same_people_as_reading_the_whole_catalog(monkeypatch):
    outcomes = {}
    for way in ("from the index", "whole catalog"):
        if way == "whole catalog":
            monkeypatch.setattr(clustering, "candidate_people", lambda *args, **kwargs: None)
        empty_catalog()
        for video in WITH_PEOPLE:
            call_command("ingest", str(video))
        outcomes[way] = people_of_faces()
    empty_catalog()
    assert agreement(outcomes["from the index"], outcomes["whole catalog"]) == 1.0


def test_tracks_too_far_to_be_candidates_are_not_read_and_the_candidates_are_the_same(
    monkeypatch,
):
    """With every shared video in one catalog, each video's tracks asked for candidates as if
    it were new: leaving out the tracks whose template cannot be within the threshold (by a
    hit's similarity and its track's length) reads fewer tracks and gives the same people as
    reading every hit's track."""
    empty_catalog()
    call_command("ingest", *[str(video) for video in WITH_PEOPLE])
    read: list[set[int]] = []
    templates = candidates.track_templates

    def spy(track_ids, model_name):
        read.append(set(track_ids))
        return templates(track_ids, model_name)

    monkeypatch.setattr(candidates, "track_templates", spy)
    threshold = clustering.grouping_threshold("SFace")
    every_hit = candidates.tracks_worth_reading

    def keep_every_hit(hits, own, *args):
        kept = every_hit(hits, own, *args)
        assert all(hit.track_length is not None for found in hits for hit in found)
        return kept | {hit.face_id: hit.track_id for found in hits for hit in found
                       if hit.face_id not in own}  # fmt: skip

    outcomes = {}
    for way in ("narrowed", "every hit"):
        if way == "every hit":
            monkeypatch.setattr(candidates, "tracks_worth_reading", keep_every_hit)
        read.clear()
        people = []
        for video in Video.objects.order_by("id"):
            tracks = clustering.load_catalog_tracks("SFace", video.tracks.all())
            own = [face_id for faces in tracks.face_ids for face_id in faces]
            people.append(
                candidates.candidate_people(
                    tracks.vectors, tracks.rejected, own, "SFace", 128, threshold
                )
            )
        outcomes[way] = (people, sum(len(ids) for ids in read))
    empty_catalog()
    (narrowed, narrowed_read), (every, every_read) = outcomes["narrowed"], outcomes["every hit"]
    assert narrowed == every
    # (the slideshows share four people, a few others one look-alike each: 15 in all)
    assert sum(len(found) for found in every) >= 8, "candidates to agree on"
    assert narrowed_read < 0.5 * every_read, (narrowed_read, every_read)  # 36 of 140


def test_points_written_before_they_carried_their_track_still_give_the_people(tracks_loaded):
    """An index filled by an older version (no track in the payload): the hits' tracks are
    read from the database instead, and the new video still joins the people near it."""
    empty_catalog()
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"))
    faces = Face.objects.select_related("person")
    index = index_sync.get_face_index("SFace", 128)
    index.upsert([replace(point, track_id=None) for point in index_sync.index_points(faces)])
    assert all(h.track_id is None for h in index.search(np.frombuffer(faces[0].embedding, "f4")))
    call_command("ingest", str(VIDEOS / "slideshow_2.mp4"))
    assert not tracks_loaded[-1][0], "the index was used, not the whole catalog"
    obama = person_at("slideshow_1.mp4", 1.5)
    assert obama.faces.filter(video__original_name="slideshow_2.mp4").exists()
    empty_catalog()


def test_an_index_missing_faces_sends_grouping_back_to_the_database(caplog, tracks_loaded):
    empty_catalog()
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"))
    index_sync.get_face_index("SFace", 128).clear()  # deleted, or a backend never filled
    with caplog.at_level(logging.WARNING, logger=candidates.__name__):
        call_command("ingest", str(VIDEOS / "slideshow_2.mp4"))
    assert "reindex" in caplog.text
    assert tracks_loaded[-1][0], "the whole catalog was read"
    obama = person_at("slideshow_1.mp4", 1.5)
    assert obama.faces.filter(video__original_name="slideshow_2.mp4").exists()
    empty_catalog()


def test_an_index_lacking_the_newest_faces_is_not_trusted(caplog, tracks_loaded):
    # a rebuild half done (it writes in id order) or an older copy put back: the newest are
    # missing, though nearly every face is there
    empty_catalog()
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"))
    newest = Face.objects.exclude(person=None).order_by("-id").first()
    index_sync.get_face_index("SFace", 128).delete_faces([newest.id])
    with caplog.at_level(logging.WARNING, logger=candidates.__name__):
        call_command("ingest", str(VIDEOS / "slideshow_2.mp4"))
    assert "reindex" in caplog.text
    assert tracks_loaded[-1][0], "the whole catalog was read"
    empty_catalog()


def test_a_person_regrouped_away_from_their_cover_gets_a_cover_of_their_own():
    """Directions at set cosine distances (the configured threshold is 0.581): two tracks near b
    and one, a, holding the best face, 0.55-0.57 from them, are one person. A new track 0.1 from a
    but 0.65 from b regroups them: a goes with the new track, and the person keeps the b tracks
    (more of theirs), so their cover went with a."""
    axes = np.eye(128)
    b1 = axes[0]
    b2 = 0.95 * axes[0] + np.sqrt(1 - 0.95**2) * axes[3]
    a = 0.45 * axes[0] + np.sqrt(1 - 0.45**2) * axes[1]
    near_a = 0.35 * axes[0] + 0.8314 * axes[1] + 0.4316 * axes[2]
    empty_catalog()
    add_video_of_tracks("first.mp4", [[(b1, 0.5)], [(a, 0.9)], [(b2, 0.5)]])
    (person,) = Person.objects.all()
    best = person.faces.get(quality=0.9)
    assert person.cover_face == best
    add_video_of_tracks("second.mp4", [[(near_a, 0.5)]])
    person.refresh_from_db()
    best.refresh_from_db()
    assert best.person != person, "a went with the new track"
    assert person.faces.count() == 2
    assert person.cover_face.person == person
    assert best.person.cover_face.person == best.person
    empty_catalog()
