"""The dashboard and the jobs JSON the pages poll for live progress; retrying a failed job."""

import pytest

from ingestion.models import IngestJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def curator(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("curator", password="x" * 20))
    return client


def test_the_dashboard_shows_counts_and_the_add_videos_page_its_size_cap(curator, settings):
    settings.MAX_UPLOAD_MB = 7
    page = curator.get("/").content.decode()
    assert 'data-count="videos"' in page and 'data-count="named_people"' in page
    assert 'data-max-mb="7"' in curator.get("/add/").content.decode()


def test_the_jobs_json_has_running_and_failed_jobs_apart(curator):
    running = IngestJob.objects.create(kind="url", source="https://a.example/1", status="running",
                                       stage="detecting", progress=42)  # fmt: skip
    failed = IngestJob.objects.create(kind="url", source="https://a.example/2", status="failed",
                                      error="The host could not be found.")  # fmt: skip
    body = curator.get("/jobs.json").json()
    assert [j["id"] for j in body["in_progress"]] == [running.id]
    assert body["in_progress"][0]["progress"] == 42
    assert body["in_progress"][0]["stage"] == "Finding faces"
    assert [(j["id"], j["error"]) for j in body["failed"]] == [(failed.id, failed.error)]
    followed = curator.get(f"/jobs.json?ids={failed.id}").json()["jobs"]
    assert [j["id"] for j in followed] == [failed.id]


def test_the_dashboards_poll_also_brings_the_catalogs_counts(curator):
    IngestJob.objects.create(kind="url", source="https://a.example/1", status="running")
    assert "counts" not in curator.get("/jobs.json").json()
    counts = curator.get("/jobs.json?counts=1").json()["counts"]
    assert counts == {"videos": 0, "faces": 0, "people": 0, "named_people": 0}


def test_retrying_a_failed_job_queues_it_again(curator):
    job = IngestJob.objects.create(kind="url", source="https://a.example/2", status="failed",
                                   error="timed out", progress=10)  # fmt: skip
    response = curator.post(f"/jobs/{job.id}/retry")
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.progress, job.error) == ("queued", 0, "")
    assert job.task_id


def test_a_job_that_did_not_fail_is_not_run_twice(curator):
    job = IngestJob.objects.create(kind="url", source="https://a.example/3", status="done")
    curator.post(f"/jobs/{job.id}/retry")
    job.refresh_from_db()
    assert job.status == "done" and not job.task_id


def test_a_queued_job_is_cancelled_from_the_page_and_listed_to_retry(client, django_user_model):
    from ingestion.models import IngestJob
    from ingestion.services import intake
    from tests.conftest import VIDEOS, empty_catalog

    client.force_login(django_user_model.objects.create_user("someone", password="x" * 20))
    empty_catalog()
    video, _ = intake.receive_local_file(VIDEOS / "slideshow_1.mp4")
    job = intake.create_job_for_video(video, IngestJob.Kind.UPLOAD)
    listed = client.get("/jobs.json").json()
    assert listed["in_progress"][0]["cancel_url"] == f"/jobs/{job.id}/cancel"
    assert client.post(f"/jobs/{job.id}/cancel").status_code == 302
    failed = client.get("/jobs.json").json()["failed"]
    assert [(j["id"], j["status"]) for j in failed] == [(job.id, "cancelled")]
    empty_catalog()
