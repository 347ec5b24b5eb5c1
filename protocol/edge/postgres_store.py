"""Spec §10.10: the relay's tables of §10.8 in PostgreSQL, for relays beyond one machine.

Several relay processes share one database. Each relay operation is one transaction on one
pooled connection, run in libpq's pipeline mode so that the writes whose results the relay does
not read go out with the commit (a deposit is two round trips); the mailbox row is locked
(``SELECT … FOR UPDATE``) when the relay reads it, so two deposits racing on one mailbox check
their quotas one after the other (simplexmq's ``write_message``), and the replay records are
plain inserts under their primary key: of two racing uses of one owner proof or one proof of
work, the second's commit fails and its operation with ``state.replay``. The envelope table is
hash-partitioned by mailbox address. Maintenance deletes expired envelopes in bounded batches
with ``FOR UPDATE SKIP LOCKED``, so several processes can sweep at once without waiting for
each other or deleting a row twice.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from ..errors import StateError, UsageError
from ..relay.store import (
    DepositView,
    EnvelopeRecord,
    MailboxRecord,
    bucket_fields,
)

__all__ = ["SCHEMA_VERSION", "SWEEP_BATCH", "PostgresStore"]

#: The version of the layout below, kept in ``schema_version``. Version 1 (a ``bucket`` table,
#: usage read by scanning the envelopes) is migrated when a store opens it.
SCHEMA_VERSION = 2
#: Expired envelopes deleted per statement by :meth:`PostgresStore.expire`.
SWEEP_BATCH = 1000
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,47}$")
#: Session settings of the store's connections. The relay's statements name one mailbox by its
#: primary key (and one partition of the envelope table by it), so a generic plan, made once
#: per prepared statement, is as good as a custom one, and planning a deposit's reads afresh
#: each time costs about as much as executing them; maintenance switches back to custom plans
#: for its range scans (:meth:`PostgresStore.expire`).
_SESSION_OPTIONS = "-c plan_cache_mode=force_generic_plan"


def _schema_statements(s: str, partitions: int) -> list[str]:
    statements = [
        f"CREATE SCHEMA IF NOT EXISTS {s}",
        f"CREATE TABLE IF NOT EXISTS {s}.schema_version (version integer NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS {s}.mailbox (
            address bytea PRIMARY KEY, kind integer NOT NULL, effort integer,
            deposit_key bytea, touched bigint NOT NULL,
            held bigint NOT NULL DEFAULT 0, held_bytes bigint NOT NULL DEFAULT 0,
            inbound_tokens bigint, inbound_updated bigint,
            handout_tokens bigint, handout_updated bigint)""",
        f"CREATE INDEX IF NOT EXISTS mailbox_touched ON {s}.mailbox (touched)",
        f"CREATE SEQUENCE IF NOT EXISTS {s}.envelope_order",
        f"""CREATE TABLE IF NOT EXISTS {s}.envelope (
            address bytea NOT NULL REFERENCES {s}.mailbox (address) ON DELETE CASCADE,
            id bytea NOT NULL, envelope bytea NOT NULL, arrival bigint NOT NULL,
            expires bigint NOT NULL,
            deposit_order bigint NOT NULL DEFAULT nextval('{s}.envelope_order'),
            PRIMARY KEY (address, id)) PARTITION BY HASH (address)""",
    ]
    statements += [
        f"CREATE TABLE IF NOT EXISTS {s}.envelope_{i} PARTITION OF {s}.envelope "
        f"FOR VALUES WITH (MODULUS {partitions}, REMAINDER {i})"
        for i in range(partitions)
    ]
    statements += [
        f"CREATE INDEX IF NOT EXISTS envelope_expires ON {s}.envelope (expires)",
        f"CREATE INDEX IF NOT EXISTS envelope_order ON {s}.envelope (address, deposit_order)",
        f"""CREATE TABLE IF NOT EXISTS {s}.bundle (
            address bytea PRIMARY KEY REFERENCES {s}.mailbox (address) ON DELETE CASCADE,
            bundle bytea NOT NULL)""",
        f"CREATE SEQUENCE IF NOT EXISTS {s}.prekey_order",
        f"""CREATE TABLE IF NOT EXISTS {s}.one_time_prekey (
            address bytea NOT NULL REFERENCES {s}.mailbox (address) ON DELETE CASCADE,
            prekey_id bigint NOT NULL, prekey bytea NOT NULL,
            pool_order bigint NOT NULL DEFAULT nextval('{s}.prekey_order'),
            PRIMARY KEY (address, prekey_id))""",
        f"""CREATE TABLE IF NOT EXISTS {s}.tombstone (
            address bytea NOT NULL, id bytea NOT NULL, until bigint NOT NULL,
            PRIMARY KEY (address, id))""",
        f"CREATE INDEX IF NOT EXISTS tombstone_until ON {s}.tombstone (until)",
        f"""CREATE TABLE IF NOT EXISTS {s}.owner_proof (
            address bytea NOT NULL, commitment bytea NOT NULL, until bigint NOT NULL,
            PRIMARY KEY (address, commitment))""",
        f"CREATE INDEX IF NOT EXISTS owner_proof_until ON {s}.owner_proof (until)",
        f"""CREATE TABLE IF NOT EXISTS {s}.pow (
            seed bytea NOT NULL, nonce bytea NOT NULL, PRIMARY KEY (seed, nonce))""",
        f"CREATE SEQUENCE IF NOT EXISTS {s}.seed_order",
        f"""CREATE TABLE IF NOT EXISTS {s}.seed (
            seed bytea NOT NULL, created bigint NOT NULL,
            seed_order bigint NOT NULL DEFAULT nextval('{s}.seed_order'))""",
        *_held_trigger(s),
    ]
    return statements


