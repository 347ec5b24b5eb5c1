"""Spec §4: identity keys, prekeys, bundles and uploads; the ``keys`` vector suite."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import keys as keys_module
from protocol import labels
from protocol.codec import CborValue, decode, encode
from protocol.errors import AuthenticationError, DecodeError, ProtocolError, UsageError
from protocol.kat import SeededRng, generate_suite, verify_suite
from protocol.kat import keys as kat_keys
from protocol.keys import (
    IDENTITY_PRIVATE_KEY_SIZE,
    MAX_KEM_ONE_TIME_PREKEYS,
    MAX_ONE_TIME_PREKEYS,
    MAX_PREKEY_ID,
    MAX_TIMESTAMP,
    SMALL_ORDER_X25519,
    IdentityKey,
    IdentityKeyPair,
    KemPrekey,
    KemPrekeyPair,
    OneTimePrekey,
    OneTimePrekeyPair,
    PrekeyBundle,
    PrekeyUpload,
    SignedPrekey,
    SignedPrekeyPair,
    check_x25519_public_key,
    identity_binding_payload,
    kem_prekey_payload,
    signed_prekey_payload,
)
from protocol.primitives import (
    ed25519_verify,
    mlkem768_encapsulate,
    x25519,
    x25519_public_key,
)

NOW = 1_767_225_600

# --- fixtures ---------------------------------------------------------------------------------


class Party:
    """One owner's keys, from a seeded rng (deterministic across runs)."""

    def __init__(self, name: str, n_one_time: int = 2, n_kem: int = 2) -> None:
        rng = SeededRng(b"test_keys/" + name.encode())
        self.identity = IdentityKeyPair.generate(rng)
        self.spk = SignedPrekeyPair.generate(self.identity, prekey_id=1, now=NOW, rng=rng)
        self.opks = [
            OneTimePrekeyPair.generate(prekey_id=10 + i, rng=rng) for i in range(n_one_time)
        ]
        self.kem_last = KemPrekeyPair.generate(
            self.identity, prekey_id=2, now=NOW, last_resort=True, rng=rng
        )
        self.kems = [
            KemPrekeyPair.generate(
                self.identity, prekey_id=20 + i, now=NOW, last_resort=False, rng=rng
            )
            for i in range(n_kem)
        ]

    def bundle(self, with_one_time: bool = True) -> PrekeyBundle:
        return PrekeyBundle(
            self.identity.public,
            self.spk.public,
            self.opks[0].public if with_one_time else None,
            self.kems[0].public,
        )

    def upload(self) -> PrekeyUpload:
        return PrekeyUpload(
            self.identity.public,
            self.spk.public,
            tuple(p.public for p in self.opks),
            self.kem_last.public,
            tuple(k.public for k in self.kems),
        )


ALICE = Party("alice")
MALLORY = Party("mallory", 1, 1)


def code(action: Callable[[], object]) -> str:
    with pytest.raises(ProtocolError) as info:
        action()
    return info.value.code


def mutate(encoded: bytes, edit: Callable[[Any], None]) -> bytes:
    """Test-only mutator: decode a real structure, edit its CBOR value, re-encode."""
    value = decode(encoded, max_size=len(encoded))
    edit(value)
    return encode(value)


def flip(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1 :]


# --- round trips ------------------------------------------------------------------------------


def test_public_types_round_trip() -> None:
    items: list[Any] = [
        ALICE.identity.public,
        ALICE.spk.public,
        ALICE.opks[0].public,
        ALICE.kem_last.public,
        ALICE.kems[0].public,
        ALICE.bundle(),
        ALICE.bundle(with_one_time=False),
        ALICE.upload(),
    ]
    for item in items:
        data = item.to_bytes()
        again = type(item).from_bytes(data)
        assert again == item
        assert hash(again) == hash(item)
        assert again.to_bytes() == data


def test_bundle_and_upload_verify() -> None:
    assert PrekeyBundle.from_bytes_verified(ALICE.bundle().to_bytes()) == ALICE.bundle()
    assert PrekeyBundle.from_bytes_verified(ALICE.bundle(False).to_bytes()).one_time_prekey is None
    assert PrekeyUpload.from_bytes_verified(ALICE.upload().to_bytes()) == ALICE.upload()


