"""API tokens a user makes and revokes themselves: `POST /api/token/` with their user name and
password gives their token (the same one until revoked), `DELETE /api/token/` revokes it.
Failed attempts count towards django-axes' login lockout, as the login page's do."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpResponse, JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apitools import errors, valid_body


def locked_out(request, *args, **kwargs) -> HttpResponse:
    """django-axes' answer to a locked-out login: the API's error body under /api/, a plain
    page elsewhere (the login page, the admin's)."""
    minutes = round(settings.AXES_COOLOFF_TIME * 60)
    message = f"Too many failed logins: try again in {minutes} minutes."
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "throttled", "message": message}}, status=429)
    return HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenView(APIView):
    parser_classes = [JSONParser, FormParser]

    def _logging_in(self) -> bool:
        return getattr(self.request, "method", None) == "POST"

    def get_permissions(self):
        return [AllowAny()] if self._logging_in() else super().get_permissions()

    def get_authenticators(self):
        # Logging in with a password needs neither a session (nor its CSRF token) nor a token.
        return [] if self._logging_in() else super().get_authenticators()

    @extend_schema(request=CredentialsSerializer,
                   responses={200: TokenSerializer, **errors(400, 415, 429)},
                   summary="Your API token, from your user name and password")  # fmt: skip
    def post(self, request):
        credentials = valid_body(CredentialsSerializer, request)
        # Django's own request: django-axes marks a locked-out one there (Django's authenticate
        # turns axes' refusal into "no user").
        user = authenticate(request._request, **credentials)
        if getattr(request._request, "axes_locked_out", False):
            raise Throttled(detail="Too many failed logins: try again later.")
        if user is None:
            raise ValidationError({"password": ["Wrong user name or password."]})
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

    @extend_schema(request=None, responses={204: None, **errors()},
                   summary="Revoke your API token (make a new one with POST)")  # fmt: skip
    def delete(self, request):
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
