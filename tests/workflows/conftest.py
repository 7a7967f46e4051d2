from __future__ import annotations

import pytest

from tests.support.rules import Clock


@pytest.fixture
def clock() -> Clock:
    """A clock at T0 that the test moves, and an id source (id-0001, id-0002 ...)."""
    return Clock()
