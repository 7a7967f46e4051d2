"""Client free text at rest in the database: AES-256-GCM with the payload codec's key ring.

With encryption configured (`PATHWAYS_ENCRYPTION_KEYS`, `PATHWAYS_ENCRYPTION_ACTIVE_KEY`), every sealed
column holds `sealed:v1:<key id>:<base64 of nonce + ciphertext>`: a database file, a dump or a backup shows
no note, goal or reason. The associated data is the value's place (e.g. `event:<pathway id>:<sequence>`),
so a sealed value copied into another row does not open there. Without keys, values are stored as JSON text
(a development set-up; `make run` turns encryption on).

Rotation: values are sealed with the active key and opened with any known key; `python -m ops.cli records
reseal` rewrites the values sealed with other keys, after which an old key can be dropped.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.codec import KEYS_SETTING, NONCE_BYTES, KeyRing, parse_key_ring
from core.settings import Settings

SEALED_PREFIX = "sealed:v1:"


class SealedValueError(ValueError):
    """A sealed value cannot be opened with the keys this process knows (or it was altered or moved)."""


class RecordSealer:
    def __init__(self, key_ring: KeyRing | None) -> None:
        self._ciphers = {key_id: AESGCM(key) for key_id, key in key_ring.keys.items()} if key_ring else {}
        self.active_key_id = key_ring.active_key_id if key_ring else None

    @classmethod
    def from_settings(cls, settings: Settings) -> RecordSealer:
        return cls(parse_key_ring(settings.encryption_keys.get_secret_value(), settings.encryption_active_key))

    @property
    def encrypting(self) -> bool:
        return self.active_key_id is not None

    def seal(self, value: Any, *, place: str) -> str:
        """The JSON of `value`, sealed with the active key for `place` (plain JSON without keys)."""
        plaintext = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        if self.active_key_id is None:
            return plaintext
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = self._ciphers[self.active_key_id].encrypt(nonce, plaintext.encode(), self._aad(place))
        return f"{SEALED_PREFIX}{self.active_key_id}:{base64.b64encode(nonce + ciphertext).decode('ascii')}"

    def open(self, stored: str, *, place: str, allow_plain: bool = False) -> Any:
        """The value sealed at `place`. A value in plain text is read only where encryption is off, or by the
        reseal that seals it (`allow_plain`): with keys set, plain text where a sealed value belongs was put
        there by someone else than this product."""
        if not stored.startswith(SEALED_PREFIX):
            if self.encrypting and not allow_plain:
                raise SealedValueError(
                    f"{place} is stored in plain text although this deployment seals client text; if it was "
                    "written before encryption was turned on, run `python -m ops.cli records reseal`"
                )
            return json.loads(stored)
        key_id, _, encoded = stored[len(SEALED_PREFIX) :].partition(":")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise SealedValueError(
                f"{place} is sealed with key {key_id!r}, which this process does not know; add it to {KEYS_SETTING}"
            )
        try:
            data = base64.b64decode(encoded, validate=True)
            plaintext = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], self._aad(place))
        except (binascii.Error, InvalidTag):
            raise SealedValueError(
                f"{place} does not open with key {key_id!r}: altered, or moved from elsewhere"
            ) from None
        return json.loads(plaintext)

    def needs_reseal(self, stored: str) -> bool:
        """Sealed with another key than the active one, or stored plain while encryption is on."""
        if self.active_key_id is None:
            return False
        if not stored.startswith(SEALED_PREFIX):
            return True
        return stored[len(SEALED_PREFIX) :].partition(":")[0] != self.active_key_id

    @staticmethod
    def _aad(place: str) -> bytes:
        return f"pathways-record:{place}".encode()
