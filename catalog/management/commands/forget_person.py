"""`manage.py forget_person ID [--yes]`: erase a person everywhere (an erasure request)."""

from django.core.management.base import BaseCommand, CommandError

from catalog.models import Person
from catalog.services.privacy import forget_person


class Command(BaseCommand):
    help = (
        "Erase a person: their tracks and faces, crops, index points and the curation log's "
        "entries about them. Processing their videos again would find them again."
    )

    def add_arguments(self, parser):
        parser.add_argument("person_id", type=int)
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, person_id: int, yes: bool, **options):
        person = Person.objects.filter(pk=person_id).first()
        if person is None:
            raise CommandError(f"There is no person {person_id}.")
        if not yes and input(f"Erase {person} and every face of them? [y/N] ").lower() != "y":
            raise CommandError("Nothing was erased.")
        forgotten = forget_person(person)
        self.stdout.write(
            self.style.SUCCESS(
                f"person {forgotten.person_id} erased: {forgotten.faces} faces, "
                f"{forgotten.tracks} tracks, {forgotten.log_entries} log entries"
            )
        )
