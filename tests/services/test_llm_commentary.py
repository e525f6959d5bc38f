"""The optional LLM commentary, against a local server that speaks the OpenAI
chat-completions API; the grounded text is used whenever it fails."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from bot.intel.commentary import grounded_commentary
from bot.intel.llm import LLMWriter
from bot.news.analyse import RawArticle
from bot.services.commentary import CommentaryService
from tests.feedserver import FeedServer


async def story_with_actor(services) -> int:
    raw = RawArticle(source="Wire", title="Volt Typhoon targets utilities",
                     url="https://news.example/volt", published_at=services.clock(),
                     text="Volt Typhoon broke into water utilities, the FBI said on Monday.")
    _, story_id = await services.store.articles.add(
        await services.ingest._analyse(raw), story_id=None, now=services.clock())
    return story_id


@pytest.fixture
async def llm_server():
    async with FeedServer() as server:
        server.seen = []
        yield server


def completions(server: FeedServer, *, reply: str | None = None, status: int = 200,
                delay: float = 0.0) -> None:
    async def handle(request: web.Request) -> web.StreamResponse:
        server.seen.append((dict(request.headers), await request.json()))
        await asyncio.sleep(delay)
        if status != 200:
            return web.json_response({"error": {"message": "overloaded"}}, status=status)
        return web.json_response(
            {"choices": [{"message": {"role": "assistant", "content": reply}}]}
        )

    server.handler("/v1/chat/completions", handle)


async def test_llm_writes_from_the_facts_only(services, llm_server):
    completions(llm_server, reply="Volt Typhoon is back.\nIt targets utilities.")
    writer = LLMWriter(services.session, url=llm_server.url("/v1"), model="tiny",
                       api_key="sk-test", timeout=5)
    commentary = CommentaryService(services.store, clock=services.clock, llm=writer)
    story_id = await story_with_actor(services)
    assert await commentary.refresh(story_id) == ["Volt Typhoon is back.", "It targets utilities."]
    headers, body = llm_server.seen[0]
    assert headers["Authorization"] == "Bearer sk-test"
    assert body["model"] == "tiny"
    facts = json.loads(body["messages"][1]["content"])
    assert facts["actors"][0]["name"] == "Volt Typhoon"
    assert "ONLY the facts" in body["messages"][0]["content"]


@pytest.mark.parametrize("failure", ["http_500", "timeout", "empty", "not_json"])
async def test_llm_failure_falls_back_to_grounded(services, llm_server, failure):
    if failure == "http_500":
        completions(llm_server, status=500)
    elif failure == "timeout":
        completions(llm_server, reply="late", delay=2)
    elif failure == "empty":
        completions(llm_server, reply="   ")
    else:
        llm_server.add("/v1/chat/completions", "<html>proxy error</html>",
                       content_type="text/html")
    writer = LLMWriter(services.session, url=llm_server.url("/v1"), model="tiny", timeout=0.5)
    commentary = CommentaryService(services.store, clock=services.clock, llm=writer)
    story_id = await story_with_actor(services)
    written = await commentary.refresh(story_id)
    outline = await services.store.articles.outline(story_id)
    assert written == grounded_commentary(await commentary.facts(outline))
    assert written and "Volt Typhoon" in written[0]


async def test_llm_endpoint_unreachable(services):
    writer = LLMWriter(services.session, url="http://127.0.0.1:9/v1", model="tiny", timeout=2)
    commentary = CommentaryService(services.store, clock=services.clock, llm=writer)
    story_id = await story_with_actor(services)
    assert (await commentary.refresh(story_id))[0].startswith("Volt Typhoon")


async def test_llm_is_given_what_is_new_the_trend_the_key_points_and_the_draft(
    services, llm_server
):
    completions(llm_server, reply="Volt Typhoon now hits telecoms in Guam.")
    writer = LLMWriter(services.session, url=llm_server.url("/v1"), model="tiny", timeout=5)
    commentary = CommentaryService(services.store, clock=services.clock, llm=writer)
    await story_with_actor(services)
    services.clock.advance(days=2)
    raw = RawArticle(
        source="Wire", title="Volt Typhoon breaches telecom providers in Guam",
        url="https://news.example/volt-guam", published_at=services.clock(),
        text="Volt Typhoon breached telecom providers in Guam with a backdoor dubbed "
             "RiverLink. CVE-2025-22881 is exploited in the wild and has no patch yet.",
    )
    _, story_id = await services.store.articles.add(
        await services.ingest._analyse(raw), story_id=None, now=services.clock())
    assert await commentary.refresh(story_id) == ["Volt Typhoon now hits telecoms in Guam."]
    sent = json.loads(llm_server.seen[-1][1]["messages"][1]["content"])
    assert sent["new"]["earlier"] == 1
    assert "Guam" in sent["new"]["targets"] and sent["new"]["malware"] == ["RiverLink"]
    assert sent["trend"] == {"subject": "Volt Typhoon", "rank": 2, "week_before": 0}
    assert sent["cves"][0]["cve"] == "CVE-2025-22881" and sent["cves"][0]["exploited"]
    assert sent["cves"][0]["no_patch"] and sent["key_points"]
    # the grounded text is the draft the model improves, and the fallback
    grounded = grounded_commentary(
        await commentary.facts(await services.store.articles.outline(story_id)))
    assert sent["draft"] == grounded
    assert any(s.startswith("New since the earlier Volt Typhoon story") for s in grounded)
