"""The client's address: the one rule for login lockouts and address-keyed throttles.

``REMOTE_ADDR`` is the peer of the socket: the client itself, or a reverse proxy. Only when that
peer is one of ``settings.TRUSTED_PROXIES`` (addresses or networks, e.g. ``127.0.0.1,10.0.0.0/8``)
is ``X-Forwarded-For`` read, and then from the right: each trusted proxy appends the address it
received the request from, so the right-most address that is not a trusted proxy is the client.
Whatever a client writes into the header itself stays to the left of that and is never used; with
no trusted proxies (the default) the header is ignored altogether.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _parse(text: str) -> IPAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:5000"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # "::ffff:10.0.0.1" (an IPv4 peer on a dual-stack socket) is 10.0.0.1.
    return address.ipv4_mapped or address if isinstance(address, ipaddress.IPv6Address) else address


def _trusted(address: IPAddress | None, networks: tuple[IPNetwork, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(request: HttpRequest) -> str:
    """The client's IP address as text (``REMOTE_ADDR`` unless a trusted proxy forwarded the request)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _trusted(_parse(remote), networks):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    client = remote
    for hop in reversed([entry for entry in forwarded.split(",") if entry.strip()]):
        address = _parse(hop)
        if address is None:
            break  # a trusted proxy passed on something that is no address: keep the last one it vouched for
        client = str(address)
        if not _trusted(address, networks):
            break
    return client