def test_identity_key_encoding_layout() -> None:
    public = ALICE.identity.public
    # {0: 1, 1: h'<32>', 2: h'<32>', 3: h'<64>'}: deterministic CBOR, integer keys ascending.
    expected = (
        b"\xa4\x00\x01\x01\x58\x20"
        + public.signing_key
        + b"\x02\x58\x20"
        + public.dh_key
        + b"\x03\x58\x40"
        + public.binding_signature
    )
    assert public.to_bytes() == expected


def test_private_export_round_trips() -> None:
    identity = ALICE.identity
    data = identity.private_bytes()
    assert len(data) == IDENTITY_PRIVATE_KEY_SIZE == 64
    again = IdentityKeyPair.from_private_bytes(data)
    assert again.public == identity.public
    assert again.private_bytes() == data
    assert IdentityKeyPair(data[:32], data[32:]).public == identity.public

    spk = SignedPrekeyPair.from_private_bytes(ALICE.spk.private_bytes(), ALICE.spk.public)
    assert spk.public == ALICE.spk.public and spk.id == 1
    opk = OneTimePrekeyPair.from_private_bytes(ALICE.opks[0].private_bytes(), 10)
    assert opk.public == ALICE.opks[0].public and opk.id == 10
    kem = KemPrekeyPair.from_private_bytes(ALICE.kem_last.private_bytes(), ALICE.kem_last.public)
    assert kem.public == ALICE.kem_last.public and kem.id == 2
    assert len(kem.private_bytes()) == 64


def test_generation_is_deterministic_in_the_rng() -> None:
    a = IdentityKeyPair.generate(SeededRng(b"x"))
    b = IdentityKeyPair.generate(SeededRng(b"x"))
    assert a.public == b.public
    rng = SeededRng(b"x")
    seed, dh = rng(32), rng(32)
    assert a.private_bytes() == seed + dh  # documented draw order: signing seed, then DH key


def test_private_keys_agree_with_public_keys() -> None:
    bob = Party("bob", 1, 1)
    # X25519 agreement through the identity, signed and one-time prekeys.
    for mine, theirs in (
        (ALICE.identity.dh, bob.identity.public.dh_key),
        (ALICE.spk.dh, bob.spk.public.public_key),
        (ALICE.opks[0].dh, bob.opks[0].public.public_key),
    ):
        assert len(mine(theirs)) == 32
    assert ALICE.identity.dh(bob.spk.public.public_key) == bob.spk.dh(ALICE.identity.public.dh_key)
    assert ALICE.opks[0].dh(bob.identity.public.dh_key) == bob.identity.dh(
        ALICE.opks[0].public.public_key
    )
    shared, ciphertext = mlkem768_encapsulate(ALICE.kems[0].public.public_key)
    assert ALICE.kems[0].decapsulate(ciphertext) == shared


def test_identity_sign_is_labelled() -> None:
    message = labels.LABEL_SIGNED_PREKEY + b"\x00" * 44
    signature = ALICE.identity.sign(message)
    ed25519_verify(ALICE.identity.public.signing_key, message, signature)
    ALICE.identity.public.verify_signature(message, signature)
    assert code(lambda: ALICE.identity.sign(b"not labelled")) == "usage.bad_argument"


def test_signature_payloads_are_fixed_width() -> None:
    pk = bytes(range(32))
    assert signed_prekey_payload(0x01020304, 0x05, pk) == (
        b"Blindpost-v1 signed-prekey" + bytes.fromhex("01020304") + bytes(7) + b"\x05" + pk
    )
    kem_pk = bytes(1184)
    assert kem_prekey_payload(7, 2**32, True, kem_pk) == (
        b"Blindpost-v1 kem-prekey" + b"\x01" + bytes.fromhex("00000007")
        + bytes.fromhex("0000000100000000") + kem_pk
    )  # fmt: skip
    assert kem_prekey_payload(7, 2**32, False, kem_pk)[23] == 0
    assert identity_binding_payload(pk) == b"Blindpost-v1 identity-binding" + pk
    assert ALICE.spk.public.signature_payload() == signed_prekey_payload(
        1, NOW, ALICE.spk.public.public_key
    )


