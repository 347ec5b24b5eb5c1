"""Spec vectors.md §13, suite ``scenarios``: whole conversations between clients and servers.

Each case is a script of ``steps`` played by two clients (``alice``, ``bob``), the three server
roles (an OPRF evaluator, a directory and a relay on an empty memory store), the relay's
maintenance and the ``network`` between them: register, discover, fetch a bundle and send a
first contact, a conversation both ways in which one message is lost and one arrives late, a
message that falls back to SMS and then arrives through the relay too, acknowledgements, an
expiry; invalid scenarios end in a replayed deposit, a deposit after expiry and a tampered
envelope.

Parameters
    Fixed clock (``start`` = 2026-06-04 00:00 UTC, epoch 2944); the OPRF key, the identities and
    every draw come from ``SeededRng.for_suite("scenarios", <case id>/<actor>)`` and are
    recorded: each step lists the draws its actor made (``rng``), each exchange the draws the
    server made (``server_rng``), a first contact the ML-KEM randomness ``kem_m``.

Verification
    Build the servers and the clients from the case's parameters and play every step in order
    with the recorded draws: every request a client makes MUST equal the exchange's
    ``request``; the server's answer MUST equal its ``response`` (or it MUST refuse with
    ``error``, changing nothing); what a client finds or receives MUST equal the step's
    ``found`` / ``received``; each step MUST use exactly its draws. The case's ``result`` and
    ``error`` are those of its last step (vectors.md §1.2).

The clients here are written from spec §12 for this suite on the layers' functions, with the
deterministic seams the other suites use (a first contact sealed with a given ML-KEM
encapsulation); ``tests/test_scenarios.py`` replays every case through the
:class:`~protocol.client.Client` facade instead, so a bug of this model cannot confirm itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from ..blinding import (
    IdentifierOutput,
    MailboxKeyPair,
    PhoneNumber,
    epoch_of,
    normalize_phone_number,
    request_evaluation,
)
from ..directory import (
    Directory,
    DirectoryParameters,
    Registration,
    lookup_request,
    read_lookup_response,
    registrations_for,
)
from ..envelope import (
    ENVELOPE_HEADER_SIZE,
    Content,
    ConversationMailbox,
    FirstContactBundle,
    FirstContactKeys,
    MailboxGrant,
    _seal_first_contact_with,
    envelope_id,
    open_first_contact,
    open_session,
    seal_session,
)
from ..errors import AuthenticationError, ProtocolError, StateError, UsageError
from ..evaluator import Evaluator, OprfKeyPair
from ..handshake import PrekeyStore
from ..keys import IdentityKey, IdentityKeyPair
from ..primitives import Rng, Scalar, X25519KeyPair, sha256
from ..ratchet import Session
from ..relay import (
    ACK_OP,
    FETCH_OP,
    KIND_CONVERSATION,
    KIND_FIRST_CONTACT,
    OPEN_OP,
    PUBLISH_OP,
    AckBody,
    BundleRequest,
    BundleResponse,
    Deposit,
    FetchBody,
    FetchResponse,
    MemoryStore,
    OpenBody,
    PublishBody,
    Relay,
    StoredEnvelope,
    owner_request,
    sign_deposit,
    solve_pow,
)
from ..sms import Profile, Reassembler, open_sms_session, segment, session_form_of_envelope
from . import Case, RecordingRng, ReplayRng, SeededRng, check_outcome
from ._mlkem import encapsulate_deterministic

__all__ = ["SUITE", "generate", "verify"]

SUITE: Final = "scenarios"
#: 2026-06-04 00:00 UTC: the start of epoch 2944; every scenario starts here.
START: Final = 1_780_531_200
RELAY_ID: Final = bytes(range(0xA0, 0xC0))
OPRF_KEY_ID: Final = 1
#: Spec §12.2 (``protocol.client``): what a client sends with, hosts and fetches.
TTL: Final = 86_400
HOSTED_ONE_TIME_PREKEYS: Final = 20
FETCH_LIMIT: Final = 100
#: The reference of the SMS concatenation (§11.2) in the SMS fallback step.
SMS_REFERENCE: Final = 7
PHONES: Final = {"alice": "+447700900123", "bob": "+442079460958"}
_FLAGS_CONVERSATION: Final = [
    "register", "discover", "first-contact", "conversation", "loss", "reorder", "sms", "ack",
    "expiry",
]  # fmt: skip
#: A number nobody registered: discovery does not find it.
STRANGER: Final = "+12025550143"


#: Spec wire.cddl: the rules of each exchange's request and response (``None``: empty bytes).
CDDL_RULES: Final[dict[tuple[str, str], tuple[str | None, str | None]]] = {
    ("evaluator", "evaluate"): ("oprf-evaluation-request", "oprf-evaluation-response"),
    ("directory", "register"): ("directory-registration", None),
    ("directory", "parameters"): (None, "directory-parameters"),
    ("directory", "lookup"): ("directory-lookup-request", "directory-lookup-response"),
    ("relay", "bundle"): ("relay-bundle-request", "relay-bundle-response"),
    ("relay", "deposit"): ("relay-deposit", "relay-deposit-response"),
}
#: Exchanges whose response is recorded as its SHA-256 (``response_sha256``): a directory
#: lookup answers a whole 18 688-byte page (spec §8.6.3), mostly zero padding.
_DIGESTED: Final = {("directory", "lookup")}
#: An owner operation's response rule depends on the operation (spec §10.2).
_OWNER_RESPONSE: Final = {
    OPEN_OP: "relay-done",
    PUBLISH_OP: "relay-done",
    FETCH_OP: "relay-fetch-response",
    ACK_OP: "relay-ack-response",
}


def _fail(where: str, expected: object, got: object) -> AssertionError:
    return AssertionError(f"{where}: expected {expected}, got {got}")


# --- the world: servers, network, clients ------------------------------------------------------


class _Switch:
    """An actor's rng for its whole life: the draws of whichever step is playing (a session
    keeps the rng it was made with and draws from it in later steps)."""

    __slots__ = ("current",)

    def __init__(self) -> None:
        self.current: Rng = ReplayRng([])

    def __call__(self, n: int) -> bytes:
        return self.current(n)


class _Draws:
    """The rng of one step or exchange: the seeded stream (generation) or the recorded draws
    (verification), every draw remembered."""

    def __init__(self, source: Rng, recorded: list[str] | None, where: str) -> None:
        self.replay = None if recorded is None else ReplayRng([bytes.fromhex(v) for v in recorded])
        self.rng = RecordingRng(source if self.replay is None else self.replay)
        self.where = where

    def hex(self) -> list[str]:
        if self.replay is not None and not self.replay.exhausted:
            raise AssertionError(f"{self.where}: the implementation drew fewer values")
        return [v.hex() for v in self.rng.drawn]


@dataclass(slots=True)
class _Peer:
    """A conversation of a client (spec §12.2): session, the peer's mailbox, mine."""

    identity: IdentityKey
    session: Session
    mine: ConversationMailbox
    theirs: MailboxGrant | None = None
    granted: bool = False


