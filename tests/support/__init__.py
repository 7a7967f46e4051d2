"""What the tests share, in one place: fixtures (`fixtures.py`, loaded by the root conftest), helpers
(`helpers.py`) and a driver for pathways on a real worker (`pathways.py`)."""
