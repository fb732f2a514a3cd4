"""Media files (videos, face crops) of local storage, to logged-in users only (a browser's
session, or a script's API token, since the API hands out crop URLs), with HTTP range requests
so that a video player seeks without downloading the whole file.

Pages always link media through `field.url`: with S3 storage that is a short-lived presigned URL
and this view is not used."""

import mimetypes
import re
from pathlib import Path

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_safe
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from faaaaaces.storage import LocalMediaStorage

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK_BYTES = 256 * 1024


def _media_file(path: str) -> Path:
    try:
        full = Path(LocalMediaStorage().path(path))  # refuses ../ and absolute paths
    except (SuspiciousFileOperation, ValueError) as error:
        raise Http404("No such file.") from error
    if not full.is_file():
        raise Http404("No such file.")
    return full


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte asked for by a single-range header; None: not a range we serve."""
    match = RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        return max(0, size - int(last)), size - 1
    return int(first), min(int(last), size - 1) if last else size - 1


def _read(full: Path, first: int, length: int):
    with open(full, "rb") as handle:
        handle.seek(first)
        while length > 0:
            chunk = handle.read(min(CHUNK_BYTES, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def _logged_in(request) -> bool:
    if request.user.is_authenticated:
        return True
    try:
        return TokenAuthentication().authenticate(request) is not None
    except AuthenticationFailed:
        return False


@login_not_required  # checked here, so that an API token is accepted too
@require_safe
def serve_media(request, path: str):
    if not _logged_in(request):
        return redirect_to_login(request.get_full_path())
    full = _media_file(path)
    size = full.stat().st_size
    content_type = mimetypes.guess_type(full.name)[0] or "application/octet-stream"
    wanted = _byte_range(request.headers.get("Range", ""), size)
    if wanted is None:
        # FileResponse closes the file once it is sent.
        response = FileResponse(open(full, "rb"), content_type=content_type)  # noqa: SIM115
    else:
        first, last = wanted
        if first >= size or first > last:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        response = StreamingHttpResponse(
            _read(full, first, last - first + 1), status=206, content_type=content_type
        )
        response["Content-Length"] = str(last - first + 1)
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response