@dataclass(slots=True)
class _Registered:
    output: IdentifierOutput
    mailbox: MailboxKeyPair
    prekeys: PrekeyStore
    keys: FirstContactKeys


@dataclass(slots=True)
class _Held:
    """A deposit the network holds (not yet delivered, lost, or delivered and kept to replay)."""

    sender: str
    request: bytes
    on_delivered: Callable[[], None]
    delivered: bool = False


@dataclass(slots=True)
class _Client:
    """Spec §12: one client as this suite models it (the facade's order of operations)."""

    name: str
    identity: IdentityKeyPair
    phone: PhoneNumber
    credential: bytes
    registered: _Registered | None = None
    contacts: dict[str, tuple[IdentityKey, bytes]] = field(default_factory=dict)
    peers: dict[bytes, _Peer] = field(default_factory=dict)


class _World:
    """The servers, the clients and the network of one scenario, playing or replaying steps."""

    def __init__(self, case: Case, generating: bool) -> None:
        h = bytes.fromhex
        self.case_id: str = case["id"]
        self.generating = generating
        self.start: int = case["start"]
        self.relay_id = h(case["relay_id"])
        key = OprfKeyPair.from_private_bytes(case["oprf_key_id"], h(case["oprf_private"]))
        self.evaluator = Evaluator(key, now=self.start)
        self.directory = Directory()
        self.store = MemoryStore()
        self.relay = Relay(self.store, self.relay_id)
        self.clients = {
            name: _Client(
                name,
                IdentityKeyPair.from_private_bytes(h(actor["identity_private"])),
                normalize_phone_number(actor["phone"]),
                h(actor["credential"]),
            )
            for name, actor in case["actors"].items()
        }
        self.held: dict[str, _Held] = {}
        self.switches: dict[str, _Switch] = {}
        self.last_sms: list[str] = []
        self.reassemblers: dict[str, Reassembler] = {}
        self._streams: dict[str, SeededRng] = {}
        self.step: dict[str, Any] = {}
        self.recorded: dict[str, Any] | None = None
        self.where = ""
        self.rng: _Draws = self._draws("unused", None)
        self._exchanges: list[dict[str, Any]] = []

    def _stream(self, actor: str) -> SeededRng:
        if actor not in self._streams:
            self._streams[actor] = SeededRng.for_suite(SUITE, f"{self.case_id}/{actor}")
        return self._streams[actor]

    def _draws(self, actor: str, recorded: list[str] | None) -> _Draws:
        return _Draws(self._stream(actor), recorded, self.where)

    def name_of(self, identity: IdentityKey) -> str:
        for name, client in self.clients.items():
            if client.identity.public == identity:
                return str(name)
        raise AssertionError(f"{self.where}: a message from an identity of no actor")

    # --- exchanges --------------------------------------------------------------------------

    def carry(
        self,
        role: str,
        op: str,
        request: bytes,
        credential: bytes = b"",
        rules: tuple[str | None, str | None] | None = None,
    ) -> bytes:
        """One request to a server and its answer, checked against the recorded exchange."""
        index = len(self._exchanges)
        where = f"{self.where}.exchanges[{index}]"
        expected = self._expected_exchange(index, where)
        if expected is not None:
            _compare(f"{where}.role/op", [expected["role"], expected["op"]], [role, op])
            _compare(f"{where}.request", expected["request"], request.hex())
        draws = _Draws(
            self._stream("servers"), None if expected is None else expected["server_rng"], where
        )
        exchange: dict[str, Any] = {"role": role, "op": op, "request": request.hex()}
        self._exchanges.append(exchange)
        request_rule, response_rule = rules or CDDL_RULES[role, op]
        before = self.store.dump()
        try:
            response = self._answer(role, op, request, credential, draws.rng)
        except ProtocolError as error:
            if self.store.dump() != before:
                raise AssertionError(f"{where}: a refused request changed the relay") from None
            exchange |= {"response": None, "error": error.code, "server_rng": draws.hex()}
            exchange["cddl"] = _rules(request_rule, None)
            raise
        if (role, op) in _DIGESTED:  # a padded page, mostly zeros (as in the blinding suite)
            exchange |= {"response": None, "response_sha256": sha256(response).hex()}
            response_rule = None
        else:
            exchange["response"] = response.hex()
        exchange |= {"error": None, "server_rng": draws.hex()}
        exchange["cddl"] = _rules(request_rule, response_rule)
        return response

    def hold(self, role: str, op: str, request: bytes) -> None:
        """A request the client made that the network does not carry now."""
        index = len(self._exchanges)
        where = f"{self.where}.exchanges[{index}]"
        expected = self._expected_exchange(index, where)
        if expected is not None:
            _compare(f"{where}.role/op", [expected["role"], expected["op"]], [role, op])
            _compare(f"{where}.request", expected["request"], request.hex())
        self._exchanges.append(
            {"role": role, "op": op, "request": request.hex(), "response": None, "error": None,
             "server_rng": [], "cddl": _rules(CDDL_RULES[role, op][0], None)}
        )  # fmt: skip

    def _expected_exchange(self, index: int, where: str) -> dict[str, Any] | None:
        if self.recorded is None:
            return None
        recorded = self.recorded.get("exchanges") or []
        if index >= len(recorded):
            raise AssertionError(f"{where}: the implementation made more requests than recorded")
        exchange: dict[str, Any] = recorded[index]
        return exchange

    def _answer(self, role: str, op: str, body: bytes, credential: bytes, rng: Rng) -> bytes:
        now = self.step["now"]
        if role == "evaluator" and op == "evaluate":
            return self.evaluator.evaluate(credential, body, now=now, rng=rng)
        if role == "directory":
            if op == "parameters":
                return self.directory.parameters().to_bytes()
            if op == "register":
                self.directory.register(credential, body, now=now)
                return b""
            if op == "lookup":
                return self.directory.lookup(body, now=now)
        if role == "relay":
            if op == "owner":
                return self.relay.owner(body, now=now)
            if op == "bundle":
                return self.relay.bundle(body, now=now)
            if op == "deposit":
                return self.relay.deposit(body, now=now)
        raise AssertionError(f"{self.where}: no operation {role}/{op}")

    # --- playing one step ---------------------------------------------------------------------

    def play(self, index: int, step: dict[str, Any], recorded: dict[str, Any] | None) -> Case:
        """Run one step from its inputs; return the step with its outputs."""
        self.where = f"steps[{index}]"
        self.step = step
        self.recorded = recorded
        self._exchanges = []
        actor = step["actor"]
        draws = None
        if recorded is not None:  # verifying: only the recorded draws, never the stream
            draws = recorded.get("rng", [])
            if type(draws) is not list:
                raise AssertionError(f"{self.where}.rng: expected an array")
        self.rng = self._draws(actor, draws)
        self.switches.setdefault(actor, _Switch()).current = self.rng.rng
        outputs: dict[str, Any] = {}
        try:
            action = _ACTIONS.get(step["action"])
            if action is None:
                raise AssertionError(f"{self.where}.action: unknown {step['action']!r}")
            outputs = action(self, step) or {}
            result: dict[str, Any] = {"result": "valid", "error": None}
        except ProtocolError as error:
            result = {"result": "invalid", "error": error.code}
        played = dict(step)
        if actor in self.clients or step["action"] == "maintain":
            played["rng"] = self.rng.hex()
        if self._exchanges or "exchanges" in step:
            played["exchanges"] = self._exchanges
        return played | outputs | result

    def client(self, name: str) -> _Client:
        client = self.clients.get(name)
        if client is None:
            raise AssertionError(f"{self.where}.actor: no client {name!r}")
        return client

    @property
    def actor_rng(self) -> Rng:
        """The playing actor's rng (also used by the sessions it makes)."""
        return self.switches[self.step["actor"]]

    def owner(self, secret: Scalar, op: int, body: Any) -> bytes:
        request = owner_request(
            secret, relay_id=self.relay_id, op=op, body=body, time=self.step["now"],
            rng=self.actor_rng,
        )  # fmt: skip
        return self.carry(
            "relay", "owner", request, rules=("relay-owner-request", _OWNER_RESPONSE[op])
        )


