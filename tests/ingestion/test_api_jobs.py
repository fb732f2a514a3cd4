"""The API for getting videos in and following jobs."""

import shutil

import pytest

from catalog.models import Video
from ingestion.models import IngestJob
from tests.conftest import SHARED_DATA, VIDEOS

pytestmark = pytest.mark.django_db(transaction=True)


def upload(client, path):
    with open(path, "rb") as handle:
        return client.post("/api/upload_video", {"file": handle}, format="multipart")


def test_nothing_is_readable_without_logging_in(client):
    for url in ("/api/clusters", "/api/job_status/1", "/api/videos/", "/api/people/"):
        response = client.get(url)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"


def test_uploading_a_video_queues_a_job(api_client):
    response = upload(api_client, VIDEOS / "talking_head_5.mp4")
    assert response.status_code == 202
    body = response.json()
    job = IngestJob.objects.get(pk=body["job_id"])
    assert job.video_id == body["video_id"] and job.task_id
    status = api_client.get(f"/api/job_status/{job.id}").json()
    assert status == {"id": job.id, "status": "queued", "stage": "queued", "progress": 0,
                      "error": "", "warnings": [], "video_id": job.video_id}  # fmt: skip


def test_deleting_a_queued_upload_ends_its_job_with_a_clear_error(api_client):
    from django.core.files.storage import default_storage

    from ingestion.tasks import run_ingest_job

    body = upload(api_client, VIDEOS / "talking_head_5.mp4").json()
    stored = Video.objects.get(pk=body["video_id"]).file.name
    assert api_client.delete(f"/api/videos/{body['video_id']}/").status_code == 204
    assert not default_storage.exists(stored)
    run_ingest_job(body["job_id"])  # the worker reaches the job afterwards
    status = api_client.get(f"/api/job_status/{body['job_id']}").json()
    assert status["status"] == "failed"
    assert status["error"] == "The uploaded video was deleted before it was processed."


@pytest.mark.slow
def test_an_uploaded_video_is_processed_and_its_faces_listed(api_client, run_jobs_in_process):
    body = upload(api_client, VIDEOS / "slideshow_1.mp4").json()
    status = api_client.get(f"/api/job_status/{body['job_id']}").json()
    assert (status["status"], status["progress"]) == ("done", 100)
    info = api_client.get(f"/api/video_info/{body['video_id']}").json()
    # four photos, three seconds each: one track each, one kept face per short track
    assert info["status"] == "ready" and info["face_count"] == 4
    face = info["faces"][0]
    assert set(face["box"]) == {"x", "y", "w", "h"} and face["person"]
    assert api_client.get(face["crop_url"]).status_code == 200


def test_an_upload_that_is_not_a_video_is_refused(api_client, tmp_path):
    fake = tmp_path / "fake.mp4"
    shutil.copy(SHARED_DATA / "misc" / "two_people.jpg", fake)
    response = upload(api_client, fake)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_a_video"
    assert not Video.objects.exists() and not IngestJob.objects.exists()


def test_an_upload_without_a_file_says_which_field_is_missing(api_client):
    response = api_client.post("/api/upload_video", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["error"]["fields"]


def test_an_upload_over_the_size_cap_is_refused(api_client, settings):
    settings.MAX_UPLOAD_MB = 0
    response = upload(api_client, VIDEOS / "couch_two_women.mp4")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_a_url_is_queued_and_a_private_one_refused(api_client, web_server, settings):
    settings.ALLOW_PRIVATE_URLS = False
    refused = api_client.post("/api/process_url", {"url": f"{web_server}/clip.mp4"}, format="json")
    assert refused.status_code == 400
    assert "127.0.0.1" in refused.json()["error"]["message"]
    settings.ALLOW_PRIVATE_URLS = True
    accepted = api_client.post("/api/process_url", {"url": f"{web_server}/clip.mp4"}, format="json")
    assert accepted.status_code == 202
    assert IngestJob.objects.get(pk=accepted.json()["job_id"]).kind == "url"


def test_a_batch_of_urls_reports_each_entry(api_client, web_server, settings):
    settings.ALLOW_PRIVATE_URLS = True
    urls = [f"{web_server}/clip.mp4", "not a url", "ftp://example.org/x.mp4"]
    response = api_client.post("/api/process_urls", {"urls": urls}, format="json")
    assert response.status_code == 202
    jobs = response.json()["jobs"]
    assert [j["url"] for j in jobs] == urls
    assert jobs[0]["job_id"] and "error" not in jobs[0]
    assert jobs[1]["job_id"] is None and jobs[1]["error"]
    assert jobs[2]["job_id"] is None and "http" in jobs[2]["error"]
    assert IngestJob.objects.count() == 1


@pytest.mark.slow
def test_a_url_job_downloads_and_processes_the_video(api_client, web_server, settings,
                                                     run_jobs_in_process):  # fmt: skip
    settings.ALLOW_PRIVATE_URLS = True
    job_id = api_client.post("/api/process_url", {"url": f"{web_server}/clip.mp4"},
                             format="json").json()["job_id"]  # fmt: skip
    status = api_client.get(f"/api/job_status/{job_id}").json()
    assert status["status"] == "done" and status["video_id"]


def test_reclustering_is_queued(api_client):
    response = api_client.post("/api/cluster_faces")
    assert response.status_code == 202
    assert IngestJob.objects.get(pk=response.json()["job_id"]).kind == "cluster"


def test_an_unknown_job_is_not_found(api_client):
    response = api_client.get("/api/job_status/999999")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_jobs_are_listed_newest_first_and_filtered_by_status(api_client):
    first = IngestJob.objects.create(kind="cluster", status="done")
    second = IngestJob.objects.create(kind="cluster", status="failed", error="boom")
    listed = api_client.get("/api/jobs/").json()
    assert [j["id"] for j in listed["results"]] == [second.id, first.id]
    failed = api_client.get("/api/jobs/?status=failed").json()
    assert [j["id"] for j in failed["results"]] == [second.id]


def test_ids_too_large_for_the_database_are_not_found_not_a_crash(api_client):
    huge = "9" * 30
    assert api_client.get(f"/api/job_status/{huge}").status_code == 404
    assert api_client.get(f"/api/jobs/{huge}/").status_code == 404
    filtered = api_client.get(f"/api/jobs/?video={huge}")
    assert filtered.status_code == 400 and "video" in filtered.json()["error"]["fields"]
