"""Refuse feed URLs that point into the bot's own network (SSRF guard).

`check_url` is the policy check run on every URL and redirect hop before it is
requested. `GuardedResolver` applies the same policy inside aiohttp's connector, so
the address actually connected to is one that passed the check (a DNS name that
resolves to a public address at check time and to 127.0.0.1 a moment later — DNS
rebinding — is still refused).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

ALLOW_HINT = "set SECBRIEF_ALLOW_PRIVATE_FEEDS=1 to allow"
ALLOWED_SCHEMES = frozenset({"http", "https"})

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeURLError(ValueError):
    """The URL is refused by policy (scheme, credentials, or a non-public address)."""


class HostResolutionError(OSError):
    """The host name does not resolve (a network problem, not a policy refusal)."""


class RefusedAddressError(OSError):
    """Raised inside aiohttp's connector when a name resolves to a non-public address.

    An OSError so that aiohttp wraps it in ClientConnectorDNSError like any DNS failure;
    the fetcher unwraps it into a clear "refused" message.
    """


def _parse_ip(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(ip.split("%", 1)[0].strip("[]"))
    except ValueError:
        return None


def is_public_address(ip: str) -> bool:
    """True if `ip` is a globally routable unicast address.

    False for loopback, private, link-local, multicast, reserved, unspecified,
    CGNAT (100.64/10), documentation ranges, and IPv6 forms that embed one of those
    (IPv4-mapped, NAT64, 6to4). Unparseable input is not public.
    """
    addr = _parse_ip(ip)
    if addr is None:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = addr.ipv4_mapped or addr.sixtofour
        if embedded is None and addr in _NAT64:
            embedded = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(str(embedded))
    if isinstance(addr, ipaddress.IPv4Address) and addr in _CGNAT:
        return False
    return addr.is_global and not (
        addr.is_loopback
        or addr.is_private
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
    )


def refusal_message(host: str, ip: str) -> str:
    """Human message for a host (name or literal) whose address `ip` is not public."""
    if host.strip("[]") == ip:
        return f"refused: {ip} is a private address ({ALLOW_HINT})"
    return f"refused: {host} resolves to private address {ip} ({ALLOW_HINT})"


def split_checked(url: str) -> tuple[str, int]:
    """Validate the shape of `url` and return (host, port). Raises UnsafeURLError."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeURLError(f"invalid URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = scheme or "none"
        raise UnsafeURLError(f"refused: unsupported scheme {shown!r} (only http and https)")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError("refused: URL contains credentials (user:password@host)")
    host = parts.hostname
    if not host:
        raise UnsafeURLError(f"refused: URL has no host: {url!r}")
    return host, port or (443 if scheme == "https" else 80)


async def resolve_all(host: str, port: int) -> list[str]:
    """All addresses `host` resolves to (every family), via the loop's getaddrinfo."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostResolutionError(f"cannot resolve host {host}: {exc}") from None
    return [str(info[4][0]) for info in infos]


async def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse URLs a feed must not point at. Returns None when the URL is acceptable.

    Always refused: schemes other than http(s), credentials in the URL, no host.
    Unless allow_private: any resolved address that is not public (see
    `is_public_address`) — every address is checked, not just the first.
    Raises UnsafeURLError (policy) or HostResolutionError (DNS failure).
    """
    host, port = split_checked(url)
    if allow_private:
        return
    if _parse_ip(host) is not None:
        addresses = [host]
    else:
        addresses = await resolve_all(host, port)
        if not addresses:
            raise HostResolutionError(f"cannot resolve host {host}: no addresses")
    for ip in addresses:
        if not is_public_address(ip):
            raise UnsafeURLError(refusal_message(host, str(_parse_ip(ip) or ip)))


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that refuses names resolving to non-public addresses.

    aiohttp never consults the resolver for IP literals; those are covered by
    `check_url`, which the fetcher runs on every hop.
    """

    def __init__(self, *, allow_private: bool, inner: AbstractResolver | None = None) -> None:
        self._allow_private = allow_private
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if not self._allow_private:
            for res in results:
                if not is_public_address(res["host"]):
                    raise RefusedAddressError(refusal_message(host.rstrip("."), res["host"]))
        return results

    async def close(self) -> None:
        await self._inner.close()
