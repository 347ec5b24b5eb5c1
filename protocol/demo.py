"""``blindpost demo``: the most complete real flow the implementation has so far.

Bob registers his phone number through the blind OPRF evaluator and directory, and Alice
discovers him from her address book without either server learning a number; Bob creates his
prekeys and publishes them; the directory checks every signature and hands
Alice a bundle; Alice runs the hybrid post-quantum handshake and her first message arrives
inside it; a replayed initial message is refused; the two then talk over the Double Ratchet in
both directions, with a reordered and a lost message and a replay refused; Bob exports his
session under a storage key and restores it; both compare safety numbers; and last, a
message whose deposit is not acknowledged falls back to SMS (spec §11).

Everything runs for real through the protocol code. The demo is the only place that reads a
clock and the operating system's random generator, and it prints what the servers received next
to what the clients know.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .blinding import MailboxKeyPair, epoch_of, normalize_phone_number, request_evaluation
from .directory import (
    Directory,
    Registration,
    lookup_request,
    read_lookup_response,
    registrations_for,
)
from .envelope import Content
from .errors import ProtocolError
from .evaluator import Evaluator, OprfKeyPair
from .handshake import InitialMessage, PrekeyStore, initiate
from .keys import IdentityKeyPair, PrekeyBundle, PrekeyUpload
from .primitives import Rng, system_rng
from .ratchet import Session, SessionSnapshot
from .safety import SafetyNumber, compare_scanned
from .sms import Deposit, Reassembler, Received, SendSms, TransportPolicy

__all__ = ["run"]

#: How many one-time prekeys of each kind Bob publishes in the demo.
_BATCH = 3

Out = Callable[[str], None]


def _refused(out: Out, what: str, action: Callable[[], object]) -> None:
    try:
        action()
    except ProtocolError as exc:
        out(f"{what}: refused with {exc.code}")
        return
    raise AssertionError(f"{what} was accepted")  # pragma: no cover - a security bug


#: Bob's number as Bob types it, and Alice's address book (Bob's number spelt her way).
_BOB_TYPES = "020 7946 0958"
_ALICE_CONTACTS = ("+44 (0)20 7946-0958", "+1 202 555 0143", "0044 20 7946 0000")


def _discovery(out: Out, alice: IdentityKeyPair, bob: IdentityKeyPair, now: int, rng: Rng) -> bytes:
    """Spec §8: registration and discovery; returns Bob's mailbox routing ID for this epoch."""
    evaluator = Evaluator(OprfKeyPair.generate(1, rng), now=now)
    pinned = evaluator.current_key()  # shipped with the app, never taken from a response
    directory = Directory()
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
    return routing_id


def _publish(out: Out, bob: IdentityKeyPair, now: int, rng: Rng) -> tuple[PrekeyStore, bytes]:
    store, upload = PrekeyStore.create(bob, now=now, rng=rng, batch=_BATCH)
    wire = upload.to_bytes()
    out("")
    out(
        f"3. Bob creates his prekeys and publishes an upload ({len(wire)} bytes of deterministic "
        f"CBOR): a signed X25519 prekey, {_BATCH} one-time X25519 prekeys, a last-resort "
        f"ML-KEM-768 prekey and {_BATCH} one-time ML-KEM-768 prekeys."
    )
    received = PrekeyUpload.from_bytes_verified(wire)
    out("   The directory decoded it and verified every signature before storing anything.")
    out("   What the directory received: public keys and signatures only —")
    out(f"     identity signing key {received.identity.signing_key.hex()}")
    out(f"     identity DH key      {received.identity.dh_key.hex()}")
    out("   no phone number, no IMEI/IMSI, no contacts, no private key.")
    return store, store.bundle().to_bytes()


def _handshake(
    out: Out, alice: IdentityKeyPair, store: PrekeyStore, bundle_wire: bytes, rng: Rng
) -> tuple[Session, Session]:
    out("")
    out(f"4. The directory hands Alice a prekey bundle for Bob ({len(bundle_wire)} bytes).")
    bundle = PrekeyBundle.from_bytes_verified(bundle_wire)
    out(
        "   Alice verified the identity binding, the signed prekey "
        f"(id {bundle.signed_prekey.id}) and the ML-KEM-768 prekey (id {bundle.kem_prekey.id})."
    )
    forged = bytearray(bundle_wire)
    forged[-1] ^= 0x01  # the last byte is inside the KEM prekey's signature
    _refused(
        out,
        "   A bundle with one flipped signature bit",
        lambda: initiate(alice, PrekeyBundle.from_bytes(bytes(forged)), b"x", rng=rng),
    )
    initiated = initiate(alice, bundle, b"Hi Bob, it's Alice.", rng=rng)
    message = InitialMessage.from_bytes(initiated.message)
    out("")
    out(
        "5. Alice runs the hybrid handshake: 4 X25519 agreements + 1 ML-KEM-768 encapsulation "
        f"→ one KDF. Her initial message is {len(initiated.message)} bytes "
        f"(KEM ciphertext {len(message.kem_ciphertext)}, first ratchet message "
        f"{len(message.payload)})."
    )
    before = store.one_time_count
    responded = store.respond(initiated.message, rng=rng)
    out(f"   Bob decrypts the first message: {responded.plaintext.decode()!r}")
    out(
        f"   Bob's one-time prekeys: {before} → {store.one_time_count} (consumed only after the "
        "message authenticated)."
    )
    _refused(
        out,
        "   The same initial message replayed",
        lambda: store.respond(initiated.message, rng=rng),
    )
    return initiated.session, responded.session


