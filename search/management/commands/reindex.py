"""`manage.py reindex`: rebuild the vector index from the database (the source of truth)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from search.services.index_maintenance import rebuild_index


class Command(BaseCommand):
    help = "Rebuild the vector index of face embeddings from the database."

    def add_arguments(self, parser):
        parser.add_argument(
            "--model",
            default=settings.FACE_RECOGNITION_MODEL,
            help="recognition model whose faces to index (default: the current)",
        )
        parser.add_argument(
            "--build-graph",
            action="store_true",
            help="wait for the search graph to be built (the index owner of `make run` builds it "
            "by itself when idle; searches are exact and correct until then)",
        )

    def handle(self, *args, **options):
        indexed = rebuild_index(options["model"], build_graph=options["build_graph"])
        self.stdout.write(self.style.SUCCESS(f"indexed {indexed} faces of {options['model']}"))