def _rules(request: str | None, response: str | None) -> dict[str, str]:
    return {
        name: rule
        for name, rule in (("request", request), ("response", response))
        if rule is not None
    }


def _compare(where: str, expected: object, got: object) -> None:
    """Raise naming the first field (by its JSON path) where ``got`` differs."""
    if type(expected) is dict and type(got) is dict:
        for key in sorted(set(expected) | set(got)):
            _compare(f"{where}.{key}", expected.get(key), got.get(key))
    elif type(expected) is list and type(got) is list:
        for index, (e, g) in enumerate(zip(expected, got, strict=False)):
            _compare(f"{where}[{index}]", e, g)
        if len(expected) != len(got):
            raise _fail(f"{where}: length", len(expected), len(got))
    elif expected != got:
        raise _fail(where, expected, got)


def _routing_secret(registered: _Registered, now: int) -> Scalar:
    return registered.mailbox.epoch_secret(registered.output.output_bytes(), epoch_of(now))


# --- the actions (vectors.md §13) ----------------------------------------------------------------


def _maintain(world: _World, step: dict[str, Any]) -> None:
    """The relay's maintenance (§10.7): seeds and expiry."""
    world.relay.maintain(now=step["now"], rng=world.actor_rng)


def _register(world: _World, step: dict[str, Any]) -> None:
    """Spec §12.1: evaluate the own number, register the token, open the routing ID, host the
    first-contact bundle and 20 one-time prekeys there."""
    me, now, rng = world.client(step["actor"]), step["now"], world.actor_rng
    pending = request_evaluation([me.phone], world.evaluator.current_key(), now=now, rng=rng)
    (output,) = pending.finish(
        world.carry("evaluator", "evaluate", pending.request.to_bytes(), me.credential)
    )
    mailbox = MailboxKeyPair.generate(rng)
    registration = Registration.sign(
        me.identity, output.discovery_token(), mailbox.public_key, now=now
    )
    world.carry("directory", "register", registration.to_bytes(), me.credential)
    prekeys, _upload = PrekeyStore.create(
        me.identity, now=now, rng=rng, batch=HOSTED_ONE_TIME_PREKEYS
    )
    keys = FirstContactKeys(me.identity)
    keys.maintain(now=now, rng=rng)
    registered = _Registered(output, mailbox, prekeys, keys)
    secret = _routing_secret(registered, now)
    world.owner(secret, OPEN_OP, OpenBody(KIND_FIRST_CONTACT))
    base = prekeys.bundle()
    hosted = FirstContactBundle(base.identity, base.signed_prekey, None, keys.public(epoch_of(now)))
    pool = tuple(p.public for p in prekeys._one_time.values())
    world.owner(secret, PUBLISH_OP, PublishBody(hosted, pool))
    me.registered = registered


