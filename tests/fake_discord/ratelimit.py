"""Discord-shaped rate limits, fault injection and request statistics.

Discord has a global limit per bot (about 50 requests/s, not announced in headers) and
per-route buckets announced with X-RateLimit-* headers on every response. discord.py
waits by itself on the buckets but only learns about the global limit from a 429.
A 429 must carry a `Via` header, or discord.py treats it as a Cloudflare ban.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

RATE_LIMIT_VIA = "1.1 google"

# Default error bodies for fault injection, keyed by JSON error code.
ERROR_MESSAGES: dict[int, str] = {
    0: "General error",
    10003: "Unknown Channel",
    10008: "Unknown Message",
    10013: "Unknown User",
    10015: "Unknown Webhook",
    10062: "Unknown interaction",
    40060: "Interaction has already been acknowledged.",
    50001: "Missing Access",
    50006: "Cannot send an empty message",
    50007: "Cannot send messages to this user",
    50013: "Missing Permissions",
    50035: "Invalid Form Body",
}
DEFAULT_CODE_FOR_STATUS = {403: 50013, 404: 10003}


def error_body(status: int, code: int | None = None, message: str | None = None) -> dict[str, Any]:
    if code is None:
        code = DEFAULT_CODE_FOR_STATUS.get(status, 0)
    if message is None:
        message = ERROR_MESSAGES.get(code) if code else f"{status}: fake error"
    return {"message": message or f"{status}: fake error", "code": code}


def rate_limit_body(retry_after: float, *, is_global: bool) -> dict[str, Any]:
    return {
        "message": "You are being rate limited.",
        "retry_after": round(retry_after, 3),
        "global": is_global,
        "code": 0,
    }


def rate_limit_429_headers(retry_after: float, *, scope: str) -> dict[str, str]:
    return {
        "Via": RATE_LIMIT_VIA,
        "Retry-After": str(max(1, math.ceil(retry_after))),
        "X-RateLimit-Scope": scope,
        **({"X-RateLimit-Global": "true"} if scope == "global" else {}),
    }


class GlobalLimiter:
    """`limit` accepted requests per `per` seconds, over fixed windows (the default, like
    Discord's announced buckets) or a sliding window (stricter on bursts at a boundary)."""

    def __init__(self, limit: int, per: float = 1.0, *, sliding: bool = False) -> None:
        self.limit = limit
        self.per = per
        self.sliding = sliding
        self._times: deque[float] = deque()  # accepted requests in the current window

    def acquire(self, now: float) -> float | None:
        """Count a request; None if allowed, else the seconds to wait."""
        if self.sliding:
            while self._times and now - self._times[0] >= self.per:
                self._times.popleft()
        elif self._times and now - self._times[0] >= self.per:
            self._times.clear()
        if len(self._times) >= self.limit:
            return max(0.001, self._times[0] + self.per - now)
        self._times.append(now)
        return None


@dataclass
class _Window:
    limit: int
    per: float
    started: float
    used: int = 0


class RouteBuckets:
    """Fixed-window buckets, one per (bucket name, major parameter), like Discord's."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], _Window] = {}

    @staticmethod
    def bucket_hash(name: str) -> str:
        return hashlib.sha1(name.encode()).hexdigest()[:16]

    def acquire(
        self, name: str, major: str, limit: int, per: float, now: float
    ) -> tuple[float | None, dict[str, str]]:
        """Count a request: (None or retry_after, X-RateLimit headers for the response)."""
        window = self._window(name, major, limit, per, now)
        retry_after = None
        if window.used >= window.limit:
            retry_after = max(0.001, window.started + window.per - now)
        else:
            window.used += 1
        return retry_after, self._headers(name, window, now)

    def peek(self, name: str, major: str, limit: int, per: float, now: float) -> dict[str, str]:
        """The headers of this bucket without counting a request (for injected responses)."""
        return self._headers(name, self._window(name, major, limit, per, now), now)

    def _window(self, name: str, major: str, limit: int, per: float, now: float) -> _Window:
        window = self._windows.get((name, major))
        if window is None or now >= window.started + window.per:
            window = self._windows[(name, major)] = _Window(limit, per, now)
        return window

    def _headers(self, name: str, window: _Window, now: float) -> dict[str, str]:
        # Round up so a client that sleeps Reset-After never arrives before the reset.
        reset_after = math.ceil((window.started + window.per - now) * 1000) / 1000
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(window.limit - window.used),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": self.bucket_hash(name),
        }


@dataclass
class Fault:
    """A canned error for the next `remaining` requests that match."""

    method: str | None  # None = any method
    pattern: str  # fnmatch pattern over the API path (without /api/v10)
    status: int
    remaining: int
    retry_after: float | None = None
    body: dict[str, Any] | None = None
    is_global: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return fnmatch.fnmatchcase(path, self.pattern)

    def response_parts(self) -> tuple[dict[str, Any], dict[str, str]]:
        if self.status == 429:
            retry = 1.0 if self.retry_after is None else self.retry_after
            body = self.body or rate_limit_body(retry, is_global=self.is_global)
            scope = "global" if self.is_global else "user"
            return body, rate_limit_429_headers(retry, scope=scope)
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        return self.body or error_body(self.status), headers


class FaultInjector:
    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def add(
        self,
        target: str | int,
        status: int,
        count: int = 1,
        *,
        retry_after: float | None = None,
        body: dict[str, Any] | None = None,
        code: int | None = None,
        is_global: bool = False,
    ) -> Fault:
        """`target`: a channel id, a path pattern ("/channels/*/messages"), or
        "METHOD pattern" ("POST /channels/*/messages")."""
        method: str | None = None
        if isinstance(target, int):
            pattern = f"/channels/{target}*"
        elif " " in target:
            method, pattern = target.split(" ", 1)
            method = method.upper()
        else:
            pattern = target
        if body is None and code is not None:
            body = error_body(status, code)
        fault = Fault(method, pattern, status, count, retry_after, body, is_global)
        self.faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.remaining > 0 and fault.matches(method, path):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.faults.remove(fault)
                return fault
        return None


@dataclass
class RequestRecord:
    method: str
    path: str  # API path without the /api/v10 prefix
    time: float  # time.monotonic() when the request arrived
    status: int = 0
    outcome: str = "ok"  # ok | global-429 | bucket-429 | injected | error | unhandled


@dataclass
class Stats:
    requests: list[RequestRecord] = field(default_factory=list)
    by_status: Counter[int] = field(default_factory=Counter)
    global_429: int = 0
    bucket_429: int = 0
    injected: int = 0

    def record(self, rec: RequestRecord) -> None:
        self.requests.append(rec)
        self.by_status[rec.status] += 1
        if rec.outcome == "global-429":
            self.global_429 += 1
        elif rec.outcome == "bucket-429":
            self.bucket_429 += 1
        elif rec.outcome == "injected":
            self.injected += 1

    def count(
        self, method: str | None = None, pattern: str = "*", status: int | None = None
    ) -> int:
        """Requests matching an optional method, path pattern and status."""
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method)
            and fnmatch.fnmatchcase(r.path, pattern)
            and (status is None or r.status == status)
        )

    def summary(self) -> str:
        return json.dumps(
            {"requests": len(self.requests), "by_status": dict(self.by_status),
             "global_429": self.global_429, "bucket_429": self.bucket_429,
             "injected": self.injected}
        )
