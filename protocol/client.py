"""Spec §12: the client facade — one object that does the protocol's steps in the right order.

Sans-I/O in the h11 manner: a :class:`Client` never sends anything. Each operation returns an
:class:`Exchange`, which names the next :class:`Outgoing` request (a server role, an operation
and the request's bytes); the application carries it by any transport and hands the response's
bytes back with :meth:`Exchange.respond`, until the exchange is done and holds its result. A
server's refusal is handed back with :meth:`Exchange.fail`.

What a failed or abandoned exchange leaves (spec §12.3): ``register`` and ``discover`` commit
only when they complete; a first contact keeps its new session only when the deposit was
answered; a session message advances the ratchet when it is sealed (a refused deposit is a lost
message, which the peer's ratchet tolerates); ``fetch`` keeps every message it opened in an
inbox until an exchange completes, so a refused acknowledgement loses nothing, and a message
delivered twice (the relay again, or SMS, §11.7) is acknowledged and not shown twice.

Nothing is sent before :meth:`Client.register` (an explicit opt-in, spec §12.1). An envelope
that arrives another way (SMS) goes to :meth:`Client.receive` (§12.5). Housekeeping — new
routing IDs and first-contact keys each epoch, one-time prekey refills, conversation mailbox
rotation, registration renewal — is a set of exchanges too (:meth:`Client.maintain`, §12.6).
Multi-device accounts are out of scope (§12.4).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Generic, Literal, TypeVar

from ._client_state import (
    ClientSnapshot,
    ClientState,
    ContactState,
    EpochState,
    FirstContactKeyPrivate,
    PeerState,
    ReceivedState,
    RegistrationState,
    RetiredMailbox,
)
from .blinding import (
    IdentifierOutput,
    MailboxKeyPair,
    PhoneNumber,
    epoch_of,
    normalize_phone_number,
    request_evaluation,
)
from .directory import (
    REGISTRATION_LIFETIME,
    DirectoryParameters,
    Registration,
    lookup_request,
    read_lookup_response,
    registrations_for,
)
from .envelope import (
    MAX_TTL,
    Content,
    ConversationMailbox,
    Envelope,
    FirstContactBundle,
    FirstContactKeyPair,
    FirstContactKeys,
    MailboxGrant,
    envelope_id,
    open_first_contact,
    open_session,
    seal_first_contact,
    seal_session,
)
from .errors import AuthenticationError, DecodeError, ProtocolError, StateError, UsageError
from .evaluator import PublishedKey
from .handshake import PrekeyStore
from .keys import IdentityKey, IdentityKeyPair, OneTimePrekey, OneTimePrekeyPair
from .primitives import Rng, Scalar
from .ratchet import Session, SessionSnapshot
from .relay import (
    ACK_OP,
    DELETE_OP,
    FETCH_OP,
    KIND_CONVERSATION,
    KIND_FIRST_CONTACT,
    OPEN_OP,
    PUBLISH_OP,
    AckBody,
    BundleRequest,
    BundleResponse,
    DeleteBody,
    Deposit,
    FetchBody,
    FetchResponse,
    OpenBody,
    PublishBody,
    StoredEnvelope,
    owner_request,
    sign_deposit,
    solve_pow,
)
from .sms import CompactSession, Reassembled, decode_compact, open_sms_session

__all__ = ["Client", "ClientSnapshot", "Exchange", "Outgoing", "Received", "Role"]

Role = Literal["evaluator", "directory", "relay"]

#: Spec §12.2: the time to live of the envelopes a client sends (a day; at most ``MAX_TTL``).
DEFAULT_TTL = 86_400
#: One-time prekeys a client hosts at its routing ID (spec §10.3).
HOSTED_ONE_TIME_PREKEYS = 20
#: Envelopes asked for in one fetch (the relay's ``MAX_FETCH_ENVELOPES``).
FETCH_LIMIT = 100
#: Spec §12.5: ids of the first contacts delivered that a client remembers, so that the
#: second copy of one (the relay's after the one :meth:`Client.receive` got) is not shown again.
MAX_DELIVERED_FIRST_CONTACTS = 1024
#: Spec §12.6: a routing ID's pool is refilled when fewer of its one-time prekeys remain.
PREKEY_LOW_WATER = HOSTED_ONE_TIME_PREKEYS // 2
#: Spec §12.6: the directory registration is renewed when it is this old (a third of its life).
REGISTRATION_RENEWAL = REGISTRATION_LIFETIME // 3

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A request for a server: its role, the operation and the request's bytes (spec §12.2).

    Operations: ``evaluator``: ``evaluate``; ``directory``: ``parameters`` (empty body),
    ``register``, ``lookup``; ``relay``: ``owner``, ``bundle``, ``deposit``.
    """

    role: Role
    op: str
    body: bytes


@dataclass(frozen=True, slots=True, repr=False)
class Received:
    """A message a fetch delivered: the sender's identity (authenticated by the handshake) and
    the text. ``first_contact`` is true for the message that started the conversation."""

    sender: IdentityKey
    text: bytes
    first_contact: bool

    def __repr__(self) -> str:  # message bodies are redacted (spec §9.6, §1.5)
        return (
            f"Received(sender={self.sender.signing_key[:8].hex()}…, text=<{len(self.text)} "
            f"bytes>, first_contact={self.first_contact})"
        )


