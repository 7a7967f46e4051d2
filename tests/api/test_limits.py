"""The sliding-window limiter of the client's feedback page, as a unit (the page's own tests drive it over HTTP)."""

from __future__ import annotations

from api.limits import SlidingWindowLimiter


def test_a_key_gets_its_limit_per_window_and_is_told_when_to_try_again() -> None:
    limiter = SlidingWindowLimiter(limit=3, window=60)
    assert [limiter.retry_after("a", now) for now in (0.0, 1.0, 2.0)] == [None, None, None]
    assert limiter.retry_after("a", 3.0) == 57.0
    assert limiter.retry_after("b", 3.0) is None  # another key has its own
    assert limiter.retry_after("a", 60.5) is None  # the first hit has left the window


def test_a_flood_of_new_keys_evicts_the_least_recently_used_never_an_active_one() -> None:
    limiter = SlidingWindowLimiter(limit=2, window=60)
    limiter.MAX_KEYS = 3
    limiter.retry_after("attacker", 0.0)
    limiter.retry_after("attacker", 1.0)
    for index, key in enumerate(("x", "y")):
        limiter.retry_after(key, 2.0 + index)
    assert limiter.retry_after("attacker", 4.0) is not None  # still limited: it was used, it moved to the end
    limiter.retry_after("z", 5.0)  # the table is full: "x", the least recently used, goes
    assert limiter.retry_after("attacker", 6.0) is not None
    assert limiter.retry_after("x", 7.0) is None
