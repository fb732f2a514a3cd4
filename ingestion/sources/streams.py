"""A byte stream (an upload, a local file) saved to disk under a size cap, hashed as it goes
and checked by content."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ingestion.sources import FileTooLarge, SourceError
from ingestion.sources.content import NOT_A_VIDEO, sniff_video_container

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class StoredFile:
    path: Path
    size_bytes: int
    sha256: str


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
                    raise FileTooLarge.for_file(max_bytes)
                digest.update(chunk)
                out.write(chunk)
        if size_bytes == 0:
            raise SourceError("The file is empty (0 bytes); there is no video to ingest.")
        if sniff_video_container(dest_path) is None:
            raise SourceError(NOT_A_VIDEO)
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
