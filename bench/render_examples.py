"""Print what a reader sees — a digest briefing's header, one story card from its thread
and an alert DM — rendered as text from the payloads the fake Discord recorded while the
real bot ran a small scenario (tests/e2e/reader_view.py). Not a benchmark: it makes the
examples in the README's "What a reader sees" section.

    .venv/bin/python bench/render_examples.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.services.catalogue import ensure_catalogue
from storage.store import Store
from tests.conftest import make_settings
from tests.e2e.reader_view import render_examples, run_scenario


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp) / "examples.db")
        store = await Store.open(settings.database)
        try:
            await ensure_catalogue(store, settings)
        finally:
            await store.close()
        print(render_examples(await run_scenario(settings)))


if __name__ == "__main__":
    asyncio.run(main())
