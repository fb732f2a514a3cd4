"""How the API answers errors and documents them: every error, whether DRF's or a service's own,
as one body `{"error": {"code", "message", "fields"?}}` (the shapes are in `apitools.py`).

A service raises its own exception; the table below says once what HTTP makes of each kind, so
no view needs a try/except of its own and nothing matches an error's text.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

from apitools import ErrorSerializer, error_response
from catalog.services.curation import CurationError, NameTaken
from catalog.services.curation_log import UndoRefused
from catalog.services.videos import VideoBusy
from ingestion.services.jobs import JobNotAllowed
from ingestion.sources import FileTooLarge, SourceError, UrlRefused
from search.services.photo_search import NoSuchFace, PhotoError, PhotoTooLarge

# (kind of error, status, code): the first kind the error is an instance of answers.
DOMAIN_ERRORS: list[tuple[type[Exception], int, str]] = [
    (VideoBusy, status.HTTP_409_CONFLICT, "busy"),
    (JobNotAllowed, status.HTTP_409_CONFLICT, "not_now"),
    (NameTaken, status.HTTP_409_CONFLICT, "name_taken"),
    (CurationError, status.HTTP_400_BAD_REQUEST, "not_allowed"),
    (UndoRefused, status.HTTP_409_CONFLICT, "cannot_undo"),
    (NoSuchFace, status.HTTP_404_NOT_FOUND, "not_found"),
    (PhotoTooLarge, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "too_large"),
    (PhotoError, status.HTTP_400_BAD_REQUEST, "unusable_photo"),
    (FileTooLarge, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "too_large"),
    (UrlRefused, status.HTTP_400_BAD_REQUEST, "url_refused"),
    (SourceError, status.HTTP_400_BAD_REQUEST, "not_a_video"),
]


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(key): [str(v) for v in (value if isinstance(value, list) else [value])]
            for key, value in detail.items()
        }
    return {
        "non_field_errors": [str(v) for v in (detail if isinstance(detail, list) else [detail])]
    }


def error_handler(error, context):
    """Every error as {"error": {"code", "message", "fields"?}}, whatever raised it."""
    for kind, status_code, code in DOMAIN_ERRORS:
        if isinstance(error, kind):
            return error_response(status_code, code, str(error))
    if isinstance(error, Http404):
        error = exceptions.NotFound()
    elif isinstance(error, PermissionDenied):
        error = exceptions.PermissionDenied()
    response = exception_handler(error, context)
    if response is None:
        return None
    if isinstance(error, exceptions.ValidationError):
        fields = _flatten(error.detail)
        first = next(iter(fields.values()))[0]
        return error_response(response.status_code, "invalid", first, fields)
    codes = error.get_codes() if hasattr(error, "get_codes") else "error"
    code = codes if isinstance(codes, str) else "error"
    response.data = {"error": {"code": code, "message": str(getattr(error, "detail", error))}}
    return response


class ErrorDocumentingAutoSchema(AutoSchema):
    """Documents the errors every endpoint can give, besides what each view declares: 401/403
    everywhere, 404 on paths with an id and for a page past the end of a list, 400 and 415
    where a body or filters are read."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = {status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN}
        if "{" in self.path:
            codes.add(status.HTTP_404_NOT_FOUND)
        if self.method in ("POST", "PUT", "PATCH"):
            codes |= {status.HTTP_400_BAD_REQUEST, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE}
        elif self._is_list_view():
            codes |= {status.HTTP_400_BAD_REQUEST, status.HTTP_404_NOT_FOUND}
        for code in sorted(codes):
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    ErrorSerializer, str(code), direction=direction
                )
        return responses
