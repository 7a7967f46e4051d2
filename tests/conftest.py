"""The shared fixtures live in `tests/support/fixtures.py` (one place for every folder)."""

pytest_plugins = ["tests.support.fixtures"]
