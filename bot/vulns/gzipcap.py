"""Decompress a gzip body incrementally, refusing it past a size cap (a gzip bomb
stops after at most ``max_bytes`` of output, never inflated whole)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from bot.vulns import VulnFormatError

GZIP_MAGIC = b"\x1f\x8b"
_IN = 64 * 1024
_OUT = 256 * 1024


def is_gzip(body: bytes) -> bool:
    return body[:2] == GZIP_MAGIC


def gunzip_pieces(body: bytes, max_bytes: int, *, what: str) -> Iterator[bytes]:
    """Decompressed pieces of a gzip body, never more than ``max_bytes`` in all."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    total, pos = 0, 0
    while not inflater.eof:
        if inflater.unconsumed_tail:
            piece = inflater.unconsumed_tail
        elif pos < len(body):
            piece, pos = body[pos:pos + _IN], pos + _IN
        else:
            raise VulnFormatError(f"truncated gzip: the {what} ends early")
        try:
            out = inflater.decompress(piece, _OUT)
        except zlib.error as exc:
            raise VulnFormatError(f"broken gzip in the {what} ({exc})") from None
        total += len(out)
        if total > max_bytes:
            raise VulnFormatError(f"{what} larger than {max_bytes} bytes once decompressed")
        if out:
            yield out


def pieces(body: bytes, max_bytes: int, *, what: str) -> Iterator[bytes]:
    """The body in pieces: decompressed when it is gzip, as it is otherwise."""
    if is_gzip(body):
        yield from gunzip_pieces(body, max_bytes, what=what)
        return
    if len(body) > max_bytes:
        raise VulnFormatError(f"{what} larger than {max_bytes} bytes")
    for start in range(0, len(body), _OUT):
        yield body[start:start + _OUT]


def decompressed(body: bytes, max_bytes: int, *, what: str) -> bytes:
    """The whole body, decompressed when it is gzip (for the small KEV / NVD bodies)."""
    if not is_gzip(body):
        return body
    return b"".join(gunzip_pieces(body, max_bytes, what=what))
