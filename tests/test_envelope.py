"""Spec §9: sealed envelopes — padding, framing, first contact, session envelopes, content.

Known answers are in ``vectors/envelope.json`` (tests/test_vectors.py); here:

* independent paths: PADMÉ from the paper's floating-point formula, and the first-contact
  seal of the published vector opened by a separate RFC 9180 mode_psk written from the RFC on
  pyca/cryptography's primitives (not ``protocol.hpke``);
* round trips for every length up to the maximum (Hypothesis), and every single-byte change
  of an envelope failing with a typed error and leaving every state object as it was;
* what the relay sees: no identity, prekey id or content in the clear; the size table of §9.8;
* lifecycle of first-contact keys; secrets redacted and unpicklable.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import pickle
import re
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.blinding import EPOCH_LENGTH, epoch_of
from protocol.envelope import (
    ENVELOPE_HEADER_SIZE,
    FIRST_CONTACT_BODY_SIZE,
    FIRST_CONTACT_KEY_RETENTION,
    FIRST_CONTACT_PLAINTEXT_SIZE,
    MAX_BODY_SIZE,
    MAX_FIRST_CONTACT_CONTENT,
    MAX_SESSION_PLAINTEXT,
    MAX_TTL,
    Content,
    ConversationMailbox,
    Envelope,
    FirstContactBundle,
    FirstContactInner,
    FirstContactKey,
    FirstContactKeyPair,
    FirstContactKeys,
    MailboxGrant,
    envelope_id,
    is_padded_size,
    open_first_contact,
    open_session,
    pad,
    padded_size,
    padme,
    seal_first_contact,
    seal_session,
    unpad,
)
from protocol.errors import DecodeError, ProtocolError, UsageError
from protocol.handshake import PrekeyStore
from protocol.kat import SeededRng
from protocol.keys import IdentityKey, IdentityKeyPair
from protocol.labels import LABEL_FIRST_CONTACT_PSK, LABEL_FIRST_CONTACT_SEAL
from protocol.ratchet import MESSAGE_OVERHEAD, Session
from tests.external import REPO

NOW = 1_780_531_200
EPOCH = epoch_of(NOW)
TTL = 86_400


# --- padding --------------------------------------------------------------------------------


def _padme_paper(length: int) -> int:
    """PADMÉ as Nikitin et al. write it (Algorithm 1), with floating-point logarithms."""
    e = math.floor(math.log2(length))
    s = math.floor(math.log2(e)) + 1
    last_bits = e - s
    bit_mask = (1 << last_bits) - 1
    return (length + bit_mask) & ~bit_mask


def test_padme_matches_the_paper_for_every_length() -> None:
    for length in range(2, MAX_BODY_SIZE + 1):
        assert padme(length) == _padme_paper(length), length


def test_padded_sizes_overhead_and_fixed_points() -> None:
    sizes = {padded_size(n) for n in range(0, MAX_BODY_SIZE + 1)}
    assert min(sizes) == 256 and max(sizes) == MAX_BODY_SIZE
    for n in range(257, MAX_BODY_SIZE + 1):
        assert n <= padded_size(n) < n * 1.12
    assert sizes == {s for s in range(MAX_BODY_SIZE + 1) if is_padded_size(s)}
    with pytest.raises(UsageError):
        padded_size(MAX_BODY_SIZE + 1)


def test_spec_padding_table_is_the_code() -> None:
    text = (REPO / "spec" / "protocol.md").read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith("| unpadded `n` |"))
    rows = text.splitlines()
    padded = rows[rows.index(header) + 2]
    lengths = [c.strip() for c in header.split("|")[2:-1]]
    values = [int(c.strip().replace(" ", "")) for c in padded.split("|")[2:-1]]
    for cell, value in zip(lengths, values, strict=True):
        low = int(cell.split("–")[0].replace(" ", ""))
        assert padded_size(low) == value, cell


@given(st.binary(max_size=600), st.integers(1, 300))
def test_pad_unpad_round_trip(data: bytes, extra: int) -> None:
    assert unpad(pad(data, len(data) + extra)) == data


@given(st.binary(max_size=64), st.integers(1, 40), st.integers(0, 39), st.integers(1, 0x7F))
def test_unpad_refuses_a_non_zero_byte_after_the_marker(
    data: bytes, extra: int, where: int, value: int
) -> None:
    padded = bytearray(pad(data, len(data) + 1 + extra))
    padded[len(data) + 1 + where % extra] = value  # not 0x80: that would be a new marker
    with pytest.raises(DecodeError) as caught:
        unpad(bytes(padded))
    assert caught.value.code == "decode.padding"


@given(st.binary(max_size=64))
def test_unpad_accepts_only_canonical_paddings(padded: bytes) -> None:
    """Whatever unpad accepts is exactly pad() of what it returns (one padding per content)."""
    try:
        data = unpad(padded)
    except DecodeError as exc:
        assert exc.code == "decode.padding"
    else:
        assert pad(data, len(padded)) == padded


def _unpad_by_rstrip(padded: bytes) -> bytes | None:
    """§9.3 as first written: strip the zeros, then the marker (None: ``decode.padding``)."""
    stripped = padded.rstrip(b"\x00")
    return stripped[:-1] if stripped and stripped[-1] == 0x80 else None


@given(
    st.binary(max_size=64),
    st.sampled_from([b"", b"\x80", b"\x80\x80", b"\x01", b"\x80\x01"]),
    st.sampled_from([0, 1, 31, 300, 65_536, 70_000]),
)
def test_unpad_is_the_rstrip_definition(data: bytes, end: bytes, zeros: int) -> None:
    """unpad (a search for the last 0x80 and a comparison with zeros) accepts and returns
    exactly what stripping the zeros and the marker does, tails longer than a body included."""
    padded = data + end + bytes(zeros)
    expected = _unpad_by_rstrip(padded)
    for value in (padded, bytearray(padded)):
        if expected is None:
            with pytest.raises(DecodeError) as caught:
                unpad(value)  # type: ignore[arg-type]
            assert caught.value.code == "decode.padding"
        else:
            assert unpad(value) == expected  # type: ignore[arg-type]


def _unpad_session_by_definition(padded: bytes) -> tuple[str, bytes | str]:
    """§9.5 as first written: unpad, then compare the body with the padded size."""
    from protocol import envelope

    try:
        plaintext = unpad(padded)
    except DecodeError as exc:
        return exc.code, str(exc)
    n = len(plaintext) + MESSAGE_OVERHEAD + 1
    if padded_size(n) != len(padded) + MESSAGE_OVERHEAD:
        return "decode.padding", str(envelope._bad_size_error())
    return "ok", plaintext


@given(
    st.binary(max_size=300),
    st.integers(0, 400),
    st.one_of(st.none(), st.tuples(st.integers(0, 10_000), st.sampled_from([0, 1, 0x80]))),
)
def test_session_unpad_is_unpad_and_the_size_check(data: bytes, tail: int, edit: object) -> None:
    """The session envelope's written-out unpad (§9.5) accepts, returns and refuses (code and
    message) exactly as unpad followed by the body-size check."""
    from protocol import envelope

    padded = bytearray(data + (b"\x80" + bytes(tail - 1) if tail else b""))
    if edit is not None and padded:
        where, value = edit  # type: ignore[misc]
        padded[where % len(padded)] = value
    expected = _unpad_session_by_definition(bytes(padded))
    try:
        got: tuple[str, bytes | str] = ("ok", envelope._unpad_session(bytes(padded)))
    except DecodeError as exc:
        got = (exc.code, str(exc))
    assert got == expected


def test_session_unpad_at_every_body_size_boundary() -> None:
    """At every body size up to 64 KiB, the written-out unpad (§9.5) agrees with the definition
    on the shortest content the size admits, one byte shorter and one longer, and the two
    longest: the per-size table of zero runs is PADMÉ's table."""
    from protocol import envelope

    sizes = sorted(s for s in range(MAX_BODY_SIZE + 1) if is_padded_size(s))
    assert len(sizes) == len(envelope._LONGEST_ZEROS)
    for smaller, size in zip([0, *sizes], sizes, strict=False):
        room = size - MESSAGE_OVERHEAD  # the padded plaintext
        shortest = max(0, smaller + 1 - MESSAGE_OVERHEAD - 1)
        for content in {shortest - 1, shortest, shortest + 1, room - 2, room - 1}:
            if not 0 <= content < room:
                continue
            padded = b"\x07" * content + b"\x80" + bytes(room - content - 1)
            expected = _unpad_session_by_definition(padded)
            assert expected[0] == ("ok" if content >= shortest else "decode.padding")
            try:
                got: tuple[str, bytes | str] = ("ok", envelope._unpad_session(padded))
            except DecodeError as exc:
                got = (exc.code, str(exc))
            assert got == expected, (size, content)