def test_signing_labels_are_distinct_and_prefix_free() -> None:
    """A label that prefixed another could let one payload read as another's."""
    every = [v for k, v in vars(labels).items() if k.startswith("LABEL_")]
    ours = [
        labels.LABEL_IDENTITY_BINDING,
        labels.LABEL_SIGNED_PREKEY,
        labels.LABEL_KEM_PREKEY,
        labels.LABEL_SAFETY_NUMBER,
    ]
    for label in ours:
        assert label.startswith(labels.PREFIX) and b"\x00" not in label
        for other in every:
            assert other == label or not other.startswith(label), (label, other)


# --- secrets: repr, pickling, copying, immutability --------------------------------------------


def _private_objects() -> list[Any]:
    return [ALICE.identity, ALICE.spk, ALICE.opks[0], ALICE.kem_last]


@pytest.mark.parametrize("obj", _private_objects(), ids=lambda o: type(o).__name__)
def test_private_repr_is_redacted(obj: Any) -> None:
    secret = obj.private_bytes()
    for text in (repr(obj), str(obj), f"{obj!r}", f"{[obj]}"):
        assert "<redacted>" in text
        assert secret.hex() not in text
        assert secret.hex()[:16] not in text  # not even a prefix
        assert repr(secret) not in text
    if isinstance(obj, IdentityKeyPair):
        assert repr(obj).startswith("IdentityKeyPair(public=")


@pytest.mark.parametrize("obj", _private_objects(), ids=lambda o: type(o).__name__)
def test_private_types_refuse_pickling_and_copying(obj: Any) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError):
            pickle.dumps(obj, protocol=protocol)
    with pytest.raises(TypeError):
        copy.copy(obj)
    with pytest.raises(TypeError):
        copy.deepcopy(obj)


@pytest.mark.parametrize("obj", _private_objects(), ids=lambda o: type(o).__name__)
def test_private_types_are_immutable_and_not_value_compared(obj: Any) -> None:
    with pytest.raises(AttributeError):
        obj._public = None
    with pytest.raises(AttributeError):
        obj.anything = 1
    with pytest.raises(AttributeError):
        del obj._public
    # No (timing-leaky) value comparison: == is object identity.
    assert all("__eq__" not in vars(klass) for klass in type(obj).__mro__[:-1])
    assert not hasattr(obj, "__dict__")


def test_private_import_errors() -> None:
    assert code(lambda: IdentityKeyPair.from_private_bytes(bytes(63))) == "usage.bad_argument"
    assert code(lambda: IdentityKeyPair(bytes(32), bytes(31))) == "usage.bad_argument"
    wrong = ALICE.opks[0].private_bytes()
    assert (
        code(lambda: SignedPrekeyPair.from_private_bytes(wrong, ALICE.spk.public))
        == "usage.bad_argument"
    )
    assert (
        code(lambda: KemPrekeyPair.from_private_bytes(bytes(64), ALICE.kem_last.public))
        == "usage.bad_argument"
    )
    assert code(lambda: OneTimePrekeyPair.from_private_bytes(bytes(31), 1)) == "usage.bad_argument"


def test_generation_argument_errors() -> None:
    rng = SeededRng(b"args")
    identity = ALICE.identity
    for bad_id in (-1, MAX_PREKEY_ID + 1):
        with pytest.raises(UsageError):
            SignedPrekeyPair.generate(identity, prekey_id=bad_id, now=0, rng=rng)
        with pytest.raises(UsageError):
            OneTimePrekeyPair.generate(prekey_id=bad_id, rng=rng)
    assert (
        code(
            lambda: KemPrekeyPair.generate(
                identity, prekey_id=0, now=MAX_TIMESTAMP + 1, last_resort=False, rng=rng
            )
        )
        == "usage.bad_argument"
    )
    assert (
        code(lambda: KemPrekeyPair.generate(identity, prekey_id=0, now=0, last_resort=1, rng=rng))  # type: ignore[arg-type]
        == "usage.bad_argument"
    )
    assert code(lambda: IdentityKeyPair.generate(lambda n: bytes(n - 1))) == "usage.rng"
    # Extremes are accepted.
    pair = SignedPrekeyPair.generate(identity, prekey_id=MAX_PREKEY_ID, now=MAX_TIMESTAMP, rng=rng)
    assert SignedPrekey.from_bytes(pair.public.to_bytes()) == pair.public


