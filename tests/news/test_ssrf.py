import socket

import aiohttp
import pytest

from bot.news.ssrf import (
    GuardedResolver,
    RefusedAddressError,
    UnsafeURLError,
    check_url,
    is_public_address,
)


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # CGNAT
        "100.127.255.254",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.10",
        "::1",
        "::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2001:db8::1",
        "not an ip",
        "",
    ],
)
def test_non_public_addresses(ip: str) -> None:
    assert not is_public_address(ip)


@pytest.mark.parametrize(
    "ip", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8",
           "100.128.0.1"]
)
def test_public_addresses(ip: str) -> None:
    assert is_public_address(ip)


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("ftp://example.com/feed", "unsupported scheme 'ftp'"),
        ("file:///etc/passwd", "unsupported scheme 'file'"),
        ("javascript:alert(1)", "unsupported scheme"),
        ("example.com/feed", "unsupported scheme"),
        ("http://user:pw@example.com/feed", "credentials"),
        ("http://user@example.com/feed", "credentials"),
        ("http:///feed", "no host"),
        ("http://example.com:99999/", "invalid URL"),
    ],
)
async def test_shape_refused_even_when_private_allowed(url: str, needle: str) -> None:
    with pytest.raises(UnsafeURLError, match=needle):
        await check_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed",
        "https://[::1]:8443/feed",
        "http://[::ffff:127.0.0.1]/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.1.1/",
        "http://localhost:8080/feed",  # a name resolving to loopback
        "http://2130706433/",  # 127.0.0.1 as a bare integer, resolved by getaddrinfo
    ],
)
async def test_private_targets_refused_with_hint(url: str) -> None:
    with pytest.raises(UnsafeURLError) as info:
        await check_url(url, allow_private=False)
    msg = str(info.value)
    assert msg.startswith("refused:")
    assert "SECBRIEF_ALLOW_PRIVATE_FEEDS=1" in msg


async def test_localhost_message_names_host_and_address() -> None:
    with pytest.raises(UnsafeURLError, match=r"localhost resolves to private address (127|::1)"):
        await check_url("http://localhost/feed", allow_private=False)


async def test_private_allowed_when_configured() -> None:
    assert await check_url("http://127.0.0.1:8080/feed", allow_private=True) is None
    assert await check_url("http://localhost/feed", allow_private=True) is None


async def test_public_literal_allowed_without_dns() -> None:
    assert await check_url("https://8.8.8.8/feed.xml", allow_private=False) is None


async def test_every_resolved_address_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    # A name with one public and one private record must be refused.
    import asyncio

    loop = asyncio.get_running_loop()

    async def fake_getaddrinfo(host, port, **kw):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(loop, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(UnsafeURLError, match=r"10\.0\.0\.7"):
        await check_url("http://mixed.example/feed", allow_private=False)


async def test_guarded_resolver_refuses_names_resolving_private() -> None:
    resolver = GuardedResolver(allow_private=False)
    try:
        with pytest.raises(RefusedAddressError, match="localhost resolves to private"):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()
    open_resolver = GuardedResolver(allow_private=True)
    try:
        results = await open_resolver.resolve("localhost", 80)
        assert results and all(r["port"] == 80 for r in results)
    finally:
        await open_resolver.close()


async def test_guarded_resolver_blocks_connection_in_aiohttp() -> None:
    # The connector-level guard: even if a caller skipped check_url, aiohttp itself
    # cannot connect to a name that resolves to loopback (DNS rebinding defence).
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(allow_private=False))
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(aiohttp.ClientConnectorDNSError) as info:
            await session.get("http://localhost:9/")
    assert isinstance(info.value.os_error, RefusedAddressError)


async def test_default_feeds_are_well_formed() -> None:
    from pathlib import Path

    import bot.news

    path = Path(bot.news.__file__).parent / "default_feeds.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    urls = [(i, ln.strip()) for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#")]
    assert len(urls) >= 14
    assert len({u for _, u in urls}) == len(urls)
    for i, url in urls:
        assert url.startswith("https://"), url
        assert lines[i - 1].startswith("# "), f"no source name above {url}"
        await check_url(url, allow_private=True)  # shape only: no DNS in tests