# --- the envelope ---------------------------------------------------------------------------


@given(
    st.binary(min_size=32, max_size=32),
    st.integers(1, MAX_TTL),
    st.sampled_from([256, 272, 1152, 2048, 65_536]),
)
def test_envelope_round_trip(address: bytes, ttl: int, size: int) -> None:
    envelope = Envelope(address, ttl, bytes(size))
    data = envelope.to_bytes()
    assert len(data) == ENVELOPE_HEADER_SIZE + size
    assert Envelope.from_bytes(data) == envelope
    assert envelope.id == envelope_id(data) == hashlib.sha256(
        b"Blindpost-v1 envelope-id" + data
    ).digest()[:16]


@given(st.binary(max_size=400))
def test_envelope_decoding_raises_only_decode_errors(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        Envelope.from_bytes(data)


def test_envelope_construction_validates() -> None:
    bad = ((bytes(31), 1, bytes(256)), (bytes(32), 0, bytes(256)), (bytes(32), 1, bytes(300)))
    for address, ttl, body in bad:
        with pytest.raises(UsageError):
            Envelope(address, ttl, body)


# --- parties --------------------------------------------------------------------------------


@dataclass
class Pair:
    """Alice writes to Bob for the first time through Bob's routing ID."""

    alice: IdentityKeyPair
    bob: IdentityKeyPair
    store: PrekeyStore
    keys: FirstContactKeys
    bundle: FirstContactBundle
    routing_id: bytes
    alice_mailbox: ConversationMailbox


def _pair(seed: str, *, one_time: bool = True) -> Pair:
    rng = SeededRng(seed.encode())
    alice = IdentityKeyPair.generate(rng)
    bob = IdentityKeyPair.generate(rng)
    store, _upload = PrekeyStore.create(bob, now=NOW, rng=rng, batch=1 if one_time else 0)
    keys = FirstContactKeys(bob)
    keys.maintain(now=NOW, rng=rng)
    base = store.bundle()
    bundle = FirstContactBundle(
        base.identity, base.signed_prekey, base.one_time_prekey, keys.public(EPOCH)
    )
    return Pair(alice, bob, store, keys, bundle, rng(32), ConversationMailbox.generate(rng))


def _first_contact(pair: Pair, text: bytes = b"hi") -> tuple[bytes, Session, bytes]:
    content = Content(text, pair.alice_mailbox.grant(1)).to_bytes()
    sealed = seal_first_contact(
        pair.alice, pair.bundle, pair.routing_id, content, ttl=TTL, rng=SeededRng(b"seal")
    )
    return sealed.envelope, sealed.session, content


def _open(pair: Pair, envelope: bytes, epoch: int = EPOCH) -> tuple[Session, bytes, IdentityKey]:
    responded = open_first_contact(
        envelope, epoch=epoch, keys=pair.keys, prekeys=pair.store, rng=SeededRng(b"open")
    )
    return responded.session, responded.plaintext, responded.peer


def _stores(pair: Pair) -> tuple[object, ...]:
    return (pair.keys.epochs(), pair.store.held_ids())


# --- first contact --------------------------------------------------------------------------


def test_first_contact_round_trip_and_size() -> None:
    pair = _pair("round trip")
    envelope, _session, content = _first_contact(pair)
    assert len(envelope) == ENVELOPE_HEADER_SIZE + FIRST_CONTACT_BODY_SIZE
    _session_b, plaintext, peer = _open(pair, envelope)
    assert plaintext == content and peer == pair.alice.public
    grant = Content.from_bytes(plaintext).grant
    assert grant is not None and grant.mailbox_id == pair.alice_mailbox.mailbox_id


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, MAX_FIRST_CONTACT_CONTENT))
def test_first_contact_any_content_length(size: int) -> None:
    pair = _pair(f"length {size}")
    content = bytes([size % 251]) * size
    sealed = seal_first_contact(
        pair.alice, pair.bundle, pair.routing_id, content, ttl=TTL, rng=SeededRng(b"x")
    )
    assert len(sealed.envelope) == ENVELOPE_HEADER_SIZE + FIRST_CONTACT_BODY_SIZE
    assert _open(pair, sealed.envelope)[1] == content


