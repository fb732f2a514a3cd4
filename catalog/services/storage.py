"""Moving the catalog's files between the local media folder and the S3 bucket
(`manage.py migrate_storage`). Every file keeps its name, so no row changes: switching
FAAAAACES_STORAGE afterwards is all it takes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.storage import Storage, storages

from catalog.models import Face, Video


@dataclass
class StorageMigration:
    copied: int = 0
    already_there: int = 0  # same name and size at the destination: left alone
    deleted_from_source: int = 0
    missing: list[str] = field(default_factory=list)  # named by a row, found on neither side


def local_storage() -> Storage:
    return storages.create_storage(settings.LOCAL_STORAGE)


def bucket_storage() -> Storage:
    return storages.create_storage(settings.S3_STORAGE)


def catalog_files(include_videos: bool) -> Iterator[str]:
    """The names of every face crop, and of every video file if asked."""
    yield from Face.objects.exclude(crop="").values_list("crop", flat=True).iterator()
    if include_videos:
        yield from Video.objects.exclude(file="").values_list("file", flat=True).iterator()


def copy_files(
    names: Iterable[str],
    source: Storage,
    destination: Storage,
    *,
    delete_source: bool = False,
) -> StorageMigration:
    """Copy each file that is not already at the destination; safe to run again after a stop."""
    result = StorageMigration()
    for name in names:
        if not source.exists(name):
            if destination.exists(name):
                result.already_there += 1
            else:
                result.missing.append(name)
            continue
        if destination.exists(name) and destination.size(name) == source.size(name):
            result.already_there += 1
        else:
            if destination.exists(name):  # a copy cut short: replace it, never rename
                destination.delete(name)
            with source.open(name, "rb") as content:
                stored = destination.save(name, content)
            if stored != name:
                raise RuntimeError(f"{name} was stored as {stored}")
            result.copied += 1
        if delete_source:
            source.delete(name)
            result.deleted_from_source += 1
    return result
