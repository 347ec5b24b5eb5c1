"""Spec §8.1: RFC 9497 OPRF (mode 0), VOPRF (mode 1) and POPRF (mode 2), ristretto255-SHA512.

A straight transcription of RFC 9497 for the one ciphersuite Blindpost uses, over the
ristretto255 :class:`~protocol.primitives.Element` and :class:`~protocol.primitives.Scalar` of
spec §3.7 (libsodium through rbcl: constant-time scalar multiplication). Function names and
statement order follow the RFC's pseudocode; each docstring names the RFC section it copies.

Roles (RFC 9497 §3): the **client** calls :func:`blind`, sends the blinded element, and calls
:func:`finalize_verified` (VOPRF, POPRF: checks the evaluator's DLEQ proof against its published
key, then unblinds) or :func:`finalize` (OPRF, no proof). The **evaluator** calls
:func:`blind_evaluate` (OPRF) or :func:`blind_evaluate_batch` (VOPRF, POPRF: evaluations plus one
batched proof). :func:`evaluate` is the evaluator's direct evaluation of a known input; a client
output always equals it (RFC 9497 §3.3.1, "Evaluate").

Errors (spec §1.4): an element or scalar whose bytes do not decode is ``decode.bad_element``
(raised by the primitives); a proof that does not verify is ``auth.failed``; batch counts:
elements received from the peer in a number other than expected are ``decode.count``; misuse by
the caller (wrong mode, oversize input or info, inconsistent own lists) is ``usage.bad_argument``.

Deterministic seams (pyca/cryptography style, no monkeypatching): :func:`_blind_with` takes the
blind and :func:`_blind_evaluate_batch_with` the proof randomness ``r`` explicitly; the public
functions draw them from ``rng``. Known-answer tests use the seams with the RFC's recorded values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from .errors import AuthenticationError, DecodeError, UsageError
from .primitives import (
    RISTRETTO255_ELEMENT_SIZE,
    RISTRETTO255_SCALAR_SIZE,
    Element,
    Rng,
    Scalar,
    sha512,
)

__all__ = [
    "ELEMENT_SIZE",
    "MAX_BATCH",
    "MAX_INFO_SIZE",
    "MAX_INPUT_SIZE",
    "OUTPUT_SIZE",
    "PROOF_SIZE",
    "SCALAR_SIZE",
    "SEED_SIZE",
    "SUITE_ID",
    "Mode",
    "Proof",
    "blind",
    "blind_evaluate",
    "blind_evaluate_batch",
    "context_string",
    "derive_key_pair",
    "evaluate",
    "expand_message_xmd",
    "finalize",
    "finalize_verified",
    "generate_key_pair",
    "hash_to_group",
    "hash_to_scalar",
    "verify_proof",
]


class Mode(IntEnum):
    """Spec §8.1, RFC 9497 §3.1: the protocol variant, a raw byte in the context string."""

    OPRF = 0
    VOPRF = 1
    POPRF = 2


#: RFC 9497 §4.1: the identifier of the ciphersuite ristretto255-SHA512.
SUITE_ID: Final = b"ristretto255-SHA512"
#: Ne, Ns: sizes of a serialized element and scalar (RFC 9497 §4.1).
ELEMENT_SIZE: Final = RISTRETTO255_ELEMENT_SIZE
SCALAR_SIZE: Final = RISTRETTO255_SCALAR_SIZE
#: Nh: the SHA-512 output size, also the size of a Finalize output.
OUTPUT_SIZE: Final = 64
#: A serialized proof: SerializeScalar(c) || SerializeScalar(s).
PROOF_SIZE: Final = 2 * SCALAR_SIZE
#: DeriveKeyPair seed size (Ns, RFC 9497 §3.2.1).
SEED_SIZE: Final = 32
#: Spec §8.1: the most elements one batched evaluation (and its single proof) may cover.
MAX_BATCH: Final = 64
#: Inputs and info strings are framed with a 2-byte length (I2OSP(len, 2)), so at most this long.
MAX_INPUT_SIZE: Final = 2**16 - 1
MAX_INFO_SIZE: Final = 2**16 - 1

# RFC 9380 §5.3.1 parameters of SHA-512: b_in_bytes and s_in_bytes.
_B_IN_BYTES: Final = 64
_S_IN_BYTES: Final = 128
_Z_PAD: Final = bytes(_S_IN_BYTES)
_MAX_XMD_OUTPUT: Final = min(255 * _B_IN_BYTES, 2**16 - 1)
_MAX_DST: Final = 255

# Fixed framings of RFC 9497 §2.2 and §3.3 (element and hash sizes never change in this suite).
_LEN_ELEMENT: Final = ELEMENT_SIZE.to_bytes(2, "big")
_LEN_HASH: Final = OUTPUT_SIZE.to_bytes(2, "big")


def _i2osp2(n: int) -> bytes:
    return n.to_bytes(2, "big")


def _dst_prime(dst: bytes) -> bytes:
    return dst + bytes((len(dst),))


@dataclass(frozen=True, slots=True)
class _ModeConstants:
    """Everything of RFC 9497 that depends only on the mode, computed once per mode."""

    context: bytes
    hash_to_group_dst: bytes  # DST_prime = DST || I2OSP(len(DST), 1), ready for expand
    hash_to_scalar_dst: bytes
    derive_key_pair_dst: bytes
    seed_suffix: bytes  # I2OSP(len(seedDST), 2) || seedDST, the tail of the seed transcript


def _constants(mode: Mode) -> _ModeConstants:
    context = b"OPRFV1-" + bytes((int(mode),)) + b"-" + SUITE_ID
    seed_dst = b"Seed-" + context
    return _ModeConstants(
        context=context,
        hash_to_group_dst=_dst_prime(b"HashToGroup-" + context),
        hash_to_scalar_dst=_dst_prime(b"HashToScalar-" + context),
        # RFC 9497 §3.2.1: "DeriveKeyPair" || contextString, without a hyphen.
        derive_key_pair_dst=_dst_prime(b"DeriveKeyPair" + context),
        seed_suffix=_i2osp2(len(seed_dst)) + seed_dst,
    )


_MODES: Final[dict[Mode, _ModeConstants]] = {m: _constants(m) for m in Mode}


def _mode(mode: Mode) -> _ModeConstants:
    try:
        return _MODES[Mode(mode)]
    except (ValueError, TypeError):
        raise UsageError("usage.bad_argument", "mode must be Mode.OPRF, VOPRF or POPRF") from None


def _check_bytes(name: str, value: bytes, max_len: int) -> None:
    if not isinstance(value, bytes):
        raise UsageError("usage.bad_argument", f"{name} must be bytes")
    if len(value) > max_len:
        raise UsageError("usage.bad_argument", f"{name} longer than {max_len} bytes")


def _check_info(mode: Mode, info: bytes) -> None:
    _check_bytes("info", info, MAX_INFO_SIZE)
    if mode != Mode.POPRF and info:
        raise UsageError("usage.bad_argument", "info is only for POPRF")


# --- RFC 9380 §5.3.1 and RFC 9497 §4.1: hashing -------------------------------------------------


def context_string(mode: Mode) -> bytes:
    """Spec §8.1, RFC 9497 §3.1: ``"OPRFV1-" || I2OSP(mode, 1) || "-" || identifier``.

    The mode is a raw byte (0x00, 0x01, 0x02), not an ASCII digit.
    """
    return _mode(mode).context


def _expand_xmd(msg: bytes, dst_prime: bytes, len_in_bytes: int) -> bytes:
    # RFC 9380 §5.3.1, steps 1-11, with DST_prime precomputed and every argument checked.
    ell = -(-len_in_bytes // _B_IN_BYTES)
    b_0 = sha512(_Z_PAD + msg + _i2osp2(len_in_bytes) + b"\x00" + dst_prime)
    b_i = sha512(b_0 + b"\x01" + dst_prime)
    out = [b_i]
    for i in range(2, ell + 1):
        b_i = sha512(bytes(x ^ y for x, y in zip(b_0, b_i, strict=True)) + bytes((i,)) + dst_prime)
        out.append(b_i)
    return b"".join(out)[:len_in_bytes]


def expand_message_xmd(msg: bytes, dst: bytes, len_in_bytes: int) -> bytes:
    """Spec §8.1, RFC 9380 §5.3.1: expand_message_xmd with SHA-512.

    Aborts (``usage.bad_argument``) where the RFC does: ``len_in_bytes`` above 255 · 64 or
    65535, a ``dst`` longer than 255 bytes (RFC 9380 §5.3.3: the caller hashes a longer tag to
    ``H("H2C-OVERSIZE-DST-" || DST)`` first), and an empty ``dst`` (§3.1: tags are non-empty).
    """
    if not isinstance(msg, bytes) or not isinstance(dst, bytes):
        raise UsageError("usage.bad_argument", "msg and dst must be bytes")
    if not 0 < len(dst) <= _MAX_DST:
        raise UsageError("usage.bad_argument", "DST must be 1 to 255 bytes")
    if not isinstance(len_in_bytes, int) or not 0 <= len_in_bytes <= _MAX_XMD_OUTPUT:
        raise UsageError("usage.bad_argument", "len_in_bytes out of range for SHA-512")
    return _expand_xmd(msg, _dst_prime(dst), len_in_bytes)


def _hash_to_group(msg: bytes, c: _ModeConstants) -> Element:
    return Element.from_uniform_bytes(_expand_xmd(msg, c.hash_to_group_dst, 64))


def _hash_to_scalar(msg: bytes, dst_prime: bytes) -> Scalar:
    return Scalar.from_wide(_expand_xmd(msg, dst_prime, 64))


def hash_to_group(msg: bytes, mode: Mode) -> Element:
    """Spec §8.1, RFC 9497 §4.1: HashToGroup, the RFC 9496 §4.3.4 element derivation of
    ``expand_message_xmd(msg, "HashToGroup-" || contextString, 64)``.

    The identity (probability about 2^-252) is ``decode.bad_element``: no Element represents it.
    """
    if not isinstance(msg, bytes):
        raise UsageError("usage.bad_argument", "msg must be bytes")
    return _hash_to_group(msg, _mode(mode))


def hash_to_scalar(msg: bytes, mode: Mode) -> Scalar:
    """Spec §8.1, RFC 9497 §4.1: HashToScalar.

    ``expand_message_xmd(msg, "HashToScalar-" || contextString, 64)`` read little-endian and
    reduced modulo L.
    """
    if not isinstance(msg, bytes):
        raise UsageError("usage.bad_argument", "msg must be bytes")
    return _hash_to_scalar(msg, _mode(mode).hash_to_scalar_dst)


# --- RFC 9497 §3.2: key generation ---------------------------------------------------------------


def derive_key_pair(seed: bytes, info: bytes, mode: Mode) -> tuple[Scalar, Element]:
    """Spec §8.1, RFC 9497 §3.2.1: DeriveKeyPair(seed, info).

    ``deriveInput = seed || I2OSP(len(info), 2) || info``; for ``counter`` = 0, 1, …, 255 the
    key is ``HashToScalar(deriveInput || I2OSP(counter, 1), DST = "DeriveKeyPair" ||
    contextString)`` until it is non-zero. ``seed`` is 32 bytes (Ns).
    """
    c = _mode(mode)
    if not isinstance(seed, bytes) or len(seed) != SEED_SIZE:
        raise UsageError("usage.bad_argument", f"seed must be {SEED_SIZE} bytes")
    _check_bytes("info", info, MAX_INFO_SIZE)
    derive_input = seed + _i2osp2(len(info)) + info
    for counter in range(256):
        sk = _hash_to_scalar(derive_input + bytes((counter,)), c.derive_key_pair_dst)
        if not sk.is_zero():
            return sk, Element.base_mul(sk)
    # Unreachable but for a 2^-2000 chance; the RFC's DeriveKeyPairError.
    raise UsageError("usage.bad_argument", "DeriveKeyPairError")  # pragma: no cover


def generate_key_pair(rng: Rng) -> tuple[Scalar, Element]:
    """Spec §8.1, RFC 9497 §3.2: GenerateKeyPair, a random non-zero key and ``sk · G``."""
    sk = Scalar.random(rng)
    return sk, Element.base_mul(sk)


# --- RFC 9497 §2.2: the DLEQ proof ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Proof:
    """Spec §8.1, RFC 9497 §2.2: a (batched) DLEQ proof ``(c, s)``.

    Wire form: ``SerializeScalar(c) || SerializeScalar(s)``, 64 bytes, each scalar little-endian
    and below L. A proof is public; its ``repr`` shows it.
    """

    c: Scalar
    s: Scalar

    def __post_init__(self) -> None:
        if not isinstance(self.c, Scalar) or not isinstance(self.s, Scalar):
            raise UsageError("usage.bad_argument", "a proof holds two Scalars")

    def to_bytes(self) -> bytes:
        """The 64-byte wire form ``c || s``."""
        return self.c.to_bytes() + self.s.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Proof:
        """Decode 64 bytes: ``decode.length`` for another size, ``decode.bad_element`` for a
        scalar that is not below L. Zero scalars decode (the proof then fails to verify)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):  # as codec.decode: misuse
            raise UsageError("usage.bad_argument", "data must be bytes")
        raw = bytes(data)
        if len(raw) != PROOF_SIZE:
            raise DecodeError("decode.length", f"a proof is {PROOF_SIZE} bytes")
        return cls(Scalar(raw[:SCALAR_SIZE]), Scalar(raw[SCALAR_SIZE:]))

    def __repr__(self) -> str:
        return f"Proof({self.to_bytes().hex()})"


