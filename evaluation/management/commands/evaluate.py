"""`manage.py evaluate DATASET_DIR [--json] [--report DIR]`: how well are people found?

The dataset is ingested into a throwaway catalog (a temporary data folder: its own SQLite
database, media and index), never into the user's own. The command re-runs itself in a child
process pointed at that folder; the child writes its result as JSON, the parent prints it.
Every face-engine setting from the environment applies, so configurations compare by running
e.g. `FRAME_SAMPLE_FPS=2 CLUSTERING_ALGORITHM=average manage.py evaluate DATA`.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from evaluation.dataset import Dataset, DatasetError
from evaluation.report import format_summary, write_report
from evaluation.services.run import run_evaluation

CHILD_MARKER = "FAAAAACES_EVALUATION_CATALOG"
# Settings that point at the user's catalog: the child must not inherit them.
CATALOG_VARIABLES = (
    "DATABASE_URL",
    "FAAAAACES_SQLITE_PATH",
    "FAAAAACES_TMP_DIR",
    "TEMP_FOLDER",
    "FAAAAACES_VIDEOS_DIR",
    "FAAAAACES_FACES_DIR",
    "UPLOAD_FOLDER",
    "FACES_FOLDER",
    "QDRANT_PATH",
    "QDRANT_URL",
    "QDRANT_API_KEY",
    "REDIS_URL",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
)


def plain_number(value):
    """numpy numbers (a detector's int32 boxes, say) as the JSON numbers they are."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def throwaway_catalog_environment(catalog_dir: Path) -> dict[str, str]:
    """This process's environment, with every setting that points at a catalog pointed at
    `catalog_dir` instead (face-engine settings stay, so configurations can be compared)."""
    return {k: v for k, v in os.environ.items() if k not in CATALOG_VARIABLES} | {
        CHILD_MARKER: "1",
        "FAAAAACES_DATA_DIR": str(catalog_dir),
        "FAAAAACES_MODELS_DIR": str(settings.FACE_MODELS_DIR),
        "FAAAAACES_STORAGE": "local",
        "QDRANT_BACKEND": "edge",
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "faaaaaces.settings"),
    }


class Command(BaseCommand):
    help = (
        "Ingest a labeled dataset (videos/ with .truth.json files, people/<name>/ photos, "
        "misc/ with truth.json) into a throwaway catalog and report detection, grouping, search "
        "and verification accuracy against the truth."
    )

    def add_arguments(self, parser):
        parser.add_argument("dataset", type=Path, metavar="DATASET_DIR")
        parser.add_argument("--json", action="store_true", help="print the full result as JSON")
        parser.add_argument(
            "--report", type=Path, metavar="DIR", help="write an HTML report with pictures here"
        )
        parser.add_argument("--result-file", type=Path, help=self.hidden_help)

    hidden_help = "(internal) where the child process writes its result"

    def handle(self, *args, **options):
        try:
            dataset = Dataset.load(options["dataset"].resolve())
        except DatasetError as error:
            raise CommandError(str(error)) from error
        report_dir = options["report"].resolve() if options["report"] else None
        if os.environ.get(CHILD_MARKER):
            self._evaluate_here(dataset, report_dir, options["result_file"])
            return
        with tempfile.TemporaryDirectory(prefix="faaaaaces-evaluate-") as scratch:
            result_file = Path(scratch) / "result.json"
            self._run_child(dataset, report_dir, Path(scratch) / "catalog", result_file)
            result = json.loads(result_file.read_text())
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
        else:
            self.stdout.write(format_summary(result))
        if report_dir:
            self.stdout.write(f"report: {report_dir / 'index.html'}")

    def _run_child(self, dataset: Dataset, report_dir, catalog_dir: Path, result_file: Path):
        environment = throwaway_catalog_environment(catalog_dir)
        command = [
            sys.executable,
            str(settings.BASE_DIR / "manage.py"),
            "evaluate",
            str(dataset.root),
            "--result-file",
            str(result_file),
        ]
        if report_dir:
            command += ["--report", str(report_dir)]
        completed = subprocess.run(command, env=environment, check=False)
        if completed.returncode != 0 or not result_file.exists():
            raise CommandError(f"the evaluation failed (exit code {completed.returncode})")

    def _evaluate_here(self, dataset: Dataset, report_dir, result_file: Path | None):
        call_command("migrate", verbosity=0, interactive=False)
        result = run_evaluation(dataset, log=lambda line: self.stderr.write(line))
        if report_dir:
            write_report(result, report_dir)
        text = json.dumps(result, default=plain_number)
        if result_file:
            result_file.write_text(text)
        else:
            self.stdout.write(text)
