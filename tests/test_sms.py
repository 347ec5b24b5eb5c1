"""Spec §11: SMS fallback — segments, compact forms, reassembly, the transport policy.

Known answers are in ``vectors/sms.json`` (tests/test_vectors.py); here:

* independent paths: a TS 23.040 user-data-header reader and the GSM 03.38 default alphabet
  written out from the standards (not from ``protocol.sms``) read every published segment;
* the segment tables of §11.8 against real encodings;
* Hypothesis: any permutation with duplicates reassembles; any hostile stream keeps the
  reassembler within its bounds; random bytes and mutations to every decoder give only
  ``DecodeError``;
* session and first-contact round trips in both profiles, padding canonicality, the transport
  policy (deadline, loss of IP, duplicates from both paths).
"""

from __future__ import annotations

import contextlib
import json
import random
import re
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.blinding import epoch_of
from protocol.envelope import (
    Content,
    ConversationMailbox,
    FirstContactBundle,
    FirstContactKeys,
    open_session,
    pad,
    seal_session,
)
from protocol.errors import DecodeError, ProtocolError, UsageError
from protocol.handshake import PrekeyStore
from protocol.kat import SeededRng
from protocol.keys import IdentityKeyPair
from protocol.ratchet import MESSAGE_OVERHEAD, Session, SessionIndex
from protocol.sms import (
    BINARY_FIRST_PAYLOAD,
    BINARY_NEXT_PAYLOAD,
    BINARY_SINGLE_PAYLOAD,
    FALLBACK_DEADLINE,
    MAX_BINARY_SIZE,
    MAX_SEGMENTS,
    MAX_TEXT_SIZE,
    SMS_PORT,
    TEXT_PREFIX,
    Deposit,
    Duplicate,
    Profile,
    Reassembled,
    Reassembler,
    ReassemblyLimits,
    Received,
    SendSms,
    TextSegment,
    TransportPolicy,
    WaitForIp,
    capacity,
    decode_compact,
    decode_text,
    encode_text,
    fill_size,
    open_sms_first_contact,
    open_sms_session,
    parse_binary_segment,
    parse_text_segment,
    seal_sms_first_contact,
    seal_sms_session,
    segment,
    segment_count,
    session_form_of_envelope,
    sms_first_contact_size,
    split_binary,
    split_text,
    text_length,
)
from tests.external import REPO

NOW = 1_780_531_200
EPOCH = epoch_of(NOW)
TTL = 86_400
ALICE_NUMBER = "+447700900123"


def _codes(action: object) -> str:
    try:
        action()  # type: ignore[operator]
    except ProtocolError as exc:
        return exc.code
    return "ok"


# --- independent paths: TS 23.040 headers and the GSM 03.38 default alphabet ------------------

#: 3GPP TS 23.038 §6.2.1: the GSM 7-bit default alphabet, code 0x00 to 0x7F (0x1B is the escape
#: to the extension table, written here as None). Written out from the standard.
GSM_DEFAULT_ALPHABET: list[str | None] = [
    "@", "£", "$", "¥", "è", "é", "ù", "ì", "ò", "Ç", "\n", "Ø", "ø", "\r", "Å", "å",
    "Δ", "_", "Φ", "Γ", "Λ", "Ω", "Π", "Ψ", "Σ", "Θ", "Ξ", None, "Æ", "æ", "ß", "É",
    " ", "!", '"', "#", "¤", "%", "&", "'", "(", ")", "*", "+", ",", "-", ".", "/",
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ":", ";", "<", "=", ">", "?",
    "¡", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O",
    "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "Ä", "Ö", "Ñ", "Ü", "§",
    "¿", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
    "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "ä", "ö", "ñ", "ü", "à",
]  # fmt: skip


def test_every_text_character_is_a_basic_set_character_without_escape() -> None:
    assert len(GSM_DEFAULT_ALPHABET) == 128
    basic = {c for c in GSM_DEFAULT_ALPHABET if c is not None}
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    assert alphabet | set(TEXT_PREFIX) <= basic
    # One septet each, and at the ASCII position: a gateway that maps GSM to ASCII or Latin-1
    # (or back) leaves them alone. '@', '$' and '_' would not be at their ASCII positions.
    for char in alphabet | set(TEXT_PREFIX):
        assert GSM_DEFAULT_ALPHABET.index(char) == ord(char), char


def _read_udh(user_data: bytes) -> tuple[dict[int, bytes], bytes]:
    """TS 23.040 §9.2.3.24: UDHL, then (IEI, IEDL, IED) elements; the rest is the message."""
    udhl = user_data[0]
    header, rest = user_data[1 : 1 + udhl], user_data[1 + udhl :]
    elements: dict[int, bytes] = {}
    i = 0
    while i < len(header):
        iei, length = header[i], header[i + 1]
        assert iei not in elements
        elements[iei] = header[i + 2 : i + 2 + length]
        assert len(elements[iei]) == length
        i += 2 + length
    return elements, rest


