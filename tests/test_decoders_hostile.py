"""Spec §1.4, §2.3: every fuzz target maps any byte string to a result or an allowed error.

Hypothesis feeds random bytes, and mutations (bit flips, truncations, insertions, splices) of
real encodings — the targets' valid inputs and the committed corpus — to every target of
``tests/fuzz/targets.py``: a decoder may raise only ``DecodeError``; an entry point (a server
role or a client consuming network bytes) only ``DecodeError``, ``AuthenticationError`` or
``StateError``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.targets import TARGETS, check, corpus_inputs

SEEDS = corpus_inputs()
NAMES = sorted(TARGETS)


@st.composite
def _mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
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
            other = draw(st.sampled_from(seeds))
            i = draw(st.integers(0, len(data)))
            data[i:] = other[draw(st.integers(0, len(other))) :]
    return bytes(data)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=512))
def test_random_bytes(name: str, data: bytes) -> None:
    check(TARGETS[name], data)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_real_encodings(name: str, data: st.DataObject) -> None:
    target = TARGETS[name]
    check(target, data.draw(_mutated(target.seeds() * 4 + SEEDS)))