# The identity is not an Element (spec §3.7), so sums that may reach it use ``None`` for it.
_Point = Element | None


def _mul(element: _Point, scalar: Scalar) -> _Point:
    if element is None or scalar.is_zero():
        return None
    return element.mul(scalar)


def _add(a: _Point, b: _Point) -> _Point:
    if a is None:
        return b
    if b is None:
        return a
    try:
        return a + b
    except UsageError:  # Element.__add__ refuses exactly one result: the identity
        return None


def _composite_scalars(
    b: Element, cs: Sequence[Element], ds: Sequence[Element], c: _ModeConstants
) -> list[Scalar]:
    """RFC 9497 §2.2.1: the d_i of ComputeComposites, from the seed over ``B``."""
    seed = sha512(_LEN_ELEMENT + b.to_bytes() + c.seed_suffix)
    prefix = _LEN_HASH + seed
    dst = c.hash_to_scalar_dst
    return [
        _hash_to_scalar(
            prefix
            + _i2osp2(i)
            + _LEN_ELEMENT
            + ci.to_bytes()
            + _LEN_ELEMENT
            + di.to_bytes()
            + b"Composite",
            dst,
        )
        for i, (ci, di) in enumerate(zip(cs, ds, strict=True))
    ]


def _challenge(b: Element, m: Element, z: Element, t2: Element, t3: Element, dst: bytes) -> Scalar:
    """RFC 9497 §2.2.1: ``c = HashToScalar(challengeTranscript)``."""
    transcript = b"".join(_LEN_ELEMENT + e.to_bytes() for e in (b, m, z, t2, t3)) + b"Challenge"
    return _hash_to_scalar(transcript, dst)


