"""Spec §8.1: RFC 9497 OPRF / VOPRF / POPRF (ristretto255-SHA512) and RFC 9380 expand_message_xmd.

Known answers come only from the official files (``tests/external.py``): all 8
ristretto255-SHA512 vectors of RFC 9497 and all 10 SHA-512 expand_message_xmd vectors of
RFC 9380. Everything else is a property (client output equals the evaluator's direct
evaluation; proofs verify, and fail once any element, the key or a proof scalar changes) or a
negative case asserting its error code.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import oprf
from protocol.errors import AuthenticationError, DecodeError, ProtocolError, UsageError
from protocol.kat import SeededRng
from protocol.oprf import (
    MAX_BATCH,
    Mode,
    Proof,
    blind,
    blind_evaluate,
    blind_evaluate_batch,
    context_string,
    derive_key_pair,
    evaluate,
    expand_message_xmd,
    finalize,
    finalize_verified,
    generate_key_pair,
    hash_to_group,
    hash_to_scalar,
    verify_proof,
)
from protocol.primitives import RISTRETTO255_ORDER as L
from protocol.primitives import Element, Scalar
from tests.external import load_json

pytestmark = pytest.mark.external

# --- official vectors -----------------------------------------------------------------------------

_ALL_9497: list[dict[str, Any]] = load_json("oprf", "rfc9497-allVectors.json")
_BLOCKS = [b for b in _ALL_9497 if b["identifier"] == "ristretto255-SHA512"]
#: (block, vector) for every ristretto255-SHA512 vector, in file order.
RFC9497 = [(block, vector) for block in _BLOCKS for vector in block["vectors"]]
RFC9497_IDS = [
    f"{Mode(block['mode']).name}-{i}-batch{vector['Batch']}"
    for block in _BLOCKS
    for i, vector in enumerate(block["vectors"])
]
_XMD = load_json("oprf", "rfc9380-expand_message_xmd_SHA512.json")
RFC9380 = _XMD["tests"]


def _h(x: str) -> bytes:
    return bytes.fromhex(x)


def _field(vector: dict[str, Any], name: str) -> list[bytes]:
    """A per-element field; ``Batch: 2`` vectors join two hex strings with a comma."""
    values = [_h(part) for part in vector[name].split(",")]
    assert len(values) == vector["Batch"], name
    return values


def _scalar(n: int) -> Scalar:
    return Scalar((n % L).to_bytes(32, "little"))


def _fixed_rng(value: bytes) -> Callable[[int], bytes]:
    """An rng whose 64-byte draw reduces to the 32-byte scalar ``value`` (value || zeros)."""

    def rng(n: int) -> bytes:
        assert n == 64
        return value + bytes(32)

    return rng


def test_vector_counts() -> None:
    """Nothing is silently filtered: 2 OPRF + 3 VOPRF + 3 POPRF, and 10 expander vectors."""
    assert len(RFC9497) == 8
    assert [b["mode"] for b in _BLOCKS] == [0, 1, 2]
    assert [len(b["vectors"]) for b in _BLOCKS] == [2, 3, 3]
    assert sum(v["Batch"] == 2 for _, v in RFC9497) == 2
    assert len(RFC9380) == 10


@pytest.mark.parametrize("case", RFC9380, ids=[f"xmd-{i}" for i in range(len(RFC9380))])
def test_rfc9380_expand_message_xmd_sha512(case: dict[str, Any]) -> None:
    assert _XMD["hash"] == "SHA512"
    dst = _XMD["DST"].encode("ascii")
    length = int(case["len_in_bytes"], 16)
    out = expand_message_xmd(case["msg"].encode("ascii"), dst, length)
    assert out == _h(case["uniform_bytes"])
    assert len(out) == length


@pytest.mark.parametrize(("block", "vector"), RFC9497, ids=RFC9497_IDS)
def test_rfc9497_vector(block: dict[str, Any], vector: dict[str, Any]) -> None:
    """Every field bit for bit: keys, blinded and evaluated elements, proof, output."""
    mode = Mode(block["mode"])
    assert block["hash"] == "SHA512"
    assert _h(block["groupDST"]) == b"HashToGroup-" + context_string(mode)
    sk, pk = derive_key_pair(_h(block["seed"]), _h(block["keyInfo"]), mode)
    assert sk.to_bytes() == _h(block["skSm"])
    if "pkSm" in block:
        assert pk.to_bytes() == _h(block["pkSm"])
    assert Element.base_mul(sk) == pk

    inputs = _field(vector, "Input")
    blinds = [Scalar(b) for b in _field(vector, "Blind")]
    info = _h(vector.get("Info", ""))
    outputs = _field(vector, "Output")

    # Client Blind, through the public function with an rng that yields the recorded blind.
    blinded = []
    for x, r in zip(inputs, blinds, strict=True):
        got_blind, element = blind(x, mode, _fixed_rng(r.to_bytes()))
        assert got_blind == r
        blinded.append(element)
    assert [e.to_bytes() for e in blinded] == _field(vector, "BlindedElement")

    # Evaluator: the recorded proof randomness r through blind_evaluate_batch's rng.
    if mode == Mode.OPRF:
        assert "Proof" not in vector
        evaluated = [blind_evaluate(sk, e) for e in blinded]
    else:
        r = _h(vector["Proof"]["r"])
        evaluated, proof = blind_evaluate_batch(sk, pk, blinded, mode, _fixed_rng(r), info)
        assert proof.to_bytes() == _h(vector["Proof"]["proof"])
        wire = Proof.from_bytes(_h(vector["Proof"]["proof"]))
        assert wire == proof
        verify_proof(pk, blinded, evaluated, wire, mode, info)
        assert finalize_verified(pk, inputs, blinds, blinded, evaluated, wire, mode, info) == (
            outputs
        )
    assert [e.to_bytes() for e in evaluated] == _field(vector, "EvaluationElement")

    # Client Finalize (unverified path) and the evaluator's direct Evaluate.
    for x, r, e, y in zip(inputs, blinds, evaluated, outputs, strict=True):
        assert finalize(x, r, e, mode, info) == y
        assert evaluate(sk, x, mode, info) == y


@pytest.mark.parametrize(
    ("block", "vector"),
    [(b, v) for b, v in RFC9497 if b["mode"] != 0],
    ids=[i for i, (b, _) in zip(RFC9497_IDS, RFC9497, strict=True) if b["mode"] != 0],
)
def test_rfc9497_recorded_proof_rejects_tampering(
    block: dict[str, Any], vector: dict[str, Any]
) -> None:
    """The official proof fails when any byte of it, an element, the info or the key changes."""
    mode = Mode(block["mode"])
    _, pk = derive_key_pair(_h(block["seed"]), _h(block["keyInfo"]), mode)
    blinded = [Element(b) for b in _field(vector, "BlindedElement")]
    evaluated = [Element(b) for b in _field(vector, "EvaluationElement")]
    info = _h(vector.get("Info", ""))
    proof = Proof.from_bytes(_h(vector["Proof"]["proof"]))
    verify_proof(pk, blinded, evaluated, proof, mode, info)

    bad: list[tuple[Element, list[Element], list[Element], Proof, bytes]] = [
        (pk, blinded, evaluated, Proof(proof.c + _scalar(1), proof.s), info),
        (pk, blinded, evaluated, Proof(proof.c, proof.s + _scalar(1)), info),
        (pk, blinded, evaluated, Proof(proof.s, proof.c), info),
        (pk, evaluated, blinded, proof, info),  # C and D exchanged
        (pk + pk, blinded, evaluated, proof, info),
        (pk, [blinded[0] + blinded[0], *blinded[1:]], evaluated, proof, info),
        (pk, blinded, [*evaluated[:-1], evaluated[-1] + pk], proof, info),
    ]
    if vector["Batch"] == 2:
        bad.append((pk, blinded[::-1], evaluated, proof, info))  # order matters
    if mode == Mode.POPRF:
        bad.append((pk, blinded, evaluated, proof, info + b"!"))
    for args in bad:
        with pytest.raises(AuthenticationError) as exc:
            verify_proof(args[0], args[1], args[2], args[3], mode, args[4])
        assert exc.value.code == "auth.failed"


def test_context_strings() -> None:
    """RFC 9497 §3.1: the mode is a raw byte, not an ASCII digit."""
    assert context_string(Mode.OPRF) == b"OPRFV1-\x00-ristretto255-SHA512"
    assert context_string(Mode.VOPRF) == b"OPRFV1-\x01-ristretto255-SHA512"
    assert context_string(Mode.POPRF) == b"OPRFV1-\x02-ristretto255-SHA512"


def _xmd_reference(msg: bytes, dst: bytes, length: int) -> bytes:
    """RFC 9380 §5.3.1 written independently with hashlib, for lengths beyond the vectors."""
    dst_prime = dst + bytes([len(dst)])
    b0 = hashlib.sha512(bytes(128) + msg + length.to_bytes(2, "big") + b"\0" + dst_prime).digest()
    blocks = [hashlib.sha512(b0 + b"\1" + dst_prime).digest()]
    while len(blocks) * 64 < length:
        mixed = bytes(a ^ b for a, b in zip(b0, blocks[-1], strict=True))
        blocks.append(hashlib.sha512(mixed + bytes([len(blocks) + 1]) + dst_prime).digest())
    return b"".join(blocks)[:length]


@settings(max_examples=60, deadline=None)
@given(
    msg=st.binary(max_size=300),
    dst=st.binary(min_size=1, max_size=255),
    length=st.integers(0, 255 * 64),
)
def test_expand_message_xmd_matches_reference(msg: bytes, dst: bytes, length: int) -> None:
    assert expand_message_xmd(msg, dst, length) == _xmd_reference(msg, dst, length)


@pytest.mark.parametrize(
    ("dst", "length"),
    [(b"", 32), (b"x" * 256, 32), (b"dst", 255 * 64 + 1), (b"dst", -1), (b"dst", 65535)],
)
def test_expand_message_xmd_aborts(dst: bytes, length: int) -> None:
    """RFC 9380 §5.3.1 aborts: ell > 255, len_in_bytes > 65535, len(DST) > 255; empty DST."""
    with pytest.raises(UsageError) as exc:
        expand_message_xmd(b"msg", dst, length)
    assert exc.value.code == "usage.bad_argument"


def test_hash_to_scalar_is_wide_reduction() -> None:
    """HashToScalar reads the 64 expanded bytes little-endian, modulo L (RFC 9497 §4.1)."""
    for mode in Mode:
        dst = b"HashToScalar-" + context_string(mode)
        wide = _xmd_reference(b"abc", dst, 64)
        expected = int.from_bytes(wide, "little") % L
        assert hash_to_scalar(b"abc", mode).to_bytes() == expected.to_bytes(32, "little")
    # Domain separation: one message, three modes, three elements.
    assert len({hash_to_group(b"abc", m).to_bytes() for m in Mode}) == 3


# --- keys -----------------------------------------------------------------------------------------


def test_derive_key_pair_framing() -> None:
    """DeriveKeyPair input is seed || I2OSP(len(info), 2) || info || I2OSP(counter, 1), and the
    DST is "DeriveKeyPair" || contextString with no hyphen (checked by recomputing)."""
    seed, info = bytes(range(32)), b"epoch 7"
    for mode in Mode:
        dst = b"DeriveKeyPair" + context_string(mode)
        wide = _xmd_reference(seed + len(info).to_bytes(2, "big") + info + b"\0", dst, 64)
        sk, pk = derive_key_pair(seed, info, mode)
        assert sk.to_bytes() == (int.from_bytes(wide, "little") % L).to_bytes(32, "little")
        assert pk == Element.base_mul(sk)


@pytest.mark.parametrize("seed", [b"", bytes(31), bytes(33)])
def test_derive_key_pair_seed_size(seed: bytes) -> None:
    with pytest.raises(UsageError) as exc:
        derive_key_pair(seed, b"", Mode.VOPRF)
    assert exc.value.code == "usage.bad_argument"


def test_generate_key_pair() -> None:
    sk, pk = generate_key_pair(SeededRng(b"test_oprf/keygen"))
    assert not sk.is_zero()
    assert pk == Element.base_mul(sk)
    assert repr(sk) == "Scalar(<redacted>)"


# --- negative cases -------------------------------------------------------------------------------


def _exchange_setup(mode: Mode, n: int, label: str) -> tuple[Any, ...]:
    rng = SeededRng(b"test_oprf/" + label.encode())
    sk, pk = generate_key_pair(rng)
    inputs = [b"+1555000%04d" % i for i in range(n)]
    pairs = [blind(x, mode, rng) for x in inputs]
    blinds = [p[0] for p in pairs]
    blinded = [p[1] for p in pairs]
    info = b"epoch-42" if mode == Mode.POPRF else b""
    evaluated, proof = blind_evaluate_batch(sk, pk, blinded, mode, rng, info)
    return rng, sk, pk, inputs, blinds, blinded, evaluated, proof, info


@pytest.mark.parametrize("mode", [Mode.VOPRF, Mode.POPRF])
def test_per_user_key_is_detected(mode: Mode) -> None:
    """An evaluator that answers one user under another key (to tag them) is caught: its proof,
    valid for its own key, fails against the published key."""
    rng, _, pk, inputs, blinds, blinded, _, _, info = _exchange_setup(mode, 2, "tag-" + mode.name)
    sk_tag, pk_tag = generate_key_pair(rng)
    evaluated, proof = blind_evaluate_batch(sk_tag, pk_tag, blinded, mode, rng, info)
    verify_proof(pk_tag, blinded, evaluated, proof, mode, info)  # honest under its own key
    with pytest.raises(AuthenticationError) as exc:
        finalize_verified(pk, inputs, blinds, blinded, evaluated, proof, mode, info)
    assert exc.value.code == "auth.failed"
    # And a proof made with the published pk but evaluations under another key.
    evaluated_tag = [e.mul(sk_tag) for e in blinded] if mode == Mode.VOPRF else evaluated
    _, proof_pub = blind_evaluate_batch(sk_tag, pk, blinded, mode, rng, info)
    with pytest.raises(AuthenticationError):
        verify_proof(pk, blinded, evaluated_tag, proof_pub, mode, info)


@pytest.mark.parametrize("mode", [Mode.VOPRF, Mode.POPRF])
def test_tampered_proof_scalars(mode: Mode) -> None:
    _, _, pk, _, _, blinded, evaluated, proof, info = _exchange_setup(mode, 1, "tamper")
    verify_proof(pk, blinded, evaluated, proof, mode, info)
    raw = proof.to_bytes()
    for i in (0, 31, 32, 63):
        for bit in (0, 3):
            flipped = bytearray(raw)
            flipped[i] ^= 1 << bit
            try:
                bad = Proof.from_bytes(bytes(flipped))
            except DecodeError as exc:  # a flip in the top byte may leave [0, L)
                assert exc.code == "decode.bad_element"
                continue
            with pytest.raises(AuthenticationError) as err:
                verify_proof(pk, blinded, evaluated, bad, mode, info)
            assert err.value.code == "auth.failed"


@pytest.mark.parametrize("mode", [Mode.VOPRF, Mode.POPRF])
def test_degenerate_proofs_fail_cleanly(mode: Mode) -> None:
    """Zero scalars and a proof whose t2 is the identity are auth.failed, never a crash."""
    _, sk, pk, _, _, blinded, evaluated, _, info = _exchange_setup(mode, 1, "degenerate")
    zero, one = _scalar(0), _scalar(1)
    key = (
        sk
        if mode == Mode.VOPRF
        else sk + hash_to_scalar(b"Info" + len(info).to_bytes(2, "big") + info, mode)
    )
    # s = -c * key makes t2 = s*G + c*(key*G) the identity.
    for proof in (Proof(zero, zero), Proof(zero, one), Proof(one, zero), Proof(one, -key)):
        with pytest.raises(AuthenticationError) as exc:
            verify_proof(pk, blinded, evaluated, proof, mode, info)
        assert exc.value.code == "auth.failed"


def test_poprf_key_cancelled_by_info() -> None:
    """A POPRF key chosen as -HashToScalar(framedInfo): t = 0 and the tweaked key is the identity.
    The evaluator refuses (usage.bad_argument); a client refuses any proof (auth.failed)."""
    info = b"chosen"
    m = hash_to_scalar(b"Info" + len(info).to_bytes(2, "big") + info, Mode.POPRF)
    sk = -m
    pk = Element.base_mul(sk)
    rng = SeededRng(b"test_oprf/cancel")
    _, blinded = blind(b"x", Mode.POPRF, rng)
    for call in (
        lambda: blind_evaluate_batch(sk, pk, [blinded], Mode.POPRF, rng, info),
        lambda: evaluate(sk, b"x", Mode.POPRF, info),
    ):
        with pytest.raises(UsageError) as exc:
            call()
        assert exc.value.code == "usage.bad_argument"
    with pytest.raises(AuthenticationError) as err:
        verify_proof(pk, [blinded], [blinded], Proof(_scalar(1), _scalar(2)), Mode.POPRF, info)
    assert err.value.code == "auth.failed"
    evaluate(sk, b"x", Mode.POPRF, info + b"!")  # any other info is fine


def test_batch_counts() -> None:
    mode = Mode.VOPRF
    rng, sk, pk, inputs, blinds, blinded, evaluated, proof, _ = _exchange_setup(mode, 3, "count")

    def code(call: Callable[[], object]) -> str:
        with pytest.raises(ProtocolError) as exc:
            call()
        return exc.value.code

    # The evaluator's answer has the wrong number of elements: peer input.
    assert code(lambda: verify_proof(pk, blinded, evaluated[:2], proof, mode)) == "decode.count"
    assert (
        code(lambda: finalize_verified(pk, inputs, blinds, blinded, evaluated * 2, proof, mode))
        == "decode.count"
    )
    # The client's own lists disagree, or are empty or too long: caller misuse.
    assert (
        code(lambda: finalize_verified(pk, inputs[:2], blinds, blinded, evaluated, proof, mode))
        == "usage.bad_argument"
    )
    assert code(lambda: verify_proof(pk, [], [], proof, mode)) == "usage.bad_argument"
    many = [blinded[0]] * (MAX_BATCH + 1)
    assert code(lambda: verify_proof(pk, many, many, proof, mode)) == "usage.bad_argument"
    # The evaluator receives 0 or more than MAX_BATCH elements from a client: peer input.
    assert code(lambda: blind_evaluate_batch(sk, pk, [], mode, rng)) == "decode.count"
    assert code(lambda: blind_evaluate_batch(sk, pk, many, mode, rng)) == "decode.count"
    # MAX_BATCH itself is fine.
    full = [blinded[0]] * MAX_BATCH
    out, full_proof = blind_evaluate_batch(sk, pk, full, mode, rng)
    verify_proof(pk, full, out, full_proof, mode)


#: The identity (refused by spec §3.7), one encoding from three RFC 9496 Appendix A.2 groups, and
#: two with bit 255 set (rbcl's libsodium ignores that bit; primitives.Element checks it).
BAD_ELEMENTS = {
    "identity": "00" * 32,
    "non-canonical-p": "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "negative-1": "0100000000000000000000000000000000000000000000000000000000000000",
    "high-bit": "0000000000000000000000000000000000000000000000000000000000000080",
    "generator-high-bit": "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2df6",
    "not-square": "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
}


@pytest.mark.parametrize("encoding", BAD_ELEMENTS.values(), ids=BAD_ELEMENTS.keys())
def test_bad_element_bytes(encoding: str) -> None:
    """Blinded or evaluated elements arrive as bytes; decoding them is decode.bad_element."""
    with pytest.raises(DecodeError) as exc:
        Element(_h(encoding))
    assert exc.value.code == "decode.bad_element"


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, L - 1))
def test_element_with_bit_255_set_is_rejected(n: int) -> None:
    """RFC 9496 §4.3.1: an encoding is below p, so bit 255 is clear; setting it is not a
    synonym of the element but a decoding failure."""
    encoded = bytearray(Element.base_mul(_scalar(n)).to_bytes())
    encoded[31] |= 0x80
    with pytest.raises(DecodeError) as exc:
        Element(bytes(encoded))
    assert exc.value.code == "decode.bad_element"


@pytest.mark.parametrize(
    ("c", "s"),
    [(0, L), (L, 0), (0, 2**256 - 1), (2**256 - 1, 1), (0, L + 1)],
    ids=["s=L", "c=L", "s=max", "c=max", "s=L+1"],
)
def test_proof_scalar_not_below_l(c: int, s: int) -> None:
    data = c.to_bytes(32, "little") + s.to_bytes(32, "little")
    with pytest.raises(DecodeError) as exc:
        Proof.from_bytes(data)
    assert exc.value.code == "decode.bad_element"


@pytest.mark.parametrize("size", [0, 32, 63, 65, 128])
def test_proof_length(size: int) -> None:
    with pytest.raises(DecodeError) as exc:
        Proof.from_bytes(bytes(size))
    assert exc.value.code == "decode.length"


def test_proof_wire_form() -> None:
    c, s = _scalar(5), _scalar(L - 1)
    proof = Proof(c, s)
    assert proof.to_bytes() == (5).to_bytes(32, "little") + (L - 1).to_bytes(32, "little")
    assert Proof.from_bytes(proof.to_bytes()) == proof
    assert Proof.from_bytes(bytearray(proof.to_bytes())) == proof
    assert repr(proof) == f"Proof({proof.to_bytes().hex()})"
    with pytest.raises(UsageError):
        Proof(c, 5)  # type: ignore[arg-type]
    with pytest.raises(UsageError) as exc:
        Proof.from_bytes("00" * 64)  # type: ignore[arg-type]
    assert exc.value.code == "usage.bad_argument"


def test_usage_errors() -> None:
    rng = SeededRng(b"test_oprf/usage")
    sk, pk = generate_key_pair(rng)
    r, blinded = blind(b"x", Mode.VOPRF, rng)
    proof = Proof(_scalar(1), _scalar(1))
    calls: list[Callable[[], object]] = [
        lambda: blind(b"x" * 65536, Mode.OPRF, rng),
        lambda: blind("x", Mode.OPRF, rng),  # type: ignore[arg-type]
        lambda: blind(b"x", 3, rng),  # type: ignore[arg-type]
        lambda: finalize(b"x", r, blinded, Mode.VOPRF, b"info only in POPRF"),
        lambda: finalize(b"x", _scalar(0), blinded, Mode.OPRF),
        lambda: finalize(b"x", r, blinded, Mode.POPRF, b"i" * 65536),
        lambda: verify_proof(pk, [blinded], [blinded], proof, Mode.OPRF),
        lambda: verify_proof(pk, [blinded], [blinded.to_bytes()], proof, Mode.VOPRF),  # type: ignore[list-item]
        lambda: blind_evaluate_batch(sk, pk, [blinded], Mode.OPRF, rng),
        lambda: blind_evaluate(_scalar(0), blinded),
        lambda: evaluate(sk, b"x" * 65536, Mode.OPRF),
        lambda: derive_key_pair(bytes(32), b"i" * 65536, Mode.OPRF),
        lambda: blind(b"x", Mode.OPRF, lambda n: bytes(n - 1)),
    ]
    for call in calls:
        with pytest.raises(UsageError):
            call()
    # The longest input and info do work.
    longest = b"x" * oprf.MAX_INPUT_SIZE
    r2, b2 = blind(longest, Mode.POPRF, rng)
    info = b"i" * oprf.MAX_INFO_SIZE
    ev, pr = blind_evaluate_batch(sk, pk, [b2], Mode.POPRF, rng, info)
    assert finalize_verified(pk, [longest], [r2], [b2], ev, pr, Mode.POPRF, info) == [
        evaluate(sk, longest, Mode.POPRF, info)
    ]


# --- properties (Hypothesis) ----------------------------------------------------------------------

_modes = st.sampled_from(list(Mode))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mode=_modes,
    key_seed=st.binary(min_size=32, max_size=32),
    key_info=st.binary(max_size=16),
    inputs=st.lists(st.binary(max_size=40), min_size=1, max_size=3),
    info=st.binary(max_size=24),
    rng_seed=st.binary(min_size=1, max_size=8),
)
def test_client_output_equals_direct_evaluation(
    mode: Mode,
    key_seed: bytes,
    key_info: bytes,
    inputs: list[bytes],
    info: bytes,
    rng_seed: bytes,
) -> None:
    """Blind → evaluate → finalize gives Evaluate(sk, input), in all three modes."""
    rng = SeededRng(rng_seed)
    sk, pk = derive_key_pair(key_seed, key_info, mode)
    info = info if mode == Mode.POPRF else b""
    pairs = [blind(x, mode, rng) for x in inputs]
    blinds = [p[0] for p in pairs]
    blinded = [p[1] for p in pairs]
    if mode == Mode.OPRF:
        evaluated = [blind_evaluate(sk, e) for e in blinded]
        outputs = [
            finalize(x, r, e, mode) for x, r, e in zip(inputs, blinds, evaluated, strict=True)
        ]
    else:
        evaluated, proof = blind_evaluate_batch(sk, pk, blinded, mode, rng, info)
        outputs = finalize_verified(pk, inputs, blinds, blinded, evaluated, proof, mode, info)
    assert outputs == [evaluate(sk, x, mode, info) for x in inputs]
    assert all(len(y) == 64 for y in outputs)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mode=st.sampled_from([Mode.VOPRF, Mode.POPRF]),
    n=st.integers(1, 8),
    rng_seed=st.binary(min_size=1, max_size=8),
    data=st.data(),
)
def test_batch_proof_verifies_and_fails_on_any_swap(
    mode: Mode, n: int, rng_seed: bytes, data: st.DataObject
) -> None:
    rng = SeededRng(rng_seed)
    sk, pk = generate_key_pair(rng)
    info = b"batch" if mode == Mode.POPRF else b""
    blinded = [blind(b"%d" % i, mode, rng)[1] for i in range(n)]
    evaluated, proof = blind_evaluate_batch(sk, pk, blinded, mode, rng, info)
    verify_proof(pk, blinded, evaluated, proof, mode, info)

    # Swap one element (blinded or evaluated) for another, unrelated one.
    side = data.draw(st.sampled_from(["blinded", "evaluated"]))
    i = data.draw(st.integers(0, n - 1))
    stranger = blind(b"stranger", mode, rng)[1]
    bad_blinded, bad_evaluated = list(blinded), list(evaluated)
    (bad_blinded if side == "blinded" else bad_evaluated)[i] = stranger
    with pytest.raises(AuthenticationError) as exc:
        verify_proof(pk, bad_blinded, bad_evaluated, proof, mode, info)
    assert exc.value.code == "auth.failed"


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=130))
def test_proof_decoder_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        proof = Proof.from_bytes(data)
        assert proof.to_bytes() == data


@settings(max_examples=200, deadline=None)
@given(c=st.integers(0, L - 1), s=st.integers(0, L - 1))
def test_proof_round_trip(c: int, s: int) -> None:
    data = c.to_bytes(32, "little") + s.to_bytes(32, "little")
    assert Proof.from_bytes(data).to_bytes() == data


# --- the `oprf` vector suite ----------------------------------------------------------------------


def _flip_first_hex_digit(value: Any) -> Any:
    if isinstance(value, list):
        return [_flip_first_hex_digit(value[0]), *value[1:]]
    return ("1" if value[0] == "0" else "0") + value[1:]


def test_oprf_suite_detects_edits() -> None:
    """Verification of the suite is not vacuous: any edited output field fails, and an invalid
    case expecting another code fails."""
    from protocol.kat import oprf as kat_oprf

    cases = kat_oprf.generate()
    valid = [c for c in cases if c["result"] == "valid"]
    assert {c["mode"] for c in valid} == {0, 1, 2}
    for case in valid:
        for field in ("sk", "pk", "blinded", "evaluated", "proof", "outputs"):
            if case[field] is None:
                continue
            edited = {**case, field: _flip_first_hex_digit(case[field])}
            with pytest.raises(AssertionError):
                kat_oprf.verify(edited)
    for case in cases:
        if case["result"] == "invalid":
            wrong = "usage.bad_argument"
            with pytest.raises(AssertionError):
                kat_oprf.verify({**case, "error": wrong})