def _independent_join(segments: list[bytes]) -> bytes:
    """Reassemble as a TS 23.040 receiver would: by the concatenation element's number."""
    parts = {}
    for user_data in segments:
        assert len(user_data) <= 140
        elements, rest = _read_udh(user_data)
        port = elements.get(0x05)
        if 0x00 in elements:
            _reference, count, number = elements[0x00]
            assert (number == 1) == (port is not None)
        else:
            count, number = 1, 1
            assert port is not None
        if port is not None:
            assert int.from_bytes(port[:2], "big") == int.from_bytes(port[2:], "big") == SMS_PORT
        assert len(segments) == count
        parts[number] = rest
    return b"".join(parts[n] for n in sorted(parts))


def test_published_binary_segments_read_by_an_independent_23040_reader() -> None:
    document = json.loads((REPO / "vectors" / "sms.json").read_text(encoding="utf-8"))
    cases = [c for c in document["cases"] if c["kind"] == "split-binary"]
    assert cases
    for case in cases:
        segments = [bytes.fromhex(s) for s in case["segments"]]
        assert _independent_join(segments) == bytes.fromhex(case["data"])
        assert all(len(s) == 140 for s in segments[:-1])


def test_published_text_segments_decode_with_the_standard_library() -> None:
    import base64

    document = json.loads((REPO / "vectors" / "sms.json").read_text(encoding="utf-8"))
    cases = [c for c in document["cases"] if c["kind"] == "split-text"]
    assert cases
    for case in cases:
        text = "".join(s["text"] for s in case["segments"])
        assert text == case["text"] and text.startswith("?BP1")
        body = text[4:]
        assert base64.b64decode(body + "=" * (-len(body) % 4)) == bytes.fromhex(case["data"])
        for s in case["segments"]:
            assert all(GSM_DEFAULT_ALPHABET.index(c) == ord(c) for c in s["text"])


# --- sizes --------------------------------------------------------------------------------


def test_capacities_and_counts_agree() -> None:
    assert (BINARY_SINGLE_PAYLOAD, BINARY_FIRST_PAYLOAD, BINARY_NEXT_PAYLOAD) == (133, 128, 134)
    assert capacity(Profile.BINARY, MAX_SEGMENTS) == MAX_BINARY_SIZE == 34_164
    assert capacity(Profile.TEXT, MAX_SEGMENTS) == MAX_TEXT_SIZE == 29_258
    for profile in Profile:
        for size in range(1, capacity(profile, 30) + 1):
            count = segment_count(profile, size)
            assert count is not None
            assert len(segment(profile, bytes(size), 0)) == count
            assert capacity(profile, count) >= size
            assert count == 1 or capacity(profile, count - 1) < size
        assert segment_count(profile, capacity(profile, MAX_SEGMENTS) + 1) is None
        assert fill_size(profile, capacity(profile, MAX_SEGMENTS) + 1) is None
    assert text_length(capacity(Profile.TEXT, 1)) == 160


def test_spec_constants_are_the_code() -> None:
    import protocol.sms as sms

    spec = (REPO / "spec" / "protocol.md").read_text(encoding="utf-8")
    section = spec[spec.index("### 11.1 Constants") : spec.index("### 11.2")]
    rows = re.findall(r"^\| `([A-Z_]+)` \| ([\d ]+)(?: \(| s |\|)", section, re.MULTILINE)
    assert len(rows) >= 18
    for name, value in rows:
        assert getattr(sms, name) == int(value.replace(" ", "")), name
    assert sms.TEXT_PREFIX == "?BP1" and (sms.FORM_SESSION, sms.FORM_FIRST_CONTACT) == (1, 2)


def _content(text_size: int) -> bytes:
    return Content(bytes(text_size)).to_bytes()