def _generate_proof(
    k: Scalar,
    b: Element,
    cs: Sequence[Element],
    ds: Sequence[Element],
    r: Scalar,
    c: _ModeConstants,
) -> Proof:
    """RFC 9497 §2.2.1: GenerateProof(k, A = G, B, C, D) with ComputeCompositesFast.

    The server knows ``k``, so ``Z = k · M`` replaces the second weighted sum.
    """
    m: _Point = None
    for d_i, c_i in zip(_composite_scalars(b, cs, ds, c), cs, strict=True):
        m = _add(m, _mul(c_i, d_i))
    if m is None:
        # Needs a hash collision among the peer's elements (probability about 2^-252).
        raise DecodeError("decode.bad_element", "composite of the blinded elements is the identity")
    z = m.mul(k)
    t2 = Element.base_mul(r)
    t3 = m.mul(r)
    ch = _challenge(b, m, z, t2, t3, c.hash_to_scalar_dst)
    return Proof(ch, r - ch * k)


def _verify_proof(
    b: Element, cs: Sequence[Element], ds: Sequence[Element], proof: Proof, c: _ModeConstants
) -> None:
    """RFC 9497 §2.2.2: VerifyProof(A = G, B, C, D, proof) with ComputeComposites.

    An identity anywhere the transcript needs an element cannot be serialized (RFC 9497 §2.1),
    so the proof fails; so does any other mismatch. Every failure is ``auth.failed``.
    """
    m: _Point = None
    z: _Point = None
    for d_i, c_i, e_i in zip(_composite_scalars(b, cs, ds, c), cs, ds, strict=True):
        m = _add(m, _mul(c_i, d_i))
        z = _add(z, _mul(e_i, d_i))
    ch, s = proof.c, proof.s
    t2 = _add(None if s.is_zero() else Element.base_mul(s), _mul(b, ch))
    t3 = _add(_mul(m, s), _mul(z, ch))
    if m is None or z is None or t2 is None or t3 is None:
        raise AuthenticationError()
    if not _challenge(b, m, z, t2, t3, c.hash_to_scalar_dst) == ch:  # constant-time Scalar eq
        raise AuthenticationError()


