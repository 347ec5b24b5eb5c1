"""Spec vectors.md, suite ``keys``: identity keys, prekeys, bundles, uploads, safety numbers.

Parameters
    Every valid case draws its private keys from ``SeededRng.for_suite("keys", <case id>)`` in
    the order documented per kind below, and records them, so an implementation can start from
    the private bytes alone. Integers are JSON numbers (all below 2**53). ``cddl`` maps a field
    holding CBOR (hex) to its rule in ``spec/wire.cddl``.

Kinds (field ``kind``) and their verification
    ``identity``
        ``private_key`` (``ed25519 seed || x25519 private key``, 64 bytes; drawn as seed then
        DH key) → ``signing_key``, ``dh_key``, ``binding_payload``, ``binding_signature`` and
        the encoding ``identity``. Check each, then decode ``identity`` and verify it.
    ``signed_prekey`` / ``kem_prekey`` / ``one_time_prekey``
        ``identity_private`` (not for one-time prekeys), the prekey's ``private_key`` (32 bytes;
        for KEM prekeys the 64-byte seed ``d || z``), ``prekey_id``, ``created_at``,
        ``last_resort``
        → ``public_key``, ``signature_payload``, ``signature`` and the encoding. Check each,
        decode the encoding and verify its signature with the identity.
    ``bundle`` / ``upload``
        The identity, every prekey's private bytes, ids and times (``null`` for an absent
        one-time prekey) → the encoding ``bundle`` / ``upload``. Rebuild it, compare the bytes,
        decode and verify (spec §4.5 / §4.6).
    ``safety_number``
        ``alice_private`` and ``bob_private`` → both 64-byte ``*_fingerprint`` hashes, both
        30-digit ``*_digits``, the 60 ``digits``, ``display``, and each side's scannable form
        ``alice_scannable`` (Alice local) and ``bob_scannable``. Check each, and that each
        side's :func:`compare_scanned` accepts the other's code.
    ``safety_compare``
        Alice's safety number with Bob, and a ``scanned`` code: ``matches`` is the expected
        boolean of ``compare_scanned`` — a code for another pair is a *valid* case with
        ``matches: false``, because comparison is not an error.
    ``decode`` (all invalid cases)
        ``structure`` names the CDDL rule of ``encoding``; decode it as that structure and, for
        bundles, uploads and identity keys, verify its signatures. The first failure, in the
        normative order decode → authenticate, must carry ``error``. Each encoding is made by
        decoding a real structure, editing the CBOR value and re-encoding it deterministically.
        Where CDDL alone rejects the encoding, the case also names the rule under ``cddl``.
        Cases flagged ``precedence`` carry two faults at different depths (spec §2.4 step 6,
        §4.6); their code is the depth-first order's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ..codec import CborValue, decode, encode
from ..keys import (
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
    identity_binding_payload,
)
from ..safety import (
    SafetyNumber,
    ScannableSafetyNumber,
    compare_scanned,
    fingerprint,
)
from . import Case, SeededRng, expect_error, replay_rng

__all__ = ["SUITE", "generate", "verify"]

SUITE: Final = "keys"

#: Times used by the cases: an ordinary date and 2**32 (the first value that needs 8 bytes).
_T0: Final = 1_767_225_600
_T_WIDE: Final = 2**32
#: A small-order X25519 u-coordinate of order 8 (spec §4.4).
_ORDER_8: Final = bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
#: u = 1 with bit 255 set: small order once the bit is masked as RFC 7748 requires.
_ONE_HIGH_BIT: Final = bytes([1]) + bytes(30) + bytes([0x80])


def _case(case_id: str, comment: str, kind: str, **fields: Any) -> Case:
    return {
        "id": case_id,
        "comment": comment,
        "flags": [kind],
        "result": "valid",
        "error": None,
        "kind": kind,
        **fields,
    }


def _rng(case_id: str) -> SeededRng:
    return SeededRng.for_suite(SUITE, case_id)


def _sign_prekey(
    identity: IdentityKeyPair, private: bytes, prekey_id: int, created_at: int
) -> SignedPrekeyPair:
    return SignedPrekeyPair.generate(
        identity, prekey_id=prekey_id, now=created_at, rng=replay_rng(private)
    )


def _sign_kem(
    identity: IdentityKeyPair, seed: bytes, prekey_id: int, created_at: int, last_resort: bool
) -> KemPrekeyPair:
    return KemPrekeyPair.generate(
        identity, prekey_id=prekey_id, now=created_at, last_resort=last_resort, rng=replay_rng(seed)
    )


# --- valid cases ------------------------------------------------------------------------------


def _identity_case(case_id: str) -> Case:
    identity = IdentityKeyPair.generate(_rng(case_id))
    public = identity.public
    return _case(
        case_id,
        "identity key pair from 64 private bytes; binding signature over the DH key",
        "identity",
        private_key=identity.private_bytes().hex(),
        signing_key=public.signing_key.hex(),
        dh_key=public.dh_key.hex(),
        binding_payload=identity_binding_payload(public.dh_key).hex(),
        binding_signature=public.binding_signature.hex(),
        identity=public.to_bytes().hex(),
        cddl={"identity": "identity-key"},
    )


def _signed_prekey_case(case_id: str, prekey_id: int, created_at: int) -> Case:
    rng = _rng(case_id)
    identity = IdentityKeyPair.generate(rng)
    prekey = SignedPrekeyPair.generate(identity, prekey_id=prekey_id, now=created_at, rng=rng)
    public = prekey.public
    return _case(
        case_id,
        f"signed X25519 prekey id {prekey_id}, created_at {created_at}",
        "signed_prekey",
        identity_private=identity.private_bytes().hex(),
        private_key=prekey.private_bytes().hex(),
        prekey_id=prekey_id,
        created_at=created_at,
        public_key=public.public_key.hex(),
        signature_payload=public.signature_payload().hex(),
        signature=public.signature.hex(),
        signed_prekey=public.to_bytes().hex(),
        cddl={"signed_prekey": "signed-prekey"},
    )


def _kem_prekey_case(case_id: str, prekey_id: int, created_at: int, last_resort: bool) -> Case:
    rng = _rng(case_id)
    identity = IdentityKeyPair.generate(rng)
    prekey = KemPrekeyPair.generate(
        identity, prekey_id=prekey_id, now=created_at, last_resort=last_resort, rng=rng
    )
    public = prekey.public
    kind = "last-resort" if last_resort else "one-time"
    return _case(
        case_id,
        f"signed ML-KEM-768 {kind} prekey from its 64-byte seed d || z",
        "kem_prekey",
        identity_private=identity.private_bytes().hex(),
        private_key=prekey.private_bytes().hex(),
        prekey_id=prekey_id,
        created_at=created_at,
        last_resort=last_resort,
        public_key=public.public_key.hex(),
        signature_payload=public.signature_payload().hex(),
        signature=public.signature.hex(),
        kem_prekey=public.to_bytes().hex(),
        cddl={"kem_prekey": "kem-prekey"},
    )


def _one_time_prekey_case(case_id: str, prekey_id: int) -> Case:
    prekey = OneTimePrekeyPair.generate(prekey_id=prekey_id, rng=_rng(case_id))
    return _case(
        case_id,
        "unsigned X25519 one-time prekey",
        "one_time_prekey",
        private_key=prekey.private_bytes().hex(),
        prekey_id=prekey_id,
        public_key=prekey.public.public_key.hex(),
        one_time_prekey=prekey.public.to_bytes().hex(),
        cddl={"one_time_prekey": "one-time-prekey"},
    )


def _prekey_record(pair: SignedPrekeyPair | KemPrekeyPair) -> dict[str, Any]:
    record: dict[str, Any] = {
        "private_key": pair.private_bytes().hex(),
        "prekey_id": pair.public.id,
        "created_at": pair.public.created_at,
    }
    if isinstance(pair, KemPrekeyPair):
        record["last_resort"] = pair.public.last_resort
    return record


def _one_time_record(pair: OneTimePrekeyPair) -> dict[str, Any]:
    return {"private_key": pair.private_bytes().hex(), "prekey_id": pair.id}


def _bundle(case_id: str, with_one_time: bool, last_resort: bool) -> tuple[Case, PrekeyBundle]:
    """Draw order: identity (64), signed prekey (32), one-time prekey (32), KEM seed (64)."""
    rng = _rng(case_id)
    identity = IdentityKeyPair.generate(rng)
    spk = SignedPrekeyPair.generate(identity, prekey_id=1, now=_T0, rng=rng)
    opk = OneTimePrekeyPair.generate(prekey_id=17, rng=rng) if with_one_time else None
    kem = KemPrekeyPair.generate(
        identity, prekey_id=0 if last_resort else 42, now=_T0, last_resort=last_resort, rng=rng
    )
    bundle = PrekeyBundle(identity.public, spk.public, opk.public if opk else None, kem.public)
    case = _case(
        case_id,
        "prekey bundle"
        + (" with" if with_one_time else " without")
        + " a one-time prekey, "
        + ("last-resort" if last_resort else "one-time")
        + " KEM prekey",
        "bundle",
        identity_private=identity.private_bytes().hex(),
        signed_prekey=_prekey_record(spk),
        one_time_prekey=_one_time_record(opk) if opk else None,
        kem_prekey=_prekey_record(kem),
        bundle=bundle.to_bytes().hex(),
        cddl={"bundle": "prekey-bundle"},
    )
    return case, bundle


#: Ids of the signed prekey and the last-resort KEM prekey of every upload case.
_SIGNED_PREKEY_ID: Final = 7
_LAST_RESORT_ID: Final = 8


def _upload(case_id: str, n_one_time: int, n_kem: int) -> tuple[Case, PrekeyUpload]:
    """Draw order: identity, signed prekey, one-time prekeys, last-resort KEM, one-time KEMs."""
    rng = _rng(case_id)
    identity = IdentityKeyPair.generate(rng)
    spk = SignedPrekeyPair.generate(identity, prekey_id=_SIGNED_PREKEY_ID, now=_T_WIDE, rng=rng)
    opks = [OneTimePrekeyPair.generate(prekey_id=100 + i, rng=rng) for i in range(n_one_time)]
    last = KemPrekeyPair.generate(
        identity, prekey_id=_LAST_RESORT_ID, now=_T_WIDE, last_resort=True, rng=rng
    )
    kems = [
        KemPrekeyPair.generate(identity, prekey_id=200 + i, now=_T_WIDE, last_resort=False, rng=rng)
        for i in range(n_kem)
    ]
    upload = PrekeyUpload(
        identity.public,
        spk.public,
        tuple(p.public for p in opks),
        last.public,
        tuple(k.public for k in kems),
    )
    case = _case(
        case_id,
        f"prekey upload: {n_one_time} one-time prekeys, a last-resort and {n_kem} one-time KEM"
        " prekeys",
        "upload",
        identity_private=identity.private_bytes().hex(),
        signed_prekey=_prekey_record(spk),
        one_time_prekeys=[_one_time_record(p) for p in opks],
        kem_last_resort=_prekey_record(last),
        kem_one_time=[_prekey_record(k) for k in kems],
        upload=upload.to_bytes().hex(),
        cddl={"upload": "prekey-upload"},
    )
    return case, upload


def _safety_case(case_id: str) -> tuple[Case, IdentityKeyPair, IdentityKeyPair]:
    """Draw order: Alice's identity (64), then Bob's (64)."""
    rng = _rng(case_id)
    alice, bob = IdentityKeyPair.generate(rng), IdentityKeyPair.generate(rng)
    mine, theirs = (
        SafetyNumber.of(alice.public, bob.public),
        SafetyNumber.of(bob.public, alice.public),
    )
    case = _case(
        case_id,
        "safety number of two identities, as each side computes and displays it",
        "safety_number",
        alice_private=alice.private_bytes().hex(),
        bob_private=bob.private_bytes().hex(),
        alice_identity=alice.public.to_bytes().hex(),
        bob_identity=bob.public.to_bytes().hex(),
        alice_fingerprint=fingerprint(alice.public).hex(),
        bob_fingerprint=fingerprint(bob.public).hex(),
        alice_digits=mine.local_digits,
        bob_digits=mine.remote_digits,
        digits=mine.digits,
        display=mine.display(),
        alice_scannable=mine.scannable().hex(),
        bob_scannable=theirs.scannable().hex(),
        cddl={
            "alice_identity": "identity-key",
            "bob_identity": "identity-key",
            "alice_scannable": "safety-number-scannable",
            "bob_scannable": "safety-number-scannable",
        },
    )
    return case, alice, bob


def _compare_case(
    case_id: str, comment: str, alice: IdentityKeyPair, bob: IdentityKeyPair, scanned: bytes
) -> Case:
    matches = compare_scanned(SafetyNumber.of(alice.public, bob.public), scanned)
    return _case(
        case_id,
        comment,
        "safety_compare",
        alice_private=alice.private_bytes().hex(),
        bob_private=bob.private_bytes().hex(),
        scanned=scanned.hex(),
        matches=matches,
        cddl={"scanned": "safety-number-scannable"},
    )


# --- invalid cases: the test-only mutator -----------------------------------------------------

Path = tuple[int, ...]


def _at(value: CborValue, path: Path) -> dict[int | str, CborValue]:
    node = value
    for step in path:
        if isinstance(node, dict | list):
            node = node[step]
        else:  # pragma: no cover - a generator bug
            raise AssertionError(f"mutator: cannot descend into {type(node).__name__}")
    if not isinstance(node, dict):  # pragma: no cover - a generator bug
        raise AssertionError("mutator: the path does not end at a map")
    return node


def _mutate(encoded: bytes, edit: Callable[[CborValue], None]) -> bytes:
    """Decode a real structure, apply ``edit`` to its CBOR value, re-encode deterministically."""
    value = decode(encoded, max_size=len(encoded))
    edit(value)
    return encode(value)


def _set(path: Path, key: int, new: CborValue) -> Callable[[CborValue], None]:
    def edit(value: CborValue) -> None:
        _at(value, path)[key] = new

    return edit


def _delete(path: Path, key: int) -> Callable[[CborValue], None]:
    def edit(value: CborValue) -> None:
        del _at(value, path)[key]

    return edit


def _flip(path: Path, key: int, index: int = 0) -> Callable[[CborValue], None]:
    def edit(value: CborValue) -> None:
        node = _at(value, path)
        old = node[key]
        assert isinstance(old, bytes)
        node[key] = old[:index] + bytes([old[index] ^ 0x01]) + old[index + 1 :]

    return edit


def _bad_modulus(path: Path, key: int) -> Callable[[CborValue], None]:
    def edit(value: CborValue) -> None:
        node = _at(value, path)
        old = node[key]
        assert isinstance(old, bytes)
        # First 12-bit coefficient = 4095 >= q = 3329: fails the FIPS 203 §7.2 check.
        node[key] = b"\xff" + bytes([old[1] | 0x0F]) + old[2:]

    return edit


def _grow_list(path: Path, key: int, count: int) -> Callable[[CborValue], None]:
    def edit(value: CborValue) -> None:
        node = _at(value, path)
        items = node[key]
        assert isinstance(items, list) and items
        node[key] = [items[i % len(items)] for i in range(count)]

    return edit


def _both(*edits: Callable[[CborValue], None]) -> Callable[[CborValue], None]:
    """Apply several edits in turn: an input with more than one fault."""

    def edit(value: CborValue) -> None:
        for one in edits:
            one(value)

    return edit


def _invalid(
    case_id: str,
    comment: str,
    structure: str,
    encoding: bytes,
    error: str,
    *,
    cddl_rejects: bool,
    precedence: bool = False,
) -> Case:
    case = _case(case_id, comment, "decode", structure=structure, encoding=encoding.hex())
    case["result"] = "invalid"
    case["error"] = error
    case["flags"] = ["decode", "mutated", *(["precedence"] if precedence else []), error]
    if cddl_rejects:
        case["cddl"] = {"encoding": structure}
    return case


# Map keys (spec §4): see the CDDL in spec/wire.cddl.
_B_IDENTITY, _B_SPK, _B_OPK, _B_KEM = 1, 2, 3, 4
_U_OPKS, _U_LAST, _U_KEMS = 3, 4, 5


def _bundle_invalid(bundle: bytes, other_identity: bytes) -> list[Case]:
    b = "prekey-bundle"
    specs: list[tuple[str, str, Callable[[CborValue], None], str, bool]] = [
        (
            "bundle-bad-binding-signature",
            "one bit of the identity binding signature flipped",
            _flip((_B_IDENTITY,), 3),
            "auth.failed",
            False,
        ),
        (
            "bundle-bad-signed-prekey-signature",
            "one bit of the signed prekey's signature flipped",
            _flip((_B_SPK,), 4),
            "auth.failed",
            False,
        ),
        (
            "bundle-signed-prekey-created-at-changed",
            "created_at is signed: changing it breaks the signed prekey's signature",
            _set((_B_SPK,), 2, _T0 + 1),
            "auth.failed",
            False,
        ),
        (
            "bundle-bad-kem-prekey-signature",
            "one bit of the KEM prekey's signature flipped",
            _flip((_B_KEM,), 5),
            "auth.failed",
            False,
        ),
        (
            "bundle-kem-last-resort-flag-flipped",
            "the last-resort flag is signed: flipping it breaks the KEM prekey's signature",
            _set((_B_KEM,), 3, True),
            "auth.failed",
            False,
        ),
        (
            "bundle-identity-substituted",
            "another valid identity in place of the signer: its binding verifies, the signed"
            " prekey's signature does not",
            _set((), _B_IDENTITY, decode(other_identity)),
            "auth.failed",
            False,
        ),
        (
            "bundle-low-order-signed-prekey",
            "signed prekey of order 8: refused at decode, before the (now wrong) signature",
            _set((_B_SPK,), 3, _ORDER_8),
            "decode.low_order",
            False,
        ),
        (
            "bundle-low-order-signed-prekey-high-bit",
            "signed prekey u = 1 with bit 255 set: small order after masking the bit",
            _set((_B_SPK,), 3, _ONE_HIGH_BIT),
            "decode.low_order",
            False,
        ),
        (
            "bundle-low-order-identity-dh-key",
            "identity DH key u = 0",
            _set((_B_IDENTITY,), 2, bytes(32)),
            "decode.low_order",
            False,
        ),
        (
            "bundle-low-order-one-time-prekey",
            "one-time prekey u = p - 1",
            _set((_B_OPK,), 2, bytes([0xEC]) + b"\xff" * 30 + b"\x7f"),
            "decode.low_order",
            False,
        ),
        (
            "bundle-kem-modulus",
            "ML-KEM-768 public key with a coefficient >= q (FIPS 203 §7.2 modulus check)",
            _bad_modulus((_B_KEM,), 4),
            "decode.bad_key",
            False,
        ),
        (
            "bundle-signed-prekey-short",
            "signed prekey public key of 31 bytes",
            _set((_B_SPK,), 3, bytes(range(1, 32))),
            "decode.length",
            True,
        ),
        (
            "bundle-kem-prekey-short",
            "ML-KEM-768 public key of 1183 bytes",
            _set((_B_KEM,), 4, bytes(1183)),
            "decode.length",
            True,
        ),
        (
            "bundle-signature-long",
            "identity binding signature of 65 bytes",
            _set((_B_IDENTITY,), 3, bytes(65)),
            "decode.length",
            True,
        ),
        (
            "bundle-unknown-field",
            "key 5 in the bundle",
            _set((), 5, b""),
            "decode.unknown_field",
            True,
        ),
        (
            "bundle-unknown-field-nested",
            "key 5 in the signed prekey",
            _set((_B_SPK,), 5, 0),
            "decode.unknown_field",
            True,
        ),
        (
            "bundle-wrong-version",
            "bundle version 2",
            _set((), 0, 2),
            "decode.version",
            True,
        ),
        (
            "bundle-wrong-version-nested",
            "identity key version 0",
            _set((_B_IDENTITY,), 0, 0),
            "decode.version",
            True,
        ),
        (
            "bundle-missing-signed-prekey",
            "key 2 (signed prekey) absent",
            _delete((), _B_SPK),
            "decode.missing_field",
            True,
        ),
        (
            "bundle-missing-kem-signature",
            "key 5 (signature) absent from the KEM prekey",
            _delete((_B_KEM,), 5),
            "decode.missing_field",
            True,
        ),
        (
            "bundle-prekey-id-too-large",
            "signed prekey id 2**32 (ids are uint32)",
            _set((_B_SPK,), 1, 2**32),
            "decode.range",
            True,
        ),
        (
            "bundle-wrong-type",
            "signed prekey id as a byte string",
            _set((_B_SPK,), 1, b"\x01"),
            "decode.type",
            True,
        ),
    ]
    return [
        _invalid(i, c, b, _mutate(bundle, edit), error, cddl_rejects=rejects)
        for i, c, edit, error, rejects in specs
    ]


def _upload_invalid(upload: bytes) -> list[Case]:
    u = "prekey-upload"
    specs: list[tuple[str, str, Callable[[CborValue], None], str, bool]] = [
        (
            "upload-bad-last-resort-signature",
            "one bit of the last-resort KEM prekey's signature flipped",
            _flip((_U_LAST,), 5),
            "auth.failed",
            False,
        ),
        (
            "upload-bad-one-time-kem-signature",
            "one bit of the one-time KEM prekey's signature flipped",
            _flip((_U_KEMS, 0), 5),
            "auth.failed",
            False,
        ),
        (
            "upload-last-resort-flag-false",
            "the last-resort KEM prekey must carry last_resort = true",
            _set((_U_LAST,), 3, False),
            "decode.range",
            True,
        ),
        (
            "upload-one-time-flag-true",
            "a one-time KEM prekey must carry last_resort = false",
            _set((_U_KEMS, 0), 3, True),
            "decode.range",
            True,
        ),
        (
            "upload-too-many-one-time-prekeys",
            "101 one-time prekeys (at most 100)",
            _grow_list((), _U_OPKS, 101),
            "decode.count",
            True,
        ),
        (
            "upload-low-order-one-time-prekey",
            "one-time prekey of order 8",
            _set((_U_OPKS, 0), 2, _ORDER_8),
            "decode.low_order",
            False,
        ),
        (
            "upload-duplicate-kem-id",
            "the one-time KEM prekey reuses the last-resort KEM prekey's id",
            _set((_U_KEMS, 0), 1, _LAST_RESORT_ID),
            "decode.duplicate_id",
            False,
        ),
        (
            "upload-duplicate-x25519-id",
            "the one-time prekey reuses the signed prekey's id",
            _set((_U_OPKS, 0), 1, _SIGNED_PREKEY_ID),
            "decode.duplicate_id",
            False,
        ),
        (
            "upload-kem-modulus",
            "one-time KEM prekey failing the modulus check",
            _bad_modulus((_U_KEMS, 0), 4),
            "decode.bad_key",
            False,
        ),
    ]
    return [
        _invalid(i, c, u, _mutate(upload, edit), error, cddl_rejects=rejects)
        for i, c, edit, error, rejects in specs
    ]


def _precedence_invalid(bundle: bytes, upload: bytes) -> list[Case]:
    """Spec §2.4 step 6, §4.6: two faults at different depths; the code names the first.

    Decoding is depth-first: a field is finished — a nested message through its own step 7 —
    before the next field is looked at, and the structure's own step 7 runs after all its
    fields. Each comment says what the other readings (every field's shallow checks first, or
    nested semantic checks deferred to the end) would give instead.
    """
    low_order_identity = _set((_B_IDENTITY,), 2, bytes(32))  # identity's own step 7
    specs: list[tuple[str, str, str, Callable[[CborValue], None], str]] = [
        (
            "upload-precedence-nested-check-before-later-count",
            "the identity's DH key is u = 0 (its own step 7) and there are 101 one-time prekeys"
            " (the upload's step 6 on a later field): depth-first gives decode.low_order;"
            " shallow-first, or nested step 7 deferred, would give decode.count",
            "prekey-upload",
            _both(low_order_identity, _grow_list((), _U_OPKS, 101)),
            "decode.low_order",
        ),
        (
            "upload-precedence-nested-length-before-later-count",
            "the identity's binding signature is 65 bytes (its step 6) and there are 101"
            " one-time prekeys (the upload's step 6 on a later field): depth-first gives"
            " decode.length; shallow-first would give decode.count",
            "prekey-upload",
            _both(_set((_B_IDENTITY,), 3, bytes(65)), _grow_list((), _U_OPKS, 101)),
            "decode.length",
        ),
        (
            "bundle-precedence-nested-check-before-later-range",
            "the identity's DH key is u = 0 (its step 7) and the signed prekey's id is 2**32"
            " (the signed prekey's step 6, a later field): depth-first gives decode.low_order;"
            " nested step 7 deferred would give decode.range",
            "prekey-bundle",
            _both(low_order_identity, _set((_B_SPK,), 1, 2**32)),
            "decode.low_order",
        ),
        (
            "upload-precedence-kem-modulus-before-flag",
            "the last-resort KEM prekey has last_resort = false (the upload's step 7) and fails"
            " the modulus check (the KEM prekey's own step 7, run when field 4 is decoded):"
            " decode.bad_key; the flag is checked only after every field",
            "prekey-upload",
            _both(_set((_U_LAST,), 3, False), _bad_modulus((_U_LAST,), 4)),
            "decode.bad_key",
        ),
        (
            "upload-precedence-later-modulus-before-flag",
            "the last-resort KEM prekey has last_resort = false (the upload's step 7) and the"
            " one-time KEM prekey (field 5) fails the modulus check (its own step 7):"
            " decode.bad_key, although the flag belongs to an earlier field",
            "prekey-upload",
            _both(_set((_U_LAST,), 3, False), _bad_modulus((_U_KEMS, 0), 4)),
            "decode.bad_key",
        ),
        (
            "upload-precedence-flag-before-duplicate-id",
            "the one-time KEM prekey has last_resort = true and reuses the last-resort id: both"
            " are the upload's step 7, which checks the flags before the ids: decode.range",
            "prekey-upload",
            _both(_set((_U_KEMS, 0), 3, True), _set((_U_KEMS, 0), 1, _LAST_RESORT_ID)),
            "decode.range",
        ),
    ]
    sources = {"prekey-bundle": bundle, "prekey-upload": upload}
    return [
        _invalid(
            i,
            c,
            structure,
            _mutate(sources[structure], edit),
            error,
            cddl_rejects=True,
            precedence=True,
        )
        for i, c, structure, edit, error in specs
    ]


def _scannable_invalid(scannable: bytes) -> list[Case]:
    s = "safety-number-scannable"
    return [
        _invalid(
            "scannable-wrong-version",
            "scannable safety number of version 2",
            s,
            _mutate(scannable, _set((), 0, 2)),
            "decode.version",
            cddl_rejects=True,
        ),
        _invalid(
            "scannable-short-fingerprint",
            "remote fingerprint of 31 bytes",
            s,
            _mutate(scannable, _set((), 2, bytes(31))),
            "decode.length",
            cddl_rejects=True,
        ),
        _invalid(
            "scannable-unknown-field",
            "key 3 in the scannable form",
            s,
            _mutate(scannable, _set((), 3, b"")),
            "decode.unknown_field",
            cddl_rejects=True,
        ),
    ]


def generate() -> list[Case]:
    """All cases of the suite, deterministically."""
    cases: list[Case] = [_identity_case(f"identity-{i}") for i in range(3)]
    cases.append(_signed_prekey_case("signed-prekey-0", 1, _T0))
    cases.append(_signed_prekey_case("signed-prekey-wide", 2**32 - 1, _T_WIDE))
    cases.append(_one_time_prekey_case("one-time-prekey-0", 0))
    cases.append(_kem_prekey_case("kem-prekey-last-resort", 0, _T0, True))
    cases.append(_kem_prekey_case("kem-prekey-one-time", 2**32 - 1, _T_WIDE, False))
    bundle_case, bundle = _bundle("bundle-full", True, False)
    cases.append(bundle_case)
    cases.append(_bundle("bundle-no-one-time-prekey", False, True)[0])
    cases.append(_upload("upload-0", 3, 2)[0])
    cases.append(_upload("upload-empty", 0, 0)[0])
    upload_case, upload = _upload("upload-1", 1, 1)
    cases.append(upload_case)
    safety_case, alice, bob = _safety_case("safety-number-0")
    cases.append(safety_case)
    carol = IdentityKeyPair.generate(_rng("safety-third-party"))
    cases.append(
        _compare_case(
            "safety-compare-match",
            "Alice scans Bob's code: it matches",
            alice,
            bob,
            SafetyNumber.of(bob.public, alice.public).scannable(),
        )
    )
    cases.append(
        _compare_case(
            "safety-compare-third-party",
            "Alice scans the code Carol shows for Bob (another pair): no match (carol_private"
            " is the third identity)",
            alice,
            bob,
            SafetyNumber.of(carol.public, bob.public).scannable(),
        )
        | {"carol_private": carol.private_bytes().hex()}
    )
    cases.append(
        _compare_case(
            "safety-compare-own-code",
            "Alice scans her own code (both fingerprints swapped): no match",
            alice,
            bob,
            SafetyNumber.of(alice.public, bob.public).scannable(),
        )
    )
    cases += _bundle_invalid(bundle.to_bytes(), carol.public.to_bytes())
    cases += _upload_invalid(upload.to_bytes())
    cases += _precedence_invalid(bundle.to_bytes(), upload.to_bytes())
    cases += _scannable_invalid(SafetyNumber.of(alice.public, bob.public).scannable())
    return cases


# --- verification -----------------------------------------------------------------------------


def _eq(field: str, expected: object, got: object) -> None:
    if expected != got:
        raise AssertionError(f"{field}: expected {expected!r}, got {got!r}")


def _hex(field: str, expected: str, got: bytes) -> None:
    _eq(field, expected, got.hex())


def _identity(hex_private: str) -> IdentityKeyPair:
    return IdentityKeyPair.from_private_bytes(bytes.fromhex(hex_private))


def _spk_from(identity: IdentityKeyPair, record: dict[str, Any]) -> SignedPrekeyPair:
    return _sign_prekey(
        identity, bytes.fromhex(record["private_key"]), record["prekey_id"], record["created_at"]
    )


def _kem_from(identity: IdentityKeyPair, record: dict[str, Any]) -> KemPrekeyPair:
    return _sign_kem(
        identity,
        bytes.fromhex(record["private_key"]),
        record["prekey_id"],
        record["created_at"],
        record["last_resort"],
    )


def _opk_from(record: dict[str, Any]) -> OneTimePrekeyPair:
    return OneTimePrekeyPair.from_private_bytes(
        bytes.fromhex(record["private_key"]), record["prekey_id"]
    )


def _verify_identity(case: Case) -> None:
    public = _identity(case["private_key"]).public
    _hex("signing_key", case["signing_key"], public.signing_key)
    _hex("dh_key", case["dh_key"], public.dh_key)
    _hex("binding_payload", case["binding_payload"], identity_binding_payload(public.dh_key))
    _hex("binding_signature", case["binding_signature"], public.binding_signature)
    _hex("identity", case["identity"], public.to_bytes())
    decoded = IdentityKey.from_bytes(bytes.fromhex(case["identity"]))
    _eq("identity", public, decoded)
    decoded.verify()


def _verify_signed_prekey(case: Case) -> None:
    identity = _identity(case["identity_private"])
    public = _spk_from(identity, case).public
    _hex("public_key", case["public_key"], public.public_key)
    _hex("signature_payload", case["signature_payload"], public.signature_payload())
    _hex("signature", case["signature"], public.signature)
    _hex("signed_prekey", case["signed_prekey"], public.to_bytes())
    decoded = SignedPrekey.from_bytes(bytes.fromhex(case["signed_prekey"]))
    _eq("signed_prekey", public, decoded)
    decoded.verify(identity.public)


def _verify_kem_prekey(case: Case) -> None:
    identity = _identity(case["identity_private"])
    public = _kem_from(identity, case).public
    _hex("public_key", case["public_key"], public.public_key)
    _hex("signature_payload", case["signature_payload"], public.signature_payload())
    _hex("signature", case["signature"], public.signature)
    _hex("kem_prekey", case["kem_prekey"], public.to_bytes())
    decoded = KemPrekey.from_bytes(bytes.fromhex(case["kem_prekey"]))
    _eq("kem_prekey", public, decoded)
    decoded.verify(identity.public)


def _verify_one_time_prekey(case: Case) -> None:
    public = _opk_from(case).public
    _hex("public_key", case["public_key"], public.public_key)
    _hex("one_time_prekey", case["one_time_prekey"], public.to_bytes())
    _eq("one_time_prekey", public, OneTimePrekey.from_bytes(bytes.fromhex(case["one_time_prekey"])))


def _verify_bundle(case: Case) -> None:
    identity = _identity(case["identity_private"])
    opk = case["one_time_prekey"]
    bundle = PrekeyBundle(
        identity.public,
        _spk_from(identity, case["signed_prekey"]).public,
        _opk_from(opk).public if opk is not None else None,
        _kem_from(identity, case["kem_prekey"]).public,
    )
    _hex("bundle", case["bundle"], bundle.to_bytes())
    _eq("bundle", bundle, PrekeyBundle.from_bytes_verified(bytes.fromhex(case["bundle"])))


def _verify_upload(case: Case) -> None:
    identity = _identity(case["identity_private"])
    upload = PrekeyUpload(
        identity.public,
        _spk_from(identity, case["signed_prekey"]).public,
        tuple(_opk_from(r).public for r in case["one_time_prekeys"]),
        _kem_from(identity, case["kem_last_resort"]).public,
        tuple(_kem_from(identity, r).public for r in case["kem_one_time"]),
    )
    _hex("upload", case["upload"], upload.to_bytes())
    _eq("upload", upload, PrekeyUpload.from_bytes_verified(bytes.fromhex(case["upload"])))


def _verify_safety_number(case: Case) -> None:
    alice = _identity(case["alice_private"]).public
    bob = _identity(case["bob_private"]).public
    _hex("alice_identity", case["alice_identity"], alice.to_bytes())
    _hex("bob_identity", case["bob_identity"], bob.to_bytes())
    _hex("alice_fingerprint", case["alice_fingerprint"], fingerprint(alice))
    _hex("bob_fingerprint", case["bob_fingerprint"], fingerprint(bob))
    mine, theirs = SafetyNumber.of(alice, bob), SafetyNumber.of(bob, alice)
    _eq("alice_digits", case["alice_digits"], mine.local_digits)
    _eq("bob_digits", case["bob_digits"], mine.remote_digits)
    _eq("digits", case["digits"], mine.digits)
    _eq("digits", case["digits"], theirs.digits)
    _eq("display", case["display"], mine.display())
    _hex("alice_scannable", case["alice_scannable"], mine.scannable())
    _hex("bob_scannable", case["bob_scannable"], theirs.scannable())
    _eq("bob_scannable", True, compare_scanned(mine, bytes.fromhex(case["bob_scannable"])))
    _eq("alice_scannable", True, compare_scanned(theirs, bytes.fromhex(case["alice_scannable"])))


def _verify_compare(case: Case) -> None:
    alice = _identity(case["alice_private"]).public
    bob = _identity(case["bob_private"]).public
    matches = compare_scanned(SafetyNumber.of(alice, bob), bytes.fromhex(case["scanned"]))
    _eq("matches", case["matches"], matches)


def _decode_action(case: Case) -> Callable[[], object]:
    data = bytes.fromhex(case["encoding"])

    def identity() -> None:
        IdentityKey.from_bytes(data).verify()

    actions: dict[str, Callable[[], object]] = {
        "prekey-bundle": lambda: PrekeyBundle.from_bytes_verified(data),
        "prekey-upload": lambda: PrekeyUpload.from_bytes_verified(data),
        "identity-key": identity,
        "safety-number-scannable": lambda: ScannableSafetyNumber.from_bytes(data),
    }
    structure = case["structure"]
    if structure not in actions:
        raise AssertionError(f"structure: unknown {structure!r}")
    return actions[structure]


_VALID: Final[dict[str, Callable[[Case], None]]] = {
    "identity": _verify_identity,
    "signed_prekey": _verify_signed_prekey,
    "kem_prekey": _verify_kem_prekey,
    "one_time_prekey": _verify_one_time_prekey,
    "bundle": _verify_bundle,
    "upload": _verify_upload,
    "safety_number": _verify_safety_number,
    "safety_compare": _verify_compare,
}


def verify(case: Case) -> None:
    """Check one case against this implementation (see the module docstring)."""
    kind = case["kind"]
    if case["result"] == "invalid":
        if kind != "decode":
            raise AssertionError(f"kind: invalid cases are 'decode', not {kind!r}")
        expect_error(case, _decode_action(case))
        return
    if kind not in _VALID:
        raise AssertionError(f"kind: unknown {kind!r}")
    _VALID[kind](case)
