"""Spec §3: the primitives added or reimplemented for the ratchet's hot path.

Each is compared with an independent implementation (the standard library's ``hmac``,
pyca/cryptography's HKDF, AES-ECB, ChaCha20-Poly1305 and X25519) on random inputs, plus its
failure behaviour.
"""

from __future__ import annotations

import copy
import hmac
import pickle

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import x25519 as pyca_x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import ProtocolError
from protocol.keys import SMALL_ORDER_X25519
from protocol.primitives import (
    Aes256Block,
    ChaCha20Poly1305Key,
    X25519KeyPair,
    chacha20_poly1305_open,
    chacha20_poly1305_open_single_use,
    chacha20_poly1305_seal,
    chacha20_poly1305_seal_single_use,
    hkdf,
    hmac_sha256_pair,
    labeled_expand,
    labeled_kdf,
    labeled_kdf_keys3,
)

KEYS = st.binary(min_size=32, max_size=32)


def code(action: object) -> str:
    with pytest.raises(ProtocolError) as info:
        action()  # type: ignore[operator]
    return info.value.code


@settings(max_examples=200, deadline=None)
@given(key=st.binary(max_size=150), a=st.binary(max_size=200), b=st.binary(max_size=200))
def test_hmac_pair_matches_the_standard_library(key: bytes, a: bytes, b: bytes) -> None:
    assert hmac_sha256_pair(key, a, b) == (
        hmac.digest(key, a, "sha256"),
        hmac.digest(key, b, "sha256"),
    )


@settings(max_examples=100, deadline=None)
@given(
    ikm=st.binary(max_size=100),
    salt=st.binary(max_size=100),
    info=st.binary(max_size=100),
    length=st.integers(0, 300),
)
def test_hkdf_matches_pyca(ikm: bytes, salt: bytes, info: bytes, length: int) -> None:
    if length == 0:
        assert hkdf(ikm, salt, info, 0) == b""
        return
    expected = HKDF(hashes.SHA256(), length, salt or None, info).derive(ikm)
    assert hkdf(ikm, salt, info, length) == expected


@settings(max_examples=100, deadline=None)
@given(key=KEYS, blocks=st.lists(st.binary(min_size=16, max_size=16), min_size=1, max_size=5))
def test_aes_block_matches_pyca_ecb(key: bytes, blocks: list[bytes]) -> None:
    prp = Aes256Block(key)
    reference = Cipher(algorithms.AES(key), modes.ECB())
    for block in blocks:
        encrypted = prp.encrypt(block)
        encryptor = reference.encryptor()
        assert encrypted == encryptor.update(block) + encryptor.finalize()
        assert prp.decrypt(encrypted) == block
    assert code(lambda: prp.encrypt(bytes(15))) == "usage.bad_argument"
    assert code(lambda: prp.decrypt(bytes(17))) == "usage.bad_argument"
    assert prp.encrypt(blocks[0]) == prp.encrypt(blocks[0])  # no state kept between blocks


@settings(max_examples=100, deadline=None)
@given(key=KEYS, nonces=st.lists(st.binary(min_size=12, max_size=12), min_size=1, max_size=12))
def test_counter_block_is_ecb_of_nonce_and_two(key: bytes, nonces: list[bytes]) -> None:
    """Every call, before and after the switch from AES-GCM to an ECB context, is
    ``AES(key, nonce || u32be(2))``, and ``decrypt`` inverts it."""
    prp = Aes256Block(key)
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    for nonce in nonces:
        block = prp.counter_block(nonce)
        assert block == encryptor.update(nonce + b"\x00\x00\x00\x02")
        assert prp.decrypt(block) == nonce + b"\x00\x00\x00\x02"
    assert code(lambda: prp.counter_block(bytes(11))) == "usage.bad_argument"


def test_counter_block_after_encrypt() -> None:
    """An ECB context set up by ``encrypt`` is the one ``counter_block`` then uses."""
    key = bytes(range(32))
    prp, fresh = Aes256Block(key), Aes256Block(key)
    prp.encrypt(bytes(16))
    assert [prp.counter_block(bytes([i]) * 12) for i in range(3)] == [
        fresh.counter_block(bytes([i]) * 12) for i in range(3)
    ]