def _discover(world: _World, step: dict[str, Any]) -> dict[str, Any]:
    """Spec §8.7: evaluate the numbers, read the prefix length, look each token up."""
    me, now = world.client(step["actor"]), step["now"]
    numbers = [normalize_phone_number(n) for n in step["numbers"]]
    pending = request_evaluation(
        numbers, world.evaluator.current_key(), now=now, rng=world.actor_rng
    )
    outputs = pending.finish(
        world.carry("evaluator", "evaluate", pending.request.to_bytes(), me.credential)
    )
    parameters = DirectoryParameters.from_bytes(world.carry("directory", "parameters", b""))
    found: dict[str, tuple[IdentityKey, bytes]] = {}
    for number, output in zip(numbers, outputs, strict=True):
        token = output.discovery_token()
        lookup = lookup_request(token, parameters.prefix_bits)
        page = read_lookup_response(lookup, world.carry("directory", "lookup", lookup.to_bytes()))
        entries = registrations_for(token, [page])
        if entries:
            entry = entries[0]
            found[number.e164] = (
                entry.identity,
                output.routing_id(entry.mailbox_key, epoch_of(now)),
            )
    me.contacts.update(found)
    return {"found": list(found)}


def _send(world: _World, step: dict[str, Any]) -> dict[str, Any]:
    """Spec §12.2: a first contact the first time (bundle, my conversation mailbox, seal,
    proof of work, deposit), then a session envelope into the peer's conversation mailbox."""
    me, now, rng = world.client(step["actor"]), step["now"], world.actor_rng
    contact = me.contacts.get(step["to"])
    if contact is None:
        raise UsageError("usage.bad_argument", "not a discovered contact")
    identity, routing_id = contact
    content_text = step["text"].encode()
    peer = me.peers.get(identity.signing_key)
    label, held = step["message"], step["held"]
    if peer is None:
        response = BundleResponse.from_bytes(
            world.carry("relay", "bundle", BundleRequest(routing_id).to_bytes())
        )
        bundle = response.bundle
        if bundle.identity != identity:
            raise AuthenticationError()
        mine = ConversationMailbox.generate(rng)
        world.owner(
            mine.owner_secret,
            OPEN_OP,
            OpenBody(KIND_CONVERSATION, deposit_key=mine.deposit_public_key),
        )
        content = Content(content_text, mine.grant(1)).to_bytes()
        m = _kem_m(world, step)
        shared, ciphertext = encapsulate_deterministic(
            bundle.first_contact_key.kem_prekey.public_key, m
        )
        bundle.verify()
        ephemeral = X25519KeyPair.generate(rng)
        sealed, _inner = _seal_first_contact_with(
            me.identity, bundle, routing_id, content, TTL, ephemeral, shared, ciphertext, rng
        )
        identifier = envelope_id(sealed.envelope)
        nonce = solve_pow(response.seed, routing_id, identifier, response.effort, rng=rng)
        request = Deposit(sealed.envelope, response.seed, nonce).to_bytes()
        new_peer = _Peer(identity, sealed.session, mine, granted=True)

        def delivered() -> None:
            me.peers[identity.signing_key] = new_peer

        _deposit(world, label, held, request, delivered)
        return {"kem_m": m.hex()}
    if peer.theirs is None:  # spec §12.2: no mailbox of the peer to deposit to yet
        raise UsageError("usage.bad_state", "the peer has not answered yet")
    grant = None if peer.granted else peer.mine.grant(1)
    if grant is not None:
        world.owner(
            peer.mine.owner_secret, OPEN_OP,
            OpenBody(KIND_CONVERSATION, deposit_key=peer.mine.deposit_public_key),
        )  # fmt: skip
    envelope = seal_session(
        peer.session, peer.theirs.mailbox_id, Content(content_text, grant).to_bytes(), ttl=TTL
    )
    signature = sign_deposit(
        peer.theirs.deposit_key, relay_id=world.relay_id, address=peer.theirs.mailbox_id,
        envelope_id=envelope_id(envelope), time=now,
    )  # fmt: skip
    request = Deposit(envelope, time=now, signature=signature).to_bytes()

    def granted() -> None:
        peer.granted = True

    _deposit(world, label, held, request, granted)
    return {"kem_m": None}


