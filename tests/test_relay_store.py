"""Spec §10.8–§10.9: one contract for every relay store (memory, SQLite; a networked store joins
by adding a factory to ``STORES``), a relay run on each, and what the SQLite file holds.

Every test runs against every store; results are compared with what the spec's interface says,
never with another store's output.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from protocol.edge.sqlite_store import SCHEMA_VERSION, SqliteStore
from protocol.errors import ProtocolError, StateError, UsageError
from protocol.relay import KIND_CONVERSATION, KIND_FIRST_CONTACT
from protocol.relay.store import (
    BUCKET_HANDOUT,
    BUCKET_INBOUND,
    STORED_FIELDS,
    EnvelopeRecord,
    MailboxRecord,
    MemoryStore,
    RelayStore,
)

A, B = b"\xaa" * 32, b"\xbb" * 32
NOW = 1_780_531_200

StoreFactory = Callable[[Path], RelayStore]

_DROPS: list[tuple[str, str]] = []


def _postgres(_tmp: Path) -> RelayStore:
    from protocol.edge.postgres_store import PostgresStore
    from tests.postgres import fresh_schema, postgres_dsn

    dsn, schema = postgres_dsn(), fresh_schema()
    _DROPS.append((dsn, schema))
    return PostgresStore(dsn, schema=schema, pool_size=2, partitions=4)


STORES: dict[str, StoreFactory] = {
    "memory": lambda _tmp: MemoryStore(),
    "sqlite": lambda tmp: SqliteStore(tmp / "relay.db"),
    "sqlite-normal": lambda tmp: SqliteStore(tmp / "relay.db", synchronous="NORMAL"),
    "postgres": _postgres,
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RelayStore]:
    made = STORES[request.param](tmp_path)
    yield made
    close = getattr(made, "close", None)
    if close is not None:
        close()
    from tests.postgres import drop_schema

    while _DROPS:
        drop_schema(*_DROPS.pop())


def _mailbox(
    address: bytes = A, kind: int = KIND_CONVERSATION, touched: int = NOW
) -> MailboxRecord:
    if kind == KIND_FIRST_CONTACT:
        return MailboxRecord(address, kind, 1 << 16, None, touched)
    return MailboxRecord(address, kind, None, b"\x01" * 32, touched)


def _envelope(
    i: int, address: bytes = A, size: int = 100, expires: int = NOW + 60
) -> EnvelopeRecord:
    return EnvelopeRecord(address, bytes([i]) * 32, bytes([i]) * size, NOW, expires)


def _sorted(dump: dict[str, list[dict[str, object]]]) -> dict[str, list[tuple[object, ...]]]:
    return {t: sorted(tuple(r.values()) for r in rows) for t, rows in dump.items()}  # type: ignore[type-var]


# --- the contract --------------------------------------------------------------------------------


def test_empty_store_has_every_table_and_nothing_in_it(store: RelayStore) -> None:
    assert store.dump() == {table: [] for table in STORED_FIELDS}
    assert store.mailbox_count() == 0
    assert store.get_mailbox(A) is None
    assert store.mailbox_usage(A) == (0, 0)
    assert store.seeds() == []


def test_mailbox_put_replace_delete(store: RelayStore) -> None:
    with store.transaction():
        store.put_mailbox(_mailbox(A, KIND_FIRST_CONTACT))
        store.put_mailbox(_mailbox(B))
    assert store.mailbox_count() == 2
    assert store.get_mailbox(A) == _mailbox(A, KIND_FIRST_CONTACT)
    rotated = MailboxRecord(B, KIND_CONVERSATION, None, b"\x02" * 32, NOW + 5)
    store.put_mailbox(rotated)
    assert store.get_mailbox(B) == rotated
    assert store.mailbox_count() == 2
    store.delete_mailbox(B)
    assert store.get_mailbox(B) is None
    assert store.mailbox_count() == 1
    store.delete_mailbox(B)  # deleting what is not there is no error
    assert store.mailbox_count() == 1


def test_delete_mailbox_takes_its_rows_and_leaves_replay_records(store: RelayStore) -> None:
    with store.transaction():
        store.put_mailbox(_mailbox(A, KIND_FIRST_CONTACT))
        store.put_mailbox(_mailbox(B))
        store.put_envelope(_envelope(1, A))
        store.put_envelope(_envelope(2, B))
        store.put_bundle(A, b"bundle")
        store.add_one_time(A, [(1, b"p1")])
        store.put_bucket(A, BUCKET_INBOUND, 5, NOW)
        store.put_bucket(A, BUCKET_HANDOUT, 6, NOW)
        store.put_tombstone(A, b"\x07" * 32, NOW + 100)
        store.put_proof(A, b"\x08" * 32, NOW + 100)
    store.delete_mailbox(A)
    dump = store.dump()
    assert [r["address"] for r in dump["envelope"]] == [B]
    assert dump["bundle"] == [] and dump["one_time_prekey"] == []
    assert [r["address"] for r in dump["mailbox"]] == [B]  # with A's usage and buckets
    assert len(dump["tombstone"]) == 1 and len(dump["owner_proof"]) == 1
    assert store.get_bucket(A, BUCKET_INBOUND) is None
    assert store.get_bucket(A, BUCKET_HANDOUT) is None
    assert store.mailbox_usage(A) == (0, 0)


def test_envelopes_in_deposit_order_with_limits(store: RelayStore) -> None:
    store.put_mailbox(_mailbox())
    for i in (5, 3, 9, 1):
        store.put_envelope(_envelope(i, size=100))
    store.put_envelope(_envelope(7, expires=NOW))  # expires at now: not handed out
    assert store.has_envelope(A, bytes([9]) * 32)
    assert not store.has_envelope(B, bytes([9]) * 32)
    assert store.mailbox_usage(A) == (5, 5 * 100)  # expired ones included
    ids = [r.id[0] for r in store.envelopes(A, NOW, 100, 1 << 20)]
    assert ids == [5, 3, 9, 1]
    assert [r.id[0] for r in store.envelopes(A, NOW, 2, 1 << 20)] == [5, 3]
    assert [r.id[0] for r in store.envelopes(A, NOW, 100, 250)] == [5, 3]
    assert [r.id[0] for r in store.envelopes(A, NOW, 100, 10)] == [5]  # at least one
    assert store.envelopes(B, NOW, 100, 1 << 20) == []
    record = store.envelopes(A, NOW, 1, 1 << 20)[0]
    assert record == _envelope(5, size=100)


def test_delete_envelopes_returns_what_it_deleted(store: RelayStore) -> None:
    store.put_mailbox(_mailbox())
    store.put_mailbox(_mailbox(B))
    for i in (1, 2, 3):
        store.put_envelope(_envelope(i))
    store.put_envelope(_envelope(4, address=B))
    one, two, four = bytes([1]) * 32, bytes([2]) * 32, bytes([4]) * 32
    assert store.delete_envelopes(A, [two, two, four, b"\x00" * 32, one]) == [two, one]
    assert [r.id[0] for r in store.envelopes(A, NOW, 100, 1 << 20)] == [3]
    assert store.has_envelope(B, four)  # another mailbox's envelope stays
    assert store.delete_envelopes(A, []) == []
    assert store.mailbox_usage(A) == (1, 100)


def test_bundle_and_one_time_pool(store: RelayStore) -> None:
    store.put_mailbox(_mailbox(A, KIND_FIRST_CONTACT))
    assert store.get_bundle(A) is None
    store.put_bundle(A, b"first")
    store.put_bundle(A, b"second")
    assert store.get_bundle(A) == b"second"
    store.add_one_time(A, [(3, b"p3"), (1, b"p1")])
    store.add_one_time(A, [(1, b"other"), (2, b"p2")])  # a repeated id keeps the first
    assert store.one_time_count(A) == 3
    assert [store.take_one_time(A) for _ in range(4)] == [b"p3", b"p1", b"p2", None]
    assert store.one_time_count(A) == 0
    assert store.take_one_time(B) is None


def test_buckets(store: RelayStore) -> None:
    store.put_mailbox(_mailbox())
    assert store.get_bucket(A, BUCKET_INBOUND) is None
    store.put_bucket(A, BUCKET_INBOUND, 10, NOW)
    store.put_bucket(A, BUCKET_HANDOUT, 3, NOW + 1)
    store.put_bucket(A, BUCKET_INBOUND, 9, NOW + 2)
    assert store.get_bucket(A, BUCKET_INBOUND) == (9, NOW + 2)
    assert store.get_bucket(A, BUCKET_HANDOUT) == (3, NOW + 1)
    store.put_bucket(B, BUCKET_INBOUND, 1, NOW)  # an unknown mailbox has no bucket to set
    assert store.get_bucket(B, BUCKET_INBOUND) is None
    assert store.dump()["mailbox"][0]["inbound_tokens"] == 9
    with pytest.raises(UsageError) as caught:
        store.put_bucket(A, "outbound", 1, NOW)
    assert caught.value.code == "usage.bad_argument"
    with pytest.raises(UsageError):
        store.get_bucket(A, "outbound")


def _usage_from_rows(store: RelayStore, address: bytes) -> tuple[int, int]:
    """A mailbox's usage counted from its envelope rows, independently of the store's own."""
    rows = [r for r in store.dump()["envelope"] if r["address"] == address]
    return len(rows), sum(len(r["envelope"]) for r in rows)  # type: ignore[arg-type]


def test_usage_follows_every_write_and_delete(store: RelayStore) -> None:
    """§10.4's quotas read a mailbox's usage from its row (the SQL stores keep it there): after
    every kind of write and delete it equals what its envelope rows add up to."""
    import random

    rng = random.Random(7)
    store.put_mailbox(_mailbox(A))
    store.put_mailbox(_mailbox(B))
    live: dict[bytes, list[int]] = {A: [], B: []}
    for step in range(120):
        address = rng.choice((A, B))
        action = rng.randrange(6)
        with store.transaction():
            if action <= 2 or not live[address]:
                i = rng.randrange(1, 256)
                size = rng.randrange(1, 300)
                expires = NOW + rng.choice((-5, 60))  # some already expired
                store.put_envelope(_envelope(i, address, size, expires))  # new or replaced
                if i not in live[address]:
                    live[address].append(i)
            elif action == 3:
                gone = rng.sample(live[address], min(len(live[address]), 3))
                store.delete_envelopes(address, [bytes([i]) * 32 for i in gone])
                live[address] = [i for i in live[address] if i not in gone]
            elif action == 4:
                store.expire(NOW, NOW - 10**6, NOW + 100, 2)
                ids = {r["id"] for r in store.dump()["envelope"] if r["address"] == address}
                live[address] = [i for i in live[address] if bytes([i]) * 32 in ids]
            else:
                rotated = MailboxRecord(address, KIND_CONVERSATION, None, b"\x03" * 32, NOW)
                store.put_mailbox(rotated)  # replacing the mailbox keeps what it holds
        for mailbox in (A, B):
            assert store.mailbox_usage(mailbox) == _usage_from_rows(store, mailbox), step
    store.delete_mailbox(A)
    assert store.mailbox_usage(A) == (0, 0)
    store.put_mailbox(_mailbox(A))  # a mailbox opened again starts empty
    assert store.mailbox_usage(A) == (0, 0) and store.get_bucket(A, BUCKET_INBOUND) is None


def test_deposit_view_agrees_with_the_single_table_reads(store: RelayStore) -> None:
    """A deposit's one-call read (§10.4) against the same reads made table by table."""
    from protocol.relay.store import read_deposit_view

    seeds = [b"o" * 32, b"p" * 32, b"q" * 32]
    with store.transaction():
        store.put_mailbox(_mailbox(A, KIND_FIRST_CONTACT))
        store.put_mailbox(_mailbox(B))
        store.put_envelope(_envelope(1, A, 100))
        store.put_envelope(_envelope(2, A, 50, expires=NOW - 1))
        store.put_tombstone(A, bytes([3]) * 32, NOW + 10)
        store.put_tombstone(A, bytes([4]) * 32, NOW)  # lapsed at NOW
        store.put_bucket(A, BUCKET_INBOUND, 77, NOW - 3)
        for i, seed in enumerate(seeds):
            store.put_seed(seed, NOW - 100 + i)
        store.put_pow(b"q" * 32, b"n" * 16)
    cases = [
        (address, bytes([i]) * 32, seed, nonce)
        for address in (A, B, b"\xcc" * 32)
        for i in (1, 2, 3, 4, 5)
        for seed, nonce in (
            (None, None), (b"q" * 32, b"n" * 16), (b"p" * 32, b"m" * 16), (b"o" * 32, b"n" * 16),
            (b"z" * 32, b"n" * 16),
        )
    ]  # fmt: skip
    for address, envelope_id, seed, nonce in cases:
        with store.transaction():
            view = store.deposit_view(address, envelope_id, NOW, seed, nonce, 2)
            reference = read_deposit_view(store, address, envelope_id, NOW, seed, nonce, 2)
        assert view == reference, (address[:1], envelope_id[:1], seed, nonce)
    first = store.deposit_view(A, bytes([1]) * 32, NOW, b"q" * 32, b"n" * 16, 2)
    assert (first.stored, first.seed_kept, first.pow_used) == (True, True, True)
    assert (first.held, first.held_bytes, first.inbound) == (2, 150, (77, NOW - 3))
    assert store.deposit_view(A, bytes([3]) * 32, NOW, None, None, 2).tombstoned
    assert not store.deposit_view(A, bytes([1]) * 32, NOW, b"o" * 32, b"x" * 16, 2).seed_kept
    assert store.deposit_view(b"\xcc" * 32, bytes([1]) * 32, NOW, None, None, 2).mailbox is None


