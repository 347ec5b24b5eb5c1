"""Spec §6: the hybrid handshake against the primitive operations it is made of (same run).

``handshake``: initiator + responder, every signature verified, one-time X25519 and ML-KEM
prekeys used. Its floor is the sum of the primitive operations it performs, each benchmarked
here in the same run. Public-key: 4 Ed25519 verifications (bundle: binding, SPK, KEM prekey;
responder: the initiator's binding), 3 X25519 key generations (EK_A, the two ratchet keys), 11
X25519 exchanges (DH1..DH4 on each side, 1 ratchet step for the initiator, 2 for the
responder), one ML-KEM-768 encapsulation (parsing the key included) and one decapsulation.
Symmetric: 2 handshake KDFs and 3 KDF_RK (HKDF-SHA256, 96 bytes), 2 TK (one-block
HKDF-Expand), 2 KDF_CK, 2 AES-256 tag blocks, 4 one-shot ChaCha20-Poly1305 calls (header and
body, each sealed and opened) and 2 SHA-256 of the ML-KEM key (the associated data).
``bench/compare.py`` runs the same operations in sequence as the case's floor.
Targets (issue 3): handshake ≤ 1.2 × floor; responder with 10,000 one-time prekeys no slower
than with 10.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from protocol.handshake import PrekeyStore, initiate
from protocol.kat import SeededRng
from protocol.keys import IdentityKeyPair, OneTimePrekeyPair, PrekeyBundle
from protocol.labels import LABEL_HANDSHAKE, LABEL_RATCHET_ROOT, LABEL_RATCHET_TAG
from protocol.primitives import (
    Aes256Block,
    Ed25519KeyPair,
    MlKem768KeyPair,
    X25519KeyPair,
    chacha20_poly1305_open,
    chacha20_poly1305_seal,
    ed25519_verify,
    hmac_sha256_pair,
    labeled_expand,
    labeled_kdf_keys3,
    mlkem768_encapsulate,
    sha256,
    system_rng,
)

T0 = 1_767_225_600
_RNG = SeededRng(b"bench-handshake")
ALICE = IdentityKeyPair.generate(_RNG)
BOB = IdentityKeyPair.generate(_RNG)


def _store(one_time: int) -> PrekeyStore:
    store, _ = PrekeyStore.create(BOB, now=T0, rng=_RNG, batch=0)
    extra = [OneTimePrekeyPair.generate(prekey_id=10 + i, rng=_RNG) for i in range(one_time)]
    return PrekeyStore(BOB, store.signed_prekey, store._kem_last_resort, one_time=extra)


class _Fresh:
    """Gives each round a bundle with a fresh one-time prekey (setup, not timed)."""

    def __init__(self, store: PrekeyStore) -> None:
        self.store = store
        self.next_id = 1_000_000

    def __call__(self) -> tuple[tuple[PrekeyBundle], dict[str, Any]]:
        opk = OneTimePrekeyPair.generate(prekey_id=self.next_id, rng=system_rng)
        self.next_id += 1
        self.store._one_time[opk.id] = opk
        s = self.store
        bundle = PrekeyBundle(
            BOB.public, s.signed_prekey.public, opk.public, s._kem_last_resort.public
        )
        return (bundle,), {}


def _handshake(store: PrekeyStore, bundle: PrekeyBundle) -> bytes:
    initiated = initiate(ALICE, bundle, b"x" * 100, rng=system_rng)
    return store.respond(initiated.message, rng=system_rng).plaintext


@pytest.mark.benchmark(group="handshake")
def test_handshake(benchmark: Any) -> None:
    store = _store(10)
    benchmark.pedantic(lambda b: _handshake(store, b), setup=_Fresh(store), rounds=300)


@pytest.mark.benchmark(group="handshake-responder")
@pytest.mark.parametrize("one_time", [10, 10_000])
def test_handshake_responder_prekeys(benchmark: Any, one_time: int) -> None:
    store = _store(one_time)
    fresh = _Fresh(store)

    def setup() -> tuple[tuple[bytes], dict[str, Any]]:
        (bundle,), _ = fresh()
        return (initiate(ALICE, bundle, b"x" * 100, rng=system_rng).message,), {}

    benchmark.pedantic(lambda m: store.respond(m, rng=system_rng), setup=setup, rounds=300)


# --- the floor's primitive operations, same run ------------------------------------------------


@pytest.mark.benchmark(group="handshake-floor")
def test_floor_ed25519_verify(benchmark: Any) -> None:
    key = Ed25519KeyPair(os.urandom(32))
    signature = key.sign(b"m" * 40)
    benchmark(ed25519_verify, key.public_key, b"m" * 40, signature)


@pytest.mark.benchmark(group="handshake-floor")
def test_floor_x25519_keygen(benchmark: Any) -> None:
    benchmark(X25519KeyPair.generate, system_rng)


@pytest.mark.benchmark(group="handshake-floor")
def test_floor_x25519_exchange(benchmark: Any) -> None:
    key, peer = X25519KeyPair.generate(system_rng), X25519KeyPair.generate(system_rng)
    benchmark(key.exchange, peer.public_key)


@pytest.mark.benchmark(group="handshake-floor")
def test_floor_mlkem768_encapsulate(benchmark: Any) -> None:
    benchmark(mlkem768_encapsulate, MlKem768KeyPair(os.urandom(64)).public_key)


@pytest.mark.benchmark(group="handshake-floor")
def test_floor_mlkem768_decapsulate(benchmark: Any) -> None:
    key = MlKem768KeyPair(os.urandom(64))
    _, ciphertext = mlkem768_encapsulate(key.public_key)
    benchmark(key.decapsulate, ciphertext)


@pytest.mark.benchmark(group="handshake-floor")
def test_floor_handshake_kdf(benchmark: Any) -> None:
    benchmark(labeled_kdf_keys3, LABEL_HANDSHAKE, os.urandom(160), b"", b"X25519+ML-KEM-768")


@pytest.mark.benchmark(group="handshake-floor")
def test_floor_kdf_rk(benchmark: Any) -> None:
    benchmark(labeled_kdf_keys3, LABEL_RATCHET_ROOT, os.urandom(32), os.urandom(32), b"")


@pytest.mark.benchmark(group="handshake-floor")
def test_floor_tag_key_and_block(benchmark: Any) -> None:
    key = os.urandom(32)
    benchmark(
        lambda: Aes256Block(labeled_expand(LABEL_RATCHET_TAG, key, b"", 32)).counter_block(
            bytes(12)
        )
    )


@pytest.mark.benchmark(group="handshake-floor")
def test_floor_kdf_ck(benchmark: Any) -> None:
    benchmark(hmac_sha256_pair, os.urandom(32), b"\x01", b"\x02")


@pytest.mark.benchmark(group="handshake-floor")
def test_floor_aead_header_and_body(benchmark: Any) -> None:
    key, nonce, ad = os.urandom(32), bytes(12), os.urandom(300)

    def seal_and_open() -> bytes:
        header = chacha20_poly1305_seal(key, nonce, bytes(40), b"")
        body = chacha20_poly1305_seal(key, nonce, b"x" * 100, ad)
        chacha20_poly1305_open(key, nonce, header, b"")
        return chacha20_poly1305_open(key, nonce, body, ad)

    benchmark(seal_and_open)


@pytest.mark.benchmark(group="handshake-floor")
def test_floor_sha256_kem_key(benchmark: Any) -> None:
    benchmark(sha256, os.urandom(1184))
