"""Grouping a new video reads only the people the index finds near it, never the whole catalog,
and gives the same people as reading the whole catalog would; an index that cannot be trusted
sends it back to the database, never to a wrong person."""

import hashlib
import logging

import numpy as np
import pytest
from django.core.management import call_command

from catalog.grouping import cosine_distances
from catalog.models import Face, Person, Track, Video
from catalog.services import candidates, clustering, index_sync
from tests.catalog.test_order_independence import WITH_PEOPLE, agreement, people_of_faces
from tests.conftest import (
    VIDEOS,
    assert_track_index_matches_database,
    empty_catalog,
    person_at,
)

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


def test_the_candidates_are_the_people_of_every_track_within_the_threshold():
    """With every shared video in one catalog, each video's tracks asked for candidates as if
    it were new: the people the track index gives are exactly those of the tracks whose stored
    template is within the grouping threshold of one of them (every track of the catalog
    compared, as the grouping's rule says), though the index scores on int8 copies."""
    empty_catalog()
    call_command("ingest", *[str(video) for video in WITH_PEOPLE])
    threshold = clustering.grouping_threshold("SFace")
    every_track = clustering.load_catalog_tracks("SFace")
    found = 0
    for video in Video.objects.order_by("id"):
        tracks = clustering.load_catalog_tracks("SFace", video.tracks.all())
        others = [row for row, t in enumerate(every_track.track_ids) if t not in tracks.track_ids]
        near = cosine_distances(tracks.vectors, every_track.vectors[others]) < threshold
        expected = {every_track.person_ids[others[col]] for col in np.flatnonzero(near.any(0))}
        given = candidates.candidate_people(
            tracks.vectors, tracks.rejected, tracks.track_ids, "SFace", 128, threshold
        )
        assert given == expected, video.original_name
        found += len(given)
    empty_catalog()
    # (the slideshows share four people, a few others one look-alike each)
    assert found >= 8, "candidates to compare"


def test_a_score_too_close_to_the_threshold_is_decided_on_the_stored_template(monkeypatch):
    """The int8 scores can be off by up to QUANTIZED_SIMILARITY_ERROR: with that error made as
    wide as the whole range, every hit is undecided and judged on its template, and the
    candidates are the same."""
    empty_catalog()
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"), str(VIDEOS / "slideshow_2.mp4"))
    video = Video.objects.get(original_name="slideshow_2.mp4")
    tracks = clustering.load_catalog_tracks("SFace", video.tracks.all())
    threshold = clustering.grouping_threshold("SFace")
    args = (tracks.vectors, tracks.rejected, tracks.track_ids, "SFace", 128, threshold)
    from_scores = candidates.candidate_people(*args)
    read = []
    templates = candidates.track_templates
    monkeypatch.setattr(
        candidates,
        "track_templates",
        lambda ids, model: read.append(set(ids)) or templates(ids, model),
    )
    monkeypatch.setattr(candidates, "QUANTIZED_SIMILARITY_ERROR", 1.0 - threshold)
    from_templates = candidates.candidate_people(*args)
    empty_catalog()
    assert from_scores == from_templates
    assert len(from_scores) >= 3, "the three people slideshow 2 shares with slideshow 1"
    assert sum(len(ids) for ids in read) >= len(from_scores)


def test_an_index_filled_before_it_held_tracks_is_filled_by_the_next_grouping(
    caplog, tracks_loaded
):
    """A catalog indexed by a version without the track index (its faces only), and from before
    tracks stored their template (an upgrade): the next video's grouping fills the track index
    from the database once, templates computed, and uses it; it never reads the whole catalog."""
    empty_catalog()
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"))
    index_sync.get_track_index("SFace", 128).clear()
    Track.objects.update(template=None, template_model="")
    tracks_loaded.clear()
    with caplog.at_level(logging.WARNING, logger=candidates.__name__):
        call_command("ingest", str(VIDEOS / "slideshow_2.mp4"))
    assert "filling it from the database once" in caplog.text
    assert "reindex" not in caplog.text
    assert not any(whole for whole, _ in tracks_loaded), "the whole catalog was not read"
    obama = person_at("slideshow_1.mp4", 1.5)
    assert obama.faces.filter(video__original_name="slideshow_2.mp4").exists()
    assert_track_index_matches_database()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=candidates.__name__):
        call_command("ingest", str(VIDEOS / "slideshow_3.mp4"))
    assert "filling" not in caplog.text  # once
    empty_catalog()


def test_an_index_missing_some_tracks_sends_grouping_back_to_the_database(caplog, tracks_loaded):
    # most tracks there, an old one not (a point deleted, or lost): not refilled, not trusted
    empty_catalog()
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"))
    oldest = Track.objects.order_by("id").first()
    index_sync.get_track_index("SFace", 128).delete_faces([oldest.id])
    with caplog.at_level(logging.WARNING, logger=candidates.__name__):
        call_command("ingest", str(VIDEOS / "slideshow_2.mp4"))
    assert "reindex" in caplog.text and "filling" not in caplog.text
    assert tracks_loaded[-1][0], "the whole catalog was read"
    obama = person_at("slideshow_1.mp4", 1.5)
    assert obama.faces.filter(video__original_name="slideshow_2.mp4").exists()
    empty_catalog()


def test_an_index_lacking_the_newest_tracks_is_not_trusted(caplog, tracks_loaded):
    # a rebuild half done (it writes in id order) or an older copy put back: the newest are
    # missing, though nearly every track is there
    empty_catalog()
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"))
    newest = Track.objects.exclude(template_model="").order_by("-id").first()
    index_sync.get_track_index("SFace", 128).delete_faces([newest.id])
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
