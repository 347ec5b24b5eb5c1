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

from protocol.edge.postgres_store import PostgresStore
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
    assert strategy == ("h",) and parts == (8,) and version == [(1,)]
    # a second store on the same schema migrates nothing and accepts the layout
    PostgresStore(dsn, schema=schema, partitions=8).close()
