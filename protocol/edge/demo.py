"""``blindpost demo``: the most complete real flow the implementation has so far.

Two phones run the client facade (``protocol/client.py``, spec §12) and the demo is their
transport: it carries each request a client hands out to the in-process servers and the answer
back, and records what every server role received. Bob registers his phone number through the
blind OPRF evaluator and directory, opens his routing ID at the relay and hosts his
first-contact bundle there; Alice discovers him from her address book without either server
learning a number, and her client fetches the bundle by routing ID, verifies it against the
identity the directory gave her, seals her first message (hybrid handshake inside a
post-quantum seal) with her reply mailbox in it, pays a proof of work and deposits it; Bob's
client fetches, opens and acknowledges it. The two then talk through conversation mailboxes
secured with each other's deposit keys, with a lost and reordered message and replays refused;
Bob's device stores its whole client state encrypted and restores it; the demo shows what the
relay holds; both compare safety numbers; a message whose deposit is not acknowledged falls
back to SMS (spec §11); and last, the relay's copy of it expires (spec §10.7).

Where the demo shows an attack refused it may build the hostile input by hand (a forged
bundle, a rogue evaluator) or check a lower layer directly on Bob's exported state. Everything
runs for real through the protocol code. The demo is the only place that reads a clock and the
operating system's random generator, and it prints what the servers received next to what the
clients know.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..blinding import PhoneNumber, epoch_of, normalize_phone_number, request_evaluation
from ..client import HOSTED_ONE_TIME_PREKEYS, Client, ClientSnapshot, Exchange, Outgoing
from ..directory import Directory, DirectoryParameters, LookupRequest, Registration
from ..envelope import (
    ENVELOPE_HEADER_SIZE,
    FirstContactBundle,
    FirstContactKey,
    FirstContactKeyPair,
    FirstContactKeys,
    open_first_contact,
    open_session,
)
from ..errors import ProtocolError
from ..evaluator import EvaluationRequest, Evaluator, OprfKeyPair, PublishedKey
from ..handshake import PrekeyStore
from ..keys import IdentityKeyPair
from ..primitives import Rng, system_rng
from ..ratchet import Session, SessionSnapshot
from ..relay import (
    STORED_FIELDS,
    BundleRequest,
    BundleResponse,
    Deposit,
    MemoryStore,
    Relay,
    RelayStore,
)
from ..safety import SafetyNumber, compare_scanned
from ..sms import Profile, Reassembler, segment, session_form_of_envelope

__all__ = ["ALICE", "BOB", "Device", "ServerView", "devices", "document", "run"]

#: The time to live of every envelope the clients send (``protocol.client.DEFAULT_TTL``).
_TTL = 86_400
#: How long Alice's phone waits for the relay's acknowledgement before it falls back to SMS.
_FALLBACK_AFTER = 60

if TYPE_CHECKING:
    from .demo_network import RemoteDirectory, RemoteEvaluator, RemoteRelay, RemoteServers

Out = Callable[[str], None]
T = TypeVar("T")


def _refused(out: Out, what: str, action: Callable[[], object]) -> None:
    try:
        action()
    except ProtocolError as exc:
        out(f"{what}: refused with {exc.code}")
        return
    raise AssertionError(f"{what} was accepted")  # pragma: no cover - a security bug


@dataclass(frozen=True)
class Device:
    """A phone: what it knows about its owner. The demo proves that none of it leaves the
    device: the server view (``--json``) is audited for every field (tests/test_demo.py)."""

    name: str
    phone: str
    imei: str
    imsi: str
    contacts: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "phone": self.phone,
            "imei": self.imei,
            "imsi": self.imsi,
            "contacts": list(self.contacts),
        }


@dataclass
class ServerView:
    """Everything each server role received (request bytes, credentials) or stored, byte for
    byte, and the messages of the conversation with how they travelled."""

    received: dict[str, list[dict[str, object]]]
    messages: list[dict[str, object]]
    clients: list[dict[str, object]] = field(default_factory=list)

    @classmethod
    def empty(cls) -> ServerView:
        roles = ("evaluator", "directory", "relay", "sms_carrier")
        return cls({role: [] for role in roles}, [], [ALICE.as_json(), BOB.as_json()])

    def saw(self, role: str, op: str, data: bytes, **extra: object) -> None:
        self.received[role].append({"op": op, "hex": data.hex(), **extra})

    def message(self, sender: str, to: str, text: str, transport: str, delivered: bool) -> None:
        self.messages.append(
            {"from": sender, "to": to, "text": text, "transport": transport,
             "delivered": delivered}
        )  # fmt: skip


def document(view: ServerView) -> dict[str, object]:
    """``blindpost demo --json``: the phones, the messages and the server view, so that anyone
    can audit byte for byte what the servers saw (``hex``: the bytes a role received, or a
    stored row's byte fields joined, with the row's fields beside them)."""
    return {
        "clients": view.clients,
        "messages": view.messages,
        "server_view": view.received,
    }


class _SeenEvaluator:
    """The evaluator, with what it receives recorded (spec §8.5)."""

    def __init__(self, inner: Evaluator | RemoteEvaluator, view: ServerView) -> None:
        self._inner, self._view = inner, view

    def current_key(self) -> PublishedKey:
        return self._inner.current_key()

    def available(self, credential: bytes, now: int) -> int | None:
        """Evaluations left for ``credential``; ``None`` over the network (its server keeps
        the count)."""
        return self._inner.available(credential, now)

    def evaluate(self, credential: bytes, request: bytes, *, now: int, rng: Rng) -> bytes:
        self._view.saw("evaluator", "evaluate", request, credential=credential.hex())
        return self._inner.evaluate(credential, request, now=now, rng=rng)


class _SeenDirectory:
    """The directory, with what it receives recorded (spec §8.6)."""

    def __init__(self, inner: Directory | RemoteDirectory, view: ServerView) -> None:
        self._inner, self._view = inner, view

    def parameters(self) -> DirectoryParameters:
        return self._inner.parameters()

    def register(self, credential: bytes, request: bytes, *, now: int) -> None:
        self._view.saw("directory", "register", request, credential=credential.hex())
        self._inner.register(credential, request, now=now)

    def lookup(self, request: bytes, *, now: int) -> bytes:
        self._view.saw("directory", "lookup", request)
        return self._inner.lookup(request, now=now)


class _SeenRelay:
    """The relay, with every request it receives recorded (spec §10)."""

    def __init__(self, inner: Relay | RemoteRelay, view: ServerView) -> None:
        self._inner, self._view = inner, view

    @property
    def remote(self) -> bool:
        return not isinstance(self._inner, Relay)

    def maintain(self, *, now: int, rng: Rng) -> None:
        self._inner.maintain(now=now, rng=rng)

    def owner(self, data: bytes, *, now: int) -> bytes:
        self._view.saw("relay", "owner", data)
        return self._inner.owner(data, now=now)

    def bundle(self, data: bytes, *, now: int) -> bytes:
        self._view.saw("relay", "bundle", data)
        return self._inner.bundle(data, now=now)

    def deposit(self, data: bytes, *, now: int) -> bytes:
        self._view.saw("relay", "deposit", data)
        return self._inner.deposit(data, now=now)


#: Bob's number as Bob types it, and Alice's address book (Bob's number spelt her way).
_BOB_TYPES = "020 7946 0958"
_ALICE_CONTACTS = ("+44 (0)20 7946-0958", "+1 202 555 0143", "0044 20 7946 0000")
#: The country code the demo reads national numbers in (both phones are in the UK).
DEMO_COUNTRY = 44

#: The two phones of the demo (fictional numbers from Ofcom's drama ranges, test IMEIs/IMSIs).
ALICE = Device("Alice", "+44 7700 900123", "490154203237518", "234159876543210", _ALICE_CONTACTS)
BOB = Device("Bob", "+44 20 7946 0958", "356938035643809", "234150123456789", ("+44 7700 900123",))


def devices(alice_phone: str | None = None, bob_phone: str | None = None) -> tuple[Device, Device]:
    """The two phones, with the numbers given on the command line instead of the defaults:
    Alice's address book then holds Bob's number as given. A number that does not normalise
    (spec §8.2) raises its ``decode.phone_*`` code; the same number twice is
    ``usage.bad_argument``."""
    alice, bob = ALICE, BOB
    if alice_phone is not None:
        normalize_phone_number(alice_phone, default_country=DEMO_COUNTRY)
        alice = Device(alice.name, alice_phone, alice.imei, alice.imsi, alice.contacts)
        bob = Device(bob.name, bob.phone, bob.imei, bob.imsi, (alice_phone,))
    if bob_phone is not None:
        normalize_phone_number(bob_phone, default_country=DEMO_COUNTRY)
        bob = Device(bob.name, bob_phone, bob.imei, bob.imsi, bob.contacts)
        alice = Device(alice.name, alice.phone, alice.imei, alice.imsi,
                       (bob_phone, *alice.contacts[1:]))  # fmt: skip
    numbers = {normalize_phone_number(d.phone, default_country=DEMO_COUNTRY).e164
               for d in (alice, bob)}  # fmt: skip
    if len(numbers) != 2:
        from ..errors import UsageError

        raise UsageError("usage.bad_argument", "Alice and Bob need two different numbers")
    return alice, bob


def _number(text: str) -> PhoneNumber:
    return normalize_phone_number(text, default_country=DEMO_COUNTRY)


@dataclass
class _Network:
    """The demo's transport: it carries a client's requests to the in-process servers, as an
    HTTP transport would (spec §14.5), at the demo's clock."""

    evaluator: _SeenEvaluator
    directory: _SeenDirectory
    relay: _SeenRelay
    store: RelayStore
    rng: Rng
    now: int
    view: ServerView

    def answer(self, request: Outgoing, credential: bytes) -> bytes:
        now = self.now
        if request.role == "evaluator":
            return self.evaluator.evaluate(credential, request.body, now=now, rng=self.rng)
        if request.role == "directory":
            if request.op == "parameters":
                return self.directory.parameters().to_bytes()
            if request.op == "register":
                self.directory.register(credential, request.body, now=now)
                return b""
            return self.directory.lookup(request.body, now=now)
        if request.op == "owner":
            return self.relay.owner(request.body, now=now)
        if request.op == "bundle":
            return self.relay.bundle(request.body, now=now)
        return self.relay.deposit(request.body, now=now)

    def carry(self, exchange: Exchange[T], credential: bytes = b"") -> tuple[T, _Log]:
        """Every request of ``exchange`` and its answer; returns the result and the log."""
        log = _Log()
        while exchange.request is not None:
            request = exchange.request
            try:
                response = self.answer(request, credential)
            except ProtocolError as error:
                exchange.fail(error)  # raises it: the demo expects every step to succeed
                raise  # pragma: no cover
            log.append((request, response))
            exchange.respond(response)
        return exchange.result, log


