"""`manage.py jobs list|retry|cancel`: follow jobs, retry the failed, cancel the unwanted."""

from django.core.management.base import BaseCommand, CommandError

from ingestion.models import IngestJob
from ingestion.services.jobs import JobNotAllowed, cancel_job, retry_job


class Command(BaseCommand):
    help = "List jobs, retry failed or cancelled ones, or cancel queued or running ones."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True)
        listing = commands.add_parser("list", help="the newest jobs first")
        listing.add_argument("--status", choices=IngestJob.Status.values)
        listing.add_argument("--limit", type=int, default=20)
        for name, what in (("retry", "run again from the start"), ("cancel", "stop")):
            command = commands.add_parser(name, help=f"{what} these jobs")
            command.add_argument("job_ids", nargs="+", type=int, metavar="JOB_ID")

    def handle(self, *args, command, **options):
        if command == "list":
            return self._list(options["status"], options["limit"])
        action = retry_job if command == "retry" else cancel_job
        refused = 0
        for job_id in options["job_ids"]:
            job = IngestJob.objects.filter(pk=job_id).first()
            if job is None:
                refused += 1
                self.stderr.write(self.style.ERROR(f"job {job_id}: there is no such job"))
                continue
            try:
                job = action(job)
            except JobNotAllowed as error:
                refused += 1
                self.stderr.write(self.style.ERROR(f"job {job_id}: {error}"))
                continue
            self.stdout.write(f"job {job.id}: {job.status} (attempt {job.attempt})")
        if refused:
            raise CommandError(f"{refused} of {len(options['job_ids'])} jobs could not {command}")

    def _list(self, status: str | None, limit: int) -> None:
        jobs = IngestJob.objects.all()
        if status:
            jobs = jobs.filter(status=status)
        for job in jobs[:limit]:
            line = (
                f"{job.id:>6}  {job.kind:<8} {job.status:<9} {job.stage:<11} {job.progress:>3} %  "
                f"attempt {job.attempt}  {job.source[:60]}"
            )
            self.stdout.write(line)
            for note in [job.error, *job.warnings]:
                if note:
                    self.stdout.write(f"        {note}")
