"""Issue 17's load and fault test, short (the full run is ``python bench/load.py --both``, figures
in README.md): two relay processes on one PostgreSQL schema, concurrent clients running deposit
→ fetch → ack cycles through both; nothing lost, nothing delivered again after its
acknowledgement, nothing left in the database — steady, and with one relay killed by SIGKILL
after a third of the cycles. Loopback only; each run is bounded (60 s) and stops by itself."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.external import REPO
from tests.postgres import postgres_dsn


def _load_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_load", REPO / "bench" / "load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kill", [False, True], ids=["steady", "one-relay-killed"])
def test_two_relays_lose_and_duplicate_nothing(kill: bool) -> None:
    load = _load_module()
    report = load.run_load(relays=2, clients=8, cycles=300, kill=kill, dsn=postgres_dsn(),
                           timeout=60)  # fmt: skip
    summary = report.summary()
    assert summary["deposits_acknowledged"] == 300
    assert summary["delivered"] == 300
    assert (report.lost, report.duplicated, report.foreign) == ([], [], [])
    assert report.left_in_database == 0
    assert all(summary["latency_ms"][op]["n"] >= 300 for op in ("deposit", "fetch", "ack"))
    if kill:
        assert report.retries > 0  # the killed process was really in the rotation