class Exchange(Generic[T]):
    """One operation's requests and responses, in order (spec §12.2).

    ``request`` is the next request to carry, or ``None`` when the exchange is done; then
    ``result`` holds the operation's result. :meth:`respond` hands back a response's bytes,
    :meth:`fail` a server's refusal (the exchange then raises it and changes nothing).
    """

    __slots__ = ("_done", "_result", "_steps", "request")

    def __init__(self, steps: Generator[Outgoing, bytes, T]) -> None:
        self._steps = steps
        self._done = False
        self._result: T | None = None
        self.request: Outgoing | None = None
        self._advance(lambda: next(steps))

    def _advance(self, step: object) -> Outgoing | None:
        try:
            self.request = step()  # type: ignore[operator]
        except StopIteration as stop:
            self.request, self._done, self._result = None, True, stop.value
        except BaseException:
            self.request = None
            self._done = True
            raise
        return self.request

    @property
    def done(self) -> bool:
        return self._done

    def respond(self, data: bytes) -> Outgoing | None:
        """The response to :attr:`request`; returns the next request (``None``: done)."""
        if self.request is None:
            raise UsageError("usage.bad_state", "the exchange expects no response")
        return self._advance(lambda: self._steps.send(data))

    def fail(self, error: ProtocolError) -> None:
        """A server refused :attr:`request`: raise ``error`` from the operation; the client is
        unchanged."""
        if self.request is None:
            raise UsageError("usage.bad_state", "the exchange expects no response")
        self._advance(lambda: self._steps.throw(error))

    @property
    def result(self) -> T:
        if not self._done:
            raise UsageError("usage.bad_state", "the exchange is not done")
        return self._result  # type: ignore[return-value]


@dataclass(slots=True, repr=False)
class _Retired:
    """A conversation mailbox replaced by a newer one (spec §9.5): read until a message
    arrives in the new one (``superseded``) or ``until`` (``MAX_TTL`` after the new grant)."""

    mailbox: ConversationMailbox
    until: int
    superseded: bool = False


@dataclass(slots=True, repr=False)
class _Peer:
    """A conversation: the session, where to deposit for the peer, and my mailbox for it."""

    identity: IdentityKey
    session: Session
    mine: ConversationMailbox
    theirs: MailboxGrant | None = None
    granted: bool = False  # my mailbox's grant has reached the peer
    serial: int = 1  # the serial of my mailbox's grant
    since: int = 0  # when my mailbox was made (rotation, §12.6)
    retired: list[_Retired] = field(default_factory=list)


@dataclass(slots=True, repr=False)
class _Registered:
    output: IdentifierOutput
    mailbox: MailboxKeyPair
    prekeys: PrekeyStore
    keys: FirstContactKeys
    registered_at: int
    # routing IDs opened at the relay: epoch → ids of the one-time prekeys hosted there
    epochs: dict[int, tuple[int, ...]] = field(default_factory=dict)


@dataclass(slots=True, repr=False)
class _Contact:
    """A number discovery found: the owner's identity, and what its routing ID of any epoch is
    made of (spec §8.3), so that a first contact goes to the epoch of the sender's clock."""

    identity: IdentityKey
    output: IdentifierOutput
    mailbox_key: bytes

    def routing_id(self, epoch: int) -> bytes:
        return self.output.routing_id(self.mailbox_key, epoch)


@dataclass(slots=True, repr=False)
class _State:
    registered: _Registered | None = None
    contacts: dict[str, _Contact] = field(default_factory=dict)
    peers: dict[bytes, _Peer] = field(default_factory=dict)  # by identity signing key
    inbox: list[Received] = field(default_factory=list)
    opened: set[bytes] = field(default_factory=set)  # envelope ids opened, not yet acknowledged
    delivered: dict[bytes, None] = field(default_factory=dict)  # first contacts' ids, oldest first

    def __repr__(self) -> str:  # numbers, keys, sessions and texts: all of it is private
        return f"_State(peers={len(self.peers)}, contacts={len(self.contacts)}, <redacted>)"


def _restore_registration(identity: IdentityKeyPair, saved: RegistrationState) -> _Registered:
    """Spec §12.7: the live registration of an exported one (``usage.bad_argument`` from a
    part that does not match becomes ``decode.bad_state`` in :meth:`Client.restore`)."""
    pairs = [FirstContactKeyPair.from_private_bytes(k.private_key, k.public)
             for k in saved.first_contact_keys]  # fmt: skip
    epochs = {e.epoch: e.one_time_ids for e in saved.epochs}
    if len(epochs) != len(saved.epochs):
        raise DecodeError("decode.bad_state", "RegistrationState: an epoch twice")
    return _Registered(
        output=IdentifierOutput(saved.oprf_key_id, saved.output),
        mailbox=MailboxKeyPair.from_private_bytes(saved.mailbox_key),
        prekeys=PrekeyStore.from_state(identity, saved.prekeys),
        keys=FirstContactKeys(identity, pairs),
        registered_at=saved.registered_at,
        epochs=epochs,
    )


