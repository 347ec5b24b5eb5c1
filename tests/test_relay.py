"""Spec §10: the relay core — every operation, its check order and codes, transactional failures.

Every test runs twice: on the in-memory store and on SQLite (the store contract itself, and
PostgreSQL, are in ``tests/test_relay_store.py``). Failures compare the store's complete
contents before and after.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.blinding import epoch_of
from protocol.codec import encode
from protocol.edge.sqlite_store import SqliteStore
from protocol.envelope import (
    Content,
    ConversationMailbox,
    FirstContactBundle,
    FirstContactKeys,
    envelope_id,
    open_first_contact,
    seal_first_contact,
    seal_session,
)
from protocol.errors import AuthenticationError, DecodeError, ProtocolError, StateError
from protocol.handshake import PrekeyStore
from protocol.kat import SeededRng
from protocol.keys import IdentityKeyPair, OneTimePrekey
from protocol.primitives import Element, Scalar
from protocol.relay import (
    ACK_OP,
    DELETE_OP,
    FETCH_OP,
    KIND_CONVERSATION,
    KIND_FIRST_CONTACT,
    MIN_EFFORT,
    OPEN_OP,
    PROOF_WINDOW,
    PUBLISH_OP,
    SEED_LIFETIME,
    TOMBSTONE_LIFETIME,
    AckBody,
    AckResponse,
    BundleRequest,
    BundleResponse,
    DeleteBody,
    Deposit,
    DepositResponse,
    FetchBody,
    FetchResponse,
    MemoryStore,
    OpenBody,
    OwnerRequest,
    PublishBody,
    Relay,
    RelayLimits,
    RelayStore,
    owner_request,
    pow_valid,
    pow_value,
    sign_deposit,
    solve_pow,
)

NOW = 1_780_531_200
EPOCH = epoch_of(NOW)
RELAY_ID = bytes(range(32))
TTL = 3600

#: The store every relay of this module runs on; the fixture below runs each test on each.
_STORE: list[Callable[[], RelayStore]] = [MemoryStore]


@pytest.fixture(autouse=True, params=["memory", "sqlite"])
def _each_store(request: pytest.FixtureRequest) -> Iterator[None]:
    """Spec §10.9: the relay behaves the same on every store (SQLite in memory here; the file
    store's own properties are tested in test_relay_store.py and its neighbours)."""
    made: list[SqliteStore] = []

    def sqlite() -> RelayStore:
        made.append(SqliteStore(":memory:"))
        return made[-1]

    _STORE[0] = MemoryStore if request.param == "memory" else sqlite
    yield
    _STORE[0] = MemoryStore
    for store in made:
        store.close()


def code(action: Callable[[], object]) -> str:
    with pytest.raises(ProtocolError) as caught:
        action()
    return caught.value.code


@dataclass
class World:
    """A relay, Bob's routing-ID mailbox with his hosted bundle, Alice as a sender."""

    relay: Relay
    store: RelayStore
    rng: SeededRng
    bob_secret: Scalar
    routing_id: bytes
    bob: IdentityKeyPair
    alice: IdentityKeyPair
    prekeys: PrekeyStore
    keys: FirstContactKeys

    def owner(self, op: int, body: object, *, now: int = NOW, secret: Scalar | None = None,
              relay_id: bytes = RELAY_ID) -> bytes:  # fmt: skip
        request = owner_request(
            secret or self.bob_secret,
            relay_id=relay_id,
            op=op,
            body=body,  # type: ignore[arg-type]
            time=now,
            rng=self.rng,
        )
        return self.relay.owner(request, now=now)

    def bundle(self, address: bytes | None = None, now: int = NOW) -> BundleResponse:
        request = BundleRequest(address or self.routing_id).to_bytes()
        return BundleResponse.from_bytes(self.relay.bundle(request, now=now))

    def first_contact(self, text: bytes = b"hi", now: int = NOW) -> tuple[bytes, bytes]:
        """A sealed first contact to Bob and a deposit request paying its proof of work."""
        return self.first_contact_from(ConversationMailbox.generate(self.rng), text, now)

    def first_contact_from(
        self, mailbox: ConversationMailbox, text: bytes = b"hi", now: int = NOW
    ) -> tuple[bytes, bytes]:
        response = self.bundle(now=now)
        sealed = seal_first_contact(
            self.alice,
            response.bundle,
            self.routing_id,
            Content(text, mailbox.grant(1)).to_bytes(),
            ttl=TTL,
            rng=self.rng,
        )
        nonce = solve_pow(
            response.seed,
            self.routing_id,
            envelope_id(sealed.envelope),
            response.effort,
            rng=self.rng,
        )
        return sealed.envelope, Deposit(sealed.envelope, response.seed, nonce).to_bytes()

    def fetch(self, now: int = NOW, secret: Scalar | None = None) -> FetchResponse:
        return FetchResponse.from_bytes(
            self.owner(FETCH_OP, FetchBody(100), now=now, secret=secret)
        )


def _world(label: str = "relay", limits: RelayLimits | None = None, opks: int = 3) -> World:
    rng = SeededRng(label.encode())
    store = _STORE[0]()
    relay = Relay(store, RELAY_ID, limits)
    relay.maintain(now=NOW, rng=rng)
    bob, alice = IdentityKeyPair.generate(rng), IdentityKeyPair.generate(rng)
    prekeys, _ = PrekeyStore.create(bob, now=NOW, rng=rng, batch=opks)
    keys = FirstContactKeys(bob)
    keys.maintain(now=NOW, rng=rng)
    secret = Scalar.random(rng)
    world = World(
        relay, store, rng, secret, Element.base_mul(secret).to_bytes(), bob, alice, prekeys, keys
    )
    world.owner(OPEN_OP, OpenBody(KIND_FIRST_CONTACT, MIN_EFFORT))
    base = prekeys.bundle()
    hosted = FirstContactBundle(base.identity, base.signed_prekey, None, keys.public(EPOCH))
    pool = tuple(p.public for p in prekeys._one_time.values())
    world.owner(PUBLISH_OP, PublishBody(hosted, pool))
    return world


# --- the whole flow ---------------------------------------------------------------------------


def test_first_contact_then_conversation_through_the_relay() -> None:
    w = _world()
    alice_mailbox = ConversationMailbox.generate(w.rng)
    envelope, deposit = w.first_contact_from(alice_mailbox, b"hello Bob")
    stored = DepositResponse.from_bytes(w.relay.deposit(deposit, now=NOW + 1))
    assert stored.id == envelope_id(envelope)
    fetched = w.fetch(NOW + 2).envelopes
    assert [e.envelope for e in fetched] == [envelope] and fetched[0].arrival == NOW + 1
    opened = open_first_contact(
        fetched[0].envelope, epoch=EPOCH, keys=w.keys, prekeys=w.prekeys, rng=w.rng
    )
    grant = Content.from_bytes(opened.plaintext).grant
    assert grant is not None and opened.peer == w.alice.public
    # Alice opens her reply mailbox with the deposit key she granted Bob.
    assert alice_mailbox.mailbox_id == grant.mailbox_id
    k = alice_mailbox.owner_secret
    w.owner(OPEN_OP, OpenBody(KIND_CONVERSATION, deposit_key=alice_mailbox.deposit_public_key),
            secret=k)  # fmt: skip
    answer = seal_session(opened.session, grant.mailbox_id, Content(b"hi Alice").to_bytes(),
                          ttl=TTL)  # fmt: skip
    signature = sign_deposit(
        grant.deposit_key,
        relay_id=RELAY_ID,
        address=grant.mailbox_id,
        envelope_id=envelope_id(answer),
        time=NOW + 3,
    )
    w.relay.deposit(Deposit(answer, time=NOW + 3, signature=signature).to_bytes(), now=NOW + 3)
    got = w.fetch(NOW + 4, secret=k).envelopes
    assert [e.envelope for e in got] == [answer]
    deleted = AckResponse.from_bytes(w.owner(ACK_OP, AckBody((got[0].id,)), now=NOW + 5, secret=k))
    assert deleted.deleted == 1 and w.fetch(NOW + 6, secret=k).envelopes == ()


# --- owner proofs (spec §10.2) ----------------------------------------------------------------


def test_owner_proof_failures_return_nothing_and_change_nothing() -> None:
    w = _world("proofs")
    _envelope, deposit = w.first_contact()
    w.relay.deposit(deposit, now=NOW)
    good = owner_request(w.bob_secret, relay_id=RELAY_ID, op=FETCH_OP, body=FetchBody(10),
                         time=NOW, rng=w.rng)  # fmt: skip
    request = OwnerRequest.from_bytes(good)
    other = Scalar.random(w.rng)
    by_other = OwnerRequest.from_bytes(owner_request(
        other, relay_id=RELAY_ID, op=FETCH_OP, body=FetchBody(10), time=NOW, rng=w.rng
    ))
    cases = {
        "wrong key": OwnerRequest(
            w.routing_id, NOW, FETCH_OP, request.body, by_other.commitment, by_other.response
        ).to_bytes(),
        "another mailbox's proof": OwnerRequest(
            Element.base_mul(other).to_bytes(), NOW, FETCH_OP, request.body, request.commitment,
            request.response,
        ).to_bytes(),
        "another relay": owner_request(w.bob_secret, relay_id=bytes(32), op=FETCH_OP,
                                       body=FetchBody(10), time=NOW, rng=w.rng),
        "another operation": OwnerRequest(
            request.address, NOW, DELETE_OP, DeleteBody().to_bytes(), request.commitment,
            request.response,
        ).to_bytes(),
        "another body": OwnerRequest(
            request.address, NOW, FETCH_OP, FetchBody(11).to_bytes(), request.commitment,
            request.response,
        ).to_bytes(),
        "another time": OwnerRequest(
            request.address, NOW + 1, FETCH_OP, request.body, request.commitment,
            request.response,
        ).to_bytes(),
        "an address that is no element": OwnerRequest(
            b"\xff" * 32, NOW, FETCH_OP, request.body, request.commitment, request.response
        ).to_bytes(),
    }  # fmt: skip
    for what, data in cases.items():
        before = w.store.dump()
        assert code(lambda data=data: w.relay.owner(data, now=NOW)) == "auth.failed", what
        assert w.store.dump() == before, what
    assert len(FetchResponse.from_bytes(w.relay.owner(good, now=NOW)).envelopes) == 1
    before = w.store.dump()
    assert code(lambda: w.relay.owner(good, now=NOW)) == "state.replay"
    assert w.store.dump() == before


def test_unknown_mailbox_answers_like_a_wrong_key() -> None:
    w = _world("unknown")
    stranger = Scalar.random(w.rng)
    own = owner_request(stranger, relay_id=RELAY_ID, op=FETCH_OP, body=FetchBody(1),
                        time=NOW, rng=w.rng)  # fmt: skip
    proof = OwnerRequest.from_bytes(own)
    nobody = Element.base_mul(Scalar.random(w.rng)).to_bytes()  # an address nobody opened
    for address in (w.routing_id, nobody):
        moved = OwnerRequest(address, NOW, FETCH_OP, proof.body, proof.commitment,
                             proof.response).to_bytes()  # fmt: skip
        assert code(lambda moved=moved: w.relay.owner(moved, now=NOW)) == "auth.failed"
    # Only the owner of an address learns that no mailbox is open there.
    assert code(lambda: w.relay.owner(own, now=NOW)) == "state.unknown_mailbox"


def test_proof_freshness_and_rate() -> None:
    w = _world("fresh", RelayLimits(max_proofs_per_window=3))
    stale = owner_request(w.bob_secret, relay_id=RELAY_ID, op=FETCH_OP, body=FetchBody(1),
                          time=NOW, rng=w.rng)  # fmt: skip
    assert code(lambda: w.relay.owner(stale, now=NOW + PROOF_WINDOW + 1)) == "state.stale"
    assert code(lambda: w.relay.owner(stale, now=NOW - PROOF_WINDOW - 1)) == "state.stale"
    w.owner(FETCH_OP, FetchBody(1))  # the third in the window (open and publish came first)
    before = w.store.dump()
    assert code(lambda: w.owner(FETCH_OP, FetchBody(1))) == "state.rate_limited"
    assert w.store.dump() == before
    w.relay.maintain(now=NOW + PROOF_WINDOW, rng=w.rng)
    w.owner(FETCH_OP, FetchBody(1), now=NOW + PROOF_WINDOW)


# --- mailboxes (spec §10.3) -------------------------------------------------------------------


def test_open_update_mismatch_and_capacity() -> None:
    w = _world("open", RelayLimits(max_mailboxes=2))
    w.owner(OPEN_OP, OpenBody(KIND_FIRST_CONTACT, 2**20))
    assert w.bundle().effort == 2**20
    assert code(lambda: w.owner(OPEN_OP, OpenBody(KIND_CONVERSATION, deposit_key=bytes(32)))) == (
        "state.mismatch"
    )
    a, b = Scalar.random(w.rng), Scalar.random(w.rng)
    w.owner(OPEN_OP, OpenBody(KIND_CONVERSATION, deposit_key=bytes(32)), secret=a)
    before = w.store.dump()
    assert code(
        lambda: w.owner(OPEN_OP, OpenBody(KIND_CONVERSATION, deposit_key=bytes(32)), secret=b)
    ) == "state.relay_full"
    assert w.store.dump()["mailbox"] == before["mailbox"]


def test_open_body_decoding() -> None:
    assert code(lambda: OpenBody.from_bytes(OpenBody(KIND_FIRST_CONTACT).to_bytes()[:-1])) == (
        "decode.truncated"
    )
    for kind, effort, key, expected in (
        (KIND_CONVERSATION, None, None, "decode.missing_field"),
        (KIND_CONVERSATION, MIN_EFFORT, bytes(32), "decode.unknown_field"),
        (KIND_FIRST_CONTACT, None, bytes(32), "decode.unknown_field"),
    ):
        raw = {0: 1, 1: kind}
        if effort is not None:
            raw[2] = effort
        if key is not None:
            raw[3] = key  # type: ignore[assignment]
        assert code(lambda raw=raw: OpenBody.from_bytes(encode(raw))) == expected  # type: ignore[arg-type]
    for effort in (MIN_EFFORT - 1, 2**24 + 1):
        data = encode({0: 1, 1: KIND_FIRST_CONTACT, 2: effort})
        assert code(lambda data=data: OpenBody.from_bytes(data)) == "decode.range"


def test_hosted_bundle_hands_out_each_one_time_prekey_once() -> None:
    w = _world("bundle", RelayLimits(handout_capacity=2, handout_interval=100), opks=3)
    first, second, third = (w.bundle() for _ in range(3))
    ids = [b.bundle.one_time_prekey.id for b in (first, second) if b.bundle.one_time_prekey]
    assert len(set(ids)) == 2 and third.bundle.one_time_prekey is None  # the bucket is empty
    later = w.bundle(now=NOW + 100)
    assert later.bundle.one_time_prekey is not None and later.bundle.one_time_prekey.id not in ids
    assert w.bundle(now=NOW + 300).bundle.one_time_prekey is None  # the pool is empty
    for response in (first, third):
        response.bundle.verify()  # every signature still verifies: the relay changed nothing
    assert code(lambda: w.bundle(address=bytes(32))) == "state.unknown_mailbox"


def test_publish_pool_bound_and_repeated_ids() -> None:
    w = _world("publish", RelayLimits(max_one_time_prekeys=4), opks=3)
    base = w.prekeys.bundle()
    hosted = FirstContactBundle(base.identity, base.signed_prekey, None, w.keys.public(EPOCH))
    assert base.one_time_prekey is not None
    key = base.one_time_prekey.public_key
    extra = (OneTimePrekey(500, key),)
    two = (*extra, OneTimePrekey(501, key))
    assert code(lambda: w.owner(PUBLISH_OP, PublishBody(hosted, two))) == "state.quota_count"
    w.owner(PUBLISH_OP, PublishBody(hosted, extra + extra))  # one added: the repeat is dropped
    assert w.store.one_time_count(w.routing_id) == 4
    with_opk = FirstContactBundle(base.identity, base.signed_prekey, base.one_time_prekey,
                                  w.keys.public(EPOCH))  # fmt: skip
    raw = encode({0: 1, 1: with_opk.to_cbor(), 2: []})
    assert code(lambda: PublishBody.from_bytes(raw)) == "decode.range"


# --- deposits (spec §10.4–§10.6) ----------------------------------------------------------------


def test_first_contact_deposit_codes() -> None:
    w = _world("pow")
    envelope, deposit = w.first_contact()
    request = Deposit.from_bytes(deposit)
    before = w.store.dump()
    assert code(lambda: w.relay.deposit(Deposit(envelope).to_bytes(), now=NOW)) == (
        "state.pow_required"
    )
    stale = Deposit(envelope, bytes(32), request.nonce).to_bytes()
    assert code(lambda: w.relay.deposit(stale, now=NOW)) == "state.pow_stale"
    bad_nonce = _failing_nonce(request.seed, w.routing_id, envelope_id(envelope), MIN_EFFORT)  # type: ignore[arg-type]
    insufficient = Deposit(envelope, request.seed, bad_nonce).to_bytes()
    assert code(lambda: w.relay.deposit(insufficient, now=NOW)) == "state.pow_insufficient"
    signed = Deposit(envelope, time=NOW, signature=bytes(64)).to_bytes()
    assert code(lambda: w.relay.deposit(signed, now=NOW)) == "state.pow_required"
    assert w.store.dump() == before
    first = w.relay.deposit(deposit, now=NOW)
    assert w.relay.deposit(deposit, now=NOW + 1) == first  # idempotent retry
    assert w.store.mailbox_usage(w.routing_id)[0] == 1
    # The same proof of work on another envelope does not pass (it is bound to the id).
    other, _ = w.first_contact(b"another")
    reused = Deposit(other, request.seed, request.nonce).to_bytes()
    assert pow_value(request.seed, w.routing_id, envelope_id(other), request.nonce) != pow_value(  # type: ignore[arg-type]
        request.seed, w.routing_id, envelope_id(envelope), request.nonce  # type: ignore[arg-type]
    )
    with contextlib.suppress(StateError):
        w.relay.deposit(reused, now=NOW)  # passes only by chance (1 in 256 at MIN_EFFORT)


def _failing_nonce(seed: bytes, address: bytes, identifier: bytes, effort: int) -> bytes:
    for i in range(10_000):
        nonce = i.to_bytes(16, "big")
        if not pow_valid(pow_value(seed, address, identifier, nonce), effort):
            return nonce
    raise AssertionError("no failing nonce")


def test_seed_rotation_accepts_the_previous_seed_only() -> None:
    w = _world("seeds")
    _envelope, deposit = w.first_contact()
    w.relay.maintain(now=NOW + SEED_LIFETIME, rng=w.rng)  # one rotation: still accepted
    w.relay.deposit(deposit, now=NOW + SEED_LIFETIME)
    _later, late_deposit = w.first_contact(b"late")
    w.relay.maintain(now=NOW + 2 * SEED_LIFETIME, rng=w.rng)
    w.relay.maintain(now=NOW + 3 * SEED_LIFETIME, rng=w.rng)  # two rotations: stale
    assert code(lambda: w.relay.deposit(late_deposit, now=NOW + 3 * SEED_LIFETIME)) == (
        "state.pow_stale"
    )


def test_acknowledged_deposit_cannot_be_replayed() -> None:
    w = _world("tombstone")
    _envelope, deposit = w.first_contact()
    identifier = DepositResponse.from_bytes(w.relay.deposit(deposit, now=NOW)).id
    assert AckResponse.from_bytes(w.owner(ACK_OP, AckBody((identifier,)), now=NOW + 1)).deleted == 1
    assert AckResponse.from_bytes(w.owner(ACK_OP, AckBody((identifier,)), now=NOW + 2)).deleted == 0
    assert code(lambda: w.relay.deposit(deposit, now=NOW + 3)) == "state.replay"
    w.relay.maintain(now=NOW + 3 + TOMBSTONE_LIFETIME, rng=w.rng)
    assert w.store.dump()["tombstone"] == []


def test_conversation_deposit_codes() -> None:
    w = _world("capability")
    mailbox = ConversationMailbox.generate(w.rng)
    k = mailbox.owner_secret
    w.owner(OPEN_OP, OpenBody(KIND_CONVERSATION, deposit_key=mailbox.deposit_public_key), secret=k)
    grant = mailbox.grant(1)
    envelope = _session_envelope(mailbox.mailbox_id)
    identifier = envelope_id(envelope)

    def signed(seed: bytes, time: int, address: bytes = mailbox.mailbox_id) -> bytes:
        signature = sign_deposit(seed, relay_id=RELAY_ID, address=address,
                                 envelope_id=identifier, time=time)  # fmt: skip
        return Deposit(envelope, time=time, signature=signature).to_bytes()

    before = w.store.dump()
    stranger = ConversationMailbox.generate(w.rng).grant(1).deposit_key
    assert code(lambda: w.relay.deposit(signed(stranger, NOW), now=NOW)) == "auth.failed"
    assert code(lambda: w.relay.deposit(Deposit(envelope).to_bytes(), now=NOW)) == "auth.failed"
    seed, nonce = bytes(32), bytes(16)
    assert code(lambda: w.relay.deposit(Deposit(envelope, seed, nonce).to_bytes(), now=NOW)) == (
        "auth.failed"
    )
    assert code(lambda: w.relay.deposit(signed(grant.deposit_key, NOW - 301), now=NOW)) == (
        "state.stale"
    )
    assert w.store.dump() == before
    w.relay.deposit(signed(grant.deposit_key, NOW), now=NOW)
    # A mailbox nobody opened answers like a wrong key.
    unknown = _session_envelope(bytes(range(32, 64)))
    signature = sign_deposit(grant.deposit_key, relay_id=RELAY_ID, address=bytes(range(32, 64)),
                             envelope_id=envelope_id(unknown), time=NOW)  # fmt: skip
    request = Deposit(unknown, time=NOW, signature=signature).to_bytes()
    assert code(lambda: w.relay.deposit(request, now=NOW)) == "auth.failed"


def _session_envelope(address: bytes, size: int = 10) -> bytes:
    from protocol.envelope import Envelope

    return Envelope(address, TTL, bytes([size % 256]) * 256).to_bytes()


def test_quotas_each_with_its_code() -> None:
    for limits, expected in (
        (RelayLimits(max_mailbox_envelopes=1), "state.quota_count"),
        (RelayLimits(max_mailbox_bytes=3000), "state.quota_bytes"),
        (RelayLimits(inbound_capacity=3000, inbound_refill=1), "state.rate_limited"),
    ):
        w = _world(f"quota {expected}", limits)
        _e1, first = w.first_contact(b"one")
        _e2, second = w.first_contact(b"two")
        w.relay.deposit(first, now=NOW)
        before = w.store.dump()
        assert code(lambda second=second, w=w: w.relay.deposit(second, now=NOW)) == expected
        assert w.store.dump() == before


def test_fetch_skips_expired_and_maintain_deletes_with_a_tombstone() -> None:
    w = _world("expiry")
    _envelope, deposit = w.first_contact()
    identifier = DepositResponse.from_bytes(w.relay.deposit(deposit, now=NOW)).id
    assert len(w.fetch(NOW + TTL - 1).envelopes) == 1
    assert w.fetch(NOW + TTL).envelopes == ()
    w.relay.maintain(now=NOW + TTL, rng=w.rng)
    dump = w.store.dump()
    assert dump["envelope"] == [] and [t["id"] for t in dump["tombstone"]] == [identifier]


def test_delete_removes_everything_of_the_mailbox() -> None:
    w = _world("delete")
    _envelope, deposit = w.first_contact()
    w.relay.deposit(deposit, now=NOW)
    w.owner(DELETE_OP, DeleteBody())
    dump = w.store.dump()
    for table in ("mailbox", "envelope", "bundle", "one_time_prekey", "bucket"):
        assert dump[table] == [], table
    assert code(lambda: w.fetch(NOW)) == "state.unknown_mailbox"


def test_fetch_pages_stay_within_the_byte_bound() -> None:
    w = _world("pages")
    deposits = [w.first_contact(b"x" * i)[1] for i in range(3)]
    for data in deposits:
        w.relay.deposit(data, now=NOW)
    first = FetchResponse.from_bytes(w.owner(FETCH_OP, FetchBody(2)))
    assert len(first.envelopes) == 2
    assert [e.arrival for e in w.fetch().envelopes] == [NOW] * 3


# --- hostile bytes ----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400))
def test_entry_points_raise_only_protocol_errors(data: bytes) -> None:
    w = _HOSTILE
    for entry in (w.relay.owner, w.relay.bundle, w.relay.deposit):
        with contextlib.suppress(DecodeError, AuthenticationError, StateError):
            entry(data, now=NOW)


_HOSTILE = _world("hostile")
