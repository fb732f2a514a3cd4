"""The catalog's storages: the local media folder (videos and face crops each in a folder of
their own if asked), and S3 through django-storages (s3_storage.py, imported only when used)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils._os import safe_join


class LocalMediaStorage(FileSystemStorage):
    """The local media folder. Names start with their kind ("videos/...", "faces/..."), and each
    kind lives under its own folder when one is set (FAAAAACES_VIDEOS_DIR, FAAAAACES_FACES_DIR:
    the seed's UPLOAD_FOLDER and FACES_FOLDER); URLs stay under MEDIA_URL either way."""

    def _root(self, name: str) -> str:
        kind = str(name).replace("\\", "/").split("/", 1)[0]
        return str(settings.MEDIA_ROOTS.get(kind, self.location))

    def path(self, name: str) -> str:
        return safe_join(self._root(name), name)

    def _save(self, name, content):
        os.makedirs(self.location, exist_ok=True)  # Django reads its group, even if unused
        saved = super()._save(name, content)  # relative to self.location, whatever the root
        full = os.path.normpath(os.path.join(self.location, saved))
        return os.path.relpath(full, self._root(name)).replace(os.sep, "/")


def __getattr__(name: str):
    # CatalogS3Storage lives in s3_storage.py: django-storages' S3 backend imports boto3, 0.4-2 s
    # of every process's start-up, and only a catalog on S3 uses it. Settings and code still
    # name it faaaaaces.storage.CatalogS3Storage.
    if name == "CatalogS3Storage":
        from faaaaaces.s3_storage import CatalogS3Storage

        return CatalogS3Storage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