class _Log(list[tuple[Outgoing, bytes]]):
    """The requests of one exchange with their answers."""

    def of(self, role: str, op: str) -> list[tuple[Outgoing, bytes]]:
        return [(r, a) for r, a in self if r.role == role and r.op == op]


def _register_bob(out: Out, net: _Network, bob: Client, bob_types: str) -> None:
    """Spec §8, §10.3, §12.1: Bob opts in — evaluator, directory, relay."""
    out("")
    out("2. Bob registers his phone number — blindly (spec §8).")
    _, log = net.carry(bob.register(now=net.now), b"bob-device")
    ((evaluate, _),) = log.of("evaluator", "evaluate")
    ((register, _),) = log.of("directory", "register")
    (opened, _), (published, _) = log.of("relay", "owner")
    request = EvaluationRequest.from_bytes(evaluate.body)
    token = Registration.from_bytes(register.body).token
    out(f"   Bob knows:           {_number(bob_types).e164} → discovery token {token[:8].hex()}…")
    out(
        f"   Evaluator received:  {len(evaluate.body)} bytes — key id {request.key_id} and one "
        f"blinded element {request.elements()[0].to_bytes()[:8].hex()}… (uniformly random)"
    )
    out(
        f"   Directory received:  {len(register.body)} bytes — the token, Bob's public identity "
        "and mailbox key, a signature"
    )
    out("")
    out(
        f"3. Bob's client opens his routing ID at the relay ({len(opened.body)} bytes: a Schnorr "
        "proof that he knows its secret h_e·m, no account) and hosts his first-contact bundle "
        f"there ({len(published.body)} bytes): his identity, a signed prekey, this epoch's "
        f"first-contact key (X25519 + ML-KEM-768) and {HOSTED_ONE_TIME_PREKEYS} one-time "
        "prekeys."
    )
    out("   The relay stored them under the routing ID; it cannot tell whose it is.")


