"""The payload codec and its configuration, without a server."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import WorkflowSerializationContext

from core.codec import (
    ENCODING,
    KEY_ID_METADATA,
    REFUSED_ENCODING,
    EncryptionCodec,
    EncryptionKeyError,
    NoKeysCodec,
    PayloadDecryptionError,
    parse_key_ring,
)
from core.crypto import RecordSealer, SealedValueError
from core.settings import Settings
from core.temporal import data_converter
from models.actions import SetGoal as SetGoalInput

from .conftest import encryption_settings, new_key


def _codec(keys: dict[str, str], active: str) -> EncryptionCodec:
    ring = parse_key_ring(",".join(f"{k}:{v}" for k, v in keys.items()), active)
    assert ring is not None
    return EncryptionCodec(ring)


def _payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())


async def test_encoded_payload_names_its_key_and_hides_data_and_metadata() -> None:
    codec = _codec({"k2025": new_key()}, "k2025")
    [encoded] = await codec.encode([_payload("the client's own goal")])
    assert encoded.metadata["encoding"] == ENCODING
    assert encoded.metadata[KEY_ID_METADATA] == b"k2025"
    assert set(encoded.metadata) == {"encoding", KEY_ID_METADATA}
    assert b"own goal" not in encoded.data and b"json/plain" not in encoded.data
    assert await codec.decode([encoded]) == [_payload("the client's own goal")]


async def test_the_same_payload_encrypts_differently_each_time() -> None:
    codec = _codec({"k1": new_key()}, "k1")
    first, second = await codec.encode([_payload("note"), _payload("note")])
    assert first.data != second.data


async def test_rotation_decodes_with_any_known_key_and_encodes_with_the_active_one() -> None:
    old_key, new = new_key(), new_key()
    [old_payload] = await _codec({"old": old_key}, "old").encode([_payload("written last year")])
    rotated = _codec({"old": old_key, "new": new}, "new")
    assert await rotated.decode([old_payload]) == [_payload("written last year")]
    [fresh] = await rotated.encode([_payload("written today")])
    assert fresh.metadata[KEY_ID_METADATA] == b"new"


async def test_a_payload_of_an_unknown_key_fails_with_a_clear_error_naming_the_key() -> None:
    [old_payload] = await _codec({"old": new_key()}, "old").encode([_payload("x")])
    with pytest.raises(PayloadDecryptionError, match=r"key 'old', which this process does not know \(known: new\)"):
        await _codec({"new": new_key()}, "new").decode([old_payload])


async def test_a_wrong_key_under_the_right_id_or_an_altered_payload_does_not_decrypt() -> None:
    [payload] = await _codec({"k": new_key()}, "k").encode([_payload("x")])
    with pytest.raises(PayloadDecryptionError, match="does not decrypt with that key"):
        await _codec({"k": new_key()}, "k").decode([payload])
    codec_a = _codec({"a": (key_a := new_key()), "b": new_key()}, "a")
    [payload_a] = await codec_a.encode([_payload("x")])
    # Relabelled as another known key: the key id is authenticated, so this fails too.
    relabelled = Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: b"b"}, data=payload_a.data)
    with pytest.raises(PayloadDecryptionError):
        await codec_a.decode([relabelled])
    flipped = bytearray(payload_a.data)
    flipped[-1] ^= 1
    altered = Payload(metadata=payload_a.metadata, data=bytes(flipped))
    with pytest.raises(PayloadDecryptionError):
        await _codec({"a": key_a}, "a").decode([altered])


async def test_payloads_written_before_encryption_was_on_still_decode() -> None:
    codec = _codec({"k": new_key()}, "k")
    assert await codec.decode([_payload("older history")]) == [_payload("older history")]


KEY = new_key()


@pytest.mark.parametrize(
    ("keys_setting", "active", "message"),
    [
        ("", "k1", "PATHWAYS_ENCRYPTION_ACTIVE_KEY is 'k1' but PATHWAYS_ENCRYPTION_KEYS is empty"),
        (f"k1:{KEY}", "", "PATHWAYS_ENCRYPTION_ACTIVE_KEY is not; set it .* \\(one of: k1\\)"),
        (f"k1:{KEY}", "k2", "ACTIVE_KEY is 'k2', which is not in PATHWAYS_ENCRYPTION_KEYS \\(known: k1\\)"),
        (KEY, "k1", "entry 1 is not of the form <key id>:<base64 key>"),
        (f"k1:{KEY},k2", "k1", "entry 2 is not of the form"),
        (f"k1:{KEY},k1:{KEY}", "k1", "the key id 'k1' appears twice"),
        (f"bad id!:{KEY}", "k1", "entry 1 has the key id 'bad id!'"),
        ("k1:not*base64*at*all", "k1", "the key 'k1' is not valid base64"),
        (
            f"k1:{base64.b64encode(b'sixteen byte key').decode()}",
            "k1",
            "the key 'k1' is 16 bytes, AES-256-GCM needs 32",
        ),
    ],
)
def test_malformed_key_configuration_is_rejected_with_a_clear_error(keys_setting: str, active: str, message: str):
    with pytest.raises(EncryptionKeyError, match=message) as raised:
        parse_key_ring(keys_setting, active)
    assert KEY not in str(raised.value)
    # The process refuses to start with it.
    with pytest.raises(ValidationError, match=message) as invalid:
        Settings(encryption_keys=keys_setting, encryption_active_key=active)
    assert KEY not in str(invalid.value)


def test_url_safe_and_unpadded_keys_are_accepted() -> None:
    raw = bytes(range(250, 256)) * 5 + b"\xfb\xff"
    url_safe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    ring = parse_key_ring(f"k1:{url_safe}", "k1")
    assert ring is not None and ring.keys["k1"] == raw


async def test_without_keys_payloads_pass_as_they_are_and_an_encrypted_one_names_the_key_it_needs() -> None:
    assert parse_key_ring("", "") is None
    assert data_converter() is pydantic_data_converter  # the replayer's, for the saved histories
    plain = data_converter(Settings(encryption_keys="", encryption_active_key=""))
    assert isinstance(plain.payload_codec, NoKeysCodec)
    goal = SetGoalInput(text="Find part-time work near home")
    [encoded] = await plain.encode([goal])
    assert await plain.decode([encoded], [SetGoalInput]) == [goal]
    # A payload a keyed process wrote, met by a process without keys (a worker started without them).
    [sealed] = await data_converter(encryption_settings({"k7": new_key()}, active="k7")).encode([goal])
    with pytest.raises(PayloadDecryptionError, match=r"'k7'.*no encryption keys"):
        await plain.decode([sealed], [SetGoalInput])


async def test_the_converter_with_keys_encrypts_pydantic_models_and_failure_messages() -> None:
    converter = data_converter(encryption_settings({"k1": new_key()}, active="k1"))
    assert isinstance(converter.payload_codec, EncryptionCodec)
    assert converter.failure_converter._encode_common_attributes  # type: ignore[attr-defined]
    goal = SetGoalInput(text="Find part-time work near home")
    [encoded] = await converter.encode([goal])
    assert b"part-time" not in encoded.SerializeToString()
    assert await converter.decode([encoded], [SetGoalInput]) == [goal]


def test_key_material_is_never_shown_in_settings_or_key_ring_reprs() -> None:
    settings = encryption_settings({"k1": KEY}, active="k1")
    ring = parse_key_ring(settings.encryption_keys.get_secret_value(), "k1")
    assert KEY not in repr(settings) and KEY not in str(settings.model_dump())
    assert KEY not in repr(ring)


def test_new_key_command_prints_a_key_the_settings_accept() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "core.codec", "new-key", "--key-id", "k2026"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    entry = done.stdout.strip()
    assert entry.startswith("k2026:")
    settings = Settings(encryption_keys=entry, encryption_active_key="k2026")
    assert data_converter(settings).payload_codec is not None
    another = subprocess.run(
        [sys.executable, "-m", "core.codec", "new-key", "--key-id", "k2026"], capture_output=True, text=True, timeout=60
    )
    assert another.stdout.strip() != entry


def test_new_key_command_rejects_a_bad_key_id() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "core.codec", "new-key", "--key-id", "no spaces"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "key id 'no spaces' is not" in done.stderr


async def test_in_a_pathways_history_plain_or_unbound_payloads_are_refused_with_keys_set() -> None:
    """The worker ran plain inputs (a signal sent by hand) and unbound ones (made by the Web UI's encoder) in a
    pathway where keys are set; now only what this product wrote for that pathway runs there."""
    settings = encryption_settings({"k1": new_key()}, active="k1")
    converter = data_converter(settings)
    codec = converter.payload_codec
    assert isinstance(codec, EncryptionCodec)
    pathway = codec.with_context(WorkflowSerializationContext(namespace="default", workflow_id="pathway-client-abcd"))
    goal = SetGoalInput(text="Find part-time work near home")
    [plain] = pydantic_data_converter.payload_converter.to_payloads([goal])
    [unbound] = await codec.encode([plain])
    [bound] = await pathway.encode([plain])
    assert await pathway.decode([bound]) == [plain]
    # Refused without failing the whole history: the payload becomes one no converter reads, so only the
    # handler that would read it fails (an update refused, a signal dropped).
    refused = await pathway.decode([plain, unbound, bound])
    assert [p.metadata["encoding"] for p in refused[:2]] == [REFUSED_ENCODING, REFUSED_ENCODING]
    assert refused[2] == plain
    with pytest.raises(KeyError, match="Unknown payload encoding binary/refused"):
        pydantic_data_converter.payload_converter.from_payloads(refused[:1], [SetGoalInput])
    # Outside a pathway (the upkeep schedules' inputs) both stay readable.
    assert await codec.decode([plain, unbound]) == [plain, plain]


def test_with_keys_set_a_record_value_in_plain_text_is_refused_and_only_reseal_reads_it() -> None:
    sealer = RecordSealer.from_settings(encryption_settings({"k1": new_key()}, active="k1"))
    with pytest.raises(SealedValueError, match="plain text although this deployment seals"):
        sealer.open('{"note": "planted"}', place="pathway:p:record")
    assert sealer.open('{"note": "old"}', place="pathway:p:record", allow_plain=True) == {"note": "old"}
    assert RecordSealer(None).open('{"note": "plain"}', place="pathway:p:record") == {"note": "plain"}
