"""Spec §7: ratchet costs against their floor, measured in the same run (never asserted).

Run with ``make bench`` or ``.venv/bin/python -m pytest bench/test_bench_ratchet.py
--benchmark-only``. Targets (issue 4), as ratios to the ``raw_aead_*`` floors of this run:

* ``ratchet_100B`` (one direction, established session, encrypt + decrypt) ≤ 6 × ``raw_aead_100B``;
* ``ratchet_64KiB`` ≤ 1.3 × ``raw_aead_64KiB`` (the largest message: 65 448-byte plaintext,
  65 536 bytes on the wire; the floor encrypts and decrypts the same plaintext);
* ``ratchet_pingpong_100B`` (one message, with a DH ratchet step at the receiver): the issue's
  140 µs was set next to vodozemac's 127 µs on the reference machine, so ≤ 1.10 × vodozemac in
  the same run — a peer, compared by ``bench/compare.py`` (this file has no peers);
* ``ratchet_10k_sessions`` (index lookup + decrypt among 10 000 indexed sessions, one of them
  holding 2 000 skipped keys) ≤ 1.1 × ``ratchet_1_session`` (the same with one session).

``raw_aead_*`` is ChaCha20-Poly1305 with a key object set up once (the strictest floor);
``raw_aead_100B_new_key`` sets the key up per call, as a per-message key must be.
``cbor_header`` is encode + decode of a ratchet header as a typed CBOR message, for comparison
with the fixed layout the ratchet uses (``fixed_header``).
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from protocol.codec import Field, FixedBytes, Message, UInt
from protocol.primitives import x25519_public_key
from protocol.ratchet import MAX_PLAINTEXT_SIZE, Limits, Session, SessionIndex

SIZES = {"100B": 100, "1KiB": 1024, "64KiB": MAX_PLAINTEXT_SIZE}
NONCE = bytes(12)
AD = os.urandom(230)  # about the size of the handshake's associated data (spec §6.5)


def _pair(label: str, limits: Limits | None = None) -> tuple[Session, Session]:
    seed = hashlib.sha256(label.encode()).digest()
    keys = [hashlib.sha256(seed + bytes([i])).digest() for i in range(4)]
    common: dict[str, Any] = {
        "root_key": keys[0],
        "header_key": keys[1],
        "next_header_key": keys[2],
        "associated_data": AD,
        "limits": limits,
    }
    alice = Session.initiator(
        remote_ratchet_key=x25519_public_key(keys[3]), rng=os.urandom, **common
    )
    bob = Session.responder(ratchet_private_key=keys[3], rng=os.urandom, **common)
    bob.decrypt(alice.encrypt(b"hello"))
    alice.decrypt(bob.encrypt(b"hello"))
    return alice, bob


# --- floors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES), ids=[f"raw_aead_{s}" for s in SIZES])
def test_raw_aead(benchmark: Any, size: str) -> None:
    aead = ChaCha20Poly1305(os.urandom(32))
    plaintext = os.urandom(SIZES[size])
    benchmark(lambda: aead.decrypt(NONCE, aead.encrypt(NONCE, plaintext, AD), AD))


def test_raw_aead_100B_new_key(benchmark: Any) -> None:
    key = os.urandom(32)
    plaintext = os.urandom(100)
    benchmark(
        lambda: ChaCha20Poly1305(key).decrypt(
            NONCE, ChaCha20Poly1305(key).encrypt(NONCE, plaintext, AD), AD
        )
    )


# --- one direction, established session -------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES), ids=[f"ratchet_{s}" for s in SIZES])
def test_ratchet(benchmark: Any, size: str) -> None:
    alice, bob = _pair(f"one-way-{size}")
    plaintext = os.urandom(SIZES[size])
    benchmark(lambda: bob.decrypt(alice.encrypt(plaintext)))


def test_ratchet_pingpong_100B(benchmark: Any) -> None:
    """One message per call, the direction alternating: every receipt is a DH ratchet step."""
    alice, bob = _pair("pingpong")
    plaintext = os.urandom(100)
    turn = itertools.cycle([(alice, bob), (bob, alice)])

    def one_message() -> bytes:
        sender, receiver = next(turn)
        return receiver.decrypt(sender.encrypt(plaintext))

    benchmark(one_message)


# --- session lookup ---------------------------------------------------------------------------

_ROUNDS = 4000


def _decrypt_rounds(benchmark: Any, index: SessionIndex, messages: Iterator[bytes]) -> None:
    def setup() -> tuple[tuple[bytes], dict[str, Any]]:
        return (next(messages),), {}

    benchmark.pedantic(index.decrypt, setup=setup, rounds=_ROUNDS, iterations=1)


def _messages(alice: Session, count: int) -> Iterator[bytes]:
    plaintext = os.urandom(100)
    return iter([alice.encrypt(plaintext) for _ in range(count)])


def test_ratchet_1_session(benchmark: Any) -> None:
    """Baseline: index lookup and decrypt with one indexed session."""
    alice, bob = _pair("one-session")
    index = SessionIndex()
    index.add("target", bob)
    _decrypt_rounds(benchmark, index, _messages(alice, _ROUNDS + 1))


@dataclass
class _Crowd:
    index: SessionIndex
    target: Session


def _crowd(count: int) -> Callable[[], _Crowd]:
    cache: list[_Crowd] = []

    def build() -> _Crowd:
        if not cache:
            index = SessionIndex()
            for i in range(count - 1):
                _, bob = _pair(f"crowd-{i}")
                index.add(f"contact-{i}", bob)
            alice, bob = _pair("crowd-target")
            for _ in range(2000):
                alice.encrypt(b"lost")
            index.add("target", bob)
            cache.append(_Crowd(index, alice))
        return cache[0]

    return build


_CROWD = _crowd(10_000)


def test_ratchet_10k_sessions(benchmark: Any) -> None:
    """Index lookup and decrypt among 10 000 sessions; the target stores 2 000 skipped keys."""
    crowd = _CROWD()
    alice = crowd.target
    first = alice.encrypt(b"after 2000 lost messages")
    # A jump of 2000 is beyond the tag window (32): the index cannot route it, the session
    # accepts it when given it directly (a one-to-one transport), storing 2000 skipped keys.
    crowd.index.session("target").decrypt(first)
    assert crowd.index.session("target").skipped_key_count == 2000
    assert crowd.index.expected_tag_count == 10_000 * 64 + 2000
    _decrypt_rounds(benchmark, crowd.index, _messages(alice, _ROUNDS + 1))


# --- header encodings -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CborHeader(Message):
    """The ratchet header as a typed CBOR message (what spec §7.3 chose not to do)."""

    VERSION: ClassVar[int] = 1
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "dh", FixedBytes(32)),
        Field(2, "pn", UInt(2**32 - 1)),
        Field(3, "n", UInt(2**32 - 1)),
    )
    MAX_SIZE: ClassVar[int] = 64
    dh: bytes
    pn: int
    n: int


def test_cbor_header(benchmark: Any) -> None:
    dh = os.urandom(32)
    benchmark(lambda: _CborHeader.from_bytes(_CborHeader(dh, 70_000, 123_456).to_bytes()))


def test_fixed_header(benchmark: Any) -> None:
    dh = os.urandom(32)

    def round_trip() -> tuple[bytes, int, int]:
        header = dh + (70_000).to_bytes(4, "big") + (123_456).to_bytes(4, "big")
        return header[:32], int.from_bytes(header[32:36], "big"), int.from_bytes(header[36:], "big")

    benchmark(round_trip)
