"""Two rules every page follows: nobody sees anything without logging in, and a service's error
(a refused merge, an unreadable photo...) reaches the user as a message, mapped here once."""

from django.contrib import messages
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import HttpResponseRedirect, JsonResponse
from django.utils.http import url_has_allowed_host_and_scheme

from faaaaaces.api import DOMAIN_ERRORS

# The API answers 401/403 in its own error format, and the admin has its own login page.
SELF_GUARDED_PREFIXES = ("/api/", "/admin/")


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Django's: anonymous visitors go to the login page, media files included."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(SELF_GUARDED_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


class ServiceErrorMiddleware:
    """A service's own error on a page: JSON `{"error": ...}` for the page's scripts, otherwise a
    message shown on the page the user came from."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        known = next((e for e in DOMAIN_ERRORS if isinstance(exception, e[0])), None)
        if known is None:
            return None
        _, status, code = known
        if wants_json(request):
            body = {"error": {"code": code, "message": str(exception)}}
            return JsonResponse(body, status=status)
        messages.error(request, str(exception))
        back = request.headers.get("Referer", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
            back = request.path
        return HttpResponseRedirect(back)
