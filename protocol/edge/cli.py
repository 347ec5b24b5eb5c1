"""The ``blindpost`` command: the I/O edge of the package (spec/README.md).

``blindpost demo`` runs the most complete real flow that exists; ``blindpost vectors generate``
rewrites ``vectors/`` deterministically; ``blindpost vectors verify [--json]`` checks every suite
against this implementation and exits non-zero on any failure.

Errors of the environment are handled here, in :func:`main`, and nowhere else: a path that cannot
be read or written is one line on standard error naming it (exit status 2), a suite file that is
not a suite is a failed verification with the reason and its JSON path (exit status 1), and a
reader that closes standard output early (``blindpost demo | head -1``) ends the command quietly
(exit status 141, 128 + SIGPIPE, as the shell reports for a program killed by it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from .. import kat

__all__ = ["EXIT_BROKEN_PIPE", "EXIT_ENVIRONMENT", "EXIT_FAILED", "EXIT_OK", "main"]

DEFAULT_VECTORS_DIR = Path("vectors")

#: Exit statuses (also in ``blindpost --help``).
EXIT_OK: Final = 0
#: A vector failed verification (including a suite file that is not a suite).
EXIT_FAILED: Final = 1
#: Bad arguments (argparse's own status) or an environment error: a path that cannot be
#: created, read or written.
EXIT_ENVIRONMENT: Final = 2
#: Standard output was closed by its reader (128 + SIGPIPE).
EXIT_BROKEN_PIPE: Final = 141

_EPILOG = (
    f"exit status: {EXIT_OK} success; {EXIT_FAILED} a vector failed verification (a suite file "
    f"that is not a suite included); {EXIT_ENVIRONMENT} bad arguments, or a path that cannot be "
    f"created, read or written; {EXIT_BROKEN_PIPE} standard output closed early (broken pipe)."
)


def _suite_path(directory: Path, name: str) -> Path:
    return directory / f"{name}.json"


def render_suite(document: dict[str, Any]) -> str:
    """The exact text of a suite file: JSON indented by two spaces, keys in case order, newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _generate(directory: Path, only: Sequence[str] | None) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    for name in only or kat.SUITES:
        document = kat.generate_suite(name)
        _suite_path(directory, name).write_text(render_suite(document), encoding="utf-8")
        print(f"wrote {_suite_path(directory, name)} ({len(document['cases'])} cases)")
    return 0


def _verify(directory: Path, as_json: bool, only: Sequence[str] | None) -> int:
    report: dict[str, dict[str, int]] = {}
    failures: list[str] = []
    for name in only or kat.SUITES:
        path = _suite_path(directory, name)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            # ValueError: not UTF-8 or not JSON; RecursionError: nested deeper than the parser
            # goes. A suite file is untrusted input, so each is a failed verification.
            reason = "JSON nested too deeply" if isinstance(exc, RecursionError) else exc
            report[name] = {"valid": 0, "invalid": 0, "failed": 1}
            failures.append(f"{name}: cannot read {path}: {reason}")
            continue
        result = kat.verify_suite(document, expected=name)
        report[name] = {"valid": result.valid, "invalid": result.invalid, "failed": result.failed}
        for case_id, reason in result.failures:
            where = f"{name}: {path}" if case_id == "<document>" else f"{name}/{case_id}"
            failures.append(f"{where}: {reason}")
    if as_json:
        print(json.dumps({"suites": report}, indent=2))
    else:
        for name, counts in report.items():
            status = "ok" if counts["failed"] == 0 else "FAILED"
            print(
                f"{name:12} valid {counts['valid']:4}  invalid {counts['invalid']:4}  "
                f"failed {counts['failed']:4}  {status}"
            )
    for line in failures:
        print(line, file=sys.stderr)
    return 1 if failures else 0