def test_spec_segment_tables_match_real_encodings() -> None:
    spec = (REPO / "spec" / "protocol.md").read_text(encoding="utf-8")
    section = spec[spec.index("### 11.8 Segment tables") :]
    row = (
        r"^\| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$"
    )
    rows = re.findall(row, section, re.MULTILINE)
    assert len(rows) >= 8
    alice, bob = _sessions("tables")
    for values in rows:
        text, content, b_size, b_count, t_size, t_count, f_size, fb_count, ft_count = map(
            int, values
        )
        data = _content(text)
        assert len(data) == content
        binary = seal_sms_session(alice, data, profile=Profile.BINARY)
        assert (len(binary), len(split_binary(binary, 0))) == (b_size, b_count)
        texts = seal_sms_session(alice, data, profile=Profile.TEXT)
        assert (len(texts), len(split_text(encode_text(texts), 0))) == (t_size, t_count)
        fallback = session_form_of_envelope(seal_session(alice, bytes(32), data, ttl=TTL))
        assert len(fallback) == f_size
        assert len(segment(Profile.BINARY, fallback, 0)) == fb_count
        assert len(segment(Profile.TEXT, fallback, 0)) == ft_count
        for sealed, profile in ((binary, Profile.BINARY), (texts, Profile.TEXT)):
            assert open_sms_session(sealed, bob, profile=profile) == data
        assert open_sms_session(fallback, bob, profile=Profile.TEXT) == data
    first = r"^\| first contact \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$"
    rows = re.findall(first, section, re.MULTILINE)
    assert len(rows) == 3
    pair = _pair("first-contact table")
    for values in rows:
        text, content, b_size, b_count, t_size, t_count = map(int, values)
        data = Content(bytes(text), pair.mailbox.grant(2**32 - 1)).to_bytes()
        assert len(data) == content
        for profile, size, count in ((Profile.BINARY, b_size, b_count), (Profile.TEXT, t_size,
                                     t_count)):  # fmt: skip
            sealed = seal_sms_first_contact(
                pair.alice, pair.bundle, data, profile=profile, rng=SeededRng(b"t")
            )
            assert len(sealed.data) == size
            assert len(segment(profile, sealed.data, 0)) == count
            assert size == sms_first_contact_size(profile, pair.alice.public, pair.bundle, content)


def test_budget_a_100_byte_text_fits_two_binary_segments_either_way() -> None:
    alice, _bob = _sessions("budget")
    data = _content(100)
    sealed = seal_sms_session(alice, data, profile=Profile.BINARY)
    assert len(segment(Profile.BINARY, sealed, 0)) == 2
    fallback = session_form_of_envelope(seal_session(alice, bytes(32), data, ttl=TTL))
    assert len(split_binary(fallback, 0)) == 2


# --- parties ------------------------------------------------------------------------------


def _sessions(seed: str) -> tuple[Session, Session]:
    """Alice's and Bob's sessions after a handshake (Bob has answered once)."""
    pair = _pair(seed)
    sealed = seal_sms_first_contact(
        pair.alice, pair.bundle, Content(b"hi").to_bytes(), profile=Profile.BINARY,
        rng=SeededRng(seed.encode()),
    )  # fmt: skip
    responded = open_sms_first_contact(
        sealed.data, keys=pair.keys, prekeys=pair.store, profile=Profile.BINARY,
        rng=SeededRng(b"bob"),
    )  # fmt: skip
    alice, bob = sealed.session, responded.session
    alice.decrypt(bob.encrypt(b"hello"))
    return alice, bob


@dataclass
class Pair:
    alice: IdentityKeyPair
    bob: IdentityKeyPair
    store: PrekeyStore
    keys: FirstContactKeys
    bundle: FirstContactBundle
    mailbox: ConversationMailbox


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
    return Pair(alice, bob, store, keys, bundle, ConversationMailbox.generate(rng))


# --- binary and text segments ------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=3000), st.integers(0, 255))
def test_binary_split_is_exact_and_reads_back(data: bytes, reference: int) -> None:
    segments = split_binary(data, reference)
    assert all(len(s) == 140 for s in segments[:-1]) and len(segments[-1]) <= 140
    assert _independent_join(list(segments)) == data
    parsed = [parse_binary_segment(s) for s in segments]
    assert b"".join(p[4] for p in parsed) == data
    if len(segments) > 1:
        assert {p[1] for p in parsed} == {reference}
        assert [p[3] for p in parsed] == list(range(1, len(segments) + 1))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000), st.integers(0, 255))
def test_text_round_trip(data: bytes, reference: int) -> None:
    text = encode_text(data)
    assert decode_text(text) == data
    assert len(text) == text_length(len(data))
    segments = split_text(text, reference)
    assert "".join(s.text for s in segments) == text
    assert all(len(s.text) == 153 for s in segments[:-1])
    assert [parse_text_segment(s)[3] for s in segments] == list(range(1, len(segments) + 1))


@pytest.mark.parametrize(
    ("user_data", "code"),
    [
        (bytes(141), "decode.too_large"),
        (b"", "decode.truncated"),
        (b"\x0b\x00\x03", "decode.truncated"),
        (b"\x05\x00\x02\x01\x02\x01x", "decode.length"),
        (b"\x05\x00\x03\x01\x02\x00x", "decode.range"),
        (b"\x05\x00\x03\x01\x00\x00x", "decode.range"),
        (b"\x05\x00\x03\x01\x02\x03x", "decode.range"),
        (b"\x05\x00\x03\x01\x02\x01x", "decode.missing_field"),
        (b"\x06\x05\x04\x00\x50\x3f\x58x", "decode.range"),
        (b"\x06\x07\x04\x3f\x58\x3f\x58x", "decode.unknown_field"),
        (b"\x0a\x00\x03\x01\x02\x02\x00\x03\x01\x02\x02x", "decode.duplicate_key"),
        (b"\x0b\x00\x03\x01\x02\x02\x08\x04\x00\x01\x02\x02x", "decode.duplicate_key"),
        (b"\x06\x05\x04\x3f\x58\x3f\x58", "decode.length"),
        (b"\x05\x00\x03\x01\x03\x02" + bytes(100), "decode.length"),
    ],
)
def test_binary_segment_errors(user_data: bytes, code: str) -> None:
    assert _codes(lambda: parse_binary_segment(user_data)) == code


