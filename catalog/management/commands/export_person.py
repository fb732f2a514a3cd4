"""`manage.py export_person ID [--output FILE]`: everything held on a person, as one zip."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.models import Person
from catalog.services.privacy import export_person


class Command(BaseCommand):
    help = "Export a person's faces, crops and appearances (a data subject's access request)."

    def add_arguments(self, parser):
        parser.add_argument("person_id", type=int)
        parser.add_argument("--output", type=Path, help="the zip to write (default: person-ID.zip)")

    def handle(self, *args, person_id: int, output: Path | None, **options):
        person = Person.objects.filter(pk=person_id).first()
        if person is None:
            raise CommandError(f"There is no person {person_id}.")
        path = export_person(person, output or Path(f"person-{person_id}.zip"))
        self.stdout.write(self.style.SUCCESS(f"{person}: {path}"))
