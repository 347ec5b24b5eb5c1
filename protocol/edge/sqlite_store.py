"""Spec §10.9: the relay's tables of §10.8 in an SQLite database, the embedded default store.

One file (and its write-ahead log) holds exactly the tables of §10.8, a one-row
``schema_version`` table with the layout's version, and indexes. Every relay operation runs in one
``BEGIN IMMEDIATE`` transaction (:meth:`SqliteStore.transaction`) that commits before the relay
returns its response, so a deposit acknowledged to its sender is on disk; an exception rolls the
transaction back, so a failed operation leaves the database as it was.

- ``synchronous = FULL`` (the default) survives a crash of the relay process and a power
  failure; ``NORMAL`` survives a crash of the process only (§10.9 says why).
- ``secure_delete = ON`` overwrites freed pages; :meth:`SqliteStore.checkpoint` (called by
  :meth:`protocol.relay.Relay.maintain`) runs ``wal_checkpoint(TRUNCATE)`` so that the
  write-ahead log does not keep page images of deleted envelopes either.

The connection may be used from another thread than the one that opened it, but by one thread
at a time (the caller serialises, as the network services do per role).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..errors import StateError, UsageError
from ..relay.store import (
    DepositView,
    EnvelopeRecord,
    MailboxRecord,
    bucket_fields,
)

__all__ = ["SCHEMA_VERSION", "SYNCHRONOUS_LEVELS", "SqliteStore"]

#: The version of the layout below, kept in the ``schema_version`` table. Version 1 (a
#: ``bucket`` table, usage read by scanning the envelopes) is migrated when a store opens it.
SCHEMA_VERSION = 2

#: The ``synchronous`` levels a store accepts (spec §10.9 states each one's guarantee).
SYNCHRONOUS_LEVELS = ("FULL", "EXTRA", "NORMAL")

# The relay's tables are exactly those of spec §10.8 (``STORED_FIELDS``); rowids are SQLite's
# own and give deposit order. Rows that belong to a mailbox go with it (ON DELETE CASCADE).
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS mailbox (
        address BLOB PRIMARY KEY NOT NULL,
        kind INTEGER NOT NULL,
        effort INTEGER,
        deposit_key BLOB,
        touched INTEGER NOT NULL,
        held INTEGER NOT NULL DEFAULT 0,
        held_bytes INTEGER NOT NULL DEFAULT 0,
        inbound_tokens INTEGER,
        inbound_updated INTEGER,
        handout_tokens INTEGER,
        handout_updated INTEGER)""",
    """CREATE INDEX IF NOT EXISTS mailbox_touched ON mailbox (touched)""",
    """CREATE TABLE IF NOT EXISTS envelope (
        address BLOB NOT NULL REFERENCES mailbox (address) ON DELETE CASCADE,
        id BLOB NOT NULL,
        envelope BLOB NOT NULL,
        arrival INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        UNIQUE (address, id))""",
    """CREATE INDEX IF NOT EXISTS envelope_expires ON envelope (expires)""",
    """CREATE TABLE IF NOT EXISTS bundle (
        address BLOB PRIMARY KEY NOT NULL REFERENCES mailbox (address) ON DELETE CASCADE,
        bundle BLOB NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS one_time_prekey (
        address BLOB NOT NULL REFERENCES mailbox (address) ON DELETE CASCADE,
        prekey_id INTEGER NOT NULL,
        prekey BLOB NOT NULL,
        UNIQUE (address, prekey_id))""",
    """CREATE TABLE IF NOT EXISTS tombstone (
        address BLOB NOT NULL,
        id BLOB NOT NULL,
        until INTEGER NOT NULL,
        PRIMARY KEY (address, id)) WITHOUT ROWID""",
    """CREATE INDEX IF NOT EXISTS tombstone_until ON tombstone (until)""",
    """CREATE TABLE IF NOT EXISTS owner_proof (
        address BLOB NOT NULL,
        commitment BLOB NOT NULL,
        until INTEGER NOT NULL,
        PRIMARY KEY (address, commitment)) WITHOUT ROWID""",
    """CREATE INDEX IF NOT EXISTS owner_proof_until ON owner_proof (until)""",
    """CREATE TABLE IF NOT EXISTS pow (
        seed BLOB NOT NULL,
        nonce BLOB NOT NULL,
        PRIMARY KEY (seed, nonce)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS seed (seed BLOB NOT NULL, created INTEGER NOT NULL)""",
    *(
        # a mailbox's usage follows every envelope written or deleted (cascades included)
        """CREATE TRIGGER IF NOT EXISTS envelope_held_insert AFTER INSERT ON envelope BEGIN
        UPDATE mailbox SET held = held + 1, held_bytes = held_bytes + length(NEW.envelope)
        WHERE address = NEW.address; END""",
        """CREATE TRIGGER IF NOT EXISTS envelope_held_delete AFTER DELETE ON envelope BEGIN
        UPDATE mailbox SET held = held - 1, held_bytes = held_bytes - length(OLD.envelope)
        WHERE address = OLD.address; END""",
        """CREATE TRIGGER IF NOT EXISTS envelope_held_update AFTER UPDATE OF envelope ON envelope
        BEGIN UPDATE mailbox SET held_bytes = held_bytes - length(OLD.envelope)
        + length(NEW.envelope) WHERE address = NEW.address; END""",
    ),
)

