"""The shared fixtures live in `tests/support/fixtures.py` (one place for every folder)."""

import os

# The suite's processes hold no real client data; the tests of the requirement itself set it on.
os.environ.setdefault("PATHWAYS_REQUIRE_ENCRYPTION", "false")

pytest_plugins = ["tests.support.fixtures"]