def _discover(
    out: Out, net: _Network, alice: Client, contacts: tuple[str, ...], pinned: PublishedKey
) -> str:
    """Spec §8.7: Alice's client finds which of her contacts use Blindpost; returns Bob's
    number as her client knows it (E.164)."""
    out("")
    out("4. Alice discovers which of her contacts use Blindpost:")
    numbers = [_number(c) for c in contacts]
    found, log = net.carry(alice.discover(numbers, now=net.now), b"alice-device")
    ((evaluate, _),) = log.of("evaluator", "evaluate")
    left = net.evaluator.available(b"alice-device", net.now)
    counted = (
        f"{left} evaluations left for this credential"
        if left is not None
        else "the evaluator process counts them against this credential"
    )
    out(
        f"   Evaluator received:  {len(evaluate.body)} bytes — {len(numbers)} blinded elements; "
        + counted
    )
    lookups = log.of("directory", "lookup")
    for contact, number, (lookup, answer) in zip(contacts, numbers, lookups, strict=True):
        prefix_bits = LookupRequest.from_bytes(lookup.body).prefix_bits
        status = "registered" if number.e164 in found else "not registered"
        out(
            f"     {contact:22} → directory received {len(lookup.body)} bytes "
            f"(a {prefix_bits}-bit prefix), answered {len(answer)} bytes → {status}"
        )
    assert len(found) == 1
    (bob_number,) = found
    out(
        f"   Alice finds Bob's identity {alice.contacts()[bob_number].signing_key[:8].hex()}… — "
        "no server saw a phone number or a hash of one."
    )
    rogue = Evaluator(OprfKeyPair.generate(1, net.rng), now=net.now)  # a per-user key, to tag her
    tagged = request_evaluation(numbers[:1], pinned, now=net.now, rng=net.rng)
    _refused(
        out,
        "   An evaluator answering Alice under a per-user key",
        lambda: tagged.finish(
            rogue.evaluate(b"alice", tagged.request.to_bytes(), now=net.now, rng=net.rng)
        ),
    )
    return bob_number


