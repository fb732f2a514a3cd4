"""A URL downloaded with yt-dlp: a page of a site yt-dlp knows, or a direct link to a video
file; every connection it makes is judged as it is made (`addresses`)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ingestion.pipeline.progress import ProgressCallback
from ingestion.sources import FileTooLarge, SourceError, TransientSourceError, size_text
from ingestion.sources.addresses import NonPublicAddress, public_addresses_only
from ingestion.sources.content import NOT_A_VIDEO, sniff_video_container
from ingestion.sources.url_policy import check_url_allowed

if TYPE_CHECKING:
    from yt_dlp.utils import YoutubeDLError

# yt-dlp is imported where a download runs, not with this module: it costs 0.5-1 s of every
# process's start-up (ingest, the worker, the web server) and most of them never download.

DOWNLOAD_SOCKET_TIMEOUT_S = 30


@dataclass(frozen=True)
class DownloadedVideo:
    path: Path
    title: str
    size_bytes: int
    sha256: str


# The best single file with both video and sound, else the best single file with video (no
# sound is fine: faces are what we want). Never "a+b": joining two streams needs ffmpeg, which
# may be absent. Audio-only sources match neither and are refused before any download.
_YT_DLP_FORMAT = "best[vcodec!=none]/bestvideo*"


class _TooLarge(Exception):
    """Raised from yt-dlp's progress hook to stop a download that passed max_bytes."""


def download_url(
    url: str,
    dest_dir: Path | str,
    *,
    max_bytes: int,
    allow_private_networks: bool,
    progress: ProgressCallback | None = None,
    socket_timeout_s: float = DOWNLOAD_SOCKET_TIMEOUT_S,
) -> DownloadedVideo:
    """Download one video with yt-dlp: a page of a site yt-dlp knows, or a direct link to a
    video file. The file lands in dest_dir (a folder of the caller's; its name comes from the
    video's id); on any refusal or failure nothing is left there.

    A playlist URL gives its first video only (and a video URL that also names a playlist, the
    video). progress(fraction) hears how much of the file has arrived, 0 to 1, where the size is
    known.
    """
    check_url_allowed(url, allow_private_networks)
    dest_dir = Path(dest_dir)
    # A private folder per download: yt-dlp's part files and a failed download are removed
    # with it, and two downloads of the same video id never meet.
    work_dir = Path(tempfile.mkdtemp(prefix=".download-", dir=dest_dir))
    try:
        # Every connection yt-dlp makes (redirects, pages, media) is judged as it is made.
        with public_addresses_only(not allow_private_networks):
            info = _run_yt_dlp(
                url, work_dir, max_bytes, allow_private_networks, progress, socket_timeout_s
            )
        path = _downloaded_file(info, work_dir)
        if path is None:
            # yt-dlp's HTTP downloader gives up without an error only when Content-Length is
            # over max_filesize; its other failures raise DownloadError.
            raise _too_large(max_bytes)
        size_bytes = path.stat().st_size
        if size_bytes > max_bytes:
            raise _too_large(max_bytes)
        if sniff_video_container(path) is None:
            raise SourceError(f"{url} did not give a video. {NOT_A_VIDEO}")
        final_path = _free_path(dest_dir, path.name)
        os.replace(path, final_path)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return DownloadedVideo(
        path=final_path,
        title=str(info.get("title") or ""),
        size_bytes=size_bytes,
        sha256=_sha256_of_file(final_path),
    )


def _run_yt_dlp(
    url: str,
    work_dir: Path,
    max_bytes: int,
    allow_private_networks: bool,
    progress: ProgressCallback | None,
    socket_timeout_s: float,
) -> dict[str, Any]:
    """yt-dlp's info for the downloaded video, after checking the media URLs it will fetch."""
    import yt_dlp
    from yt_dlp.utils import YoutubeDLError

    def on_progress(status: dict[str, Any]) -> None:
        downloaded_bytes = int(status.get("downloaded_bytes") or 0)
        # max_filesize below trusts the Content-Length header; a server that sends none (or a
        # stream of fragments) is stopped here, as soon as the bytes pass the cap.
        if downloaded_bytes > max_bytes or (status.get("total_bytes") or 0) > max_bytes:
            raise _TooLarge
        if progress is not None:
            total_bytes = status.get("total_bytes") or status.get("total_bytes_estimate")
            if total_bytes:
                progress(min(1.0, downloaded_bytes / float(total_bytes)))

    options = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "color": "no_color",
        "logger": _QuietLogger(),
        "noplaylist": True,
        "playlist_items": "1",
        "socket_timeout": socket_timeout_s,
        "retries": 3,
        "fragment_retries": 3,
        "max_filesize": max_bytes,
        "format": _YT_DLP_FORMAT,
        "paths": {"home": str(work_dir), "temp": str(work_dir)},
        "outtmpl": "%(id).80s.%(ext)s",
        "restrictfilenames": True,
        "progress_hooks": [on_progress],
    }
    try:
        with yt_dlp.YoutubeDL(options) as downloader:
            info = downloader.extract_info(url, download=False)
            if info.get("_type") == "playlist":
                entries = [entry for entry in info.get("entries") or [] if entry]
                if not entries:
                    raise SourceError(f"{url} is a playlist with no video in it.")
                info = entries[0]
            # The media may be served from elsewhere: refused here, with a clear message, before
            # any byte is fetched (the connection guard would refuse it too, less readably).
            for media_url in _media_urls(info):
                check_url_allowed(media_url, allow_private_networks)
            known_size_bytes = info.get("filesize") or info.get("filesize_approx")
            if known_size_bytes and known_size_bytes > max_bytes:
                raise _too_large(max_bytes)
            return downloader.process_ie_result(info, download=True)
    except _TooLarge:
        raise _too_large(max_bytes) from None
    except YoutubeDLError as error:
        kind = TransientSourceError if _is_transient(error) else SourceError
        raise kind(_explain_download_error(url, error)) from error


