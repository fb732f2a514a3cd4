"""What a file is, judged by its content (never its name)."""

from __future__ import annotations

from pathlib import Path

import filetype

SNIFF_BYTES = 8192  # every signature below sits in the first few hundred bytes

NOT_A_VIDEO = (
    "The file is not a video: its content matches none of the video formats read here "
    "(MP4, MOV, 3GP, MKV, WebM, AVI, WMV, FLV, MPEG, MPEG-TS, Ogg). Check that it is the video "
    "itself and not a page, a picture or a sound file."
)


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
