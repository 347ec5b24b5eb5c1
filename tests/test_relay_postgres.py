"""Spec §10.10: several relays on one PostgreSQL database — quotas hold and nothing is lost or
delivered twice when processes race on one mailbox; two sweepers expire at once without
errors or double work; the envelope table is hash-partitioned. (The store contract itself runs
on PostgreSQL in tests/test_relay_store.py.) Threads stand in for processes: each has its own
connection pool and relay."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import psycopg
import pytest

from protocol.edge.postgres_store import SCHEMA_VERSION, PostgresStore
from protocol.envelope import ENVELOPE_VERSION, MIN_BODY_SIZE, envelope_id
from protocol.errors import ProtocolError
from protocol.primitives import Ed25519KeyPair, Element, Scalar
from protocol.relay import (
    KIND_CONVERSATION,
    OPEN_OP,
    Deposit,
    DepositResponse,
    OpenBody,
    Relay,
    RelayLimits,
    owner_request,
    sign_deposit,
)
from tests.postgres import drop_schema, fresh_schema, postgres_dsn

NOW = 1_780_531_200
RELAY_ID = bytes(range(32))
WORKERS = 4


@pytest.fixture
def database() -> Iterator[tuple[str, str]]:
    dsn, schema = postgres_dsn(), fresh_schema()
    yield dsn, schema
    drop_schema(dsn, schema)


def _mailbox(relay: Relay) -> tuple[bytes, bytes]:
    owner = Scalar.random(os.urandom)
    address = Element.base_mul(owner).to_bytes()
    seed = os.urandom(32)
    body = OpenBody(KIND_CONVERSATION, deposit_key=Ed25519KeyPair(seed).public_key)
    request = owner_request(owner, relay_id=RELAY_ID, op=OPEN_OP, body=body, time=NOW,
                            rng=os.urandom)  # fmt: skip
    relay.owner(request, now=NOW)
    return address, seed


def _deposit(address: bytes, seed: bytes, ttl: int = 3600) -> tuple[bytes, bytes]:
    envelope = (
        bytes([ENVELOPE_VERSION]) + address + ttl.to_bytes(4, "big") + os.urandom(MIN_BODY_SIZE)
    )
    signature = sign_deposit(
        seed, relay_id=RELAY_ID, address=address, envelope_id=envelope_id(envelope), time=NOW
    )
    return envelope, Deposit(envelope, time=NOW, signature=signature).to_bytes()


def test_racing_relays_keep_the_quota_and_lose_nothing(database: tuple[str, str]) -> None:
    dsn, schema = database
    limits = RelayLimits(max_mailbox_envelopes=20)
    stores = [PostgresStore(dsn, schema=schema, pool_size=1, partitions=8) for _ in range(WORKERS)]
    relays = [Relay(store, RELAY_ID, limits) for store in stores]
    relays[0].maintain(now=NOW, rng=os.urandom)
    address, seed = _mailbox(relays[0])
    requests = [[_deposit(address, seed) for _ in range(10)] for _ in range(WORKERS)]
    accepted: list[bytes] = []
    codes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(WORKERS)

    def work(relay: Relay, mine: list[tuple[bytes, bytes]]) -> None:
        barrier.wait(timeout=30)
        for _envelope, request in mine:
            try:
                answer = DepositResponse.from_bytes(relay.deposit(request, now=NOW))
            except ProtocolError as error:
                with lock:
                    codes.append(error.code)
            else:
                with lock:
                    accepted.append(answer.id)

    pairs = zip(relays, requests, strict=True)
    threads = [threading.Thread(target=work, args=(r, q)) for r, q in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        held = stores[0].dump()["envelope"]
        assert len(accepted) == 20, (len(accepted), codes[:3])
        assert set(codes) == {"state.quota_count"} and len(codes) == 20
        assert sorted(r["id"] for r in held) == sorted(accepted)  # none lost, none twice
        by_id = {envelope_id(e): e for mine in requests for e, _ in mine}
        assert all(r["envelope"] == by_id[r["id"]] for r in held)
    finally:
        for store in stores:
            store.close()


def test_two_sweepers_expire_at_once(database: tuple[str, str]) -> None:
    dsn, schema = database
    stores = [PostgresStore(dsn, schema=schema, pool_size=1, partitions=8) for _ in range(2)]
    relays = [Relay(store, RELAY_ID) for store in stores]
    relays[0].maintain(now=NOW, rng=os.urandom)
    address, seed = _mailbox(relays[0])
    for _ in range(250):
        relays[0].deposit(_deposit(address, seed, ttl=60)[1], now=NOW)
    errors: list[BaseException] = []

    def sweep(relay: Relay) -> None:
        try:
            relay.maintain(now=NOW + 120, rng=os.urandom)
        except BaseException as error:  # collected: the test fails on any
            errors.append(error)

    threads = [threading.Thread(target=sweep, args=(r,)) for r in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        dump = stores[0].dump()
        assert errors == []
        assert dump["envelope"] == []
        assert len(dump["tombstone"]) == 250
    finally:
        for store in stores:
            store.close()


def test_the_envelope_table_is_hash_partitioned(database: tuple[str, str]) -> None:
    dsn, schema = database
    PostgresStore(dsn, schema=schema, partitions=8).close()
    with psycopg.connect(dsn) as conn:
        strategy = conn.execute(
            "SELECT p.partstrat FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
            "AND c.relname = 'envelope'",
            (schema,),
        ).fetchone()
        parts = conn.execute(
            "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
            "AND c.relname = 'envelope'",
            (schema,),
        ).fetchone()
        version = conn.execute(f"SELECT version FROM {schema}.schema_version").fetchall()
    assert strategy == ("h",) and parts == (8,) and version == [(SCHEMA_VERSION,)]
    # a second store on the same schema migrates nothing and accepts the layout
    PostgresStore(dsn, schema=schema, partitions=8).close()


def test_a_version_1_schema_is_migrated(database: tuple[str, str]) -> None:
    """Layout 1 kept the buckets in a table of their own and read a mailbox's usage from its
    envelopes; opening it moves both into the mailbox row, keeping every value, once, while
    other processes wait on the migration lock."""
    from protocol.relay.store import BUCKET_HANDOUT, BUCKET_INBOUND, EnvelopeRecord, MailboxRecord

    dsn, schema = database
    a, b = b"\xaa" * 32, b"\xbb" * 32
    with PostgresStore(dsn, schema=schema, partitions=4) as store:
        with store.transaction():
            store.put_mailbox(MailboxRecord(a, KIND_CONVERSATION, None, b"\x01" * 32, NOW))
            store.put_mailbox(MailboxRecord(b, KIND_CONVERSATION, None, b"\x02" * 32, NOW))
            for i in (1, 2, 3):
                store.put_envelope(
                    EnvelopeRecord(a, bytes([i]) * 32, b"e" * (10 * i), NOW, NOW + 9)
                )
            store.put_bucket(a, BUCKET_INBOUND, 5, NOW)
            store.put_bucket(a, BUCKET_HANDOUT, 6, NOW + 1)
            store.put_bucket(b, BUCKET_INBOUND, 7, NOW + 2)
        expected = store.dump()
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        s = schema
        conn.execute(
            f"CREATE TABLE {s}.bucket (address bytea NOT NULL REFERENCES {s}.mailbox (address) "
            "ON DELETE CASCADE, which text NOT NULL, tokens bigint NOT NULL, updated bigint "
            "NOT NULL, PRIMARY KEY (address, which))"
        )
        for which in ("inbound", "handout"):
            conn.execute(
                f"INSERT INTO {s}.bucket SELECT address, '{which}', {which}_tokens, "
                f"{which}_updated FROM {s}.mailbox WHERE {which}_tokens IS NOT NULL"
            )
        conn.execute(f"DROP TRIGGER envelope_held ON {s}.envelope")
        conn.execute(f"DROP FUNCTION {s}.envelope_held()")
        for column in ("held", "held_bytes", "inbound_tokens", "inbound_updated",
                       "handout_tokens", "handout_updated"):  # fmt: skip
            conn.execute(f"ALTER TABLE {s}.mailbox DROP COLUMN {column}")
        conn.execute(f"UPDATE {s}.schema_version SET version = 1")
    opened: list[PostgresStore] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            opened.append(PostgresStore(dsn, schema=schema, partitions=4))
        except BaseException as error:  # collected: the test fails on any
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == [] and len(opened) == 3
        assert opened[0].dump() == expected
        with opened[1].transaction():
            opened[1].put_envelope(EnvelopeRecord(a, b"\x04" * 32, b"e", NOW, NOW + 9))
        assert opened[2].mailbox_usage(a) == (4, 61)
    finally:
        for store in opened:
            store.close()
    with psycopg.connect(dsn) as conn:
        assert conn.execute(f"SELECT version FROM {schema}.schema_version").fetchall() == [
            (SCHEMA_VERSION,)
        ]


@pytest.mark.parametrize("record", ["pow", "deposit", "owner_proof"])
def test_a_replay_record_written_since_the_check_fails_the_commit(
    database: tuple[str, str], record: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Spec §10.10: the replay records' writes go out with the commit (pipeline mode), so a
    second process that recorded the same proof of work or owner proof between this
    transaction's check and its commit fails the commit: ``state.replay``, and nothing of the
    transaction stays — not even its writes queued before the conflicting one."""
    from protocol.errors import StateError
    from protocol.relay import KIND_FIRST_CONTACT
    from protocol.relay.store import EnvelopeRecord, MailboxRecord

    dsn, schema = database
    first = PostgresStore(dsn, schema=schema, pool_size=1, partitions=4)
    second = PostgresStore(dsn, schema=schema, pool_size=1, partitions=4)
    try:
        address, seed, nonce = b"\xaa" * 32, os.urandom(32), os.urandom(16)
        first.put_mailbox(MailboxRecord(address, KIND_FIRST_CONTACT, 256, None, NOW))
        before = first.dump()
        envelope = EnvelopeRecord(address, b"\x01" * 32, b"e" * 300, NOW, NOW + 60)
        with pytest.raises(StateError) as caught, first.transaction():
            if record == "owner_proof":
                assert not first.has_proof(address, nonce)
                second.put_proof(address, nonce, NOW + 60)  # the other process commits first
                first.put_mailbox(MailboxRecord(address, KIND_FIRST_CONTACT, 256, None, NOW + 5))
                first.put_proof(address, nonce, NOW + 60)
            else:
                view = first.deposit_view(address, envelope.id, NOW, seed, nonce, 2)
                assert view.mailbox is not None and not view.pow_used
                second.put_pow(seed, nonce)
                if record == "pow":
                    first.put_envelope(envelope)
                    first.put_pow(seed, nonce)
                else:
                    first.put_deposit(envelope, (1000, NOW), (seed, nonce))
        assert caught.value.code == "state.replay"
        after = first.dump()
        for table in ("pow", "owner_proof"):
            after[table] = before[table] = []  # the second process's record stays, rightly
        assert after == before
        # the connection is usable again, and nothing was logged about it
        assert first.mailbox_usage(address) == (0, 0)
        assert not [r for r in caplog.records if r.name.startswith("psycopg")]
    finally:
        first.close()
        second.close()


