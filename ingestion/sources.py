"""How video files get in: a byte stream saved under a size cap and checked by content, or a URL
fetched with yt-dlp after its addresses are checked. Plain Python: every limit is an argument.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import filetype
import yt_dlp
from yt_dlp.networking.exceptions import HTTPError, TransportError
from yt_dlp.utils import GeoRestrictedError, UnsupportedError, YoutubeDLError

from ingestion.addresses import (
    IpAddress,
    NonPublicAddress,
    non_public_kind,
    public_addresses_only,
    resolve,
)

CHUNK_BYTES = 1 << 20
SNIFF_BYTES = 8192  # every signature below sits in the first few hundred bytes
DOWNLOAD_SOCKET_TIMEOUT_S = 30
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


# --- What a file is, by content -----------------------------------------------------------------

# ISO base media files (MP4, MOV, 3GP, M4V...) share one header, an "ftyp" box naming brands.
# filetype's MP4 matcher knows only the brands isom/mp41/mp42 (so it misses e.g. avc1 or iso5
# files) and its 3GP matcher looks at the wrong offset, so this family is judged here: any
# brand is taken as video except those of audio files and still images, which share the header.
_NOT_VIDEO_BRANDS = {
    *(b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "),  # audio, audiobooks
    *(b"heic", b"heix", b"heim", b"heis", b"mif1", b"avif", b"crx "),  # HEIF/AVIF/CR3 pictures
    *(b"hevc", b"hevx", b"msf1", b"avis"),  # HEIF/AVIF picture sequences (bursts, animations)
}
# filetype's names for the containers it recognises properly, as this module names them.
_FILETYPE_CONTAINERS = {
    "mkv": "mkv",
    "webm": "webm",
    "avi": "avi",
    "wmv": "asf",  # the ASF header is the same for .wmv, .asf (and .wma audio)
    "flv": "flv",
    "mpg": "mpeg",  # MPEG-1/2 program stream or elementary video stream
}
# Ogg holds audio as often as video: look for a video stream's first header packet.
_OGG_VIDEO_HEADERS = (b"\x80theora", b"\x01video\x00\x00\x00")  # Theora, OGM video


def sniff_video_container(path: Path | str) -> str | None:
    """The container of a video file judged from its first bytes (never its name), or None.

    Names: mp4, mov, 3gp, mkv, webm, avi, asf, flv, mpeg, mpegts, ogg. Whether the container
    really holds a decodable video stream is only known when decoding it.
    """
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head[4:8] == b"ftyp":
        major_brand = head[8:12]
        if major_brand in _NOT_VIDEO_BRANDS:
            return None
        if major_brand == b"qt  ":
            return "mov"
        return "3gp" if major_brand.startswith(b"3g") else "mp4"
    kind = filetype.guess(head)
    if kind is not None and kind.extension in _FILETYPE_CONTAINERS:
        return _FILETYPE_CONTAINERS[kind.extension]
    if _looks_like_mpeg_ts(head):
        return "mpegts"  # filetype has no MPEG-TS matcher (broadcast, HLS segments, cameras)
    if head.startswith(b"OggS") and any(header in head for header in _OGG_VIDEO_HEADERS):
        return "ogg"
    return None


def _looks_like_mpeg_ts(head: bytes) -> bool:
    """A sync byte (0x47) at the start of at least four packets in a row: 188-byte packets, or
    192-byte ones with a 4-byte timestamp first (M2TS, from Blu-ray and AVCHD cameras)."""
    for packet_bytes, first_sync in ((188, 0), (192, 4)):
        sync_positions = range(first_sync, len(head), packet_bytes)[:8]
        if len(sync_positions) >= 4 and all(head[i] == 0x47 for i in sync_positions):
            return True
    return False


# --- A stream saved to disk ---------------------------------------------------------------------


def _size_text(size_bytes: int) -> str:
    """A size as people read it: "2048 MB", "195 KB", "900 bytes"."""
    if size_bytes >= 1024 * 1024:
        return f"{size_bytes / (1024 * 1024):.0f} MB"
    return f"{size_bytes / 1024:.0f} KB" if size_bytes >= 1024 else f"{size_bytes} bytes"


def save_stream(
    chunks_or_fileobj: BinaryIO | Iterable[bytes], dest_path: Path | str, max_bytes: int
) -> StoredFile:
    """Copy a file object (read in chunks) or an iterable of byte chunks to dest_path, hashing
    as it goes. Refuses with SourceError, leaving no file behind, as soon as the data passes
    max_bytes, when it is empty, or when its content is not a video."""
    dest_path = Path(dest_path)
    if hasattr(chunks_or_fileobj, "read"):
        chunks: Iterable[bytes] = iter(lambda: chunks_or_fileobj.read(CHUNK_BYTES), b"")
    else:
        chunks = chunks_or_fileobj
    digest = hashlib.sha256()
    size_bytes = 0
    try:
        with open(dest_path, "wb") as out:
            for chunk in chunks:
                size_bytes += len(chunk)
                if size_bytes > max_bytes:
                    raise SourceError(
                        f"The file is larger than the {_size_text(max_bytes)} allowed; "
                        "send a shorter or more compressed video."
                    )
                digest.update(chunk)
                out.write(chunk)
        if size_bytes == 0:
            raise SourceError("The file is empty (0 bytes); there is no video to ingest.")
        if sniff_video_container(dest_path) is None:
            raise SourceError(_NOT_A_VIDEO)
    except OSError as error:  # upload cut, disk full: the user can only retry or tell an admin
        dest_path.unlink(missing_ok=True)
        raise SourceError(
            f"The file could not be received and saved ({error.strerror or error}); "
            "try again later or tell the administrator."
        ) from error
    except BaseException:  # our refusals, but also an interrupted upload: never keep a part
        dest_path.unlink(missing_ok=True)
        raise
    return StoredFile(dest_path, size_bytes, digest.hexdigest())


_NOT_A_VIDEO = (
    "The file is not a video: its content matches none of the video formats read here "
    "(MP4, MOV, 3GP, MKV, WebM, AVI, WMV, FLV, MPEG, MPEG-TS, Ogg). Check that it is the video "
    "itself and not a page, a picture or a sound file."
)


# --- Which URLs may be fetched ------------------------------------------------------------------


def check_url_allowed(url: str, allow_private_networks: bool) -> None:
    """Refuse what a server should not fetch for a user: schemes other than http and https,
    URLs carrying a user name or password, and (unless allow_private_networks) hosts that
    resolve to an address inside the server's own networks. Raises SourceError, else None.

    Every address the host resolves to must be public, since the download may use any of them.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError as error:
        raise SourceError(f"{url!r} is not a valid web address ({error}).") from error
    if parts.scheme not in ("http", "https"):
        refused = f"not {parts.scheme}: links" if parts.scheme else f"and {url!r} is not one"
        raise SourceError(
            f"Only http:// and https:// links can be downloaded, {refused}; give the link "
            "to the video's web page or to the video file."
        )
    if not parts.hostname:
        raise SourceError(f"{url!r} has no host name; give a full link such as https://…/…")
    # Credentials in a URL would be stored with the job and shown in logs and pages, and
    # "https://trusted.example@other.host/" misleads whoever reads it: ask for a plain link.
    if parts.username is not None or parts.password is not None:
        raise SourceError(
            "Links with a user name or password in them are not accepted; give a link that "
            "works without logging in."
        )
    for address in _resolve(parts.hostname, port or (443 if parts.scheme == "https" else 80)):
        kind = non_public_kind(address)
        if kind and not allow_private_networks:
            where = "is" if parts.hostname == str(address) else f"resolves to {address},"
            raise SourceError(
                f"{parts.hostname} {where} a {kind} address inside this server's network; "
                "such links are refused so that users cannot reach internal services. An "
                "administrator can allow them (ALLOW_PRIVATE_URLS)."
            )


