"""Spec §1.4, §2.3: every decoder maps any byte string to a value or a DecodeError, nothing else.

Hypothesis feeds random bytes, and mutations (bit flips, truncations, insertions, splices) of
real encodings from the corpus, to every decoder registered in the fuzz harness.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.errors import DecodeError
from tests.fuzz.fuzz_decoders import CORPUS, DECODERS

SEEDS = [p.read_bytes() for p in sorted(CORPUS.iterdir())]
IDS = [
    f"{d.__self__.__name__}.{d.__name__}" if hasattr(d, "__self__") else d.__name__
    for d in DECODERS
]


def _only_decode_error(decoder: Callable[[bytes], object], data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decoder(data)


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "splice"]))
        if op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate" and data:
            del data[draw(st.integers(0, len(data) - 1)) :]
        elif op == "insert":
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(min_size=1, max_size=9))
        elif op == "delete" and data:
            i = draw(st.integers(0, len(data) - 1))
            del data[i : i + draw(st.integers(1, 9))]
        elif op == "splice":
            other = draw(st.sampled_from(SEEDS))
            i = draw(st.integers(0, len(data)))
            data[i:] = other[draw(st.integers(0, len(other))) :]
    return bytes(data)


@pytest.mark.parametrize("decoder", DECODERS, ids=IDS)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=512))
def test_random_bytes(decoder: Callable[[bytes], object], data: bytes) -> None:
    _only_decode_error(decoder, data)


@pytest.mark.parametrize("decoder", DECODERS, ids=IDS)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_mutated())
def test_mutated_real_encodings(decoder: Callable[[bytes], object], data: bytes) -> None:
    _only_decode_error(decoder, data)
