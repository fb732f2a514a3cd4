"""A job's life beyond one run: claimed by one worker at a time, kept alive by a heartbeat,
started again when its worker died, retried after a transient failure, retried or cancelled by a
user. Nothing here loses a job or a video: a job only ever moves between states, with its error
kept, and every stage of processing replaces what an earlier attempt wrote.

Why a heartbeat: django-q2 hands a task to another worker only after `retry` seconds, which must
exceed the longest job (hours), so a worker killed mid-video would leave its job "running" for
hours. Instead every running job writes `heartbeat_at` every few seconds; a scheduled task
(`requeue_stale_jobs`, every minute) starts again any running job whose heartbeat is older than
JOB_STALE_AFTER_S, as a new attempt. The old task, should the broker deliver it again later, finds
its attempt superseded and does nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import OperationalError, close_old_connections, connection
from django.utils import timezone

from ingestion.models import IngestJob
from ingestion.services.queue import enqueue_job, enqueue_job_later
from ingestion.sources import TransientSourceError

logger = logging.getLogger(__name__)

Status = IngestJob.Status


class JobCancelled(Exception):
    """A user cancelled the job while it ran; raised where the job checks, at its progress."""


class JobNotAllowed(ValueError):
    """The job cannot be retried or cancelled in its state; the message says why."""


def claim(job_id: int, attempt: int | None) -> IngestJob | None:
    """The job, marked running by this worker, or None when this task has nothing to do: the
    job was cancelled or finished meanwhile, or this is an attempt a newer one replaced."""
    jobs = IngestJob.objects.filter(pk=job_id, status__in=[Status.QUEUED, Status.RUNNING])
    if attempt is not None:
        jobs = jobs.filter(attempt=attempt)
    if not jobs.update(status=Status.RUNNING, heartbeat_at=timezone.now()):
        return None
    job = IngestJob.objects.select_related("video").get(pk=job_id)
    job.mark_running()
    return job


@contextmanager
def heartbeat(job: IngestJob, every_s: float | None = None) -> Iterator[None]:
    """Write the job's heartbeat from a thread of its own while the block runs."""
    every_s = every_s or settings.JOB_HEARTBEAT_S
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every_s):
                try:
                    IngestJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())
                except OperationalError as error:  # a busy database: the next beat will do
                    logger.warning("job %s: heartbeat skipped (%s)", job.pk, error)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"job-{job.pk}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def raise_if_cancelled(job: IngestJob) -> None:
    if IngestJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
        raise JobCancelled


def is_transient(error: BaseException) -> bool:
    """A failure worth trying again by itself: a download that timed out or was refused for
    now, a database that stayed locked."""
    if isinstance(error, TransientSourceError):
        return True
    return isinstance(error, OperationalError) and "locked" in str(error).lower()


def schedule_retry(job: IngestJob, error: BaseException, message: str) -> bool:
    """After a failure: schedule another attempt with backoff when the failure is transient and
    attempts are left (True); otherwise leave the job to be marked failed (False)."""
    if is_transient(error) and job.attempt < settings.JOB_MAX_ATTEMPTS:
        delay_s = settings.JOB_RETRY_BACKOFF_S * 4 ** (job.attempt - 1)
        job.attempt += 1
        job.status, job.stage, job.progress = Status.QUEUED, IngestJob.Stage.QUEUED, 0
        job.error = f"Attempt {job.attempt - 1} failed ({message}); trying again in {delay_s} s."
        job.save(update_fields=["attempt", "status", "stage", "progress", "error"])
        enqueue_job_later(job, delay_s)
        return True
    return False


def retry_job(job: IngestJob) -> IngestJob:
    """Run a failed or cancelled job again as a new attempt: from the start (every stage
    replaces what an earlier one wrote), or only its indexing when the video's faces were saved
    and grouped already (processing decides; the warnings found reading the video stay)."""
    if job.status not in (Status.FAILED, Status.CANCELLED):
        raise JobNotAllowed(f"Job {job.id} is {job.status}: only failed or cancelled jobs retry.")
    job.attempt += 1
    job.status, job.stage, job.progress = Status.QUEUED, IngestJob.Stage.QUEUED, 0
    job.error, job.cancel_requested = "", False
    job.started_at = job.finished_at = job.heartbeat_at = None
    job.save()
    return enqueue_job(job)


def cancel_job(job: IngestJob) -> IngestJob:
    """Stop a job: a queued one at once, a running one at its next progress report. The video
    it was for stays in the catalog, unprocessed, and the job can be retried."""
    if job.is_finished:
        raise JobNotAllowed(f"Job {job.id} is already {job.status}.")
    job.cancel_requested = True
    job.save(update_fields=["cancel_requested"])
    if job.status == Status.QUEUED:
        job.mark_cancelled()
    return job


def requeue_stale_jobs(stale_after_s: float | None = None) -> list[int]:
    """Start again every running job whose worker stopped writing its heartbeat (killed, or the
    machine lost power): a new attempt, queued for the next worker. Returns their ids."""
    close_old_connections()
    stale_after_s = stale_after_s or settings.JOB_STALE_AFTER_S
    cutoff = timezone.now() - timedelta(seconds=stale_after_s)
    requeued = []
    for job in IngestJob.objects.filter(status=Status.RUNNING, heartbeat_at__lt=cutoff):
        # Only if nobody else moved it meanwhile (another scheduler, or the worker came back).
        moved = IngestJob.objects.filter(
            pk=job.pk, status=Status.RUNNING, attempt=job.attempt, heartbeat_at=job.heartbeat_at
        ).update(
            status=Status.QUEUED,
            stage=IngestJob.Stage.QUEUED,
            progress=0,
            attempt=job.attempt + 1,
            error=f"Its worker stopped at {job.stage} ({job.progress} %); started again.",
        )
        if moved:
            job.refresh_from_db()
            enqueue_job(job)
            requeued.append(job.id)
            logger.warning(
                "job %s lost its worker; queued again as attempt %s", job.id, job.attempt
            )
    return requeued