# Version 1 → 2: the buckets and the usage move into the mailbox row (one row written per
# deposit instead of a bucket row and a usage index entry).
_MIGRATE_1_TO_2 = (
    "DROP INDEX IF EXISTS envelope_usage",
    *(
        f"ALTER TABLE mailbox ADD COLUMN {column}"
        for column in (
            "held INTEGER NOT NULL DEFAULT 0",
            "held_bytes INTEGER NOT NULL DEFAULT 0",
            "inbound_tokens INTEGER",
            "inbound_updated INTEGER",
            "handout_tokens INTEGER",
            "handout_updated INTEGER",
        )
    ),
    """UPDATE mailbox SET
        held = (SELECT count(*) FROM envelope e WHERE e.address = mailbox.address),
        held_bytes = (SELECT coalesce(sum(length(envelope)), 0) FROM envelope e
                      WHERE e.address = mailbox.address),
        inbound_tokens = (SELECT tokens FROM bucket b
                          WHERE b.address = mailbox.address AND which = 'inbound'),
        inbound_updated = (SELECT updated FROM bucket b
                           WHERE b.address = mailbox.address AND which = 'inbound'),
        handout_tokens = (SELECT tokens FROM bucket b
                          WHERE b.address = mailbox.address AND which = 'handout'),
        handout_updated = (SELECT updated FROM bucket b
                           WHERE b.address = mailbox.address AND which = 'handout')""",
    "DROP TABLE bucket",
)

#: A deposit's reads (spec §10.4) in one statement; one row whether or not the mailbox exists.
_DEPOSIT_VIEW = (
    "SELECT m.kind, m.effort, m.deposit_key, m.touched, m.held, m.held_bytes, "
    "m.inbound_tokens, m.inbound_updated, "
    "EXISTS (SELECT 1 FROM envelope WHERE address = :a AND id = :i), "
    "EXISTS (SELECT 1 FROM tombstone WHERE address = :a AND id = :i AND until > :now), "
    "EXISTS (SELECT 1 FROM (SELECT seed FROM seed ORDER BY created DESC, rowid LIMIT :kept) "
    "WHERE seed = :seed), "
    "EXISTS (SELECT 1 FROM pow WHERE seed = :seed AND nonce = :nonce) "
    "FROM (SELECT :a AS a) q LEFT JOIN mailbox m ON m.address = q.a"
)


#: ``dump`` reads each table in this column order (spec §10.8, ``STORED_FIELDS``).
_DUMP = {
    "mailbox": (
        "SELECT address, kind, effort, deposit_key, touched, held, held_bytes, inbound_tokens, "
        "inbound_updated, handout_tokens, handout_updated FROM mailbox ORDER BY rowid"
    ),
    "envelope": "SELECT address, id, envelope, arrival, expires FROM envelope ORDER BY rowid",
    "bundle": "SELECT address, bundle FROM bundle ORDER BY rowid",
    "one_time_prekey": "SELECT address, prekey_id, prekey FROM one_time_prekey ORDER BY rowid",
    "tombstone": "SELECT address, id, until FROM tombstone ORDER BY address, id",
    "owner_proof": (
        "SELECT address, commitment, until FROM owner_proof ORDER BY address, commitment"
    ),
    "pow": "SELECT seed, nonce FROM pow ORDER BY seed, nonce",
    "seed": "SELECT seed, created FROM seed ORDER BY rowid",
}



