"""Which network addresses the server may fetch from for a user: public ones only, unless an
administrator allows private networks (ALLOW_PRIVATE_URLS).

Checking the link a user gives (sources.check_url_allowed) is not enough on its own: the server
there may redirect elsewhere, a page may point the downloader at other hosts, and a host may
resolve to another address when the downloader connects than when it was checked (DNS
rebinding). So while a download runs, every host name its thread resolves is judged again, in the
very lookup the connection then uses: `socket.getaddrinfo` is wrapped once per process and
refuses non-public answers in threads inside `public_addresses_only()`; other threads are left
alone. yt-dlp (with urllib or requests) resolves every connection through it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
# Proxies an administrator configured are reached wherever they are (yt-dlp honours these).
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


class NonPublicAddress(OSError):
    """A connection the guard refused: the host resolved to an address inside the network."""


def non_public_kind(address: IpAddress) -> str | None:
    """Why an address is not on the public internet ("loopback", "private"...), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address and reach it: judge the IPv4 address.
        if address.ipv4_mapped:
            address = address.ipv4_mapped
        elif address.sixtofour:
            address = address.sixtofour
        elif address in _NAT64_PREFIX:
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("site-local", getattr(address, "is_site_local", False)),
        # What remains, e.g. 100.64.0.0/10 (carrier-grade NAT), shared but not global.
        ("non-public", not address.is_global),
    )
    return next((kind for kind, applies in checks if applies), None)


_guard = threading.local()
_install_lock = threading.Lock()
_unguarded_getaddrinfo = socket.getaddrinfo


def resolve(hostname: str, port: int) -> list[IpAddress]:
    """Every address of a host, for the caller to judge (not refused by the guard). Raises
    socket.gaierror when the name is unknown."""
    answers = _unguarded_getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    return [address_of(answer) for answer in answers]


def address_of(answer: tuple) -> IpAddress:
    """The address of one getaddrinfo answer (an IPv6 zone such as "%eth0" dropped)."""
    return ipaddress.ip_address(str(answer[4][0]).split("%")[0])


def _guarded_getaddrinfo(host, port, *args, **kwargs):
    answers = _unguarded_getaddrinfo(host, port, *args, **kwargs)
    if getattr(_guard, "depth", 0) and str(host).lower() not in _proxy_hosts():
        for answer in answers:
            address = address_of(answer)
            kind = non_public_kind(address)
            if kind:
                named = host if str(host) == str(address) else f"{host} ({address})"
                raise NonPublicAddress(f"{named}, a {kind} address inside this server's network")
    return answers


def _proxy_hosts() -> set[str]:
    hosts = set()
    for name in _PROXY_VARIABLES:
        for value in (os.environ.get(name), os.environ.get(name.upper())):
            if value:
                hostname = urlsplit(value if "://" in value else f"http://{value}").hostname
                if hostname:
                    hosts.add(hostname.lower())
    return hosts


@contextmanager
def public_addresses_only(enabled: bool = True) -> Iterator[None]:
    """Within this block, this thread's host lookups fail (NonPublicAddress, an OSError) for a
    host with any non-public address. `enabled=False` makes it a no-op."""
    if not enabled:
        yield
        return
    with _install_lock:
        if socket.getaddrinfo is not _guarded_getaddrinfo:
            socket.getaddrinfo = _guarded_getaddrinfo
    _guard.depth = getattr(_guard, "depth", 0) + 1
    try:
        yield
    finally:
        _guard.depth -= 1
