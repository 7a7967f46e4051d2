"""A short-lived, in-process cache of authenticated bearer tokens.

Every request authenticates; without the cache that is a database query and a hop to a thread on every
request's path. An entry lives `ttl_seconds` at most, so a token revoked or a staff member deactivated
or moved between teams in the database is honoured by every API process within that time. Only tokens
that authenticated are kept (a wrong token always reaches the database), keyed by the token's hash.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from api.services.staff import StaffMember

DEFAULT_MAX_ENTRIES = 10_000


class TokenCache:
    def __init__(self, ttl_seconds: float, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, StaffMember]] = OrderedDict()

    def get(self, token_hash: str) -> StaffMember | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        expires_at, staff = entry
        if time.monotonic() >= expires_at:
            del self._entries[token_hash]
            return None
        return staff

    def put(self, token_hash: str, staff: StaffMember, *, until: float | None = None) -> None:
        """Remember a checked token for the cache's time, or less: `until` (a Unix time) caps it at the
        token's own expiry."""
        if self._ttl <= 0:
            return
        expires_at = time.monotonic() + self._ttl
        if until is not None:
            expires_at = min(expires_at, time.monotonic() + (until - time.time()))
        self._entries[token_hash] = (expires_at, staff)
        self._entries.move_to_end(token_hash)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
