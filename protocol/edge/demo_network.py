"""``blindpost demo --network``: the demo's three server roles as ``blindpost serve`` processes on
loopback ports the demo picks (spec §14), the phones' requests carried over HTTP.

:class:`RemoteServers` starts an evaluator, a directory and a relay (on an SQLite file) and
stops them on exit. The demo records what it sends to each, byte for byte — what each process
received — and reads what the relay stored from its database file (SQLite lets a second
connection read while the server writes). Two things a network client cannot do are said as
such: the evaluator's rate-limit count stays on its server, and the expiry step, which needs the
relay's clock a day ahead, stops the relay process and runs its maintenance on its database at
that time.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx

from ..client import Outgoing
from ..directory import DirectoryParameters
from ..evaluator import PublishedKey
from ..primitives import Rng
from ..relay import Relay
from .sqlite_store import SqliteStore
from .transport import HttpTransport

__all__ = ["RemoteServers", "ServerStartError"]

#: Seconds a server process has to answer ``/ready``.
START_TIMEOUT = 20.0
_PIN = "clients pin "


class ServerStartError(OSError):
    """A server process did not start (the environment failed)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Process:
    """One ``blindpost serve`` process, its standard output read line by line."""

    def __init__(self, role: str, extra: list[str]) -> None:
        self.role = role
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.lines: queue.Queue[str] = queue.Queue()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "protocol.edge.cli", "serve", "--role", role,
             "--host", "127.0.0.1", "--port", str(self.port), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_ready(self, deadline: float) -> None:
        while True:
            try:
                if httpx.get(f"{self.base}/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                error = self.process.stderr.read() if self.process.stderr else ""
                last = (error.strip().splitlines() or ["no answer"])[-1]
                raise ServerStartError(f"the {self.role} process did not start: {last}")
            time.sleep(0.05)

    def line_starting(self, marker: str, deadline: float) -> str:
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise ServerStartError(f"the {self.role} process did not say {marker!r}") from None
            if marker in line:
                return line

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


class _Carrier:
    """The HTTP transports of the demo's requests, one per credential (spec §14.5)."""

    def __init__(self, bases: dict[str, str]) -> None:
        self._bases = bases
        self._transports: dict[bytes, HttpTransport] = {}

    def post(self, role: str, op: str, body: bytes, credential: bytes = b"demo") -> bytes:
        transport = self._transports.get(credential)
        if transport is None:
            transport = HttpTransport(self._bases, credential=credential or b"demo")
            self._transports[credential] = transport
        return transport.send(Outgoing(role, op, body))  # type: ignore[arg-type]

    def close(self) -> None:
        for transport in self._transports.values():
            transport.close()


class RemoteEvaluator:
    """The evaluator process, as the demo's evaluator (spec §8.5)."""

    def __init__(self, carrier: _Carrier, pinned: PublishedKey) -> None:
        self._carrier, self._pinned = carrier, pinned

    def current_key(self) -> PublishedKey:
        return self._pinned  # as the server printed it for clients to pin

    def available(self, credential: bytes, now: int) -> int | None:
        return None  # the count stays on the server

    def evaluate(self, credential: bytes, request: bytes, *, now: int, rng: Rng) -> bytes:
        return self._carrier.post("evaluator", "evaluate", request, credential)


class RemoteDirectory:
    """The directory process (spec §8.6)."""

    def __init__(self, carrier: _Carrier) -> None:
        self._carrier = carrier

    def parameters(self) -> DirectoryParameters:
        return DirectoryParameters.from_bytes(self._carrier.post("directory", "parameters", b""))

    def register(self, credential: bytes, request: bytes, *, now: int) -> None:
        self._carrier.post("directory", "register", request, credential)

    def lookup(self, request: bytes, *, now: int) -> bytes:
        return self._carrier.post("directory", "lookup", request)


class RemoteRelay:
    """The relay process (spec §10). It maintains itself every minute; :meth:`maintain` at a
    time more than a minute ahead stops the process and runs the maintenance on its database
    at that time (the demo's expiry step), after which the relay is no longer served."""

    def __init__(self, carrier: _Carrier, process: _Process, db: Path, relay_id: bytes) -> None:
        self._carrier, self._process, self._db, self._relay_id = carrier, process, db, relay_id
        self.stopped_for_expiry = False

    def owner(self, data: bytes, *, now: int) -> bytes:
        return self._carrier.post("relay", "owner", data)

    def bundle(self, data: bytes, *, now: int) -> bytes:
        return self._carrier.post("relay", "bundle", data)

    def deposit(self, data: bytes, *, now: int) -> bytes:
        return self._carrier.post("relay", "deposit", data)

    def maintain(self, *, now: int, rng: Rng) -> None:
        if now <= time.time() + 60:
            return  # the process does it
        self._process.stop()
        with SqliteStore(self._db) as store:
            Relay(store, self._relay_id).maintain(now=now, rng=rng)
        self.stopped_for_expiry = True


class RemoteServers:
    """The three roles as processes; a context manager that stops them all on exit.

    ``db`` is the relay's SQLite file. Raises :class:`ServerStartError` when a process does not
    start within :data:`START_TIMEOUT` seconds."""

    def __init__(self, db: Path, rng: Rng) -> None:
        self.db = db
        self.relay_id = rng(32)
        self._processes: list[_Process] = []
        self._carrier: _Carrier | None = None
        self._reader: SqliteStore | None = None

    def __enter__(self) -> RemoteServers:
        deadline = time.monotonic() + START_TIMEOUT
        try:
            evaluator = _Process("evaluator", [])
            directory = _Process("directory", [])
            relay = _Process(
                "relay", ["--store", f"sqlite:{self.db}", "--relay-id", self.relay_id.hex()]
            )
            self._processes = [evaluator, directory, relay]
            for process in self._processes:
                process.wait_ready(deadline)
            pin = evaluator.line_starting(_PIN, deadline)
            pinned = PublishedKey.from_bytes(bytes.fromhex(pin.split(_PIN, 1)[1].split()[0]))
            self.bases = {p.role: p.base for p in self._processes}
            self._carrier = _Carrier(self.bases)
            self.evaluator = RemoteEvaluator(self._carrier, pinned)
            self.directory = RemoteDirectory(self._carrier)
            self.relay = RemoteRelay(self._carrier, relay, self.db, self.relay_id)
            self._reader = SqliteStore(self.db)  # reads what the relay process stored
            self.store = self._reader
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self._carrier is not None:
            self._carrier.close()
        for process in self._processes:
            process.stop()
        if self._reader is not None:
            self._reader.close()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

