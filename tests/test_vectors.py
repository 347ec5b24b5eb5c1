"""Our published vectors: they verify, regenerate byte for byte, and match the spec's CDDL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pycddl
import pytest

from protocol import kat
from protocol.edge.cli import main, render_suite
from protocol.errors import CODES
from tests.external import REPO

VECTORS = REPO / "vectors"
CDDL = (REPO / "spec" / "wire.cddl").read_text(encoding="utf-8")


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize("name", list(kat.SUITES))
def test_published_suite_verifies(name: str) -> None:
    result = kat.verify_suite(_load(name))
    assert result.failures == []
    assert result.valid > 0 and result.invalid > 0


@pytest.mark.parametrize("name", list(kat.SUITES))
def test_generation_is_deterministic_and_matches_the_published_file(name: str) -> None:
    expected = (VECTORS / f"{name}.json").read_text(encoding="utf-8")
    assert render_suite(kat.generate_suite(name)) == expected, (
        f"vectors/{name}.json is stale or generation is not deterministic: "
        "run `blindpost vectors generate` and review the diff"
    )


@pytest.mark.parametrize("name", list(kat.SUITES))
def test_case_shape(name: str) -> None:
    document = _load(name)
    assert set(document) >= {"suite", "format_version", "generator", "cases"}
    for case in document["cases"]:
        assert {"id", "comment", "flags", "result", "error"} <= set(case), case.get("id")
        assert case["result"] in ("valid", "invalid"), case["id"]
        if case["result"] == "invalid":
            assert case["error"] in CODES, case["id"]
        else:
            assert case["error"] is None, case["id"]


def _cddl_checks() -> list[tuple[str, str, str, str]]:
    checks = []
    for name in kat.SUITES:
        for case in _load(name)["cases"]:
            for field, rule in (case.get("cddl") or {}).items():
                checks.append((f"{name}/{case['id']}/{field}", rule, case[field], case["result"]))
            # scenarios: every request and response a server role exchanged (vectors.md §13)
            for i, step in enumerate(case.get("steps") or []):
                for j, exchange in enumerate(step.get("exchanges") or []):
                    for field, rule in (exchange.get("cddl") or {}).items():
                        where = f"{name}/{case['id']}/steps[{i}].exchanges[{j}].{field}"
                        checks.append((where, rule, exchange[field], "valid"))
    return checks


def test_every_scenario_exchange_names_its_cddl_rules() -> None:
    for case in _load("scenarios")["cases"]:
        for step in case["steps"]:
            for exchange in step.get("exchanges", []):
                names = set(exchange["cddl"])
                assert ("request" in names) == (exchange["request"] != ""), exchange["op"]
                has_response = exchange["response"] not in (None, "")
                assert ("response" in names) == has_response, exchange["op"]


@pytest.mark.parametrize(("where", "rule", "hex_value", "result"), _cddl_checks())
def test_cbor_in_vectors_matches_the_cddl(
    where: str, rule: str, hex_value: str, result: str
) -> None:
    schema = pycddl.Schema(f"blindpost-root = {rule}\n{CDDL}")
    data = bytes.fromhex(hex_value)
    if result == "valid":
        schema.validate_cbor(data)
    else:
        with pytest.raises(pycddl.ValidationError):
            schema.validate_cbor(data)


def test_every_suite_with_cbor_names_cddl_rules() -> None:
    assert _cddl_checks(), "no CBOR value in the vectors is checked against the CDDL"


def test_cli_generate_then_verify_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vectors", "generate", "--dir", str(tmp_path)]) == 0
    for name in kat.SUITES:
        assert (tmp_path / f"{name}.json").read_text() == (VECTORS / f"{name}.json").read_text()
    capsys.readouterr()
    assert main(["vectors", "verify", "--dir", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["suites"]) == set(kat.SUITES)
    for counts in report["suites"].values():
        assert counts["failed"] == 0 and counts["valid"] > 0


def test_cli_verify_fails_on_a_tampered_case(tmp_path: Path) -> None:
    main(["vectors", "generate", "--dir", str(tmp_path)])
    path = tmp_path / "primitives.json"
    document = json.loads(path.read_text())
    case = next(c for c in document["cases"] if c["result"] == "valid")
    last = next(k for k in reversed(case) if isinstance(case[k], str) and len(case[k]) >= 2)
    case[last] = ("00" if case[last][:2] != "00" else "01") + case[last][2:]
    path.write_text(json.dumps(document))
    assert main(["vectors", "verify", "--dir", str(tmp_path), "--json"]) == 1


def _operations(case: dict[str, Any]) -> str | None:
    for key in ("steps", "messages", "envelopes"):
        value = case.get(key)
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return key
    return None


@pytest.mark.parametrize(
    "name", ["blinding", "handshake", "ratchet", "envelope", "relay", "sms", "scenarios"]
)
def test_a_case_whose_outcome_is_not_its_last_operations_is_refused(name: str) -> None:
    """vectors.md §1.2: the case's result and error are those of its last operation; the
    reference verifiers refuse a case that says otherwise, before running it."""
    module = kat._module(name)
    checked = 0
    for case in _load(name)["cases"]:
        if _operations(case) is None:
            continue
        for other in ({"result": "valid", "error": None},
                      {"result": "invalid", "error": "state.replay"},
                      {"result": "invalid", "error": None}):  # fmt: skip
            if (other["result"], other["error"]) == (case["result"], case["error"]):
                continue
            with pytest.raises(AssertionError):
                module.verify(case | other)
            checked += 1
    assert checked > 0


def test_operations_before_the_last_may_fail() -> None:
    """vectors.md §1.2: a valid case whose earlier step fails (each changing nothing) holds."""
    cases = [c for c in _load("sms")["cases"] if c["result"] == "valid" and _operations(c)
             and any(s.get("result") == "invalid" for s in c[_operations(c) or ""])]  # fmt: skip
    assert cases
    for case in cases:
        kat._module("sms").verify(case)
