"""`manage.py ingest PATH_OR_URL ...`: process videos now (with progress bars) or queue them.

On a terminal each video gets a progress bar; when the output is a log, a pipe or CI, one line
per stage instead of a bar redrawn a hundred times. While one video is saved, grouped and
indexed, the next ones' faces are already being found (ingestion/services/ahead.py).
"""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.services.index_sync import index_owned_here
from ingestion.models import IngestJob
from ingestion.services import intake
from ingestion.services.ahead import FacesAhead
from ingestion.services.queue import enqueue_job
from ingestion.sources import SourceError
from ingestion.tasks import run_ingest_job


def looks_like_url(text: str) -> bool:
    return "://" in text


class Command(BaseCommand):
    help = "Ingest video files or URLs: find the faces and group them into people."

    def add_arguments(self, parser):
        parser.add_argument("sources", nargs="+", metavar="PATH_OR_URL")
        parser.add_argument(
            "--queue",
            action="store_true",
            help="hand the work to the django-q2 workers instead of running it here",
        )

    def handle(self, *args, **options):
        jobs, failures = [], 0
        for source in options["sources"]:
            try:
                jobs.append(self._create_job(source))
            except (SourceError, OSError) as error:
                failures += 1
                self.stderr.write(self.style.ERROR(f"{source}: {error}"))
        if options["queue"]:
            for job in jobs:
                enqueue_job(job)
                self.stdout.write(f"queued job {job.id} for {job.source}")
        else:
            # The next videos' faces are found while each one is saved, grouped and indexed; the
            # index stays loaded for the batch (in this process when no owner serves it).
            with index_owned_here(), FacesAhead([job.video for job in jobs]) as ahead:
                for position, job in enumerate(jobs):
                    failures += not self._run_in_foreground(job, ahead.detector(position))
        if failures:
            raise CommandError(f"{failures} of {len(options['sources'])} sources failed")

    def _create_job(self, source: str) -> IngestJob:
        if looks_like_url(source):
            return intake.create_url_job(source)
        path = Path(source)
        if not path.is_file():
            raise SourceError(f"no such file: {path}")
        video, _ = intake.receive_local_file(path)
        kind = IngestJob.Kind.UPLOAD
        return intake.create_job_for_video(video, kind)

    def _run_in_foreground(self, job: IngestJob, detect) -> bool:
        label = Path(job.source).name if not looks_like_url(job.source) else job.source
        if self.stderr.isatty():
            with tqdm(total=100, desc=label[:40], unit="%", leave=True) as bar:

                def listener(stage: str, percent: int) -> None:
                    bar.set_postfix_str(stage)
                    bar.update(percent - bar.n)

                result = run_ingest_job(job.id, listener, detect=detect)
        else:
            result = run_ingest_job(job.id, self._stage_lines(label), detect=detect)
        job.refresh_from_db()
        if job.status == IngestJob.Status.FAILED:
            self.stderr.write(self.style.ERROR(f"{label}: failed: {job.error}"))
            return False
        if result.get("deduplicated"):
            self.stdout.write(
                f"{label}: already in the catalog as video {result['video_id']} "
                f"({result['faces']} faces, {result['people']} people)"
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{label}: video {result['video_id']}: {result['faces_detected']} faces "
                    f"detected in {result['frames_sampled']} frames, {result['tracks']} tracks, "
                    f"{result['faces']} faces kept, {result['people']} people "
                    f"({result['new_people']} new)"
                )
            )
        return True

    def _stage_lines(self, label: str):
        """A listener writing "label: stage (percent, seconds since the video started)" once
        when each stage starts."""
        stages_seen: set[str] = set()
        started = time.monotonic()

        def listener(stage: str, percent: int) -> None:
            if stage not in stages_seen:
                stages_seen.add(stage)
                name = dict(IngestJob.Stage.choices).get(stage, stage).lower()
                elapsed_s = time.monotonic() - started
                self.stdout.write(f"{label}: {name} ({percent}%, {elapsed_s:.1f} s)")
                self.stdout.flush()

        return listener
