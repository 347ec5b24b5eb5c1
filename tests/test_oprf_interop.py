"""Spec §8.1: interoperability with an independent RFC 9497 implementation (``voprf`` on PyPI,
Rust, curve25519-dalek), in both directions: our client with its evaluator, its client with ours.

``voprf`` is an optional peer (the ``peers`` extra), so these tests skip when it is absent.
Its VOPRF ristretto255-SHA512 wire forms: a blinded or evaluated element is 32 bytes; one
evaluation is ``proof (64) || evaluated element (32)``; a batch is ``proof || element…``.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.errors import AuthenticationError
from protocol.kat import SeededRng
from protocol.oprf import (
    PROOF_SIZE,
    Mode,
    Proof,
    blind,
    blind_evaluate_batch,
    derive_key_pair,
    evaluate,
    finalize_verified,
)
from protocol.primitives import Element

R: Any = pytest.importorskip(
    "voprf.ristretto",
    reason="the optional peer implementation `voprf` (pip install voprf==0.2.0) is not installed",
)

MODE = Mode.VOPRF


def _pair(seed: bytes, info: bytes) -> tuple[Any, Any, Any]:
    """The same key on both sides: voprf's ``from_seed`` is RFC 9497 DeriveKeyPair (VOPRF)."""
    theirs = R.Evaluator.from_seed(seed, info)
    sk, pk = derive_key_pair(seed, info, MODE)
    assert theirs.public_key.serialize() == pk.to_bytes()
    return theirs, sk, pk


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.binary(min_size=32, max_size=32),
    info=st.binary(max_size=16),
    inputs=st.lists(st.binary(min_size=1, max_size=32), min_size=1, max_size=4),
)
def test_our_client_their_evaluator(seed: bytes, info: bytes, inputs: list[bytes]) -> None:
    theirs, sk, pk = _pair(seed, info)
    rng = SeededRng(seed)
    pairs = [blind(x, MODE, rng) for x in inputs]
    blinds = [p[0] for p in pairs]
    blinded = [p[1] for p in pairs]
    answer = theirs.evaluate_batch([R.BlindedInput.deserialize(c.to_bytes()) for c in blinded])
    raw = answer.serialize()
    proof = Proof.from_bytes(raw[:PROOF_SIZE])
    evaluated = [Element(raw[i : i + 32]) for i in range(PROOF_SIZE, len(raw), 32)]
    outputs = finalize_verified(pk, inputs, blinds, blinded, evaluated, proof, MODE)
    assert outputs == [theirs.evaluate_known_input(x) for x in inputs]
    assert outputs == [evaluate(sk, x, MODE) for x in inputs]
    # And its proof does not verify under another key.
    _, other_pk = derive_key_pair(bytes(32), b"other", MODE)
    with pytest.raises(AuthenticationError):
        finalize_verified(other_pk, inputs, blinds, blinded, evaluated, proof, MODE)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.binary(min_size=32, max_size=32),
    inputs=st.lists(st.binary(min_size=1, max_size=32), min_size=1, max_size=4),
)
def test_their_client_our_evaluator(seed: bytes, inputs: list[bytes]) -> None:
    theirs, sk, pk = _pair(seed, b"")
    rng = SeededRng(seed)
    clients = [R.Client.blind(x) for x in inputs]
    blinded = [Element(b.serialize()) for _, b in clients]
    evaluated, proof = blind_evaluate_batch(sk, pk, blinded, MODE, rng)
    wire = proof.to_bytes() + b"".join(e.to_bytes() for e in evaluated)
    if len(inputs) == 1:
        single = R.VerifiableOutput.deserialize(wire)
        outputs = [clients[0][0].finalize(single, theirs.public_key)]
    else:
        batch = R.VerifiableBatchOutput.deserialize(wire)
        outputs = R.Client.finalize_batch([c for c, _ in clients], batch, theirs.public_key)
    assert outputs == [evaluate(sk, x, MODE) for x in inputs]
