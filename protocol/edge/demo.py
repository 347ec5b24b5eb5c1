"""``blindpost demo``: the most complete real flow the implementation has so far.

Bob registers his phone number through the blind OPRF evaluator and directory, and Alice
discovers him from her address book without either server learning a number. Bob opens his
routing ID at the relay with a proof of its secret and hosts his first-contact bundle there;
Alice fetches it by routing ID, verifies it against the identity the directory gave her, seals
her first message (hybrid handshake inside a post-quantum seal) with her reply mailbox in it,
pays a proof of work and deposits it; Bob fetches, opens and acknowledges it. The two then talk
through conversation mailboxes secured with each other's deposit keys, with a lost and reordered
message and replays refused; Bob exports his session and restores it; the demo shows what the
relay holds at the end; both compare safety numbers; and last, a message whose deposit is not
acknowledged falls back to SMS (spec §11).

Everything runs for real through the protocol code. The demo is the only place that reads a
clock and the operating system's random generator, and it prints what the servers received next
to what the clients know.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..blinding import (
    IdentifierOutput,
    MailboxKeyPair,
    epoch_of,
    normalize_phone_number,
    request_evaluation,
)
from ..codec import Message
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
    FirstContactKey,
    FirstContactKeys,
    MailboxGrant,
    envelope_id,
    open_first_contact,
    open_session,
    seal_first_contact,
    seal_session,
)
from ..errors import ProtocolError
from ..evaluator import Evaluator, OprfKeyPair, PublishedKey
from ..handshake import PrekeyStore
from ..keys import IdentityKey, IdentityKeyPair
from ..primitives import Rng, Scalar, system_rng
from ..ratchet import Session, SessionSnapshot
from ..relay import (
    ACK_OP,
    FETCH_OP,
    KIND_CONVERSATION,
    KIND_FIRST_CONTACT,
    MIN_EFFORT,
    OPEN_OP,
    PUBLISH_OP,
    STORED_FIELDS,
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
    RelayStore,
    StoredEnvelope,
    owner_request,
    sign_deposit,
    solve_pow,
)
from ..safety import SafetyNumber, compare_scanned
from ..sms import Deposit as DepositOverIp
from ..sms import Reassembler, Received, SendSms, TransportPolicy

__all__ = ["ALICE", "BOB", "Device", "ServerView", "document", "run"]

#: How many one-time prekeys of each kind Bob publishes in the demo.
_BATCH = 3
#: The time to live of every envelope of the demo: a day.
_TTL = 86_400

Out = Callable[[str], None]


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

    @classmethod
    def empty(cls) -> ServerView:
        roles = ("evaluator", "directory", "relay", "sms_carrier")
        return cls({role: [] for role in roles}, [])

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
        "clients": [ALICE.as_json(), BOB.as_json()],
        "messages": view.messages,
        "server_view": view.received,
    }


class _SeenEvaluator:
    """The evaluator, with what it receives recorded (spec §8.5)."""

    def __init__(self, inner: Evaluator, view: ServerView) -> None:
        self._inner, self._view = inner, view

    def current_key(self) -> PublishedKey:
        return self._inner.current_key()

    def available(self, credential: bytes, now: int) -> int:
        return self._inner.available(credential, now)

    def evaluate(self, credential: bytes, request: bytes, *, now: int, rng: Rng) -> bytes:
        self._view.saw("evaluator", "evaluate", request, credential=credential.hex())
        return self._inner.evaluate(credential, request, now=now, rng=rng)


class _SeenDirectory:
    """The directory, with what it receives recorded (spec §8.6)."""

    def __init__(self, inner: Directory, view: ServerView) -> None:
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

    def __init__(self, inner: Relay, view: ServerView) -> None:
        self._inner, self._view = inner, view

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

#: The two phones of the demo (fictional numbers from Ofcom's drama ranges, test IMEIs/IMSIs).
ALICE = Device(
    "Alice", "+44 7700 900123", "490154203237518", "234159876543210", _ALICE_CONTACTS
)
BOB = Device(
    "Bob", "+44 20 7946 0958", "356938035643809", "234150123456789", ("+44 7700 900123",)
)


@dataclass
class _Found:
    """What discovery gives: Alice's view of Bob, and Bob's own secrets for his mailbox."""

    routing_id: bytes
    bob_identity: IdentityKey
    bob_mailbox: MailboxKeyPair
    bob_output: IdentifierOutput


def _discovery(
    out: Out, alice: IdentityKeyPair, bob: IdentityKeyPair, now: int, rng: Rng, view: ServerView
) -> _Found:
    """Spec §8: registration and discovery; Alice ends with Bob's identity and routing ID."""
    evaluator = _SeenEvaluator(Evaluator(OprfKeyPair.generate(1, rng), now=now), view)
    pinned = evaluator.current_key()  # shipped with the app, never taken from a response
    directory = _SeenDirectory(Directory(), view)
    out("")
    out("2. Bob registers his phone number — blindly (spec §8).")
    number = normalize_phone_number(_BOB_TYPES, default_country=44)
    pending = request_evaluation([number], pinned, now=now, rng=rng)
    request = pending.request.to_bytes()
    response = evaluator.evaluate(b"bob-device", request, now=now, rng=rng)
    (bob_output,) = pending.finish(response)
    mailbox = MailboxKeyPair.generate(rng)
    token = bob_output.discovery_token()
    registration = Registration.sign(bob, token, mailbox.public_key, now=now).to_bytes()
    directory.register(b"bob-device", registration, now=now)
    out(f"   Bob knows:           {number.e164} → discovery token {token[:8].hex()}…")
    out(
        f"   Evaluator received:  {len(request)} bytes — key id {pinned.key_id} and one blinded "
        f"element {pending.request.elements()[0].to_bytes()[:8].hex()}… (uniformly random)"
    )
    out(
        f"   Directory received:  {len(registration)} bytes — the token, Bob's public identity "
        "and mailbox key, a signature"
    )
    out("")
    out("   Alice discovers which of her contacts use Blindpost:")
    numbers = [normalize_phone_number(c, default_country=1) for c in _ALICE_CONTACTS]
    pending = request_evaluation(numbers, pinned, now=now, rng=rng)
    request = pending.request.to_bytes()
    outputs = pending.finish(evaluator.evaluate(b"alice-device", request, now=now, rng=rng))
    out(
        f"   Evaluator received:  {len(request)} bytes — {len(numbers)} blinded elements; "
        f"{evaluator.available(b'alice-device', now)} evaluations left for this credential"
    )
    found = None
    prefix_bits = directory.parameters().prefix_bits
    for contact, output in zip(_ALICE_CONTACTS, outputs, strict=True):
        lookup = lookup_request(output.discovery_token(), prefix_bits)
        answer = directory.lookup(lookup.to_bytes(), now=now)
        page = read_lookup_response(lookup, answer)
        entries = registrations_for(output.discovery_token(), [page])
        status = "registered" if entries else "not registered"
        out(
            f"     {contact:22} → directory received {len(lookup.to_bytes())} bytes "
            f"(a {prefix_bits}-bit prefix), answered {len(answer)} bytes → {status}"
        )
        if entries:
            found = (output, entries[0])
    assert found is not None
    output, entry = found
    routing_id = output.routing_id(entry.mailbox_key, epoch_of(now))
    out(
        f"   Alice finds Bob's identity {entry.identity.signing_key[:8].hex()}… and his routing ID "
        f"for this epoch {routing_id[:8].hex()}… — no server saw a phone number or a hash of one."
    )
    rogue = Evaluator(OprfKeyPair.generate(1, rng), now=now)  # a per-user key, to tag Alice
    tagged = request_evaluation(numbers[:1], pinned, now=now, rng=rng)
    _refused(
        out,
        "   An evaluator answering Alice under a per-user key",
        lambda: tagged.finish(
            rogue.evaluate(b"alice", tagged.request.to_bytes(), now=now, rng=rng)
        ),
    )
    return _Found(routing_id, entry.identity, mailbox, bob_output)


