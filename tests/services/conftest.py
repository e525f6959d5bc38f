"""Every test here that uses the store runs on both backends: [sqlite] and [postgres]."""

import pytest

from tests.conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param
