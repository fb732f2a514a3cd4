"""How video files get in: a byte stream saved under a size cap and checked by content, or a URL
fetched with yt-dlp after its addresses are checked. Plain Python: every limit is an argument.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import filetype

CHUNK_BYTES = 1 << 20
ProgressCallback = Callable[[int, int | None], None]  # downloaded bytes, total bytes if known


class SourceError(Exception):
    """A source we refuse or cannot read; the message is meant for the user."""


@dataclass(frozen=True)
class StoredFile:
    path: Path
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class DownloadedVideo:
    path: Path
    title: str
    webpage_url: str
    size_bytes: int
    sha256: str
    duration_s: float | None


def sniff_video_container(path: Path) -> str | None:
    """The container format judged from the file's first bytes (never its name), or None."""
    kind = filetype.guess(str(path))
    if kind is None or not kind.mime.startswith("video/"):
        return None
    return {"m4v": "mp4", "3gp": "mp4", "mpg": "mpeg", "wmv": "asf"}.get(
        kind.extension, kind.extension
    )


def _megabytes(size_bytes: int) -> str:
    return f"{size_bytes / (1024 * 1024):.0f} MB"


def save_stream(source: BinaryIO | Iterable[bytes], dest_path: Path, max_bytes: int) -> StoredFile:
    """Copy a stream to dest_path, hashing as it goes; refuse (and remove) over max_bytes or when
    the content is not a video."""
    dest_path = Path(dest_path)
    chunks = iter(lambda: source.read(CHUNK_BYTES), b"") if hasattr(source, "read") else source
    digest = hashlib.sha256()
    size_bytes = 0
    try:
        with open(dest_path, "wb") as out:
            for chunk in chunks:
                size_bytes += len(chunk)
                if size_bytes > max_bytes:
                    raise SourceError(
                        f"The file is larger than the {_megabytes(max_bytes)} allowed "
                        "(MAX_UPLOAD_MB)."
                    )
                digest.update(chunk)
                out.write(chunk)
        if size_bytes == 0:
            raise SourceError("The file is empty.")
        if sniff_video_container(dest_path) is None:
            raise SourceError(
                "The file is not a video (its content matches no known video container)."
            )
    except BaseException:
        dest_path.unlink(missing_ok=True)
        raise
    return StoredFile(dest_path, size_bytes, digest.hexdigest())


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def check_url_allowed(url: str, allow_private_networks: bool) -> None:
    """Refuse what a server should not fetch for a user: other schemes, and addresses inside
    the server's own network (loopback, private, link-local...) unless explicitly allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise SourceError(f"Only http and https URLs can be ingested, not {parts.scheme or url!r}.")
    if not parts.hostname:
        raise SourceError(f"{url!r} has no host name.")
    # Credentials in a URL end up in logs and job records; ask for a plain link instead.
    if parts.username or parts.password:
        raise SourceError("URLs with a user name or password in them are not accepted.")
    try:
        port = parts.port
        infos = socket.getaddrinfo(parts.hostname, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, ValueError) as error:
        raise SourceError(f"The host of {url} could not be resolved ({error}).") from error
    if allow_private_networks:
        return
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not _is_public(address):
            raise SourceError(
                f"{parts.hostname} resolves to {address}, an address inside this network; such "
                "URLs are refused (set ALLOW_PRIVATE_URLS=1 to allow them)."
            )


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_url(
    url: str,
    dest_dir: Path,
    *,
    max_bytes: int,
    allow_private_networks: bool,
    progress: ProgressCallback | None = None,
) -> DownloadedVideo:
    """Download one video with yt-dlp (a page yt-dlp knows, or a direct link to a file).

    A playlist URL gives its first video only. The page URL and the media URL yt-dlp chooses
    are both checked; redirects followed during the download are not (see the SSRF issue).
    """
    import yt_dlp

    check_url_allowed(url, allow_private_networks)
    dest_dir = Path(dest_dir)

    def hook(status: dict) -> None:
        if progress and status.get("status") in ("downloading", "finished"):
            total = status.get("total_bytes") or status.get("total_bytes_estimate")
            progress(int(status.get("downloaded_bytes") or 0), int(total) if total else None)

    options = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "no_color": True,
        "noplaylist": True,
        "playlist_items": "1",
        "socket_timeout": 30,
        "max_filesize": max_bytes,
        "restrictfilenames": True,
        "outtmpl": str(dest_dir / "%(id)s.%(ext)s"),
        "paths": {"home": str(dest_dir), "temp": str(dest_dir)},
        # One progressive file with video: no ffmpeg merge step, which may be absent.
        "format": "best[vcodec!=none]/best",
        "progress_hooks": [hook],
        "logger": _SilentLogger(),
    }
    try:
        with yt_dlp.YoutubeDL(options) as downloader:
            info = downloader.extract_info(url, download=False)
            if info.get("_type") == "playlist":
                entries = [e for e in info.get("entries") or [] if e]
                if not entries:
                    raise SourceError(f"{url} is a playlist with no video in it.")
                info = entries[0]
            for media_url in _media_urls(info):
                check_url_allowed(media_url, allow_private_networks)
            size = info.get("filesize") or info.get("filesize_approx")
            if size and size > max_bytes:
                raise _too_large(max_bytes)
            info = downloader.process_ie_result(info, download=True)
    except yt_dlp.utils.DownloadError as error:
        raise SourceError(f"{url} could not be downloaded: {_short_reason(error)}") from error
    path = _downloaded_path(info, dest_dir)
    if path is None:
        # yt-dlp skips (rather than fails on) a file over max_filesize.
        raise _too_large(max_bytes)
    size_bytes = path.stat().st_size
    if size_bytes > max_bytes:
        path.unlink(missing_ok=True)
        raise _too_large(max_bytes)
    if sniff_video_container(path) is None:
        path.unlink(missing_ok=True)
        raise SourceError(f"{url} did not give a video (its content matches no video container).")
    return DownloadedVideo(
        path=path,
        title=str(info.get("title") or ""),
        webpage_url=str(info.get("webpage_url") or url),
        size_bytes=size_bytes,
        sha256=sha256_of_file(path),
        duration_s=float(info["duration"]) if info.get("duration") else None,
    )


def _too_large(max_bytes: int) -> SourceError:
    return SourceError(
        f"The video is larger than the {_megabytes(max_bytes)} allowed (MAX_DOWNLOAD_MB)."
    )


def _media_urls(info: dict) -> list[str]:
    requested = info.get("requested_formats") or [info]
    return [f["url"] for f in requested if f.get("url")]


def _downloaded_path(info: dict, dest_dir: Path) -> Path | None:
    candidates = [d.get("filepath") for d in info.get("requested_downloads") or []]
    candidates.append(info.get("filepath"))
    for candidate in candidates:
        if candidate and os.path.isfile(candidate):
            return Path(candidate)
    return None


def _short_reason(error: Exception) -> str:
    text = str(error).replace("ERROR: ", "").strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


class _SilentLogger:
    """yt-dlp writes to stderr by default; errors reach the user through SourceError instead."""

    def debug(self, message: str) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        pass

    def error(self, message: str) -> None:
        pass