def _resolve(hostname: str, port: int) -> list[IpAddress]:
    try:
        return resolve(hostname, port)
    except (socket.gaierror, UnicodeError) as error:
        raise SourceError(
            f"The host name {hostname!r} could not be found ({error}); check the link."
        ) from error


# --- A URL downloaded with yt-dlp ---------------------------------------------------------------

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
    video). progress(downloaded_bytes, total_bytes or None) is called as bytes arrive.
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
            raise SourceError(f"{url} did not give a video. {_NOT_A_VIDEO}")
        final_path = _free_path(dest_dir, path.name)
        os.replace(path, final_path)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    duration_s = info.get("duration")
    return DownloadedVideo(
        path=final_path,
        title=str(info.get("title") or ""),
        webpage_url=str(info.get("webpage_url") or url),
        size_bytes=size_bytes,
        sha256=_sha256_of_file(final_path),
        duration_s=float(duration_s) if duration_s else None,
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

    def on_progress(status: dict[str, Any]) -> None:
        downloaded_bytes = int(status.get("downloaded_bytes") or 0)
        # max_filesize below trusts the Content-Length header; a server that sends none (or a
        # stream of fragments) is stopped here, as soon as the bytes pass the cap.
        if downloaded_bytes > max_bytes or (status.get("total_bytes") or 0) > max_bytes:
            raise _TooLarge
        if progress is not None:
            total_bytes = status.get("total_bytes") or status.get("total_bytes_estimate")
            progress(downloaded_bytes, int(total_bytes) if total_bytes else None)

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
        raise SourceError(_explain_download_error(url, error)) from error


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


def _too_large(max_bytes: int) -> SourceError:
    return SourceError(
        f"The video is larger than the {_size_text(max_bytes)} allowed; choose a shorter "
        "video or ask an administrator to raise the limit (MAX_DOWNLOAD_MB)."
    )


def _explain_download_error(url: str, error: YoutubeDLError) -> str:
    """A sentence for the user from yt-dlp's error, whose text is meant for its own CLI."""
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