def _kem_m(world: _World, step: dict[str, Any]) -> bytes:
    if world.recorded is not None:
        value = world.recorded.get("kem_m")
        if type(value) is not str:
            raise AssertionError(f"{world.where}.kem_m: expected the recorded randomness")
        return bytes.fromhex(value)
    return world._stream("kem")(32)


def _deposit(
    world: _World, label: str, held: bool, request: bytes, on_delivered: Callable[[], None]
) -> None:
    if label in world.held:
        raise AssertionError(f"{world.where}.message: {label!r} named twice")
    entry = _Held(world.step["actor"], request, on_delivered)
    if held:
        world.hold("relay", "deposit", request)
        world.held[label] = entry
        return
    world.carry("relay", "deposit", request)
    entry.delivered = True
    world.held[label] = entry
    on_delivered()


def _fetch(world: _World, step: dict[str, Any]) -> dict[str, Any]:
    """Spec §12.2: fetch, open and acknowledge (one by one) at the routing ID, then in every
    conversation mailbox whose grant reached the peer; a message delivered before (SMS, a
    second copy) is acknowledged and not shown."""
    me, now, rng = world.client(step["actor"]), step["now"], world.actor_rng
    registered = me.registered
    if registered is None:
        raise UsageError("usage.bad_state", "register first")
    received: list[dict[str, Any]] = []
    secret = _routing_secret(registered, now)
    for stored in _fetch_from(world, secret):
        try:
            opened = open_first_contact(
                stored.envelope, epoch=epoch_of(now), keys=registered.keys,
                prekeys=registered.prekeys, rng=rng,
            )  # fmt: skip
        except StateError as error:
            if error.code != "state.replay":
                raise
        else:
            first = Content.from_bytes(opened.plaintext)
            mine = ConversationMailbox.generate(rng)
            me.peers[opened.peer.signing_key] = _Peer(
                opened.peer, opened.session, mine, first.grant
            )
            received.append(_received(world, opened.peer, first.body, True))
        world.owner(secret, ACK_OP, AckBody((stored.id,)))
    for peer in list(me.peers.values()):
        if not peer.granted:
            continue
        for stored in _fetch_from(world, peer.mine.owner_secret):
            try:
                content: Content | None = Content.from_bytes(
                    open_session(stored.envelope, peer.session)
                )
            except StateError as error:
                if error.code != "state.replay":
                    raise
                content = None
            if content is not None:
                if content.grant is not None:
                    peer.theirs = content.grant
                received.append(_received(world, peer.identity, content.body, False))
            world.owner(peer.mine.owner_secret, ACK_OP, AckBody((stored.id,)))
    return {"received": received}


