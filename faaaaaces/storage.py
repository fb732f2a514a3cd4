"""The catalog's storages: the local media folder (videos and face crops each in a folder of
their own if asked), and S3 through django-storages, private, with short-lived presigned URLs
signed for the address browsers reach the bucket at."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils._os import safe_join
from storages.backends.s3 import S3Storage


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


class CatalogS3Storage(S3Storage):
    """S3Storage whose URLs may name another endpoint than the one the app talks to.

    In a compose stack the app reaches MinIO at http://minio:9000 while a browser reaches it at
    http://localhost:9000; a presigned URL covers the host, so it is signed for the public one.
    Signing is local arithmetic: no request goes to that address.
    """

    def __init__(self, public_endpoint_url: str | None = None, **options) -> None:
        super().__init__(**options)
        self._url_signer = None
        if public_endpoint_url and public_endpoint_url != self.endpoint_url:
            self._url_signer = S3Storage(**(options | {"endpoint_url": public_endpoint_url}))

    def url(self, name, parameters=None, expire=None, http_method=None):
        if self._url_signer is None:
            return super().url(name, parameters, expire, http_method)
        return self._url_signer.url(name, parameters, expire, http_method)
