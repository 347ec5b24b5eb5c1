"""Spec vectors.md: Blindpost's own known-answer test suites (``vectors/*.json``).

Each suite is a module in this package exposing ``SUITE`` (its name), ``generate()`` (the cases,
deterministically, from seeded randomness only) and ``verify(case)`` (raises
:class:`AssertionError` naming the mismatched field when this implementation disagrees with a
case). This module adds the file header, the registry, and the deterministic RNG used by every
generator. It performs no I/O: the CLI reads and writes the files.

A suite file is ``{"suite", "format_version", "generator", "cases": [...]}``; every case carries
``id``, ``comment``, ``flags``, ``result`` (``"valid"`` or ``"invalid"``) and ``error`` (the
expected error code for invalid cases, else ``null``). Byte strings are lowercase hex. A case
made of operations (``steps``, ``messages``, ``envelopes``) has the outcome of its last one
(:func:`check_outcome`, vectors.md §1.2).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Final

from ..primitives import Rng, hmac_sha256

__all__ = [
    "FORMAT_VERSION",
    "GENERATOR",
    "SUITES",
    "RecordingRng",
    "ReplayRng",
    "SeededRng",
    "SuiteResult",
    "check_outcome",
    "check_suite_document",
    "expect_error",
    "generate_suite",
    "replay_rng",
    "verify_suite",
]

FORMAT_VERSION: Final = 1
GENERATOR: Final = "blindpost-python"
#: Suite name → module under ``protocol.kat``; the order is the order of the layers.
SUITES: Final[dict[str, str]] = {
    "cbor": "cbor",
    "primitives": "primitives",
    "keys": "keys",
    "handshake": "handshake",
    "oprf": "oprf",
    "blinding": "blinding",
    "ratchet": "ratchet",
    "state": "state",
    "envelope": "envelope",
    "relay": "relay",
    "sms": "sms",
    "scenarios": "scenarios",
}

Case = dict[str, Any]


class SeededRng:
    """Spec vectors.md §1.3: the deterministic byte stream every generator draws from.

    Block ``i`` (from 0) is ``HMAC-SHA256(key=seed, "Blindpost-KAT-RNG" || u64be(i))``;
    the stream is the concatenation of the blocks and ``rng(n)`` returns its next ``n`` bytes.
    The seed of each suite is ``"blindpost-kat/" || suite name`` unless a case says otherwise, so
    another implementation can reproduce every random-looking input of a vector.
    """

    __slots__ = ("_block", "_buffer", "_seed")

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._block = 0
        self._buffer = b""

    def __call__(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._buffer += hmac_sha256(
                self._seed, b"Blindpost-KAT-RNG" + self._block.to_bytes(8, "big")
            )
            self._block += 1
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    @classmethod
    def for_suite(cls, suite: str, label: str = "") -> SeededRng:
        """The RNG of a suite (and optionally one named case within it)."""
        return cls(b"blindpost-kat/" + suite.encode() + (b"/" + label.encode() if label else b""))


def _module(name: str) -> Any:
    return importlib.import_module(f"{__name__}.{SUITES[name]}")


def generate_suite(name: str) -> dict[str, Any]:
    """The whole JSON document of one suite, header included."""
    cases: list[Case] = _module(name).generate()
    ids = [c["id"] for c in cases]
    if len(set(ids)) != len(ids):
        raise AssertionError(f"suite {name}: duplicate case ids")
    return {
        "suite": name,
        "format_version": FORMAT_VERSION,
        "generator": GENERATOR,
        "cases": cases,
    }


@dataclass
class SuiteResult:
    """Counts of one suite's verification; ``failures`` holds ``(case id, reason)``."""

    valid: int = 0
    invalid: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)


#: Spec vectors.md §1.2: the fields every case carries, with their JSON types.
_CASE_FIELDS: Final = (("id", str, "a string"), ("comment", str, "a string"))


def check_suite_document(document: object, expected: str | None = None) -> str | None:
    """Spec vectors.md §1.1–§1.2: the first problem of a suite document's shape, or ``None``.

    A suite file is untrusted input: before any case runs, this checks that the top level is an
    object with a known ``suite`` (equal to ``expected`` when given), the supported
    ``format_version``, a string ``generator`` and an array ``cases`` of objects, each with a
    unique string ``id``, a string ``comment``, ``flags`` an array of strings, ``result``
    ``"valid"`` or ``"invalid"``, and ``error`` a string for an invalid case and ``null`` for a
    valid one. The problem is reported with its JSON path, as in ``$.cases[3].id: expected a
    string``.
    """
    if type(document) is not dict:
        return "$: expected an object"
    name = document.get("suite")
    if type(name) is not str:
        return "$.suite: expected a string"
    if name not in SUITES:
        return f"$.suite: unknown suite {name!r}"
    if expected is not None and name != expected:
        return f"$.suite: expected {expected!r}, found {name!r}"
    version = document.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        return f"$.format_version: expected {FORMAT_VERSION}"
    if type(document.get("generator")) is not str:
        return "$.generator: expected a string"
    cases = document.get("cases")
    if type(cases) is not list:
        return "$.cases: expected an array"
    seen: set[str] = set()
    for i, case in enumerate(cases):
        where = f"$.cases[{i}]"
        if type(case) is not dict:
            return f"{where}: expected an object"
        for key, kind, what in _CASE_FIELDS:
            if type(case.get(key)) is not kind:
                return f"{where}.{key}: expected {what}"
        flags = case.get("flags")
        if type(flags) is not list or not all(type(f) is str for f in flags):
            return f"{where}.flags: expected an array of strings"
        result = case.get("result")
        if result not in ("valid", "invalid"):
            return f'{where}.result: expected "valid" or "invalid"'
        error = case.get("error")
        if result == "invalid" and type(error) is not str:
            return f"{where}.error: expected a string (the error code of an invalid case)"
        if result == "valid" and error is not None:
            return f"{where}.error: expected null for a valid case"
        if case["id"] in seen:
            return f"{where}.id: duplicate id {case['id']!r}"
        seen.add(case["id"])
    return None


