"""Spec §5: safety numbers — numeric form, display, scannable form, comparison."""

from __future__ import annotations

import contextlib
import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.codec import decode, encode
from protocol.errors import DecodeError, ProtocolError
from protocol.kat import SeededRng
from protocol.keys import IdentityKey, IdentityKeyPair
from protocol.safety import (
    FINGERPRINT_DIGITS,
    ITERATIONS,
    SAFETY_VERSION,
    SafetyNumber,
    ScannableSafetyNumber,
    compare_scanned,
    displayable_fingerprint,
    fingerprint,
)


def identity(name: str) -> IdentityKeyPair:
    return IdentityKeyPair.generate(SeededRng(b"test_safety/" + name.encode()))


ALICE, BOB, CAROL = identity("alice"), identity("bob"), identity("carol")
#: Fixed private keys for the known-answer checks: bytes 0..63 and 64..127.
FIXED_A = IdentityKeyPair.from_private_bytes(bytes(range(64))).public
FIXED_B = IdentityKeyPair.from_private_bytes(bytes(range(64, 128))).public


def code(action: object) -> str:
    with pytest.raises(ProtocolError) as info:
        action()  # type: ignore[operator]
    return info.value.code


# --- an independent reimplementation: hashlib only, constants written out ------------------------


def reference_party_digits(signing_key: bytes, dh_key: bytes) -> tuple[str, bytes]:
    """Spec §5.1–§5.2 from the text alone: (30 digits, 32-byte scannable fingerprint)."""
    keys = signing_key + dh_key
    h = hashlib.sha512(b"\x00\x01" + b"Blindpost-v1 safety-number" + keys).digest()
    for _ in range(5200):
        h = hashlib.sha512(h + keys).digest()
    digits = ""
    for offset in (0, 5, 10, 15, 20, 25):
        chunk = int.from_bytes(h[offset : offset + 5], "big")
        digits += str(chunk % 100000).rjust(5, "0")
    return digits, h[:32]


def reference(local: IdentityKey, remote: IdentityKey) -> tuple[str, str, bytes]:
    """(60 digits, display string, my scannable bytes), encoded by hand."""
    mine, my_fp = reference_party_digits(local.signing_key, local.dh_key)
    theirs, their_fp = reference_party_digits(remote.signing_key, remote.dh_key)
    digits = mine + theirs if int(mine) <= int(theirs) else theirs + mine
    display = " ".join(digits[i : i + 5] for i in range(0, 60, 5))
    # {0: 1, 1: h'<32 bytes>', 2: h'<32 bytes>'} in deterministic CBOR.
    scannable = b"\xa3\x00\x01\x01\x58\x20" + my_fp + b"\x02\x58\x20" + their_fp
    return digits, display, scannable


@pytest.mark.parametrize(
    ("local", "remote"),
    [(FIXED_A, FIXED_B), (FIXED_B, FIXED_A), (ALICE.public, BOB.public), (FIXED_A, FIXED_A)],
)
def test_matches_the_independent_reimplementation(local: IdentityKey, remote: IdentityKey) -> None:
    digits, display, scannable = reference(local, remote)
    number = SafetyNumber.of(local, remote)
    assert number.digits == digits
    assert number.display() == display
    assert number.scannable() == scannable


def test_constants() -> None:
    assert ITERATIONS == 5200
    assert SAFETY_VERSION == 1
    assert FINGERPRINT_DIGITS == 30


# --- properties -------------------------------------------------------------------------------


def test_symmetric() -> None:
    ab, ba = SafetyNumber.of(ALICE.public, BOB.public), SafetyNumber.of(BOB.public, ALICE.public)
    assert ab.digits == ba.digits
    assert ab.display() == ba.display()
    assert ab.local_digits == ba.remote_digits and ab.remote_digits == ba.local_digits
    assert ab.scannable() != ba.scannable()  # each side shows its own point of view


def test_different_keys_give_different_numbers() -> None:
    ab = SafetyNumber.of(ALICE.public, BOB.public)
    ac = SafetyNumber.of(ALICE.public, CAROL.public)
    cb = SafetyNumber.of(CAROL.public, BOB.public)
    assert len({ab.digits, ac.digits, cb.digits}) == 3
    # A new DH key under the same signing key is a different identity, hence a different number.
    seed = BOB.private_bytes()[:32]
    bob_new_dh = IdentityKeyPair(seed, bytes(range(32))).public
    assert bob_new_dh.signing_key == BOB.public.signing_key
    assert SafetyNumber.of(ALICE.public, bob_new_dh).digits != ab.digits


def test_shape_of_the_display() -> None:
    number = SafetyNumber.of(ALICE.public, BOB.public)
    assert re.fullmatch(r"\d{60}", number.digits)
    assert re.fullmatch(r"\d{30}", number.local_digits)
    assert re.fullmatch(r"(\d{5} ){11}\d{5}", number.display())
    assert number.display().replace(" ", "") == number.digits
    assert number.digits[:30] <= number.digits[30:]