def _demo(args: argparse.Namespace) -> int:
    """The demo's relay keeps its tables in SQLite (spec §10.9): in ``db`` when given, else in
    a temporary file removed at the end. The phones' numbers are checked first: one that does
    not normalise (spec §8.2) is one line naming the option and the code, and status 2."""
    import sqlite3
    import tempfile

    from ..blinding import normalize_phone_number
    from ..errors import ProtocolError
    from .demo import DEMO_COUNTRY, devices, document, run
    from .sqlite_store import SqliteStore

    db, as_json = args.db, args.json
    phones = {"alice_phone": args.alice_phone, "bob_phone": args.bob_phone}
    for option, value in (("--alice-phone", args.alice_phone), ("--bob-phone", args.bob_phone)):
        if value is None:
            continue
        try:
            normalize_phone_number(value, default_country=DEMO_COUNTRY)
        except ProtocolError as exc:
            print(f"blindpost demo: {option} {value!r}: not a phone number ({exc.code})",
                  file=sys.stderr)  # fmt: skip
            return EXIT_ENVIRONMENT
    try:
        devices(**phones)
    except ProtocolError as exc:
        print(f"blindpost demo: Alice and Bob need two different numbers ({exc.code})",
              file=sys.stderr)  # fmt: skip
        return EXIT_ENVIRONMENT
    with tempfile.TemporaryDirectory(prefix="blindpost-demo-") as scratch:
        path = db if db is not None else Path(scratch) / "relay.db"
        try:
            store = SqliteStore(path)
        except sqlite3.Error as exc:
            print(f"blindpost demo: {path}: cannot use as the relay's database: {exc}",
                  file=sys.stderr)  # fmt: skip
            return EXIT_ENVIRONMENT
        out = (lambda _line: None) if as_json else print
        relay_file = path if db is not None else None
        if args.network:  # the roles as processes on loopback ports (spec §14)
            store.close()
            from ..primitives import system_rng
            from .demo_network import RemoteServers

            try:
                with RemoteServers(path, system_rng) as servers:
                    view = run(out, relay_file=relay_file, servers=servers, **phones)
            except OSError as exc:  # a server that did not start or stopped answering
                print(f"blindpost demo --network: {exc}", file=sys.stderr)
                return EXIT_ENVIRONMENT
        else:
            with store:
                view = run(out, relay_store=store, relay_file=relay_file, **phones)
    if as_json:
        print(json.dumps(document(view), indent=1))
    return 0


