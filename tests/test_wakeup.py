"""Spec §14.7: waiting fetches — the relay's tickets, the HTTP route that holds a fetch until a
deposit wakes it, and wake-ups across two relay processes sharing PostgreSQL (LISTEN/NOTIFY
carrying the mailbox address only). Waits are bounded: at most a few seconds each."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from protocol.edge.http import MEDIA_TYPE, WAIT_HEADER, Roles, build_app, read_error
from protocol.edge.wakeup import LocalNotifier
from protocol.relay import (
    ACK_OP,
    FETCH_OP,
    MAX_WAIT,
    AckBody,
    FetchBody,
    FetchResponse,
    FetchTicket,
    Relay,
    owner_request,
)
from protocol.relay import _core as relay_core
from tests import test_relay as tr


@pytest.fixture(autouse=True)
def _memory_store() -> Iterator[None]:
    tr._STORE[0] = tr.MemoryStore
    yield


def _fetch(world: tr.World, now: int = tr.NOW, op: int = FETCH_OP, body: object = None) -> bytes:
    return owner_request(
        world.bob_secret, relay_id=tr.RELAY_ID, op=op, body=body or FetchBody(100),  # type: ignore[arg-type]
        time=now, rng=world.rng,
    )  # fmt: skip


# --- the relay's tickets -------------------------------------------------------------------------


def test_a_fetch_that_finds_nothing_becomes_a_ticket_redeemed_once() -> None:
    w = tr._world("tickets")
    ticket = w.relay.fetch_or_wait(_fetch(w), now=tr.NOW, wait=10)
    assert isinstance(ticket, FetchTicket) and ticket.deadline == tr.NOW + 10
    assert "address" not in repr(ticket)
    envelope, deposit = w.first_contact()
    w.relay.deposit(deposit, now=tr.NOW + 1)
    held = FetchResponse.from_bytes(w.relay.redeem(ticket, now=tr.NOW + 1)).envelopes
    assert [e.envelope for e in held] == [envelope]
    assert tr.code(lambda: w.relay.redeem(ticket, now=tr.NOW + 1)) == "usage.bad_state"
    # with something held, the fetch answers at once
    answer = w.relay.fetch_or_wait(_fetch(w, tr.NOW + 2), now=tr.NOW + 2, wait=10)
    assert isinstance(answer, bytes) and len(FetchResponse.from_bytes(answer).envelopes) == 1


def test_ticket_refusals() -> None:
    w = tr._world("ticket refusals")
    late = w.relay.fetch_or_wait(_fetch(w), now=tr.NOW, wait=1)
    assert isinstance(late, FetchTicket)
    assert tr.code(lambda: w.relay.redeem(late, now=tr.NOW + 2)) == "state.stale"
    forged = FetchTicket(w.routing_id, 100, tr.NOW + 10)  # not issued by the relay
    assert tr.code(lambda: w.relay.redeem(forged, now=tr.NOW)) == "usage.bad_state"
    ack = _fetch(w, op=ACK_OP, body=AckBody((b"\x00" * 16,)))
    before = w.store.dump()
    assert tr.code(lambda: w.relay.fetch_or_wait(ack, now=tr.NOW, wait=5)) == "state.mismatch"
    for wait in (0, MAX_WAIT + 1):
        request = _fetch(w)
        with pytest.raises(tr.ProtocolError) as caught:
            w.relay.fetch_or_wait(request, now=tr.NOW, wait=wait)
        assert caught.value.code == "usage.bad_argument"
    wrong = bytearray(_fetch(w))
    wrong[-1] ^= 1
    assert tr.code(lambda: w.relay.fetch_or_wait(bytes(wrong), now=tr.NOW, wait=5)) in (
        "auth.failed", "decode.noncanonical", "decode.bad_element",
    )  # fmt: skip
    assert w.store.dump() == before  # nothing recorded by any refusal


def test_waiting_fetches_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relay_core, "MAX_WAITERS", 2)
    w = tr._world("waiters")
    tickets = [w.relay.fetch_or_wait(_fetch(w), now=tr.NOW, wait=5) for _ in range(2)]
    request = _fetch(w)
    before = w.store.dump()
    assert tr.code(lambda: w.relay.fetch_or_wait(request, now=tr.NOW, wait=5)) == (
        "state.rate_limited"
    )
    assert w.store.dump() == before  # refused before the proof was used
    # tickets past their deadline make room
    assert isinstance(w.relay.fetch_or_wait(request, now=tr.NOW + 6, wait=5), FetchTicket)
    assert all(isinstance(t, FetchTicket) for t in tickets)


# --- over HTTP -----------------------------------------------------------------------------------


def _client(roles: Roles) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=build_app(roles)), base_url="http://relay"
    )


async def _post(
    client: httpx.AsyncClient, path: str, body: bytes, **headers: str
) -> httpx.Response:
    return await client.post(path, content=body, headers={"content-type": MEDIA_TYPE, **headers})


def test_a_waiting_fetch_returns_when_a_deposit_arrives() -> None:
    w = tr._world("http wait")
    roles = Roles(relay=w.relay, clock=lambda: tr.NOW, rng=w.rng)
    envelope, deposit = w.first_contact()
    wait_request = _fetch(w)

    async def scenario() -> tuple[httpx.Response, float]:
        async with _client(roles) as client:
            started = time.monotonic()
            waiting = asyncio.create_task(_post(client, "/v1/relay/wait", wait_request))
            while not isinstance(roles.notifier, LocalNotifier) or not roles.notifier.waiting():
                await asyncio.sleep(0.01)
            assert (await _post(client, "/v1/relay/deposit", deposit)).status_code == 200
            answer = await asyncio.wait_for(waiting, 10)
            return answer, time.monotonic() - started

    answer, elapsed = asyncio.run(scenario())
    assert answer.status_code == 200
    assert [e.envelope for e in FetchResponse.from_bytes(answer.content).envelopes] == [envelope]
    assert elapsed < MAX_WAIT / 2  # woken, not timed out
    assert isinstance(roles.notifier, LocalNotifier) and roles.notifier.waiting() == 0


def test_a_waiting_fetch_ends_empty_after_its_wait_and_bad_requests_are_refused() -> None:
    w = tr._world("http timeout")
    roles = Roles(relay=w.relay, clock=lambda: tr.NOW, rng=w.rng)

    async def scenario() -> list[httpx.Response]:
        async with _client(roles) as client:
            started = time.monotonic()
            empty = await _post(client, "/v1/relay/wait", _fetch(w), **{WAIT_HEADER: "1"})
            assert 0.9 <= time.monotonic() - started < 5
            assert FetchResponse.from_bytes(empty.content).envelopes == ()
            ack = _fetch(w, op=ACK_OP, body=AckBody((b"\x00" * 16,)))
            return [
                empty,
                await _post(client, "/v1/relay/wait", _fetch(w), **{WAIT_HEADER: "0"}),
                await _post(client, "/v1/relay/wait", _fetch(w), **{WAIT_HEADER: "x"}),
                await _post(client, "/v1/relay/wait", ack, **{WAIT_HEADER: "1"}),
                await _post(client, "/v1/relay/wait", b"\xff" * 10),
                await client.post("/v1/relay/wait", content=_fetch(w)),  # no media type
            ]

    empty, zero, word, ack, garbage, untyped = asyncio.run(scenario())
    assert empty.status_code == 200
    assert (zero.status_code, read_error(zero.content)) == (400, "decode.range")
    assert (word.status_code, read_error(word.content)) == (400, "decode.range")
    assert (ack.status_code, read_error(ack.content)) == (409, "state.mismatch")
    assert garbage.status_code == 400 and (read_error(garbage.content) or "").startswith("decode.")
    assert (untyped.status_code, read_error(untyped.content)) == (400, "decode.type")


# --- across processes sharing PostgreSQL --------------------------------------------------------


def test_a_wake_up_crosses_relay_processes_through_postgres() -> None:
    """Two relays (each with its own store pool and notifier, as two processes have) on one
    schema: a fetch waiting at the first wakes when a deposit reaches the second, and the
    notification carries the mailbox address and nothing else."""
    import psycopg

    from protocol.edge.postgres_store import PostgresStore
    from protocol.edge.wakeup import PostgresNotifier
    from tests.postgres import drop_schema, fresh_schema, postgres_dsn

    dsn, schema = postgres_dsn(), fresh_schema()
    stores: list[PostgresStore] = []
    notifiers: list[PostgresNotifier] = []

    def store() -> PostgresStore:
        stores.append(PostgresStore(dsn, schema=schema, pool_size=2, partitions=2))
        return stores[-1]

    tr._STORE[0] = store
    try:
        w = tr._world("postgres wake")
        other = Relay(store(), tr.RELAY_ID)
        notifiers += [PostgresNotifier(dsn, schema=schema), PostgresNotifier(dsn, schema=schema)]
        first = Roles(relay=w.relay, clock=lambda: tr.NOW, rng=w.rng, notifier=notifiers[0])
        second = Roles(relay=other, clock=lambda: tr.NOW, rng=w.rng, notifier=notifiers[1])
        envelope, deposit = w.first_contact()
        wait_request = _fetch(w)
        with psycopg.connect(dsn, autocommit=True) as spy:
            spy.execute(f"LISTEN {notifiers[0].channel}")

            async def scenario() -> tuple[httpx.Response, float]:
                async with _client(first) as a, _client(second) as b:
                    started = time.monotonic()
                    waiting = asyncio.create_task(_post(a, "/v1/relay/wait", wait_request))
                    while not notifiers[0].waiting():
                        await asyncio.sleep(0.01)
                    assert (await _post(b, "/v1/relay/deposit", deposit)).status_code == 200
                    answer = await asyncio.wait_for(waiting, 10)
                    return answer, time.monotonic() - started

            answer, elapsed = asyncio.run(scenario())
            payloads = [n.payload for n in spy.notifies(timeout=1, stop_after=1)]
        held = FetchResponse.from_bytes(answer.content).envelopes
        assert answer.status_code == 200 and [e.envelope for e in held] == [envelope]
        assert elapsed < MAX_WAIT / 2
        assert payloads == [w.routing_id.hex()]
    finally:
        tr._STORE[0] = tr.MemoryStore
        for notifier in notifiers:
            notifier.close()
        for made in stores:
            made.close()
        drop_schema(dsn, schema)
