"""Encryption of everything a pathway carries through Temporal: AES-256-GCM as a payload codec.

With encryption on, Temporal's database (and anyone who can read it: the server's operators, backups,
the Web UI without the codec server) holds only ciphertext of notes, goals, feedback and referral
reasons. Keys come from configuration only (`PATHWAYS_ENCRYPTION_KEYS`,
`PATHWAYS_ENCRYPTION_ACTIVE_KEY`), never from the repository; `python -m core.codec new-key` makes one.

Rotation: each payload names its key in the metadata (`encryption-key-id`). A process encodes with the
active key and decodes with any key it knows, so a new key is rolled out by first adding it everywhere,
then making it active; an old key may be dropped only when no open pathway's history still uses it.

Binding: a payload encoded for a workflow (the SDK's serialization context names it: the workflow's
input, updates and answers, its activities' inputs and results, timer and activity summaries) carries
the workflow id in its metadata (`encryption-workflow-id`), and the id is part of the AES-GCM associated
data: relabelled, it does not decrypt. The codec server decodes a payload only for staff of its pathway's
team (`api.codec`), and a worker refuses a pathway's payload found in another pathway's history.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import logging
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec, SerializationContext, WithSerializationContext

ENCODING = b"binary/encrypted"
# What a refused payload (plain, or bound to no pathway, in a pathway's history) becomes: no converter reads it.
REFUSED_ENCODING = b"binary/refused"

log = logging.getLogger("pathways.codec")

KEY_ID_METADATA = "encryption-key-id"
WORKFLOW_ID_METADATA = "encryption-workflow-id"
# Workflow ids of pathways start so (models.pathway.WORKFLOW_ID_PREFIX; core stays below models).
PATHWAY_WORKFLOW_PREFIX = "pathway-"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
KEYS_SETTING = "PATHWAYS_ENCRYPTION_KEYS"
ACTIVE_KEY_SETTING = "PATHWAYS_ENCRYPTION_ACTIVE_KEY"
_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class EncryptionKeyError(ValueError):
    """The key configuration is malformed. The message says what is wrong and never shows key material."""


class PayloadDecryptionError(Exception):
    """A payload cannot be decrypted by this process.

    Deliberately not a Temporal ApplicationError: raised while a worker decodes a workflow task, it fails
    that task (retried until a worker with the right key picks it up) and never fails the pathway itself.
    """


@dataclass(frozen=True)
class KeyRing:
    """The keys a process knows, and the one it encrypts with."""

    keys: Mapping[str, bytes]
    active_key_id: str

    def __repr__(self) -> str:
        # Never print key material (settings dumps, tracebacks, logs).
        return f"KeyRing(key_ids={sorted(self.keys)}, active_key_id={self.active_key_id!r})"


def _decode_key(key_id: str, encoded: str) -> bytes:
    # Standard or URL-safe base64, padding optional; anything outside the alphabet is an error, not skipped.
    text = encoded.strip().translate(str.maketrans("-_", "+/"))
    text += "=" * (-len(text) % 4)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise EncryptionKeyError(
            f"{KEYS_SETTING}: the key {key_id!r} is not valid base64; generate one with `python -m core.codec new-key`"
        ) from None
    if len(key) != KEY_BYTES:
        raise EncryptionKeyError(
            f"{KEYS_SETTING}: the key {key_id!r} is {len(key)} bytes, AES-256-GCM needs {KEY_BYTES}; "
            "generate one with `python -m core.codec new-key`"
        )
    return key


def parse_key_ring(keys_setting: str, active_key_id: str) -> KeyRing | None:
    """Parse `id:<base64 32 bytes>,id2:<base64>` and the active key id; None when encryption is off."""
    keys_setting = keys_setting.strip()
    active_key_id = active_key_id.strip()
    if not keys_setting:
        if active_key_id:
            raise EncryptionKeyError(
                f"{ACTIVE_KEY_SETTING} is {active_key_id!r} but {KEYS_SETTING} is empty; "
                "set both to turn encryption on, or neither to leave it off"
            )
        return None
    keys: dict[str, bytes] = {}
    for position, entry in enumerate(keys_setting.split(","), start=1):
        key_id, separator, encoded = entry.strip().partition(":")
        key_id = key_id.strip()
        if not separator or not encoded.strip():
            raise EncryptionKeyError(
                f"{KEYS_SETTING}: entry {position} is not of the form <key id>:<base64 key> "
                "(entries are separated by commas)"
            )
        if not _KEY_ID.match(key_id):
            raise EncryptionKeyError(
                f"{KEYS_SETTING}: entry {position} has the key id {key_id[:64]!r}; a key id is 1-64 letters, "
                "digits, '.', '_' or '-', starting with a letter or digit"
            )
        if key_id in keys:
            raise EncryptionKeyError(f"{KEYS_SETTING}: the key id {key_id!r} appears twice")
        keys[key_id] = _decode_key(key_id, encoded)
    if not active_key_id:
        raise EncryptionKeyError(
            f"{KEYS_SETTING} is set but {ACTIVE_KEY_SETTING} is not; set it to the key new payloads are "
            f"encrypted with (one of: {', '.join(keys)})"
        )
    if active_key_id not in keys:
        raise EncryptionKeyError(
            f"{ACTIVE_KEY_SETTING} is {active_key_id!r}, which is not in {KEYS_SETTING} (known: {', '.join(keys)})"
        )
    return KeyRing(keys=keys, active_key_id=active_key_id)


def bound_workflow_id(payload: Payload) -> str | None:
    """The workflow an encrypted payload was encoded for, if it was bound to one."""
    bound = payload.metadata.get(WORKFLOW_ID_METADATA)
    return bound.decode(errors="replace") if bound else None


def _associated_data(key_id: bytes, workflow_id: bytes | None) -> bytes:
    # The key id, and the workflow id when bound: either relabelled, the payload no longer decrypts.
    return key_id if workflow_id is None else key_id + b"\x1f" + workflow_id


class NoKeysCodec(PayloadCodec):
    """A process without keys: payloads pass as they are, and an encrypted one it meets fails with the key id
    it needs (instead of the SDK's bare "Unknown payload encoding"), which its log then shows."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        for payload in payloads:
            if payload.metadata.get("encoding") == ENCODING:
                key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
                raise PayloadDecryptionError(
                    f"payload encrypted with key {key_id!r}, but this process has no encryption keys: start it with "
                    f"{KEYS_SETTING} holding that key (make run keeps it in var/encryption.key)"
                )
        return list(payloads)


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    """AES-256-GCM over each whole serialized payload (data and metadata alike), bound to its workflow."""

    def __init__(self, key_ring: KeyRing, workflow_id: str | None = None) -> None:
        super().__init__()
        self._ciphers = {key_id: AESGCM(key) for key_id, key in key_ring.keys.items()}
        self._key_ring = key_ring
        self.active_key_id = key_ring.active_key_id
        self._active_key_id_bytes = key_ring.active_key_id.encode()
        self.workflow_id = workflow_id

    def with_context(self, context: SerializationContext) -> Self:
        workflow_id = getattr(context, "workflow_id", None)
        if workflow_id == self.workflow_id:
            return self
        bound = type(self).__new__(type(self))
        bound.__dict__.update(self.__dict__)
        bound.workflow_id = workflow_id
        return bound

    @property
    def known_key_ids(self) -> list[str]:
        return sorted(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self.active_key_id]
        workflow_id = self.workflow_id.encode() if self.workflow_id else None
        metadata = {"encoding": ENCODING, KEY_ID_METADATA: self._active_key_id_bytes}
        if workflow_id is not None:
            metadata[WORKFLOW_ID_METADATA] = workflow_id
        associated = _associated_data(self._active_key_id_bytes, workflow_id)
        encoded: list[Payload] = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            ciphertext = cipher.encrypt(nonce, payload.SerializeToString(), associated)
            encoded.append(Payload(metadata=metadata, data=nonce + ciphertext))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        # In a pathway's own history (the worker, the API's client) every payload this product wrote is encrypted
        # and bound to the pathway: plain or unbound input there came from elsewhere (a signal sent by hand, a
        # payload the Web UI's encoder made) and is refused, not run.
        # Refused, not raised: the payload becomes one nothing can read, so only the handler that would read it
        # fails (an update is refused, a signal the pathway has no handler for is dropped) and the pathway goes on.
        in_pathway = self.workflow_id is not None and self.workflow_id.startswith(PATHWAY_WORKFLOW_PREFIX)
        decoded: list[Payload] = []
        for payload in payloads:
            plain = payload.metadata.get("encoding") != ENCODING
            if in_pathway and (plain or bound_workflow_id(payload) is None):
                log.warning(
                    "A payload %s turned up in %s's history, where this product writes only encrypted payloads "
                    "bound to the pathway: refused",
                    "in plain text" if plain else "bound to no pathway",
                    self.workflow_id,
                )
                decoded.append(Payload(metadata={"encoding": REFUSED_ENCODING}, data=b""))
                continue
            decoded.append(payload if plain else self._decrypt(payload))
        return decoded

    def _decrypt(self, payload: Payload) -> Payload:
        key_id_bytes = payload.metadata.get(KEY_ID_METADATA, b"")
        key_id = key_id_bytes.decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"payload encrypted with key {key_id!r}, which this process does not know "
                f"(known: {', '.join(self.known_key_ids)}); add that key to {KEYS_SETTING}"
            )
        bound = bound_workflow_id(payload)
        if (
            bound is not None
            and self.workflow_id is not None
            and self.workflow_id.startswith(PATHWAY_WORKFLOW_PREFIX)
            and bound != self.workflow_id
        ):
            raise PayloadDecryptionError(
                f"a payload of {bound} turned up in {self.workflow_id}'s history: payloads stay with their pathway"
            )
        associated = _associated_data(key_id_bytes, payload.metadata.get(WORKFLOW_ID_METADATA))
        try:
            plaintext = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], associated)
        except InvalidTag:
            raise PayloadDecryptionError(
                f"payload labelled with key {key_id!r} does not decrypt with that key: "
                "the key configured under that id is not the one it was encrypted with, or the payload "
                "(or its workflow label) was altered"
            ) from None
        return Payload.FromString(plaintext)


def encryption_codec(keys_setting: str, active_key_id: str) -> EncryptionCodec | None:
    """The codec for these settings, or None when encryption is off."""
    key_ring = parse_key_ring(keys_setting, active_key_id)
    return EncryptionCodec(key_ring) if key_ring else None


def new_key_entry(key_id: str) -> str:
    """`<key id>:<base64 of 32 random bytes>`, ready to append to PATHWAYS_ENCRYPTION_KEYS."""
    if not _KEY_ID.match(key_id):
        raise EncryptionKeyError(
            f"the key id {key_id[:64]!r} is not 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit"
        )
    return f"{key_id}:{base64.b64encode(AESGCM.generate_key(bit_length=KEY_BYTES * 8)).decode()}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.codec", description="Payload encryption keys.")
    commands = parser.add_subparsers(dest="command", required=True)
    new_key = commands.add_parser(
        "new-key", help="print a new random key as <key id>:<base64>, for PATHWAYS_ENCRYPTION_KEYS"
    )
    new_key.add_argument(
        "--key-id", default=f"k{datetime.now(UTC):%Y%m%d}", help="the key's id (default: k<today's date>)"
    )
    args = parser.parse_args(argv)
    try:
        print(new_key_entry(args.key_id))
    except EncryptionKeyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
