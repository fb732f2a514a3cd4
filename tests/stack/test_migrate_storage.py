"""`manage.py migrate_storage`: a catalog's files copied between the bucket and local media."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.conftest import VIDEOS, empty_catalog

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def catalog_files(django_db_setup, django_db_blocker):
    """One real video ingested in this process: its crops and file land in the bucket."""
    from catalog.models import Face, Video
    from catalog.services.videos import delete_video

    with django_db_blocker.unblock():
        empty_catalog()
        call_command("ingest", str(VIDEOS / "talking_head_2.mp4"), stdout=io.StringIO())
        video = Video.objects.get()
        yield [*Face.objects.values_list("crop", flat=True), video.file.name]
        delete_video(video)
        empty_catalog()
    for path in sorted(Path(settings.MEDIA_ROOT).rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()


def migrate(*arguments: str) -> str:
    output = io.StringIO()
    call_command("migrate_storage", *arguments, stdout=output)
    return output.getvalue().strip()


def local_files() -> set[str]:
    media = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()}


def test_the_bucket_is_copied_to_local_media_once_however_often_it_runs(catalog_files, bucket):
    assert local_files() == set()
    count = len(catalog_files)
    assert migrate("--to", "local").startswith(f"copied {count}, already there 0")
    assert local_files() == set(catalog_files)
    media = Path(settings.MEDIA_ROOT)
    assert all((media / name).read_bytes() == bucket.read(name) for name in catalog_files)
    assert migrate("--to", "local").startswith(f"copied 0, already there {count}")


def test_a_local_catalog_is_copied_into_the_bucket_and_can_leave_local_media(catalog_files, bucket):
    count = len(catalog_files)
    local_bytes = {name: (Path(settings.MEDIA_ROOT) / name).read_bytes() for name in catalog_files}
    for name in catalog_files:
        bucket.client.delete_object(Bucket=bucket.name, Key=name)
    assert not set(catalog_files) & bucket.keys()
    assert migrate("--to", "s3").startswith(f"copied {count}, already there 0")
    assert all(bucket.read(name) == local_bytes[name] for name in catalog_files)
    summary = migrate("--to", "s3", "--delete-source")
    assert summary == f"copied 0, already there {count}, deleted from the source {count}, missing 0"
    assert local_files() == set()
    assert set(catalog_files) <= bucket.keys()
