"""Spec §3.8: HPKE (RFC 9180) seal and open, against pyca/cryptography's HPKE and pyhpke.

Run with ``make bench`` (or ``pytest bench/test_bench_hpke.py --benchmark-only``); compare
medians within one run. Suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305,
base mode, the same recipient key everywhere.

* ``hpke-single-shot-100B`` — the case ``hpke_100B`` of ``bench/compare.py``: single-shot seal
  + open of 100 bytes with :func:`protocol.hpke.seal_base` / :func:`~protocol.hpke.open_base`
  (the recipient key an :class:`~protocol.primitives.X25519KeyPair`, parsed once like pyca's);
  the floor, pyca/cryptography's ``hpke.Suite.encrypt`` + ``decrypt`` (Rust, one call each);
  the peer pyhpke 0.6 (pure Python over pyca/cryptography; skipped when the optional ``peers``
  extra is not installed).
* ``hpke-steps`` — where Blindpost's time goes: the sender's set-up (one key generation, one
  DH, the key schedule), the recipient's set-up (one DH, the key schedule), and ``seal`` on an
  established context.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import hpke as pyca_hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from protocol import hpke
from protocol.primitives import X25519KeyPair, system_rng

try:
    import pyhpke
except ImportError:  # the optional peer implementation
    pyhpke = None

needs_pyhpke = pytest.mark.skipif(
    pyhpke is None, reason="peer `pyhpke` (optional `peers` extra) is not installed"
)

SUITE = hpke.Suite(aead=hpke.AeadId.CHACHA20_POLY1305)
SK_R, PK_R = hpke.derive_key_pair(os.urandom(32))
#: The recipient key parsed once (its public key computed once), as pyca's floor holds it.
KEY_R = X25519KeyPair(SK_R)
INFO = b"Blindpost bench"
PT = os.urandom(100)


@pytest.mark.benchmark(group="hpke-single-shot-100B")
def test_seal_open_blindpost(benchmark: Any) -> None:
    def seal_open() -> bytes:
        enc, ct = hpke.seal_base(SUITE, PK_R, INFO, b"", PT, rng=system_rng)
        return hpke.open_base(SUITE, enc, KEY_R, INFO, b"", ct)

    assert benchmark(seal_open) == PT


@pytest.mark.benchmark(group="hpke-single-shot-100B")
def test_seal_open_floor_pyca(benchmark: Any) -> None:
    suite = pyca_hpke.Suite(
        pyca_hpke.KEM.X25519, pyca_hpke.KDF.HKDF_SHA256, pyca_hpke.AEAD.CHACHA20_POLY1305
    )
    sk = X25519PrivateKey.from_private_bytes(SK_R)
    pk = sk.public_key()
    assert benchmark(lambda: suite.decrypt(suite.encrypt(PT, pk, info=INFO), sk, info=INFO)) == PT


@needs_pyhpke
@pytest.mark.benchmark(group="hpke-single-shot-100B")
def test_seal_open_pyhpke(benchmark: Any) -> None:
    assert pyhpke is not None
    suite = pyhpke.CipherSuite.new(
        pyhpke.KEMId.DHKEM_X25519_HKDF_SHA256,
        pyhpke.KDFId.HKDF_SHA256,
        pyhpke.AEADId.CHACHA20_POLY1305,
    )
    sk = X25519PrivateKey.from_private_bytes(SK_R)
    skr = pyhpke.KEMKey.from_pyca_cryptography_key(sk)
    pkr = pyhpke.KEMKey.from_pyca_cryptography_key(sk.public_key())

    def seal_open() -> bytes:
        enc, sender = suite.create_sender_context(pkr, INFO)
        ct = sender.seal(PT)
        out: bytes = suite.create_recipient_context(enc, skr, INFO).open(ct)
        return out

    assert benchmark(seal_open) == PT


@pytest.mark.benchmark(group="hpke-steps")
def test_step_setup_sender(benchmark: Any) -> None:
    benchmark(hpke.setup_base_s, SUITE, PK_R, INFO, rng=system_rng)


@pytest.mark.benchmark(group="hpke-steps")
def test_step_setup_recipient(benchmark: Any) -> None:
    enc, _ = hpke.setup_base_s(SUITE, PK_R, INFO, rng=system_rng)
    benchmark(hpke.setup_base_r, SUITE, enc, KEY_R, INFO)


@pytest.mark.benchmark(group="hpke-steps")
def test_step_context_seal_100B(benchmark: Any) -> None:
    _, sender = hpke.setup_base_s(SUITE, PK_R, INFO, rng=system_rng)
    benchmark(sender.seal, b"", PT)