class Client:
    """Spec §12: a user's device — identity, phone number, the evaluator's pinned key and the
    relay it uses. ``rng`` draws every random value; ``now`` is each operation's time."""

    __slots__ = ("_dropped", "_evaluator_key", "_identity", "_phone", "_relay_id", "_rng", "_state")

    def __init__(
        self,
        identity: IdentityKeyPair,
        phone: PhoneNumber,
        *,
        evaluator_key: PublishedKey,
        relay_id: bytes,
        rng: Rng,
    ) -> None:
        if not isinstance(identity, IdentityKeyPair) or not isinstance(phone, PhoneNumber):
            raise UsageError("usage.bad_argument", "an IdentityKeyPair and a PhoneNumber")
        if not isinstance(evaluator_key, PublishedKey):
            raise UsageError("usage.bad_argument", "evaluator_key must be a PublishedKey")
        if type(relay_id) is not bytes or len(relay_id) != 32:
            raise UsageError("usage.bad_argument", "a relay id is 32 bytes")
        self._identity = identity
        self._phone = phone
        self._evaluator_key = evaluator_key
        self._relay_id = relay_id
        self._rng = rng
        self._state = _State()
        self._dropped = 0

    def __repr__(self) -> str:
        return f"Client(identity={self._identity.public!r}, private=<redacted>)"

    @property
    def identity(self) -> IdentityKey:
        return self._identity.public

    @property
    def registered(self) -> bool:
        return self._state.registered is not None

    @property
    def dropped(self) -> int:
        """Spec §12.3: how many fetched envelopes did not open and were acknowledged without a
        message, since this object was made (a diagnostic, not part of the exported state)."""
        return self._dropped

    def contacts(self) -> dict[str, IdentityKey]:
        """The numbers discovery found, with their owners' identities (spec §8.7)."""
        return {number: c.identity for number, c in self._state.contacts.items()}

    # --- exported state (spec §12.7) -----------------------------------------------------

    def snapshot(self) -> ClientSnapshot:
        """Spec §12.7: an immutable copy of the whole state — identity, number, pinned key,
        relay, registration (prekeys, first-contact keys, opened epochs), contacts,
        conversations (sessions, mailboxes, grants), inbox and envelope ids. An exchange in
        flight is not part of it: a restored client starts its operations again."""
        state = self._state
        registered = state.registered
        registration = None
        if registered is not None:
            keys = registered.keys
            registration = RegistrationState(
                oprf_key_id=registered.output.key_id,
                output=registered.output.output_bytes(),
                mailbox_key=registered.mailbox.private_bytes(),
                prekeys=registered.prekeys.export_state(),
                first_contact_keys=tuple(
                    FirstContactKeyPrivate(pair.private_bytes(), pair.public)
                    for e in keys.epochs()
                    if (pair := keys.get(e)) is not None
                ),
                registered_at=registered.registered_at,
                epochs=tuple(EpochState(e, ids) for e, ids in sorted(registered.epochs.items())),
            )
        return ClientSnapshot(
            ClientState(
                identity=self._identity.private_bytes(),
                phone=self._phone.e164,
                evaluator_key=self._evaluator_key,
                relay_id=self._relay_id,
                registration=registration,
                contacts=tuple(
                    ContactState(
                        number,
                        c.identity,
                        c.output.key_id,
                        c.output.output_bytes(),
                        c.mailbox_key,
                    )
                    for number, c in state.contacts.items()
                ),
                peers=tuple(
                    PeerState(
                        identity=p.identity,
                        session=p.session.snapshot().state,
                        mailbox=p.mine.private_bytes(),
                        serial=p.serial,
                        since=p.since,
                        granted=p.granted,
                        theirs=p.theirs,
                        retired=tuple(
                            RetiredMailbox(r.mailbox.private_bytes(), r.until, r.superseded)
                            for r in p.retired
                        ),
                    )
                    for p in state.peers.values()
                ),
                inbox=tuple(ReceivedState(r.sender, r.text, r.first_contact) for r in state.inbox),
                opened=tuple(sorted(state.opened)),
                delivered=tuple(state.delivered),
            )
        )

    @classmethod
    def restore(cls, snapshot: ClientSnapshot, *, rng: Rng) -> Client:
        """Spec §12.7: a live client from a snapshot (which is not consumed). A state whose
        parts contradict each other (a private key that does not match its public half, a
        conversation twice) is ``decode.bad_state``.

        Restoring an *older* snapshot of a client that has sent since and sending again
        reuses message keys (§7.8.4): an application MUST replace its stored state atomically
        and MUST NOT go back to an older one."""
        if type(snapshot) is not ClientSnapshot:
            raise UsageError("usage.bad_argument", "snapshot must be a ClientSnapshot")
        state = snapshot.state
        try:
            identity = IdentityKeyPair.from_private_bytes(state.identity)
            client = cls(
                identity, normalize_phone_number(state.phone),
                evaluator_key=state.evaluator_key, relay_id=state.relay_id, rng=rng,
            )  # fmt: skip
            live = client._state
            if state.registration is not None:
                live.registered = _restore_registration(identity, state.registration)
            for c in state.contacts:
                output = IdentifierOutput(c.oprf_key_id, c.output)
                live.contacts[c.number] = _Contact(c.identity, output, c.mailbox_key)
            for p in state.peers:
                peer = _Peer(
                    identity=p.identity,
                    session=Session.restore(SessionSnapshot(p.session), rng=rng),
                    mine=ConversationMailbox.from_private_bytes(p.mailbox),
                    theirs=p.theirs,
                    granted=p.granted,
                    serial=p.serial,
                    since=p.since,
                    retired=[
                        _Retired(
                            ConversationMailbox.from_private_bytes(r.mailbox), r.until, r.superseded
                        )
                        for r in p.retired
                    ],
                )
                if p.identity.signing_key in live.peers:
                    raise DecodeError("decode.bad_state", "ClientState: a peer twice")
                live.peers[p.identity.signing_key] = peer
        except UsageError:
            raise DecodeError("decode.bad_state", "ClientState: parts that do not match") from None
        live.inbox = [Received(r.sender, r.text, r.first_contact) for r in state.inbox]
        live.opened = set(state.opened)
        live.delivered = dict.fromkeys(state.delivered)
        return client

    # --- registration (spec §12.1: §8.5, §8.6, §10.3) -----------------------------------------

    def register(self, *, now: int) -> Exchange[None]:
        """Opt in: evaluate the own number (evaluator), register the discovery token with a
        fresh mailbox key (directory), open the routing ID of this epoch and host the
        first-contact bundle there (relay)."""
        return Exchange(self._register(now))

    def _register(self, now: int) -> Generator[Outgoing, bytes, None]:
        rng = self._rng
        pending = request_evaluation([self._phone], self._evaluator_key, now=now, rng=rng)
        (output,) = pending.finish(
            (yield Outgoing("evaluator", "evaluate", pending.request.to_bytes()))
        )
        mailbox = MailboxKeyPair.generate(rng)
        registration = Registration.sign(
            self._identity, output.discovery_token(), mailbox.public_key, now=now
        )
        yield Outgoing("directory", "register", registration.to_bytes())
        prekeys, upload = PrekeyStore.create(
            self._identity, now=now, rng=rng, batch=HOSTED_ONE_TIME_PREKEYS
        )
        keys = FirstContactKeys(self._identity)
        keys.maintain(now=now, rng=rng)
        registered = _Registered(output, mailbox, prekeys, keys, now)
        epoch = epoch_of(now)
        pool = upload.one_time_prekeys  # the new store's: hosted at this epoch's routing ID
        yield from self._open_epoch(registered, epoch, pool, now)
        registered.epochs[epoch] = tuple(p.id for p in pool)
        self._state.registered = registered  # commit

    def _open_epoch(
        self, registered: _Registered, epoch: int, pool: Sequence[OneTimePrekey], now: int
    ) -> Generator[Outgoing, bytes, None]:
        """Spec §10.3: open the routing ID of ``epoch`` and host the first-contact bundle of
        that epoch there, with ``pool``'s one-time prekeys."""
        secret = self._epoch_secret(registered, epoch)
        yield self._owner(secret, OPEN_OP, OpenBody(KIND_FIRST_CONTACT), now)
        yield from self._publish(registered, registered.keys, epoch, pool, now)

    def _publish(
        self, registered: _Registered, keys: FirstContactKeys, epoch: int,
        pool: Sequence[OneTimePrekey], now: int,
    ) -> Generator[Outgoing, bytes, None]:  # fmt: skip
        base = registered.prekeys.bundle()
        hosted = FirstContactBundle(base.identity, base.signed_prekey, None, keys.public(epoch))
        body = PublishBody(hosted, tuple(pool))
        yield self._owner(self._epoch_secret(registered, epoch), PUBLISH_OP, body, now)

    # --- discovery (spec §8.7) ----------------------------------------------------------------

    def discover(self, numbers: Sequence[PhoneNumber], *, now: int) -> Exchange[list[str]]:
        """Which of ``numbers`` use Blindpost: returns their E.164 forms; their identities and
        routing IDs are kept for :meth:`send`."""
        return Exchange(self._discover(list(numbers), now))

    def _discover(
        self, numbers: list[PhoneNumber], now: int
    ) -> Generator[Outgoing, bytes, list[str]]:
        pending = request_evaluation(numbers, self._evaluator_key, now=now, rng=self._rng)
        outputs = pending.finish(
            (yield Outgoing("evaluator", "evaluate", pending.request.to_bytes()))
        )
        parameters = DirectoryParameters.from_bytes(
            (yield Outgoing("directory", "parameters", b""))
        )
        found: dict[str, _Contact] = {}
        for number, output in zip(numbers, outputs, strict=True):
            token = output.discovery_token()
            lookup = lookup_request(token, parameters.prefix_bits)
            page = read_lookup_response(
                lookup, (yield Outgoing("directory", "lookup", lookup.to_bytes()))
            )
            entries = registrations_for(token, [page])
            if entries:
                entry = entries[0]
                found[number.e164] = _Contact(entry.identity, output, entry.mailbox_key)
        self._state.contacts.update(found)  # commit
        return list(found)

    # --- sending (spec §9.4, §9.5, §10.5, §10.6) ----------------------------------------------

    def send(self, to: str | IdentityKey, text: bytes, *, now: int) -> Exchange[None]:
        """Send ``text`` to the discovered number ``to``: a first contact through its routing
        ID the first time (bundle, seal, proof of work), a session envelope into the peer's
        conversation mailbox after that. ``to`` may also be the identity of a conversation
        (a :attr:`Received.sender`): an answer to someone who wrote first needs no discovery."""
        if type(text) is not bytes:
            raise UsageError("usage.bad_argument", "text is bytes")
        if isinstance(to, IdentityKey):
            known = self._state.peers.get(to.signing_key)
            if known is None:
                raise UsageError("usage.bad_argument", "no conversation with this identity")
            return Exchange(self._session_send(known, text, now))
        contact = self._state.contacts.get(to)
        if contact is None:
            raise UsageError("usage.bad_argument", "not a discovered contact")
        peer = self._state.peers.get(contact.identity.signing_key)
        if peer is None:
            return Exchange(self._first_contact(contact, text, now))
        return Exchange(self._session_send(peer, text, now))

    def _first_contact(
        self, contact: _Contact, text: bytes, now: int
    ) -> Generator[Outgoing, bytes, None]:
        rng = self._rng
        routing_id = contact.routing_id(epoch_of(now))  # the epoch of the sender's clock (§8.4)
        response = BundleResponse.from_bytes(
            (yield Outgoing("relay", "bundle", BundleRequest(routing_id).to_bytes()))
        )
        bundle = response.bundle
        if bundle.identity != contact.identity:  # the directory's identity, not the relay's
            raise AuthenticationError()
        bundle.verify()  # every signature (§9.4.1), before any request for this contact
        mine = ConversationMailbox.generate(rng)
        yield self._owner(
            mine.owner_secret, OPEN_OP,
            OpenBody(KIND_CONVERSATION, deposit_key=mine.deposit_public_key), now,
        )  # fmt: skip
        content = Content(text, mine.grant(1)).to_bytes()
        sealed = seal_first_contact(
            self._identity, bundle, routing_id, content, ttl=DEFAULT_TTL, rng=rng
        )
        identifier = envelope_id(sealed.envelope)
        nonce = solve_pow(response.seed, routing_id, identifier, response.effort, rng=rng)
        deposit = Deposit(sealed.envelope, response.seed, nonce).to_bytes()
        yield Outgoing("relay", "deposit", deposit)
        peer = _Peer(contact.identity, sealed.session, mine, granted=True, since=now)
        self._state.peers[contact.identity.signing_key] = peer  # commit

    def _session_send(
        self, peer: _Peer, text: bytes | None, now: int, grant: MailboxGrant | None = None
    ) -> Generator[Outgoing, bytes, None]:
        if peer.theirs is None:
            raise UsageError("usage.bad_state", "the peer has not answered yet: no mailbox to use")
        if grant is None and not peer.granted:
            grant = peer.mine.grant(peer.serial)
        if grant is not None and not peer.granted:
            yield self._owner(
                peer.mine.owner_secret, OPEN_OP,
                OpenBody(KIND_CONVERSATION, deposit_key=peer.mine.deposit_public_key), now,
            )  # fmt: skip
        # the ratchet commits at encrypt; a refused deposit is retried with the same envelope
        envelope = seal_session(
            peer.session, peer.theirs.mailbox_id, Content(text, grant).to_bytes(), ttl=DEFAULT_TTL
        )
        signature = sign_deposit(
            peer.theirs.deposit_key, relay_id=self._relay_id, address=peer.theirs.mailbox_id,
            envelope_id=envelope_id(envelope), time=now,
        )  # fmt: skip
        yield Outgoing(
            "relay", "deposit", Deposit(envelope, time=now, signature=signature).to_bytes()
        )
        if not peer.granted:
            peer.granted, peer.since = True, now

    # --- housekeeping (spec §12.6) ---------------------------------------------------------

    def maintain(self, *, now: int) -> Exchange[None]:
        """Spec §12.6: everything a long-lived client does regularly, in order —
        :meth:`rotate_first_contact`, :meth:`refill_prekeys`, :meth:`rotate_mailboxes`,
        :meth:`renew_registration`. Each part takes effect when its own requests are answered;
        a refusal stops the exchange and leaves the parts not yet done for the next call."""
        return Exchange(self._maintain(now))

    def _maintain(self, now: int) -> Generator[Outgoing, bytes, None]:
        yield from self._rotate_first_contact(now)
        yield from self._refill_prekeys(now)
        yield from self._rotate_mailboxes(now)
        yield from self._renew_registration(now)

    def _registered_or_raise(self) -> _Registered:
        registered = self._state.registered
        if registered is None:
            raise UsageError("usage.bad_state", "register first")
        return registered

    def rotate_first_contact(self, *, now: int) -> Exchange[None]:
        """Spec §12.6, §9.4.4: keep the first-contact keys of the current and the next epoch
        (deleting those past ``FIRST_CONTACT_KEY_RETENTION``), open the routing IDs of the
        current and the next epoch with their bundles and fresh one-time prekeys, and delete
        at the relay the routing IDs whose key is gone. Nothing changes unless every request
        is answered."""
        self._registered_or_raise()
        return Exchange(self._rotate_first_contact(now))

    def _rotate_first_contact(self, now: int) -> Generator[Outgoing, bytes, None]:
        registered = self._registered_or_raise()
        rng = self._rng
        keys = FirstContactKeys(
            self._identity,
            [pair for e in registered.keys.epochs() if (pair := registered.keys.get(e))],
        )  # a copy: the live keys change only at the commit below
        keys.maintain(now=now, rng=rng)
        current = epoch_of(now)
        held = set(keys.epochs())
        gone = [e for e in registered.epochs if e not in held]
        new = [e for e in (current, current + 1) if e not in registered.epochs]
        drafted = registered.prekeys.draft_one_time(HOSTED_ONE_TIME_PREKEYS * len(new), rng=rng)
        pools: dict[int, tuple[OneTimePrekeyPair, ...]] = {}
        for i, epoch in enumerate(new):
            pool = drafted[i * HOSTED_ONE_TIME_PREKEYS : (i + 1) * HOSTED_ONE_TIME_PREKEYS]
            pools[epoch] = pool
            secret = self._epoch_secret(registered, epoch)
            yield self._owner(secret, OPEN_OP, OpenBody(KIND_FIRST_CONTACT), now)
            yield from self._publish(registered, keys, epoch, [p.public for p in pool], now)
        for epoch in gone:
            yield self._owner(self._epoch_secret(registered, epoch), DELETE_OP, DeleteBody(), now)
        # commit
        registered.keys = keys
        registered.prekeys.adopt_one_time(drafted)
        for epoch, pool in pools.items():
            registered.epochs[epoch] = tuple(p.id for p in pool)
        for epoch in gone:
            hosted = registered.epochs.pop(epoch)
            still = {i for e, ids in registered.epochs.items() for i in ids}
            registered.prekeys.discard_one_time(i for i in hosted if i not in still)

    def refill_prekeys(self, *, now: int) -> Exchange[int]:
        """Spec §12.6: for the routing IDs of the current and the next epoch, publish new
        one-time prekeys where fewer than ``PREKEY_LOW_WATER`` of those hosted there are still
        held; returns how many were published (0: no request)."""
        self._registered_or_raise()
        return Exchange(self._refill_prekeys(now))

    def _refill_prekeys(self, now: int) -> Generator[Outgoing, bytes, int]:
        registered = self._registered_or_raise()
        prekeys = registered.prekeys
        held = set(prekeys.held_ids()[1])
        current = epoch_of(now)
        low = {}
        for epoch in (current, current + 1):
            ids = registered.epochs.get(epoch)
            if ids is not None and registered.keys.get(epoch) is not None:
                left = sum(1 for i in ids if i in held)
                if left < PREKEY_LOW_WATER:
                    low[epoch] = (HOSTED_ONE_TIME_PREKEYS - left, left)
        drafted = prekeys.draft_one_time(sum(n for n, _ in low.values()), rng=self._rng)
        pools: dict[int, tuple[OneTimePrekeyPair, ...]] = {}
        start = 0
        for epoch, (count, _left) in low.items():
            pools[epoch] = drafted[start : start + count]
            start += count
            publics = [p.public for p in pools[epoch]]
            yield from self._publish(registered, registered.keys, epoch, publics, now)
        prekeys.adopt_one_time(drafted)  # commit
        for epoch, pool in pools.items():
            kept = tuple(i for i in registered.epochs[epoch] if i in held)
            registered.epochs[epoch] = kept + tuple(p.id for p in pool)
        return len(drafted)

    def rotate_mailboxes(self, *, now: int) -> Exchange[None]:
        """Spec §12.6, §9.5: for every conversation whose mailbox (mine) was made in an earlier
        epoch, open a new one and send its grant (a higher serial, no text) into the peer's
        mailbox; delete at the relay each replaced mailbox once a message arrived in the new
        one or ``MAX_TTL`` has passed since the grant, after reading it a last time."""
        self._registered_or_raise()
        return Exchange(self._rotate_mailboxes(now))

    def _rotate_mailboxes(self, now: int) -> Generator[Outgoing, bytes, None]:
        self._registered_or_raise()
        current = epoch_of(now)
        for peer in list(self._state.peers.values()):
            for retired in list(peer.retired):
                if retired.superseded or now >= retired.until:
                    yield from self._fetch_mailbox(peer, retired.mailbox, now)
                    secret = retired.mailbox.owner_secret
                    yield self._owner(secret, DELETE_OP, DeleteBody(), now)
                    peer.retired.remove(retired)  # commit (this mailbox)
            if not peer.granted or peer.theirs is None or epoch_of(peer.since) >= current:
                continue
            fresh = ConversationMailbox.generate(self._rng)
            yield self._owner(
                fresh.owner_secret, OPEN_OP,
                OpenBody(KIND_CONVERSATION, deposit_key=fresh.deposit_public_key), now,
            )  # fmt: skip
            serial = peer.serial + 1
            yield from self._session_send(peer, None, now, fresh.grant(serial))
            # commit (this conversation): the old mailbox is read until it is replaced
            peer.retired.append(_Retired(peer.mine, now + MAX_TTL))
            peer.mine, peer.serial, peer.since = fresh, serial, now

    def renew_registration(self, *, now: int) -> Exchange[bool]:
        """Spec §12.6, §8.6.1: sign the registration again (same token and mailbox key) when it
        is ``REGISTRATION_RENEWAL`` old; returns whether it did (no request otherwise)."""
        self._registered_or_raise()
        return Exchange(self._renew_registration(now))

    def _renew_registration(self, now: int) -> Generator[Outgoing, bytes, bool]:
        registered = self._registered_or_raise()
        if now - registered.registered_at < REGISTRATION_RENEWAL:
            return False
        registration = Registration.sign(
            self._identity, registered.output.discovery_token(), registered.mailbox.public_key,
            now=now,
        )  # fmt: skip
        yield Outgoing("directory", "register", registration.to_bytes())
        registered.registered_at = now  # commit
        return True

    # --- receiving (spec §9.4.3, §9.5, §10.3) -------------------------------------------------

    def fetch(self, *, now: int) -> Exchange[list[Received]]:
        """Fetch, open and acknowledge what waits at the watched routing IDs and in every
        conversation mailbox; returns the messages in the order they were opened. A client
        that has not registered reads only the conversations it started; one with neither
        is ``usage.bad_state``."""
        return Exchange(self._fetch(now))

    def _fetch(self, now: int) -> Generator[Outgoing, bytes, list[Received]]:
        registered = self._state.registered
        if registered is None and not self._state.peers:
            raise UsageError("usage.bad_state", "register first")
        # Opened messages wait in the inbox until the exchange completes: a refused
        # acknowledgement or an abandoned exchange loses none (the next fetch returns them).
        inbox = self._state.inbox
        opened_ids = self._state.opened
        for epoch in [] if registered is None else self._watched(registered):
            assert registered is not None
            secret = self._epoch_secret(registered, epoch)
            for stored in (yield from self._fetch_from(secret, now)):
                if stored.id not in opened_ids:  # else opened by a fetch whose ack was refused
                    received = self._unless_hostile(
                        partial(self._deliver_first, registered, stored.envelope, epoch)
                    )
                    if received is not None:
                        inbox.append(received)
                    opened_ids.add(stored.id)
                yield self._owner(secret, ACK_OP, AckBody((stored.id,)), now)
                opened_ids.discard(stored.id)
        for peer in list(self._state.peers.values()):
            if not peer.granted:
                continue  # my mailbox for this peer opens with my first answer (send)
            for mailbox in [*(r.mailbox for r in peer.retired), peer.mine]:
                yield from self._fetch_mailbox(peer, mailbox, now)
        delivered = list(inbox)
        inbox.clear()
        return delivered

    def receive(self, envelope: bytes) -> Received | None:
        """Spec §12.5: an envelope that arrived outside :meth:`fetch` — over SMS (§11.7) or any
        other path — opened with the checks of fetch; no request is sent.

        The envelope's address says how: one of the client's conversation mailboxes (the
        peer's session, §9.5) or the routing ID of a watched epoch (a first contact of that
        epoch, §9.4.3); any other address is ``state.unknown_mailbox``. Returns the message, or
        ``None`` when there is nothing to show: a message delivered before (the ratchet's or
        the handshake's ``state.replay``, or a first contact this client already opened) or one
        that carries only a mailbox grant. Any other failure raises its code and changes
        nothing."""
        registered = self._state.registered
        if registered is None and not self._state.peers:
            raise UsageError("usage.bad_state", "register first")
        if type(envelope) is not bytes:
            raise UsageError("usage.bad_argument", "an envelope is bytes")
        address = Envelope.from_bytes(envelope).address  # decode.* before anything else
        for peer in self._state.peers.values():
            if address in (peer.mine.mailbox_id, *(r.mailbox.mailbox_id for r in peer.retired)):
                return self._deliver_session(peer, envelope)
        for epoch in [] if registered is None else self._watched(registered):
            assert registered is not None
            if registered.output.routing_id(registered.mailbox.public_key, epoch) == address:
                return self._deliver_first(registered, envelope, epoch)
        raise StateError("state.unknown_mailbox", "the envelope is for no address of this client")

    def _deliver_first(
        self, registered: _Registered, envelope: bytes, epoch: int
    ) -> Received | None:
        """Spec §9.4.3: open a first contact of ``epoch``; keep the new peer and return the
        message, or ``None`` for one delivered before. Transactional."""
        state = self._state
        identifier = envelope_id(envelope)
        if identifier in state.delivered:  # opened before (the relay's copy after receive)
            return None
        try:
            opened = open_first_contact(
                envelope, epoch=epoch, keys=registered.keys, prekeys=registered.prekeys,
                rng=self._rng,
            )  # fmt: skip
        except StateError as error:
            if error.code != "state.replay":
                raise
            return None
        first = Content.from_bytes(opened.plaintext)
        mine = ConversationMailbox.generate(self._rng)
        peer = _Peer(opened.peer, opened.session, mine, first.grant)
        state.peers[opened.peer.signing_key] = peer
        state.delivered[identifier] = None
        if len(state.delivered) > MAX_DELIVERED_FIRST_CONTACTS:
            del state.delivered[next(iter(state.delivered))]
        return Received(opened.peer, first.body or b"", True)

    def receive_sms(self, message: Reassembled) -> Received | None:
        """Spec §12.5, §11.7: a session message that arrived by SMS (a reassembled session form,
        §11.4), as :meth:`receive`. The form names no mailbox, so each conversation's session
        is asked in turn (a failed attempt changes nothing, §7.7); none opening it is
        ``auth.failed``. A first contact over SMS (§11.5) is ``decode.type``: the client does
        not take those yet (§12.4)."""
        if type(message) is not Reassembled:
            raise UsageError("usage.bad_argument", "a Reassembled message")
        if type(decode_compact(message.data)) is not CompactSession:
            raise DecodeError("decode.type", "a first contact over SMS")
        for peer in self._state.peers.values():

            def opener(session: Session) -> bytes:
                return open_sms_session(message.data, session, profile=message.profile)

            try:
                return self._deliver_session(peer, None, opener)
            except AuthenticationError:
                continue
        raise AuthenticationError()

    @staticmethod
    def _deliver_session(
        peer: _Peer, envelope: bytes | None, opener: Callable[[Session], bytes] | None = None
    ) -> Received | None:
        """Spec §9.5: open a session envelope of ``peer``'s conversation (or, by ``opener``, its
        SMS form); take its grant (the highest serial wins: grants can arrive out of order)
        and return the message, or ``None`` for one delivered before (by the relay again, or by
        SMS, §11.7): the ratchet refuses it as a replay, and it is already here."""
        try:
            if opener is None:
                assert envelope is not None
                content = Content.from_bytes(open_session(envelope, peer.session))
            else:
                content = Content.from_bytes(opener(peer.session))
        except StateError as error:
            if error.code != "state.replay":
                raise
            return None
        grant = content.grant
        if grant is not None and (peer.theirs is None or grant.serial > peer.theirs.serial):
            peer.theirs = grant
        arrived_at = None if envelope is None else Envelope.from_bytes(envelope).address
        if peer.retired and arrived_at == peer.mine.mailbox_id:
            for retired in peer.retired:  # the peer writes to the new mailbox now
                retired.superseded = True
        if content.body is None:
            return None
        return Received(peer.identity, content.body, False)

    def _unless_hostile(self, deliver: Callable[[], Received | None]) -> Received | None:
        """Spec §12.3: an envelope at the relay that does not open — hostile or corrupted; the
        client's state only moves forward, so it never will — is acknowledged like the others
        and counted in :attr:`dropped`, so that it cannot block the mailbox. Opening is
        transactional: the failure changed nothing."""
        try:
            return deliver()
        except (DecodeError, AuthenticationError, StateError):
            self._dropped += 1
            return None

    def _fetch_mailbox(
        self, peer: _Peer, mailbox: ConversationMailbox, now: int
    ) -> Generator[Outgoing, bytes, None]:
        """Fetch, open and acknowledge what waits in one of my mailboxes for ``peer``."""
        opened_ids = self._state.opened
        for stored in (yield from self._fetch_from(mailbox.owner_secret, now)):
            if stored.id not in opened_ids:  # else opened by a fetch whose ack was refused
                received = self._unless_hostile(
                    partial(self._deliver_session, peer, stored.envelope)
                )
                if received is not None:
                    self._state.inbox.append(received)
                opened_ids.add(stored.id)
            yield self._owner(mailbox.owner_secret, ACK_OP, AckBody((stored.id,)), now)
            opened_ids.discard(stored.id)

    def _fetch_from(
        self, secret: Scalar, now: int
    ) -> Generator[Outgoing, bytes, list[StoredEnvelope]]:
        response = yield self._owner(secret, FETCH_OP, FetchBody(FETCH_LIMIT), now)
        return list(FetchResponse.from_bytes(response).envelopes)

    # --- helpers ------------------------------------------------------------------------------

    def _epoch_secret(self, registered: _Registered, epoch: int) -> Scalar:
        return registered.mailbox.epoch_secret(registered.output.output_bytes(), epoch)

    @staticmethod
    def _watched(registered: _Registered) -> list[int]:
        """Spec §8.4, §9.4.4, §12.6: the epochs whose routing IDs are read — every opened one
        whose first-contact key is still held (the previous, current and next at least)."""
        held = set(registered.keys.epochs())
        return [epoch for epoch in sorted(registered.epochs) if epoch in held]

    def _owner(self, secret: Scalar, op: int,
               body: OpenBody | PublishBody | FetchBody | AckBody | DeleteBody,
               now: int) -> Outgoing:  # fmt: skip
        request = owner_request(
            secret, relay_id=self._relay_id, op=op, body=body, time=now, rng=self._rng
        )
        return Outgoing("relay", "owner", request)