def test_binary_segment_accepts_a_16_bit_reference_and_a_repeated_port() -> None:
    port = b"\x05\x04\x3f\x58\x3f\x58"
    first = b"\x0c\x08\x04\x12\x34\x02\x01" + port + bytes(127)
    later = b"\x0c\x08\x04\x12\x34\x02\x02" + port + b"tail"
    assert parse_binary_segment(first)[:4] == (True, 0x1234, 2, 1)
    r = Reassembler()
    assert r.receive("a", later, now=0) is None
    done = r.receive("a", first, now=0)
    assert done is not None and done.data == bytes(127) + b"tail"


@pytest.mark.parametrize(
    ("segment_", "code"),
    [
        (TextSegment(b"", "?" * 161), "decode.too_large"),
        (TextSegment(b"\x05\x00\x03\x01\x02\x01", "A" * 154), "decode.too_large"),
        (TextSegment(b"", "?BP1é"), "decode.alphabet"),
        (TextSegment(b"", "?BP1 AAA"), "decode.alphabet"),
        (TextSegment(b"", ""), "decode.length"),
        (TextSegment(b"\x05\x00\x03\x01\x02\x01", "A" * 152), "decode.length"),
        (TextSegment(b"\x06\x00\x03\x01\x02\x01", "A"), "decode.length"),
        (TextSegment(b"\x06\x05\x04\x3f\x58\x3f\x58", "A"), "decode.unknown_field"),
    ],
)
def test_text_segment_errors(segment_: TextSegment, code: str) -> None:
    assert _codes(lambda: parse_text_segment(segment_)) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Hello, are you there?", "decode.version"),
        ("?BP2AAAA", "decode.version"),
        ("?BP1A", "decode.alphabet"),
        ("?BP1AB", "decode.alphabet"),  # 'B' leaves unused bits set: not canonical
        ("?BP1AA==", "decode.alphabet"),
        ("?BP1A-AA", "decode.alphabet"),
        ("?BP1" + "A" * 40_000, "decode.too_large"),
    ],
)
def test_text_decoding_errors(text: str, code: str) -> None:
    assert _codes(lambda: decode_text(text)) == code
    assert decode_text("?BP1AA") == b"\x00"


def test_compact_form_errors() -> None:
    assert _codes(lambda: decode_compact(b"")) == "decode.length"
    assert _codes(lambda: decode_compact(b"\x03" + bytes(100))) == "decode.version"
    assert _codes(lambda: decode_compact(b"\x01" + bytes(87))) == "decode.length"
    assert _codes(lambda: decode_compact(b"\x01" + bytes(MAX_BINARY_SIZE))) == "decode.too_large"
    assert _codes(lambda: decode_compact(b"\x02\xa0")) == "decode.version"
    assert _codes(lambda: decode_compact(b"\x01" + bytes(88))) == "ok"


def test_sending_refuses_what_does_not_fit() -> None:
    with pytest.raises(UsageError):
        split_binary(bytes(MAX_BINARY_SIZE + 1), 0)
    with pytest.raises(UsageError):
        split_binary(bytes(200), 256)
    with pytest.raises(UsageError):
        split_binary(b"", 0)
    assert len(split_binary(bytes(MAX_BINARY_SIZE), 0)) == MAX_SEGMENTS
    assert len(segment(Profile.TEXT, bytes(MAX_TEXT_SIZE), 0)) == MAX_SEGMENTS
    with pytest.raises(UsageError):
        segment(Profile.TEXT, bytes(MAX_TEXT_SIZE + 1), 0)


# --- hostile input to every decoder ------------------------------------------------------------


_DECODERS = [
    parse_binary_segment,
    decode_compact,
    lambda data: decode_text(data.decode("latin-1")),
    lambda data: parse_text_segment(TextSegment(data[:8], data[8:].decode("latin-1"))),
]


def _seeds() -> list[bytes]:
    alice, _bob = _sessions("seeds")
    session = seal_sms_session(alice, _content(200), profile=Profile.BINARY)
    pair = _pair("seeds")
    first = seal_sms_first_contact(
        pair.alice, pair.bundle, _content(10), profile=Profile.BINARY, rng=SeededRng(b"s")
    ).data
    out = [session, first, *split_binary(session, 9), *split_binary(first, 3)[:2]]
    out.append(encode_text(session).encode())
    return out