class SqliteStore:
    """Spec §10.9: the relay store on SQLite. ``path`` is a file (created when absent) or
    ``":memory:"``; ``synchronous`` one of :data:`SYNCHRONOUS_LEVELS`.

    Raises :class:`UsageError` (``usage.bad_argument``) for a level it does not know, and
    ``sqlite3.Error`` (an ``OSError``-like failure of the environment) when the file cannot be
    opened or holds another layout; the command line turns those into one line.
    """

    __slots__ = ("_db", "_depth", "_path")

    def __init__(self, path: str | os.PathLike[str], *, synchronous: str = "FULL") -> None:
        if synchronous not in SYNCHRONOUS_LEVELS:
            raise UsageError(
                "usage.bad_argument", f"synchronous is one of {', '.join(SYNCHRONOUS_LEVELS)}"
            )
        self._path = os.fspath(path)
        self._depth = 0
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute(f"PRAGMA synchronous = {synchronous}")
            db.execute("PRAGMA secure_delete = ON")
            db.execute("PRAGMA foreign_keys = ON")
            self._migrate(db)
        except BaseException:
            db.close()
            raise
        self._db = db

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(_SCHEMA[0])
            row = db.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] == 1:
                for statement in _MIGRATE_1_TO_2:
                    db.execute(statement)
                db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"the relay database has layout version {row[0]}, this code knows "
                    f"{SCHEMA_VERSION}"
                )
            for statement in _SCHEMA[1:]:
                db.execute(statement)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # --- life cycle ----------------------------------------------------------------------------

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteStore({self._path!r})"

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One ``BEGIN IMMEDIATE`` transaction, committed on exit and rolled back on an
        exception; a transaction inside another joins it."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            db.execute("ROLLBACK")
            raise
        self._depth = 0
        db.execute("COMMIT")

    def checkpoint(self) -> None:
        """Spec §10.9: copy the write-ahead log into the database and truncate it to zero
        bytes, so that it no longer holds page images of deleted envelopes."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        row = self._db.execute(sql, args).fetchone()
        return None if row is None else row[0]

    # --- mailbox -------------------------------------------------------------------------------

    def get_mailbox(self, address: bytes) -> MailboxRecord | None:
        row = self._db.execute(
            "SELECT kind, effort, deposit_key, touched FROM mailbox WHERE address = ?",
            (address,),
        ).fetchone()
        return None if row is None else MailboxRecord(address, row[0], row[1], row[2], row[3])

    def put_mailbox(self, mailbox: MailboxRecord) -> None:
        self._db.execute(
            "INSERT INTO mailbox (address, kind, effort, deposit_key, touched) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (address) DO UPDATE SET kind = excluded.kind, "
            "effort = excluded.effort, deposit_key = excluded.deposit_key, "
            "touched = excluded.touched",
            (mailbox.address, mailbox.kind, mailbox.effort, mailbox.deposit_key, mailbox.touched),
        )

    def delete_mailbox(self, address: bytes) -> None:
        # envelope, bundle and one_time_prekey rows go with it (ON DELETE CASCADE)
        self._db.execute("DELETE FROM mailbox WHERE address = ?", (address,))

    def mailbox_count(self) -> int:
        count: int = self._one("SELECT count(*) FROM mailbox", ())
        return count

    # --- envelope ------------------------------------------------------------------------------

    def mailbox_usage(self, address: bytes) -> tuple[int, int]:
        row = self._db.execute(
            "SELECT held, held_bytes FROM mailbox WHERE address = ?", (address,)
        ).fetchone()
        return (0, 0) if row is None else (row[0], row[1])

    def has_envelope(self, address: bytes, envelope_id: bytes) -> bool:
        return (
            self._one("SELECT 1 FROM envelope WHERE address = ? AND id = ?", (address, envelope_id))
            is not None
        )

    def put_envelope(self, record: EnvelopeRecord) -> None:
        self._db.execute(
            "INSERT INTO envelope (address, id, envelope, arrival, expires) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (address, id) DO UPDATE SET envelope = excluded.envelope, "
            "arrival = excluded.arrival, expires = excluded.expires",
            (record.address, record.id, record.envelope, record.arrival, record.expires),
        )

    def deposit_view(
        self,
        address: bytes,
        envelope_id: bytes,
        now: int,
        seed: bytes | None,
        nonce: bytes | None,
        seeds_kept: int,
    ) -> DepositView:
        row = self._db.execute(
            _DEPOSIT_VIEW,
            {"a": address, "i": envelope_id, "now": now, "seed": seed, "nonce": nonce,
             "kept": seeds_kept},
        ).fetchone()  # fmt: skip
        if row[0] is None:
            return DepositView(None, False, False, False, False, 0, 0, None)
        inbound = None if row[6] is None else (row[6], row[7])
        return DepositView(
            MailboxRecord(address, row[0], row[1], row[2], row[3]),
            bool(row[8]), bool(row[9]), bool(row[10]), bool(row[11]), row[4], row[5], inbound,
        )  # fmt: skip

    def put_deposit(
        self,
        record: EnvelopeRecord,
        inbound: tuple[int, int],
        pow_entry: tuple[bytes, bytes] | None,
    ) -> None:
        if pow_entry is not None:
            self.put_pow(*pow_entry)
        db = self._db
        db.execute(
            "INSERT INTO envelope (address, id, envelope, arrival, expires) VALUES (?, ?, ?, ?, ?)",
            (record.address, record.id, record.envelope, record.arrival, record.expires),
        )
        db.execute(
            "UPDATE mailbox SET inbound_tokens = ?, inbound_updated = ? WHERE address = ?",
            (*inbound, record.address),
        )

    def envelopes(
        self, address: bytes, now: int, limit: int, max_bytes: int
    ) -> list[EnvelopeRecord]:
        out: list[EnvelopeRecord] = []
        if limit <= 0:
            return out
        size = 0
        rows = self._db.execute(
            "SELECT id, envelope, arrival, expires FROM envelope "
            "WHERE address = ? AND expires > ? ORDER BY rowid LIMIT ?",
            (address, now, limit),
        )
        for envelope_id, envelope, arrival, expires in rows:
            if out and size + len(envelope) > max_bytes:
                break
            out.append(EnvelopeRecord(address, envelope_id, envelope, arrival, expires))
            size += len(envelope)
        return out

    def delete_envelopes(self, address: bytes, ids: Sequence[bytes]) -> list[bytes]:
        db = self._db
        deleted = []
        for envelope_id in dict.fromkeys(ids):
            if db.execute(
                "DELETE FROM envelope WHERE address = ? AND id = ?", (address, envelope_id)
            ).rowcount:
                deleted.append(envelope_id)
        return deleted

    # --- bundle and one-time prekeys -----------------------------------------------------------

    def get_bundle(self, address: bytes) -> bytes | None:
        bundle: bytes | None = self._one("SELECT bundle FROM bundle WHERE address = ?", (address,))
        return bundle

    def put_bundle(self, address: bytes, bundle: bytes) -> None:
        self._db.execute(
            "INSERT INTO bundle (address, bundle) VALUES (?, ?) "
            "ON CONFLICT (address) DO UPDATE SET bundle = excluded.bundle",
            (address, bundle),
        )

    def one_time_count(self, address: bytes) -> int:
        count: int = self._one("SELECT count(*) FROM one_time_prekey WHERE address = ?", (address,))
        return count

    def add_one_time(self, address: bytes, prekeys: Sequence[tuple[int, bytes]]) -> None:
        self._db.executemany(
            "INSERT OR IGNORE INTO one_time_prekey (address, prekey_id, prekey) VALUES (?, ?, ?)",
            [(address, prekey_id, prekey) for prekey_id, prekey in prekeys],
        )

    def take_one_time(self, address: bytes) -> bytes | None:
        row = self._db.execute(
            "DELETE FROM one_time_prekey WHERE rowid = (SELECT min(rowid) FROM one_time_prekey "
            "WHERE address = ?) RETURNING prekey",
            (address,),
        ).fetchone()
        return None if row is None else bytes(row[0])

    # --- buckets -------------------------------------------------------------------------------

    def get_bucket(self, address: bytes, which: str) -> tuple[int, int] | None:
        tokens, updated = bucket_fields(which)
        row = self._db.execute(
            f"SELECT {tokens}, {updated} FROM mailbox WHERE address = ?", (address,)
        ).fetchone()
        return None if row is None or row[0] is None else (row[0], row[1])

    def put_bucket(self, address: bytes, which: str, tokens: int, updated: int) -> None:
        tokens_column, updated_column = bucket_fields(which)
        self._db.execute(
            f"UPDATE mailbox SET {tokens_column} = ?, {updated_column} = ? WHERE address = ?",
            (tokens, updated, address),
        )

    # --- replay records ------------------------------------------------------------------------

    def has_tombstone(self, address: bytes, envelope_id: bytes, now: int) -> bool:
        return (
            self._one(
                "SELECT 1 FROM tombstone WHERE address = ? AND id = ? AND until > ?",
                (address, envelope_id, now),
            )
            is not None
        )

    def put_tombstone(self, address: bytes, envelope_id: bytes, until: int) -> None:
        self._db.execute(
            "INSERT INTO tombstone (address, id, until) VALUES (?, ?, ?) "
            "ON CONFLICT (address, id) DO UPDATE SET until = max(until, excluded.until)",
            (address, envelope_id, until),
        )

    def proof_count(self, address: bytes, now: int) -> int:
        count: int = self._one(
            "SELECT count(*) FROM owner_proof WHERE address = ? AND until > ?", (address, now)
        )
        return count

    def has_proof(self, address: bytes, commitment: bytes) -> bool:
        return (
            self._one(
                "SELECT 1 FROM owner_proof WHERE address = ? AND commitment = ?",
                (address, commitment),
            )
            is not None
        )

    def put_proof(self, address: bytes, commitment: bytes, until: int) -> None:
        inserted = self._db.execute(
            "INSERT OR IGNORE INTO owner_proof (address, commitment, until) VALUES (?, ?, ?)",
            (address, commitment, until),
        ).rowcount
        if not inserted:
            raise StateError("state.replay", "this proof was used already")

    def has_pow(self, seed: bytes, nonce: bytes) -> bool:
        return (
            self._one("SELECT 1 FROM pow WHERE seed = ? AND nonce = ?", (seed, nonce)) is not None
        )

    def put_pow(self, seed: bytes, nonce: bytes) -> None:
        inserted = self._db.execute(
            "INSERT OR IGNORE INTO pow (seed, nonce) VALUES (?, ?)", (seed, nonce)
        ).rowcount
        if not inserted:
            raise StateError("state.replay", "this proof of work was used already")

    # --- seeds ---------------------------------------------------------------------------------

    def seeds(self) -> list[tuple[bytes, int]]:
        return [
            (seed, created)
            for seed, created in self._db.execute(
                "SELECT seed, created FROM seed ORDER BY created DESC, rowid"
            )
        ]

    def put_seed(self, seed: bytes, created: int) -> None:
        self._db.execute("INSERT INTO seed (seed, created) VALUES (?, ?)", (seed, created))

    # --- maintenance ---------------------------------------------------------------------------

    def expire(self, now: int, idle_before: int, tombstone_until: int, seeds_kept: int) -> None:
        db = self._db
        with self.transaction():
            db.execute(
                "INSERT INTO tombstone (address, id, until) "
                "SELECT address, id, ? FROM envelope WHERE expires <= ? "
                "ON CONFLICT (address, id) DO UPDATE SET until = max(until, excluded.until)",
                (tombstone_until, now),
            )
            db.execute("DELETE FROM envelope WHERE expires <= ?", (now,))
            db.execute("DELETE FROM tombstone WHERE until <= ?", (now,))
            db.execute("DELETE FROM owner_proof WHERE until <= ?", (now,))
            db.execute("DELETE FROM mailbox WHERE touched < ?", (idle_before,))
            db.execute(
                "DELETE FROM seed WHERE rowid NOT IN "
                "(SELECT rowid FROM seed ORDER BY created DESC, rowid LIMIT ?)",
                (seeds_kept,),
            )
            db.execute("DELETE FROM pow WHERE seed NOT IN (SELECT seed FROM seed)")

    def dump(self) -> dict[str, list[dict[str, object]]]:
        out: dict[str, list[dict[str, object]]] = {}
        for table, sql in _DUMP.items():
            cursor = self._db.execute(sql)
            names = [d[0] for d in cursor.description]
            out[table] = [dict(zip(names, row, strict=True)) for row in cursor]
        return out
