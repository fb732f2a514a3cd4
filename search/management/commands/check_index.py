"""`manage.py check_index`: does the vector index hold exactly the faces and tracks of the
database?"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from search.services.index_maintenance import compare_index, repair_index


def sample(ids: list[int], count: int = 10) -> str:
    shown = ", ".join(map(str, ids[:count]))
    return shown + (f" and {len(ids) - count} more" if len(ids) > count else "")


class Command(BaseCommand):
    help = "Compare the vector index with the database; --fix repairs the difference."

    def add_arguments(self, parser):
        parser.add_argument("--model", default=settings.FACE_RECOGNITION_MODEL)
        parser.add_argument("--fix", action="store_true", help="add missing, drop unknown points")

    def handle(self, *args, **options):
        comparison = compare_index(options["model"])
        self.stdout.write(
            f"{comparison.model_name}: {comparison.faces_in_database} faces in the database, "
            f"{comparison.points_in_index} points in the index"
        )
        if comparison.missing_from_index:
            self.stdout.write(f"  missing from the index: {sample(comparison.missing_from_index)}")
        if comparison.unknown_to_database:
            self.stdout.write(f"  not in the database: {sample(comparison.unknown_to_database)}")
        self.stdout.write(
            f"{comparison.tracks_in_database} tracks in the database, "
            f"{comparison.track_points_in_index} in the index of track templates"
        )
        if comparison.tracks_missing_from_index:
            missing = sample(comparison.tracks_missing_from_index)
            self.stdout.write(f"  tracks missing from the index: {missing}")
        if comparison.tracks_unknown_to_database:
            unknown = sample(comparison.tracks_unknown_to_database)
            self.stdout.write(f"  tracks not in the database: {unknown}")
        if comparison.consistent:
            self.stdout.write(self.style.SUCCESS("the index matches the database"))
            return
        if options["fix"]:
            repair_index(comparison)
            self.stdout.write(self.style.SUCCESS("repaired"))
            return
        raise CommandError("the index does not match the database (run with --fix, or reindex)")
