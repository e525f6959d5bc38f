"""Settings, .env.example and the README's configuration table stay in step."""

from __future__ import annotations

import re

from bot.config import Settings
from tests.conftest import REPO


def env_example_names() -> list[str]:
    names = []
    for line in (REPO / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            names.append(line.split("=", 1)[0])
    return names


def test_env_example_lists_every_setting_once():
    aliases = {f.alias for f in Settings.model_fields.values()}
    test_hooks = {"SECBRIEF_DISCORD_API_BASE", "SECBRIEF_DISCORD_GATEWAY"}
    names = env_example_names()
    assert len(names) == len(set(names))
    assert set(names) == aliases - test_hooks


def test_readme_table_mirrors_env_example_line_for_line():
    readme = (REPO / "README.md").read_text()
    table = re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.M)
    assert table[: len(env_example_names())] == env_example_names()


def test_env_example_loads_as_is(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text((REPO / ".env.example").read_text())
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.discord_token is None and settings.dev_guild_id is None
    assert settings.feeds_file is None and not settings.llm_enabled
    assert settings.feed_urls()  # the bundled list


def test_bad_values_are_rejected_with_the_variable_name(monkeypatch):
    monkeypatch.setenv("SECBRIEF_POLL_INTERVAL", "5")
    try:
        Settings(_env_file=None)
    except ValueError as exc:
        assert "SECBRIEF_POLL_INTERVAL" in str(exc)
    else:
        raise AssertionError("a 5 s poll interval was accepted")
