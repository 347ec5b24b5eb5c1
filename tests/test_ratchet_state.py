"""Spec §7.8: exported session state — snapshot, encrypted blob, migration, consistency."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import cbor2
import nacl.bindings
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.codec import decode, encode
from protocol.errors import ProtocolError
from protocol.ratchet import Limits, Session, SessionSnapshot, SessionState, load_state
from tests.test_ratchet import CountingRng, pair

KEY = bytes(range(32))


def code(action: Callable[[], object]) -> str:
    with pytest.raises(ProtocolError) as info:
        action()
    return info.value.code


def nonce_rng(n: int) -> bytes:
    return bytes(range(n))


def conversation(limits: Limits | None = None, steps: int = 3) -> tuple[Session, Session]:
    alice, bob = pair(limits, label="state")
    for step in range(steps):
        sent = [alice.encrypt(b"%d-%d" % (step, i)) for i in range(4)]
        bob.decrypt(sent[3])
        bob.decrypt(sent[1])
        alice.decrypt(bob.encrypt(b"reply %d" % step))
    return alice, bob


def independent_open(blob: bytes, storage_key: bytes) -> Any:
    """Spec §7.8.1 by hand: HKDF (pyca) for the key, libsodium for XChaCha20-Poly1305."""
    key = HKDF(hashes.SHA256(), 32, bytes(32), b"Blindpost-v1 session-state\x00\x00\x01").derive(
        storage_key
    )
    plaintext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
        blob[24:], b"", blob[:24], key
    )
    return cbor2.loads(plaintext)


def test_blob_decrypts_independently_to_the_documented_map() -> None:
    _, bob = conversation()
    blob = bob.snapshot().to_bytes(KEY, nonce_rng)
    assert blob[:24] == bytes(range(24))
    value = independent_open(blob, KEY)
    assert value[0] == 1
    assert set(value) == set(range(18))
    assert value[2] == {0: 1, 1: 2000, 2: 2000, 3: 4, 4: 32}
    assert value[15] == 3  # three receiving chains
    assert len(value[17]) == 2 and [c[2] for c in value[17]] == [1, 2]
    # skipped keys: message 0 and 2 of each chain, 36-byte records in message order
    for records in [value[16]] + [c[3] for c in value[17]]:
        assert [int.from_bytes(records[i : i + 4], "big") for i in (0, 36)] == [0, 2]


def test_round_trip_restores_an_identical_working_session() -> None:
    alice, bob = conversation()
    snapshot = bob.snapshot()
    blob = snapshot.to_bytes(KEY, nonce_rng)
    loaded = SessionSnapshot.from_bytes(blob, KEY)
    assert loaded == snapshot
    restored = Session.restore(loaded, rng=CountingRng("restored"))
    assert restored.snapshot() == snapshot
    # the restored copy and the original behave identically from here on
    original_rng, copy_rng = CountingRng("same"), CountingRng("same")
    bob._rng = original_rng
    restored._rng = copy_rng
    for i in range(3):
        message = alice.encrypt(b"after %d" % i)
        assert restored.decrypt(message) == bob.decrypt(message) == b"after %d" % i
        reply_a, reply_b = bob.encrypt(b"r"), restored.encrypt(b"r")
        assert reply_a == reply_b
        alice.decrypt(reply_a)
    assert restored.snapshot() == bob.snapshot()


def test_wrong_key_and_tampering_are_authentication_failures() -> None:
    _, bob = conversation()
    blob = bob.snapshot().to_bytes(KEY, nonce_rng)
    assert code(lambda: SessionSnapshot.from_bytes(blob, bytes(32))) == "auth.failed"
    assert code(lambda: SessionSnapshot.from_bytes(blob[:-1], KEY)) == "auth.failed"
    assert code(lambda: SessionSnapshot.from_bytes(blob + b"\x00", KEY)) == "auth.failed"
    assert code(lambda: SessionSnapshot.from_bytes(b"", KEY)) == "auth.failed"
    assert code(lambda: SessionSnapshot.from_bytes(blob, bytes(31))) == "usage.bad_argument"
    assert code(lambda: bob.snapshot().to_bytes(bytes(33), nonce_rng)) == "usage.bad_argument"


_BLOB = conversation()[1].snapshot().to_bytes(KEY, nonce_rng)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(_BLOB) - 1), bit=st.integers(0, 7))
def test_every_bit_of_the_blob_is_authenticated(index: int, bit: int) -> None:
    bad = _BLOB[:index] + bytes([_BLOB[index] ^ (1 << bit)]) + _BLOB[index + 1 :]
    assert code(lambda: SessionSnapshot.from_bytes(bad, KEY)) == "auth.failed"


def _to_v0(state: bytes) -> bytes:
    """The version-0 layout written independently (spec §7.8.3), with cbor2 in canonical mode."""
    value = cbor2.loads(state)
    old = {k: v for k, v in value.items() if k not in (2, 15, 17)}
    old[0] = 0
    old[17] = [{0: 0, 1: c[1], 2: c[3]} for c in value[17]]
    return cbor2.dumps(old, canonical=True)  # integer keys: length-first order is the same


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.integers(0, 4), who=st.sampled_from(["alice", "bob"]))
def test_version_0_migrates_to_the_same_state(steps: int, who: str) -> None:
    alice, bob = conversation(steps=steps)
    state = (alice if who == "alice" else bob).snapshot().state
    migrated = load_state(_to_v0(state.to_bytes()))
    assert migrated == state


def test_unsupported_versions_and_garbage() -> None:
    state = conversation()[1].snapshot().state.to_bytes()
    value = decode(state, max_size=len(state))
    assert isinstance(value, dict)
    for version in (2, -1, "1"):
        value[0] = version
        assert code(lambda: load_state(encode(value))) == "decode.version"
    assert code(lambda: load_state(encode([1]))) == "decode.type"
    assert code(lambda: load_state(b"\xff")) == "decode.reserved"


def _edited(edit: Callable[[dict[Any, Any]], None]) -> bytes:
    state = conversation()[1].snapshot().state.to_bytes()
    value = decode(state, max_size=len(state))
    assert isinstance(value, dict)
    edit(value)
    return encode(value)


@pytest.mark.parametrize(
    ("rule", "edit", "expected"),
    [
        ("receiving key without header key", lambda v: v.pop(13), "decode.bad_state"),
        ("sending key without header key", lambda v: v.pop(9), "decode.bad_state"),
        ("sending chain without peer key", lambda v: v.pop(5), "decode.bad_state"),
        ("receiving without sending", lambda v: (v.pop(6), v.pop(9)), "decode.bad_state"),
        ("index 0 with a chain", lambda v: v.__setitem__(15, 0), "decode.bad_state"),
        ("skipped not below Nr", lambda v: v.__setitem__(12, 1), "decode.bad_state"),
        ("partial record", lambda v: v.__setitem__(16, v[16][:-1]), "decode.length"),
        (
            "too many skipped keys",
            lambda v: v.__setitem__(2, {0: 1, 1: 2000, 2: 1, 3: 4, 4: 32}),
            "decode.bad_state",
        ),
        (
            "too many previous chains",
            lambda v: v.__setitem__(2, {0: 1, 1: 2000, 2: 2000, 3: 1, 4: 32}),
            "decode.bad_state",
        ),
        (
            "previous chains out of order",
            lambda v: v.__setitem__(17, list(reversed(v[17]))),
            "decode.bad_state",
        ),
        ("small-order peer key", lambda v: v.__setitem__(5, bytes(32)), "decode.low_order"),
        ("unknown field", lambda v: v.__setitem__(18, 0), "decode.unknown_field"),
        ("limits out of range", lambda v: v[2].__setitem__(4, 2001), "decode.range"),
    ],
)
def test_consistency_rules(
    rule: str, edit: Callable[[dict[Any, Any]], None], expected: str
) -> None:
    data = _edited(edit)
    assert code(lambda: load_state(data)) == expected, rule
    assert code(lambda: SessionState.from_bytes(data)) == expected, rule


def test_a_fresh_responder_state() -> None:
    _, bob = pair()
    state = bob.snapshot().state
    assert state.sending_chain_key is None and state.receiving_chain_key is None
    assert state.receiving_ratchet_public is None and state.receiving_chain_index == 0
    assert load_state(state.to_bytes()) == state
    # construction applies the same consistency rules as decoding
    assert code(lambda: dataclasses.replace(state, receiving_n=1)) == "usage.bad_argument"


def test_restore_requires_a_snapshot() -> None:
    assert code(lambda: Session.restore(object(), rng=CountingRng("x"))) == (  # type: ignore[arg-type]
        "usage.bad_argument"
    )