def _conformance(args: argparse.Namespace) -> int:
    from .conformance import render, run_conformance

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        report = run_conformance(
            args.impl, vectors=args.dir, suites=args.suite, timeout=args.timeout,
            progress=progress,
        )  # fmt: skip
    except ValueError as exc:  # a suite file that is not a suite
        print(f"blindpost conformance: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(report.as_json(), indent=1))
    else:
        for line in render(report):
            print(line)
    return 0 if report.ok else EXIT_FAILED


def _serve(args: argparse.Namespace) -> int:
    import sqlite3

    from ..errors import UsageError
    from .serve import ServeOptions, serve

    try:
        relay_id = None if args.relay_id is None else bytes.fromhex(args.relay_id)
        if relay_id is not None and len(relay_id) != 32:
            raise ValueError("a relay id is 32 bytes")
        serve(ServeOptions(args.role, args.host, args.port, args.store, relay_id, args.schema))
    except (ValueError, UsageError, sqlite3.Error) as exc:
        detail = exc.detail if isinstance(exc, UsageError) else exc
        print(f"blindpost serve: {detail}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    except Exception as exc:  # the PostgreSQL driver's errors: psycopg.Error, PoolTimeout
        if type(exc).__module__.split(".")[0] not in ("psycopg", "psycopg_pool"):
            raise
        reason = " ".join(str(exc).split())[:300]
        print(f"blindpost serve: the PostgreSQL store: {reason}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    return 0


def _why_blind(block: int) -> int:
    import time

    from ..primitives import system_rng
    from ..why_blind import MAX_BLOCK, render, run

    if not 1 <= block <= MAX_BLOCK:
        print(f"blindpost why-blind: --block must be 1 to {MAX_BLOCK}", file=sys.stderr)
        return 2
    report = run(block=block, clock=time.perf_counter, rng=system_rng, now=int(time.time()))
    for line in render(report):
        print(line)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="blindpost", description=__doc__.split("\n")[0], epilog=_EPILOG
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="run a real flow end to end and show what servers saw"
    )
    demo.add_argument(
        "--db", type=Path, help="keep the relay's SQLite database here (default: a temporary file)"
    )
    demo.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document: the phones, the messages and every byte each server saw",
    )
    demo.add_argument(
        "--network",
        action="store_true",
        help="run the evaluator, directory and relay as server processes on loopback ports and "
        "carry every request over HTTP",
    )
    for name, default in (("alice", "+44 7700 900123"), ("bob", "+44 20 7946 0958")):
        demo.add_argument(
            f"--{name}-phone",
            metavar="NUMBER",
            help=f"{name.title()}'s phone number, international or UK national (default {default})",
        )
    conformance = commands.add_parser(
        "conformance", help="check another implementation against every suite (spec §13)"
    )
    conformance.add_argument("--impl", required=True, help="the adapter's command line")
    conformance.add_argument("--suite", action="append", choices=list(kat.SUITES))
    conformance.add_argument("--json", action="store_true", help="print the report as JSON")
    conformance.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    conformance.add_argument("--dir", type=Path, default=DEFAULT_VECTORS_DIR)
    commands.add_parser(
        "conformance-adapter", help="Blindpost's own adapter (JSON lines on stdin and stdout)"
    )
    serve = commands.add_parser("serve", help="run server roles over HTTP (spec §14)")
    serve.add_argument("--role", choices=("relay", "evaluator", "directory", "all"), default="all")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--store", default="memory", help="the relay's: memory, sqlite:PATH or postgresql://…"
    )
    serve.add_argument("--relay-id", help="the relay's 32-byte id in hex (default: random)")
    serve.add_argument(
        "--schema",
        default="blindpost",
        help="the PostgreSQL schema of a postgresql:// store (default: blindpost)",
    )
    why = commands.add_parser(
        "why-blind", help="show why phone numbers are blinded, not hashed (with timings)"
    )
    why.add_argument("--block", type=int, default=10**6, help="numbers to enumerate")
    vectors = commands.add_parser("vectors", help="generate or verify the test-vector suites")
    actions = vectors.add_subparsers(dest="action", required=True)
    generate = actions.add_parser("generate", help="rewrite the suites deterministically")
    verify = actions.add_parser("verify", help="check every suite; non-zero exit on failure")
    for action in (generate, verify):
        action.add_argument("--dir", type=Path, default=DEFAULT_VECTORS_DIR)
        action.add_argument(
            "--suite", action="append", choices=list(kat.SUITES), help="only this suite"
        )
    verify.add_argument("--json", action="store_true", help="print per-suite counts as JSON")
    return parser


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        return _demo(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "conformance":
        return _conformance(args)
    if args.command == "conformance-adapter":
        from .conformance import adapter_main

        return adapter_main()
    if args.command == "why-blind":
        return _why_blind(args.block)
    if args.action == "generate":
        return _generate(args.dir, args.suite)
    return _verify(args.dir, args.json, args.suite)


def _quiet_stdout() -> None:
    """Point standard output at the null device, so that the interpreter's last flush of the
    closed pipe raises nothing (the recipe of the Python documentation, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (captured in tests): nothing to flush
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``blindpost`` console script; returns the exit status.

    The one place where environment errors become a line on standard error and a status (see
    the module docstring): no traceback for a path that cannot be created, read or written, or
    for a reader that closed standard output.
    """
    args = _parser().parse_args(argv)
    command = " ".join(filter(None, (args.command, getattr(args, "action", None))))
    try:
        status = _run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"blindpost {command}: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
