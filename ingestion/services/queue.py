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