def _conversation(out: Out, alice: Session, bob: Session, rng: Rng) -> Session:
    out("")
    out("6. Conversation over the Double Ratchet with header encryption:")
    reply = bob.encrypt(b"Hello Alice! Got it.")
    out(f"   Bob → Alice ({len(reply)} bytes on the wire): {alice.decrypt(reply).decode()!r}")
    sent = [alice.encrypt(f"message {i}".encode()) for i in (1, 2, 3, 4)]
    out("   Alice sends messages 1-4; the network loses 2 and delivers 4, 1, 3:")
    for i in (4, 1, 3):
        out(f"     Bob reads {bob.decrypt(sent[i - 1]).decode()!r}")
    out(f"     (Bob keeps {bob.skipped_key_count} skipped message key for the lost message 2)")
    _refused(out, "     Message 4 delivered again", lambda: bob.decrypt(sent[3]))
    fifth = alice.encrypt(b"message 5")
    tampered = bytearray(fifth)
    tampered[-1] ^= 0x01
    _refused(out, "     Message 5 with one flipped bit", lambda: bob.decrypt(bytes(tampered)))
    out(f"     The genuine message 5 still decrypts: {bob.decrypt(fifth).decode()!r}")
    for i in range(3):
        step = (alice if i % 2 else bob).encrypt(b"ping-pong")
        (bob if i % 2 else alice).decrypt(step)
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


def run(out: Out, *, rng: Rng = system_rng, now: int | None = None) -> None:
    """Run the demo, writing human-readable lines through ``out``."""
    now = int(time.time()) if now is None else now
    out("Blindpost demo — blind discovery, hybrid handshake, Double Ratchet, safety numbers")
    out("")
    alice = IdentityKeyPair.generate(rng)
    bob = IdentityKeyPair.generate(rng)
    out("1. Alice and Bob each generate an identity (Ed25519 signing key + bound X25519 key).")
    out(f"   Alice: {alice!r}")
    out(f"   Bob:   {bob!r}")
    _discovery(out, alice, bob, now, rng)
    store, bundle_wire = _publish(out, bob, now, rng)
    alice_session, bob_session = _handshake(out, alice, store, bundle_wire, rng)
    bob_session = _conversation(out, alice_session, bob_session, rng)

    alice_view = SafetyNumber.of(alice.public, bob.public)
    bob_view = SafetyNumber.of(bob.public, alice.public)
    out("")
    out("8. Safety numbers (computed from the two identity keys only):")
    out(f"   Alice sees: {alice_view.display()}")
    out(f"   Bob sees:   {bob_view.display()}")
    out(f"   identical: {alice_view.digits == bob_view.digits}")
    scanned = compare_scanned(bob_view, alice_view.scannable())
    out(f"   Bob scans Alice's QR code ({len(alice_view.scannable())} bytes): match = {scanned}")
    mallory = IdentityKeyPair.generate(rng)
    wrong = compare_scanned(bob_view, SafetyNumber.of(mallory.public, bob.public).scannable())
    out(f"   Bob scans a code made with Mallory's key instead: match = {wrong}")
    _sms_fallback(out, alice_session, bob_session, rng, now)


def _sms_fallback(out: Out, alice: Session, bob: Session, rng: Rng, now: int) -> None:
    """Spec §11: Alice's deposit goes unacknowledged; the same ratchet message goes by SMS."""
    policy = TransportPolicy(reference=rng(1)[0])
    mailbox = rng(32)  # Bob's conversation mailbox (§9.5); the relay never answers here
    content = Content(b"On the train, no data. Did this reach you?").to_bytes()
    (deposit,) = policy.send_session(alice, mailbox, content, ttl=86_400, now=now)
    assert isinstance(deposit, Deposit)
    out("")
    out(
        f"9. SMS fallback (spec §11): Alice deposits a message at the relay "
        f"({len(deposit.envelope)} bytes); no acknowledgement comes."
    )
    (sms,) = policy.tick(now + 60)
    assert isinstance(sms, SendSms)
    segments = [s for s in sms.segments if isinstance(s, bytes)]
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
    text = Content.from_bytes(received.plaintext).body or b""
    out(f"   Bob reassembles them (last first) and reads: {text.decode()!r}")
    late = receiver.receive_envelope(deposit.envelope, bob)
    out(f"   The relay's copy arrives later: {type(late).__name__.lower()} — already there.")