def _first_contact(
    out: Out,
    net: _Network,
    alice: Client,
    bob: Client,
    bob_number: str,
    bob_identity: IdentityKeyPair,
) -> None:
    """Spec §9.4, §10.6, §12.1: Alice's client fetches the bundle by routing ID, seals, pays,
    deposits; Bob's client fetches and opens it."""
    now, rng = net.now, net.rng
    text = "Hi Bob, it's Alice."
    # A relay that answers with a bundle whose first-contact key Bob never signed:
    probe = alice.send(bob_number, b"", now=now)
    assert probe.request is not None and probe.request.op == "bundle"
    genuine = BundleResponse.from_bytes(net.relay.bundle(probe.request.body, now=now))
    key = genuine.bundle.first_contact_key
    forged_key = FirstContactKey(key.epoch, key.dh_key, key.kem_prekey, bytes(64))
    b = genuine.bundle
    forged = FirstContactBundle(b.identity, b.signed_prekey, b.one_time_prekey, forged_key)
    forged_response = BundleResponse(forged, genuine.seed, genuine.effort).to_bytes()

    exchange = alice.send(bob_number, text.encode(), now=now)
    assert exchange.request is not None
    routing_id = BundleRequest.from_bytes(exchange.request.body).address
    _, log = net.carry(exchange, b"alice-device")
    ((_, answer),) = log.of("relay", "bundle")
    response = BundleResponse.from_bytes(answer)
    ((deposit_request, _),) = log.of("relay", "deposit")
    envelope = Deposit.from_bytes(deposit_request.body).envelope
    one_time = response.bundle.one_time_prekey
    out("")
    out(
        f"5. Alice's client asks the relay for the bundle at Bob's routing ID for this epoch "
        f"({routing_id[:8].hex()}…) — not for Bob: the relay learns only that somebody will "
        "write to this routing ID, which the deposit tells it anyway."
    )
    out(
        "   Alice's client checks it is the identity the directory gave her and verifies every "
        f"signature (one-time prekey handed out: id {one_time.id if one_time else '-'})."
    )
    _refused(
        out,
        "   A bundle whose first-contact key is not signed by Bob",
        lambda: probe.respond(forged_response),
    )
    out(
        "   Alice's client opens a reply mailbox of her own (a fresh key, the deposit key for Bob "
        "only), seals her first message with its grant inside, pays a proof of work of effort "
        f"{response.effort} and deposits {len(deposit_request.body)} bytes. The relay sees a "
        f"routing ID, a {len(envelope) - ENVELOPE_HEADER_SIZE}-byte body (every first contact "
        "has that size), a TTL — not Alice, not her mailbox, not a word."
    )
    (received,), _ = net.carry(bob.fetch(now=now))
    out("")
    out(f"6. Bob fetches from his routing ID and opens the envelope: {received.text.decode()!r}")
    out(
        "   The handshake authenticated Alice's identity inside it; her reply mailbox came in the "
        "same encrypted message. Bob's client acknowledged the envelope: the relay deleted it."
    )
    net.view.message("Alice", "Bob", text, "ip", received.text.decode() == text)
    _refused(
        out,
        "   The same deposit replayed after Bob acknowledged it",
        lambda: net.relay.deposit(deposit_request.body, now=now),
    )
    shown = "shown" if bob.receive(envelope) else "nothing shown"
    out(
        f"   The same envelope handed to Bob's client again: {shown} — it remembers what it "
        "opened; the handshake underneath, run on Bob's stored keys:"
    )
    prekeys, keys = _stored_keys(bob, bob_identity)
    _refused(
        out,
        "   The same envelope replayed to Bob's device",
        lambda: open_first_contact(
            envelope, epoch=epoch_of(now), keys=keys, prekeys=prekeys, rng=rng
        ),
    )


