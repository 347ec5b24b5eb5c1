"""Spec §2: the strict deterministic CBOR codec and the typed message layer, against cbor2.

Run with ``make bench`` (or ``pytest bench/test_bench_codec.py --benchmark-only``); compare
medians within one run:

* ``codec-header``: :func:`protocol.codec.encode` / :func:`~protocol.codec.decode` of a
  ratchet-header-shaped map ``{1: dh (32 bytes), 2: pn, 3: n}``, each way and round trip, and
  the floor: cbor2 ``dumps`` + ``loads`` of the same map with none of the strictness checks
  (§2.3). The same fields as a typed message — the case ``cbor_header`` of
  ``bench/compare.py`` — are in ``test_bench_ratchet.py`` (``test_cbor_header``, next to the
  fixed 40-byte layout the ratchet actually uses, §7.3).
* ``codec-message``: a typed :class:`~protocol.codec.Message` (an
  :class:`~protocol.keys.IdentityKey`, three fixed-length byte fields) through ``to_bytes`` and
  ``from_bytes``, i.e. the typed layer (§2.4) on top of the codec.
"""

from __future__ import annotations

import os
from typing import Any

import cbor2
import pytest

from protocol.codec import decode, encode
from protocol.keys import IdentityKey, IdentityKeyPair
from protocol.primitives import system_rng

HEADER = {1: os.urandom(32), 2: 7, 3: 1234}
HEADER_BYTES = encode(HEADER)
IDENTITY = IdentityKeyPair.generate(system_rng).public
IDENTITY_BYTES = IDENTITY.to_bytes()


@pytest.mark.benchmark(group="codec-header")
def test_header_encode(benchmark: Any) -> None:
    assert benchmark(encode, HEADER) == HEADER_BYTES


@pytest.mark.benchmark(group="codec-header")
def test_header_decode(benchmark: Any) -> None:
    assert benchmark(decode, HEADER_BYTES) == HEADER


@pytest.mark.benchmark(group="codec-header")
def test_header_round_trip(benchmark: Any) -> None:
    assert benchmark(lambda: decode(encode(HEADER))) == HEADER


@pytest.mark.benchmark(group="codec-header")
def test_header_round_trip_floor_cbor2(benchmark: Any) -> None:
    assert benchmark(lambda: cbor2.loads(cbor2.dumps(HEADER))) == HEADER


@pytest.mark.benchmark(group="codec-message")
def test_message_to_bytes(benchmark: Any) -> None:
    assert benchmark(IDENTITY.to_bytes) == IDENTITY_BYTES


@pytest.mark.benchmark(group="codec-message")
def test_message_from_bytes(benchmark: Any) -> None:
    assert benchmark(IdentityKey.from_bytes, IDENTITY_BYTES) == IDENTITY


@pytest.mark.benchmark(group="codec-message")
def test_message_floor_cbor2(benchmark: Any) -> None:
    raw = IDENTITY.to_cbor()
    assert benchmark(lambda: cbor2.loads(cbor2.dumps(raw))) == raw
