"""Holding requests: let the first N matching requests through, then keep the rest
waiting (unanswered, unhandled) until the test releases them. A test can then act at an
observed point — e.g. kill the bot while it has a message in flight — instead of at a
guessed moment."""

from __future__ import annotations

import asyncio
import fnmatch
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Hold:
    method: str | None  # None = any method
    pattern: str  # fnmatch pattern over the API path (without /api/v10)
    after: int  # requests let through before holding starts
    passed: int = 0
    waiting: int = 0  # requests held right now
    held_total: int = 0  # requests ever held
    answered: int = 0  # held requests answered since their release (handled or refused)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return fnmatch.fnmatchcase(path, self.pattern)

    def release(self) -> None:
        """Let every held request (and every later one) go on to be handled."""
        self.released.set()


class Holds:
    def __init__(self) -> None:
        self.holds: list[Hold] = []

    def add(self, target: str, after: int) -> Hold:
        """`target`: a path pattern ("/channels/*/messages") or "METHOD pattern"."""
        method, _, pattern = target.rpartition(" ")
        hold = Hold(method.upper() or None, pattern, after)
        self.holds.append(hold)
        return hold

    async def wait(self, request: web.Request, method: str, path: str) -> Hold | None:
        """Return None at once, or the hold that kept this request once it is released
        (the caller counts the answer in ``hold.answered``).

        A held JSON body is read first, as Discord has a request once it is sent: it is
        handled on release even if its client has died meanwhile (a multipart body
        cannot be kept that way)."""
        for hold in self.holds:
            if hold.released.is_set() or not hold.matches(method, path):
                continue
            if hold.passed < hold.after:
                hold.passed += 1
                continue
            if not request.content_type.startswith("multipart/"):
                await request.read()  # cached: the handler's request.json() reads this
            hold.waiting += 1
            hold.held_total += 1
            try:
                await hold.released.wait()
            finally:
                hold.waiting -= 1
            return hold
        return None
