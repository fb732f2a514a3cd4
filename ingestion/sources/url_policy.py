"""Which URLs the server may fetch for a user."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from ingestion.sources import UrlRefused
from ingestion.sources.addresses import IpAddress, non_public_kind, resolve


def check_url_allowed(url: str, allow_private_networks: bool) -> None:
    """Refuse what a server should not fetch for a user: schemes other than http and https,
    URLs carrying a user name or password, and (unless allow_private_networks) hosts that
    resolve to an address inside the server's own networks. Raises UrlRefused, else None.

    Every address the host resolves to must be public, since the download may use any of them.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError as error:
        raise UrlRefused(f"{url!r} is not a valid web address ({error}).") from error
    if parts.scheme not in ("http", "https"):
        refused = f"not {parts.scheme}: links" if parts.scheme else f"and {url!r} is not one"
        raise UrlRefused(
            f"Only http:// and https:// links can be downloaded, {refused}; give the link "
            "to the video's web page or to the video file."
        )
    if not parts.hostname:
        raise UrlRefused(f"{url!r} has no host name; give a full link such as https://…/…")
    # Credentials in a URL would be stored with the job and shown in logs and pages, and
    # "https://trusted.example@other.host/" misleads whoever reads it: ask for a plain link.
    if parts.username is not None or parts.password is not None:
        raise UrlRefused(
            "Links with a user name or password in them are not accepted; give a link that "
            "works without logging in."
        )
    for address in _resolve(parts.hostname, port or (443 if parts.scheme == "https" else 80)):
        kind = non_public_kind(address)
        if kind and not allow_private_networks:
            where = "is" if parts.hostname == str(address) else f"resolves to {address},"
            raise UrlRefused(
                f"{parts.hostname} {where} a {kind} address inside this server's network; "
                "such links are refused so that users cannot reach internal services. An "
                "administrator can allow them (ALLOW_PRIVATE_URLS)."
            )


def _resolve(hostname: str, port: int) -> list[IpAddress]:
    try:
        return resolve(hostname, port)
    except (socket.gaierror, UnicodeError) as error:
        raise UrlRefused(
            f"The host name {hostname!r} could not be found ({error}); check the link."
        ) from error