@dataclass
class _Bob:
    """Bob's device: his prekeys, first-contact keys and the key of his routing ID."""

    prekeys: PrekeyStore
    keys: FirstContactKeys
    routing_secret: Scalar


def _publish(out: Out, world: _World, bob: IdentityKeyPair, found: _Found) -> _Bob:
    """Spec §10.3: Bob opens his routing ID at the relay and hosts his first-contact bundle."""
    now, rng = world.now, world.rng
    prekeys, _upload = PrekeyStore.create(bob, now=now, rng=rng, batch=_BATCH)
    keys = FirstContactKeys(bob)
    keys.maintain(now=now, rng=rng)
    epoch = epoch_of(now)
    secret = found.bob_mailbox.epoch_secret(found.bob_output.output_bytes(), epoch)
    base = prekeys.bundle()
    hosted = FirstContactBundle(base.identity, base.signed_prekey, None, keys.public(epoch))
    pool = tuple(p.public for p in prekeys._one_time.values())
    opened = world.owner(secret, OPEN_OP, OpenBody(KIND_FIRST_CONTACT, MIN_EFFORT))
    published = world.owner(secret, PUBLISH_OP, PublishBody(hosted, pool))
    out("")
    out(
        f"3. Bob opens his routing ID at the relay ({opened} bytes: a Schnorr proof that he knows "
        "its secret h_e·m, no account) and hosts his first-contact bundle there "
        f"({published} bytes): his identity, a signed prekey, this epoch's first-contact key "
        f"(X25519 + ML-KEM-768) and {len(pool)} one-time prekeys."
    )
    out("   The relay stored them under the routing ID; it cannot tell whose it is.")
    return _Bob(prekeys, keys, secret)