def test_constructing_a_public_type_validates() -> None:
    spk = ALICE.spk.public
    with pytest.raises(UsageError):
        SignedPrekey(spk.id, spk.created_at, bytes(32), spk.signature)  # small order
    with pytest.raises(UsageError):
        OneTimePrekey(1, bytes(31))
    kem = ALICE.kem_last.public
    with pytest.raises(UsageError):
        KemPrekey(kem.id, kem.created_at, True, b"\xff" * 1184, kem.signature)
    upload = ALICE.upload()
    with pytest.raises(UsageError):
        PrekeyUpload(
            upload.identity, upload.signed_prekey, (), upload.kem_one_time[0], upload.kem_one_time
        )


# --- small-order X25519 keys (spec §4.4) --------------------------------------------------------

#: libsodium ``has_small_order`` blocklist (src/libsodium/crypto_scalarmult/curve25519/ref10/
#: x25519_ref10.c), copied byte for byte.
LIBSODIUM_BLOCKLIST = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]


def test_small_order_list_is_libsodiums() -> None:
    assert {bytes.fromhex(h) for h in LIBSODIUM_BLOCKLIST} == SMALL_ORDER_X25519


@pytest.mark.parametrize("encoding", LIBSODIUM_BLOCKLIST)
@pytest.mark.parametrize("high_bit", [False, True])
def test_small_order_keys_rejected_without_dh(encoding: str, high_bit: bool) -> None:
    key = bytearray.fromhex(encoding)
    if high_bit:
        key[31] |= 0x80
    assert code(lambda: check_x25519_public_key(bytes(key))) == "decode.low_order"
    # Cross-check (test only): X25519 with each of them is all zeros, which primitives refuses.
    assert code(lambda: x25519(bytes(range(32)), bytes(key))) == "decode.low_order"


@given(st.binary(min_size=32, max_size=32))
def test_ordinary_keys_pass_the_small_order_check(key: bytes) -> None:
    masked = key[:31] + bytes([key[31] & 0x7F])
    if masked not in SMALL_ORDER_X25519:
        check_x25519_public_key(key)


def test_generated_keys_never_small_order() -> None:
    rng = SeededRng(b"small-order")
    for _ in range(50):
        check_x25519_public_key(x25519_public_key(rng(32)))


# --- verify failure paths (spec §4.5, §4.6) -----------------------------------------------------

BUNDLE = ALICE.bundle().to_bytes()
UPLOAD = ALICE.upload().to_bytes()


def _set(path: tuple[int, ...], key: int, new: CborValue) -> Callable[[Any], None]:
    def edit(value: Any) -> None:
        for step in path:
            value = value[step]
        value[key] = new

    return edit


def _flip_field(path: tuple[int, ...], key: int) -> Callable[[Any], None]:
    def edit(value: Any) -> None:
        for step in path:
            value = value[step]
        value[key] = flip(value[key])

    return edit


def bundle_code(edit: Callable[[Any], None]) -> str:
    data = mutate(BUNDLE, edit)
    return code(lambda: PrekeyBundle.from_bytes_verified(data))


def upload_code(edit: Callable[[Any], None]) -> str:
    data = mutate(UPLOAD, edit)
    return code(lambda: PrekeyUpload.from_bytes_verified(data))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_flip_field((1,), 3), "auth.failed"),  # binding signature
        (_flip_field((1,), 1), "auth.failed"),  # signing key (binding no longer verifies)
        (_flip_field((2,), 4), "auth.failed"),  # SPK signature
        (_flip_field((2,), 3), "auth.failed"),  # SPK public key
        (_set((2,), 1, 2), "auth.failed"),  # SPK id is signed
        (_set((2,), 2, NOW + 1), "auth.failed"),  # SPK created_at is signed
        (_flip_field((4,), 5), "auth.failed"),  # KEM signature
        (_flip_field((4,), 4), "auth.failed"),  # KEM public key (still passes the modulus check)
        (_set((4,), 3, True), "auth.failed"),  # last_resort is signed
        (_set((4,), 1, 99), "auth.failed"),  # KEM id is signed
        (_set((), 1, decode(MALLORY.identity.public.to_bytes())), "auth.failed"),
        (_set((2,), 3, bytes(32)), "decode.low_order"),
        (_set((1,), 2, bytes([1]) + bytes(31)), "decode.low_order"),
        (_set((3,), 2, bytes([1]) + bytes(30) + b"\x80"), "decode.low_order"),
        (_set((4,), 4, b"\xff" * 1184), "decode.bad_key"),
        (_set((2,), 3, bytes(33)), "decode.length"),
        (_set((1,), 3, bytes(63)), "decode.length"),
        (_set((4,), 4, bytes(1185)), "decode.length"),
        (_set((), 9, 0), "decode.unknown_field"),
        (_set((3,), 3, 0), "decode.unknown_field"),
        (_set((), 0, 2), "decode.version"),
        (_set((4,), 0, 2), "decode.version"),
        (_set((2,), 1, MAX_PREKEY_ID + 1), "decode.range"),
        (_set((2,), 2, -1), "decode.range"),
        (_set((4,), 3, 1), "decode.type"),
        (_set((), 3, []), "decode.type"),
    ],
)
def test_bundle_failures(edit: Callable[[Any], None], expected: str) -> None:
    assert bundle_code(edit) == expected


