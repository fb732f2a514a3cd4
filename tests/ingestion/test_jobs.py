"""A job's life beyond one run: started again when its worker died, retried after a transient
failure, retried or cancelled by a user, and honest about a video that ends early. Real videos,
django-q2's own worker code run in this process."""

import http.server
import subprocess
import threading
from datetime import timedelta

import imageio_ffmpeg
import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_q.models import Schedule

from catalog.models import Face, Video
from ingestion.models import IngestJob
from ingestion.services import intake
from ingestion.services.jobs import JobNotAllowed, cancel_job, claim, requeue_stale_jobs
from ingestion.tasks import run_ingest_job
from tests.conftest import VIDEOS, empty_catalog

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def queued_upload():
    empty_catalog()
    video, _ = intake.receive_local_file(VIDEOS / "slideshow_1.mp4")
    yield intake.create_job_for_video(video, IngestJob.Kind.UPLOAD)
    empty_catalog()


def test_a_running_job_whose_heartbeat_stopped_is_started_again(queued_upload, run_jobs_in_process):
    job = queued_upload
    IngestJob.objects.filter(pk=job.pk).update(  # a worker took it, then died
        status=IngestJob.Status.RUNNING, heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    assert requeue_stale_jobs(stale_after_s=60) == [job.id]
    job.refresh_from_db()
    assert (job.status, job.attempt) == (IngestJob.Status.DONE, 2)
    assert Face.objects.filter(video=job.video).exists()
    # The dead worker's task, delivered again by the broker, does nothing.
    assert "skipped" in run_ingest_job(job.id, attempt=1)


def test_a_job_whose_worker_is_alive_is_left_alone(queued_upload):
    job = queued_upload
    assert claim(job.id, attempt=1) is not None  # running, heartbeat now
    assert requeue_stale_jobs(stale_after_s=60) == []
    assert IngestJob.objects.get(pk=job.pk).attempt == 1


def test_a_cancelled_queued_job_never_runs_and_can_be_retried(api_client, queued_upload,
                                                              run_jobs_in_process):  # fmt: skip
    job = queued_upload
    cancelled = api_client.post(f"/api/jobs/{job.id}/cancel/").json()
    assert cancelled["status"] == "cancelled"
    assert "skipped" in run_ingest_job(job.id, attempt=1)
    assert Video.objects.filter(pk=job.video_id).exists()  # the video stays
    retried = api_client.post(f"/api/jobs/{job.id}/retry/")
    assert retried.status_code == 202 and retried.json()["attempt"] == 2
    job.refresh_from_db()
    assert job.status == IngestJob.Status.DONE and job.error == ""
    again = api_client.post(f"/api/jobs/{job.id}/retry/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_now"


def test_cancelling_a_running_job_stops_it_and_keeps_its_video(queued_upload):
    job = queued_upload

    def cancel_on_first_progress(stage, percent):
        IngestJob.objects.filter(pk=job.pk).update(cancel_requested=True)

    assert run_ingest_job(job.id, cancel_on_first_progress) == {"cancelled": True}
    job.refresh_from_db()
    assert job.status == IngestJob.Status.CANCELLED
    assert Video.objects.get(pk=job.video_id).status == Video.Status.PENDING
    with pytest.raises(JobNotAllowed):
        cancel_job(job)


class BusyServer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503)
        self.end_headers()

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def busy_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BusyServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/clip.mp4"
    server.shutdown()


def test_a_transient_failure_is_tried_again_later(busy_server, settings):
    settings.ALLOW_PRIVATE_URLS = True
    job = intake.create_url_job(busy_server)
    assert "retrying" in run_ingest_job(job.id)
    job.refresh_from_db()
    assert (job.status, job.attempt) == (IngestJob.Status.QUEUED, 2)
    assert "trying again in 30 s" in job.error and "503" in job.error
    later = Schedule.objects.get(name=f"url-job-{job.id}-attempt-2")
    assert later.func == "ingestion.tasks.run_ingest_job"
    assert 20 < (later.next_run - timezone.now()).total_seconds() <= 30


def test_the_cli_lists_retries_and_cancels_jobs(queued_upload, capsys, run_jobs_in_process):
    job = queued_upload
    call_command("jobs", "cancel", str(job.id))
    call_command("jobs", "list")
    assert f"{job.id:>6}  upload   cancelled" in capsys.readouterr().out
    call_command("jobs", "retry", str(job.id))
    assert IngestJob.objects.get(pk=job.pk).status == IngestJob.Status.DONE
    with pytest.raises(CommandError, match="2 of 2 jobs could not retry"):
        call_command("jobs", "retry", str(job.id), "999999")
    refusals = capsys.readouterr().err
    assert "only failed or cancelled jobs retry" in refusals and "no such job" in refusals


def test_a_video_cut_short_is_processed_up_to_the_break_and_says_so(tmp_path):
    whole = tmp_path / "whole.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i",
         str(VIDEOS / "friends_poker.mp4"), "-c", "copy", "-movflags", "+faststart", str(whole)],
        check=True,
    )  # fmt: skip
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.5)])
    empty_catalog()
    video, _ = intake.receive_local_file(cut)
    job = intake.create_job_for_video(video, IngestJob.Kind.UPLOAD)
    run_ingest_job(job.id)
    job.refresh_from_db()
    assert job.status == IngestJob.Status.DONE
    assert len(job.warnings) == 1 and "ends early" in job.warnings[0]
    reached = float(job.warnings[0].split("up to ")[1].split(" s")[0])
    video.refresh_from_db()
    assert 0 < reached < video.duration_s - 2
    assert Face.objects.filter(video=video).exists()
    empty_catalog()


