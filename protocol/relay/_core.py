"""Spec §10: the relay as a sans-I/O state machine over a store.

Each public method takes a request's bytes and the time, checks in the order of the spec
(decode → authenticate → state), writes to the store only after every check, inside one store
transaction, and returns the response's bytes; any failure raises a
:class:`~protocol.errors.ProtocolError` and leaves the store as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..codec import Message
from ..envelope import Envelope, FirstContactBundle, envelope_id
from ..errors import AuthenticationError, StateError, UsageError
from ..keys import OneTimePrekey
from ..primitives import Rng, random_bytes
from ._auth import check_deposit_signature, check_owner_proof, pow_valid, pow_value
from ._messages import (
    ACK_OP,
    BODIES,
    DEFAULT_EFFORT,
    DELETE_OP,
    FETCH_OP,
    KIND_CONVERSATION,
    KIND_FIRST_CONTACT,
    MAX_FETCH_BYTES,
    OPEN_OP,
    PUBLISH_OP,
    RELAY_ID_SIZE,
    SEED_SIZE,
    AckBody,
    AckResponse,
    BundleRequest,
    BundleResponse,
    Deposit,
    DepositResponse,
    Done,
    FetchBody,
    FetchResponse,
    OpenBody,
    OwnerRequest,
    PublishBody,
    StoredEnvelope,
)
from .store import (
    BUCKET_HANDOUT,
    EnvelopeRecord,
    MailboxRecord,
    RelayStore,
)

__all__ = [
    "DEPOSIT_WINDOW",
    "INBOUND_CAPACITY",
    "INBOUND_REFILL",
    "MAILBOX_IDLE_LIMIT",
    "MAX_MAILBOXES",
    "MAX_MAILBOX_BYTES",
    "MAX_MAILBOX_ENVELOPES",
    "MAX_ONE_TIME_PREKEYS_HOSTED",
    "MAX_PROOFS_PER_WINDOW",
    "MAX_WAIT",
    "MAX_WAITERS",
    "ONE_TIME_HANDOUT_CAPACITY",
    "ONE_TIME_HANDOUT_INTERVAL",
    "PROOF_WINDOW",
    "SEEDS_KEPT",
    "SEED_LIFETIME",
    "TOMBSTONE_LIFETIME",
    "FetchTicket",
    "Relay",
    "RelayLimits",
]

#: Spec §10.1: an owner proof's time is within this of ``now``.
PROOF_WINDOW: Final = 300
#: Spec §10.1: a capability deposit's time is within this of ``now``.
DEPOSIT_WINDOW: Final = 300
#: Spec §10.1: the proof-of-work seed rotates this often; the previous one is still accepted.
SEED_LIFETIME: Final = 3600
#: Spec §10.3: how long an acknowledged or expired envelope's id refuses a re-deposit — as long
#: as a proof of work (two seed lifetimes) or a capability's time window can stay valid.
TOMBSTONE_LIFETIME: Final = max(2 * SEED_LIFETIME, 2 * DEPOSIT_WINDOW)
#: Spec §10.6: the relay keeps its current and its previous seed.
SEEDS_KEPT: Final = 2
#: Spec §10.1: the defaults of :class:`RelayLimits`.
MAX_PROOFS_PER_WINDOW: Final = 1024
MAX_MAILBOX_ENVELOPES: Final = 1000
MAX_MAILBOX_BYTES: Final = 16 << 20
INBOUND_CAPACITY: Final = 128 << 20
INBOUND_REFILL: Final = 2000
MAX_ONE_TIME_PREKEYS_HOSTED: Final = 200
ONE_TIME_HANDOUT_CAPACITY: Final = 20
ONE_TIME_HANDOUT_INTERVAL: Final = 360
MAILBOX_IDLE_LIMIT: Final = 90 * 86_400
MAX_MAILBOXES: Final = 10_000_000
#: Spec §14.7: the longest a fetch may wait for a wake-up, in seconds.
MAX_WAIT: Final = 25
#: Spec §14.7: fetches waiting at once in one relay process, at most.
MAX_WAITERS: Final = 10_000


@dataclass(frozen=True, slots=True, eq=False)
class FetchTicket:
    """Spec §14.7: a fetch whose owner proof the relay checked and which found nothing; the
    server may run it once more, without another proof, until ``deadline`` (:meth:`Relay.redeem`).

    A ticket never leaves the server process: only the relay that issued it redeems it, once.
    """

    address: bytes
    limit: int
    deadline: int

    def __repr__(self) -> str:
        return f"FetchTicket(deadline={self.deadline})"


#: The size of a fetch response without envelopes (the relay's own encoding of it).
_EMPTY_FETCH_SIZE: Final = len(FetchResponse(()).to_bytes())


@dataclass(frozen=True, slots=True)
class RelayLimits:
    """Spec §10.1: a relay's configuration, with the spec's defaults."""

    max_proofs_per_window: int = MAX_PROOFS_PER_WINDOW
    max_mailbox_envelopes: int = MAX_MAILBOX_ENVELOPES
    max_mailbox_bytes: int = MAX_MAILBOX_BYTES
    inbound_capacity: int = INBOUND_CAPACITY
    inbound_refill: int = INBOUND_REFILL
    max_one_time_prekeys: int = MAX_ONE_TIME_PREKEYS_HOSTED
    handout_capacity: int = ONE_TIME_HANDOUT_CAPACITY
    handout_interval: int = ONE_TIME_HANDOUT_INTERVAL
    mailbox_idle_limit: int = MAILBOX_IDLE_LIMIT
    max_mailboxes: int = MAX_MAILBOXES

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise UsageError("usage.bad_argument", f"RelayLimits.{name} must be an int >= 1")


def _level(
    stored: tuple[int, int] | None, capacity: int, per_token: int, rate: int, now: int
) -> tuple[int, int]:
    """A token bucket (spec §8.5.3's arithmetic) at ``now``: ``rate`` tokens every ``per_token``
    seconds up to ``capacity``; an absent bucket is full. Returns ``(tokens, updated)``."""
    if stored is None:
        return capacity, now
    tokens, updated = stored
    gained = max(0, now - updated) // per_token * rate
    level = min(capacity, tokens + gained)
    if level == capacity:
        return level, max(now, updated)
    return level, updated + (gained // rate) * per_token


class Relay:
    """Spec §10: the relay. ``relay_id`` (32 bytes) is published with the relay's address and
    bound into every owner proof and deposit signature.

    Call :meth:`maintain` when starting and then periodically (at least every
    :data:`SEED_LIFETIME`): it makes the proof-of-work seeds and expires what is due.
    """

    __slots__ = ("_id", "_limits", "_store", "_tickets")

    def __init__(
        self, store: RelayStore, relay_id: bytes, limits: RelayLimits | None = None
    ) -> None:
        if type(relay_id) is not bytes or len(relay_id) != RELAY_ID_SIZE:
            raise UsageError("usage.bad_argument", f"a relay id is {RELAY_ID_SIZE} bytes")
        self._store = store
        self._id = relay_id
        self._limits = limits or RelayLimits()
        self._tickets: set[FetchTicket] = set()

    @property
    def relay_id(self) -> bytes:
        return self._id

    @property
    def limits(self) -> RelayLimits:
        return self._limits

    # --- owner operations (spec §10.2, §10.3) ---------------------------------------------

    def owner(self, data: bytes, *, now: int) -> bytes:
        """Spec §10.2–§10.3: an owner operation. Order: decode the request and its body →
        the proof (``auth.failed``) → freshness (``state.stale``) → replay
        (``state.replay``, ``state.rate_limited``) → the operation's checks → commit."""
        request = OwnerRequest.from_bytes(data)
        body = BODIES[request.op].from_bytes(request.body)
        check_owner_proof(request, self._id)
        if abs(request.time - now) > PROOF_WINDOW:
            raise StateError("state.stale", "the proof's time is outside the window")
        address = request.address
        store = self._store
        with store.transaction():
            if store.has_proof(address, request.commitment):
                raise StateError("state.replay", "this proof was used already")
            if store.proof_count(address, now) >= self._limits.max_proofs_per_window:
                raise StateError("state.rate_limited", "too many owner operations")
            mailbox = store.get_mailbox(address)
            response = self._operate(request.op, body, address, mailbox, now)
            store.put_proof(address, request.commitment, request.time + PROOF_WINDOW)
            return response

    def _operate(
        self, op: int, body: Message, address: bytes, mailbox: MailboxRecord | None, now: int
    ) -> bytes:
        store = self._store
        if op == OPEN_OP:
            assert isinstance(body, OpenBody)
            if mailbox is not None and mailbox.kind != body.kind:
                raise StateError("state.mismatch", "the mailbox is of the other kind")
            if mailbox is None and store.mailbox_count() >= self._limits.max_mailboxes:
                raise StateError("state.relay_full", "the relay holds its most mailboxes")
            effort = None
            if body.kind == KIND_FIRST_CONTACT:
                effort = DEFAULT_EFFORT if body.effort is None else body.effort
            store.put_mailbox(MailboxRecord(address, body.kind, effort, body.deposit_key, now))
            return Done().to_bytes()
        if mailbox is None:
            raise StateError("state.unknown_mailbox", "no such mailbox")
        touched = MailboxRecord(
            mailbox.address, mailbox.kind, mailbox.effort, mailbox.deposit_key, now
        )
        if op == PUBLISH_OP:
            assert isinstance(body, PublishBody)
            if mailbox.kind != KIND_FIRST_CONTACT:
                raise StateError("state.mismatch", "bundles live at routing IDs")
            fresh = {p.id: p for p in reversed(body.one_time_prekeys)}  # first of each id
            if store.one_time_count(address) + len(fresh) > self._limits.max_one_time_prekeys:
                raise StateError("state.quota_count", "the pool holds its most one-time prekeys")
            store.put_bundle(address, body.bundle.to_bytes())
            ordered = [p for p in body.one_time_prekeys if fresh.get(p.id) is p]
            store.add_one_time(address, [(p.id, p.to_bytes()) for p in ordered])
            store.put_mailbox(touched)
            return Done().to_bytes()
        if op == FETCH_OP:
            assert isinstance(body, FetchBody)
            return self._fetch(touched, body.limit, now)
        if op == ACK_OP:
            assert isinstance(body, AckBody)
            deleted = store.delete_envelopes(address, body.ids)
            for envelope_id_ in deleted:
                store.put_tombstone(address, envelope_id_, now + TOMBSTONE_LIFETIME)
            store.put_mailbox(touched)
            return AckResponse(len(deleted)).to_bytes()
        assert op == DELETE_OP
        store.delete_mailbox(address)
        return Done().to_bytes()

    def _fetch(self, touched: MailboxRecord, limit: int, now: int) -> bytes:
        store = self._store
        records = store.envelopes(touched.address, now, limit, MAX_FETCH_BYTES)
        store.put_mailbox(touched)
        return FetchResponse(
            tuple(StoredEnvelope(r.id, r.arrival, r.envelope) for r in records)
        ).to_bytes()

    # --- waiting fetches (spec §14.7) ---------------------------------------------------------

    def fetch_or_wait(self, data: bytes, *, now: int, wait: int) -> bytes | FetchTicket:
        """Spec §14.7: an owner ``fetch`` (checked and recorded as :meth:`owner` does) that, if
        it finds nothing, returns a :class:`FetchTicket` for ``wait`` seconds (1 to
        :data:`MAX_WAIT`) instead of the empty response. Another operation than fetch is
        ``state.mismatch``; :data:`MAX_WAITERS` tickets outstanding, ``state.rate_limited``
        (before the proof is used)."""
        if type(wait) is not int or not 1 <= wait <= MAX_WAIT:
            raise UsageError("usage.bad_argument", f"a wait is 1 to {MAX_WAIT} seconds")
        request = OwnerRequest.from_bytes(data)
        if request.op != FETCH_OP:
            raise StateError("state.mismatch", "a waiting request carries a fetch")
        tickets = self._tickets
        if len(tickets) >= MAX_WAITERS:
            for stale in [t for t in tickets if t.deadline < now]:
                tickets.discard(stale)
            if len(tickets) >= MAX_WAITERS:
                raise StateError("state.rate_limited", "too many fetches are waiting")
        response = self.owner(data, now=now)
        if len(response) > _EMPTY_FETCH_SIZE:
            return response
        limit = FetchBody.from_bytes(request.body).limit
        ticket = FetchTicket(request.address, limit, now + wait)
        tickets.add(ticket)
        return ticket

    def redeem(self, ticket: FetchTicket, *, now: int) -> bytes:
        """Spec §14.7: run the fetch of ``ticket`` again, once: the envelopes held now (maybe
        none). A ticket not issued by this relay or redeemed already is ``usage.bad_state``; a
        ticket past its deadline ``state.stale``; a mailbox deleted meanwhile
        ``state.unknown_mailbox``."""
        if ticket not in self._tickets:
            raise UsageError("usage.bad_state", "a ticket is redeemed once, by its relay")
        self._tickets.discard(ticket)
        if now > ticket.deadline:
            raise StateError("state.stale", "the wait is over")
        store = self._store
        with store.transaction():
            mailbox = store.get_mailbox(ticket.address)
            if mailbox is None:
                raise StateError("state.unknown_mailbox", "no such mailbox")
            touched = MailboxRecord(
                mailbox.address, mailbox.kind, mailbox.effort, mailbox.deposit_key, now
            )
            return self._fetch(touched, ticket.limit, now)

    # --- anyone: the hosted bundle (spec §10.3) ---------------------------------------------

    def bundle(self, data: bytes, *, now: int) -> bytes:
        """Spec §10.3 ``bundle``: the hosted first-contact bundle, with one one-time prekey
        when the pool has one and the handout bucket a token; the seed and the effort."""
        request = BundleRequest.from_bytes(data)
        address = request.address
        store = self._store
        with store.transaction():
            mailbox = store.get_mailbox(address)
            hosted = store.get_bundle(address)
            if mailbox is None or mailbox.kind != KIND_FIRST_CONTACT or hosted is None:
                raise StateError("state.unknown_mailbox", "no bundle at this address")
            seed = self._current_seed()
            limits = self._limits
            tokens, updated = _level(
                store.get_bucket(address, BUCKET_HANDOUT),
                limits.handout_capacity,
                limits.handout_interval,
                1,
                now,
            )
            bundle = FirstContactBundle.from_bytes(hosted)
            prekey = store.take_one_time(address) if tokens >= 1 else None
            if prekey is not None:
                store.put_bucket(address, BUCKET_HANDOUT, tokens - 1, updated)
                bundle = FirstContactBundle(
                    bundle.identity,
                    bundle.signed_prekey,
                    OneTimePrekey.from_bytes(prekey),
                    bundle.first_contact_key,
                )
            assert mailbox.effort is not None
            return BundleResponse(bundle, seed, mailbox.effort).to_bytes()

    def _current_seed(self) -> bytes:
        seeds = self._store.seeds()
        if not seeds:
            raise UsageError("usage.bad_argument", "call Relay.maintain before serving")
        return seeds[0][0]

    # --- deposits (spec §10.4–§10.6) ---------------------------------------------------------

    def deposit(self, data: bytes, *, now: int) -> bytes:
        """Spec §10.4: store an envelope. Order: decode the request and the envelope →
        authorise (capability or proof of work; an unknown mailbox like a wrong
        authorisation) → already stored: success, changing nothing → tombstone and proof-of-work
        replay (``state.replay``) → quotas → commit."""
        request = Deposit.from_bytes(data)
        envelope = request.envelope
        address = Envelope.from_bytes(envelope).address
        identifier = envelope_id(envelope)
        store = self._store
        with store.transaction():
            view = store.deposit_view(
                address, identifier, now, request.seed, request.nonce, SEEDS_KEPT
            )
            mailbox = view.mailbox
            if mailbox is not None and mailbox.kind == KIND_CONVERSATION:
                self._authorise_capability(request, mailbox, identifier, now)
            else:
                self._authorise_pow(request, mailbox, identifier, view.seed_kept)
            assert mailbox is not None
            response = DepositResponse(identifier).to_bytes()
            if view.stored:
                return response  # idempotent: a retry of a stored deposit
            if view.tombstoned:
                raise StateError("state.replay", "this envelope was delivered already")
            paid = mailbox.kind == KIND_FIRST_CONTACT
            if paid and view.pow_used:
                raise StateError("state.replay", "this proof of work was used already")
            limits = self._limits
            if view.held >= limits.max_mailbox_envelopes:
                raise StateError("state.quota_count", "the mailbox holds its most envelopes")
            if view.held_bytes + len(envelope) > limits.max_mailbox_bytes:
                raise StateError("state.quota_bytes", "the mailbox holds its most bytes")
            tokens, updated = _level(
                view.inbound, limits.inbound_capacity, 1, limits.inbound_refill, now
            )
            if tokens < len(envelope):
                raise StateError("state.rate_limited", "the mailbox's inbound budget is spent")
            # commit
            ttl = int.from_bytes(envelope[33:37], "big")
            store.put_deposit(
                EnvelopeRecord(address, identifier, envelope, now, now + ttl),
                (tokens - len(envelope), updated),
                (request.seed, request.nonce) if paid else None,  # type: ignore[arg-type]
            )
            return response

    def _authorise_capability(
        self, request: Deposit, mailbox: MailboxRecord, identifier: bytes, now: int
    ) -> None:
        """Spec §10.5: the deposit key's signature (``auth.failed``), then its time."""
        if request.signature is None or request.time is None:
            raise AuthenticationError()
        check_deposit_signature(
            mailbox.deposit_key, self._id, mailbox.address, identifier, request.time,
            request.signature,
        )  # fmt: skip
        if abs(request.time - now) > DEPOSIT_WINDOW:
            raise StateError("state.stale", "the deposit's time is outside the window")

    def _authorise_pow(
        self, request: Deposit, mailbox: MailboxRecord | None, identifier: bytes, seed_kept: bool
    ) -> None:
        """Spec §10.6: an unknown mailbox costs the same and fails like a wrong one."""
        if mailbox is None:
            if request.signature is not None and request.time is not None:
                check_deposit_signature(
                    None, self._id, bytes(32), identifier, request.time, request.signature
                )
            if request.seed is not None and request.nonce is not None:
                pow_value(request.seed, bytes(32), identifier, request.nonce)
                pow_valid(0, DEFAULT_EFFORT)
            raise AuthenticationError()
        if request.seed is None or request.nonce is None:
            raise StateError("state.pow_required", "a first contact pays a proof of work")
        if not seed_kept:
            raise StateError("state.pow_stale", "the seed is not the current or previous one")
        assert mailbox.effort is not None
        value = pow_value(request.seed, mailbox.address, identifier, request.nonce)
        if not pow_valid(value, mailbox.effort):
            raise StateError("state.pow_insufficient", "the proof of work is below the effort")

    # --- maintenance (spec §10.7) --------------------------------------------------------------

    def maintain(self, *, now: int, rng: Rng) -> None:
        """Spec §10.7: rotate the seed when due, delete what is due, then let the store's
        journal forget the deleted rows (§10.9). Draws 32 bytes per new seed."""
        store = self._store
        with store.transaction():
            seeds = store.seeds()
            if not seeds or now - seeds[0][1] >= SEED_LIFETIME:
                store.put_seed(random_bytes(rng, SEED_SIZE), now)
            store.expire(
                now,
                now - self._limits.mailbox_idle_limit,
                now + TOMBSTONE_LIFETIME,
                SEEDS_KEPT,
            )
        store.checkpoint()  # §10.9: no journal keeps what was just deleted
