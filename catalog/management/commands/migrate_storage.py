"""`manage.py migrate_storage --to s3|local`: copy the catalog's files into the bucket, or back.

Idempotent: files already at the destination (same name and size) are skipped, so a run cut
short is simply run again. Face crops always; videos too when S3_STORE_VIDEOS is on (or with
--videos). Then set FAAAAACES_STORAGE to match.
"""

from argparse import BooleanOptionalAction

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.services.storage import bucket_storage, catalog_files, copy_files, local_storage


class Command(BaseCommand):
    help = "Copy face crops (and videos) between the local media folder and the S3 bucket."

    def add_arguments(self, parser):
        parser.add_argument("--to", choices=["s3", "local"], required=True)
        parser.add_argument(
            "--videos",
            action=BooleanOptionalAction,
            default=None,
            help="copy the video files too (default: when S3_STORE_VIDEOS is on)",
        )
        parser.add_argument(
            "--delete-source", action="store_true", help="remove each file once it is copied"
        )

    def handle(self, *args, **options):
        local, bucket = local_storage(), bucket_storage()
        source, destination = (local, bucket) if options["to"] == "s3" else (bucket, local)
        videos = settings.S3_STORE_VIDEOS if options["videos"] is None else options["videos"]
        result = copy_files(
            catalog_files(include_videos=videos),
            source,
            destination,
            delete_source=options["delete_source"],
        )
        self.stdout.write(
            f"copied {result.copied}, already there {result.already_there}, "
            f"deleted from the source {result.deleted_from_source}, missing {len(result.missing)}"
        )
        for name in result.missing[:20]:
            self.stderr.write(f"missing on both sides: {name}")
        if result.missing:
            raise CommandError(f"{len(result.missing)} files named by the catalog were not found")