def test_a_job_that_failed_while_indexing_retries_only_the_indexing_and_keeps_curation(
    queued_upload, monkeypatch, run_jobs_in_process
):
    """Saving and grouping had committed when the index went away: a curator works on the
    video's people before the job is retried, and the retry must not detect the faces again
    (that would replace every face, and with them the curator's work on this video)."""
    from catalog.models import Person, TrackRejection
    from catalog.services import curation, index_sync
    from ingestion.services.jobs import retry_job

    job = queued_upload
    index_faces = index_sync.index_faces

    def unreachable(faces):
        raise ConnectionError("the vector index is unreachable")

    monkeypatch.setattr(index_sync, "index_faces", unreachable)
    assert "error" in run_ingest_job(job.id)
    monkeypatch.setattr(index_sync, "index_faces", index_faces)  # the index is back
    job.refresh_from_db()
    assert job.status == IngestJob.Status.FAILED and "unreachable" in job.error
    faces = list(Face.objects.filter(video=job.video_id).order_by("id"))
    assert faces and all(face.person_id for face in faces)

    people = Person.objects.filter(faces__video=job.video_id).distinct().order_by("id")
    named, rejected_from, unnamed = people[0], people[1], people[2]
    curation.rename_person(named, "Named while the index was down")
    rejected_face = rejected_from.faces.first()
    curation.reject_faces([rejected_face.id], rejected_from)
    not_a_face = unnamed.faces.last()
    curation.mark_not_faces([not_a_face.id])

    retry_job(job)
    job.refresh_from_db()
    assert job.status == IngestJob.Status.DONE and job.result["resumed_at"] == "indexing"
    assert [f.id for f in Face.objects.filter(video=job.video_id).order_by("id")] == [
        f.id for f in faces
    ]  # the same faces: nothing was detected again
    named.refresh_from_db()
    assert named.name == "Named while the index was down"
    assert named.faces.filter(video=job.video_id).exists()
    assert Face.objects.get(id=not_a_face.id).is_not_face
    assert TrackRejection.objects.filter(track=rejected_face.track, person=rejected_from).exists()
    assert Face.objects.get(id=rejected_face.id).person_id != rejected_from.id

    face = Face.objects.exclude(id=not_a_face.id).filter(video=job.video_id).first()
    index = index_sync.get_face_index(face.embedding_model, face.embedding_dim)
    indexed = index.face_ids()
    assert {f.id for f in faces} - {not_a_face.id} <= indexed and not_a_face.id not in indexed
    vector = np.frombuffer(face.embedding, dtype=np.float32)
    hit = index.search(vector, limit=1)[0]
    assert (hit.face_id, hit.person_id) == (face.id, face.person_id)