def test_the_largest_inner_fills_the_padded_plaintext_exactly() -> None:
    identity = IdentityKeyPair.generate(SeededRng(b"inner")).public
    inner = FirstContactInner(
        identity=identity,
        ephemeral_key=bytes(range(1, 33)),
        signed_prekey_id=2**32 - 1,
        one_time_prekey_id=2**32 - 1,
        payload=bytes(MESSAGE_OVERHEAD + MAX_FIRST_CONTACT_CONTENT),
    )
    assert len(inner.to_bytes()) + 1 == FIRST_CONTACT_PLAINTEXT_SIZE
    pair = _pair("too long")
    with pytest.raises(UsageError):
        seal_first_contact(
            pair.alice,
            pair.bundle,
            pair.routing_id,
            bytes(MAX_FIRST_CONTACT_CONTENT + 1),
            ttl=TTL,
            rng=SeededRng(b"x"),
        )


def test_a_grant_and_541_bytes_of_text_fit_a_first_contact() -> None:
    grant = MailboxGrant(2**32 - 1, bytes(32), bytes(32))
    assert len(Content(bytes(541), grant).to_bytes()) == MAX_FIRST_CONTACT_CONTENT


def test_first_contact_shows_the_relay_nothing_of_the_sender() -> None:
    pair = _pair("what the relay sees")
    envelope, _session, content = _first_contact(pair, b"secret text")
    identity = pair.alice.public
    for value in (
        identity.signing_key,
        identity.dh_key,
        identity.binding_signature,
        identity.to_bytes(),
        pair.bob.public.signing_key,
        pair.bob.public.dh_key,
        b"secret text",
        content,
        pair.alice_mailbox.mailbox_id,
        pair.alice_mailbox.private_bytes()[32:],
    ):
        assert value not in envelope
    # No prekey id in the clear either: the ids of the bundle are small integers whose CBOR
    # encodings would be recognisable; the whole body after enc and CT is ciphertext.
    assert envelope[1:33] == pair.routing_id


