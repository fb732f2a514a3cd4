"""What every API endpoint shares: one error body, and the URL of every endpoint."""

import django_filters
from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

# Database ids are 64-bit: a larger number is no id, and SQLite would overflow on it.
MAX_ID = 2**63 - 1
ID_PATTERN = r"[0-9]{1,18}"


def id_filter(field_name: str, **kwargs) -> django_filters.NumberFilter:
    # Bounded: a number past 64 bits is no id (and would overflow SQLite).
    return django_filters.NumberFilter(
        field_name=field_name, min_value=0, max_value=MAX_ID, **kwargs
    )


class IdConverter:
    """Path ids: digits only, short enough to be a database id (otherwise: 404)."""

    regex = ID_PATTERN

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="machine-readable reason, e.g. not_found, invalid")
    message = serializers.CharField(help_text="what went wrong, for a person")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="per-field problems of an invalid request",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


def error_response(status_code: int, code: str, message: str, fields=None) -> Response:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return Response({"error": body}, status=status_code)


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


def errors(*status_codes: int) -> dict:
    """Schema entries for the error responses an endpoint can give."""
    described = {
        status.HTTP_400_BAD_REQUEST: "The request is invalid.",
        status.HTTP_401_UNAUTHORIZED: "Not logged in: send a token or a session cookie.",
        status.HTTP_403_FORBIDDEN: "Not allowed.",
        status.HTTP_404_NOT_FOUND: "No such object.",
        status.HTTP_409_CONFLICT: "Not now: the object is busy (a job is processing it).",
        status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "The file is larger than allowed.",
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "The body is not of a supported type.",
    }
    codes = {status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN, *status_codes}
    return {c: OpenApiResponse(ErrorSerializer, description=described[c]) for c in sorted(codes)}


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