def test_a_failed_statement_rolls_back_and_the_connection_serves_on(
    database: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """A statement that fails inside a pipelined transaction (here a foreign-key violation, no
    replay record) raises the database's error, rolls back what the transaction wrote
    before it, and leaves the pooled connection idle for the next operation."""
    from protocol.relay.store import EnvelopeRecord, MailboxRecord

    dsn, schema = database
    with PostgresStore(dsn, schema=schema, pool_size=1, partitions=4) as store:
        a, b = b"\xaa" * 32, b"\xbb" * 32
        with pytest.raises(psycopg.errors.ForeignKeyViolation), store.transaction():
            store.put_mailbox(MailboxRecord(a, KIND_CONVERSATION, None, b"\x01" * 32, NOW))
            store.put_seed(b"s" * 32, NOW)
            # an envelope for a mailbox that does not exist
            store.put_envelope(EnvelopeRecord(b, b"\x01" * 32, b"e" * 300, NOW, NOW + 60))
            store.get_mailbox(a)
        assert store.get_mailbox(a) is None and store.seeds() == []
        store.put_mailbox(MailboxRecord(b, KIND_CONVERSATION, None, b"\x02" * 32, NOW))
        assert store.mailbox_count() == 1
    assert [r.getMessage() for r in caplog.records if r.name.startswith("psycopg")] == []

