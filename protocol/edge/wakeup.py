"""Spec §14.7: wake-ups — a mailbox owner's waiting fetch returns as soon as an envelope arrives.

A :class:`Notifier` carries one fact: "something was deposited in mailbox A". The HTTP binding
(:mod:`protocol.edge.http`) subscribes a waiting fetch to its mailbox before it asks the relay,
and notifies a mailbox after a deposit to it has committed. :class:`LocalNotifier` serves one
process; :class:`PostgresNotifier` also crosses processes that share a PostgreSQL database, with
``LISTEN``/``NOTIFY`` on one channel whose payload is the mailbox address in hex — never an
envelope, a size or a sender. A lost wake-up costs latency, not messages: the waiting fetch runs
again when its wait ends.
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any, Protocol

__all__ = ["LocalNotifier", "Notifier", "PostgresNotifier", "Subscription"]

_ADDRESS_SIZE = 32


class Subscription:
    """One waiting fetch's interest in one mailbox; made in the event loop that waits on it."""

    __slots__ = ("_event", "_loop", "_notifier", "address")

    def __init__(self, notifier: LocalNotifier, address: bytes) -> None:
        self._notifier = notifier
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self.address = address

    def _wake(self) -> None:  # any thread
        self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, timeout: float) -> bool:
        """Until a wake-up (``True``) or ``timeout`` seconds (``False``)."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self._notifier._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Notifier(Protocol):
    """What the HTTP binding needs from a wake-up carrier."""

    def subscribe(self, address: bytes) -> Subscription:
        """Call in the event loop that will wait."""

    def listening(self) -> bool:
        """Whether a deposit's wake-up can reach anyone: when not, the binding skips it."""

    def notify(self, address: bytes) -> None:
        """Call from any thread after a deposit to ``address`` has committed; never raises."""

    def wake_all(self) -> None:
        """Wake every waiting fetch (shutting down)."""

    def close(self) -> None: ...


class LocalNotifier:
    """Wake-ups within one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[bytes, set[Subscription]] = {}

    def subscribe(self, address: bytes) -> Subscription:
        subscription = Subscription(self, address)
        with self._lock:
            self._waiting.setdefault(address, set()).add(subscription)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            waiting = self._waiting.get(subscription.address)
            if waiting is not None:
                waiting.discard(subscription)
                if not waiting:
                    del self._waiting[subscription.address]

    def waiting(self) -> int:
        """How many fetches wait (tests, readiness)."""
        with self._lock:
            return sum(len(s) for s in self._waiting.values())

    def listening(self) -> bool:
        # a deposit that finds no one committed before any later subscriber fetches (§14.7)
        return bool(self._waiting)

    def notify(self, address: bytes) -> None:
        self._wake_local(address)

    def _wake_local(self, address: bytes) -> None:
        with self._lock:
            subscriptions = list(self._waiting.get(address, ()))
        for subscription in subscriptions:
            subscription._wake()

    def wake_all(self) -> None:
        with self._lock:
            subscriptions = [s for group in self._waiting.values() for s in group]
        for subscription in subscriptions:
            subscription._wake()

    def close(self) -> None:
        self.wake_all()


_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,47}$")


class PostgresNotifier(LocalNotifier):
    """Wake-ups across the relay processes of one PostgreSQL database (spec §14.7): ``NOTIFY``
    on the channel ``blindpost_wake_<schema>`` with the mailbox address in hex, and a thread
    that ``LISTEN``\\ s and wakes this process's waiting fetches. A connection that fails is
    opened again; meanwhile waiting fetches end by their timeout.

    Raises ``psycopg.Error`` when the database cannot be reached at start."""

    def __init__(self, dsn: str, *, schema: str = "blindpost") -> None:
        import psycopg

        if not _SCHEMA.match(schema):
            raise ValueError("a schema name is [a-z_][a-z0-9_]*")
        super().__init__()
        self._dsn = dsn
        self.channel = f"blindpost_wake_{schema}"
        self._send_lock = threading.Lock()
        self._sender: psycopg.Connection[Any] | None = psycopg.connect(dsn, autocommit=True)
        self._closed = threading.Event()
        self._listening = threading.Event()
        self._listener = threading.Thread(target=self._listen, daemon=True)
        self._listener.start()
        if not self._listening.wait(5):
            self.close()
            raise psycopg.OperationalError("the wake-up listener did not start")

    def _listen(self) -> None:
        import psycopg

        while not self._closed.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {self.channel}")
                    self._listening.set()
                    while not self._closed.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self._deliver(note.payload)
            except psycopg.Error:
                self._closed.wait(1.0)  # the database went away: try again

    def _deliver(self, payload: str) -> None:
        try:
            address = bytes.fromhex(payload)
        except ValueError:
            return
        if len(address) == _ADDRESS_SIZE:
            self._wake_local(address)

    def listening(self) -> bool:
        return True  # waiting fetches of other processes

    def notify(self, address: bytes) -> None:
        import psycopg

        self._wake_local(address)  # this process's waiters need not wait for the round trip
        with self._send_lock:
            try:
                if self._sender is None or self._sender.closed:
                    self._sender = psycopg.connect(self._dsn, autocommit=True, connect_timeout=2)
                self._sender.execute("SELECT pg_notify(%s, %s)", (self.channel, address.hex()))
            except psycopg.Error:
                self._sender = None  # the deposit stands; the other processes' waits time out

    def close(self) -> None:
        self._closed.set()
        self.wake_all()
        with self._send_lock:
            if self._sender is not None:
                self._sender.close()
                self._sender = None
        self._listener.join(timeout=5)
