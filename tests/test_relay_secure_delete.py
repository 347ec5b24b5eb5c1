"""Spec §10.9: after an acknowledgement or an expiry, and the maintenance that follows, the bytes
of a deleted envelope are in neither the SQLite database file nor its write-ahead log.

A relay on an SQLite file takes envelopes of random bytes (small ones that share pages, large
ones that spill into overflow pages); the owner acknowledges some, others expire, one stays.
Then both files are scanned for pieces of every envelope: the deleted ones must be absent, the
kept one present (so the scan itself can fail).
"""

from __future__ import annotations

import os
from pathlib import Path

from protocol.edge.sqlite_store import SqliteStore
from protocol.envelope import ENVELOPE_VERSION, envelope_id
from protocol.primitives import Ed25519KeyPair, Element, Scalar
from protocol.relay import (
    ACK_OP,
    FETCH_OP,
    KIND_CONVERSATION,
    OPEN_OP,
    AckBody,
    Deposit,
    FetchBody,
    FetchResponse,
    OpenBody,
    Relay,
    owner_request,
    sign_deposit,
)

NOW = 1_780_531_200
RELAY_ID = bytes(range(32))


def _pieces(data: bytes) -> list[bytes]:
    """Three 24-byte pieces of an envelope's random body: start, middle and end."""
    body = data[37:]
    middle = len(body) // 2
    return [body[:24], body[middle : middle + 24], body[-24:]]


def _files(db: Path) -> bytes:
    wal = Path(str(db) + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_deleted_envelopes_leave_no_bytes_in_the_database_or_its_log(tmp_path: Path) -> None:
    db = tmp_path / "relay.db"
    store = SqliteStore(db)
    relay = Relay(store, RELAY_ID)
    relay.maintain(now=NOW, rng=os.urandom)
    owner = Scalar.random(os.urandom)
    address = Element.base_mul(owner).to_bytes()
    seed = os.urandom(32)

    def as_owner(op: int, body: object, now: int) -> bytes:
        request = owner_request(
            owner,
            relay_id=RELAY_ID,
            op=op,
            body=body,
            time=now,
            rng=os.urandom,  # type: ignore[arg-type]
        )
        return relay.owner(request, now=now)

    def deposit(ttl: int, body_size: int) -> bytes:
        envelope = (
            bytes([ENVELOPE_VERSION]) + address + ttl.to_bytes(4, "big") + os.urandom(body_size)
        )
        signature = sign_deposit(
            seed, relay_id=RELAY_ID, address=address, envelope_id=envelope_id(envelope), time=NOW
        )
        relay.deposit(Deposit(envelope, time=NOW, signature=signature).to_bytes(), now=NOW)
        return envelope

    as_owner(OPEN_OP, OpenBody(KIND_CONVERSATION, deposit_key=Ed25519KeyPair(seed).public_key), NOW)
    sizes = [256, 288, 4096, 16384]
    acked = [deposit(86_400, size) for size in sizes]
    expiring = [deposit(60, size) for size in sizes]
    kept = deposit(86_400, 4096)
    store.checkpoint()  # everything so far is in the database file, as it would be in time
    everything = _files(db)
    for envelope in [*acked, *expiring, kept]:
        assert all(piece in everything for piece in _pieces(envelope))

    fetched = FetchResponse.from_bytes(as_owner(FETCH_OP, FetchBody(100), NOW + 1))
    ids = {e.envelope: e.id for e in fetched.envelopes}
    as_owner(ACK_OP, AckBody(tuple(ids[e] for e in acked)), NOW + 2)
    relay.maintain(now=NOW + 120, rng=os.urandom)  # the 60-second envelopes expire

    remaining = _files(db)
    for envelope in [*acked, *expiring]:
        for piece in _pieces(envelope):
            assert piece not in remaining, "a deleted envelope's bytes are still on disk"
    assert all(piece in remaining for piece in _pieces(kept))
    wal = Path(str(db) + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    store.close()
