"""Spec §2.3, §1.4: replay the fuzz corpus (and every cbor vector) through every fuzz target.

``tests/fuzz/corpus/`` holds hand-written seeds and the inputs that ``make fuzz`` merged because
they reached new code (named ``TARGET-<digest>.bin``). Every file goes through every target of
``tests/fuzz/targets.py``: decoders may raise only ``DecodeError``, entry points only
``DecodeError``, ``AuthenticationError`` or ``StateError``.
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import protocol
from protocol.codec import Message
from protocol.kat import cbor as kat_cbor
from tests.external import REPO
from tests.fuzz.targets import CORPUS, TARGETS, check, check_all

SEEDS = sorted(p for p in CORPUS.iterdir() if p.is_file())
#: The committed corpus stays small: ``make fuzz`` merges only inputs that reach new code, at
#: most ``MAX_NEW_PER_TARGET`` per target and run; the bounds scale with the number of targets
#: (a fixed count would be outgrown by every new target and every run) and cap the bytes.
MAX_CORPUS_FILES_PER_TARGET = 20
MAX_CORPUS_FILE_SIZE = 20_000
MAX_CORPUS_BYTES = 4 * 1024 * 1024


def test_corpus_is_present_and_small() -> None:
    assert len(SEEDS) >= 20
    assert len(SEEDS) <= MAX_CORPUS_FILES_PER_TARGET * len(TARGETS)
    assert all(p.stat().st_size <= MAX_CORPUS_FILE_SIZE for p in SEEDS)
    assert sum(p.stat().st_size for p in SEEDS) <= MAX_CORPUS_BYTES


@pytest.mark.parametrize("path", SEEDS, ids=[p.name for p in SEEDS])
def test_corpus_seed(path: Path) -> None:
    check_all(path.read_bytes())  # raises anything a target's contract does not allow


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_valid_inputs_are_accepted_once(name: str) -> None:
    target = TARGETS[name]
    assert target.seeds(), f"{name} has no valid input to start from"
    for data in target.seeds():
        check(target, data)


def test_cbor_vectors_through_every_target() -> None:
    for case in kat_cbor.generate():
        check_all(bytes.fromhex(str(case["encoded"])))


def _wire_structures() -> list[type[Message]]:
    for info in pkgutil.walk_packages(protocol.__path__, "protocol."):
        importlib.import_module(info.name)
    found: list[type[Message]] = []
    pending = list(Message.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("protocol.") and "FIELDS" in dir(cls):
            found.append(cls)
    return found


def test_every_wire_structure_is_a_target() -> None:
    # By name: ``slots=True`` re-creates each class, so __subclasses__ also lists the originals.
    decoders = {
        (owner.__module__, owner.__qualname__)
        for t in TARGETS.values()
        if t.kind == "decoder" and isinstance(owner := getattr(t.run(), "__self__", None), type)
    }
    missing = sorted(
        {
            c.__qualname__
            for c in _wire_structures()
            if (c.__module__, c.__qualname__) not in decoders
        }
    )
    assert not missing, f"register these in tests/fuzz/targets.py: {missing}"


def test_target_names_are_stable_identifiers() -> None:
    for name, target in TARGETS.items():
        assert name == target.name
        assert name.replace(".", "").replace("_", "").isalnum() and name == name.lower()


def _seed_digest() -> str:
    digest = hashlib.sha256()
    for name in sorted(TARGETS):
        for data in TARGETS[name].seeds():
            digest.update(name.encode() + len(data).to_bytes(4, "big") + data)
    return digest.hexdigest()


def test_seeds_are_the_same_in_every_process() -> None:
    # The campaign writes the seeds; the harness, another process, builds the state that must
    # accept them. Nothing may depend on randomness the targets do not draw from their rng.
    code = "from tests.test_fuzz_corpus import _seed_digest; print(_seed_digest())"
    other = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert other.stdout.strip() == _seed_digest()