def _stored_keys(client: Client, identity: IdentityKeyPair) -> tuple[PrekeyStore, FirstContactKeys]:
    """Bob's prekey store and first-contact keys as his exported state holds them (§12.7)."""
    registration = client.snapshot().state.registration
    assert registration is not None
    pairs = [FirstContactKeyPair.from_private_bytes(k.private_key, k.public)
             for k in registration.first_contact_keys]  # fmt: skip
    return PrekeyStore.from_state(identity, registration.prekeys), FirstContactKeys(identity, pairs)


def _stored_session(client: Client, peer: IdentityKeyPair, rng: Rng) -> Session:
    """A copy of the client's session with ``peer`` from its exported state (§12.7), to show
    what the ratchet itself does; a copy is only ever used to decrypt (§7.8.4)."""
    (state,) = [p for p in client.snapshot().state.peers if p.identity == peer.public]
    return Session.restore(SessionSnapshot(state.session), rng=rng)


def _deposit_of(exchange: Exchange[None]) -> bytes:
    assert exchange.request is not None and exchange.request.op == "deposit"
    return Deposit.from_bytes(exchange.request.body).envelope


def _conversation(
    out: Out, net: _Network, alice: Client, bob: Client, bob_number: str,
    ids: tuple[IdentityKeyPair, IdentityKeyPair],
) -> Client:  # fmt: skip
    """Spec §9.5, §10.5: the conversation through two conversation mailboxes; returns Bob's
    client as restored from its stored state."""
    now, rng, view = net.now, net.rng, net.view
    alice_id, _bob_id = ids
    answer = "Hello Alice! Got it."
    _, log = net.carry(bob.send(alice.identity, answer.encode(), now=now))
    ((deposit, _),) = log.of("relay", "deposit")
    size = len(Deposit.from_bytes(deposit.body).envelope)
    out("")
    out(
        "7. Bob's client opens a mailbox for Alice's messages and answers into her reply "
        "mailbox, signing the deposit with the key she granted him; no proof of work, and "
        "nobody else can deposit. Bob needed no discovery of Alice's number to answer."
    )
    (reply,), _ = net.carry(alice.fetch(now=now))
    view.message("Bob", "Alice", reply.text.decode(), "ip", reply.text.decode() == answer)
    out(
        f"   Alice fetches it ({size} bytes, padded): {reply.text.decode()!r} — and "
        "Bob's mailbox grant. The relay cannot link the two mailboxes to each other or to the "
        "first contact."
    )
    pending = {i: alice.send(bob_number, f"message {i}".encode(), now=now) for i in (1, 2, 3, 4)}
    sent = {i: _deposit_of(e) for i, e in pending.items()}
    requests = {i: e.request.body for i, e in pending.items() if e.request is not None}
    out("   Alice sends messages 1-4; the network loses 2 and delivers 4, 1, 3:")
    for i in (4, 1, 3):
        net.carry(pending[i])
    # message 2's deposit never reaches the relay: the exchange is abandoned (§12.3)
    got, _ = net.carry(bob.fetch(now=now))
    for message in got:
        out(f"     Bob reads {message.text.decode()!r}")
    for i in (1, 2, 3, 4):
        view.message("Alice", "Bob", f"message {i}", "ip", i != 2)
    copy = _stored_session(bob, alice_id, rng)
    out(f"     (Bob keeps {copy.skipped_key_count} skipped message key for the lost message 2)")
    _refused(out, "     Message 4 deposited again", lambda: net.relay.deposit(requests[4], now=now))
    shown = bob.receive(sent[4])
    out(f"     Message 4 handed to Bob's client again: {'shown' if shown else 'nothing shown'}; "
        "its ratchet, on Bob's stored session:")  # fmt: skip
    _refused(
        out, "     Message 4 delivered to Bob's device again", lambda: open_session(sent[4], copy)
    )
    fifth = alice.send(bob_number, b"message 5", now=now)
    tampered = bytearray(_deposit_of(fifth))
    tampered[-1] ^= 0x01
    _refused(out, "     Message 5 with one flipped bit", lambda: bob.receive(bytes(tampered)))
    net.carry(fifth)
    (genuine,), _ = net.carry(bob.fetch(now=now))
    view.message("Alice", "Bob", genuine.text.decode(), "ip", True)
    out(f"     The genuine message 5 still decrypts: {genuine.text.decode()!r}")
    for i in range(3):
        sender, receiver, to = (alice, bob, bob_number) if i % 2 else (bob, alice, alice.identity)
        net.carry(sender.send(to, b"ping-pong", now=now))
        (pong,), _ = net.carry(receiver.fetch(now=now))
        names = ("Alice", "Bob") if i % 2 else ("Bob", "Alice")
        view.message(*names, pong.text.decode(), "ip", True)
    out("   Three more messages alternate direction: each one is a new DH ratchet step.")
    storage_key = rng(32)
    blob = bob.snapshot().to_bytes(storage_key, rng)
    out("")
    out(
        f"8. Bob's device stores his whole client state: {len(blob)} bytes, XChaCha20-Poly1305 "
        "under a 32-byte storage key — identity, prekeys, first-contact keys, the session, "
        "mailboxes."
    )
    _refused(
        out, "   Loading it with another key", lambda: ClientSnapshot.from_bytes(blob, bytes(32))
    )
    restored = Client.restore(ClientSnapshot.from_bytes(blob, storage_key), rng=rng)
    net.carry(alice.send(bob_number, b"still there?", now=now))
    (after,), _ = net.carry(restored.fetch(now=now))
    view.message("Alice", "Bob", after.text.decode(), "ip", True)
    out(f"   The restored session reads Alice's next message: {after.text.decode()!r}")
    return restored