def _fetch_from(world: _World, secret: Scalar) -> list[StoredEnvelope]:
    response = world.owner(secret, FETCH_OP, FetchBody(FETCH_LIMIT))
    return list(FetchResponse.from_bytes(response).envelopes)


def _received(
    world: _World, sender: IdentityKey, body: bytes | None, first: bool
) -> dict[str, Any]:
    return {"from": world.name_of(sender), "text": (body or b"").decode(), "first_contact": first}


def _network(world: _World, step: dict[str, Any], *, replay: bool = False) -> None:
    entry = world.held.get(step["message"])
    if entry is None:
        raise AssertionError(f"{world.where}.message: no message {step['message']!r}")
    if entry.delivered != replay:
        raise AssertionError(f"{world.where}.message: delivered {entry.delivered}")
    world.carry("relay", "deposit", entry.request)
    if not replay:
        entry.delivered = True
        entry.on_delivered()


def _deliver(world: _World, step: dict[str, Any]) -> None:
    """The network carries a held deposit now (late: after later ones)."""
    _network(world, step)


def _replay(world: _World, step: dict[str, Any]) -> None:
    """An attacker on the network deposits a delivered deposit again, byte for byte."""
    _network(world, step, replay=True)


def _lose(world: _World, step: dict[str, Any]) -> None:
    """The network loses a held deposit: it never reaches the relay."""
    entry = world.held.get(step["message"])
    if entry is None or entry.delivered:
        raise AssertionError(f"{world.where}.message: not a held message")
    entry.delivered = True  # gone: never delivered, never replayed


def _tamper(world: _World, step: dict[str, Any]) -> None:
    """An attacker flips one bit of a held deposit's envelope body (a test-only mutator that
    decodes the deposit, edits the envelope and encodes it again) and deposits that."""
    entry = world.held.get(step["message"])
    if entry is None or entry.delivered:
        raise AssertionError(f"{world.where}.message: not a held message")
    original = Deposit.from_bytes(entry.request)
    if world.recorded is None:
        envelope = bytearray(original.envelope)
        envelope[ENVELOPE_HEADER_SIZE + 40] ^= 0x01
        tampered = Deposit(
            bytes(envelope), original.seed, original.nonce, original.time, original.signature
        ).to_bytes()
    else:
        tampered = bytes.fromhex(world.recorded["exchanges"][0]["request"])
        edited = Deposit.from_bytes(tampered)
        flips = [
            i
            for i, (a, b) in enumerate(zip(original.envelope, edited.envelope, strict=False))
            if a != b
        ]
        same = (original.seed, original.nonce, original.time, original.signature) == (
            edited.seed, edited.nonce, edited.time, edited.signature
        )  # fmt: skip
        if (
            len(original.envelope) != len(edited.envelope)
            or len(flips) != 1
            or flips[0] < ENVELOPE_HEADER_SIZE
            or bin(original.envelope[flips[0]] ^ edited.envelope[flips[0]]).count("1") != 1
            or not same
        ):
            raise AssertionError(f"{world.where}.exchanges[0].request: not one flipped body bit")
    world.carry("relay", "deposit", tampered)


def _sms_send(world: _World, step: dict[str, Any]) -> dict[str, Any]:
    """Spec §11.7: a held deposit's deadline passed; its ratchet message goes by SMS unchanged
    (§11.4 case 1), split into binary segments (§11.2)."""
    entry = world.held.get(step["message"])
    if entry is None or entry.sender != step["actor"]:
        raise AssertionError(f"{world.where}.message: not a deposit of {step['actor']}")
    envelope = Deposit.from_bytes(entry.request).envelope
    data = session_form_of_envelope(envelope)
    profile = Profile(step["profile"])
    segments = segment(profile, data, step["reference"])
    hexed = [s.hex() for s in segments if type(s) is bytes]
    world.last_sms = hexed
    return {"data": data.hex(), "segments": hexed}