# --- batch checks ---------------------------------------------------------------------------------


def _check_own_batch(blinded: Sequence[Element]) -> None:
    """The client's own list: its size is the caller's responsibility."""
    if not 1 <= len(blinded) <= MAX_BATCH:
        raise UsageError("usage.bad_argument", f"a batch has 1 to {MAX_BATCH} elements")


def _check_peer_count(received: Sequence[Element], expected: int) -> None:
    if len(received) != expected:
        raise DecodeError("decode.count", "the evaluator returned a different number of elements")


def _tweak(info: bytes, c: _ModeConstants) -> Scalar:
    """RFC 9497 §3.3.3: ``m = HashToScalar("Info" || I2OSP(len(info), 2) || info)``."""
    return _hash_to_scalar(b"Info" + _i2osp2(len(info)) + info, c.hash_to_scalar_dst)


def _finalize_hash(input: bytes, info: bytes | None, unblinded: Element) -> bytes:
    """RFC 9497 §3.3.1 / §3.3.3: the Finalize hash (``info`` framed in POPRF only)."""
    framed_info = b"" if info is None else _i2osp2(len(info)) + info
    return sha512(
        _i2osp2(len(input))
        + input
        + framed_info
        + _LEN_ELEMENT
        + unblinded.to_bytes()
        + b"Finalize"
    )


