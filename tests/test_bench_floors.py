"""Issue 17 defines two benchmark floors by what they do: ``relay_postgres_10k`` against "the
same statements issued with plain psycopg" and ``relay_http_cycle`` against "a bare Starlette app
doing the same three requests with the same store calls". These tests hold the floors in
``bench/compare.py`` to those words: a short run of each makes, call for call, what the relay
makes for the same work, so a change to the relay's statements or store calls that the floor
does not follow fails here instead of skewing a ratio."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.postgres import postgres_dsn


@pytest.fixture
def compare(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "bench"))
    module = importlib.import_module("compare")
    yield module
    module.stop_loopback_servers()


def test_the_postgres_floor_issues_the_relays_own_statements(
    compare: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    monkeypatch.setenv("BLINDPOST_POSTGRES_DSN", postgres_dsn())  # skip, or fail under CI
    issued: list[str] = []
    execute = psycopg.Connection.execute

    def recording(self: psycopg.Connection[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        issued.append(re.sub(r"\bbench_\w+?_[0-9a-f]{8}\b", "{s}", str(query)))
        return execute(self, query, *args, **kwargs)

    runs = []
    for subject in (compare._bp_relay_postgres, compare._raw_relay_postgres_statements):
        split = subject()
        work = split.prepare(230)  # three batches, the last one short
        issued.clear()
        monkeypatch.setattr(psycopg.Connection, "execute", recording)
        split.run(work)
        monkeypatch.setattr(psycopg.Connection, "execute", execute)
        runs.append(list(issued))
    relay, floor = runs
    assert relay.count("BEGIN") == 230 + 3 + 3 + 1  # deposits, fetches, acks, the empty fetch
    assert relay == floor


def test_the_http_floor_makes_the_relays_own_store_calls(
    compare: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from protocol.edge.sqlite_store import SqliteStore

    made: list[str] = []
    for name in [n for n in vars(SqliteStore) if not n.startswith("_")]:
        method = getattr(SqliteStore, name)
        if not callable(method):
            continue

        def recording(*args: Any, _name: str = name, _method: Any = method, **kwargs: Any) -> Any:
            made.append(_name)
            return _method(*args, **kwargs)

        monkeypatch.setattr(SqliteStore, name, recording)
    runs = []
    for subject in (compare._bp_relay_http, compare._raw_relay_http_store_calls):
        split = subject()
        work = split.prepare(5)
        made.clear()
        split.run(work)
        runs.append(list(made))
    relay, floor = runs
    assert relay.count("put_deposit") == 5 and relay.count("put_tombstone") == 5
    assert relay == floor


def test_a_ratio_that_rounds_to_its_limit_shows_a_third_decimal(compare: ModuleType) -> None:
    """``1.10× NOT met`` would read as a contradiction: near the limit the verdict's side shows."""
    target = compare.Target(12, "floor", 1.1)

    def text(value: float) -> str:
        met = value <= target.limit
        shown: str = compare.TargetResult("case", target, value, met).value_text()
        return f"{shown} {'met' if met else 'NOT met'}"

    assert text(1.1014) == "1.101× NOT met"
    assert text(1.0996) == "1.100× met"
    assert text(1.0949) == "1.09× met"
    assert text(1.1051) == "1.11× NOT met"


def test_each_calibrated_round_starts_with_one_untimed_iteration(compare: ModuleType) -> None:
    """A calibrated round is preceded by one iteration of the same subject, so that no subject
    pays for the caches the previous one left cold; a fixed-size round is timed as it is."""
    import io

    def run(size: int | None) -> list[int]:
        calls: list[int] = []

        def timer(n: int) -> int:
            calls.append(n)
            return n * 1_000_000  # 1 ms per iteration

        case = compare.Case("probe", "probe", lambda: timer, None, "", size=size)
        result = compare.run_case(case, 2, 5_000_000, io.StringIO())
        assert result.blindpost is not None
        return calls

    assert run(None) == [1, 1, 6, 6] + [1, 6] * 2  # calibration (warm-up, 1, 6, 6), rounds
    assert run(4) == [4] + [4] * 2