def test_first_contact_replay_and_one_time_prekey() -> None:
    pair = _pair("replay")
    envelope, _session, _content = _first_contact(pair)
    _open(pair, envelope)
    before = _stores(pair)
    with pytest.raises(ProtocolError) as caught:
        _open(pair, envelope)
    assert caught.value.code == "state.unknown_prekey"
    assert _stores(pair) == before


def _mutations(data: bytes, positions: list[int]) -> list[bytes]:
    out = []
    for i in positions:
        for delta in (1, 0x80):
            out.append(data[:i] + bytes([data[i] ^ delta]) + data[i + 1 :])
    return out


def test_first_contact_single_byte_changes_fail_typed_and_change_nothing() -> None:
    pair = _pair("bit flips")
    envelope, _session, _content = _first_contact(pair)
    positions = sorted({0, 1, 20, 33, 36, *range(37, len(envelope), 97), len(envelope) - 1})
    for changed in _mutations(envelope, positions):
        before = _stores(pair)
        with pytest.raises(ProtocolError) as caught:
            _open(pair, changed)
        assert caught.value.code.split(".")[0] in ("decode", "auth", "state")
        assert _stores(pair) == before
    assert _open(pair, envelope)[2] == pair.alice.public  # still opens afterwards


def test_truncation_and_extension_fail_typed() -> None:
    pair = _pair("lengths")
    envelope, _session, _content = _first_contact(pair)
    for changed in (envelope[:-1], envelope[:300], envelope + b"\x00", b""):
        with pytest.raises(DecodeError):
            _open(pair, changed)


