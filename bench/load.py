"""Load and fault test of the relay as a network service (spec §14, issue 17).

Starts ``--relays`` relay processes (``blindpost serve --role relay``) on loopback ports, all on
one PostgreSQL schema created for the run (``BLINDPOST_POSTGRES_DSN``), and ``--clients``
concurrent clients that together run ``--cycles`` deposit → fetch → ack cycles. Each client owns
conversation mailboxes (§10.5) and deposits into them with its deposit capability; each request
goes to the next relay process in turn, so every mailbox is served by all of them at once. It
reports throughput and p50/p99 latency per operation, and checks:

- **nothing lost**: every deposit answered 200 is delivered to its mailbox's owner (a last fetch
  drains what remains);
- **nothing duplicated**: no envelope is delivered again after its acknowledgement succeeded, and
  no mailbox receives an envelope it was not sent;
- the database holds no envelope at the end.

With ``--kill`` one relay process is killed with SIGKILL after a third of the cycles; clients
retry a failed request on the next process (deposits are idempotent, owner operations carry a
fresh proof each time), and the checks above must still hold.

Loopback only, bounded in count and time (``--timeout``), stops by itself: every process it
started is killed and the schema dropped on the way out. ``make test`` runs a short version
(tests/test_load.py); the full run's figures are in README.md.

    python bench/load.py                      # 2 relays, 50 clients, 20,000 cycles
    python bench/load.py --kill               # the same, one relay killed mid-run
    python bench/load.py --quick --markdown   # a short run, figures as a Markdown table
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from protocol.edge.http import MEDIA_TYPE, read_error  # noqa: E402
from protocol.envelope import ConversationMailbox, Envelope, envelope_id  # noqa: E402
from protocol.primitives import system_rng  # noqa: E402
from protocol.relay import (  # noqa: E402
    ACK_OP,
    FETCH_OP,
    KIND_CONVERSATION,
    OPEN_OP,
    AckBody,
    AckResponse,
    Deposit,
    DepositResponse,
    FetchBody,
    FetchResponse,
    OpenBody,
    owner_request,
    sign_deposit,
)

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
#: Cycles a client runs on one mailbox before it opens another: each cycle spends two owner
#: proofs, and a mailbox accepts 1,024 within the proof window (§10.1).
CYCLES_PER_MAILBOX = 300
#: The body of every envelope: the smallest padded size (§9.3).
BODY_SIZE = 256
TTL = 3600
#: Attempts of one request before the run gives up (one per relay process, then again).
ATTEMPTS = 8
OPS = ("deposit", "fetch", "ack")
#: Seconds a relay process that failed a request is skipped by every client.
DOWN_FOR = 2.0
#: Relay process → until when it is skipped (one event loop: no lock needed).
DOWN: dict[str, float] = {}


class LoadError(Exception):
    """The run could not be made (no database, a relay that did not start, a timeout)."""


@dataclass
class Report:
    relays: int
    clients: int
    cycles: int
    killed: bool
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPS})
    retries: int = 0
    deposits_acknowledged: int = 0
    delivered: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    left_in_database: int = 0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.foreign or self.left_in_database)

    def summary(self) -> dict[str, Any]:
        def ms(values: list[float], q: float) -> float:
            if not values:
                return 0.0
            ordered = sorted(values)
            return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

        return {
            "relays": self.relays,
            "clients": self.clients,
            "cycles": self.cycles,
            "killed_one_relay": self.killed,
            "seconds": round(self.seconds, 1),
            "cycles_per_second": round(self.cycles / self.seconds, 1) if self.seconds else 0.0,
            "latency_ms": {
                op: {"p50": ms(v, 0.50), "p99": ms(v, 0.99), "n": len(v)}
                for op, v in self.latencies.items()
            },
            "retries": self.retries,
            "deposits_acknowledged": self.deposits_acknowledged,
            "delivered": self.delivered,
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "foreign": len(self.foreign),
            "left_in_database": self.left_in_database,
            "ok": self.ok,
        }


# --- relay processes ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class RelayProcess:
    process: subprocess.Popen[bytes]
    base: str


@contextmanager
def relay_processes(
    count: int, dsn: str, schema: str, relay_id: bytes, deadline: float
) -> Iterator[list[RelayProcess]]:
    """``count`` relay processes on one schema; all killed on the way out."""
    started: list[RelayProcess] = []
    try:
        for _ in range(count):
            port = _free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "protocol.edge.cli", "serve", "--role", "relay",
                 "--host", "127.0.0.1", "--port", str(port), "--store", dsn,
                 "--schema", schema, "--relay-id", relay_id.hex()],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            started.append(RelayProcess(process, f"http://127.0.0.1:{port}"))
        for relay in started:
            while True:
                try:
                    if httpx.get(f"{relay.base}/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if relay.process.poll() is not None or time.monotonic() > deadline:
                    error = relay.process.stderr.read().decode() if relay.process.stderr else ""
                    raise LoadError(f"a relay process did not start: {error.strip()[-300:]}")
                time.sleep(0.1)
        yield started
    finally:
        for relay in started:
            if relay.process.poll() is None:
                relay.process.send_signal(signal.SIGTERM)
        for relay in started:
            try:
                relay.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                relay.process.kill()
                relay.process.wait(timeout=5)


# --- clients ------------------------------------------------------------------------------------


class Client:
    """One client: its mailboxes, what it was told was deposited, what it received and acked."""

    def __init__(self, index: int, http: httpx.AsyncClient, bases: list[str], relay_id: bytes,
                 report: Report, progress: Progress) -> None:  # fmt: skip
        self.index = index
        self.http = http
        self.bases = bases
        self.next_base = index % len(bases)
        self.relay_id = relay_id
        self.report = report
        self.progress = progress
        self.deposited: dict[bytes, bytes] = {}  # envelope id → mailbox, once answered 200
        self.delivered: set[bytes] = set()
        self.acked: set[bytes] = set()
        self.mailboxes: list[ConversationMailbox] = []

    def _next_base(self) -> str:
        """The next relay process in turn, skipping those that failed a moment ago (unless all
        did)."""
        now = time.monotonic()
        for _ in range(len(self.bases)):
            base = self.bases[self.next_base]
            self.next_base = (self.next_base + 1) % len(self.bases)
            if DOWN.get(base, 0.0) <= now:
                return base
        return base

    async def _post(self, path: str, body: bytes, op: str | None) -> bytes:
        """POST to the next relay process; a process that fails (refused, reset, timed out) is
        skipped and the request sent to the next. A refusal with a code is raised."""
        last = ""
        for _attempt in range(ATTEMPTS):
            base = self._next_base()
            started = time.perf_counter()
            try:
                response = await self.http.post(
                    f"{base}{path}", content=body, headers={"content-type": MEDIA_TYPE}
                )
            except httpx.HTTPError as error:
                last = f"{type(error).__name__}"
                self.report.retries += 1
                DOWN[base] = time.monotonic() + DOWN_FOR  # skipped by every client for a while
                continue
            if response.status_code == 200:
                if op is not None:
                    self.report.latencies[op].append(time.perf_counter() - started)
                return response.content
            raise LoadError(f"{path}: HTTP {response.status_code} {read_error(response.content)}")
        raise LoadError(f"{path}: every relay process failed ({last})")

    async def _owner(self, mailbox: ConversationMailbox, op: int, body: object,
                     name: str | None) -> bytes:  # fmt: skip
        # a fresh proof for every attempt: a proof a dead process consumed is not retried
        last: Exception | None = None
        for _attempt in range(2):
            request = owner_request(
                mailbox.owner_secret, relay_id=self.relay_id, op=op, body=body,  # type: ignore[arg-type]
                time=int(time.time()), rng=system_rng,
            )  # fmt: skip
            try:
                return await self._post("/v1/relay/owner", request, name)
            except LoadError as error:
                last = error
        assert last is not None
        raise last

    async def open_mailbox(self) -> ConversationMailbox:
        mailbox = ConversationMailbox.generate(system_rng)
        body = OpenBody(KIND_CONVERSATION, deposit_key=mailbox.deposit_public_key)
        await self._owner(mailbox, OPEN_OP, body, None)
        self.mailboxes.append(mailbox)
        return mailbox

    async def deposit(self, mailbox: ConversationMailbox) -> None:
        envelope = Envelope(mailbox.mailbox_id, TTL, os.urandom(BODY_SIZE)).to_bytes()
        identifier = envelope_id(envelope)
        now = int(time.time())
        signature = sign_deposit(mailbox.grant(1).deposit_key, relay_id=self.relay_id,
                                 address=mailbox.mailbox_id, envelope_id=identifier,
                                 time=now)  # fmt: skip
        request = Deposit(envelope, time=now, signature=signature).to_bytes()
        answered = await self._post("/v1/relay/deposit", request, "deposit")
        answer = DepositResponse.from_bytes(answered)
        if answer.id != identifier:
            raise LoadError("a deposit answered another envelope id")
        self.deposited[identifier] = mailbox.mailbox_id

    async def fetch_and_ack(self, mailbox: ConversationMailbox) -> int:
        fetched = FetchResponse.from_bytes(
            await self._owner(mailbox, FETCH_OP, FetchBody(100), "fetch")
        ).envelopes
        ids = []
        for held in fetched:
            if held.id in self.acked:
                self.report.duplicated.append(held.id.hex())
            if self.deposited.get(held.id, mailbox.mailbox_id) != mailbox.mailbox_id:
                self.report.foreign.append(held.id.hex())
            if Envelope.from_bytes(held.envelope).address != mailbox.mailbox_id:
                self.report.foreign.append(held.id.hex())
            self.delivered.add(held.id)
            ids.append(held.id)
        if ids:
            answer = AckResponse.from_bytes(
                await self._owner(mailbox, ACK_OP, AckBody(tuple(ids)), "ack")
            )
            if answer.deleted > len(ids):
                raise LoadError("an ack deleted more than it named")
            self.acked.update(ids)
        return len(ids)

    async def run(self, cycles: int, kill_at: asyncio.Event | None) -> None:
        mailbox = await self.open_mailbox()
        for cycle in range(cycles):
            if cycle and cycle % CYCLES_PER_MAILBOX == 0:
                await self.drain(mailbox)
                mailbox = await self.open_mailbox()
            await self.deposit(mailbox)
            await self.fetch_and_ack(mailbox)
            self.progress.advance()
        await self.drain(mailbox)

    async def drain(self, mailbox: ConversationMailbox) -> None:
        while await self.fetch_and_ack(mailbox):
            pass


class Progress:
    """A progress bar on standard error (when it is a terminal, or when asked)."""

    def __init__(self, total: int, show: bool) -> None:
        self.total, self.done, self.show = total, 0, show
        self.started = time.monotonic()
        self.drawn = 0.0
        self.milestones: list[tuple[int, asyncio.Event]] = []

    def at(self, count: int) -> asyncio.Event:
        event = asyncio.Event()
        self.milestones.append((count, event))
        return event

    def advance(self) -> None:
        self.done += 1
        for count, event in self.milestones:
            if self.done >= count:
                event.set()
        now = time.monotonic()
        if self.show and (now - self.drawn > 0.1 or self.done == self.total):
            self.drawn = now
            width = 30
            filled = width * self.done // self.total
            rate = self.done / max(now - self.started, 1e-9)
            sys.stderr.write(
                f"\r  [{'#' * filled}{'.' * (width - filled)}] {self.done:,}/{self.total:,} "
                f"cycles  {rate:,.0f}/s"
            )
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


# --- the run ------------------------------------------------------------------------------------


def _schema_rows(dsn: str, schema: str) -> int:
    import psycopg

    with psycopg.connect(dsn, connect_timeout=5) as conn:
        row = conn.execute(f"SELECT count(*) FROM {schema}.envelope").fetchone()
    return int(row[0]) if row else 0


def _drop(dsn: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def run_load(*, relays: int = 2, clients: int = 50, cycles: int = 20_000, kill: bool = False,
             dsn: str | None = None, timeout: float = 900.0,
             progress: bool = False) -> Report:  # fmt: skip
    """One run; raises :class:`LoadError` if it cannot be made or exceeds ``timeout``."""
    import psycopg

    dsn = dsn or os.environ.get("BLINDPOST_POSTGRES_DSN", DEFAULT_DSN)
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        raise LoadError(f"PostgreSQL not reachable at {dsn}: {error}") from None
    if kill and relays < 2:
        raise LoadError("--kill needs at least two relay processes")
    schema = f"load_{secrets.token_hex(4)}"
    relay_id = os.urandom(32)
    deadline = time.monotonic() + timeout
    report = Report(relays, clients, cycles, kill)
    try:
        with relay_processes(relays, dsn, schema, relay_id, deadline) as processes:
            bar = Progress(cycles, progress)
            shares = [cycles // clients + (i < cycles % clients) for i in range(clients)]

            async def main() -> list[Client]:
                limits = httpx.Limits(max_connections=clients * 2)
                async with httpx.AsyncClient(timeout=10.0, limits=limits) as http:
                    bases = [p.base for p in processes]
                    team = [Client(i, http, bases, relay_id, report, bar) for i in range(clients)]
                    tasks = [
                        asyncio.create_task(c.run(n, None))
                        for c, n in zip(team, shares, strict=True)
                    ]
                    if kill:
                        milestone = bar.at(cycles // 3)

                        async def killer() -> None:
                            await milestone.wait()
                            processes[0].process.send_signal(signal.SIGKILL)

                        tasks.append(asyncio.create_task(killer()))
                    started = time.perf_counter()
                    try:
                        await asyncio.wait_for(asyncio.gather(*tasks),
                                               max(1.0, deadline - time.monotonic()))  # fmt: skip
                    except TimeoutError:
                        raise LoadError(f"the run exceeded {timeout:.0f} s") from None
                    report.seconds = time.perf_counter() - started
                    return team

            team = asyncio.run(main())
        for client in team:
            report.deposits_acknowledged += len(client.deposited)
            report.delivered += len(client.delivered)
            report.lost += [i.hex() for i in client.deposited if i not in client.delivered]
        report.left_in_database = _schema_rows(dsn, schema)
    finally:
        _drop(dsn, schema)
    return report


def _markdown(summaries: list[dict[str, Any]]) -> str:
    lines = [
        "| run | relays | clients | cycles | cycles/s | deposit p50 / p99 ms | fetch p50 / p99 ms "
        "| ack p50 / p99 ms | retries | lost | duplicated |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        lat = s["latency_ms"]
        lines.append(
            f"| {'one relay killed' if s['killed_one_relay'] else 'steady'} | {s['relays']} | "
            f"{s['clients']} | {s['cycles']:,} | {s['cycles_per_second']:,} | "
            + " | ".join(f"{lat[op]['p50']} / {lat[op]['p99']}" for op in OPS)
            + f" | {s['retries']} | {s['lost']} | {s['duplicated']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--relays", type=int, default=2)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=20_000)
    parser.add_argument("--kill", action="store_true", help="kill one relay with SIGKILL mid-run")
    parser.add_argument("--both", action="store_true", help="a steady run, then a --kill run")
    parser.add_argument("--quick", action="store_true", help="8 clients, 400 cycles")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--json", action="store_true", help="the summaries as JSON")
    parser.add_argument("--markdown", action="store_true", help="the summaries as a table")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.cycles = 8, 400
    if not (1 <= args.relays <= 8 and 1 <= args.clients <= 500 and 1 <= args.cycles <= 10**6):
        parser.error("relays 1–8, clients 1–500, cycles 1–1,000,000")
    runs = [False, True] if args.both else [args.kill]
    summaries = []
    for kill in runs:
        print(f"load: {args.relays} relays, {args.clients} clients, {args.cycles:,} cycles"
              + (", one relay killed after a third" if kill else ""), file=sys.stderr)  # fmt: skip
        try:
            report = run_load(relays=args.relays, clients=args.clients, cycles=args.cycles,
                              kill=kill, timeout=args.timeout,
                              progress=sys.stderr.isatty())  # fmt: skip
        except LoadError as error:
            print(f"load: {error}", file=sys.stderr)
            return 2
        summaries.append(report.summary())
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    header = f"{time.strftime('%Y-%m-%d')} — {machine} — Python {platform.python_version()}"
    if args.json:
        print(json.dumps({"when": header, "runs": summaries}, indent=2))
    elif args.markdown:
        print(header + "\n\n" + _markdown(summaries))
    else:
        print(header)
        for s in summaries:
            print(json.dumps(s))
    return 0 if all(s["ok"] for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["LoadError", "Report", "main", "run_load"]