def _relay_view(out: Out, net: _Network, relay_file: Path | None) -> None:
    """Spec §10.8: everything the relay holds now, table by table."""
    out("")
    where = type(net.store).__name__
    if relay_file is not None:
        where += f" in {relay_file}"
    out(
        f"9. What the relay stores now (spec §10.8; {where}), after every envelope was "
        "acknowledged and maintenance ran:"
    )
    net.relay.maintain(now=net.now, rng=net.rng)
    for table, rows in net.store.dump().items():
        fields = ", ".join(STORED_FIELDS[table])
        out(f"   {table:16} {len(rows):3} rows  ({fields})")
    out(
        "   No envelope is left; acknowledged ids stay as tombstones against replays until "
        "they run out. No phone number, no sender, no network address, no receipt."
    )


def _safety_numbers(out: Out, alice: IdentityKeyPair, bob: IdentityKeyPair, rng: Rng) -> None:
    alice_view = SafetyNumber.of(alice.public, bob.public)
    bob_view = SafetyNumber.of(bob.public, alice.public)
    out("")
    out("10. Safety numbers (computed from the two identity keys only):")
    out(f"   Alice sees: {alice_view.display()}")
    out(f"   Bob sees:   {bob_view.display()}")
    out(f"   identical: {alice_view.digits == bob_view.digits}")
    scanned = compare_scanned(bob_view, alice_view.scannable())
    out(f"   Bob scans Alice's QR code ({len(alice_view.scannable())} bytes): match = {scanned}")
    mallory = IdentityKeyPair.generate(rng)
    wrong = compare_scanned(bob_view, SafetyNumber.of(mallory.public, bob.public).scannable())
    out(f"   Bob scans a code made with Mallory's key instead: match = {wrong}")


