"""Spec §8.1: RFC 9497 VOPRF cost, its floor, and the Rust-backed ``voprf`` package as baseline.

Run with ``make bench`` (or ``pytest bench/test_bench_oprf.py --benchmark-only``). Compare medians
within one run:

* ``oprf-exchange``: the whole VOPRF exchange for one element — client blind, evaluator
  blind-evaluate with a DLEQ proof, client proof verification and finalize — here and in
  ``voprf`` 0.2 (curve25519-dalek; skipped when that optional peer is not installed).
* ``oprf-floor``: the group operations that exchange cannot avoid, one by one, and all of them
  in sequence on raw bytes (``test_floor_exchange_group_ops``): 11 constant-time variable-base
  scalar multiplications (blind 1, evaluate 1, proof M/Z/t3 3, verification M, Z, c·pk, s·M,
  c·Z 5, unblind 1), 2 base multiplications (t2 on each side), 2 additions (verification t2, t3),
  1 hash-to-group map and 1 scalar inversion (unblind). The rest (hashing, Python) is the
  overhead of this implementation.
* ``oprf-steps`` and ``oprf-batch8``: where the time goes, and a batch of 8 with one proof.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import rbcl

from protocol import oprf
from protocol.oprf import Mode
from protocol.primitives import Element, Scalar, system_rng

try:
    from voprf import ristretto as _voprf
except ImportError:  # the optional peer implementation
    _voprf = None

needs_voprf = pytest.mark.skipif(
    _voprf is None,
    reason="baseline `voprf` 0.2 (Rust, optional `peers` extra) is not installed",
)

INPUT = b"+15551234567"
SEED = os.urandom(32)
SK, PK = oprf.derive_key_pair(SEED, b"", Mode.VOPRF)


def _exchange() -> list[bytes]:
    blind, blinded = oprf.blind(INPUT, Mode.VOPRF, system_rng)
    evaluated, proof = oprf.blind_evaluate_batch(SK, PK, [blinded], Mode.VOPRF, system_rng)
    return oprf.finalize_verified(PK, [INPUT], [blind], [blinded], evaluated, proof, Mode.VOPRF)


# --- oprf-exchange --------------------------------------------------------------------------------


@pytest.mark.benchmark(group="oprf-exchange")
def test_voprf_exchange_blindpost(benchmark: Any) -> None:
    assert benchmark(_exchange) == [oprf.evaluate(SK, INPUT, Mode.VOPRF)]


@needs_voprf
@pytest.mark.benchmark(group="oprf-exchange")
def test_voprf_exchange_rust_voprf(benchmark: Any) -> None:
    assert _voprf is not None
    evaluator = _voprf.Evaluator.from_seed(SEED, b"")
    public_key = evaluator.public_key

    def exchange() -> bytes:
        client, blinded = _voprf.Client.blind(INPUT)
        return client.finalize(evaluator.evaluate(blinded), public_key)

    assert benchmark(exchange) == oprf.evaluate(SK, INPUT, Mode.VOPRF)


# --- oprf-floor -----------------------------------------------------------------------------------

_S = Scalar.random(system_rng).to_bytes()
_T = Scalar.random(system_rng).to_bytes()
_P = Element.base_mul(Scalar.random(system_rng)).to_bytes()
_Q = Element.base_mul(Scalar.random(system_rng)).to_bytes()
_WIDE = os.urandom(64)


@pytest.mark.benchmark(group="oprf-floor")
def test_floor_element_mul(benchmark: Any) -> None:
    element, scalar = Element(_P), Scalar(_S)
    benchmark(element.mul, scalar)


@pytest.mark.benchmark(group="oprf-floor")
def test_floor_element_base_mul(benchmark: Any) -> None:
    benchmark(Element.base_mul, Scalar(_S))


@pytest.mark.benchmark(group="oprf-floor")
def test_floor_element_add(benchmark: Any) -> None:
    a, b = Element(_P), Element(_Q)
    benchmark(lambda: a + b)


@pytest.mark.benchmark(group="oprf-floor")
def test_floor_from_uniform_bytes(benchmark: Any) -> None:
    benchmark(Element.from_uniform_bytes, _WIDE)


@pytest.mark.benchmark(group="oprf-floor")
def test_floor_scalar_invert(benchmark: Any) -> None:
    benchmark(Scalar(_S).invert)


def _floor_ops() -> bytes:
    mul = rbcl.crypto_scalarmult_ristretto255
    base = rbcl.crypto_scalarmult_ristretto255_base
    add = rbcl.crypto_core_ristretto255_add
    p = rbcl.crypto_core_ristretto255_from_hash(_WIDE)
    for _ in range(11):
        p = mul(_S, p)
    q = base(_S)
    q = base(_T)
    q = add(p, _Q)
    q = add(q, _P)
    rbcl.crypto_core_ristretto255_scalar_invert(_S)
    return q


@pytest.mark.benchmark(group="oprf-floor")
def test_floor_exchange_group_ops(benchmark: Any) -> None:
    """11 mul + 2 base mul + 2 add + 1 hash-to-group map + 1 invert, on raw bytes."""
    benchmark(_floor_ops)


# --- oprf-steps -----------------------------------------------------------------------------------

_BLIND, _BLINDED = oprf.blind(INPUT, Mode.VOPRF, system_rng)
_EVALUATED, _PROOF = oprf.blind_evaluate_batch(SK, PK, [_BLINDED], Mode.VOPRF, system_rng)


@pytest.mark.benchmark(group="oprf-steps")
def test_step_blind(benchmark: Any) -> None:
    benchmark(oprf.blind, INPUT, Mode.VOPRF, system_rng)


@pytest.mark.benchmark(group="oprf-steps")
def test_step_blind_evaluate_with_proof(benchmark: Any) -> None:
    benchmark(oprf.blind_evaluate_batch, SK, PK, [_BLINDED], Mode.VOPRF, system_rng)


@pytest.mark.benchmark(group="oprf-steps")
def test_step_verify_proof(benchmark: Any) -> None:
    benchmark(oprf.verify_proof, PK, [_BLINDED], _EVALUATED, _PROOF, Mode.VOPRF)


@pytest.mark.benchmark(group="oprf-steps")
def test_step_finalize(benchmark: Any) -> None:
    benchmark(oprf.finalize, INPUT, _BLIND, _EVALUATED[0], Mode.VOPRF)


@pytest.mark.benchmark(group="oprf-steps")
def test_step_evaluate_known_input(benchmark: Any) -> None:
    benchmark(oprf.evaluate, SK, INPUT, Mode.VOPRF)


@pytest.mark.benchmark(group="oprf-steps")
def test_step_poprf_exchange(benchmark: Any) -> None:
    info = b"epoch 2026-01"

    def exchange() -> list[bytes]:
        blind, blinded = oprf.blind(INPUT, Mode.POPRF, system_rng)
        evaluated, proof = oprf.blind_evaluate_batch(
            SK, PK, [blinded], Mode.POPRF, system_rng, info
        )
        return oprf.finalize_verified(
            PK, [INPUT], [blind], [blinded], evaluated, proof, Mode.POPRF, info
        )

    benchmark(exchange)


# --- oprf-batch8 ----------------------------------------------------------------------------------

_INPUTS8 = [b"+1555123%04d" % i for i in range(8)]


@pytest.mark.benchmark(group="oprf-batch8")
def test_batch8_exchange_blindpost(benchmark: Any) -> None:
    def exchange() -> list[bytes]:
        pairs = [oprf.blind(x, Mode.VOPRF, system_rng) for x in _INPUTS8]
        blinds = [p[0] for p in pairs]
        blinded = [p[1] for p in pairs]
        evaluated, proof = oprf.blind_evaluate_batch(SK, PK, blinded, Mode.VOPRF, system_rng)
        return oprf.finalize_verified(PK, _INPUTS8, blinds, blinded, evaluated, proof, Mode.VOPRF)

    assert benchmark(exchange) == [oprf.evaluate(SK, x, Mode.VOPRF) for x in _INPUTS8]


@needs_voprf
@pytest.mark.benchmark(group="oprf-batch8")
def test_batch8_exchange_rust_voprf(benchmark: Any) -> None:
    assert _voprf is not None
    evaluator = _voprf.Evaluator.from_seed(SEED, b"")
    public_key = evaluator.public_key

    def exchange() -> list[bytes]:
        clients = [_voprf.Client.blind(x) for x in _INPUTS8]
        answer = evaluator.evaluate_batch([b for _, b in clients])
        return list(_voprf.Client.finalize_batch([c for c, _ in clients], answer, public_key))

    assert benchmark(exchange) == [oprf.evaluate(SK, x, Mode.VOPRF) for x in _INPUTS8]


@needs_voprf
@pytest.mark.benchmark(group="oprf-steps")
def test_step_rust_voprf_blind(benchmark: Any) -> None:
    assert _voprf is not None
    benchmark(_voprf.Client.blind, INPUT)


@needs_voprf
@pytest.mark.benchmark(group="oprf-steps")
def test_step_rust_voprf_evaluate_with_proof(benchmark: Any) -> None:
    assert _voprf is not None
    evaluator = _voprf.Evaluator.from_seed(SEED, b"")
    _, blinded = _voprf.Client.blind(INPUT)
    benchmark(evaluator.evaluate, blinded)


@needs_voprf
@pytest.mark.benchmark(group="oprf-steps")
def test_step_rust_voprf_verify_and_finalize(benchmark: Any) -> None:
    assert _voprf is not None
    evaluator = _voprf.Evaluator.from_seed(SEED, b"")
    client, blinded = _voprf.Client.blind(INPUT)
    answer = evaluator.evaluate(blinded)
    benchmark(client.finalize, answer, evaluator.public_key)


@pytest.mark.benchmark(group="oprf-steps")
def test_step_verify_and_finalize(benchmark: Any) -> None:
    benchmark(
        oprf.finalize_verified,
        PK,
        [INPUT],
        [_BLIND],
        [_BLINDED],
        _EVALUATED,
        _PROOF,
        Mode.VOPRF,
    )
