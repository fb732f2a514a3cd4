"""Schemathesis against our own OpenAPI schema: generated requests to every endpoint never give
a server error, and every response matches what the schema says (status, type, body)."""

import socket

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]  # fmt: skip


@pytest.fixture
def no_dns(monkeypatch):
    """Generated URLs must not reach any resolver or host: every name resolves to a
    documentation-only address, which the URL check refuses like any private one."""

    def resolve(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.7", port or 443))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@schema.parametrize()
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much])  # fmt: skip
def test_every_endpoint_answers_as_its_schema_says(case, api_client, no_dns):
    token = api_client._credentials["HTTP_AUTHORIZATION"]
    case.call_and_validate(headers={"Authorization": token}, checks=CHECKS)
