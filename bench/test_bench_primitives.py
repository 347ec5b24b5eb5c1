"""Baselines: the raw primitive costs that define each floor (pytest-benchmark, never asserted).

Run with ``make bench``. Later layers compare their medians to these, measured in the same run.
"""

from __future__ import annotations

import os
from typing import Any

from protocol import primitives as p

KEY = os.urandom(32)
NONCE = os.urandom(12)
MSG_100 = os.urandom(100)


def test_x25519_exchange(benchmark: Any) -> None:
    sk, pk = os.urandom(32), p.x25519_public_key(os.urandom(32))
    benchmark(p.x25519, sk, pk)


def test_x25519_keygen(benchmark: Any) -> None:
    benchmark(lambda: p.x25519_public_key(os.urandom(32)))


def test_ed25519_sign(benchmark: Any) -> None:
    seed = os.urandom(32)
    benchmark(p.ed25519_sign, seed, MSG_100)


def test_ed25519_verify(benchmark: Any) -> None:
    seed = os.urandom(32)
    pk, sig = p.ed25519_public_key(seed), p.ed25519_sign(seed, MSG_100)
    benchmark(p.ed25519_verify, pk, MSG_100, sig)


def test_mlkem768_encaps_decaps(benchmark: Any) -> None:
    seed = os.urandom(64)
    ek = p.mlkem768_public_key(seed)

    def round_trip() -> bytes:
        _, ct = p.mlkem768_encapsulate(ek)
        return p.mlkem768_decapsulate(seed, ct)

    benchmark(round_trip)


def test_chacha20_poly1305_100B(benchmark: Any) -> None:
    benchmark(
        lambda: p.chacha20_poly1305_open(
            KEY, NONCE, p.chacha20_poly1305_seal(KEY, NONCE, MSG_100, b""), b""
        )
    )


def test_hmac_sha256_100B(benchmark: Any) -> None:
    benchmark(p.hmac_sha256, KEY, MSG_100)


def test_ristretto255_scalar_mul(benchmark: Any) -> None:
    scalar = p.Scalar.random(os.urandom)
    element = p.Element.base_mul(p.Scalar.random(os.urandom))
    benchmark(element.mul, scalar)