SEEDS = _seeds()


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "set"]))
        if op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate" and data:
            del data[draw(st.integers(0, len(data) - 1)) :]
        elif op == "insert":
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(min_size=1, max_size=9))
        elif op == "delete" and data:
            i = draw(st.integers(0, len(data) - 1))
            del data[i : i + draw(st.integers(1, 9))]
        elif op == "set" and data:
            data[draw(st.integers(0, min(len(data) - 1, 12)))] = draw(st.integers(0, 255))
    return bytes(data)


@pytest.mark.parametrize("decoder", _DECODERS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=300), _mutated()))
def test_hostile_bytes_raise_only_decode_errors(decoder: object, data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decoder(data)  # type: ignore[operator]


# --- reassembly -----------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    st.binary(min_size=1, max_size=2500),
    st.sampled_from(list(Profile)),
    st.randoms(use_true_random=False),
    st.integers(0, 12),
)
def test_any_permutation_with_duplicates_reassembles(
    data: bytes, profile: Profile, rnd: random.Random, duplicates: int
) -> None:
    segments = list(segment(profile, data, 77))
    stream = segments + [rnd.choice(segments) for _ in range(duplicates)]
    rnd.shuffle(stream)
    reassembler = Reassembler()
    done = []
    for piece in stream:
        message = reassembler.receive(ALICE_NUMBER, piece, now=NOW)
        if message is not None:
            done.append(message)
    assert done and all(m == Reassembled(ALICE_NUMBER.encode(), profile, data) for m in done)
    # Only a duplicate arriving after its message completed can leave a partial message.
    assert len(done) == 1 or len(segments) == 1


def test_a_conflicting_duplicate_drops_the_partial_message() -> None:
    segments = split_binary(bytes(range(256)) * 2, 5)
    reassembler = Reassembler()
    reassembler.receive("x", segments[0], now=0)
    reassembler.receive("x", segments[1], now=0)
    forged = segments[1][:-1] + b"\x00"
    with pytest.raises(DecodeError) as caught:
        reassembler.receive("x", forged, now=0)
    assert caught.value.code == "decode.conflict"
    assert len(reassembler) == 0
    other_count = b"\x05\x00\x03\x05\x09\x02" + bytes(134)
    reassembler.receive("x", segments[0], now=0)
    with pytest.raises(DecodeError) as caught:
        reassembler.receive("x", other_count, now=0)
    assert caught.value.code == "decode.conflict" and len(reassembler) == 0


def test_timeout_and_senders_are_separate() -> None:
    segments = split_binary(bytes(500), 1)
    r = Reassembler(ReassemblyLimits(timeout=100))
    r.receive("a", segments[0], now=0)
    r.receive("b", segments[1], now=50)
    assert [p.sender for p in r.snapshot().partials] == [b"a", b"b"]
    assert r.receive("a", segments[1], now=99) is None
    expired = r.expire(100)
    assert [p.sender for p in expired] == [b"a"] and expired[0].numbers == (1, 2)
    assert r.receive("a", segments[2], now=120) is None  # starts anew
    assert [(p.sender, p.numbers) for p in r.snapshot().partials] == [(b"b", (2,)), (b"a", (3,))]
    assert r.receive("b", segments[0], now=149) is None
    r.receive("b", segments[2], now=150)  # b expired first (first segment at 50)
    assert [(p.sender, p.numbers) for p in r.snapshot().partials] == [(b"a", (3,)), (b"b", (3,))]


def test_eviction_oldest_first_per_sender_and_in_total() -> None:
    limits = ReassemblyLimits(
        max_sender_partials=2, max_sender_bytes=40_000, max_partials=3, max_bytes=40_000
    )
    r = Reassembler(limits)
    first = [split_binary(bytes(300), ref)[0] for ref in range(6)]
    r.receive("a", first[0], now=1)
    r.receive("a", first[1], now=2)
    r.receive("a", first[2], now=3)  # a's oldest (ref 0) goes
    assert [p.reference for p in r.snapshot().partials] == [1, 2]
    r.receive("b", first[3], now=4)
    r.receive("c", first[4], now=5)  # the oldest of all (a, ref 1) goes
    assert [(p.sender, p.reference) for p in r.snapshot().partials] == [
        (b"a", 2), (b"b", 3), (b"c", 4)
    ]  # fmt: skip
    big = split_binary(bytes(34_000), 9)
    for piece in big[:-1]:
        r.receive("d", piece, now=6)
    snapshot = r.snapshot()
    assert snapshot.size <= limits.max_bytes and len(snapshot.partials) <= limits.max_partials
    assert snapshot.partials[-1].sender == b"d"


