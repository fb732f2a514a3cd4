"""Getting a video into the catalog: an uploaded stream, a local file or a URL becomes one `Video`
(deduplicated by content hash) stored in the storage backend, and an `IngestJob` to process it.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction

from catalog.models import Video
from ingestion.models import IngestJob
from ingestion.pipeline.progress import ProgressCallback
from ingestion.sources import FileTooLarge
from ingestion.sources.content import sniff_video_container
from ingestion.sources.downloads import download_url
from ingestion.sources.streams import StoredFile, save_stream

CONTAINER_EXTENSIONS = {
    "mp4": ".mp4", "mov": ".mov", "3gp": ".3gp", "avi": ".avi", "mkv": ".mkv", "webm": ".webm",
    "asf": ".wmv", "flv": ".flv", "mpeg": ".mpg", "mpegts": ".ts", "ogg": ".ogv",
}  # fmt: skip


def scratch_dir() -> Path:
    """Where files wait between arriving and being stored (FAAAAACES_TMP_DIR)."""
    folder = Path(settings.TMP_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class _MovableFile(File):
    """A file Django's FileSystemStorage moves into place instead of copying."""

    def temporary_file_path(self) -> str:
        return self.name


def _store_video(
    stored: StoredFile, *, source: str, original_name: str, title: str
) -> tuple[Video, bool]:
    """The Video for this content: the existing one if the same bytes came before."""
    existing = Video.objects.filter(content_sha256=stored.sha256).first()
    if existing:
        Path(stored.path).unlink(missing_ok=True)
        return existing, False
    container = sniff_video_container(stored.path) or "mp4"
    extension = CONTAINER_EXTENSIONS.get(container, Path(original_name).suffix[:8] or ".video")
    video = Video(
        source=source,
        original_name=original_name,
        title=title[:500],
        content_sha256=stored.sha256,
        size_bytes=stored.size_bytes,
    )
    with open(stored.path, "rb") as handle:
        video.file.save(
            f"{stored.sha256[:16]}{extension}", _MovableFile(handle, str(stored.path)), save=False
        )
    try:
        with transaction.atomic():
            video.save()
    except IntegrityError:  # the same bytes arrived through another request meanwhile
        video.file.delete(save=False)
        return Video.objects.get(content_sha256=stored.sha256), False
    Path(stored.path).unlink(missing_ok=True)
    return video, True


def receive_upload(
    stream: BinaryIO, original_name: str, size_bytes: int | None = None
) -> tuple[Video, bool]:
    """Store an uploaded video (size-capped, checked by content); returns (video, is_new).
    A size the sender declared (`size_bytes`) is judged before a byte is copied."""
    max_bytes = settings.MAX_UPLOAD_MB * 1024 * 1024
    if size_bytes is not None and size_bytes > max_bytes:
        raise FileTooLarge.for_file(max_bytes)
    destination = Path(tempfile.mkstemp(dir=scratch_dir(), suffix=".upload")[1])
    try:
        stored = save_stream(stream, destination, max_bytes)
        title = Path(original_name).stem
        return _store_video(
            stored, source=Video.Source.UPLOAD, original_name=original_name, title=title
        )
    finally:
        destination.unlink(missing_ok=True)


def receive_local_file(path: Path) -> tuple[Video, bool]:
    with open(path, "rb") as stream:
        return receive_upload(stream, Path(path).name)


def download_video(url: str, on_progress: ProgressCallback | None = None) -> tuple[Video, bool]:
    """Fetch a URL with yt-dlp (size-capped, private addresses refused unless allowed)."""
    with tempfile.TemporaryDirectory(dir=scratch_dir()) as folder:
        downloaded = download_url(
            url,
            Path(folder),
            max_bytes=settings.MAX_DOWNLOAD_MB * 1024 * 1024,
            allow_private_networks=settings.ALLOW_PRIVATE_URLS,
            progress=on_progress,
        )
        stored = StoredFile(downloaded.path, downloaded.size_bytes, downloaded.sha256)
        return _store_video(
            stored, source=Video.Source.URL, original_name=url, title=downloaded.title or url
        )


def create_job_for_video(video: Video, kind: str) -> IngestJob:
    return IngestJob.objects.create(kind=kind, source=video.original_name, video=video)


def create_url_job(url: str) -> IngestJob:
    return IngestJob.objects.create(kind=IngestJob.Kind.URL, source=url)


@contextlib.contextmanager
def local_video_path(video: Video) -> Iterator[Path]:
    """A path OpenCV can open: the file itself on local storage, a temporary copy from S3."""
    try:
        local_path = Path(video.file.path)
    except NotImplementedError:  # remote storage has no local path
        local_path = None
    if local_path is not None:
        yield local_path
        return
    suffix = Path(video.file.name).suffix
    with tempfile.NamedTemporaryFile(dir=scratch_dir(), suffix=suffix) as copy:
        with video.file.open("rb") as remote:
            shutil.copyfileobj(remote, copy, 1 << 20)
        copy.flush()
        yield Path(copy.name)