def test_put_deposit_writes_all_three_or_nothing(store: RelayStore) -> None:
    with store.transaction():
        store.put_mailbox(_mailbox(A, KIND_FIRST_CONTACT))
    with store.transaction():
        store.put_deposit(_envelope(1, A, 120), (500, NOW), (b"s" * 32, b"n" * 16))
    assert store.has_envelope(A, bytes([1]) * 32) and store.has_pow(b"s" * 32, b"n" * 16)
    assert store.get_bucket(A, BUCKET_INBOUND) == (500, NOW)
    assert store.mailbox_usage(A) == (1, 120)
    with store.transaction():
        store.put_deposit(_envelope(2, A, 30), (400, NOW + 1), None)  # a capability deposit
    assert store.mailbox_usage(A) == (2, 150) and len(store.dump()["pow"]) == 1
    before = store.dump()
    with pytest.raises(StateError) as caught, store.transaction():
        # a proof of work another process recorded since the relay's check (§10.10)
        store.put_deposit(_envelope(3, A, 10), (300, NOW + 2), (b"s" * 32, b"n" * 16))
    assert caught.value.code == "state.replay"
    assert store.dump() == before


def test_replay_records(store: RelayStore) -> None:
    envelope_id, commitment = b"\x01" * 32, b"\x02" * 32
    store.put_tombstone(A, envelope_id, NOW + 10)
    store.put_tombstone(A, envelope_id, NOW + 5)  # a tombstone never shortens
    assert store.has_tombstone(A, envelope_id, NOW + 9)
    assert not store.has_tombstone(A, envelope_id, NOW + 10)
    assert not store.has_tombstone(B, envelope_id, NOW)
    store.put_proof(A, commitment, NOW + 10)
    store.put_proof(A, b"\x03" * 32, NOW + 20)
    assert store.has_proof(A, commitment) and not store.has_proof(B, commitment)
    assert store.proof_count(A, NOW) == 2
    assert store.proof_count(A, NOW + 10) == 1
    store.put_pow(b"s" * 32, b"n" * 16)
    with pytest.raises(StateError) as caught:  # a use that raced the relay's check (§10.10)
        store.put_pow(b"s" * 32, b"n" * 16)
    assert caught.value.code == "state.replay"
    with pytest.raises(StateError) as caught:
        store.put_proof(A, commitment, NOW + 30)
    assert caught.value.code == "state.replay"
    assert store.has_pow(b"s" * 32, b"n" * 16) and not store.has_pow(b"t" * 32, b"n" * 16)
    assert len(store.dump()["pow"]) == 1