@settings(max_examples=100, deadline=None)
@given(
    label=st.binary(min_size=1, max_size=40).filter(lambda b: 0 not in b),
    prk=KEYS,
    context=st.binary(max_size=40),
    length=st.integers(0, 300),
)
def test_labeled_expand_is_hkdf_expand(
    label: bytes, prk: bytes, context: bytes, length: int
) -> None:
    expanded = labeled_expand(label, prk, context, length)
    if length:
        info = label + b"\x00" + context
        assert expanded == HKDFExpand(hashes.SHA256(), length, info).derive(prk)
    else:
        assert expanded == b""


def test_labeled_expand_argument_errors() -> None:
    assert code(lambda: labeled_expand(b"", bytes(32), b"", 32)) == "usage.bad_argument"
    assert code(lambda: labeled_expand(b"a\x00", bytes(32), b"", 32)) == "usage.bad_argument"
    assert code(lambda: labeled_expand(b"a", bytes(31), b"", 32)) == "usage.bad_argument"
    assert code(lambda: labeled_expand(b"a", bytes(32), b"", 255 * 32 + 1)) == (
        "usage.bad_argument"
    )


@settings(max_examples=100, deadline=None)
@given(
    key=KEYS,
    nonce=st.binary(min_size=12, max_size=12),
    data=st.binary(max_size=300),
    aad=st.binary(max_size=50),
)
def test_aead_wrappers_match_pyca(key: bytes, nonce: bytes, data: bytes, aad: bytes) -> None:
    reference = ChaCha20Poly1305(key)
    held = ChaCha20Poly1305Key(key)
    sealed = held.seal(nonce, data, aad)
    assert sealed == reference.encrypt(nonce, data, aad)
    assert held.open(nonce, sealed, aad) == data
    once = chacha20_poly1305_seal_single_use(key, data, aad)
    assert once == reference.encrypt(bytes(12), data, aad)
    assert chacha20_poly1305_open_single_use(key, memoryview(once), aad) == data
    bad = bytes([sealed[0] ^ 1]) + sealed[1:]
    assert code(lambda: held.open(nonce, bad, aad)) == "auth.failed"
    assert code(lambda: chacha20_poly1305_open_single_use(key, once[:-1], aad)) == "auth.failed"


@settings(max_examples=100, deadline=None)
@given(
    label=st.binary(min_size=1, max_size=40).filter(lambda b: 0 not in b),
    ikm=st.binary(max_size=100),
    salt=st.binary(max_size=100),
    context=st.binary(max_size=40),
    length=st.integers(0, 300),
)
def test_labeled_kdf_matches_pyca(
    label: bytes, ikm: bytes, salt: bytes, context: bytes, length: int
) -> None:
    fast = labeled_kdf(label, ikm, salt, context, length)
    if length:
        info = label + b"\x00" + context
        assert fast == HKDF(hashes.SHA256(), length, salt or None, info).derive(ikm)
    else:
        assert fast == b""


@settings(max_examples=100, deadline=None)
@given(
    label=st.binary(min_size=1, max_size=40).filter(lambda b: 0 not in b),
    ikm=st.binary(max_size=100),
    salt=st.one_of(KEYS, st.binary(max_size=100)),
    context=st.binary(max_size=40),
)
def test_labeled_kdf_keys3_is_labeled_kdf_split(
    label: bytes, ikm: bytes, salt: bytes, context: bytes
) -> None:
    okm = HKDF(hashes.SHA256(), 96, salt or None, label + b"\x00" + context).derive(ikm)
    assert labeled_kdf_keys3(label, ikm, salt, context) == (okm[:32], okm[32:64], okm[64:])


def test_labeled_kdf_keys3_argument_errors() -> None:
    assert code(lambda: labeled_kdf_keys3(b"", b"", bytes(32), b"")) == "usage.bad_argument"
    assert code(lambda: labeled_kdf_keys3(b"a\x00", b"", b"", b"")) == "usage.bad_argument"


def test_labeled_kdf_argument_errors() -> None:
    assert code(lambda: labeled_kdf(b"", b"", b"", b"", 32)) == "usage.bad_argument"
    assert code(lambda: labeled_kdf(b"a\x00b", b"", b"", b"", 32)) == "usage.bad_argument"
    assert code(lambda: labeled_kdf(b"a", b"", b"", b"", 255 * 32 + 1)) == (
        "usage.bad_argument"
    )