def _sms_fallback(
    out: Out, net: _Network, alice: Client, bob: Client, bob_number: str, alice_phone: str
) -> None:
    """Spec §11, §12.5: Alice's deposit reaches the relay but no acknowledgement comes back;
    after the deadline the same ratchet message goes by SMS; Bob's client reads it once; the
    relay's copy, never fetched, expires (§10.7)."""
    now, rng, view = net.now, net.rng, net.view
    text = "On the train, no data. Did this reach you?"
    exchange = alice.send(bob_number, text.encode(), now=now)
    assert exchange.request is not None
    envelope = _deposit_of(exchange)
    net.relay.deposit(exchange.request.body, now=now)  # stored; the answer is lost on the way
    out("")
    out(
        f"11. SMS fallback (spec §11): Alice deposits a message at the relay "
        f"({len(envelope)} bytes); no acknowledgement comes."
    )
    segments = [
        s
        for s in segment(Profile.BINARY, session_form_of_envelope(envelope), rng(1)[0])
        if isinstance(s, bytes)
    ]
    for piece in segments:  # the user data of each SMS; the carrier routes by the numbers
        view.saw("sms_carrier", "segment", piece)
    out(
        f"   After {_FALLBACK_AFTER} s the same ratchet message goes by SMS: {len(segments)} "
        f"binary segments of {', '.join(str(len(s)) for s in segments)} octets (port 16216 in "
        "the first)."
    )
    out(f"   First segment: {segments[0].hex()}")
    reassembler = Reassembler()
    message = None
    sender = _number(alice_phone).e164
    for piece in reversed(segments):  # the network delivers them in another order
        message = reassembler.receive(sender, piece, now=now + _FALLBACK_AFTER + 1) or message
    assert message is not None
    received = bob.receive_sms(message)
    assert received is not None
    read = received.text.decode()
    out(f"   Bob reassembles them (last first) and reads: {read!r}")
    view.message("Alice", "Bob", read, "sms", read == text)
    late = bob.receive(envelope)
    out(
        f"   The relay's copy arrives later: {'shown again' if late else 'duplicate'} — already "
        "there."
    )
    held = len(net.store.dump()["envelope"])
    expiry = now + _TTL + _FALLBACK_AFTER
    net.relay.maintain(now=expiry, rng=rng)
    left = len(net.store.dump()["envelope"])
    out("")
    out(
        f"12. Expiry (spec §10.7): the relay held {held} envelope — the copy nobody fetched. A "
        f"day later its TTL has run out and maintenance deleted it: {left} envelopes left, only "
        "its id stays as a tombstone against replays until that runs out."
    )
    if net.relay.remote:
        out(
            "    (Over the network the relay's clock cannot be moved a day ahead: the relay "
            "process was stopped and its maintenance run on its database at that time.)"
        )