# --- independent path: RFC 9180 mode_psk on pyca primitives -----------------------------------


def _labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or bytes(32), b"HPKE-v1" + suite + label + ikm, "sha256").digest()


def _labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, size: int) -> bytes:
    info = size.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info
    out, block = b"", b""
    for counter in range(1, -(-size // 32) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), "sha256").digest()
        out += block
    return out[:size]


def _rfc9180_open_psk(
    enc: bytes, sk: bytes, info: bytes, aad: bytes, ct: bytes, psk: bytes, psk_id: bytes
) -> bytes:
    """RFC 9180 §4.1, §5.1, §5.2: DHKEM(X25519) + HKDF-SHA256 + ChaCha20-Poly1305, mode_psk."""
    kem = b"KEM\x00\x20"
    private = X25519PrivateKey.from_private_bytes(sk)
    dh = private.exchange(X25519PublicKey.from_public_bytes(enc))
    pk = private.public_key().public_bytes_raw()
    eae = _labeled_extract(kem, b"", b"eae_prk", dh)
    shared = _labeled_expand(kem, eae, b"shared_secret", enc + pk, 32)
    suite = b"HPKE\x00\x20\x00\x01\x00\x03"
    context = (
        b"\x01"
        + _labeled_extract(suite, b"", b"psk_id_hash", psk_id)
        + _labeled_extract(suite, b"", b"info_hash", info)
    )
    secret = _labeled_extract(suite, shared, b"secret", psk)
    key = _labeled_expand(suite, secret, b"key", context, 32)
    nonce = _labeled_expand(suite, secret, b"base_nonce", context, 12)
    return ChaCha20Poly1305(key).decrypt(nonce, ct, aad)


def test_published_first_contact_opens_with_an_independent_hpke() -> None:
    document = json.loads((REPO / "vectors" / "envelope.json").read_text(encoding="utf-8"))
    cases = [c for c in document["cases"] if c["kind"] == "first-contact"]
    assert cases
    for case in cases:
        h = bytes.fromhex
        envelope = h(case["envelope"])
        body = envelope[ENVELOPE_HEADER_SIZE:]
        key = next(k for k in case["first_contact_keys"] if k["epoch"] == case["epoch"])
        info = LABEL_FIRST_CONTACT_SEAL + case["epoch"].to_bytes(8, "big") + h(case["routing_id"])
        padded = _rfc9180_open_psk(
            body[:32],
            h(key["private_key"])[:32],
            info,
            envelope[:ENVELOPE_HEADER_SIZE] + body[32:1120],
            body[1120:],
            h(case["kem_shared_secret"]),
            LABEL_FIRST_CONTACT_PSK,
        )
        inner = h(case["inner"])
        assert padded == inner + b"\x80" + bytes(FIRST_CONTACT_PLAINTEXT_SIZE - len(inner) - 1)
        assert body[32:1120] == h(case["kem_ciphertext"])


# --- session envelopes ----------------------------------------------------------------------


def _sessions(seed: str) -> tuple[Session, Session, bytes]:
    """Alice's and Bob's sessions after a first contact, and Bob's answer address."""
    pair = _pair(seed)
    envelope, alice, content = _first_contact(pair)
    bob, _plaintext, _peer = _open(pair, envelope)
    grant = Content.from_bytes(content).grant
    assert grant is not None
    return alice, bob, grant.mailbox_id


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.integers(0, 2000), st.integers(MAX_SESSION_PLAINTEXT - 3000, MAX_SESSION_PLAINTEXT)
    )
)
def test_session_round_trip_for_any_length(size: int) -> None:
    alice, bob, address = _sessions("session lengths")
    plaintext = bytes([size % 256]) * size
    envelope = seal_session(bob, address, plaintext, ttl=TTL)
    body = len(envelope) - ENVELOPE_HEADER_SIZE
    assert body == padded_size(MESSAGE_OVERHEAD + size + 1)
    assert open_session(envelope, alice) == plaintext