# Sizes on both sides of the libsodium/OpenSSL switch of the one-shot AEADs (640 bytes of
# input plus associated data): each path must give RFC 8439's output and fail the same way.
@settings(max_examples=150, deadline=None)
@given(
    key=KEYS,
    nonce=st.binary(min_size=12, max_size=12),
    data=st.one_of(st.binary(max_size=120), st.binary(min_size=560, max_size=720)),
    aad=st.one_of(st.binary(max_size=40), st.binary(min_size=300, max_size=330)),
    flip=st.integers(0, 10_000),
)
def test_one_shot_aead_paths_match_pyca(
    key: bytes, nonce: bytes, data: bytes, aad: bytes, flip: int
) -> None:
    reference = ChaCha20Poly1305(key)
    sealed = chacha20_poly1305_seal(key, nonce, data, aad)
    assert sealed == reference.encrypt(nonce, data, aad)
    assert chacha20_poly1305_open(key, nonce, sealed, aad) == data
    once = chacha20_poly1305_seal_single_use(key, data, aad)
    assert once == reference.encrypt(bytes(12), data, aad)
    assert chacha20_poly1305_open_single_use(key, once, aad) == data
    position = flip % len(sealed)
    bad = sealed[:position] + bytes([sealed[position] ^ 1]) + sealed[position + 1 :]
    assert code(lambda: chacha20_poly1305_open(key, nonce, bad, aad)) == "auth.failed"
    bad_once = once[:position] + bytes([once[position] ^ 1]) + once[position + 1 :]
    assert code(lambda: chacha20_poly1305_open_single_use(key, bad_once, aad)) == "auth.failed"
    for short in (b"", once[:15]):
        assert code(lambda s=short: chacha20_poly1305_open_single_use(key, s, aad)) == (
            "auth.failed"
        )
        assert code(lambda s=short: chacha20_poly1305_open(key, nonce, s, aad)) == "auth.failed"


def test_aead_argument_errors() -> None:
    held = ChaCha20Poly1305Key(bytes(32))
    assert code(lambda: held.seal(bytes(11), b"", b"")) == "usage.bad_argument"
    assert code(lambda: held.open(bytes(13), bytes(16), b"")) == "usage.bad_argument"
    assert code(lambda: ChaCha20Poly1305Key(bytes(31))) == "usage.bad_argument"
    assert code(lambda: chacha20_poly1305_seal_single_use(bytes(31), b"", b"")) == (
        "usage.bad_argument"
    )
    assert code(lambda: chacha20_poly1305_open_single_use(bytes(31), bytes(16), b"")) == (
        "usage.bad_argument"
    )


@settings(max_examples=100, deadline=None)
@given(private=KEYS, peer=KEYS)
def test_x25519_key_pair_matches_pyca(private: bytes, peer: bytes) -> None:
    pair = X25519KeyPair(private)
    reference = pyca_x25519.X25519PrivateKey.from_private_bytes(private)
    assert pair.public_key == reference.public_key().public_bytes_raw()
    assert pair.private_bytes() == private
    try:
        expected = reference.exchange(pyca_x25519.X25519PublicKey.from_public_bytes(peer))
    except ValueError:  # pyca refuses an all-zero result
        assert code(lambda: pair.exchange(peer)) == "decode.low_order"
    else:
        assert pair.exchange(peer) == expected


def test_x25519_small_order_and_lengths() -> None:
    pair = X25519KeyPair(bytes(range(32)))
    for point in SMALL_ORDER_X25519:
        assert code(lambda p=point: pair.exchange(p)) == "decode.low_order"
        high = point[:31] + bytes([point[31] | 0x80])
        assert code(lambda p=high: pair.exchange(p)) == "decode.low_order"
    assert code(lambda: pair.exchange(bytes(31))) == "decode.length"
    assert code(lambda: X25519KeyPair(bytes(31))) == "usage.bad_argument"


def test_held_keys_are_secret() -> None:
    for secret in (ChaCha20Poly1305Key(bytes(32)), Aes256Block(bytes(32))):
        assert "redacted" in repr(secret)
        with pytest.raises(TypeError):
            pickle.dumps(secret)
        with pytest.raises(TypeError):
            copy.deepcopy(secret)
