"""Spec §2.3: replay the fuzz corpus (and every cbor vector) through every registered decoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.kat import cbor as kat_cbor
from tests.fuzz.fuzz_decoders import CORPUS, DECODERS, check_one

SEEDS = sorted(CORPUS.iterdir())


def test_corpus_is_present() -> None:
    assert len(SEEDS) >= 20


@pytest.mark.parametrize("path", SEEDS, ids=[p.name for p in SEEDS])
def test_corpus_seed(path: Path) -> None:
    check_one(path.read_bytes())  # raises anything but DecodeError


def test_cbor_vectors_through_every_decoder() -> None:
    for case in kat_cbor.generate():
        check_one(bytes.fromhex(str(case["encoded"])))


def test_decoders_registered() -> None:
    assert len(DECODERS) >= 3