def _first_contact(
    out: Out, world: _World, alice: IdentityKeyPair, found: _Found, bob: _Bob
) -> tuple[Session, Session, ConversationMailbox]:
    """Spec §9.4, §10.6: Alice fetches the bundle by routing ID, seals, pays, deposits."""
    now, rng = world.now, world.rng
    response = BundleResponse.from_bytes(
        world.relay.bundle(BundleRequest(found.routing_id).to_bytes(), now=now)
    )
    bundle = response.bundle
    out("")
    out(
        "4. Alice asks the relay for the bundle at Bob's routing ID — not for Bob: the relay "
        "learns only that somebody will write to this routing ID, which the deposit tells it "
        "anyway."
    )
    assert bundle.identity == found.bob_identity  # the directory's identity, not the relay's
    bundle.verify()
    one_time = bundle.one_time_prekey
    out(
        "   Alice checks it is the identity the directory gave her and verifies every signature "
        f"(one-time prekey handed out: id {one_time.id if one_time else '-'})."
    )
    forged_key = FirstContactKey(
        bundle.first_contact_key.epoch,
        bundle.first_contact_key.dh_key,
        bundle.first_contact_key.kem_prekey,
        bytes(64),
    )
    forged = FirstContactBundle(
        bundle.identity, bundle.signed_prekey, bundle.one_time_prekey, forged_key
    )
    _refused(
        out,
        "   A bundle whose first-contact key is not signed by Bob",
        lambda: seal_first_contact(alice, forged, found.routing_id, b"", ttl=_TTL, rng=rng),
    )
    reply = ConversationMailbox.generate(rng)
    world.owner(
        reply.owner_secret,
        OPEN_OP,
        OpenBody(KIND_CONVERSATION, deposit_key=reply.deposit_public_key),
    )
    text = b"Hi Bob, it's Alice."
    content = Content(text, reply.grant(1)).to_bytes()
    sealed = seal_first_contact(alice, bundle, found.routing_id, content, ttl=_TTL, rng=rng)
    identifier = envelope_id(sealed.envelope)
    nonce = solve_pow(response.seed, found.routing_id, identifier, response.effort, rng=rng)
    deposit = Deposit(sealed.envelope, response.seed, nonce).to_bytes()
    world.relay.deposit(deposit, now=now)
    out(
        f"   Alice opens a reply mailbox of her own (a fresh key, the deposit key for Bob only), "
        f"seals her first message with its grant inside, pays a proof of work of effort "
        f"{response.effort} and deposits {len(deposit)} bytes. The relay sees a routing ID, a "
        f"{len(sealed.envelope) - ENVELOPE_HEADER_SIZE}-byte body (every first contact has that "
        "size), a TTL — not Alice, not her mailbox, not a word."
    )
    fetched = world.fetch(bob.routing_secret)
    opened = open_first_contact(
        fetched[0].envelope, epoch=epoch_of(now), keys=bob.keys, prekeys=bob.prekeys, rng=rng
    )
    received = Content.from_bytes(opened.plaintext)
    assert received.grant is not None and received.body is not None
    out("")
    out(f"5. Bob fetches from his routing ID and opens the envelope: {received.body.decode()!r}")
    out(
        "   The handshake authenticated Alice's identity inside it; her reply mailbox came in the "
        "same encrypted message."
    )
    world.ack(bob.routing_secret, [f.id for f in fetched])
    world.view.message("Alice", "Bob", text.decode(), "ip", True)
    _refused(
        out,
        "   The same deposit replayed after Bob acknowledged it",
        lambda: world.relay.deposit(deposit, now=now),
    )
    _refused(
        out,
        "   The same envelope replayed to Bob's device",
        lambda: open_first_contact(
            sealed.envelope, epoch=epoch_of(now), keys=bob.keys, prekeys=bob.prekeys, rng=rng
        ),
    )
    return sealed.session, opened.session, reply


