"""How video files get in: a byte stream saved under a size cap and checked by content
(`streams`, `content`), or a URL fetched with yt-dlp (`downloads`) after its addresses are
checked (`url_policy`, `addresses`). Plain Python: every limit is an argument.

Every refusal is a `SourceError` whose message is meant for the user.
"""

from __future__ import annotations


class SourceError(Exception):
    """A source we refuse or cannot read; the message is meant for the user."""


class FileTooLarge(SourceError):
    """The file or download is larger than allowed."""

    @classmethod
    def for_file(cls, max_bytes: int) -> FileTooLarge:
        return cls(
            f"The file is larger than the {size_text(max_bytes)} allowed; "
            "send a shorter or more compressed video."
        )


class TransientSourceError(SourceError):
    """A download that failed for now (a timeout, a busy server): worth trying again later."""


class UrlRefused(SourceError):
    """A link the server will not fetch: not http(s), credentials in it, or an address inside
    the server's own networks."""


def size_text(size_bytes: int) -> str:
    """A size as people read it: "2048 MB", "195 KB", "900 bytes"."""
    if size_bytes >= 1024 * 1024:
        return f"{size_bytes / (1024 * 1024):.0f} MB"
    return f"{size_bytes / 1024:.0f} KB" if size_bytes >= 1024 else f"{size_bytes} bytes"