@st.composite
def _hostile_segment(draw: st.DrawFn) -> bytes | TextSegment:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=141))
    reference = draw(st.integers(0, 3))
    count = draw(st.integers(1, 6))
    number = draw(st.integers(1, count))
    if kind == 1:
        port = b"\x05\x04\x3f\x58\x3f\x58" if number == 1 else b""
        head = bytes([5 + len(port), 0, 3, reference, count, number]) + port
        size = 140 - len(head) if number < count else draw(st.integers(1, 140 - len(head)))
        return head + draw(st.binary(min_size=size, max_size=size))
    if kind == 2:
        head = bytes([5, 0, 3, reference, count, number])
        size = 153 if number < count else draw(st.integers(1, 153))
        return TextSegment(head, draw(st.text("ABC?", min_size=size, max_size=size)))
    return TextSegment(b"", draw(st.text("?BP1AB", max_size=20)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d"]), _hostile_segment(), st.integers(0, 9)),
        max_size=120,
    )
)
def test_any_hostile_stream_stays_within_the_bounds(
    stream: list[tuple[str, bytes | TextSegment, int]],
) -> None:
    limits = ReassemblyLimits(
        timeout=20, max_sender_partials=2, max_sender_bytes=40_000, max_partials=5,
        max_bytes=40_000,
    )  # fmt: skip
    r = Reassembler(limits)
    now = 0
    for sender, piece, step in stream:
        now += step
        with contextlib.suppress(DecodeError):
            r.receive(sender, piece, now=now)
        snapshot = r.snapshot()
        assert len(snapshot.partials) <= limits.max_partials
        assert snapshot.size <= limits.max_bytes
        assert snapshot.size == sum(p.size for p in snapshot.partials)
        for name in "abcd":
            count, size = snapshot.sender(name.encode())
            assert count <= limits.max_sender_partials and size <= limits.max_sender_bytes
        r.expire(now)  # an invalid segment raises before expiry runs; expire() is explicit
        assert all(now - p.created < limits.timeout for p in r.snapshot().partials)


def test_receive_gives_the_codes_of_the_parser_for_every_prefix_and_flip() -> None:
    """The reassembler's hot path for later segments must agree with parse_binary_segment."""
    data = bytes(range(256)) * 2
    for piece in split_binary(data, 3):
        variants = [piece[:n] for n in range(len(piece) + 1)]
        variants += [piece[:i] + bytes([piece[i] ^ 0xFF]) + piece[i + 1 :] for i in range(8)]
        for variant in variants:
            expected = _codes(lambda v=variant: parse_binary_segment(v))
            got = _codes(lambda v=variant: Reassembler().receive("s", v, now=0))
            assert got == expected or (expected == "ok" and got == "ok"), (variant.hex(), got)


def test_sender_bounds() -> None:
    r = Reassembler()
    piece = split_binary(b"x", 0)[0]
    assert _codes(lambda: r.receive("", piece, now=0)) == "decode.length"
    assert _codes(lambda: r.receive("x" * 33, piece, now=0)) == "decode.length"
    assert _codes(lambda: r.receive(5, piece, now=0)) == "usage.bad_argument"  # type: ignore[arg-type]
    assert _codes(lambda: ReassemblyLimits(max_sender_bytes=1000)) == "usage.bad_argument"


# --- sessions and first contacts -------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 1500), st.sampled_from(list(Profile)))
def test_session_over_sms_round_trip_and_fill(size: int, profile: Profile) -> None:
    alice, bob = _sessions("lengths")
    content = bytes([size % 251]) * size
    data = seal_sms_session(alice, content, profile=profile)
    assert len(data) == fill_size(profile, 1 + MESSAGE_OVERHEAD + size + 1)
    assert open_sms_session(data, bob, profile=profile) == content


def test_session_padding_must_be_one_of_the_two_canonical_sizes() -> None:
    alice, bob = _sessions("canonical")
    content = _content(100)
    fork = Session.restore(alice.snapshot(), rng=SeededRng(b"fork"))

    def sealed_to(size: int) -> bytes:
        copy = Session.restore(fork.snapshot(), rng=SeededRng(b"fork"))
        return b"\x01" + copy.encrypt(pad(content, size - 1 - MESSAGE_OVERHEAD))

    binary_fill = fill_size(Profile.BINARY, 90 + len(content))
    text_fill = fill_size(Profile.TEXT, 90 + len(content))
    assert binary_fill is not None and text_fill is not None
    before = bob.snapshot()
    for size, profile in ((binary_fill, Profile.TEXT), (text_fill, Profile.BINARY),
                          (binary_fill - 1, Profile.BINARY), (250, Profile.BINARY)):  # fmt: skip
        assert _codes(lambda s=size, p=profile: open_sms_session(sealed_to(s), bob, profile=p)) == (
            "decode.padding"
        )
        assert bob.snapshot() == before
    assert open_sms_session(sealed_to(binary_fill), bob, profile=Profile.BINARY) == content