def run(
    out: Out,
    *,
    rng: Rng = system_rng,
    now: int | None = None,
    relay_store: RelayStore | None = None,
    relay_file: Path | None = None,
    alice_phone: str | None = None,
    bob_phone: str | None = None,
    servers: RemoteServers | None = None,
) -> ServerView:
    """Run the demo, writing human-readable lines through ``out``; the relay keeps its tables
    in ``relay_store`` (in memory if none is given; ``blindpost demo`` gives an SQLite store,
    whose file ``relay_file`` names when the user chose it). ``alice_phone`` and
    ``bob_phone`` replace the phones' numbers (:func:`devices`). With ``servers``
    (``blindpost demo --network``) the roles are those processes, reached over HTTP, and the
    relay's tables are read from its database. Returns what every server role received or
    stored, and the messages (``blindpost demo --json``)."""
    now = int(time.time()) if now is None else now
    alice_device, bob_device = devices(alice_phone, bob_phone)
    bob_types = _BOB_TYPES if bob_phone is None else bob_phone
    view = ServerView.empty()
    view.clients = [alice_device.as_json(), bob_device.as_json()]
    out(
        "Blindpost demo — blind discovery, a sealed first contact through a blind relay, "
        "conversation mailboxes, safety numbers"
    )
    out("")
    alice_id = IdentityKeyPair.generate(rng)
    bob_id = IdentityKeyPair.generate(rng)
    out("1. Alice and Bob each generate an identity (Ed25519 signing key + bound X25519 key).")
    out(f"   Alice: {alice_id!r}")
    out(f"   Bob:   {bob_id!r}")
    if servers is None:
        evaluator = _SeenEvaluator(Evaluator(OprfKeyPair.generate(1, rng), now=now), view)
        store: RelayStore = MemoryStore() if relay_store is None else relay_store
        relay_id = rng(32)
        relay = _SeenRelay(Relay(store, relay_id), view)
        directory = _SeenDirectory(Directory(), view)
    else:
        evaluator = _SeenEvaluator(servers.evaluator, view)
        store, relay_id = servers.store, servers.relay_id
        relay = _SeenRelay(servers.relay, view)
        directory = _SeenDirectory(servers.directory, view)
        out(
            "   The servers are three processes (blindpost serve) reached over HTTP: "
            + ", ".join(f"{role} {base}" for role, base in servers.bases.items())
            + "."
        )
    pinned = evaluator.current_key()  # shipped with the app, never taken from a response
    net = _Network(evaluator, directory, relay, store, rng, now, view)
    relay.maintain(now=now, rng=rng)
    alice = Client(alice_id, _number(alice_device.phone), evaluator_key=pinned,
                   relay_id=relay_id, rng=rng)  # fmt: skip
    bob = Client(bob_id, _number(bob_types), evaluator_key=pinned, relay_id=relay_id, rng=rng)
    _register_bob(out, net, bob, bob_types)
    bob_number = _discover(out, net, alice, alice_device.contacts, pinned)
    _first_contact(out, net, alice, bob, bob_number, bob_id)
    bob = _conversation(out, net, alice, bob, bob_number, (alice_id, bob_id))
    _relay_view(out, net, relay_file)
    _safety_numbers(out, alice_id, bob_id, rng)
    _sms_fallback(out, net, alice, bob, bob_number, alice_device.phone)
    for table, rows in store.dump().items():
        for row in rows:
            stored = b"".join(v for v in row.values() if isinstance(v, bytes))
            fields = {k: v.hex() if isinstance(v, bytes) else v for k, v in row.items()}
            view.saw("relay", f"stored:{table}", stored, fields=fields)
    return view