def _media_urls(info: dict[str, Any]) -> list[str]:
    """One URL per host that the chosen format(s) will be fetched from."""
    urls: list[str] = []
    for media in info.get("requested_formats") or [info]:
        urls += [media.get(key) for key in ("url", "manifest_url", "fragment_base_url")]
        urls += [fragment.get("url") for fragment in media.get("fragments") or []]
    by_host = {urlsplit(u).netloc: u for u in urls if isinstance(u, str) and u}
    return list(by_host.values())


def _downloaded_file(info: dict[str, Any], work_dir: Path) -> Path | None:
    candidates = [d.get("filepath") for d in info.get("requested_downloads") or []]
    candidates.append(info.get("filepath"))
    for candidate in candidates:
        # Names come from the remote side: take only a file that really is in our folder.
        path = Path(candidate) if candidate else None
        if path and path.resolve().parent == work_dir.resolve() and path.is_file():
            return path
    return None


def _too_large(max_bytes: int) -> FileTooLarge:
    return FileTooLarge(
        f"The video is larger than the {size_text(max_bytes)} allowed; choose a shorter "
        "video or ask an administrator to raise the limit (MAX_DOWNLOAD_MB)."
    )


def _is_transient(error: YoutubeDLError) -> bool:
    """A failure that may pass by itself: the server busy or limiting (429, 5xx), or the
    connection timed out or was cut. A refused address or a missing page is not."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError

    causes = list(_causes(error))
    http_error = next((c for c in causes if isinstance(c, HTTPError)), None)
    if http_error is not None:
        return http_error.status == 429 or http_error.status >= 500
    if any(isinstance(c, NonPublicAddress) for c in causes):
        return False
    return any(isinstance(c, TransportError) for c in causes)


def _explain_download_error(url: str, error: YoutubeDLError) -> str:
    """A sentence for the user from yt-dlp's error, whose text is meant for its own CLI."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError
    from yt_dlp.utils import GeoRestrictedError, UnsupportedError

    causes = list(_causes(error))
    http_error = next((c for c in causes if isinstance(c, HTTPError)), None)
    if http_error is not None:
        status = http_error.status
        if status in (404, 410):
            return f"Nothing was found at {url} (HTTP {status}); check the link."
        if status in (401, 403):
            return (
                f"The server refused access to {url} (HTTP {status}); the video may be private, "
                "need a login, or be blocked for this server."
            )
        if status == 429:
            return f"The site is limiting requests (HTTP 429); try {url} again later."
        return f"The server answered HTTP {status} for {url}; try again later."
    if any(isinstance(c, UnsupportedError) for c in causes):
        return (
            f"No video was found at {url}: it is neither a page of a site the downloader knows "
            "nor a direct link to a video file."
        )
    if any(isinstance(c, GeoRestrictedError) for c in causes):
        return f"{url} is not available in this server's country."
    refused = next((c for c in causes if isinstance(c, NonPublicAddress)), None)
    if refused is not None:
        return (
            f"{url} led the download to {refused}; it was stopped so that users cannot reach "
            "internal services. An administrator can allow such links (ALLOW_PRIVATE_URLS)."
        )
    if any(isinstance(c, TransportError) for c in causes):
        # The innermost error reads best ("[Errno 111] Connection refused").
        return f"{url} could not be reached ({_first_line(causes[-1])}); check it or retry."
    reason = _first_line(error)
    if "requested format is not available" in reason.lower():
        return f"{url} has no video to download (sound only?)."
    return f"{url} could not be downloaded: {reason}"


def _causes(error: BaseException) -> list[BaseException]:
    """The error and those it wraps: yt-dlp keeps the original in exc_info, then in cause."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and not any(current is seen for seen in chain):
        chain.append(current)
        wrapped = (getattr(current, "exc_info", None) or (None, None))[1]
        current = wrapped or getattr(current, "cause", None) or current.__cause__
    return chain


def _first_line(error: BaseException) -> str:
    text = str(error).replace("ERROR: ", "").strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


def _free_path(folder: Path, name: str) -> Path:
    """folder/name, or folder/name-1... when a file of that name is already there."""
    candidate, number = folder / name, 0
    while candidate.exists():
        number += 1
        candidate = folder / f"{Path(name).stem}-{number}{Path(name).suffix}"
    return candidate


def _sha256_of_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class _QuietLogger:
    """yt-dlp writes to stderr by default; its errors reach the user through SourceError."""

    def debug(self, message: str) -> None:
        pass

    info = warning = error = debug