def test_smaller_fingerprint_first_and_zero_padding() -> None:
    assert displayable_fingerprint(bytes(64)) == "0" * 30
    # 100000 → 00000, 0xffffffffff = 1099511627775 → 27775, 7 → 00007.
    h = (100000).to_bytes(5, "big") + b"\xff" * 5 + (7).to_bytes(5, "big") + bytes(49)
    assert displayable_fingerprint(h) == "00000" + "27775" + "00007" + "0" * 15
    number = SafetyNumber("9" * 30, "0" * 29 + "1", bytes(32), bytes(32))
    assert number.digits == "0" * 29 + "1" + "9" * 30


def test_only_keys_go_in() -> None:
    """Two identical key pairs give identical fingerprints: nothing else is hashed."""
    again = IdentityKeyPair.from_private_bytes(ALICE.private_bytes()).public
    assert fingerprint(again) == fingerprint(ALICE.public)
    assert len(fingerprint(ALICE.public)) == 64


def test_of_verifies_both_identities() -> None:
    public = BOB.public
    forged = IdentityKey(public.signing_key, CAROL.public.dh_key, public.binding_signature)
    assert code(lambda: SafetyNumber.of(ALICE.public, forged)) == "auth.failed"
    assert code(lambda: SafetyNumber.of(forged, ALICE.public)) == "auth.failed"


@settings(max_examples=10, deadline=None)
@given(st.binary(min_size=64, max_size=64), st.binary(min_size=64, max_size=64))
def test_symmetric_for_any_keys(a: bytes, b: bytes) -> None:
    x = IdentityKeyPair.from_private_bytes(a).public
    y = IdentityKeyPair.from_private_bytes(b).public
    assert SafetyNumber.of(x, y).digits == SafetyNumber.of(y, x).digits


# --- the scannable form -----------------------------------------------------------------------

AB = SafetyNumber.of(ALICE.public, BOB.public)
BA = SafetyNumber.of(BOB.public, ALICE.public)


def test_scannable_compares_true_on_the_other_side() -> None:
    assert compare_scanned(AB, BA.scannable()) is True
    assert compare_scanned(BA, AB.scannable()) is True


def test_scannable_compares_false_for_a_third_party() -> None:
    cb = SafetyNumber.of(CAROL.public, BOB.public)  # Carol shows her code for Bob to Alice
    ca = SafetyNumber.of(CAROL.public, ALICE.public)
    ac = SafetyNumber.of(ALICE.public, CAROL.public)
    assert compare_scanned(AB, cb.scannable()) is False
    assert compare_scanned(AB, ca.scannable()) is False
    assert compare_scanned(AB, ac.scannable()) is False
    assert compare_scanned(AB, AB.scannable()) is False  # my own code, both halves swapped


def test_half_a_match_is_no_match() -> None:
    good = ScannableSafetyNumber.from_bytes(BA.scannable())
    for local, remote in (
        (good.local_fingerprint, bytes(32)),
        (bytes(32), good.remote_fingerprint),
    ):
        assert compare_scanned(AB, ScannableSafetyNumber(local, remote).to_bytes()) is False


def _mutated(edit: object) -> bytes:
    value = decode(BA.scannable())
    edit(value)  # type: ignore[operator]
    return encode(value)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_mutated(lambda v: v.__setitem__(0, 2)), "decode.version"),
        (_mutated(lambda v: v.__setitem__(0, 0)), "decode.version"),
        (_mutated(lambda v: v.__setitem__(1, bytes(31))), "decode.length"),
        (_mutated(lambda v: v.__setitem__(3, b"")), "decode.unknown_field"),
        (_mutated(lambda v: v.__delitem__(2)), "decode.missing_field"),
        (_mutated(lambda v: v.__setitem__(2, "text")), "decode.type"),
        (encode([1, bytes(32), bytes(32)]), "decode.type"),
        (BA.scannable()[:-1], "decode.truncated"),
        (BA.scannable() + b"\x00", "decode.trailing"),
        (b"", "decode.truncated"),
    ],
)
def test_malformed_scans_are_decode_errors(data: bytes, expected: str) -> None:
    assert code(lambda: compare_scanned(AB, data)) == expected


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80))
def test_arbitrary_scans_never_crash(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        assert compare_scanned(AB, data) is False


def test_direct_construction_is_validated() -> None:
    good = ("1" * 30, "2" * 30, bytes(32), bytes(32))
    SafetyNumber(*good)
    for bad in (
        ("1" * 29, "2" * 30, bytes(32), bytes(32)),
        ("1" * 29 + "x", "2" * 30, bytes(32), bytes(32)),
        ("1" * 29 + "\u0661", "2" * 30, bytes(32), bytes(32)),  # a non-ASCII digit
        ("1" * 30, "2" * 30, bytes(31), bytes(32)),
    ):
        assert code(lambda bad=bad: SafetyNumber(*bad)) == "usage.bad_argument"