def _held_trigger(s: str) -> list[str]:
    """A mailbox's usage follows every envelope written or deleted (cascades included). The
    trigger locks the mailbox row, so every writer of envelopes locks the mailbox first
    (:meth:`PostgresStore.expire` too) and no two transactions wait for each other in a
    cycle."""
    return [
        f"""CREATE OR REPLACE FUNCTION {s}.envelope_held() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                UPDATE {s}.mailbox SET held = held - 1,
                    held_bytes = held_bytes - octet_length(OLD.envelope)
                WHERE address = OLD.address;
            END IF;
            IF TG_OP <> 'DELETE' THEN
                UPDATE {s}.mailbox SET held = held + 1,
                    held_bytes = held_bytes + octet_length(NEW.envelope)
                WHERE address = NEW.address;
            END IF;
            RETURN NULL;
        END $$""",
        f"""CREATE OR REPLACE TRIGGER envelope_held AFTER INSERT OR DELETE OR UPDATE OF envelope
        ON {s}.envelope FOR EACH ROW EXECUTE FUNCTION {s}.envelope_held()""",
    ]


def _migrate_1_to_2(s: str) -> list[str]:
    """Version 1 → 2: the buckets and the usage move into the mailbox row."""
    columns = (
        "held bigint NOT NULL DEFAULT 0",
        "held_bytes bigint NOT NULL DEFAULT 0",
        "inbound_tokens bigint",
        "inbound_updated bigint",
        "handout_tokens bigint",
        "handout_updated bigint",
    )
    return [
        *(f"ALTER TABLE {s}.mailbox ADD COLUMN {column}" for column in columns),
        f"""UPDATE {s}.mailbox m SET held = u.held, held_bytes = u.held_bytes
        FROM (SELECT address, count(*) AS held, sum(octet_length(envelope)) AS held_bytes
              FROM {s}.envelope GROUP BY address) u
        WHERE m.address = u.address""",
        f"""UPDATE {s}.mailbox m SET inbound_tokens = b.tokens, inbound_updated = b.updated
        FROM {s}.bucket b WHERE b.address = m.address AND b.which = 'inbound'""",
        f"""UPDATE {s}.mailbox m SET handout_tokens = b.tokens, handout_updated = b.updated
        FROM {s}.bucket b WHERE b.address = m.address AND b.which = 'handout'""",
        f"DROP TABLE {s}.bucket",
    ]