def test_seeds_newest_first(store: RelayStore) -> None:
    store.put_seed(b"1" * 32, NOW)
    store.put_seed(b"3" * 32, NOW + 20)
    store.put_seed(b"2" * 32, NOW + 10)
    assert store.seeds() == [(b"3" * 32, NOW + 20), (b"2" * 32, NOW + 10), (b"1" * 32, NOW)]


def test_expire(store: RelayStore) -> None:
    with store.transaction():
        store.put_mailbox(_mailbox(A, touched=NOW))
        store.put_mailbox(_mailbox(B, touched=NOW - 1000))
        store.put_envelope(_envelope(1, expires=NOW))
        store.put_envelope(_envelope(2, expires=NOW + 1))
        store.put_envelope(_envelope(3, address=B))
        store.put_tombstone(A, b"\x09" * 32, NOW)
        store.put_tombstone(A, b"\x0a" * 32, NOW + 1)
        store.put_proof(A, b"\x0b" * 32, NOW)
        store.put_proof(A, b"\x0c" * 32, NOW + 1)
        for i, seed in enumerate((b"o" * 32, b"p" * 32, b"q" * 32)):
            store.put_seed(seed, NOW - 100 + i)
            store.put_pow(seed, b"n" * 16)
    with store.transaction():
        store.expire(NOW, NOW - 500, NOW + 7200, 2)
    dump = store.dump()
    assert [r["id"] for r in dump["envelope"]] == [bytes([2]) * 32]
    # the expired envelope leaves a tombstone; the idle mailbox's envelope goes with it
    assert store.has_tombstone(A, bytes([1]) * 32, NOW + 7199)
    assert not store.has_tombstone(A, bytes([3]) * 32, NOW)
    assert sorted(r["id"] for r in dump["tombstone"]) == [bytes([1]) * 32, b"\x0a" * 32]
    assert [r["commitment"] for r in dump["owner_proof"]] == [b"\x0c" * 32]
    assert store.get_mailbox(B) is None and store.get_mailbox(A) is not None
    assert [s for s, _ in store.seeds()] == [b"q" * 32, b"p" * 32]
    assert sorted(r["seed"] for r in dump["pow"]) == [b"p" * 32, b"q" * 32]  # type: ignore[type-var]
    store.checkpoint()


