"""Spec §13, ``spec/conformance.md``: the conformance runner passes Blindpost's own adapter on
every suite and fails, naming the suite and the case, against adapters broken on purpose —
wrong bytes, wrong error code, a crash, a hang, garbage output, an adapter that checks nothing.
Never a traceback; the adapter process is always reaped."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from protocol import kat
from protocol.edge.cli import EXIT_FAILED, main
from protocol.edge.conformance import _answer_verify, canaries, run_conformance
from tests.external import REPO

VECTORS = REPO / "vectors"

BROKEN = '''
import sys, time
from protocol.edge.conformance import adapter_main, _answer_verify

KIND = sys.argv[1]
seen = 0


def flip(text):
    return text[:-1] + format(int(text[-1], 16) ^ 1, "x")


def verify(suite, case):
    global seen
    seen += 1
    print("adapter log line", file=sys.stderr, flush=True)  # stderr is not the protocol
    if KIND == "liar":
        return {"ok": True}
    if seen == 7:
        if KIND == "crash":
            sys.exit(3)
        if KIND == "hang":
            time.sleep(60)
        if KIND == "garbage":
            print("this is not JSON", flush=True)
            time.sleep(60)
        if KIND == "other-id":
            print('{"id": 999999, "ok": true}', flush=True)
            time.sleep(60)
    if isinstance(case, dict) and not str(case.get("id")).startswith("canary"):
        if KIND == "wrong-bytes" and case.get("result") == "valid" and seen % 10 == 3:
            case = case | {"encoded": flip(case["encoded"])}  # it encodes differently
        if KIND == "wrong-code" and case.get("result") == "invalid" and seen % 10 == 4:
            code = "decode.tag" if case["error"] != "decode.tag" else "decode.float"
            case = case | {"error": code}  # it raises another code than the vector's
    return _answer_verify(suite, case)


sys.exit(adapter_main(verify=verify))
'''


def _broken(tmp_path: Path, kind: str) -> str:
    script = tmp_path / "broken_adapter.py"
    script.write_text(BROKEN, encoding="utf-8")
    return f"{sys.executable} {script} {kind}"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(["conformance", "--dir", str(VECTORS), *argv])
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert "Traceback" not in out
    return status, out


def test_the_built_in_adapter_passes_every_suite(capsys: pytest.CaptureFixture[str]) -> None:
    command = f"{sys.executable} -m protocol.edge.cli conformance-adapter"
    status, out = _run(capsys, "--impl", command, "--json")
    document = json.loads(out[: out.rindex("}") + 1])
    assert status == 0 and document["ok"] and document["failures"] == []
    assert [s["suite"] for s in document["suites"]] == list(kat.SUITES)
    for suite in document["suites"]:
        assert suite["failed"] == 0 and suite["passed"] > 0 and not suite["skipped"]
        assert suite["canaries"] >= 1 and suite["canaries_refused"] == suite["canaries"]


@pytest.mark.parametrize("kind", ["wrong-bytes", "wrong-code"])
def test_a_wrong_implementation_fails_naming_suite_and_case(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = _run(capsys, "--impl", _broken(tmp_path, kind), "--suite", "cbor")
    assert status == EXIT_FAILED
    failures = [line for line in out.splitlines() if line.startswith("FAIL cbor/")]
    assert failures, out
    field = "error:" if kind == "wrong-code" else ("value:", "result:", "encoded:")
    assert any(any(f in line for f in (field if isinstance(field, tuple) else (field,)))
               for line in failures), failures  # fmt: skip
    assert "conformance: FAILED" in out


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("crash", "exited (exit status 3)"),
        ("hang", "no answer within 2 s"),
        ("garbage", "not JSON"),
        ("other-id", "another request"),
    ],
)
def test_a_broken_adapter_is_reported_not_a_traceback(
    kind: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = _run(
        capsys, "--impl", _broken(tmp_path, kind), "--suite", "cbor", "--timeout", "2"
    )
    assert status == EXIT_FAILED
    assert says in out, out
    # the case it happened at is named (the adapter saw it 7th: the hello is not a case)
    cbor = json.loads((VECTORS / "cbor.json").read_text(encoding="utf-8"))["cases"]
    assert f"FAIL cbor/{cbor[6]['id']}:" in out


def test_an_adapter_that_checks_nothing_fails_on_the_canaries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = _run(capsys, "--impl", _broken(tmp_path, "liar"), "--suite", "cbor")
    assert status == EXIT_FAILED
    assert "FAIL cbor/canary-" in out and "does not check" in out


def test_an_adapter_that_does_not_start(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = _run(capsys, "--impl", "/nonexistent/adapter --flag", "--suite", "cbor")
    assert status == EXIT_FAILED and "cannot start" in out


def test_an_adapter_without_a_suite_is_skipped_not_failed(tmp_path: Path) -> None:
    script = tmp_path / "partial.py"
    script.write_text(
        "import json, sys\n"
        "for line in sys.stdin:\n"
        "    r = json.loads(line)\n"
        "    a = {'id': r['id'], 'ok': True, 'suites': ['cbor']}\n"
        "    if r['op'] == 'verify':\n"
        "        from protocol.edge.conformance import _answer_verify\n"
        "        a = {'id': r['id']} | _answer_verify(r['suite'], r['case'])\n"
        "    print(json.dumps(a), flush=True)\n"
        "    if r['op'] == 'bye':\n"
        "        break\n",
        encoding="utf-8",
    )
    report = run_conformance(
        f"{sys.executable} {script}", vectors=VECTORS, suites=["cbor", "sms"], timeout=10
    )
    assert report.ok
    assert [(s.suite, s.skipped) for s in report.suites] == [("cbor", False), ("sms", True)]


@pytest.mark.parametrize("suite", list(kat.SUITES))
def test_every_canary_is_refused_by_the_reference(suite: str) -> None:
    cases = json.loads((VECTORS / f"{suite}.json").read_text(encoding="utf-8"))["cases"]
    made = canaries(suite, cases)
    assert made, f"no canary for {suite}"
    for case in made:
        assert case["id"].startswith("canary-")
        assert not _answer_verify(suite, case)["ok"]