def _conversation(
    out: Out,
    world: _World,
    alice: Session,
    bob: Session,
    alice_mailbox: ConversationMailbox,
) -> Session:
    """Spec §9.5, §10.5: the conversation through two conversation mailboxes."""
    rng = world.rng
    bob_mailbox = ConversationMailbox.generate(rng)
    world.owner(
        bob_mailbox.owner_secret,
        OPEN_OP,
        OpenBody(KIND_CONVERSATION, deposit_key=bob_mailbox.deposit_public_key),
    )
    to_alice = alice_mailbox.grant(1)  # what Bob received in the first contact
    answer = seal_session(
        bob, to_alice.mailbox_id, Content(b"Hello Alice! Got it.", bob_mailbox.grant(1)).to_bytes(),
        ttl=_TTL,
    )  # fmt: skip
    world.deposit(to_alice, answer)
    out("")
    out(
        "6. Bob opens a mailbox for Alice's messages and answers into her reply mailbox, signing "
        "the deposit with the key she granted him; no proof of work, and nobody else can deposit."
    )
    (got,) = world.fetch(alice_mailbox.owner_secret)
    reply = Content.from_bytes(open_session(got.envelope, alice))
    world.ack(alice_mailbox.owner_secret, [got.id])
    assert reply.grant is not None and reply.body is not None
    world.view.message("Bob", "Alice", reply.body.decode(), "ip", True)
    out(
        f"   Alice fetches it ({len(got.envelope)} bytes, padded): {reply.body.decode()!r} — and "
        "Bob's mailbox grant. The relay cannot link the two mailboxes to each other or to the "
        "first contact."
    )
    to_bob = reply.grant
    sent = [
        seal_session(alice, to_bob.mailbox_id, Content(f"message {i}".encode()).to_bytes(),
                     ttl=_TTL)
        for i in (1, 2, 3, 4)
    ]  # fmt: skip
    out("   Alice sends messages 1-4; the network loses 2 and delivers 4, 1, 3:")
    for i in (4, 1, 3):
        world.deposit(to_bob, sent[i - 1])
    fetched = world.fetch(bob_mailbox.owner_secret)
    for envelope in fetched:
        body = Content.from_bytes(open_session(envelope.envelope, bob)).body or b""
        out(f"     Bob reads {body.decode()!r}")
    world.ack(bob_mailbox.owner_secret, [e.id for e in fetched])
    for i in (1, 2, 3, 4):
        world.view.message("Alice", "Bob", f"message {i}", "ip", i != 2)
    out(f"     (Bob keeps {bob.skipped_key_count} skipped message key for the lost message 2)")
    _refused(out, "     Message 4 deposited again", lambda: world.deposit(to_bob, sent[3]))
    _refused(
        out, "     Message 4 delivered to Bob's device again", lambda: open_session(sent[3], bob)
    )
    fifth = seal_session(alice, to_bob.mailbox_id, Content(b"message 5").to_bytes(), ttl=_TTL)
    tampered = bytearray(fifth)
    tampered[-1] ^= 0x01
    _refused(
        out, "     Message 5 with one flipped bit", lambda: open_session(bytes(tampered), bob)
    )
    world.deposit(to_bob, fifth)
    (delivered,) = world.fetch(bob_mailbox.owner_secret)
    world.ack(bob_mailbox.owner_secret, [delivered.id])
    genuine = Content.from_bytes(open_session(delivered.envelope, bob)).body or b""
    world.view.message("Alice", "Bob", genuine.decode(), "ip", True)
    out(f"     The genuine message 5 still decrypts: {genuine.decode()!r}")
    for i in range(3):
        sender, receiver = (alice, bob) if i % 2 else (bob, alice)
        receiver.decrypt(sender.encrypt(b"ping-pong"))
    out("   Three more messages alternate direction: each one is a new DH ratchet step.")
    storage_key = rng(32)
    blob = bob.snapshot().to_bytes(storage_key, rng)
    out("")
    out(
        f"7. Bob's device stores his session: {len(blob)} bytes, XChaCha20-Poly1305 under a "
        "32-byte storage key."
    )
    _refused(
        out, "   Loading it with another key", lambda: SessionSnapshot.from_bytes(blob, bytes(32))
    )
    restored = Session.restore(SessionSnapshot.from_bytes(blob, storage_key), rng=rng)
    after = alice.encrypt(b"still there?")
    out(f"   The restored session reads Alice's next message: {restored.decrypt(after).decode()!r}")
    return restored


