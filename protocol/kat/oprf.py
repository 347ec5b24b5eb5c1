"""Spec vectors.md, suite ``oprf``: RFC 9497 ristretto255-SHA512 exactly as Blindpost uses it.

The official RFC 9497 vectors (run by ``tests/test_oprf.py``) pin the algorithm; this suite adds
Blindpost's inputs (E.164 numbers, epoch info strings, batches up to the limit) and, above all,
the invalid cases with their error codes: proofs under another key, tampered or non-reduced
proof scalars, element encodings that must not decode, wrong batch counts.

Kinds (field ``kind``)
    ``exchange`` (valid)
        ``mode``, ``key_seed``, ``key_info`` → ``sk``, ``pk`` (DeriveKeyPair); ``inputs`` and
        the recorded ``blinds`` → ``blinded``; the recorded proof randomness ``r`` (``null`` in
        OPRF mode) → ``evaluated`` and ``proof`` (``null`` in OPRF mode); ``info`` (POPRF,
        else empty) → ``outputs``. Check each; the proof verifies; Finalize of every element
        gives its output and so does the evaluator's Evaluate of the input.
    ``verify`` (invalid)
        The client's side: decode ``pk``, each of ``blinded`` and ``evaluated`` (32-byte
        elements), then ``proof`` (64 bytes), then run VerifyProof in ``mode`` with ``info``.
        The first failure must carry ``error``.
    ``evaluate`` (invalid)
        The evaluator's side: decode each of ``blinded``, then evaluate the batch with the key
        of ``key_seed`` / ``key_info`` in ``mode``. The first failure must carry ``error``.

Every case draws from ``SeededRng.for_suite("oprf", <case id>)``; invalid cases are edits of
real exchanges (re-serialized), never bytes written by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ..errors import DecodeError
from ..oprf import (
    MAX_BATCH,
    Mode,
    Proof,
    _blind_evaluate_batch_with,
    _blind_with,
    blind_evaluate,
    blind_evaluate_batch,
    derive_key_pair,
    evaluate,
    finalize,
    finalize_verified,
    hash_to_scalar,
    verify_proof,
)
from ..primitives import RISTRETTO255_ORDER, Element, Scalar
from . import Case, SeededRng, expect_error

__all__ = ["SUITE", "generate", "verify"]

SUITE: Final = "oprf"

_PHONE: Final = b"+15551234567"
_EPOCH: Final = b"epoch 2026-01"


def _hex(items: list[bytes]) -> list[str]:
    return [x.hex() for x in items]


def _base(case_id: str, comment: str, kind: str, mode: Mode, flags: list[str]) -> Case:
    return {
        "id": case_id,
        "comment": comment,
        "flags": [kind, mode.name.lower(), *flags],
        "result": "valid",
        "error": None,
        "kind": kind,
        "mode": int(mode),
    }


def _exchange(
    case_id: str, comment: str, mode: Mode, inputs: list[bytes], info: bytes, flags: list[str]
) -> Case:
    rng = SeededRng.for_suite(SUITE, case_id)
    key_seed, key_info = rng(32), b"blindpost evaluator key"
    sk, pk = derive_key_pair(key_seed, key_info, mode)
    blinds = [Scalar.random(rng) for _ in inputs]
    blinded = [_blind_with(x, b, mode) for x, b in zip(inputs, blinds, strict=True)]
    r: Scalar | None = None
    proof: Proof | None = None
    if mode == Mode.OPRF:
        evaluated = [blind_evaluate(sk, c) for c in blinded]
    else:
        r = Scalar.random(rng)
        evaluated, proof = _blind_evaluate_batch_with(sk, pk, blinded, mode, r, info)
    outputs = [
        finalize(x, b, e, mode, info) for x, b, e in zip(inputs, blinds, evaluated, strict=True)
    ]
    return {
        **_base(case_id, comment, "exchange", mode, flags),
        "key_seed": key_seed.hex(),
        "key_info": key_info.hex(),
        "sk": sk.to_bytes().hex(),
        "pk": pk.to_bytes().hex(),
        "info": info.hex(),
        "inputs": _hex(inputs),
        "blinds": _hex([b.to_bytes() for b in blinds]),
        "blinded": _hex([c.to_bytes() for c in blinded]),
        "r": None if r is None else r.to_bytes().hex(),
        "evaluated": _hex([e.to_bytes() for e in evaluated]),
        "proof": None if proof is None else proof.to_bytes().hex(),
        "outputs": _hex(outputs),
    }


def _invalid_verify(
    source: Case,
    case_id: str,
    comment: str,
    error: str,
    flags: list[str],
    mode: Mode | None = None,
    **edits: Any,
) -> Case:
    """A client-side case: the fields of a real exchange, some of them edited."""
    mode = Mode(source["mode"]) if mode is None else mode
    case = _base(case_id, comment, "verify", mode, flags)
    case.update(result="invalid", error=error)
    for field in ("pk", "info", "blinded", "evaluated", "proof"):
        case[field] = edits.get(field, source[field])
    return case


def _plus(scalar_hex: str, n: int) -> str:
    """The scalar plus ``n``, little-endian, *without* reducing modulo L."""
    return (int.from_bytes(bytes.fromhex(scalar_hex), "little") + n).to_bytes(32, "little").hex()


def _edit_proof(proof_hex: str, c: str | None = None, s: str | None = None) -> str:
    return (c or proof_hex[:64]) + (s or proof_hex[64:])


def _set_bit_255(element_hex: str) -> str:
    raw = bytearray(bytes.fromhex(element_hex))
    raw[31] |= 0x80
    return raw.hex()


def _undecodable(element_hex: str) -> str:
    """The first single-byte edit of a real element (byte 0 upwards) that does not decode."""
    raw = bytes.fromhex(element_hex)
    for i in range(32):
        for delta in range(1, 256):
            edited = bytearray(raw)
            edited[i] = (edited[i] + delta) % 256
            if edited[31] & 0x80:
                continue  # bit 255 has its own case
            try:
                Element(bytes(edited))
            except DecodeError:
                return edited.hex()
    raise AssertionError("no undecodable edit found")  # pragma: no cover


def generate() -> list[Case]:
    """All cases of the suite, deterministically."""
    oprf1 = _exchange(
        "oprf-e164", "OPRF (mode 0): one E.164 number", Mode.OPRF, [_PHONE], b"", ["e164"]
    )
    voprf1 = _exchange(
        "voprf-e164", "VOPRF: one E.164 number, the identifier-blinding case", Mode.VOPRF,
        [_PHONE], b"", ["e164"],
    )  # fmt: skip
    voprf3 = _exchange(
        "voprf-batch-3",
        "VOPRF batch of 3 with one proof: an empty input, a number, a 300-byte input",
        Mode.VOPRF,
        [b"", b"+442071838750", bytes(range(256)) + bytes(44)],
        b"",
        ["batch"],
    )
    poprf1 = _exchange(
        "poprf-epoch", "POPRF with a public epoch as info", Mode.POPRF, [_PHONE], _EPOCH, ["e164"]
    )
    poprf2 = _exchange(
        "poprf-batch-2-empty-info",
        "POPRF batch of 2 with empty info (still framed: I2OSP(0, 2))",
        Mode.POPRF,
        [_PHONE, b"+33142685300"],
        b"",
        ["batch"],
    )
    cases = [oprf1, voprf1, voprf3, poprf1, poprf2]

    # --- client side: proofs and elements that must be refused ---
    rng = SeededRng.for_suite(SUITE, "other-key")
    other_sk, other_pk = derive_key_pair(rng(32), b"tagging key", Mode.VOPRF)
    blinded = [Element(bytes.fromhex(c)) for c in voprf1["blinded"]]
    tagged, tagged_proof = _blind_evaluate_batch_with(
        other_sk, other_pk, blinded, Mode.VOPRF, Scalar.random(rng)
    )
    proof1 = voprf1["proof"]
    zero = "00" * 32
    cases += [
        _invalid_verify(
            voprf1, "verify-other-key",
            "per-user key: evaluated under another key, with a valid proof for that key",
            "auth.failed", ["key"],
            evaluated=_hex([e.to_bytes() for e in tagged]), proof=tagged_proof.to_bytes().hex(),
        ),
        _invalid_verify(
            voprf1, "verify-wrong-pk", "an honest answer checked against another published key",
            "auth.failed", ["key"], pk=other_pk.to_bytes().hex(),
        ),
        _invalid_verify(
            voprf1, "verify-c-plus-1", "proof scalar c + 1", "auth.failed", ["proof"],
            proof=_edit_proof(proof1, c=_plus(proof1[:64], 1)),
        ),
        _invalid_verify(
            voprf1, "verify-s-plus-1", "proof scalar s + 1", "auth.failed", ["proof"],
            proof=_edit_proof(proof1, s=_plus(proof1[64:], 1)),
        ),
        _invalid_verify(
            voprf1, "verify-c-s-swapped", "proof as s || c", "auth.failed", ["proof"],
            proof=proof1[64:] + proof1[:64],
        ),
        _invalid_verify(
            voprf1, "verify-zero-proof", "c = s = 0 (decodes; fails verification)",
            "auth.failed", ["proof"], proof=zero + zero,
        ),
        _invalid_verify(
            voprf1, "verify-s-not-reduced", "s + L: the same scalar, not canonical",
            "decode.bad_element", ["proof", "encoding"],
            proof=_edit_proof(proof1, s=_plus(proof1[64:], RISTRETTO255_ORDER)),
        ),
        _invalid_verify(
            voprf1, "verify-c-not-reduced", "c + L: the same scalar, not canonical",
            "decode.bad_element", ["proof", "encoding"],
            proof=_edit_proof(proof1, c=_plus(proof1[:64], RISTRETTO255_ORDER)),
        ),
        _invalid_verify(
            voprf1, "verify-proof-truncated", "a 63-byte proof", "decode.length",
            ["proof", "encoding"], proof=proof1[:126],
        ),
        _invalid_verify(
            voprf1, "verify-proof-extended", "a 65-byte proof", "decode.length",
            ["proof", "encoding"], proof=proof1 + "00",
        ),
        _invalid_verify(
            voprf1, "verify-evaluated-identity", "the evaluated element is the identity",
            "decode.bad_element", ["element", "encoding"], evaluated=["00" * 32],
        ),
        _invalid_verify(
            voprf1, "verify-evaluated-bit-255",
            "the evaluated element with bit 255 set (a decoder that masks the bit accepts it)",
            "decode.bad_element", ["element", "encoding"],
            evaluated=[_set_bit_255(voprf1["evaluated"][0])],
        ),
        _invalid_verify(
            voprf1, "verify-evaluated-undecodable", "an edited element that does not decode",
            "decode.bad_element", ["element", "encoding"],
            evaluated=[_undecodable(voprf1["evaluated"][0])],
        ),
        _invalid_verify(
            voprf3, "verify-batch-count", "3 blinded, 2 evaluated: refused before any proof",
            "decode.count", ["batch"], evaluated=voprf3["evaluated"][:2],
        ),
        _invalid_verify(
            voprf3, "verify-batch-reordered", "the evaluated elements in another order",
            "auth.failed", ["batch"], evaluated=voprf3["evaluated"][::-1],
        ),
        _invalid_verify(
            voprf3, "verify-batch-one-replaced", "one evaluated element of another exchange",
            "auth.failed", ["batch"],
            evaluated=[*voprf3["evaluated"][:2], voprf1["evaluated"][0]],
        ),
        _invalid_verify(
            poprf1, "verify-poprf-wrong-info", "the POPRF answer checked with another info",
            "auth.failed", ["info"], info=(_EPOCH + b"x").hex(),
        ),
        _invalid_verify(
            poprf1, "verify-poprf-as-voprf", "a POPRF proof checked in VOPRF mode",
            "auth.failed", ["mode"], mode=Mode.VOPRF, info="",
        ),
    ]  # fmt: skip
    # A POPRF key chosen as -HashToScalar(framedInfo): the tweaked key is the identity.
    m = hash_to_scalar(b"Info" + len(_EPOCH).to_bytes(2, "big") + _EPOCH, Mode.POPRF)
    cases.append(
        _invalid_verify(
            poprf1, "verify-poprf-tweaked-key-identity",
            "pk = -HashToScalar(framedInfo) * G: nothing can be proven under the identity",
            "auth.failed", ["key"], pk=Element.base_mul(-m).to_bytes().hex(),
        )
    )  # fmt: skip

    # --- evaluator side: batches it must refuse ---
    one = voprf1["blinded"][0]
    for case_id, comment, error, flags, elems in (
        ("evaluate-empty-batch", "no blinded element", "decode.count", ["count"], []),
        (
            "evaluate-batch-over-limit",
            f"{MAX_BATCH + 1} blinded elements (limit {MAX_BATCH})",
            "decode.count",
            ["count"],
            [one] * (MAX_BATCH + 1),
        ),
        (
            "evaluate-blinded-bit-255",
            "a blinded element with bit 255 set",
            "decode.bad_element",
            ["element", "encoding"],
            [_set_bit_255(one)],
        ),
        (
            "evaluate-blinded-identity",
            "a blinded element that is the identity",
            "decode.bad_element",
            ["element", "encoding"],
            ["00" * 32],
        ),
    ):
        case = _base(case_id, comment, "evaluate", Mode.VOPRF, flags)
        case.update(
            result="invalid",
            error=error,
            key_seed=voprf1["key_seed"],
            key_info=voprf1["key_info"],
            blinded=elems,
        )
        cases.append(case)
    return cases


def _eq(field: str, expected: Any, got: Any) -> None:
    if expected != got:
        raise AssertionError(f"{field}: expected {expected}, got {got}")


def _verify_exchange(case: Case) -> None:
    h = bytes.fromhex
    mode = Mode(case["mode"])
    sk, pk = derive_key_pair(h(case["key_seed"]), h(case["key_info"]), mode)
    _eq("sk", case["sk"], sk.to_bytes().hex())
    _eq("pk", case["pk"], pk.to_bytes().hex())
    info = h(case["info"])
    inputs = [h(x) for x in case["inputs"]]
    blinds = [Scalar(h(b)) for b in case["blinds"]]
    blinded = [_blind_with(x, b, mode) for x, b in zip(inputs, blinds, strict=True)]
    _eq("blinded", case["blinded"], _hex([c.to_bytes() for c in blinded]))
    if mode == Mode.OPRF:
        evaluated = [blind_evaluate(sk, c) for c in blinded]
        _eq("proof", None, case["proof"])
    else:
        r = Scalar(h(case["r"]))
        evaluated, proof = _blind_evaluate_batch_with(sk, pk, blinded, mode, r, info)
        _eq("proof", case["proof"], proof.to_bytes().hex())
        wire = Proof.from_bytes(h(case["proof"]))
        outputs = finalize_verified(pk, inputs, blinds, blinded, evaluated, wire, mode, info)
        _eq("outputs", case["outputs"], _hex(outputs))
    _eq("evaluated", case["evaluated"], _hex([e.to_bytes() for e in evaluated]))
    for i, (x, b, e) in enumerate(zip(inputs, blinds, evaluated, strict=True)):
        _eq(f"outputs[{i}]", case["outputs"][i], finalize(x, b, e, mode, info).hex())
        _eq(f"evaluate[{i}]", case["outputs"][i], evaluate(sk, x, mode, info).hex())


def verify(case: Case) -> None:
    """Check one case against this implementation."""
    h = bytes.fromhex
    kind = case["kind"]
    if case["result"] == "valid":
        if kind != "exchange":
            raise AssertionError(f"kind: no valid {kind!r} cases")
        _verify_exchange(case)
        return
    mode = Mode(case["mode"])
    action: Callable[[], object]
    if kind == "verify":

        def action() -> None:
            pk = Element(h(case["pk"]))
            blinded = [Element(h(c)) for c in case["blinded"]]
            evaluated = [Element(h(e)) for e in case["evaluated"]]
            proof = Proof.from_bytes(h(case["proof"]))
            verify_proof(pk, blinded, evaluated, proof, mode, h(case["info"]))

    elif kind == "evaluate":

        def action() -> None:
            blinded = [Element(h(c)) for c in case["blinded"]]
            sk, pk = derive_key_pair(h(case["key_seed"]), h(case["key_info"]), mode)
            blind_evaluate_batch(sk, pk, blinded, mode, SeededRng.for_suite(SUITE, case["id"]))

    else:
        raise AssertionError(f"kind: unknown {kind!r}")
    expect_error(case, action)