def _sms_receive(world: _World, step: dict[str, Any]) -> dict[str, Any]:
    """Spec §11.6, §11.4: reassemble the segments (in the order given) from the peer's number
    and open the session form with that peer's session."""
    me, now = world.client(step["actor"]), step["now"]
    sender = world.client(step["from"])
    peer = me.peers.get(sender.identity.public.signing_key)
    if peer is None:
        raise AssertionError(f"{world.where}.from: no conversation with {step['from']}")
    segments = step.get("segments")
    if segments is None and world.generating:  # the last SMS sent, received in reverse order
        segments = list(reversed(world.last_sms))
    if type(segments) is not list:
        raise AssertionError(f"{world.where}.segments: expected an array")
    reassembler = world.reassemblers.setdefault(step["actor"], Reassembler())
    complete = None
    for index, hexed in enumerate(segments):
        if complete is not None:
            raise AssertionError(f"{world.where}.segments[{index}]: after the message completed")
        complete = reassembler.receive(sender.phone.e164.encode(), bytes.fromhex(hexed), now=now)
    if complete is None:
        raise AssertionError(f"{world.where}.segments: the message is incomplete")
    content = Content.from_bytes(
        open_sms_session(complete.data, peer.session, profile=complete.profile)
    )
    if content.grant is not None:
        peer.theirs = content.grant
    received = [_received(world, peer.identity, content.body, False)]
    return {"segments": segments, "received": received}


_ACTIONS: Final[dict[str, Callable[[_World, dict[str, Any]], dict[str, Any] | None]]] = {
    "maintain": _maintain,
    "register": _register,
    "discover": _discover,
    "send": _send,
    "fetch": _fetch,
    "deliver": _deliver,
    "lose": _lose,
    "replay": _replay,
    "tamper": _tamper,
    "sms-send": _sms_send,
    "sms-receive": _sms_receive,
}
#: The inputs of each action (with ``actor`` and ``action``); every other field of a step is
#: an output, recorded by playing it.
_INPUTS: Final[dict[str, tuple[str, ...]]] = {
    "maintain": ("now",),
    "register": ("now",),
    "discover": ("now", "numbers"),
    "send": ("now", "to", "text", "message", "held"),
    "fetch": ("now",),
    "deliver": ("now", "message"),
    "lose": ("now", "message"),
    "replay": ("now", "message"),
    "tamper": ("now", "message"),
    "sms-send": ("now", "message", "profile", "reference"),
    "sms-receive": ("now", "from", "segments"),
}


def _inputs(step: dict[str, Any]) -> dict[str, Any]:
    action = step.get("action")
    names = ("actor", "action", *(_INPUTS.get(action, ()) if type(action) is str else ()))
    return {k: step[k] for k in names if k in step}


# --- generation -------------------------------------------------------------------------------


def _parameters(case_id: str) -> Case:
    rng = SeededRng.for_suite(SUITE, f"{case_id}/parameters")
    oprf = OprfKeyPair.generate(OPRF_KEY_ID, rng)
    actors = {
        name: {
            "identity_private": IdentityKeyPair.generate(rng).private_bytes().hex(),
            "phone": phone,
            "credential": name.encode().hex(),
        }
        for name, phone in PHONES.items()
    }
    return {
        "start": START,
        "relay_id": RELAY_ID.hex(),
        "oprf_key_id": OPRF_KEY_ID,
        "oprf_private": oprf.private_bytes().hex(),
        "actors": actors,
    }


def _step(actor: str, action: str, now: int, **inputs: Any) -> dict[str, Any]:
    return {"actor": actor, "action": action, "now": now, **inputs}


def _send_step(actor: str, to: str, text: str, now: int, message: str, held: bool = False) -> Case:
    return _step(actor, "send", now, to=PHONES[to], text=text, message=message, held=held)


def _case(case_id: str, comment: str, flags: list[str], script: list[dict[str, Any]]) -> Case:
    case: Case = {"id": case_id, "comment": comment, "flags": flags}
    case |= _parameters(case_id)
    world = _World(case, generating=True)
    steps = []
    for index, step in enumerate(script):
        played = world.play(index, step, None)
        if played["result"] == "invalid" and index != len(script) - 1:
            raise AssertionError(f"{case_id}: step {index} failed: {played['error']}")
        steps.append(played)
    last = steps[-1]
    return {**case, "result": last["result"], "error": last["error"], "steps": steps}