# --- client ---------------------------------------------------------------------------------------


def _blind_with(input: bytes, blind: Scalar, mode: Mode) -> Element:
    """RFC 9497 §3.3.1 Blind with the blind given (deterministic seam for vectors)."""
    c = _mode(mode)
    _check_bytes("input", input, MAX_INPUT_SIZE)
    if not isinstance(blind, Scalar) or blind.is_zero():
        raise UsageError("usage.bad_argument", "the blind is a non-zero Scalar")
    return _hash_to_group(input, c).mul(blind)


def blind(input: bytes, mode: Mode, rng: Rng) -> tuple[Scalar, Element]:
    """Spec §8.1, RFC 9497 §3.3.1: Blind(input) → ``(blind, blindedElement)``.

    ``blind`` is a fresh random non-zero scalar (a secret: keep it for :func:`finalize`, use it
    once). An input that hashes to the identity (probability about 2^-252) is
    ``decode.bad_element``. The POPRF client's tweaked key is computed by :func:`verify_proof`.
    """
    _mode(mode)
    _check_bytes("input", input, MAX_INPUT_SIZE)
    r = Scalar.random(rng)
    return r, _blind_with(input, r, mode)


def finalize(
    input: bytes, blind: Scalar, evaluated_element: Element, mode: Mode, info: bytes = b""
) -> bytes:
    """Spec §8.1, RFC 9497 §3.3.1 / §3.3.3: Finalize without a proof check → 64 bytes.

    ``N = blind^-1 · evaluatedElement``; the output is ``Hash(I2OSP(len(input), 2) || input ||
    [I2OSP(len(info), 2) || info] || I2OSP(Ne, 2) || N || "Finalize")``, with ``info`` only in
    POPRF. In VOPRF and POPRF use :func:`finalize_verified`, which checks the proof first.
    """
    _mode(mode)
    _check_bytes("input", input, MAX_INPUT_SIZE)
    _check_info(mode, info)
    if not isinstance(blind, Scalar) or blind.is_zero():
        raise UsageError("usage.bad_argument", "the blind is a non-zero Scalar")
    if not isinstance(evaluated_element, Element):
        raise UsageError("usage.bad_argument", "evaluated_element must be an Element")
    n = evaluated_element.mul(blind.invert())
    return _finalize_hash(input, info if mode == Mode.POPRF else None, n)