def test_session_too_long_is_refused() -> None:
    _alice, bob, address = _sessions("too long")
    with pytest.raises(UsageError):
        seal_session(bob, address, bytes(MAX_SESSION_PLAINTEXT + 1), ttl=TTL)


def test_session_single_byte_changes_fail_typed_and_change_nothing() -> None:
    """Every byte but the relay's routing data (address, TTL: §9.5 says why they are not bound)
    is checked; a TTL out of range is still refused."""
    alice, bob, address = _sessions("session flips")
    envelope = seal_session(bob, address, Content(b"x" * 300).to_bytes(), ttl=TTL)
    positions = [0, *range(ENVELOPE_HEADER_SIZE, len(envelope))]
    ttl_out_of_range = [envelope[:33] + bytes(4) + envelope[37:]]
    for changed in _mutations(envelope, positions) + ttl_out_of_range:
        before = alice.snapshot()
        with pytest.raises(ProtocolError) as caught:
            open_session(changed, alice)
        assert caught.value.code.split(".")[0] in ("decode", "auth", "state")
        assert alice.snapshot() == before
    assert Content.from_bytes(open_session(envelope, alice)).body == b"x" * 300


def test_session_padding_errors_leave_the_session_unchanged() -> None:
    alice, bob, address = _sessions("padding errors")
    fork = Session.restore(bob.snapshot(), rng=SeededRng(b"fork"))
    content = Content(b"hello").to_bytes()
    bad = fork.encrypt(pad(content, 256 - MESSAGE_OVERHEAD)[:-1] + b"\x01")
    before = alice.snapshot()
    with pytest.raises(DecodeError) as caught:
        open_session(Envelope(address, TTL, bad).to_bytes(), alice)
    assert caught.value.code == "decode.padding"
    assert alice.snapshot() == before
    genuine = seal_session(bob, address, content, ttl=TTL)
    assert open_session(genuine, alice) == content


# --- the size table of §9.8 -----------------------------------------------------------------