def test_dump_has_exactly_the_fields_of_section_10_8(store: RelayStore) -> None:
    with store.transaction():
        store.put_mailbox(_mailbox(A, KIND_FIRST_CONTACT))
        store.put_envelope(_envelope(1))
        store.put_bundle(A, b"b")
        store.add_one_time(A, [(1, b"p")])
        store.put_bucket(A, BUCKET_INBOUND, 1, NOW)
        store.put_tombstone(A, b"\x01" * 32, NOW + 1)
        store.put_proof(A, b"\x02" * 32, NOW + 1)
        store.put_pow(b"s" * 32, b"n" * 16)
        store.put_seed(b"s" * 32, NOW)
    dump = store.dump()
    assert set(dump) == set(STORED_FIELDS)
    for table, rows in dump.items():
        assert len(rows) == 1, table
        assert tuple(rows[0]) == STORED_FIELDS[table], table


def test_a_failed_transaction_leaves_the_store_as_it_was(store: RelayStore) -> None:
    with store.transaction():
        store.put_mailbox(_mailbox())
        store.put_envelope(_envelope(1))
    before = store.dump()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), store.transaction():
        store.put_envelope(_envelope(2))
        store.put_mailbox(_mailbox(B))
        store.delete_envelopes(A, [bytes([1]) * 32])
        raise Boom
    if isinstance(store, MemoryStore):
        # the memory store's transactions only mark the boundary: the relay makes every check
        # before its first write (spec §10.9), which test_relay.py checks operation by operation
        return
    assert store.dump() == before