def _proof_statement(
    pk: Element,
    blinded: Sequence[Element],
    evaluated: Sequence[Element],
    mode: Mode,
    info: bytes,
    c: _ModeConstants,
) -> tuple[Element, Sequence[Element], Sequence[Element]]:
    """``(B, C, D)`` of the client's VerifyProof: VOPRF ``(pk, blinded, evaluated)``; POPRF
    ``(m·G + pk, evaluated, blinded)`` (RFC 9497 §3.3.3, the roles of C and D swapped)."""
    if mode == Mode.VOPRF:
        return pk, blinded, evaluated
    m = _tweak(info, c)
    tweaked = _add(None if m.is_zero() else Element.base_mul(m), pk)  # T + pkS
    if tweaked is None:
        # RFC 9497 §3.3.3 InvalidInputError: an evaluator whose key is -m for this info
        # (chosen on purpose) can prove nothing under it.
        raise AuthenticationError()
    return tweaked, evaluated, blinded


def verify_proof(
    pk: Element,
    blinded: Sequence[Element],
    evaluated: Sequence[Element],
    proof: Proof,
    mode: Mode,
    info: bytes = b"",
) -> None:
    """Spec §8.1, RFC 9497 §2.2.2: check the evaluator's (batched) DLEQ proof.

    VOPRF: ``evaluated[i] = sk · blinded[i]`` for the ``sk`` of ``pk``. POPRF: ``blinded[i] = t
    · evaluated[i]`` with the tweaked key ``t · G = HashToScalar(framedInfo) · G + pk``. Fails
    with ``auth.failed``; ``decode.count`` if ``evaluated`` and ``blinded`` differ in length;
    ``usage.bad_argument`` in OPRF mode (it has no proof) or for an empty or oversize batch.
    """
    c = _mode(mode)
    if mode == Mode.OPRF:
        raise UsageError("usage.bad_argument", "OPRF mode has no proof")
    _check_info(mode, info)
    if not isinstance(pk, Element) or not isinstance(proof, Proof):
        raise UsageError("usage.bad_argument", "pk must be an Element and proof a Proof")
    _check_own_batch(blinded)
    _check_peer_count(evaluated, len(blinded))
    if not all(isinstance(e, Element) for e in (*blinded, *evaluated)):
        raise UsageError("usage.bad_argument", "elements must be decoded Elements")
    b, cs, ds = _proof_statement(pk, blinded, evaluated, mode, info, c)
    _verify_proof(b, cs, ds, proof, c)


def finalize_verified(
    pk: Element,
    inputs: Sequence[bytes],
    blinds: Sequence[Scalar],
    blinded: Sequence[Element],
    evaluated: Sequence[Element],
    proof: Proof,
    mode: Mode,
    info: bytes = b"",
) -> list[bytes]:
    """Spec §8.1, RFC 9497 §3.3.2 / §3.3.3: Finalize for VOPRF and POPRF — verify the batched
    proof (:func:`verify_proof`), then finalize every element; all or nothing."""
    if not len(inputs) == len(blinds) == len(blinded):
        raise UsageError("usage.bad_argument", "inputs, blinds and blinded differ in length")
    for x in inputs:
        _check_bytes("input", x, MAX_INPUT_SIZE)
    verify_proof(pk, blinded, evaluated, proof, mode, info)
    return [
        finalize(x, r, e, mode, info) for x, r, e in zip(inputs, blinds, evaluated, strict=True)
    ]


# --- server ---------------------------------------------------------------------------------------


def _check_sk(sk: Scalar) -> None:
    if not isinstance(sk, Scalar) or sk.is_zero():
        raise UsageError("usage.bad_argument", "the key is a non-zero Scalar")


