"""django-q2 entry points. They load the job, call services stage by stage, record progress, and
turn any failure into a clear message on the job; the work itself lives in the services.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from catalog.models import Video
from catalog.services import index_sync
from catalog.services.clustering import recluster_people
from ingestion.models import IngestJob
from ingestion.pipeline.frames import VideoDecodeError
from ingestion.pipeline.weights import MissingWeightsError
from ingestion.services import intake, jobs, processing
from ingestion.sources import SourceError

logger = logging.getLogger(__name__)

StageCallback = Callable[[str, int], None]  # stage, percent

# Stage -> (first, last) percent of the whole job.
STAGE_SPANS = {
    IngestJob.Stage.DOWNLOADING: (0, 10),
    IngestJob.Stage.DETECTING: (10, 85),
    IngestJob.Stage.SAVING: (85, 90),
    IngestJob.Stage.CLUSTERING: (90, 95),
    IngestJob.Stage.INDEXING: (95, 99),
}
# Regrouping people is all grouping: its percent is the re-cluster's own.
REGROUP_STAGE_SPANS = {IngestJob.Stage.CLUSTERING: (0, 95), IngestJob.Stage.INDEXING: (95, 99)}


class JobReporter:
    """Writes stage and percent to the job (only when the percent moves) and to a listener, and
    stops the job, at most a second after a user asked, when they cancelled it."""

    def __init__(
        self, job: IngestJob, listener: StageCallback | None, spans: dict | None = None
    ) -> None:
        self.job = job
        self.listener = listener
        self.spans = STAGE_SPANS if spans is None else spans
        self._cancel_checked_at = 0.0

    def __call__(self, stage: str, fraction: float = 0.0) -> None:
        first, last = self.spans.get(stage, (0, 100))
        percent = int(first + (last - first) * max(0.0, min(1.0, fraction)))
        if stage != self.job.stage or percent != self.job.progress:
            self.job.report(stage, percent)
        if self.listener:
            self.listener(stage, percent)
        if time.monotonic() - self._cancel_checked_at > 1.0:
            self._cancel_checked_at = time.monotonic()
            jobs.raise_if_cancelled(self.job)

    def stage_progress(self, stage: str) -> Callable[[float], None]:
        return lambda fraction: self(stage, fraction)


def describe_failure(error: Exception) -> str:
    if isinstance(error, SourceError | VideoDecodeError | MissingWeightsError):
        return str(error)
    return f"Unexpected error ({type(error).__name__}): {error}"


def run_ingest_job(
    job_id: int,
    listener: StageCallback | None = None,
    *,
    attempt: int | None = None,
    retry_later: bool = True,
    detect: processing.DetectFaces = processing.detect_faces,
) -> dict:
    """Ingest one upload or URL. `attempt` is the attempt the task was queued for (None: the
    job's current one); `retry_later` lets a transient failure be tried again by a worker;
    `detect` finds the video's faces (the command line gives faces it found ahead)."""
    job = jobs.claim(job_id, attempt)
    if job is None:
        return {"skipped": "the job was cancelled, finished or queued again meanwhile"}
    report = JobReporter(job, listener)
    video = job.video
    try:
        with jobs.heartbeat(job):
            if video is None and job.kind == IngestJob.Kind.UPLOAD:  # deleted while queued
                raise SourceError("The uploaded video was deleted before it was processed.")
            if video is None:
                report(IngestJob.Stage.DOWNLOADING)
                video, _ = intake.download_video(
                    job.source, report.stage_progress(IngestJob.Stage.DOWNLOADING)
                )
                job.video = video
                job.save(update_fields=["video"])
            result = _ingest_video(job, video, report, detect)
        job.mark_done(result)
        return result
    except jobs.JobCancelled:
        job.mark_cancelled()
        if video is not None:  # the video stays, unprocessed: the job can be retried
            processing.mark_video(video, Video.Status.PENDING, "Its job was cancelled.")
        return {"cancelled": True}
    except Exception as error:
        message = describe_failure(error)
        logger.exception("ingest job %s failed: %s", job_id, message)
        if retry_later and jobs.schedule_retry(job, error, message):
            if video is not None:
                processing.mark_video(video, Video.Status.PENDING, job.error)
            return {"retrying": message}
        job.mark_failed(message)
        if video is not None:
            processing.mark_video(video, Video.Status.FAILED, message)
        return {"error": message}


def _ingest_video(
    job: IngestJob, video: Video, report: JobReporter, detect: processing.DetectFaces
) -> dict:
    if video.status == Video.Status.READY:
        return {
            "video_id": video.id,
            "deduplicated": True,
            "faces": video.faces.count(),
            "tracks": video.tracks.count(),
            "people": _people_in(video),
        }

    def keep_warnings(warnings: list[str]) -> None:
        job.warnings = warnings  # saved before grouping: a retry that only indexes keeps them
        job.save(update_fields=["warnings"])

    processed = processing.process_stored_video(video, report, keep_warnings, detect)
    found, grouping = processed.found, processed.grouping
    if found is None:  # an earlier attempt found and grouped the faces; this one indexed them
        return {
            "video_id": video.id,
            "deduplicated": False,
            "resumed_at": IngestJob.Stage.INDEXING,
            "faces": len(processed.faces),
            "tracks": video.tracks.count(),
            "people": _people_in(video),
        }
    return {
        "video_id": video.id,
        "deduplicated": False,
        "frames_sampled": found.frames_sampled,
        "faces_detected": found.faces_detected,
        "faces": len(processed.faces),
        "tracks": len(found.tracks),
        "people": grouping.people,
        "new_people": grouping.new_people,
    }


def _people_in(video: Video) -> int:
    """The people a video's faces belong to (faces marked not a face belong to no one)."""
    return video.faces.exclude(person=None).values("person").distinct().count()


def run_regroup_people_job(
    job_id: int, listener: StageCallback | None = None, *, attempt: int | None = None
) -> dict:
    job = jobs.claim(job_id, attempt)
    if job is None:
        return {"skipped": "the job was cancelled, finished or queued again meanwhile"}
    report = JobReporter(job, listener, REGROUP_STAGE_SPANS)
    try:
        with jobs.heartbeat(job):
            report(IngestJob.Stage.CLUSTERING)
            summary = recluster_people(report.stage_progress(IngestJob.Stage.CLUSTERING))
            report(IngestJob.Stage.INDEXING)
            index_sync.reindex_moved_faces(summary.moved_faces)
        result = {
            "tracks": summary.tracks,
            "people": summary.people,
            "new_people": summary.new_people,
            "moved_faces": sum(len(v) for v in summary.moved_faces.values()),
        }
        job.mark_done(result)
        return result
    except jobs.JobCancelled:
        job.mark_cancelled()
        return {"cancelled": True}
    except Exception as error:
        message = describe_failure(error)
        logger.exception("regroup-people job %s failed", job_id)
        if jobs.schedule_retry(job, error, message):
            return {"retrying": message}
        job.mark_failed(message)
        return {"error": message}


def requeue_stale_jobs() -> list[int]:
    """Scheduled every minute (migration ingestion 0004): jobs whose worker died start again."""
    return jobs.requeue_stale_jobs()