def test_fallback_is_the_same_ratchet_message_and_a_replay() -> None:
    alice, bob = _sessions("fallback")
    envelope = seal_session(alice, bytes(32), _content(100), ttl=TTL)
    data = session_form_of_envelope(envelope)
    assert data[1:] == envelope[37:]
    assert open_sms_session(data, bob, profile=Profile.BINARY) == _content(100)
    assert _codes(lambda: open_session(envelope, bob)) == "state.replay"


def test_first_contact_over_sms_both_profiles_and_its_replay() -> None:
    for profile in Profile:
        pair = _pair(f"first contact {profile.value}")
        content = Content(b"hello by SMS", pair.mailbox.grant(1)).to_bytes()
        sealed = seal_sms_first_contact(
            pair.alice, pair.bundle, content, profile=profile, rng=SeededRng(b"s")
        )
        assert sealed.data[0] == 2
        # It fills its last segment (one byte short only where no payload length can, §11.5).
        assert fill_size(profile, len(sealed.data)) - len(sealed.data) in (0, 1)
        responded = open_sms_first_contact(
            sealed.data, keys=pair.keys, prekeys=pair.store, profile=profile, rng=SeededRng(b"o")
        )
        assert responded.plaintext == content and responded.peer == pair.alice.public
        held = pair.store.held_ids()
        assert _codes(lambda p=pair, s=sealed, pr=profile: open_sms_first_contact(
            s.data, keys=p.keys, prekeys=p.store, profile=pr, rng=SeededRng(b"o")
        )) == "state.unknown_prekey"  # fmt: skip
        assert pair.store.held_ids() == held


def test_first_contact_over_sms_refusals_change_nothing() -> None:
    pair = _pair("refusals", one_time=False)
    content = Content(b"x", pair.mailbox.grant(1)).to_bytes()
    sealed = seal_sms_first_contact(
        pair.alice, pair.bundle, content, profile=Profile.BINARY, rng=SeededRng(b"s")
    )

    def open_(data: bytes, profile: Profile = Profile.BINARY) -> object:
        return open_sms_first_contact(
            data, keys=pair.keys, prekeys=pair.store, profile=profile, rng=SeededRng(b"o")
        )

    held = pair.store.held_ids()
    assert _codes(lambda: open_(sealed.data, Profile.TEXT)) == "decode.padding"
    flipped = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    assert _codes(lambda: open_(flipped)) == "auth.failed"
    assert _codes(lambda: open_(b"\x01" + bytes(100))) == "decode.type"
    unknown = FirstContactKeys(pair.bob)
    assert _codes(lambda: open_sms_first_contact(
        sealed.data, keys=unknown, prekeys=pair.store, profile=Profile.BINARY, rng=SeededRng(b"")
    )) == "state.unknown_prekey"  # fmt: skip
    assert pair.store.held_ids() == held
    open_(sealed.data)
    assert _codes(lambda: open_(sealed.data)) == "state.replay"


def test_first_contact_over_sms_shows_no_content() -> None:
    pair = _pair("carrier view")
    content = Content(b"a secret first message", pair.mailbox.grant(1)).to_bytes()
    sealed = seal_sms_first_contact(
        pair.alice, pair.bundle, content, profile=Profile.BINARY, rng=SeededRng(b"s")
    )
    assert b"secret" not in sealed.data and pair.mailbox.mailbox_id not in sealed.data


# --- the transport policy ---------------------------------------------------------------------


def _deliver(actions: tuple[object, ...], reassembler: Reassembler) -> list[Reassembled]:
    out = []
    for action in actions:
        assert isinstance(action, SendSms)
        for piece in reversed(action.segments):
            message = reassembler.receive(ALICE_NUMBER, piece, now=NOW)
            if message is not None:
                out.append(message)
    return out


def test_policy_ip_first_then_fallback_after_the_deadline_and_a_duplicate() -> None:
    alice, bob = _sessions("policy")
    sender, receiver = TransportPolicy(reference=200), TransportPolicy()
    (deposit,) = sender.send_session(alice, bytes(32), _content(100), ttl=TTL, now=NOW)
    assert isinstance(deposit, Deposit) and sender.pending == (deposit.envelope_id,)
    assert sender.tick(NOW + FALLBACK_DEADLINE - 1) == ()
    (sms,) = sender.tick(NOW + FALLBACK_DEADLINE)
    assert isinstance(sms, SendSms) and sms.envelope_id == deposit.envelope_id
    assert len(sms.segments) == 2 and sender.pending == ()
    (message,) = _deliver((sms,), Reassembler())
    received = receiver.receive_sms(message, bob)
    assert isinstance(received, Received) and received.plaintext == _content(100)
    late = receiver.receive_envelope(deposit.envelope, bob)
    assert late == Duplicate(received.transport.__class__.IP)
    again = receiver.receive_sms(message, bob)
    assert isinstance(again, Duplicate)


