"""Handing jobs to the django-q2 workers."""

from django_q.tasks import async_task

from ingestion.models import IngestJob

TASKS = {
    IngestJob.Kind.UPLOAD: "ingestion.tasks.run_ingest_job",
    IngestJob.Kind.URL: "ingestion.tasks.run_ingest_job",
    IngestJob.Kind.REGROUP_PEOPLE: "ingestion.tasks.run_regroup_people_job",
}


def enqueue_job(job: IngestJob) -> IngestJob:
    job.task_id = async_task(TASKS[job.kind], job.id, task_name=f"{job.kind}-job-{job.id}")
    job.save(update_fields=["task_id"])
    return job


def retry_job(job: IngestJob) -> IngestJob:
    """Run a failed job again from the start (every stage is idempotent); other jobs are left
    as they are, so a second click changes nothing."""
    if job.status != IngestJob.Status.FAILED:
        return job
    job.status, job.stage, job.progress = IngestJob.Status.QUEUED, IngestJob.Stage.QUEUED, 0
    job.error, job.started_at, job.finished_at = "", None, None
    job.save(update_fields=["status", "stage", "progress", "error", "started_at", "finished_at"])
    return enqueue_job(job)