def _opening(t: int, *, stranger: bool = False) -> list[dict[str, Any]]:
    """Both register; Alice discovers Bob (and, if ``stranger``, does not find a number nobody
    registered) and sends the first contact; Bob fetches it."""
    numbers = [PHONES["bob"], STRANGER] if stranger else [PHONES["bob"]]
    return [
        _step("relay", "maintain", t),
        _step("bob", "register", t),
        _step("alice", "register", t + 1),
        _step("alice", "discover", t + 10, numbers=numbers),
        _send_step("alice", "bob", "Hi Bob, it's Alice.", t + 20, "first-contact"),
        _step("bob", "fetch", t + 30),
    ]


def _answered(t: int, *, stranger: bool = False) -> list[dict[str, Any]]:
    """The opening, then Bob discovers Alice and answers; Alice fetches the answer."""
    return [
        *_opening(t, stranger=stranger),
        _step("bob", "discover", t + 40, numbers=[PHONES["alice"]]),
        _send_step("bob", "alice", "Hello Alice!", t + 50, "answer"),
        _step("alice", "fetch", t + 60),
    ]


def generate() -> list[Case]:
    """All cases of the suite, deterministically."""
    t = START
    expired = t + 400 + TTL + 1
    conversation = [
        *_answered(t, stranger=True),
        _send_step("alice", "bob", "one", t + 70, "one"),
        _send_step("alice", "bob", "two (lost)", t + 71, "two", held=True),
        _step("network", "lose", t + 71, message="two"),
        _send_step("alice", "bob", "three (late)", t + 72, "three", held=True),
        _send_step("alice", "bob", "four", t + 73, "four"),
        _step("network", "deliver", t + 80, message="three"),
        _step("bob", "fetch", t + 90),
        _send_step("bob", "alice", "sent by SMS", t + 100, "by-sms", held=True),
        _step("bob", "sms-send", t + 160, message="by-sms", profile="binary",
              reference=SMS_REFERENCE),
        _step("alice", "sms-receive", t + 170, **{"from": "bob"}),
        _step("network", "deliver", t + 200, message="by-sms"),
        _step("alice", "fetch", t + 210),
        _send_step("alice", "bob", "nobody reads this in time", t + 400, "unread"),
        _step("relay", "maintain", expired),
        _step("bob", "fetch", expired + 10),
    ]  # fmt: skip
    cases = [
        _case(
            "conversation",
            "register, discover, a first contact through the bundle at Bob's routing ID, answers "
            "both ways; 'two' is lost and 'three' arrives after 'four'; Bob's 'sent by SMS' "
            "falls back to SMS (segments received in reverse order) and its relay copy is "
            "acknowledged without being shown again; an unread message expires",
            _FLAGS_CONVERSATION,
            conversation,
        ),
        _case(
            "replayed-deposit",
            "after Bob fetched and acknowledged the first contact, the network deposits it again: "
            "the relay's tombstone refuses it",
            ["first-contact", "replay"],
            [*_opening(t), _step("network", "replay", t + 40, message="first-contact")],
        ),
        _case(
            "deposit-after-expiry",
            "a conversation deposit expires unread; deposited again after the expiry, its "
            "signed time is outside the relay's window",
            ["conversation", "expiry", "replay"],
            [
                *_answered(t),
                _send_step("alice", "bob", "expires unread", t + 70, "late"),
                _step("relay", "maintain", t + 70 + TTL + 1),
                _step("network", "replay", t + 70 + TTL + 1, message="late"),
            ],
        ),
        _case(
            "send-before-answer",
            "Alice writes again before Bob answered her first contact: she has no mailbox of his "
            "to deposit to, so her client refuses and sends nothing",
            ["first-contact", "usage"],
            [*_opening(t), _send_step("alice", "bob", "are you there?", t + 40, "too-early")],
        ),
        _case(
            "tampered-envelope",
            "the network flips one bit of a conversation envelope's body in transit: the deposit "
            "key's signature (over the envelope id) no longer verifies",
            ["conversation", "tamper"],
            [
                *_answered(t),
                _send_step("alice", "bob", "tampered in transit", t + 70, "tampered", held=True),
                _step("network", "tamper", t + 75, message="tampered"),
            ],
        ),
    ]
    return cases


# --- verification -----------------------------------------------------------------------------


def verify(case: Case) -> None:
    """Replay the scenario step by step; raise :class:`AssertionError` naming the first
    mismatched field."""
    steps = case.get("steps")
    check_outcome(case, steps)
    assert type(steps) is list  # checked above
    world = _World(case, generating=False)
    for index, recorded in enumerate(steps):
        if type(recorded) is not dict:
            raise AssertionError(f"steps[{index}]: expected an object")
        inputs = _inputs(recorded)
        played = world.play(index, inputs, recorded)
        for key in sorted(set(played) | set(recorded)):
            if key not in inputs:
                _compare(f"steps[{index}].{key}", recorded.get(key), played.get(key))
        if played["result"] == "invalid" and index != len(steps) - 1:
            raise AssertionError(f"steps[{index}]: a step before the last failed")
