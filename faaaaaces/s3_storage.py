"""The catalog's S3 storage through django-storages, private, with short-lived presigned URLs
signed for the address browsers reach the bucket at. Named faaaaaces.storage.CatalogS3Storage in
settings; kept apart so that a catalog on local disk never imports boto3."""

from __future__ import annotations

from storages.backends.s3 import S3Storage


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