def test_policy_acknowledged_deposits_do_not_fall_back() -> None:
    alice, _bob = _sessions("ack")
    policy = TransportPolicy()
    (deposit,) = policy.send_session(alice, bytes(32), _content(5), ttl=TTL, now=NOW)
    assert isinstance(deposit, Deposit)
    policy.acknowledged(deposit.envelope_id)
    policy.acknowledged(deposit.envelope_id)  # twice: ignored
    assert policy.tick(NOW + 10 * FALLBACK_DEADLINE) == ()


def test_policy_without_ip_pads_for_sms_and_losing_ip_falls_back_at_once() -> None:
    alice, bob = _sessions("no ip")
    policy = TransportPolicy(profile=Profile.TEXT, reference=255)
    (deposit,) = policy.send_session(alice, bytes(32), _content(50), ttl=TTL, now=NOW)
    (sms,) = policy.set_ip_reachable(False)
    assert isinstance(sms, SendSms) and sms.envelope_id == getattr(deposit, "envelope_id", None)
    (direct,) = policy.send_session(alice, bytes(32), _content(50), ttl=TTL, now=NOW)
    assert isinstance(direct, SendSms) and direct.envelope_id is None
    reassembler = Reassembler()
    first, second = _deliver((sms, direct), reassembler)
    assert first.profile is second.profile is Profile.TEXT
    assert len(second.data) == fill_size(Profile.TEXT, len(second.data))
    receiver = TransportPolicy()
    index = SessionIndex()
    index.add("alice", bob)
    for message in (first, second):
        received = receiver.receive_sms(message, index)
        assert isinstance(received, Received) and received.session_id == "alice"
    assert isinstance(receiver.receive_sms(second, index), Duplicate)


def test_policy_waits_for_ip_when_sms_is_impossible() -> None:
    alice, _bob = _sessions("wait")
    before = alice.snapshot()
    no_number = TransportPolicy(ip_reachable=False, sms=False)
    (wait,) = no_number.send_session(alice, bytes(32), _content(5), ttl=TTL, now=NOW)
    assert isinstance(wait, WaitForIp)
    costly = TransportPolicy(ip_reachable=False, max_segments=2)
    (wait,) = costly.send_session(alice, bytes(32), _content(300), ttl=TTL, now=NOW)
    assert isinstance(wait, WaitForIp)
    assert alice.snapshot() == before  # nothing was encrypted
    pair = _pair("wait first contact")
    offline = TransportPolicy(ip_reachable=False)
    actions, session = offline.send_first_contact(
        pair.alice, None, bytes(32), b"", ttl=TTL, rng=SeededRng(b"x")
    )
    assert isinstance(actions[0], WaitForIp) and session is None


def test_policy_first_contact_by_sms_and_its_duplicate() -> None:
    pair = _pair("policy first contact")
    content = Content(b"hi", pair.mailbox.grant(1)).to_bytes()
    offline = TransportPolicy(ip_reachable=False)
    actions, session = offline.send_first_contact(
        pair.alice, pair.bundle, bytes(32), content, ttl=TTL, rng=SeededRng(b"x")
    )
    assert session is not None
    (message,) = _deliver(actions, Reassembler())
    receiver = TransportPolicy()
    responded = receiver.receive_sms_first_contact(
        message, keys=pair.keys, prekeys=pair.store, rng=SeededRng(b"r")
    )
    assert not isinstance(responded, Duplicate) and responded.plaintext == content
    again = receiver.receive_sms_first_contact(
        message, keys=pair.keys, prekeys=pair.store, rng=SeededRng(b"r")
    )
    assert isinstance(again, Duplicate)
    online = TransportPolicy()
    actions, session = online.send_first_contact(
        pair.alice, pair.bundle, bytes(32), content, ttl=TTL, rng=SeededRng(b"y")
    )
    assert isinstance(actions[0], Deposit) and online.pending == ()


def test_policy_tables_are_bounded() -> None:
    alice, _bob = _sessions("bounded")
    policy = TransportPolicy()
    actions: list[object] = []
    for i in range(300):
        actions += policy.send_session(alice, bytes(32), _content(i % 7), ttl=TTL, now=NOW)
    assert len(policy.pending) == 256
    assert sum(isinstance(a, SendSms) for a in actions) == 300 - 256


def test_demo_shows_a_message_falling_back_to_sms() -> None:
    from protocol.edge.demo import run

    lines: list[str] = []
    run(lines.append, rng=SeededRng(b"demo"), now=1_767_225_600)
    text = "\n".join(lines)
    assert "no acknowledgement comes" in text
    assert "the same ratchet message goes by SMS: 2 binary segments of 140, 135 octets" in text
    first = next(line for line in lines if "First segment:" in line).split(": ")[1]
    assert first.startswith("0b0003") and "05043f583f58" in first[:24] and len(first) == 280
    assert "reads: 'On the train, no data. Did this reach you?'" in text
    assert "The relay's copy arrives later: duplicate" in text
