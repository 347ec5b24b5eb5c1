"""Spec §13 and ``spec/conformance.md``: the conformance runner and Blindpost's own adapter.

The runner starts another implementation's adapter as a subprocess and speaks JSON lines with
it over standard input and output: a ``hello``, then one ``verify`` request per test-vector
case, each answered on one line, then ``bye``. The adapter checks each case against its
implementation (the verification steps of ``spec/vectors.md``) and answers whether it holds;
the runner mixes in **canaries** — cases it corrupted on purpose (a valid case marked invalid,
an invalid case with another code) — which a checking adapter must refuse, so an adapter that
answers "ok" to everything fails. A crash, a hang (per-request timeout), or output that is not
the protocol is reported with the suite and case it happened at, never as a traceback.
"""

from __future__ import annotations

import contextlib
import json
import queue
import shlex
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .. import kat

__all__ = [
    "MAX_LINE",
    "PROTOCOL_VERSION",
    "CaseFailure",
    "Report",
    "SuiteReport",
    "adapter_main",
    "canaries",
    "render",
    "run_conformance",
]

#: ``spec/conformance.md`` §2: the version of the line protocol.
PROTOCOL_VERSION = 1
#: The longest line either side may write (a case is at most a few hundred KiB).
MAX_LINE = 4 * 1024 * 1024
#: Seconds an adapter may take to answer one request (``--timeout``).
DEFAULT_TIMEOUT = 30.0


# --- the adapter (Blindpost's own) -------------------------------------------------------------


def _answer_verify(suite: object, case: object) -> dict[str, Any]:
    if not isinstance(suite, str) or suite not in kat.SUITES or not isinstance(case, dict):
        return {"ok": False, "failure": "request: unknown suite or no case"}
    module = kat._module(suite)
    try:
        module.verify(case)
    except AssertionError as exc:
        return {"ok": False, "failure": str(exc) or "assertion failed"}
    except Exception as exc:  # the implementation broke on this case: a failure, reported
        return {"ok": False, "failure": f"{type(exc).__name__}: {exc}"}
    return {"ok": True}


def adapter_main(
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    verify: Callable[[object, object], dict[str, Any]] = _answer_verify,
) -> int:
    """``blindpost conformance-adapter``: answer the runner's requests with this package.

    ``verify`` is the seam the tests use to build deliberately broken adapters."""
    source, sink = stdin or sys.stdin, stdout or sys.stdout
    for line in source:
        try:
            request = json.loads(line)
        except ValueError:
            return 2
        if not isinstance(request, dict):
            return 2
        answer: dict[str, Any] = {"id": request.get("id")}
        op = request.get("op")
        if op == "hello":
            answer |= {"ok": True, "protocol": PROTOCOL_VERSION, "implementation":
                       "blindpost (Python reference)", "suites": list(kat.SUITES)}  # fmt: skip
        elif op == "verify":
            answer |= verify(request.get("suite"), request.get("case"))
        elif op == "bye":
            sink.write(json.dumps(answer | {"ok": True}) + "\n")
            sink.flush()
            return 0
        else:
            answer |= {"ok": False, "failure": f"unknown op {op!r}"}
        sink.write(json.dumps(answer) + "\n")
        sink.flush()
    return 0


# --- canaries ----------------------------------------------------------------------------------