# --- a relay on every store ---------------------------------------------------------------------


def test_a_relay_runs_on_every_store(store: RelayStore) -> None:
    """The relay's own behaviour tests run on the memory store; here one conversation's
    mailbox life cycle runs on each store: open, deposit, refusals that change nothing, fetch,
    ack, expiry."""
    from tests import test_relay as tr

    world = tr._world("store contract")
    relay = tr.Relay(store, tr.RELAY_ID)
    relay.maintain(now=tr.NOW, rng=world.rng)
    world.relay, world.store = relay, store  # type: ignore[assignment]
    world.owner(tr.OPEN_OP, tr.OpenBody(KIND_FIRST_CONTACT, tr.MIN_EFFORT))
    base = world.prekeys.bundle()
    hosted = tr.FirstContactBundle(
        base.identity, base.signed_prekey, None, world.keys.public(tr.EPOCH)
    )
    pool = tuple(p.public for p in world.prekeys._one_time.values())
    world.owner(tr.PUBLISH_OP, tr.PublishBody(hosted, pool))
    envelope, deposit = world.first_contact(b"over the store")
    assert relay.deposit(deposit, now=tr.NOW + 1)
    before = store.dump()
    with pytest.raises(ProtocolError) as caught:
        relay.deposit(deposit[:-1] + bytes([deposit[-1] ^ 1]), now=tr.NOW + 1)
    assert caught.value.code.startswith(("state.", "decode.", "auth."))
    assert store.dump() == before
    fetched = world.fetch(now=tr.NOW + 2)
    assert [e.envelope for e in fetched.envelopes] == [envelope]
    world.owner(tr.ACK_OP, tr.AckBody((fetched.envelopes[0].id,)), now=tr.NOW + 3)
    assert world.fetch(now=tr.NOW + 4).envelopes == ()
    relay.maintain(now=tr.NOW + 10 * 86_400, rng=world.rng)
    assert store.dump()["envelope"] == []


