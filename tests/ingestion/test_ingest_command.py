"""`manage.py ingest`: files and URLs in, clear errors out, nothing lost or duplicated."""

import io
import shutil

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Face, Person, Video
from catalog.services.curation import mark_not_faces
from catalog.services.index_sync import get_face_index
from ingestion.models import IngestJob
from tests.conftest import VIDEOS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_ingesting_a_video_reports_what_it_found(capsys):
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"))
    output = capsys.readouterr().out
    video = Video.objects.get()
    assert video.status == Video.Status.READY
    assert video.original_name == "slideshow_1.mp4"
    assert video.duration_s == pytest.approx(12.0, abs=0.1)
    assert video.tracks.count() == 4
    assert Person.objects.count() == 4  # four different people, one photo each
    assert "4 tracks" in output and "4 people" in output
    job = IngestJob.objects.get()
    assert (job.status, job.stage, job.progress) == ("done", "finished", 100)


def test_the_same_file_ingested_twice_is_one_video(tmp_path, capsys):
    copy = tmp_path / "renamed copy.mp4"
    shutil.copy(VIDEOS / "aoc_speech_b.mp4", copy)
    call_command("ingest", str(VIDEOS / "aoc_speech_b.mp4"))
    faces = Face.objects.count()
    people = Person.objects.count()
    mark_not_faces([Face.objects.order_by("id").first().id])  # a face that belongs to no one
    call_command("ingest", str(copy))
    assert Video.objects.count() == 1
    assert Face.objects.count() == faces
    assert "already in the catalog" in capsys.readouterr().out
    duplicate = IngestJob.objects.get(result__deduplicated=True)
    assert duplicate.result["people"] == people  # the face marked not a face is no person


def test_a_batch_loads_the_index_once_and_leaves_no_owner_behind(monkeypatch, settings):
    from search import edge_optimiser
    from search.index_owner_client import OwnerClient

    loads, load = [], edge_optimiser.open_shard
    monkeypatch.setattr(
        edge_optimiser, "open_shard", lambda *args, **kw: loads.append(args[0]) or load(*args, **kw)
    )
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"), str(VIDEOS / "slideshow_2.mp4"))
    # owned by the command for the batch: each collection (faces, track templates) loaded once,
    # not once per operation
    assert sorted(path.name for path in loads) == ["faces_sface_128", "faces_sface_128_tracks"]
    assert not OwnerClient(settings.QDRANT_PATH).answers()  # and let go of at the end
    face_ids = set(Face.objects.values_list("id", flat=True))
    face = Face.objects.first()
    index = get_face_index(face.embedding_model, face.embedding_dim)
    assert index.held(face_ids) == face_ids  # every face indexed; the folder open to others


def test_a_corrupt_video_fails_clearly_and_leaves_the_rest_intact(tmp_path):
    call_command("ingest", str(VIDEOS / "aoc_speech_b.mp4"))
    good_faces = Face.objects.count()
    corrupt = tmp_path / "broken.mp4"
    corrupt.write_bytes((VIDEOS / "katie_hill.mp4").read_bytes()[:4000])  # a real header, cut
    with pytest.raises(CommandError, match="1 of 1 sources failed"):
        call_command("ingest", str(corrupt))
    broken = Video.objects.get(original_name="broken.mp4")
    assert broken.status == Video.Status.FAILED
    assert "broken.mp4" in broken.error
    assert broken.file.size == 4000  # the upload is kept: nothing the user gave is lost
    job = IngestJob.objects.get(video=broken)
    assert job.status == IngestJob.Status.FAILED and job.error == broken.error
    assert not broken.faces.exists()
    assert Face.objects.count() == good_faces


def test_a_file_that_is_not_a_video_is_refused_before_anything_is_stored(tmp_path, capsys):
    photo = tmp_path / "holiday.mp4"
    photo.write_bytes((VIDEOS.parent / "misc" / "two_people.jpg").read_bytes())
    with pytest.raises(CommandError):
        call_command("ingest", str(photo))
    assert "not a video" in capsys.readouterr().err.lower()
    assert not Video.objects.exists() and not IngestJob.objects.exists()