def test_spec_size_table_matches_real_envelopes() -> None:
    text = (REPO / "spec" / "protocol.md").read_text(encoding="utf-8")
    section = text[text.index("### 9.8 Sizes") :]
    row = r"^\| session message \| ([\d,]+) \| ([\d,]+) \| (\d+) \| (\d+) \| (\d+) \|$"
    rows = re.findall(row, section, re.MULTILINE)
    assert len(rows) == 3
    _alice, bob, address = _sessions("sizes")
    for text_size, content_size, body, wire, overhead in rows:
        size = int(text_size.replace(",", ""))
        content = Content(bytes(size)).to_bytes()
        assert len(content) == int(content_size.replace(",", ""))
        envelope = seal_session(bob, address, content, ttl=TTL)
        assert len(envelope) - ENVELOPE_HEADER_SIZE == int(body)
        assert len(envelope) == int(wire) == size + int(overhead)
    row = r"^\| first contact \| up to (\d+) \| up to (\d+) \| (\d+) \| (\d+) \|"
    first = re.search(row, section, re.MULTILINE)
    assert first is not None
    assert int(first.group(2)) == MAX_FIRST_CONTACT_CONTENT
    assert int(first.group(3)) == FIRST_CONTACT_BODY_SIZE
    pair = _pair("size of a first contact")
    assert len(_first_contact(pair, bytes(int(first.group(1))))[0]) == int(first.group(4))


# --- first-contact keys ---------------------------------------------------------------------


def test_first_contact_key_lifecycle_and_expiry() -> None:
    pair = _pair("lifecycle")
    assert pair.keys.epochs() == (EPOCH, EPOCH + 1)
    envelope, _session, _content = _first_contact(pair)
    later = NOW + (FIRST_CONTACT_KEY_RETENTION + 1) * EPOCH_LENGTH
    created = pair.keys.maintain(now=later, rng=SeededRng(b"later"))
    assert [k.epoch for k in created] == [epoch_of(later), epoch_of(later) + 1]
    assert EPOCH not in pair.keys.epochs() and EPOCH + 1 in pair.keys.epochs()
    with pytest.raises(ProtocolError) as caught:
        _open(pair, envelope)
    assert caught.value.code == "state.unknown_prekey"


def test_first_contact_key_decoding_checks() -> None:
    pair = _pair("key checks")
    key = pair.keys.public(EPOCH)
    assert FirstContactKey.from_bytes(key.to_bytes()) == key
    key.verify(pair.bob.public)
    with pytest.raises(ProtocolError) as caught:
        key.verify(pair.alice.public)
    assert caught.value.code == "auth.failed"
    other = pair.keys.public(EPOCH + 1)
    with pytest.raises(UsageError):  # a KEM prekey whose id is not the epoch
        FirstContactKey(EPOCH, key.dh_key, other.kem_prekey, key.signature)


def test_bundle_with_a_bad_first_contact_signature_is_refused_before_use() -> None:
    pair = _pair("bad signature")
    key = pair.bundle.first_contact_key
    forged = FirstContactKey(key.epoch, key.dh_key, key.kem_prekey, bytes(64))
    bundle = FirstContactBundle(
        pair.bundle.identity, pair.bundle.signed_prekey, pair.bundle.one_time_prekey, forged
    )
    with pytest.raises(ProtocolError) as caught:
        seal_first_contact(pair.alice, bundle, pair.routing_id, b"", ttl=TTL, rng=SeededRng(b"x"))
    assert caught.value.code == "auth.failed"


# --- secrets ----------------------------------------------------------------------------------


def test_secrets_are_redacted_and_unpicklable() -> None:
    rng = SeededRng(b"secrets")
    mailbox = ConversationMailbox.generate(rng)
    grant = mailbox.grant(7)
    content = Content(b"very private words", grant)
    identity = IdentityKeyPair.generate(rng)
    pair = FirstContactKeyPair.generate(identity, epoch=EPOCH, now=NOW, rng=rng)
    keys = FirstContactKeys(identity, [pair])
    for obj in (mailbox, grant, content, pair, keys):
        text = repr(obj)
        assert grant.deposit_key.hex() not in text and "very private" not in text
        assert "redacted" in text or "bytes>" in text
        with pytest.raises(TypeError):
            pickle.dumps(obj)
    assert ConversationMailbox.from_private_bytes(mailbox.private_bytes()).mailbox_id == (
        mailbox.mailbox_id
    )
    again = FirstContactKeyPair.from_private_bytes(pair.private_bytes(), pair.public)
    assert again.public == pair.public
