from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import cli_env


@pytest.fixture
def env(db_path: Path | str, tmp_path: Path) -> dict[str, str]:
    """A `secbrief` process's environment on this test's own store (tests.cli.cli_env)."""
    return cli_env(db_path, tmp_path)