def test_bundle_missing_fields() -> None:
    for path, key in (((), 1), ((), 2), ((), 4), ((1,), 2), ((2,), 4), ((4,), 3)):

        def edit(value: Any, path: tuple[int, ...] = path, key: int = key) -> None:
            for step in path:
                value = value[step]
            del value[key]

        assert bundle_code(edit) == "decode.missing_field", (path, key)
    # The one-time prekey is optional.
    assert (
        PrekeyBundle.from_bytes_verified(mutate(BUNDLE, lambda v: v.pop(3))).one_time_prekey is None
    )


def test_decode_checks_come_before_signatures() -> None:
    """A structure that is both malformed and badly signed fails with the decode code."""

    def both(value: Any) -> None:
        value[1][3] = flip(value[1][3])  # bad binding signature
        value[4][4] = b"\xff" * 1184  # and a KEM key failing the modulus check

    assert bundle_code(both) == "decode.bad_key"


def test_bundle_verifies_signatures_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bytes] = []

    def spy(public_key: bytes, message: bytes, signature: bytes) -> None:
        seen.append(message[: message.index(b"-", len(labels.PREFIX)) + 1])
        ed25519_verify(public_key, message, signature)

    monkeypatch.setattr(keys_module, "ed25519_verify", spy)
    ALICE.bundle().verify()
    assert seen == [b"Blindpost-v1 identity-", b"Blindpost-v1 signed-", b"Blindpost-v1 kem-"]
    seen.clear()
    ALICE.upload().verify()
    assert seen == [b"Blindpost-v1 identity-", b"Blindpost-v1 signed-"] + [b"Blindpost-v1 kem-"] * (
        1 + len(ALICE.kems)
    )
    # A failure stops at the first bad signature: nothing after it is checked.
    seen.clear()
    bad = PrekeyBundle.from_bytes(mutate(BUNDLE, _flip_field((2,), 4)))
    with pytest.raises(AuthenticationError):
        bad.verify()
    assert seen == [b"Blindpost-v1 identity-", b"Blindpost-v1 signed-"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_flip_field((4,), 5), "auth.failed"),  # last-resort KEM signature
        (_flip_field((5, 1), 5), "auth.failed"),  # second one-time KEM signature
        (_flip_field((2,), 4), "auth.failed"),
        (_set((4,), 3, False), "decode.range"),  # last-resort flag must be true
        (_set((5, 0), 3, True), "decode.range"),  # one-time flags must be false
        (_set((3, 1), 2, bytes(32)), "decode.low_order"),
        (_set((5, 0), 4, b"\xff" * 1184), "decode.bad_key"),
        (_set((), 6, []), "decode.unknown_field"),
        (_set((), 0, 0), "decode.version"),
        (_set((), 3, {}), "decode.type"),
    ],
)
def test_upload_failures(edit: Callable[[Any], None], expected: str) -> None:
    assert upload_code(edit) == expected


