"""`manage.py search_photo PHOTO`: who in the catalog is this, and where do they appear?"""

import json
from dataclasses import asdict
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from search.services.photo_search import PhotoError, search_by_photo


class Command(BaseCommand):
    help = "Search the catalog for the person in a photo."

    def add_arguments(self, parser):
        parser.add_argument("photo")
        parser.add_argument("--top", type=int, default=5, help="how many people (default 5)")
        parser.add_argument(
            "--face",
            type=int,
            help="which face of the photo, left to right from 0 (default: the largest)",
        )
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **options):
        path = Path(options["photo"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            result = search_by_photo(path.read_bytes(), options["face"], options["top"])
        except PhotoError as error:
            raise CommandError(str(error)) from error
        if options["json"]:
            self.stdout.write(json.dumps(asdict(result), indent=2))
            return
        self.stdout.write(
            f"{len(result.faces)} face(s) in the photo; searching with face "
            f"{result.chosen_face} at {result.faces[result.chosen_face].box}"
        )
        if not result.people:
            self.stdout.write("nobody in the catalog looks like this face")
        for rank, person in enumerate(result.people, start=1):
            self.stdout.write(
                f"{rank}. {person.name} (person {person.person_id}): score "
                f"{person.score:.2f}, similarity {person.similarity:.3f}"
            )
            for moment in person.moments[:5]:
                self.stdout.write(
                    f"     {moment.video_title}: {moment.start_s:.1f}-{moment.end_s:.1f} s"
                )
