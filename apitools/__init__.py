"""What every app's API shares: path ids and id filters that fit the database, the one error
body and how an endpoint documents its errors. Imports no app, so every app's API may use it;
turning errors into that body is the project's (`faaaaaces/api.py`).
"""

import django_filters
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.response import Response

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
        status.HTTP_429_TOO_MANY_REQUESTS: "Too many requests: wait as Retry-After says.",
    }
    codes = {status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN, *status_codes}
    return {c: OpenApiResponse(ErrorSerializer, description=described[c]) for c in sorted(codes)}


def valid_body(serializer_class, request) -> dict:
    """The request's body checked by a serializer (a ValidationError becomes a 400)."""
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data