def verify_suite(document: object, expected: str | None = None) -> SuiteResult:
    """Check every case of a suite document against this implementation.

    A document whose shape is wrong (:func:`check_suite_document`) is one failure, named
    ``<document>`` with the problem and its JSON path; no case runs.
    """
    result = SuiteResult()
    problem = check_suite_document(document, expected)
    if problem is not None:
        result.failures.append(("<document>", problem))
        return result
    assert type(document) is dict  # checked above
    module = _module(document["suite"])
    for case in document["cases"]:
        case_id = case["id"]
        if case.get("result") == "valid":
            result.valid += 1
        else:
            result.invalid += 1
        try:
            module.verify(case)
        except AssertionError as exc:
            result.failures.append((case_id, str(exc) or "assertion failed"))
        except Exception as exc:  # a verifier bug or an unexpected error: a failure, not a crash
            result.failures.append((case_id, f"{type(exc).__name__}: {exc}"))
    return result


def _entry_outcome(entry: object, where: str) -> tuple[str, str | None]:
    if type(entry) is not dict:
        raise AssertionError(f"{where}: expected an object")
    error = entry.get("error")
    if error is not None and type(error) is not str:
        raise AssertionError(f"{where}.error: expected a string or null")
    if "result" not in entry:  # no outcome of its own: the error says it (ratchet steps)
        return ("invalid", error) if error is not None else ("valid", None)
    result = entry["result"]
    if result == "valid" and error is None:
        return "valid", None
    if result == "invalid" and error is not None:
        return "invalid", error
    raise AssertionError(
        f'{where}.result/error: "invalid" with a code, or "valid" with null; got {result!r}, '
        f"{error!r}"
    )


def check_outcome(case: Case, entries: object, name: str = "steps") -> None:
    """Spec vectors.md §1.2 (operations and the case): the case's ``result`` and ``error`` are
    the outcome of its **last** operation.

    ``entries`` is the case's list of operations (``steps``, ``messages`` or ``envelopes``).
    An entry with a ``result`` has an outcome like a case's (``error`` a code exactly when
    ``result`` is ``"invalid"``); one without (ratchet steps) fails exactly when its ``error``
    is a code. Entries before the last may fail (each changes nothing and the case goes on).
    Raises :class:`AssertionError` naming the field when the case breaks the rule.
    """
    if type(entries) is not list or not entries:
        raise AssertionError(f"{name}: expected a non-empty array")
    outcomes = [_entry_outcome(e, f"{name}[{i}]") for i, e in enumerate(entries)]
    last = outcomes[-1]
    if (case.get("result"), case.get("error")) != last:
        raise AssertionError(
            f"result/error: the case says {case.get('result')}/{case.get('error')}, its last "
            f"operation ({name}[{len(entries) - 1}]) {last[0]}/{last[1]}"
        )


def expect_error(case: Case, action: Any) -> None:
    """Run ``action()`` for an invalid case and check it raises the case's expected code."""
    from ..errors import ProtocolError

    try:
        action()
    except ProtocolError as exc:
        if exc.code != case["error"]:
            raise AssertionError(f"error: expected {case['error']}, got {exc.code}") from None
        return
    raise AssertionError(f"error: expected {case['error']}, got success")


class RecordingRng:
    """An rng that hands out another rng's bytes and remembers each draw (``drawn``).

    Generators record what the protocol drew, so a case lists every random input and a
    verifier can replay it with :class:`ReplayRng`.
    """

    __slots__ = ("_source", "drawn")

    def __init__(self, source: Rng) -> None:
        self._source = source
        self.drawn: list[bytes] = []

    def __call__(self, n: int) -> bytes:
        out = self._source(n)
        self.drawn.append(out)
        return out


class ReplayRng:
    """An rng that hands out exactly the recorded draws, in order (to regenerate a case).

    Asking for a size other than the next draw's, or for more draws than were recorded, is a
    mismatch: the implementation draws its randomness in another order than the vectors say.
    """

    __slots__ = ("_values",)

    def __init__(self, values: list[bytes]) -> None:
        self._values = list(values)

    def __call__(self, n: int) -> bytes:
        if not self._values or len(self._values[0]) != n:
            raise AssertionError("rng: the implementation drew an unexpected number of bytes")
        return self._values.pop(0)

    @property
    def exhausted(self) -> bool:
        return not self._values

    @property
    def remaining(self) -> int:
        """How many recorded draws are left (a failed operation must leave it unchanged)."""
        return len(self._values)


def replay_rng(*chunks: bytes) -> Rng:
    """A :class:`ReplayRng` of ``chunks``."""
    return ReplayRng(list(chunks))
