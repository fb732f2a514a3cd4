"""`manage.py cluster`: regroup every face into people; curated people keep their faces."""

from django.core.management.base import BaseCommand, CommandError

from ingestion.models import IngestJob
from ingestion.services.queue import enqueue_job
from ingestion.tasks import run_regroup_people_job


class Command(BaseCommand):
    help = "Regroup all faces into people (named or locked people keep their faces)."

    def add_arguments(self, parser):
        parser.add_argument("--queue", action="store_true", help="run it in a django-q2 worker")

    def handle(self, *args, **options):
        job = IngestJob.objects.create(kind=IngestJob.Kind.REGROUP_PEOPLE, source="all faces")
        if options["queue"]:
            enqueue_job(job)
            self.stdout.write(f"queued regrouping people as job {job.id}")
            return
        result = run_regroup_people_job(job.id)
        if "error" in result:
            raise CommandError(result["error"])
        self.stdout.write(
            self.style.SUCCESS(
                f"{result['tracks']} tracks in {result['people']} people "
                f"({result['new_people']} new, {result['moved_faces']} faces moved)"
            )
        )