def test_a_missing_path_is_reported_and_the_others_still_ingested(capsys):
    with pytest.raises(CommandError, match="1 of 2 sources failed"):
        call_command("ingest", "/no/such/video.mp4", str(VIDEOS / "talking_head_5.mp4"))
    assert "no such file" in capsys.readouterr().err
    assert Video.objects.get().status == Video.Status.READY


def test_a_direct_link_to_an_mp4_is_downloaded_and_ingested(web_server, settings):
    settings.ALLOW_PRIVATE_URLS = True  # the test server is on loopback
    url = f"{web_server}/clip.mp4"
    call_command("ingest", url)
    video = Video.objects.get()
    assert video.source == Video.Source.URL and video.original_name == url
    assert video.status == Video.Status.READY
    assert video.faces.exists()


def test_a_loopback_url_is_refused_unless_allowed(web_server, settings):
    settings.ALLOW_PRIVATE_URLS = False
    with pytest.raises(CommandError):
        call_command("ingest", f"{web_server}/clip.mp4")
    job = IngestJob.objects.get()
    assert job.status == IngestJob.Status.FAILED
    assert "127.0.0.1" in job.error
    assert not Video.objects.exists()


def test_queued_ingestion_is_run_by_a_django_q_worker(monkeypatch):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)  # django-q2 runs its worker code in this process
    call_command("ingest", "--queue", str(VIDEOS / "talking_head_4.mp4"))
    job = IngestJob.objects.get()
    assert job.task_id
    assert job.status == IngestJob.Status.DONE
    assert job.video.status == Video.Status.READY


def test_output_that_is_not_a_terminal_gets_one_line_per_stage():
    output = io.StringIO()  # a pipe or a log file: no progress bar redrawn there
    call_command("ingest", str(VIDEOS / "talking_head_5.mp4"), stdout=output, stderr=io.StringIO())
    lines = output.getvalue().splitlines()
    stages = [line for line in lines if line.startswith("talking_head_5.mp4: ") and " s)" in line]
    assert [line.split(": ")[1].split(" (")[0] for line in stages] == [
        "finding faces",
        "saving faces",
        "grouping people",
        "indexing",
    ]
    assert "\r" not in output.getvalue()
    assert "talking_head_5.mp4: video" in lines[-1]  # what it found comes last


def _people_by_face() -> tuple:
    """Every video's status, and the catalog's people as sets of faces (video, frame, box)."""
    videos = tuple(sorted(Video.objects.values_list("original_name", "status")))
    people: dict[int, set] = {}
    for name, frame, x, y, person in Face.objects.values_list(
        "video__original_name", "frame_index", "box_x", "box_y", "person_id"
    ):
        people.setdefault(person, set()).add((name, frame, x, y))
    return videos, frozenset(frozenset(faces) for faces in people.values())


def test_a_batch_finds_faces_ahead_and_ends_as_one_file_at_a_time_does(tmp_path):
    """Several files in one command: the next files' faces are found while each one is saved
    and grouped. A broken file among them fails alone, and the catalog is the one that
    ingesting the files one command at a time leaves."""
    from tests.conftest import empty_catalog

    corrupt = tmp_path / "broken.mp4"
    corrupt.write_bytes((VIDEOS / "katie_hill.mp4").read_bytes()[:4000])
    sources = [
        str(VIDEOS / "slideshow_1.mp4"),
        str(corrupt),
        str(VIDEOS / "slideshow_2.mp4"),
        str(VIDEOS / "talking_head_5.mp4"),
    ]
    with pytest.raises(CommandError, match="1 of 4 sources failed"):
        call_command("ingest", *sources)
    in_one_batch = _people_by_face()
    assert dict(in_one_batch[0])["broken.mp4"] == Video.Status.FAILED
    assert sum(status == Video.Status.READY for _, status in in_one_batch[0]) == 3
    empty_catalog()
    for source in sources:
        try:
            call_command("ingest", source)
        except CommandError:
            assert source == str(corrupt)
    assert _people_by_face() == in_one_batch