def _relay_view(out: Out, world: _World, relay_file: Path | None) -> None:
    """Spec §10.8: everything the relay holds now, table by table."""
    out("")
    where = type(world.store).__name__
    if relay_file is not None:
        where += f" in {relay_file}"
    out(
        f"8. What the relay stores now (spec §10.8; {where}), after every envelope was "
        "acknowledged and maintenance ran:"
    )
    world.relay.maintain(now=world.now, rng=world.rng)
    for table, rows in world.store.dump().items():
        fields = ", ".join(STORED_FIELDS[table])
        out(f"   {table:16} {len(rows):3} rows  ({fields})")
    out(
        "   No envelope is left; acknowledged ids stay as tombstones against replays until "
        "they run out. No phone number, no sender, no network address, no receipt."
    )


@dataclass
class _World:
    """The relay of the demo and the clock and randomness everyone uses."""

    relay: _SeenRelay
    store: RelayStore
    relay_id: bytes
    now: int
    rng: Rng
    view: ServerView

    def owner(self, secret: Scalar, op: int, body: Message) -> int:
        """An owner operation with its proof; returns the request's size."""
        request = owner_request(
            secret, relay_id=self.relay_id, op=op, body=body, time=self.now, rng=self.rng
        )
        self.relay.owner(request, now=self.now)
        return len(request)

    def fetch(self, secret: Scalar) -> tuple[StoredEnvelope, ...]:
        request = owner_request(
            secret, relay_id=self.relay_id, op=FETCH_OP, body=FetchBody(100), time=self.now,
            rng=self.rng,
        )  # fmt: skip
        return FetchResponse.from_bytes(self.relay.owner(request, now=self.now)).envelopes

    def ack(self, secret: Scalar, ids: list[bytes]) -> None:
        self.owner(secret, ACK_OP, AckBody(tuple(ids)))

    def deposit(self, grant: MailboxGrant, envelope: bytes) -> None:
        signature = sign_deposit(
            grant.deposit_key,
            relay_id=self.relay_id,
            address=grant.mailbox_id,
            envelope_id=envelope_id(envelope),
            time=self.now,
        )
        request = Deposit(envelope, time=self.now, signature=signature).to_bytes()
        self.relay.deposit(request, now=self.now)