#: A deposit's reads (spec §10.4) in one statement, locking the mailbox row; no row when the
#: mailbox is unknown.
_DEPOSIT_VIEW = (
    "SELECT m.kind, m.effort, m.deposit_key, m.touched, m.held, m.held_bytes, "
    "m.inbound_tokens, m.inbound_updated, "
    "EXISTS (SELECT 1 FROM {s}.envelope WHERE address = %(a)s AND id = %(i)s), "
    "EXISTS (SELECT 1 FROM {s}.tombstone WHERE address = %(a)s AND id = %(i)s "
    "AND until > %(now)s), "
    "coalesce(%(seed)s::bytea IN (SELECT seed FROM {s}.seed ORDER BY created DESC, seed_order "
    "LIMIT %(kept)s), false), "
    "EXISTS (SELECT 1 FROM {s}.pow WHERE seed = %(seed)s AND nonce = %(nonce)s) "
    "FROM {s}.mailbox m WHERE m.address = %(a)s FOR UPDATE OF m"
)


#: The replay records whose unique violation means a racing second use (spec §10.10).
_REPLAY_TABLES = {
    "pow": "this proof of work was used already",
    "owner_proof": "this proof was used already",
}


@contextmanager
def _replay_conflicts() -> Iterator[None]:
    """Turn a unique violation on a replay record into ``state.replay``: another process
    recorded the same proof of work or owner proof between this transaction's check and its
    commit, and the whole transaction was rolled back."""
    try:
        yield
    except psycopg.errors.UniqueViolation as exc:
        message = _REPLAY_TABLES.get(exc.diag.table_name or "")
        if message is None:
            raise
        raise StateError("state.replay", message) from None


