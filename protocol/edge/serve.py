"""``blindpost serve``: the server roles on one HTTP port (spec §14), with their stores.

Reads the clock and the operating system's randomness, runs relay maintenance once a minute
(§10.7), and serves until SIGINT or SIGTERM, finishing the requests in flight (uvicorn's
graceful shutdown). No access log: a client's address is never written (§14.6).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

from ..directory import Directory
from ..errors import UsageError
from ..evaluator import Evaluator, OprfKeyPair
from ..primitives import system_rng
from ..relay import MemoryStore, Relay, RelayStore
from .http import Roles, build_app

__all__ = ["MAINTENANCE_INTERVAL", "ROLES", "ServeOptions", "open_store", "serve"]

ROLES = ("relay", "evaluator", "directory", "all")
#: Seconds between two relay maintenance runs (at most ``SEED_LIFETIME``, §10.7).
MAINTENANCE_INTERVAL = 60


def open_store(spec: str, schema: str = "blindpost") -> RelayStore:
    """A relay store from its description: ``memory``, ``sqlite:PATH`` (§10.9) or a PostgreSQL
    DSN ``postgresql://…`` (§10.10, in ``schema``). A file or a server that cannot be used
    raises the environment's error (``sqlite3.Error``, ``psycopg.Error``)."""
    if spec == "memory":
        return MemoryStore()
    if spec.startswith("sqlite:") and len(spec) > len("sqlite:"):
        from .sqlite_store import SqliteStore

        return SqliteStore(spec[len("sqlite:") :])
    if spec.startswith(("postgresql://", "postgres://")):
        from .postgres_store import PostgresStore

        return PostgresStore(spec, schema=schema)
    raise UsageError("usage.bad_argument", "a store is memory, sqlite:PATH or postgresql://…")


@dataclass(frozen=True)
class ServeOptions:
    role: str
    host: str
    port: int
    store: str
    relay_id: bytes | None
    schema: str = "blindpost"

    @property
    def postgres(self) -> bool:
        return self.store.startswith(("postgresql://", "postgres://"))


def build_roles(options: ServeOptions) -> tuple[Roles, list[str]]:
    """The cores for ``options.role`` and the lines that tell an operator what runs."""
    now, rng = int(time.time()), system_rng
    roles = Roles(rng=rng)
    said = []
    if options.role in ("evaluator", "all"):
        evaluator = Evaluator(OprfKeyPair.generate(1, rng), now=now)
        roles.evaluator = evaluator
        said.append(
            "evaluator: key id 1, generated at start (lives as long as this process); clients "
            f"pin {evaluator.current_key().to_bytes().hex()}"
        )
    if options.role in ("directory", "all"):
        roles.directory = Directory()
        said.append("directory: in memory")
    if options.role in ("relay", "all"):
        store = open_store(options.store, options.schema)
        relay_id = options.relay_id or rng(32)
        relay = Relay(store, relay_id)
        relay.maintain(now=now, rng=rng)
        roles.relay = relay
        where = f"{options.store} (schema {options.schema})" if options.postgres else options.store
        said.append(f"relay: id {relay_id.hex()}, store {where}")
        if options.postgres:  # wake-ups cross the processes sharing the database (§14.7)
            from .wakeup import PostgresNotifier

            roles.notifier = PostgresNotifier(options.store, schema=options.schema)
    return roles, said


def _maintain(roles: Roles, stop: threading.Event) -> None:
    relay = roles.relay
    while relay is not None and not stop.wait(MAINTENANCE_INTERVAL):
        with roles.locks["relay"]:
            relay.maintain(now=roles.clock(), rng=roles.rng)  # type: ignore[attr-defined]


def serve(options: ServeOptions, say: object = print) -> None:
    """Serve until interrupted."""
    import uvicorn

    roles, said = build_roles(options)
    for line in said:
        say(line)  # type: ignore[operator]
    say(f"listening on http://{options.host}:{options.port} (pid {os.getpid()})")  # type: ignore[operator]
    stop = threading.Event()
    threading.Thread(target=_maintain, args=(roles, stop), daemon=True).start()
    config = uvicorn.Config(
        build_app(roles), host=options.host, port=options.port, access_log=False,
        log_level="warning", timeout_keep_alive=5, timeout_graceful_shutdown=10,
        limit_concurrency=256, server_header=False,
    )  # fmt: skip
    server = _Server(config, roles)
    try:
        server.run()
    finally:
        stop.set()
        if roles.notifier is not None:
            roles.notifier.close()


class _Server:
    """uvicorn's server, which on SIGINT or SIGTERM also wakes the waiting fetches (§14.7), so
    that they answer at once instead of holding the graceful shutdown for their whole wait."""

    def __init__(self, config: object, roles: Roles) -> None:
        import uvicorn

        roles_ = roles

        class Server(uvicorn.Server):
            def handle_exit(self, sig: int, frame: object) -> None:
                super().handle_exit(sig, frame)  # type: ignore[arg-type]
                if roles_.notifier is not None:
                    roles_.notifier.wake_all()

        self._server = Server(config)  # type: ignore[arg-type]

    def run(self) -> None:
        self._server.run()
