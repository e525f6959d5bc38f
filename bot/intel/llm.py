"""Optional LLM commentary over an OpenAI-compatible chat-completions endpoint.

The model sees only the same facts the grounded writer uses and is told to use nothing
else. Any failure (timeout, HTTP error, odd answer) returns None and the caller keeps
the grounded text.
"""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp

from bot.intel.commentary import StoryFacts

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You write the 'why it matters' note of a security-news briefing. Use ONLY the facts "
    "in the JSON you are given; never add names, numbers, dates or claims that are not in "
    "it. The facts say who the actor is (actors: best-known names, country, motivation, "
    "catalogued targets, and whether this story fits them), what is new against earlier "
    "stories on the same subject (new: targets, malware, CVEs, techniques, status; "
    "earlier = 0 means the first such story in the store), the 7-day trend (trend: this "
    "story's rank and the week before's count), the outlets (sources), exploitation and "
    "patch status as reported (cves) and the story's key points. 'draft' is a plain "
    "version of the note: improve its wording, do not add to it. Lead with what is new. "
    "Write 2 to 4 plain sentences, one per line, no markdown, no preamble."
)


def endpoint(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/chat/completions") else url + "/chat/completions"


class LLMWriter:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 20.0,
    ) -> None:
        self._session = session
        self._url = endpoint(url)
        self._model = model
        self._api_key = api_key
        self._timeout = timeout

    async def write(self, facts: StoryFacts, *, draft: list[str] | None = None) -> list[str] | None:
        """The model's note on ``facts`` (with the grounded ``draft`` to improve), or None
        on any failure."""
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        body = {
            "model": self._model,
            "temperature": 0.2,
            "max_tokens": 300,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": json.dumps(
                    {**facts.as_dict(), "draft": draft or []}, ensure_ascii=False
                )},
            ],
        }
        try:
            async with asyncio.timeout(self._timeout), self._session.post(
                self._url, json=body, headers=headers
            ) as resp:
                if resp.status != 200:
                    log.warning("LLM commentary: HTTP %s; using grounded text", resp.status)
                    return None
                data = await resp.json(content_type=None)
            text = data["choices"][0]["message"]["content"]
        except (TimeoutError, aiohttp.ClientError, ValueError, KeyError, IndexError, TypeError):
            log.warning("LLM commentary failed; using grounded text", exc_info=True)
            return None
        if not isinstance(text, str) or not text.strip():
            return None
        sentences = [line.strip(" -•") for line in text.strip().splitlines() if line.strip()]
        return [s[:600] for s in sentences[:4]] or None