class PostgresStore:
    """Spec §10.10: the relay store on PostgreSQL. ``dsn`` is a libpq connection string;
    ``schema`` the schema that holds the tables (created and migrated when absent; a schema of
    another layout version is refused); ``pool_size`` the connections of this process;
    ``partitions`` the hash partitions of the envelope table (fixed when the schema is made).

    Raises ``psycopg.Error`` (an environment failure) when the database cannot be reached."""

    __slots__ = ("_local", "_pool", "_schema")

    def __init__(
        self, dsn: str, *, schema: str = "blindpost", pool_size: int = 4, partitions: int = 16
    ) -> None:
        if not _NAME.match(schema):
            raise UsageError("usage.bad_argument", "a schema name is [a-z_][a-z0-9_]*")
        if not 1 <= pool_size <= 64 or not 1 <= partitions <= 1024:
            raise UsageError("usage.bad_argument", "pool_size 1–64, partitions 1–1024")
        self._schema = schema
        self._local = threading.local()
        self._pool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=pool_size,
            open=False,
            kwargs={"autocommit": True, "options": _SESSION_OPTIONS},
        )
        self._pool.open(wait=True, timeout=5)
        try:
            self._migrate(partitions)
        except BaseException:
            self._pool.close()
            raise

    def _migrate(self, partitions: int) -> None:
        s = self._schema
        with self._pool.connection() as conn, conn.transaction():
            # one migrator at a time, across processes
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"blindpost:{s}",))
            statements = _schema_statements(s, partitions)
            for statement in statements[:2]:  # the schema and its version table
                conn.execute(statement)
            row = conn.execute(f"SELECT version FROM {s}.schema_version").fetchone()
            if row is not None and row[0] == SCHEMA_VERSION:
                # current: no DDL at all, which would lock tables that running relays use
                # (a CREATE INDEX IF NOT EXISTS takes its lock before it finds the index)
                return
            if row is None:
                conn.execute(
                    f"INSERT INTO {s}.schema_version (version) VALUES (%s)", (SCHEMA_VERSION,)
                )
            elif row[0] == 1:
                for statement in _migrate_1_to_2(s):
                    conn.execute(statement)
                conn.execute(f"UPDATE {s}.schema_version SET version = %s", (SCHEMA_VERSION,))
            else:
                raise psycopg.DatabaseError(
                    f"the relay schema {s} has layout version {row[0]}, this code knows "
                    f"{SCHEMA_VERSION}"
                )
            for statement in statements[2:]:
                conn.execute(statement)

    # --- life cycle ----------------------------------------------------------------------------

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresStore(schema={self._schema!r})"

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction on one connection of the pool; a transaction inside another joins
        it; committed on exit, rolled back on an exception.

        The transaction runs in libpq's pipeline mode (spec §10.10): ``BEGIN`` goes out with
        the first statement whose result the relay reads, and the writes whose results it does
        not read go out with ``COMMIT``, so a deposit is two round trips (its locking read,
        then its write and the commit) rather than four. A write that fails at commit (a proof
        of work another process recorded since the check) rolls the whole transaction back."""
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self._pool.connection() as conn:
            self._local.conn = conn
            failure: BaseException | None = None
            try:
                # the pipeline is left without an exception, so that psycopg raises what the
                # database answered instead of logging it; the first failure is raised below
                with conn.pipeline():
                    conn.execute("BEGIN")
                    try:
                        yield
                        conn.execute("COMMIT")
                    except psycopg.Error as exc:  # the pipeline is aborted: rolled back below
                        failure = exc
                    except BaseException as exc:
                        failure = exc
                        conn.execute("ROLLBACK")
            except psycopg.Error as exc:
                failure = failure or exc
            finally:
                self._local.conn = None
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    with suppress(psycopg.Error):  # a broken connection: the pool drops it
                        conn.execute("ROLLBACK")
            if failure is not None:
                with _replay_conflicts():
                    raise failure

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            yield conn
            return
        with self.transaction():
            yield self._local.conn

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        with self._conn() as conn:
            row = conn.execute(sql.format(s=self._schema), args).fetchone()
        return None if row is None else row[0]

    def _exec(self, sql: str, args: tuple[Any, ...] | dict[str, Any]) -> None:
        """A write whose result nobody reads: queued, sent with the next read or the commit."""
        with self._conn() as conn:
            conn.execute(sql.format(s=self._schema), args)

    def checkpoint(self) -> None:
        """Nothing to do: PostgreSQL reclaims deleted rows by vacuum (§10.10)."""

    # --- mailbox -------------------------------------------------------------------------------

    def get_mailbox(self, address: bytes) -> MailboxRecord | None:
        # the row lock serialises the operations of one mailbox across processes
        with self._conn() as conn:
            row = conn.execute(
                f"SELECT kind, effort, deposit_key, touched FROM {self._schema}.mailbox "
                "WHERE address = %s FOR UPDATE",
                (address,),
            ).fetchone()
        if row is None:
            return None
        key = None if row[2] is None else bytes(row[2])
        return MailboxRecord(address, row[0], row[1], key, row[3])

    def put_mailbox(self, mailbox: MailboxRecord) -> None:
        self._exec(
            "INSERT INTO {s}.mailbox (address, kind, effort, deposit_key, touched) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (address) DO UPDATE SET "
            "kind = excluded.kind, effort = excluded.effort, "
            "deposit_key = excluded.deposit_key, touched = excluded.touched",
            (mailbox.address, mailbox.kind, mailbox.effort, mailbox.deposit_key, mailbox.touched),
        )

    def delete_mailbox(self, address: bytes) -> None:
        self._exec("DELETE FROM {s}.mailbox WHERE address = %s", (address,))

    def mailbox_count(self) -> int:
        count: int = self._one("SELECT count(*) FROM {s}.mailbox", ())
        return count

    # --- envelope ------------------------------------------------------------------------------

    def mailbox_usage(self, address: bytes) -> tuple[int, int]:
        with self._conn() as conn:
            row = conn.execute(
                f"SELECT held, held_bytes FROM {self._schema}.mailbox WHERE address = %s",
                (address,),
            ).fetchone()
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def has_envelope(self, address: bytes, envelope_id: bytes) -> bool:
        sql = "SELECT 1 FROM {s}.envelope WHERE address = %s AND id = %s"
        return self._one(sql, (address, envelope_id)) is not None

    def put_envelope(self, record: EnvelopeRecord) -> None:
        self._exec(
            "INSERT INTO {s}.envelope (address, id, envelope, arrival, expires) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (address, id) DO UPDATE SET "
            "envelope = excluded.envelope, arrival = excluded.arrival, "
            "expires = excluded.expires",
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
        # one round trip; the mailbox row is locked as in get_mailbox
        with self._conn() as conn:
            row = conn.execute(
                _DEPOSIT_VIEW.format(s=self._schema),
                {"a": address, "i": envelope_id, "now": now, "seed": seed, "nonce": nonce,
                 "kept": seeds_kept},
            ).fetchone()  # fmt: skip
        if row is None:
            return DepositView(None, False, False, False, False, 0, 0, None)
        key = None if row[2] is None else bytes(row[2])
        inbound = None if row[6] is None else (int(row[6]), int(row[7]))
        return DepositView(
            MailboxRecord(address, row[0], row[1], key, row[3]),
            row[8], row[9], row[10], row[11], int(row[4]), int(row[5]), inbound,
        )  # fmt: skip

    def put_deposit(
        self,
        record: EnvelopeRecord,
        inbound: tuple[int, int],
        pow_entry: tuple[bytes, bytes] | None,
    ) -> None:
        # the three writes in one statement, sent with the commit; a proof of work another
        # process recorded since the check fails it (_replay_conflicts: state.replay)
        self._exec(
            "WITH p AS (INSERT INTO {s}.pow (seed, nonce) SELECT %(seed)s, %(nonce)s "
            "WHERE %(paid)s), "
            "e AS (INSERT INTO {s}.envelope (address, id, envelope, arrival, expires) "
            "VALUES (%(a)s, %(i)s, %(e)s, %(arrival)s, %(expires)s)) "
            "UPDATE {s}.mailbox SET inbound_tokens = %(tokens)s, "
            "inbound_updated = %(updated)s WHERE address = %(a)s",
            {"a": record.address, "i": record.id, "e": record.envelope,
             "arrival": record.arrival, "expires": record.expires,
             "tokens": inbound[0], "updated": inbound[1], "paid": pow_entry is not None,
             "seed": None if pow_entry is None else pow_entry[0],
             "nonce": None if pow_entry is None else pow_entry[1]},
        )  # fmt: skip

    def envelopes(
        self, address: bytes, now: int, limit: int, max_bytes: int
    ) -> list[EnvelopeRecord]:
        out: list[EnvelopeRecord] = []
        if limit <= 0:
            return out
        with self._conn() as conn:
            rows = conn.execute(
                f"SELECT id, envelope, arrival, expires FROM {self._schema}.envelope "
                "WHERE address = %s AND expires > %s ORDER BY deposit_order LIMIT %s",
                (address, now, limit),
            ).fetchall()
        size = 0
        for envelope_id, envelope, arrival, expires in rows:
            if out and size + len(envelope) > max_bytes:
                break
            out.append(EnvelopeRecord(address, bytes(envelope_id), bytes(envelope), arrival,
                                      expires))  # fmt: skip
            size += len(envelope)
        return out

    def delete_envelopes(self, address: bytes, ids: Sequence[bytes]) -> list[bytes]:
        unique = list(dict.fromkeys(ids))
        if not unique:
            return []
        with self._conn() as conn:
            rows = conn.execute(
                f"DELETE FROM {self._schema}.envelope WHERE address = %s AND id = ANY(%s) "
                "RETURNING id",
                (address, unique),
            ).fetchall()
        gone = {bytes(r[0]) for r in rows}
        return [i for i in unique if i in gone]

    # --- bundle and one-time prekeys -----------------------------------------------------------

    def get_bundle(self, address: bytes) -> bytes | None:
        value = self._one("SELECT bundle FROM {s}.bundle WHERE address = %s", (address,))
        return None if value is None else bytes(value)

    def put_bundle(self, address: bytes, bundle: bytes) -> None:
        self._exec(
            "INSERT INTO {s}.bundle (address, bundle) VALUES (%s, %s) "
            "ON CONFLICT (address) DO UPDATE SET bundle = excluded.bundle",
            (address, bundle),
        )

    def one_time_count(self, address: bytes) -> int:
        sql = "SELECT count(*) FROM {s}.one_time_prekey WHERE address = %s"
        count: int = self._one(sql, (address,))
        return count

    def add_one_time(self, address: bytes, prekeys: Sequence[tuple[int, bytes]]) -> None:
        with self._conn() as conn, conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {self._schema}.one_time_prekey (address, prekey_id, prekey) "
                "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                [(address, prekey_id, prekey) for prekey_id, prekey in prekeys],
            )

    def take_one_time(self, address: bytes) -> bytes | None:
        value = self._one(
            "DELETE FROM {s}.one_time_prekey WHERE (address, prekey_id) = (SELECT address, "
            "prekey_id FROM {s}.one_time_prekey WHERE address = %s ORDER BY pool_order "
            "LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING prekey",
            (address,),
        )
        return None if value is None else bytes(value)

    # --- buckets -------------------------------------------------------------------------------

    def get_bucket(self, address: bytes, which: str) -> tuple[int, int] | None:
        tokens, updated = bucket_fields(which)
        with self._conn() as conn:
            row = conn.execute(
                f"SELECT {tokens}, {updated} FROM {self._schema}.mailbox WHERE address = %s",
                (address,),
            ).fetchone()
        return None if row is None or row[0] is None else (int(row[0]), int(row[1]))

    def put_bucket(self, address: bytes, which: str, tokens: int, updated: int) -> None:
        tokens_column, updated_column = bucket_fields(which)
        self._exec(
            f"UPDATE {{s}}.mailbox SET {tokens_column} = %s, {updated_column} = %s "
            "WHERE address = %s",
            (tokens, updated, address),
        )

    # --- replay records ------------------------------------------------------------------------

    def has_tombstone(self, address: bytes, envelope_id: bytes, now: int) -> bool:
        sql = "SELECT 1 FROM {s}.tombstone WHERE address = %s AND id = %s AND until > %s"
        return self._one(sql, (address, envelope_id, now)) is not None

    def put_tombstone(self, address: bytes, envelope_id: bytes, until: int) -> None:
        self._exec(
            "INSERT INTO {s}.tombstone (address, id, until) VALUES (%s, %s, %s) "
            "ON CONFLICT (address, id) DO UPDATE SET "
            "until = greatest({s}.tombstone.until, excluded.until)",
            (address, envelope_id, until),
        )

    def proof_count(self, address: bytes, now: int) -> int:
        sql = "SELECT count(*) FROM {s}.owner_proof WHERE address = %s AND until > %s"
        count: int = self._one(sql, (address, now))
        return count

    def has_proof(self, address: bytes, commitment: bytes) -> bool:
        sql = "SELECT 1 FROM {s}.owner_proof WHERE address = %s AND commitment = %s"
        return self._one(sql, (address, commitment)) is not None

    def put_proof(self, address: bytes, commitment: bytes, until: int) -> None:
        # another process that used this proof since the relay checked makes the commit fail
        # with a unique violation, which _replay_conflicts turns into state.replay
        self._exec(
            "INSERT INTO {s}.owner_proof (address, commitment, until) VALUES (%s, %s, %s)",
            (address, commitment, until),
        )

    def has_pow(self, seed: bytes, nonce: bytes) -> bool:
        sql = "SELECT 1 FROM {s}.pow WHERE seed = %s AND nonce = %s"
        return self._one(sql, (seed, nonce)) is not None

    def put_pow(self, seed: bytes, nonce: bytes) -> None:
        # as put_proof: a racing use fails the commit, and _replay_conflicts says state.replay
        self._exec("INSERT INTO {s}.pow (seed, nonce) VALUES (%s, %s)", (seed, nonce))

    # --- seeds ---------------------------------------------------------------------------------

    def seeds(self) -> list[tuple[bytes, int]]:
        with self._conn() as conn:
            rows = conn.execute(
                f"SELECT seed, created FROM {self._schema}.seed ORDER BY created DESC, seed_order"
            ).fetchall()
        return [(bytes(seed), int(created)) for seed, created in rows]

    def put_seed(self, seed: bytes, created: int) -> None:
        self._exec("INSERT INTO {s}.seed (seed, created) VALUES (%s, %s)", (seed, created))

    # --- maintenance ---------------------------------------------------------------------------

    def expire(self, now: int, idle_before: int, tombstone_until: int, seeds_kept: int) -> None:
        s = self._schema
        with self.transaction(), self._conn() as conn:
            conn.execute("SET LOCAL plan_cache_mode = auto")
            while True:  # bounded batches; mailboxes another transaction holds are skipped
                # the mailbox rows first, as every writer of envelopes does (_held_trigger)
                swept = conn.execute(
                    f"WITH m AS (SELECT address FROM {s}.mailbox WHERE address IN "
                    f"(SELECT address FROM {s}.envelope WHERE expires <= %(now)s "
                    "LIMIT %(batch)s) ORDER BY address FOR UPDATE SKIP LOCKED) "
                    f"DELETE FROM {s}.envelope e USING m WHERE e.address = m.address "
                    "AND e.expires <= %(now)s RETURNING e.address, e.id",
                    {"now": now, "batch": SWEEP_BATCH},
                ).fetchall()
                if swept:
                    with conn.cursor() as cursor:
                        cursor.executemany(
                            f"INSERT INTO {s}.tombstone (address, id, until) VALUES (%s, %s, %s) "
                            f"ON CONFLICT (address, id) DO UPDATE SET "
                            f"until = greatest({s}.tombstone.until, excluded.until)",
                            [(a, i, tombstone_until) for a, i in swept],
                        )
                if not swept:
                    break
            conn.execute(f"DELETE FROM {s}.tombstone WHERE until <= %s", (now,))
            conn.execute(f"DELETE FROM {s}.owner_proof WHERE until <= %s", (now,))
            conn.execute(f"DELETE FROM {s}.mailbox WHERE touched < %s", (idle_before,))
            conn.execute(
                f"DELETE FROM {s}.seed WHERE seed_order NOT IN (SELECT seed_order FROM {s}.seed "
                "ORDER BY created DESC, seed_order LIMIT %s)",
                (seeds_kept,),
            )
            conn.execute(f"DELETE FROM {s}.pow WHERE seed NOT IN (SELECT seed FROM {s}.seed)")

    def dump(self) -> dict[str, list[dict[str, object]]]:
        s = self._schema
        queries = {
            "mailbox": "SELECT address, kind, effort, deposit_key, touched, held, held_bytes, "
            "inbound_tokens, inbound_updated, handout_tokens, handout_updated "
            f"FROM {s}.mailbox ORDER BY address",
            "envelope": f"SELECT address, id, envelope, arrival, expires FROM {s}.envelope "
            "ORDER BY deposit_order",
            "bundle": f"SELECT address, bundle FROM {s}.bundle ORDER BY address",
            "one_time_prekey": f"SELECT address, prekey_id, prekey FROM {s}.one_time_prekey "
            "ORDER BY pool_order",
            "tombstone": f"SELECT address, id, until FROM {s}.tombstone ORDER BY address, id",
            "owner_proof": f"SELECT address, commitment, until FROM {s}.owner_proof "
            "ORDER BY address, commitment",
            "pow": f"SELECT seed, nonce FROM {s}.pow ORDER BY seed, nonce",
            "seed": f"SELECT seed, created FROM {s}.seed ORDER BY seed_order",
        }
        out: dict[str, list[dict[str, object]]] = {}
        with self._conn() as conn:
            for table, sql in queries.items():
                cursor = conn.execute(sql)
                rows = cursor.fetchall()  # first: in a pipeline, the description comes with it
                names = [d.name for d in cursor.description or ()]
                out[table] = [
                    {n: bytes(v) if isinstance(v, memoryview) else v for n, v in zip(names, row,
                                                                                     strict=True)}
                    for row in rows
                ]  # fmt: skip
        return out