def test_upload_list_bounds() -> None:
    def grow(key: int, count: int) -> Callable[[Any], None]:
        def edit(value: Any) -> None:
            value[key] = [value[key][i % len(value[key])] for i in range(count)]

        return edit

    assert upload_code(grow(3, MAX_ONE_TIME_PREKEYS + 1)) == "decode.count"
    assert upload_code(grow(5, MAX_KEM_ONE_TIME_PREKEYS + 1)) == "decode.count"
    # Exactly at the limit decodes (distinct ids: spec §4.6 refuses an id used twice).
    identity = ALICE.identity
    rng = SeededRng(b"at-the-limit")
    kems = tuple(
        KemPrekeyPair.generate(identity, prekey_id=1000 + i, now=0, last_resort=False, rng=rng)
        .public
        for i in range(MAX_KEM_ONE_TIME_PREKEYS)
    )
    base = PrekeyUpload.from_bytes(UPLOAD)
    at_limit = PrekeyUpload(
        base.identity, base.signed_prekey, base.one_time_prekeys, base.kem_last_resort, kems
    )
    upload = PrekeyUpload.from_bytes_verified(at_limit.to_bytes())
    assert len(upload.kem_one_time) == MAX_KEM_ONE_TIME_PREKEYS


def test_largest_structures_fit_their_size_limits() -> None:
    identity = ALICE.identity
    rng = SeededRng(b"largest")
    spk = SignedPrekeyPair.generate(identity, prekey_id=MAX_PREKEY_ID, now=MAX_TIMESTAMP, rng=rng)
    # Distinct ids (spec §4.6), all large enough to take the widest (uint32) encoding.
    opks = tuple(
        OneTimePrekeyPair.generate(prekey_id=MAX_PREKEY_ID - 1 - i, rng=rng).public
        for i in range(MAX_ONE_TIME_PREKEYS)
    )
    kems = tuple(
        KemPrekeyPair.generate(
            identity, prekey_id=MAX_PREKEY_ID - 1 - i, now=MAX_TIMESTAMP, last_resort=False, rng=rng
        ).public
        for i in range(MAX_KEM_ONE_TIME_PREKEYS)
    )
    opk, kem = opks[0], kems[0]
    last = KemPrekeyPair.generate(
        identity, prekey_id=MAX_PREKEY_ID, now=MAX_TIMESTAMP, last_resort=True, rng=rng
    ).public
    bundle = PrekeyBundle(identity.public, spk.public, opk, kem)
    upload = PrekeyUpload(identity.public, spk.public, opks, last, kems)
    for item in (identity.public, spk.public, opk, kem, bundle, upload):
        data = item.to_bytes()
        assert len(data) <= type(item).MAX_SIZE
        assert type(item).from_bytes(data) == item
    assert len(upload.to_bytes()) == 133_549  # the figure quoted in keys.py
    # One byte more than the limit is refused before parsing.
    assert code(lambda: PrekeyBundle.from_bytes(bytes(PrekeyBundle.MAX_SIZE + 1))) == (
        "decode.too_large"
    )


def test_identity_key_verify() -> None:
    public = ALICE.identity.public
    public.verify()
    bad = IdentityKey(public.signing_key, public.dh_key, flip(public.binding_signature, 63))
    assert code(bad.verify) == "auth.failed"
    other = IdentityKey(
        public.signing_key, MALLORY.identity.public.dh_key, public.binding_signature
    )
    assert code(other.verify) == "auth.failed"
    assert code(lambda: ALICE.spk.public.verify(MALLORY.identity.public)) == "auth.failed"
    assert code(lambda: ALICE.kem_last.public.verify(MALLORY.identity.public)) == "auth.failed"


# --- Hypothesis: any single-byte change ---------------------------------------------------------


def _only_unsigned_part_differs(original: PrekeyBundle, changed: PrekeyBundle) -> bool:
    return (
        changed.identity == original.identity
        and changed.signed_prekey == original.signed_prekey
        and changed.kem_prekey == original.kem_prekey
        and changed.one_time_prekey != original.one_time_prekey
    )


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_single_byte_change_in_a_bundle(data: st.DataObject) -> None:
    """DecodeError or AuthenticationError; success only through the unsigned one-time prekey.

    The one-time prekey is unsigned by design (spec §4.2): a directory can swap it, so a change
    confined to it may decode and verify. Every signed key, id, time and flag is covered.
    """
    with_one_time = data.draw(st.booleans())
    original = ALICE.bundle(with_one_time)
    encoded = original.to_bytes()
    index = data.draw(st.integers(0, len(encoded) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda b: b != encoded[index]))
    changed = encoded[:index] + bytes([value]) + encoded[index + 1 :]
    try:
        result = PrekeyBundle.from_bytes_verified(changed)
    except (DecodeError, AuthenticationError):
        return
    assert with_one_time, "a bundle without one-time prekey accepted a modified byte"
    assert _only_unsigned_part_differs(original, result)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_truncated_or_extended_bundle_is_a_decode_error(data: st.DataObject) -> None:
    encoded = BUNDLE
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(DecodeError):
        PrekeyBundle.from_bytes(encoded[:cut])
    extra = data.draw(st.binary(min_size=1, max_size=8))
    with pytest.raises(DecodeError):
        PrekeyBundle.from_bytes(encoded + extra)