def canaries(suite: str, cases: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``spec/conformance.md`` §4: corrupted copies of real cases that a checking adapter must
    refuse. For the first valid and the first invalid case of the suite: the case with its
    ``result`` or ``error`` changed, else with one hex digit of one of its byte fields changed —
    the first such corruption that this implementation refuses (so every conforming one does)."""
    out = []
    for wanted in ("valid", "invalid"):
        case = next((c for c in cases if c.get("result") == wanted), None)
        if case is None:
            continue
        for candidate in _corruptions(case):
            if not _answer_verify(suite, candidate)["ok"]:
                out.append(candidate | {"id": f"canary-{case['id']}"})
                break
    return out


def _corruptions(case: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if case.get("result") == "valid":
        yield case | {"result": "invalid", "error": "decode.type"} | (
            {"value": None} if "value" in case else {}
        )
    else:
        other = "auth.failed" if case.get("error") != "auth.failed" else "decode.type"
        yield case | {"error": other}
    for name in sorted(case):
        value = case[name]
        if name in ("id", "comment") or not _is_hex(value):
            continue
        flipped = value[:-1] + format(int(value[-1], 16) ^ 1, "x")
        yield case | {name: flipped}


def _is_hex(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) >= 2
        and len(value) % 2 == 0
        and all(c in "0123456789abcdef" for c in value)
    )


# --- the runner --------------------------------------------------------------------------------


@dataclass
class CaseFailure:
    suite: str
    case: str
    reason: str


@dataclass
class SuiteReport:
    suite: str
    passed: int = 0
    failed: int = 0
    canaries_refused: int = 0
    canaries: int = 0
    skipped: bool = False
    not_run: int = 0

    @property
    def ok(self) -> bool:
        return (
            self.skipped
            or (self.failed == 0 and self.not_run == 0 and self.canaries_refused == self.canaries)
        )


@dataclass
class Report:
    implementation: str = "?"
    suites: list[SuiteReport] = field(default_factory=list)
    failures: list[CaseFailure] = field(default_factory=list)
    fatal: str | None = None  # the adapter crashed, hung or spoke garbage

    @property
    def ok(self) -> bool:
        return self.fatal is None and all(s.ok for s in self.suites)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "implementation": self.implementation,
            "fatal": self.fatal,
            "suites": [s.__dict__ | {"ok": s.ok} for s in self.suites],
            "failures": [f.__dict__ for f in self.failures],
        }


class _AdapterGone(Exception):
    """The adapter stopped speaking the protocol; the message says how."""


class _Adapter:
    """The subprocess, its lines read by a thread into a queue (so a hang times out)."""

    def __init__(self, command: str, timeout: float) -> None:
        argv = shlex.split(command)
        if not argv:
            raise _AdapterGone("the adapter command is empty")
        try:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, bufsize=1,
            )  # fmt: skip
        except OSError as exc:
            raise _AdapterGone(f"cannot start the adapter: {exc}") from None
        self.timeout = timeout
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.next_id = 0

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            line = stdout.readline(MAX_LINE + 1)
            if not line:
                self.lines.put(None)
                return
            self.lines.put(line)

    def _drain_stderr(self) -> None:
        stderr = self.process.stderr
        assert stderr is not None
        for line in stderr:
            if len(self.stderr) < 20:
                self.stderr.append(line.rstrip()[:200])

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        request = {"id": self.next_id} | request
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise _AdapterGone(self._gone("the adapter closed its input")) from None
        try:
            line = self.lines.get(timeout=self.timeout)
        except queue.Empty:
            raise _AdapterGone(f"no answer within {self.timeout:g} s (the adapter hangs)") from None
        if line is None:
            raise _AdapterGone(self._gone("the adapter exited"))
        if len(line) > MAX_LINE or not line.endswith("\n"):
            raise _AdapterGone(f"an answer longer than {MAX_LINE} bytes or not a whole line")
        try:
            answer = json.loads(line)
        except ValueError:
            raise _AdapterGone(f"an answer that is not JSON: {line[:80]!r}") from None
        if not isinstance(answer, dict) or answer.get("id") != self.next_id:
            raise _AdapterGone(f"an answer to another request: {line[:80]!r}")
        if not isinstance(answer.get("ok"), bool):
            raise _AdapterGone(f"an answer without a boolean 'ok': {line[:80]!r}")
        return answer

    def _gone(self, what: str) -> str:
        status = self.process.poll()
        if status is None:
            try:
                status = self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                status = None
        tail = f"; its last error output: {self.stderr[-1]!r}" if self.stderr else ""
        return f"{what} (exit status {status}){tail}"

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(_AdapterGone):
                self.ask({"op": "bye"})
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def _documents(directory: Path, suites: Sequence[str]) -> Iterator[tuple[str, list[Any]]]:
    for name in suites:
        document = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
        problem = kat.check_suite_document(document, name)
        if problem is not None:
            raise ValueError(f"{name}: {problem}")
        yield name, document["cases"]


def run_conformance(
    command: str,
    *,
    vectors: Path,
    suites: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[str], None] = lambda _line: None,
) -> Report:
    """Run every case of ``suites`` (default: all) through the adapter ``command``."""
    report = Report()
    chosen = list(suites or kat.SUITES)
    try:
        adapter = _Adapter(command, timeout)
    except _AdapterGone as exc:
        report.fatal = str(exc)
        return report
    try:
        hello = adapter.ask({"op": "hello", "protocol": PROTOCOL_VERSION})
        supported = hello.get("suites")
        if not hello["ok"] or not isinstance(supported, list):
            raise _AdapterGone("the adapter refused the hello or named no suites")
        report.implementation = str(hello.get("implementation", "?"))[:200]
        for name, cases in _documents(vectors, chosen):
            suite = SuiteReport(name)
            report.suites.append(suite)
            if name not in supported:
                suite.skipped = True
                progress(f"{name}: skipped (the adapter does not support it)")
                continue
            extra = canaries(name, cases)
            suite.canaries = len(extra)
            todo = [(c, False) for c in cases] + [(c, True) for c in extra]
            for index, (case, canary) in enumerate(todo):
                try:
                    answer = adapter.ask({"op": "verify", "suite": name, "case": case})
                except _AdapterGone as exc:
                    suite.not_run = len(todo) - index
                    report.failures.append(CaseFailure(name, str(case.get("id")), str(exc)))
                    raise
                if canary:
                    if answer["ok"]:
                        report.failures.append(CaseFailure(
                            name, str(case["id"]),
                            "the adapter accepted a corrupted case: it does not check",
                        ))  # fmt: skip
                    else:
                        suite.canaries_refused += 1
                elif answer["ok"]:
                    suite.passed += 1
                else:
                    suite.failed += 1
                    reason = str(answer.get("failure", "failed"))[:500]
                    report.failures.append(CaseFailure(name, str(case["id"]), reason))
            progress(f"{name}: {suite.passed} passed, {suite.failed} failed")
    except _AdapterGone as exc:
        report.fatal = str(exc)
    finally:
        adapter.close()
    return report


def render(report: Report) -> list[str]:
    """The human-readable report: one line per suite, then each failure."""
    lines = [f"implementation: {report.implementation}"]
    for s in report.suites:
        if s.skipped:
            lines.append(f"{s.suite:12} skipped")
            continue
        status = "ok" if s.ok else "FAILED"
        not_run = f"  not run {s.not_run}" if s.not_run else ""
        lines.append(
            f"{s.suite:12} passed {s.passed:4}  failed {s.failed:4}  canaries refused "
            f"{s.canaries_refused}/{s.canaries}{not_run}  {status}"
        )
    if report.fatal:
        lines.append(f"adapter: {report.fatal}")
    for f in report.failures:
        lines.append(f"FAIL {f.suite}/{f.case}: {f.reason}")
    lines.append("conformance: " + ("PASSED" if report.ok else "FAILED"))
    return lines