def _poprf_key(sk: Scalar, info: bytes, c: _ModeConstants) -> Scalar:
    """RFC 9497 §3.3.3: ``t = sk + HashToScalar(framedInfo)``; ``t = 0`` is the RFC's
    InverseError (only a key chosen as ``-m`` hits it), reported as ``usage.bad_argument``."""
    t = sk + _tweak(info, c)
    if t.is_zero():
        raise UsageError("usage.bad_argument", "this key cannot evaluate this info (t = 0)")
    return t


def blind_evaluate(sk: Scalar, blinded: Element) -> Element:
    """Spec §8.1, RFC 9497 §3.3.1: OPRF BlindEvaluate, ``sk · blindedElement`` (no proof)."""
    _check_sk(sk)
    if not isinstance(blinded, Element):
        raise UsageError("usage.bad_argument", "blinded must be an Element")
    return blinded.mul(sk)


def _blind_evaluate_batch_with(
    sk: Scalar,
    pk: Element,
    blinded: Sequence[Element],
    mode: Mode,
    r: Scalar,
    info: bytes = b"",
) -> tuple[list[Element], Proof]:
    """:func:`blind_evaluate_batch` with the proof randomness ``r`` given (seam for vectors)."""
    c = _mode(mode)
    if mode == Mode.OPRF:
        raise UsageError("usage.bad_argument", "OPRF mode has no proof: use blind_evaluate")
    _check_sk(sk)
    _check_info(mode, info)
    if not isinstance(pk, Element) or not isinstance(r, Scalar) or r.is_zero():
        raise UsageError("usage.bad_argument", "pk must be an Element and r a non-zero Scalar")
    if not 1 <= len(blinded) <= MAX_BATCH:
        raise DecodeError("decode.count", f"a batch has 1 to {MAX_BATCH} elements")
    if not all(isinstance(e, Element) for e in blinded):
        raise UsageError("usage.bad_argument", "blinded elements must be Elements")
    if mode == Mode.VOPRF:
        evaluated = [e.mul(sk) for e in blinded]
        return evaluated, _generate_proof(sk, pk, blinded, evaluated, r, c)
    t = _poprf_key(sk, info, c)
    t_inv = t.invert()
    evaluated = [e.mul(t_inv) for e in blinded]
    tweaked = Element.base_mul(t)
    return evaluated, _generate_proof(t, tweaked, evaluated, blinded, r, c)


def blind_evaluate_batch(
    sk: Scalar,
    pk: Element,
    blinded: Sequence[Element],
    mode: Mode,
    rng: Rng,
    info: bytes = b"",
) -> tuple[list[Element], Proof]:
    """Spec §8.1, RFC 9497 §3.3.2 / §3.3.3: evaluate a batch and prove it with one DLEQ proof.

    VOPRF: ``sk · blinded[i]``, proof of ``log_G(pk) = log_{C_i}(D_i)``. POPRF: ``t^-1 ·
    blinded[i]`` with ``t = sk + HashToScalar(framedInfo)`` and the proof under ``t · G`` (``pk``
    is then not used). ``pk`` MUST be ``sk · G``: it is not recomputed here. The blinded elements
    come from the peer: 0 or more than :data:`MAX_BATCH` of them is ``decode.count``.
    """
    _mode(mode)
    r = Scalar.random(rng)
    return _blind_evaluate_batch_with(sk, pk, blinded, mode, r, info)


def evaluate(sk: Scalar, input: bytes, mode: Mode, info: bytes = b"") -> bytes:
    """Spec §8.1, RFC 9497 §3.3.1 / §3.3.3: Evaluate — the PRF output on a known input, 64 bytes.

    Equal to what a client gets from :func:`blind`, the evaluation and :func:`finalize`.
    """
    c = _mode(mode)
    _check_sk(sk)
    _check_bytes("input", input, MAX_INPUT_SIZE)
    _check_info(mode, info)
    element = _hash_to_group(input, c)
    if mode == Mode.POPRF:
        return _finalize_hash(input, info, element.mul(_poprf_key(sk, info, c).invert()))
    return _finalize_hash(input, None, element.mul(sk))
