"""`manage.py serve_index`: the index owner, keeping the embedded Qdrant Edge index loaded and
serving the web server and workers (see search/edge_index.py for why). Started by `make run`."""

import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from search.index_owner import IndexOwner


class Command(BaseCommand):
    help = "Serve the embedded vector index to the other processes until stopped."

    def handle(self, *args, **options):
        if settings.QDRANT_BACKEND != "edge":
            # Nothing to own, but stay up: `make run` stops everything when one process ends.
            self.stdout.write("QDRANT_BACKEND is not 'edge': a Qdrant server needs no owner")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
            return
        owner = IndexOwner(settings.QDRANT_PATH)
        try:
            self.stdout.write(f"serving the index in {settings.QDRANT_PATH} (Ctrl-C stops)")
            # A `manage.py ingest` batch may own the folder for a while: served by it meanwhile.
            owner.serve_forever(wait_for_other_owner=True)
        except RuntimeError as error:
            raise CommandError(str(error)) from error
