"""Handing jobs to the django-q2 workers: now, or after a delay (a retry's backoff)."""

from datetime import timedelta

from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from ingestion.models import IngestJob

TASKS = {
    IngestJob.Kind.UPLOAD: "ingestion.tasks.run_ingest_job",
    IngestJob.Kind.URL: "ingestion.tasks.run_ingest_job",
    IngestJob.Kind.REGROUP_PEOPLE: "ingestion.tasks.run_regroup_people_job",
}


def enqueue_job(job: IngestJob) -> IngestJob:
    """Queue the job's current attempt; a task carrying an older attempt does nothing."""
    job.task_id = async_task(
        TASKS[job.kind], job.id, attempt=job.attempt, task_name=f"{job.kind}-job-{job.id}"
    )
    job.save(update_fields=["task_id"])
    return job


def enqueue_job_later(job: IngestJob, delay_s: float) -> IngestJob:
    """Queue the job's current attempt in delay_s seconds (django-q2 runs it once then)."""
    Schedule.objects.create(
        name=f"{job.kind}-job-{job.id}-attempt-{job.attempt}",
        func=TASKS[job.kind],
        args=repr((job.id,)),
        kwargs=repr({"attempt": job.attempt}),
        schedule_type=Schedule.ONCE,
        repeats=1,
        next_run=timezone.now() + timedelta(seconds=delay_s),
    )
    return job
