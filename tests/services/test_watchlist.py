"""The stack watchlist on a real SQLite store: one vendor however it is spelt, Manage
Server checked in the service, unknown names and bad input refused with nothing
changed, autocomplete from the catalogue, the store's tags and KEV; and the "Your
stack" section of a server's briefing (stories naming a watched vendor or product,
CVEs newly added to KEV that touch it), in --json as your_stack."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from bot.news.analyse import RawArticle, analyse
from bot.render.digest import digest_messages
from bot.render.text import briefing_text
from bot.services.caller import Caller
from bot.services.container import Services
from bot.services.errors import PermissionDenied, UserError
from bot.shell import OPERATOR
from storage.vuln_models import KevEntry
from tests.conftest import Clock
from tests.snapshot import snapshot

GUILD = 7001
ADMIN = Caller(user_id=103, guild_id=GUILD, can_manage_guild=True)
MEMBER = Caller(user_id=101, guild_id=GUILD)
PANOS = KevEntry("CVE-2024-3400", "Palo Alto Networks", "PAN-OS",
                 "Palo Alto Networks PAN-OS command injection", date(2026, 11, 30),
                 date(2026, 12, 21), "Apply mitigations per vendor instructions.", False)
ZOHO = KevEntry("CVE-2021-40539", "Zoho", "ManageEngine ADSelfService Plus",
                "Zoho ManageEngine authentication bypass", date(2021, 11, 3),
                date(2021, 11, 17), "Apply updates.", True)


@pytest.mark.parametrize("typed", ["Palo Alto", "Palo Alto Networks", "paloaltonetworks",
                                   "PALO ALTO NETWORKS, Inc."])
async def test_every_spelling_is_one_vendor(services: Services, typed: str):
    added = await services.watchlist.add(ADMIN, "vendor", "Palo Alto Networks")
    again = await services.watchlist.add(ADMIN, "vendor", typed)
    assert added.created and (again.created, again.entry.id) == (False, added.entry.id)
    assert again.entry.name == "Palo Alto Networks"
    removed = await services.watchlist.remove(ADMIN, "vendor", typed)
    assert removed.id == added.entry.id and await services.watchlist.list(ADMIN) == []


async def test_changing_needs_manage_server_and_changes_nothing(services: Services):
    await services.watchlist.add(ADMIN, "product", "PAN-OS")
    before = await snapshot(services.store)
    with pytest.raises(PermissionDenied, match="Manage Server"):
        await services.watchlist.add(MEMBER, "vendor", "Fortinet")
    with pytest.raises(PermissionDenied, match="Manage Server"):
        await services.watchlist.remove(MEMBER, "product", "PAN-OS")
    with pytest.raises(UserError, match="inside a server"):
        await services.watchlist.add(Caller(user_id=5, can_manage_guild=True), "vendor",
                                     "Fortinet")
    assert await snapshot(services.store) == before
    assert [e.name for e in await services.watchlist.list(MEMBER)] == ["PAN-OS"]  # anyone


@pytest.mark.parametrize(("kind", "name", "message"), [
    ("vendor", "Fortinett Systemz", "Closest names: Fortinet"),
    ("vendor", "PAN-OS", "PAN-OS is a product of Palo Alto Networks: add it with kind product"),
    ("os", "Linux", "use vendor or product"),
    ("vendor", "   ", "Give the vendor's name"),
    ("vendor", "!!!", "letters or digits"),
    ("product", "x" * 101, "too long"),
])
async def test_bad_names_are_refused_and_change_nothing(services: Services, kind, name,
                                                       message):
    before = await snapshot(services.store)
    with pytest.raises(UserError, match=message):
        await services.watchlist.add(ADMIN, kind, name)
    assert await snapshot(services.store) == before


async def test_kev_names_are_known_and_suggested(services: Services, clock: Clock):
    with pytest.raises(UserError):
        await services.watchlist.add(ADMIN, "vendor", "Zoho")  # no KEV data yet
    await services.store.vulns.replace_kev([PANOS, ZOHO], now=clock())
    services.watchlist.forget_names()
    added = await services.watchlist.add(ADMIN, "vendor", "Zoho Corporation")
    assert (added.entry.name, added.entry.name_norm) == ("Zoho", "zoho")
    products = await services.watchlist.suggest(ADMIN, "product", "manage")
    assert products == ["ManageEngine ADSelfService Plus", "FortiManager"]  # starts, then has
    vendors = await services.watchlist.suggest(ADMIN, "vendor", "pa")
    assert vendors[0] == "Palo Alto Networks" and len(vendors) <= 25
    many = await services.watchlist.suggest(ADMIN, "vendor", "")
    assert len(many) == 25
    own = await services.watchlist.suggest_own(ADMIN, "vendor", "zo")
    assert own == ["Zoho"]


async def test_the_list_has_a_limit(services: Services):
    services.watchlist._max = 2
    await services.watchlist.add(ADMIN, "vendor", "Fortinet")
    await services.watchlist.add(ADMIN, "vendor", "Cisco")
    await services.watchlist.add(ADMIN, "vendor", "cisco")  # already there: fine
    with pytest.raises(UserError, match="already holds 2 names"):
        await services.watchlist.add(ADMIN, "vendor", "Ivanti")


async def add_article(services: Services, title: str, text: str) -> None:
    raw = RawArticle(source="Wire A", title=title, text=text,
                     url=f"https://news.example/{abs(hash(title))}",
                     published_at=services.clock())
    article = await asyncio.to_thread(analyse, raw, services.tagger)
    assert await services.ingest.store_article(article) is not None


async def test_briefing_opens_with_your_stack(services: Services, clock: Clock):
    await services.store.vulns.replace_kev([ZOHO], now=clock())
    await services.store.vulns.replace_kev([ZOHO, PANOS], now=clock())
    await add_article(services, "GlobalProtect gateways probed at scale",
                      "Scanning for GlobalProtect portals rose sharply this week, researchers "
                      "said, as attackers look for unpatched gateways.")
    await add_article(services, "Fortinet fixes FortiWeb flaw",
                      "Fortinet released fixes for a FortiWeb path traversal flaw on Tuesday.")
    await services.watchlist.add(ADMIN, "vendor", "Palo Alto")
    since = clock() - timedelta(days=2)

    briefing = await services.briefings.build(since, guild_id=GUILD)
    stack = briefing.your_stack
    assert [s.item.title for s in stack.stories] == ["GlobalProtect gateways probed at scale"]
    assert stack.stories[0].matched == ["Palo Alto Networks"]
    assert [c.entry.cve for c in stack.newly_exploited] == ["CVE-2024-3400"]  # not 2021's
    data = briefing.as_dict()["your_stack"]
    assert data["watching"] == [{"kind": "vendor", "name": "Palo Alto Networks"}]
    assert [i["title"] for i in data["items"]] == ["GlobalProtect gateways probed at scale"]
    assert data["newly_exploited"][0]["id"] == "CVE-2024-3400"

    header = digest_messages(briefing.items, start=since, end=clock(),
                             stack=stack)[0].embeds[0].description
    assert header.startswith("**Your stack**\n• Newly exploited: CVE-2024-3400 (Palo Alto "
                             "Networks PAN-OS) — added to CISA KEV on 30 Nov 2026")
    assert "GlobalProtect gateways probed at scale" in header.split("**Top headlines**")[0]

    # Another server watches nothing: no section; the operator's list is its own.
    other = await services.briefings.build(since, guild_id=GUILD + 1)
    assert not other.your_stack and other.as_dict()["your_stack"]["items"] == []
    assert not (await services.briefings.build(since)).your_stack
    await services.watchlist.add(OPERATOR, "product", "FortiWeb")
    text = briefing_text(await services.briefings.build(since))
    assert text.startswith("Your stack:\n  • Fortinet fixes FortiWeb flaw · FortiWeb")