# --- the ``keys`` vector suite ----------------------------------------------------------------

CASES = kat_keys.generate()


def test_suite_is_deterministic_and_verifies() -> None:
    assert kat_keys.generate() == CASES
    result = verify_suite(generate_suite("keys"))
    assert result.failures == []
    assert result.valid > 0 and result.invalid > 0


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_every_case_verifies(case: dict[str, Any]) -> None:
    kat_keys.verify(case)


def test_suite_covers_every_required_error() -> None:
    errors = {c["error"] for c in CASES if c["result"] == "invalid"}
    assert errors >= {
        "auth.failed",
        "decode.low_order",
        "decode.bad_key",
        "decode.length",
        "decode.unknown_field",
        "decode.version",
        "decode.missing_field",
        "decode.range",
        "decode.count",
    }
    kinds = {c["kind"] for c in CASES if c["result"] == "valid"}
    assert kinds == {
        "identity",
        "signed_prekey",
        "kem_prekey",
        "one_time_prekey",
        "bundle",
        "upload",
        "safety_number",
        "safety_compare",
    }
    assert {c["matches"] for c in CASES if c["kind"] == "safety_compare"} == {True, False}


def test_every_cbor_field_names_a_cddl_rule() -> None:
    for case in CASES:
        for field, rule in case.get("cddl", {}).items():
            assert isinstance(case[field], str) and rule.islower(), (case["id"], field)


@pytest.mark.parametrize(
    ("case_id", "field"),
    [
        ("identity-0", "binding_signature"),
        ("signed-prekey-0", "signature"),
        ("kem-prekey-one-time", "public_key"),
        ("bundle-full", "bundle"),
        ("upload-0", "upload"),
        ("safety-number-0", "digits"),
    ],
)
def test_verify_names_the_mismatched_field(case_id: str, field: str) -> None:
    case = dict(next(c for c in CASES if c["id"] == case_id))
    value = case[field]
    case[field] = ("1" if value[0] != "1" else "2") + value[1:]
    with pytest.raises(AssertionError, match=f"^{field}"):
        kat_keys.verify(case)


def test_verify_rejects_an_invalid_case_with_the_wrong_code() -> None:
    case = dict(next(c for c in CASES if c["id"] == "bundle-kem-modulus"))
    case["error"] = "auth.failed"
    with pytest.raises(AssertionError, match=r"^error"):
        kat_keys.verify(case)


def test_upload_with_a_prekey_id_used_twice_is_refused() -> None:
    """Spec §4.6: ids are distinct per kind, checked while decoding (before any signature)."""
    rng = SeededRng(b"duplicate-ids")
    identity = IdentityKeyPair.generate(rng)
    spk = SignedPrekeyPair.generate(identity, prekey_id=1, now=0, rng=rng)
    opk = OneTimePrekeyPair.generate(prekey_id=1, rng=rng)
    last = KemPrekeyPair.generate(identity, prekey_id=1, now=0, last_resort=True, rng=rng)
    upload = PrekeyUpload(identity.public, spk.public, (), last.public, ())
    assert PrekeyUpload.from_bytes(upload.to_bytes()) == upload  # same id across kinds is fine
    with pytest.raises(UsageError):
        PrekeyUpload(identity.public, spk.public, (opk.public,), last.public, ())
    encoded = upload.to_cbor()
    encoded[3] = [opk.public.to_cbor()]
    with pytest.raises(DecodeError) as info:
        PrekeyUpload.from_cbor(encoded)
    assert info.value.code == "decode.duplicate_id"