def run(
    out: Out,
    *,
    rng: Rng = system_rng,
    now: int | None = None,
    relay_store: RelayStore | None = None,
    relay_file: Path | None = None,
) -> ServerView:
    """Run the demo, writing human-readable lines through ``out``; the relay keeps its tables
    in ``relay_store`` (in memory if none is given; ``blindpost demo`` gives an SQLite store,
    whose file ``relay_file`` names when the user chose it). Returns what every server role
    received or stored, and the messages (``blindpost demo --json``)."""
    now = int(time.time()) if now is None else now
    view = ServerView.empty()
    out(
        "Blindpost demo — blind discovery, a sealed first contact through a blind relay, "
        "conversation mailboxes, safety numbers"
    )
    out("")
    alice = IdentityKeyPair.generate(rng)
    bob = IdentityKeyPair.generate(rng)
    out("1. Alice and Bob each generate an identity (Ed25519 signing key + bound X25519 key).")
    out(f"   Alice: {alice!r}")
    out(f"   Bob:   {bob!r}")
    found = _discovery(out, alice, bob, now, rng, view)
    store = MemoryStore() if relay_store is None else relay_store
    relay_id = rng(32)
    world = _World(_SeenRelay(Relay(store, relay_id), view), store, relay_id, now, rng, view)
    world.relay.maintain(now=now, rng=rng)
    bob_device = _publish(out, world, bob, found)
    alice_session, bob_session, reply = _first_contact(out, world, alice, found, bob_device)
    bob_session = _conversation(out, world, alice_session, bob_session, reply)
    _relay_view(out, world, relay_file)

    alice_view = SafetyNumber.of(alice.public, bob.public)
    bob_view = SafetyNumber.of(bob.public, alice.public)
    out("")
    out("9. Safety numbers (computed from the two identity keys only):")
    out(f"   Alice sees: {alice_view.display()}")
    out(f"   Bob sees:   {bob_view.display()}")
    out(f"   identical: {alice_view.digits == bob_view.digits}")
    scanned = compare_scanned(bob_view, alice_view.scannable())
    out(f"   Bob scans Alice's QR code ({len(alice_view.scannable())} bytes): match = {scanned}")
    mallory = IdentityKeyPair.generate(rng)
    wrong = compare_scanned(bob_view, SafetyNumber.of(mallory.public, bob.public).scannable())
    out(f"   Bob scans a code made with Mallory's key instead: match = {wrong}")
    _sms_fallback(out, alice_session, bob_session, rng, now, view)
    for table, rows in store.dump().items():
        for row in rows:
            stored = b"".join(v for v in row.values() if isinstance(v, bytes))
            fields = {k: v.hex() if isinstance(v, bytes) else v for k, v in row.items()}
            view.saw("relay", f"stored:{table}", stored, fields=fields)
    return view


def _sms_fallback(
    out: Out, alice: Session, bob: Session, rng: Rng, now: int, view: ServerView
) -> None:
    """Spec §11: Alice's deposit goes unacknowledged; the same ratchet message goes by SMS."""
    policy = TransportPolicy(reference=rng(1)[0])
    mailbox = rng(32)  # Bob's conversation mailbox (§9.5); the relay never answers here
    text = "On the train, no data. Did this reach you?"
    content = Content(text.encode()).to_bytes()
    (deposit,) = policy.send_session(alice, mailbox, content, ttl=86_400, now=now)
    assert isinstance(deposit, DepositOverIp)
    out("")
    out(
        f"10. SMS fallback (spec §11): Alice deposits a message at the relay "
        f"({len(deposit.envelope)} bytes); no acknowledgement comes."
    )
    (sms,) = policy.tick(now + 60)
    assert isinstance(sms, SendSms)
    segments = [s for s in sms.segments if isinstance(s, bytes)]
    view.saw("relay", "deposit (never acknowledged)", deposit.envelope)
    for segment in segments:  # the user data of each SMS; the carrier routes by the numbers
        view.saw("sms_carrier", "segment", segment)
    out(
        f"   After 60 s the same ratchet message goes by SMS: {len(segments)} binary segments "
        f"of {', '.join(str(len(s)) for s in segments)} octets (port 16216 in the first)."
    )
    out(f"   First segment: {segments[0].hex()}")
    reassembler = Reassembler()
    message = None
    for piece in reversed(segments):  # the network delivers them in another order
        message = reassembler.receive("+447700900123", piece, now=now + 61) or message
    assert message is not None
    receiver = TransportPolicy()
    received = receiver.receive_sms(message, bob)
    assert isinstance(received, Received)
    read = Content.from_bytes(received.plaintext).body or b""
    out(f"   Bob reassembles them (last first) and reads: {read.decode()!r}")
    view.message("Alice", "Bob", read.decode(), "sms", read.decode() == text)
    late = receiver.receive_envelope(deposit.envelope, bob)
    out(f"   The relay's copy arrives later: {type(late).__name__.lower()} — already there.")
