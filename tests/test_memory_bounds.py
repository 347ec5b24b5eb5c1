"""Spec §1.6: hostile input leaves nothing behind — memory after thousands of inputs per target.

Every target of ``tests/fuzz/targets.py`` (each registered decoder, each server entry point and
each client entry point that consumes bytes from the network) gets its valid inputs and
hundreds of hostile ones: bit flips, truncations, insertions, deletions and splices of real
encodings, the committed fuzz corpus, random bytes. The inputs run once to warm up (plans,
first-use tables, the one state change a valid input may make), then again under
``tracemalloc``; what is still allocated after ``gc.collect()`` must stay within a few dozen
bytes per input. A structure that keeps anything per rejected input — the traceback of a shared
exception instance (issue 10), a cache or replay table without a bound — fails here.
"""

from __future__ import annotations

import gc
import importlib
import pkgutil
import random
import re
import tracemalloc

import pytest

from tests.external import REPO
from tests.fuzz.targets import TARGETS, Target, check, corpus_inputs, mutations

#: Hostile inputs per target (plus its valid inputs and the corpus).
HOSTILE_PER_TARGET = 400
#: Most bytes still allocated, per input, after the measured pass.
RETAINED_PER_INPUT = 16
#: Fixed allowance: interpreter caches and a state that a valid input may replace in place.
SLACK = 8192


def _inputs(target: Target) -> list[bytes]:
    seeds = target.seeds()
    rng = random.Random(f"memory/{target.name}")
    corpus = corpus_inputs()
    hostile = mutations(seeds + rng.sample(corpus, 8), HOSTILE_PER_TARGET, rng)
    return seeds * 4 + corpus + hostile


def _run(target: Target, inputs: list[bytes]) -> None:
    for data in inputs:
        check(target, data)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_hostile_input_is_not_retained(name: str) -> None:
    target = TARGETS[name]
    inputs = _inputs(target)
    _run(target, inputs)  # warm-up
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        _run(target, inputs)
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    bound = SLACK + RETAINED_PER_INPUT * len(inputs)
    assert retained <= bound, (
        f"{name}: {retained} bytes still allocated after {len(inputs)} inputs "
        f"({retained / len(inputs):.0f} per input; bound {bound})"
    )


def _bounds_section() -> str:
    text = (REPO / "spec" / "protocol.md").read_text(encoding="utf-8")
    return text.split("### 1.6 Resource bounds", 1)[1].split("\n## ", 1)[0]


def test_every_constant_of_the_bounds_table_exists_with_its_value() -> None:
    # Spec §1.6 names each bound as `protocol.module.NAME` = value.
    pattern = r"`(protocol(?:\.\w+)+)\.([A-Z][A-Z0-9_]+)` = (\d+(?: \d{3})*)"
    named = re.findall(pattern, _bounds_section())
    assert len(named) >= 10
    for module, name, value in named:
        actual = getattr(importlib.import_module(module), name)
        assert actual == int(value.replace(" ", "")), f"{module}.{name}"


def test_no_module_holds_an_exception_instance() -> None:
    # Spec §1.6: a pre-allocated exception raised again and again keeps every traceback (and
    # the inputs in its frames) alive. Raise a fresh instance (or the class) every time.
    import protocol

    for info in pkgutil.walk_packages(protocol.__path__, "protocol."):
        module = importlib.import_module(info.name)
        shared = [k for k, v in vars(module).items() if isinstance(v, BaseException)]
        assert not shared, f"{info.name} holds exception instances: {shared}"
