"""An umbrella actor's sub-groups (Actor.related) on every surface of a lookup: the
/actor embed, the terminal text and actor --json; an actor with none shows no line."""

from __future__ import annotations

from bot.jsonout import actor_lookup
from bot.render.common import MAX_RELATED, related_names
from bot.render.embeds import actor_embed
from bot.render.text import actor_text, profile_text

LAZARUS_SUBGROUPS = {"Andariel", "APT38", "TraderTraitor"}


async def test_lazarus_names_its_sub_groups_everywhere(services):
    lookup = await services.actors.lookup("Lazarus")
    profile = lookup.profile
    assert profile is not None and profile.actor.name == "Lazarus Group"
    related = profile.actor.related
    assert set(related) >= LAZARUS_SUBGROUPS

    fields = {f.name: f.value for f in actor_embed(profile).fields}
    assert set(fields["Related"].split(", ")) >= LAZARUS_SUBGROUPS

    lines = profile_text(profile).splitlines()
    line = next(line for line in lines if line.startswith("Related: "))
    assert set(line.removeprefix("Related: ").split(", ")) >= LAZARUS_SUBGROUPS
    assert line in actor_text(lookup).splitlines()

    assert actor_lookup(lookup)["related"] == related


async def test_an_actor_without_related_ones_shows_no_related_line(services):
    lookup = await services.actors.lookup("Flax Typhoon")
    profile = lookup.profile
    assert profile is not None and profile.actor.related == []
    assert "Related" not in {f.name for f in actor_embed(profile).fields}
    assert not any(line.startswith("Related") for line in profile_text(profile).splitlines())
    assert actor_lookup(lookup)["related"] == []


def test_a_long_related_list_is_capped_with_a_count():
    names = [f"Group {n}" for n in range(MAX_RELATED + 3)]
    text = related_names(names)
    assert text == ", ".join(names[:MAX_RELATED]) + " (+3)"
    assert related_names([]) == ""
