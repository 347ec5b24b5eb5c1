"""Spec §6: the hybrid handshake, the responder's transactional checks, the prekey lifecycle."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import handshake as hs
from protocol.codec import decode, encode
from protocol.errors import ProtocolError, UsageError
from protocol.handshake import (
    GRACE_PERIOD,
    REFILL_TARGET,
    REFILL_THRESHOLD,
    ROTATION_INTERVAL,
    InitialMessage,
    PrekeyStore,
    initiate,
)
from protocol.kat import SeededRng, generate_suite, verify_suite
from protocol.keys import IdentityKeyPair, PrekeyBundle
from protocol.primitives import X25519KeyPair, mlkem768_encapsulate

T0 = 1_767_225_600


def _code(action: object) -> str:
    assert callable(action)
    try:
        action()
    except ProtocolError as exc:
        return exc.code
    raise AssertionError("no error")


def _parties(seed: bytes, batch: int = 3) -> tuple[IdentityKeyPair, IdentityKeyPair, PrekeyStore]:
    rng = SeededRng(seed)
    alice = IdentityKeyPair.generate(rng)
    bob = IdentityKeyPair.generate(rng)
    store, _upload = PrekeyStore.create(bob, now=T0, rng=rng, batch=batch)
    return alice, bob, store


def _no_rng(n: int) -> bytes:
    raise AssertionError("rng must not be drawn")


# --- agreement -----------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [0, 1, 3])
def test_round_trip_and_conversation(batch: int) -> None:
    alice, _bob, store = _parties(b"round-trip", batch)
    initiated = initiate(alice, store.bundle(), b"hello Bob", rng=SeededRng(b"a"))
    responded = store.respond(initiated.message, rng=SeededRng(b"b"))
    assert responded.plaintext == b"hello Bob"
    assert responded.peer == alice.public
    reply = responded.session.encrypt(b"hello Alice")
    assert initiated.session.decrypt(reply) == b"hello Alice"
    assert responded.session.decrypt(initiated.session.encrypt(b"again")) == b"again"


@settings(max_examples=15, deadline=None)
@given(seed=st.binary(min_size=1, max_size=16), use_opk=st.booleans(), use_kem=st.booleans())
def test_both_sides_derive_the_same_secrets(seed: bytes, use_opk: bool, use_kem: bool) -> None:
    alice, _bob, store = _parties(seed, batch=1)
    bundle = store.bundle()
    bundle = PrekeyBundle(
        bundle.identity,
        bundle.signed_prekey,
        bundle.one_time_prekey if use_opk else None,
        bundle.kem_prekey if use_kem else store._kem_last_resort.public,
    )
    rng = SeededRng(b"eph" + seed)
    shared, ct = mlkem768_encapsulate(bundle.kem_prekey.public_key)
    initiated, secrets, ad = hs._initiate_with(
        alice, bundle, b"p", X25519KeyPair.generate(rng), shared, ct, rng
    )
    message = InitialMessage.from_bytes(initiated.message)
    signed = store._signed[message.signed_prekey_id]
    opk = (
        None if message.one_time_prekey_id is None else store._one_time[message.one_time_prekey_id]
    )
    theirs, their_ad = store._agree(message, signed, opk, store._kem[message.kem_prekey_id])
    assert (theirs.root_key, theirs.header_key, theirs.next_header_key) == (
        secrets.root_key,
        secrets.header_key,
        secrets.next_header_key,
    )
    assert their_ad == ad
    assert len({secrets.root_key, secrets.header_key, secrets.next_header_key}) == 3
    assert (message.one_time_prekey_id is not None) == use_opk


def test_dh4_and_kem_change_the_secrets() -> None:
    """Every input of the KDF matters: dropping DH4 or changing SS gives other keys."""
    dh = [bytes([i]) * 32 for i in range(5)]
    base = hs._derive(dh[0], dh[1], dh[2], dh[3], dh[4])
    assert hs._derive(dh[0], dh[1], dh[2], None, dh[4]).root_key != base.root_key
    assert hs._derive(dh[0], dh[1], dh[2], dh[3], dh[0]).root_key != base.root_key
    assert hs._derive(dh[1], dh[0], dh[2], dh[3], dh[4]).root_key != base.root_key


# --- initiator -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [1, 2, 4])
def test_bundle_signatures_are_checked_before_any_key_is_used(key: int) -> None:
    alice, _bob, store = _parties(b"bad-bundle")
    value = decode(store.bundle().to_bytes())
    assert isinstance(value, dict)
    inner = value[key]
    assert isinstance(inner, dict)
    sig_key = max(k for k in inner if isinstance(k, int))
    sig = inner[sig_key]
    assert isinstance(sig, bytes)
    inner[sig_key] = bytes([sig[0] ^ 0x80]) + sig[1:]
    bundle = PrekeyBundle.from_bytes(encode(value))
    assert _code(lambda: initiate(alice, bundle, b"x", rng=_no_rng)) == "auth.failed"


# --- responder -----------------------------------------------------------------------------------


def test_one_time_prekeys_are_consumed_exactly_once() -> None:
    alice, _bob, store = _parties(b"once")
    bundle = store.bundle()
    first = initiate(alice, bundle, b"1", rng=SeededRng(b"1")).message
    second = initiate(alice, bundle, b"2", rng=SeededRng(b"2")).message
    before = store.held_ids()
    store.respond(first, rng=SeededRng(b"r"))
    after = store.held_ids()
    assert len(after[1]) == len(before[1]) - 1 and len(after[2]) == len(before[2]) - 1
    assert _code(lambda: store.respond(second, rng=SeededRng(b"r"))) == "state.unknown_prekey"
    assert _code(lambda: store.respond(first, rng=SeededRng(b"r"))) == "state.unknown_prekey"
    assert store.held_ids() == after


def test_last_resort_replay_is_refused() -> None:
    alice, _bob, store = _parties(b"replay", batch=0)
    message = initiate(alice, store.bundle(), b"hi", rng=SeededRng(b"1")).message
    assert InitialMessage.from_bytes(message).one_time_prekey_id is None
    store.respond(message, rng=SeededRng(b"r"))
    held = store.held_ids()
    # Spec §6.7: the replay check runs before the DH step's sending half draws its key, so a
    # refused replay draws nothing.
    assert _code(lambda: store.respond(message, rng=_no_rng)) == "state.replay"
    assert store.held_ids() == held
    # A fresh initial message to the same reusable prekeys is fine.
    store.respond(
        initiate(alice, store.bundle(), b"2", rng=SeededRng(b"2")).message, rng=SeededRng(b"r")
    )


def test_replay_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hs, "REPLAY_CACHE_SIZE", 2)
    alice, _bob, store = _parties(b"bounded", batch=0)
    messages = [
        initiate(alice, store.bundle(), b"m", rng=SeededRng(bytes([i]))).message for i in range(3)
    ]
    for message in messages:
        store.respond(message, rng=SeededRng(b"r"))
    assert store.held_ids()[3] == 2
    assert _code(lambda: store.respond(messages[2], rng=_no_rng)) == "state.replay"


def test_an_accepted_initial_message_draws_one_ratchet_key() -> None:
    # Spec §6.7 step 7: the responder's only randomness is the sending half's ratchet key.
    alice, _bob, store = _parties(b"one draw", batch=0)
    message = initiate(alice, store.bundle(), b"hi", rng=SeededRng(b"1")).message
    drawn: list[int] = []
    source = SeededRng(b"r")

    def rng(n: int) -> bytes:
        drawn.append(n)
        return source(n)

    store.respond(message, rng=rng)
    assert drawn == [32]


def test_initial_message_input_limit_and_payload_bounds() -> None:
    # Spec §6.6: the input limit is 69 632 bytes; the payload is 88 to 65 536 bytes, checked
    # at decoding (before the prekey lookup and before any cryptography).
    assert InitialMessage.MAX_SIZE == hs.MAX_INITIAL_MESSAGE_SIZE == 69_632
    _alice, _bob, store = _parties(b"limits")
    oversized = bytes(hs.MAX_INITIAL_MESSAGE_SIZE + 1)
    assert _code(lambda: store.respond(oversized, rng=_no_rng)) == "decode.too_large"
    message = decode(_MESSAGE)
    assert isinstance(message, dict)
    payload = message[7]
    assert isinstance(payload, bytes)
    for size, code in ((87, "decode.length"), (88, "auth.failed")):
        edited = dict(message)
        edited[3] = 77 if size == 87 else message[3]  # an unknown prekey loses to the length
        edited[7] = payload[:size]
        data = encode(edited)
        assert _code(lambda data=data: store.respond(data, rng=_no_rng)) == code
    largest = InitialMessage(
        identity=IdentityKeyPair.generate(SeededRng(b"largest")).public,
        ephemeral_key=X25519KeyPair.generate(SeededRng(b"ek")).public_key,
        signed_prekey_id=2**32 - 1,
        one_time_prekey_id=2**32 - 1,
        kem_prekey_id=2**32 - 1,
        kem_ciphertext=bytes(1088),
        payload=bytes(hs.MAX_INITIAL_PAYLOAD),
    )
    assert len(largest.to_bytes()) == 66_831 < hs.MAX_INITIAL_MESSAGE_SIZE


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_fails_and_consumes_nothing(data: st.DataObject) -> None:
    message = _MESSAGE
    position = data.draw(st.integers(0, len(message) - 1))
    mask = data.draw(st.integers(1, 255))
    changed = message[:position] + bytes([message[position] ^ mask]) + message[position + 1 :]
    _alice, _bob, store = _parties(b"mutation")
    before = store.held_ids()
    with pytest.raises(ProtocolError):
        store.respond(changed, rng=_no_rng)  # a refused message draws nothing (spec §6.7)
    assert store.held_ids() == before
    assert store.respond(message, rng=SeededRng(b"r")).plaintext == b"mutate me"


def _message() -> bytes:
    alice, _bob, store = _parties(b"mutation")
    return initiate(alice, store.bundle(), b"mutate me", rng=SeededRng(b"m")).message


_MESSAGE = _message()


def test_ten_thousand_one_time_prekeys_are_looked_up_by_id() -> None:
    rng = SeededRng(b"many")
    alice = IdentityKeyPair.generate(rng)
    bob = IdentityKeyPair.generate(rng)
    store, _ = PrekeyStore.create(bob, now=T0, rng=rng, batch=1)
    extra = [hs.OneTimePrekeyPair.generate(prekey_id=1000 + i, rng=rng) for i in range(10_000)]
    big = PrekeyStore(bob, store.signed_prekey, store._kem_last_resort, one_time=extra)
    bundle = PrekeyBundle(
        bob.public, big.signed_prekey.public, extra[-1].public, big._kem_last_resort.public
    )
    message = initiate(alice, bundle, b"x", rng=SeededRng(b"1")).message
    assert big.respond(message, rng=SeededRng(b"r")).plaintext == b"x"
    assert big.one_time_count == 9_999


# --- lifecycle -----------------------------------------------------------------------------------


def test_create_publishes_a_verified_batch() -> None:
    _alice, bob, store = _parties(b"create", batch=REFILL_TARGET)
    _, upload = PrekeyStore.create(bob, now=T0, rng=SeededRng(b"c"))
    upload.verify()
    assert len(upload.one_time_prekeys) == REFILL_TARGET == len(upload.kem_one_time)
    assert store.one_time_count == REFILL_TARGET == store.kem_one_time_count
    assert store.maintain(now=T0 + 1, rng=_no_rng) is None


def test_refill_when_low() -> None:
    alice, _bob, store = _parties(b"refill", batch=REFILL_THRESHOLD)
    assert store.maintain(now=T0, rng=_no_rng) is None
    store.respond(
        initiate(alice, store.bundle(), b"x", rng=SeededRng(b"1")).message, rng=SeededRng(b"r")
    )
    upload = store.maintain(now=T0, rng=SeededRng(b"refill"))
    assert upload is not None
    upload.verify()
    new = REFILL_TARGET - (REFILL_THRESHOLD - 1)
    assert len(upload.one_time_prekeys) == new == len(upload.kem_one_time)
    assert store.one_time_count == REFILL_TARGET == store.kem_one_time_count
    held = store.held_ids()
    assert len(set(held[1])) == len(held[1])


def test_rotation_keeps_the_previous_prekey_for_the_grace_period() -> None:
    alice, _bob, store = _parties(b"rotate", batch=0)
    old_bundle = store.bundle()
    in_flight = initiate(alice, old_bundle, b"late", rng=SeededRng(b"1")).message
    upload = store.maintain(now=T0 + ROTATION_INTERVAL, rng=SeededRng(b"rot"))
    assert upload is not None
    upload.verify()
    assert upload.signed_prekey.id != old_bundle.signed_prekey.id
    assert upload.kem_last_resort.id != old_bundle.kem_prekey.id
    assert store.bundle().signed_prekey == upload.signed_prekey
    # Within the grace period the old prekeys still answer...
    store.respond(in_flight, rng=SeededRng(b"r"))
    late = initiate(alice, old_bundle, b"later", rng=SeededRng(b"2")).message
    # ...and after it they are gone.
    store.maintain(now=T0 + ROTATION_INTERVAL + GRACE_PERIOD, rng=SeededRng(b"rot2"))
    assert _code(lambda: store.respond(late, rng=SeededRng(b"r"))) == "state.unknown_prekey"


# --- hygiene -------------------------------------------------------------------------------------


def test_store_hides_its_keys() -> None:
    _alice, bob, store = _parties(b"hygiene")
    assert bob.private_bytes().hex() not in repr(store)
    assert store.signed_prekey.private_bytes().hex() not in repr(store)
    with pytest.raises(TypeError):
        pickle.dumps(store)
    with pytest.raises(UsageError):
        PrekeyStore(bob, store.signed_prekey, store._kem[store.bundle().kem_prekey.id])


def test_vectors_suite_verifies() -> None:
    result = verify_suite(generate_suite("handshake"))
    assert result.failures == []
    assert result.valid >= 4 and result.invalid >= 7