# --- SQLite specifics ----------------------------------------------------------------------------


def test_sqlite_tables_hold_exactly_the_stored_fields(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "r.db").close()
    db = sqlite3.connect(tmp_path / "r.db")
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == set(STORED_FIELDS) | {"schema_version"}
    for table, fields in STORED_FIELDS.items():
        columns = tuple(row[1] for row in db.execute(f"PRAGMA table_info({table})"))
        assert columns == fields, table
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()


def test_sqlite_keeps_what_it_committed_across_reopening(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "r.db") as first:
        first.put_mailbox(_mailbox())
        first.put_envelope(_envelope(1))
        kept = first.dump()
    with SqliteStore(tmp_path / "r.db") as again:
        assert again.dump() == kept


def test_sqlite_migrates_a_version_1_file(tmp_path: Path) -> None:
    """Layout 1 kept the buckets in a table of their own and read a mailbox's usage from its
    envelopes; opening such a file moves both into the mailbox row, keeping every value."""
    path = tmp_path / "r.db"
    with SqliteStore(path) as store:
        store.put_mailbox(_mailbox(A, KIND_FIRST_CONTACT))
        store.put_mailbox(_mailbox(B))
        for i in (1, 2, 3):
            store.put_envelope(_envelope(i, A, 10 * i))
        store.put_bucket(A, BUCKET_INBOUND, 5, NOW)
        store.put_bucket(A, BUCKET_HANDOUT, 6, NOW + 1)
        store.put_bucket(B, BUCKET_INBOUND, 7, NOW + 2)
        expected = store.dump()
    _downgrade_sqlite_to_version_1(path)
    with SqliteStore(path) as store:
        assert store.dump() == expected
        store.put_envelope(_envelope(4, A, 1))  # usage is kept from here on
        assert store.mailbox_usage(A) == (4, 61)
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    db.close()


def _downgrade_sqlite_to_version_1(path: Path) -> None:
    """Rewrite a file of this layout into layout 1, as the code of layout 1 left it."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    db.execute(
        "CREATE TABLE bucket (address BLOB NOT NULL REFERENCES mailbox (address) ON DELETE "
        "CASCADE, which TEXT NOT NULL, tokens INTEGER NOT NULL, updated INTEGER NOT NULL, "
        "PRIMARY KEY (address, which)) WITHOUT ROWID"
    )
    for which in ("inbound", "handout"):
        db.execute(
            f"INSERT INTO bucket SELECT address, '{which}', {which}_tokens, {which}_updated "
            f"FROM mailbox WHERE {which}_tokens IS NOT NULL"
        )
    for trigger in ("insert", "delete", "update"):
        db.execute(f"DROP TRIGGER envelope_held_{trigger}")
    for column in ("held", "held_bytes", "inbound_tokens", "inbound_updated", "handout_tokens",
                   "handout_updated"):  # fmt: skip
        db.execute(f"ALTER TABLE mailbox DROP COLUMN {column}")
    db.execute("CREATE INDEX envelope_usage ON envelope (address, length(envelope))")
    db.execute("UPDATE schema_version SET version = 1")
    db.execute("COMMIT")
    db.close()


def test_sqlite_refuses_another_layout_and_unknown_levels(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        SqliteStore(tmp_path / "r.db", synchronous="OFF")
    assert caught.value.code == "usage.bad_argument"
    SqliteStore(tmp_path / "r.db").close()
    db = sqlite3.connect(tmp_path / "r.db")
    db.execute("UPDATE schema_version SET version = 99")
    db.commit()
    db.close()
    with pytest.raises(sqlite3.DatabaseError):
        SqliteStore(tmp_path / "r.db")
    assert "secret" not in repr(SqliteStore(tmp_path / "other.db"))
