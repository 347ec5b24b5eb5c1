"""Spec §12: the client facade, driven through real in-process servers (evaluator, directory,
relay on the memory store) by a loop that carries each exchange's requests — what a transport
does (h11's ConnectionPair pattern, STYLE.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

import pytest

from protocol.blinding import normalize_phone_number
from protocol.client import Client, ClientSnapshot, Exchange, Outgoing, Received
from protocol.directory import Directory
from protocol.errors import ProtocolError, StateError, UsageError
from protocol.evaluator import Evaluator, OprfKeyPair
from protocol.kat import SeededRng
from protocol.keys import IdentityKeyPair
from protocol.relay import MemoryStore, Relay

NOW = 1_780_531_200
RELAY_ID = bytes(range(32))
T = TypeVar("T")


@dataclass
class Servers:
    """The three server roles, in process; ``seen`` records every request they received."""

    rng: SeededRng
    evaluator: Evaluator
    directory: Directory = field(default_factory=Directory)
    relay: Relay = field(default_factory=lambda: Relay(MemoryStore(), RELAY_ID))
    seen: list[Outgoing] = field(default_factory=list)
    drop: set[str] = field(default_factory=set)  # ops whose requests are refused (tests)

    def answer(self, request: Outgoing, credential: bytes, now: int) -> bytes:
        self.seen.append(request)
        if request.op in self.drop:
            raise StateError("state.rate_limited", "refused by the test")
        if request.role == "evaluator":
            return self.evaluator.evaluate(credential, request.body, now=now, rng=self.rng)
        if request.role == "directory":
            if request.op == "parameters":
                return self.directory.parameters().to_bytes()
            if request.op == "register":
                self.directory.register(credential, request.body, now=now)
                return b""
            return self.directory.lookup(request.body, now=now)
        operation = {"owner": self.relay.owner, "bundle": self.relay.bundle,
                     "deposit": self.relay.deposit}[request.op]  # fmt: skip
        return operation(request.body, now=now)


def carry(exchange: Exchange[T], servers: Servers, credential: bytes, now: int) -> T:
    """Carry every request of ``exchange`` to its server and the answers back."""
    while exchange.request is not None:
        try:
            response = servers.answer(exchange.request, credential, now)
        except ProtocolError as error:
            exchange.fail(error)
        else:
            exchange.respond(response)
    return exchange.result


def _world(label: str = "client") -> tuple[Servers, Client, Client]:
    rng = SeededRng(label.encode())
    evaluator = Evaluator(OprfKeyPair.generate(1, rng), now=NOW)
    servers = Servers(rng, evaluator)
    servers.relay.maintain(now=NOW, rng=rng)
    key = evaluator.current_key()
    alice = Client(
        IdentityKeyPair.generate(rng), normalize_phone_number("+44 7700 900123"),
        evaluator_key=key, relay_id=RELAY_ID, rng=rng,
    )  # fmt: skip
    bob = Client(
        IdentityKeyPair.generate(rng), normalize_phone_number("+44 20 7946 0958"),
        evaluator_key=key, relay_id=RELAY_ID, rng=rng,
    )  # fmt: skip
    return servers, alice, bob


def _texts(received: list[Received]) -> list[bytes]:
    return [r.text for r in received]


def test_nothing_is_sent_before_register() -> None:
    servers, alice, bob = _world()
    assert servers.seen == [] and not alice.registered
    with pytest.raises(UsageError) as caught:
        alice.fetch(now=NOW)
    assert caught.value.code == "usage.bad_state"
    assert servers.seen == []
    carry(bob.register(now=NOW), servers, b"bob", NOW)
    assert bob.registered
    assert [(r.role, r.op) for r in servers.seen] == [
        ("evaluator", "evaluate"), ("directory", "register"), ("relay", "owner"),
        ("relay", "owner"),
    ]  # fmt: skip


def test_register_discover_first_contact_and_conversation_both_ways() -> None:
    servers, alice, bob = _world()
    carry(bob.register(now=NOW), servers, b"bob", NOW)
    carry(alice.register(now=NOW), servers, b"alice", NOW)
    numbers = [normalize_phone_number(n, default_country=44) for n in
               ("020 7946 0958", "+1 202 555 0143")]  # fmt: skip
    found = carry(alice.discover(numbers, now=NOW), servers, b"alice", NOW)
    assert found == ["+442079460958"]
    assert alice.contacts() == {"+442079460958": bob.identity}

    carry(alice.send("+442079460958", b"Hi Bob", now=NOW), servers, b"alice", NOW)
    got = carry(bob.fetch(now=NOW + 1), servers, b"bob", NOW + 1)
    assert got == [Received(alice.identity, b"Hi Bob", True)]
    assert carry(bob.fetch(now=NOW + 2), servers, b"bob", NOW + 2) == []  # acknowledged

    # Bob answers into Alice's reply mailbox (his first answer carries his own grant)
    carry(bob.discover([normalize_phone_number("+44 7700 900123")], now=NOW), servers, b"b", NOW)
    carry(bob.send("+447700900123", b"Hello Alice", now=NOW + 3), servers, b"bob", NOW + 3)
    assert _texts(carry(alice.fetch(now=NOW + 4), servers, b"alice", NOW + 4)) == [b"Hello Alice"]
    for i in range(3):
        text = f"message number {i}".encode()
        carry(alice.send("+442079460958", text, now=NOW + 5), servers, b"a", NOW + 5)
    assert _texts(carry(bob.fetch(now=NOW + 6), servers, b"bob", NOW + 6)) == [
        b"message number 0", b"message number 1", b"message number 2",
    ]  # fmt: skip
    # nothing the servers received holds a text or a number
    for request in servers.seen:
        for secret in (b"Hi Bob", b"Hello Alice", b"message number", b"+442079460958", b"7946"):
            assert secret not in request.body


def test_a_refused_acknowledgement_loses_no_message() -> None:
    servers, alice, bob = _world("refused ack")
    carry(bob.register(now=NOW), servers, b"bob", NOW)
    carry(alice.register(now=NOW), servers, b"alice", NOW)
    carry(alice.discover([normalize_phone_number("+44 20 7946 0958")], now=NOW), servers, b"a", NOW)
    carry(alice.send("+442079460958", b"keep me", now=NOW), servers, b"alice", NOW)
    fetch = bob.fetch(now=NOW + 1)
    assert fetch.request is not None
    fetch.respond(servers.answer(fetch.request, b"bob", NOW + 1))  # the fetch itself
    assert fetch.request is not None  # now the acknowledgement: refused
    with pytest.raises(ProtocolError):
        fetch.fail(StateError("state.rate_limited", "test"))
    # the relay still holds the envelope; the next fetch shows the message once
    got = carry(bob.fetch(now=NOW + 2), servers, b"bob", NOW + 2)
    assert _texts(got) == [b"keep me"]
    assert carry(bob.fetch(now=NOW + 3), servers, b"bob", NOW + 3) == []


def test_a_failed_register_leaves_the_client_unregistered() -> None:
    servers, _alice, bob = _world("failed register")
    servers.drop.add("register")
    with pytest.raises(ProtocolError):
        carry(bob.register(now=NOW), servers, b"bob", NOW)
    assert not bob.registered
    servers.drop.clear()
    carry(bob.register(now=NOW), servers, b"bob", NOW)
    assert bob.registered


def test_a_relay_that_swaps_the_bundle_is_refused() -> None:
    """The sender checks the hosted bundle's identity against the directory's (spec §12.2)."""
    servers, alice, bob = _world("swapped bundle")
    carry(bob.register(now=NOW), servers, b"bob", NOW)
    carry(alice.register(now=NOW), servers, b"alice", NOW)
    carry(alice.discover([normalize_phone_number("+44 20 7946 0958")], now=NOW), servers, b"a", NOW)
    exchange = alice.send("+442079460958", b"for Bob only", now=NOW)
    assert exchange.request is not None and exchange.request.op == "bundle"
    # the relay answers with Alice's own hosted bundle instead of Bob's
    from protocol.relay import BundleRequest

    own = alice._state.registered  # the routing ID of Alice herself
    assert own is not None
    from protocol.blinding import epoch_of

    alice_routing = own.output.routing_id(own.mailbox.public_key, epoch_of(NOW))
    swapped = servers.relay.bundle(BundleRequest(alice_routing).to_bytes(), now=NOW)
    with pytest.raises(ProtocolError) as caught:
        exchange.respond(swapped)
    assert caught.value.code == "auth.failed"
    assert exchange.done and exchange.request is None


def test_exchange_misuse_is_a_usage_error() -> None:
    servers, _alice, bob = _world("misuse")
    exchange = bob.register(now=NOW)
    carry(exchange, servers, b"bob", NOW)
    with pytest.raises(UsageError):
        exchange.respond(b"")
    with pytest.raises(UsageError):
        bob.send("+10000000000", b"x", now=NOW)
    assert "private=<redacted>" in repr(bob)
    pending = bob.fetch(now=NOW)
    with pytest.raises(UsageError):
        _ = pending.result


# --- receive: an envelope that arrived outside fetch (spec §12.5) --------------------------------


def _state(client: Client) -> object:
    """What a failed operation must leave exactly as it was (spec §12.3): the exported state."""
    return client.snapshot()


def _deposited(servers: Servers, exchange: Exchange[None], credential: bytes, now: int) -> bytes:
    """Carry ``exchange`` but keep its deposit from the relay: the envelope travels another way
    (SMS, spec §11.7); returns it."""
    from protocol.relay import Deposit

    while exchange.request is not None:
        if exchange.request.op == "deposit":
            envelope = Deposit.from_bytes(exchange.request.body).envelope
            exchange.respond(servers.answer(exchange.request, credential, now))
            servers.relay.maintain(now=now, rng=servers.rng)
            return envelope
        exchange.respond(servers.answer(exchange.request, credential, now))
    raise AssertionError("no deposit")


def _talking(label: str) -> tuple[Servers, Client, Client]:
    """Alice wrote to Bob and Bob answered: both have each other's conversation mailbox."""
    servers, alice, bob = _world(label)
    carry(bob.register(now=NOW), servers, b"bob", NOW)
    carry(alice.register(now=NOW), servers, b"alice", NOW)
    carry(alice.discover([normalize_phone_number("+44 20 7946 0958")], now=NOW), servers, b"a", NOW)
    carry(bob.discover([normalize_phone_number("+44 7700 900123")], now=NOW), servers, b"b", NOW)
    carry(alice.send("+442079460958", b"hello", now=NOW), servers, b"alice", NOW)
    assert _texts(carry(bob.fetch(now=NOW), servers, b"bob", NOW)) == [b"hello"]
    carry(bob.send("+447700900123", b"hi", now=NOW), servers, b"bob", NOW)
    assert _texts(carry(alice.fetch(now=NOW), servers, b"alice", NOW)) == [b"hi"]
    return servers, alice, bob


def test_receive_a_first_contact_outside_fetch_then_the_relay_copy_is_not_shown() -> None:
    servers, alice, bob = _world("receive first")
    carry(bob.register(now=NOW), servers, b"bob", NOW)
    carry(alice.register(now=NOW), servers, b"alice", NOW)
    carry(alice.discover([normalize_phone_number("+44 20 7946 0958")], now=NOW), servers, b"a", NOW)
    envelope = _deposited(servers, alice.send("+442079460958", b"by SMS", now=NOW), b"a", NOW)
    assert bob.receive(envelope) == Received(alice.identity, b"by SMS", True)
    before = _state(bob)
    assert bob.receive(envelope) is None  # the same envelope again: already here
    assert _state(bob) == before
    # the relay's copy: acknowledged, not shown again, and gone from the relay
    assert carry(bob.fetch(now=NOW + 1), servers, b"bob", NOW + 1) == []
    assert carry(bob.fetch(now=NOW + 2), servers, b"bob", NOW + 2) == []


def test_receive_a_session_envelope_and_its_replay() -> None:
    servers, alice, bob = _talking("receive session")
    envelope = _deposited(servers, alice.send("+442079460958", b"over SMS", now=NOW), b"a", NOW)
    assert bob.receive(envelope) == Received(alice.identity, b"over SMS", False)
    before = _state(bob)
    assert bob.receive(envelope) is None  # replayed: the ratchet refuses it, nothing changes
    assert _state(bob) == before
    assert carry(bob.fetch(now=NOW + 1), servers, b"bob", NOW + 1) == []  # relay copy acked
    carry(alice.send("+442079460958", b"next", now=NOW + 2), servers, b"a", NOW + 2)
    assert _texts(carry(bob.fetch(now=NOW + 3), servers, b"bob", NOW + 3)) == [b"next"]


@pytest.mark.parametrize(
    ("position", "code"),
    [(0, "decode.version"), (5, "state.unknown_mailbox"), (40, "auth.failed"),
     (100, "auth.failed"), (-1, "auth.failed")],
)  # fmt: skip
def test_receive_a_tampered_envelope_changes_nothing(position: int, code: str) -> None:
    """Any flipped bit: the version, the address (no mailbox of Bob's), the header of the
    ratchet message, its ciphertext, its tag."""
    servers, alice, bob = _talking(f"receive tampered {position}")
    envelope = _deposited(servers, alice.send("+442079460958", b"intact", now=NOW), b"a", NOW)
    tampered = bytearray(envelope)
    tampered[position] ^= 0x01
    before = _state(bob)
    with pytest.raises(ProtocolError) as caught:
        bob.receive(bytes(tampered))
    assert caught.value.code == code
    assert _state(bob) == before
    assert bob.receive(envelope) == Received(alice.identity, b"intact", False)


def test_receive_codes_for_what_is_not_an_envelope_of_this_client() -> None:
    servers, _alice, bob = _talking("receive foreign")
    envelope = _deposited(servers, bob.send("+447700900123", b"for Alice", now=NOW), b"b", NOW)
    before = _state(bob)
    with pytest.raises(StateError) as caught:
        bob.receive(envelope)  # Alice's mailbox, not Bob's
    assert caught.value.code == "state.unknown_mailbox"
    for garbage, code in ((b"", "decode.length"), (envelope[:-1], "decode.length")):
        with pytest.raises(ProtocolError) as failed:
            bob.receive(garbage)
        assert failed.value.code == code
    assert _state(bob) == before
    fresh = _world("receive unregistered")[2]
    with pytest.raises(UsageError) as misuse:
        fresh.receive(envelope)
    assert misuse.value.code == "usage.bad_state"


# --- housekeeping across epochs (spec §12.6) ------------------------------------------------------


def _tick(servers: Servers, now: int) -> None:
    servers.relay.maintain(now=now, rng=servers.rng)  # expiry, the proof-of-work seed


def test_messages_just_before_and_after_an_epoch_boundary_are_delivered() -> None:
    """Bob watches the previous, current and next epochs' routing IDs: a first contact sent
    5 s before the boundary (to the old routing ID) and one sent 5 s after (to the new one,
    which Bob's housekeeping opened ahead) both arrive, and so do session messages across the
    boundary while the conversation mailboxes rotate."""
    from protocol.blinding import epoch_of, epoch_start

    servers, alice, bob = _world("epoch boundary")
    carol = Client(
        IdentityKeyPair.generate(servers.rng), normalize_phone_number("+44 7700 900456"),
        evaluator_key=servers.evaluator.current_key(), relay_id=RELAY_ID, rng=servers.rng,
    )  # fmt: skip
    bob_number = [normalize_phone_number("+44 20 7946 0958")]
    carry(bob.register(now=NOW), servers, b"bob", NOW)
    carry(bob.maintain(now=NOW), servers, b"bob", NOW)  # opens the next epoch's routing ID
    for client, credential in ((alice, b"alice"), (carol, b"carol")):
        carry(client.register(now=NOW), servers, credential, NOW)
        carry(client.discover(bob_number, now=NOW), servers, credential, NOW)
    boundary = epoch_start(epoch_of(NOW) + 1)

    before, after = boundary - 5, boundary + 5
    _tick(servers, before)
    carry(alice.send("+442079460958", b"just before", now=before), servers, b"alice", before)
    _tick(servers, after)
    carry(carol.send("+442079460958", b"just after", now=after), servers, b"carol", after)
    later = boundary + 60
    _tick(servers, later)
    carry(bob.maintain(now=later), servers, b"bob", later)  # the epoch after next, opened ahead
    got = carry(bob.fetch(now=later), servers, b"bob", later)
    assert sorted(_texts(got)) == [b"just after", b"just before"]
    assert {r.sender for r in got} == {alice.identity, carol.identity}

    # a conversation across the next boundary; Alice's housekeeping rotates her mailbox
    carry(
        bob.discover([normalize_phone_number("+44 7700 900123")], now=later), servers, b"b", later
    )
    carry(bob.send("+447700900123", b"answer", now=later), servers, b"bob", later)
    assert _texts(carry(alice.fetch(now=later), servers, b"alice", later)) == [b"answer"]
    second = epoch_start(epoch_of(NOW) + 2)
    _tick(servers, second - 5)
    carry(bob.send("+447700900123", b"old mailbox", now=second - 5), servers, b"bob", second - 5)
    _tick(servers, second + 5)
    old = alice._state.peers[bob.identity.signing_key].mine.mailbox_id
    carry(alice.maintain(now=second + 5), servers, b"alice", second + 5)
    peer = alice._state.peers[bob.identity.signing_key]
    assert peer.mine.mailbox_id != old and peer.serial == 2 and len(peer.retired) == 1
    # Bob takes the new grant (nothing to show), then writes to the new mailbox
    assert carry(bob.fetch(now=second + 6), servers, b"bob", second + 6) == []
    carry(bob.send("+447700900123", b"new mailbox", now=second + 7), servers, b"bob", second + 7)
    got = carry(alice.fetch(now=second + 8), servers, b"alice", second + 8)
    assert _texts(got) == [b"old mailbox", b"new mailbox"]
    # the old mailbox is superseded: the next housekeeping deletes it at the relay
    carry(alice.maintain(now=second + 9), servers, b"alice", second + 9)
    assert alice._state.peers[bob.identity.signing_key].retired == []
    from protocol.relay import DELETE_OP, OwnerRequest

    deletes = [r for r in servers.seen if r.op == "owner"]
    assert OwnerRequest.from_bytes(deletes[-1].body).op == DELETE_OP
    # the relay no longer holds the old mailbox
    assert all(row["address"] != old for row in servers.relay._store.dump()["mailbox"])


def test_housekeeping_refills_prekeys_retires_old_epochs_and_renews_the_registration() -> None:
    from protocol.blinding import epoch_of, epoch_start
    from protocol.client import HOSTED_ONE_TIME_PREKEYS, PREKEY_LOW_WATER, REGISTRATION_RENEWAL
    from protocol.envelope import FIRST_CONTACT_KEY_RETENTION

    servers, _alice, bob = _world("housekeeping")
    carry(bob.register(now=NOW), servers, b"bob", NOW)
    registered = bob._state.registered
    assert registered is not None
    epoch = epoch_of(NOW)
    assert list(registered.epochs) == [epoch]
    assert carry(bob.refill_prekeys(now=NOW), servers, b"bob", NOW) == 0  # nothing to do
    assert carry(bob.renew_registration(now=NOW), servers, b"bob", NOW) is False
    seen = len(servers.seen)
    # first contacts consume one-time prekeys; below the low-water mark the pool is refilled
    senders = []
    for i in range(HOSTED_ONE_TIME_PREKEYS - PREKEY_LOW_WATER + 1):
        sender = Client(
            IdentityKeyPair.generate(servers.rng), normalize_phone_number(f"+44 7700 900{i:03}"),
            evaluator_key=servers.evaluator.current_key(), relay_id=RELAY_ID, rng=servers.rng,
        )  # fmt: skip
        carry(sender.discover([normalize_phone_number("+44 20 7946 0958")], now=NOW),
              servers, f"s{i}".encode(), NOW)  # fmt: skip
        carry(sender.send("+442079460958", b"hi", now=NOW), servers, f"s{i}".encode(), NOW)
        senders.append(sender)
        _tick(servers, NOW + 360 * (i + 1))  # the relay's handout bucket refills
    now = NOW + 360 * len(senders)
    assert len(carry(bob.fetch(now=now), servers, b"bob", now)) == len(senders)
    held = len(registered.prekeys.held_ids()[1])
    before = len(servers.seen)
    published = carry(bob.refill_prekeys(now=now), servers, b"bob", now)
    assert published == HOSTED_ONE_TIME_PREKEYS - held > 0
    assert [(r.role, r.op) for r in servers.seen[before:]] == [("relay", "owner")]
    assert len(registered.prekeys.held_ids()[1]) == HOSTED_ONE_TIME_PREKEYS
    assert seen < before
    # epochs go by: the old routing IDs are deleted at the relay with their unused prekeys
    far = epoch_start(epoch + FIRST_CONTACT_KEY_RETENTION + 1) + 10
    _tick(servers, far)
    carry(bob.maintain(now=far), servers, b"bob", far)
    registered = bob._state.registered
    assert registered is not None
    assert sorted(registered.epochs) == [epoch_of(far), epoch_of(far) + 1]
    assert len(registered.prekeys.held_ids()[1]) == 2 * HOSTED_ONE_TIME_PREKEYS
    assert registered.registered_at == NOW  # not old enough to renew yet
    renew = NOW + REGISTRATION_RENEWAL
    _tick(servers, renew)
    directory_requests = sum(1 for r in servers.seen if r.role == "directory")
    assert carry(bob.renew_registration(now=renew), servers, b"bob", renew) is True
    assert registered.registered_at == renew
    assert sum(1 for r in servers.seen if r.role == "directory") == directory_requests + 1
    assert servers.seen[-1].op == "register"


def test_a_refused_housekeeping_request_changes_nothing() -> None:
    from protocol.blinding import epoch_of, epoch_start

    servers, _alice, bob = _world("refused housekeeping")
    carry(bob.register(now=NOW), servers, b"bob", NOW)
    later = epoch_start(epoch_of(NOW) + 1) + 10
    _tick(servers, later)
    before = _state(bob)
    exchange = bob.rotate_first_contact(now=later)
    steps = 0
    while exchange.request is not None and steps < 3:  # answer some, then refuse one
        exchange.respond(servers.answer(exchange.request, b"bob", later))
        steps += 1
    assert exchange.request is not None
    with pytest.raises(ProtocolError):
        exchange.fail(StateError("state.rate_limited", "refused by the test"))
    assert _state(bob) == before
    carry(bob.rotate_first_contact(now=later), servers, b"bob", later)
    assert _state(bob) != before


# --- exported state (spec §12.7) ------------------------------------------------------------------

STORAGE_KEY = bytes(range(100, 132))


def test_a_restored_client_continues_the_conversation() -> None:
    servers, alice, bob = _talking("export round trip")
    blob = bob.snapshot().to_bytes(STORAGE_KEY, servers.rng)
    assert b"hello" not in blob and b"+44" not in blob
    restored = Client.restore(ClientSnapshot.from_bytes(blob, STORAGE_KEY), rng=servers.rng)
    assert restored.snapshot() == bob.snapshot()
    assert restored.identity == bob.identity and restored.registered
    assert restored.contacts() == bob.contacts()
    del bob  # the device restarted: only the restored client goes on
    carry(alice.send("+442079460958", b"after restart", now=NOW + 1), servers, b"a", NOW + 1)
    got = carry(restored.fetch(now=NOW + 2), servers, b"bob", NOW + 2)
    assert got == [Received(alice.identity, b"after restart", False)]
    carry(restored.send("+447700900123", b"still me", now=NOW + 3), servers, b"bob", NOW + 3)
    assert _texts(carry(alice.fetch(now=NOW + 4), servers, b"a", NOW + 4)) == [b"still me"]


def test_a_restored_client_keeps_its_prekeys_and_first_contact_keys() -> None:
    """Registered, then restored before anybody wrote: the first contact opens with the
    restored prekey store and first-contact key, and its one-time prekey is consumed once."""
    servers, alice, bob = _world("export keys")
    carry(bob.register(now=NOW), servers, b"bob", NOW)
    carry(bob.maintain(now=NOW), servers, b"bob", NOW)
    restored = Client.restore(
        ClientSnapshot.from_bytes(bob.snapshot().to_bytes(STORAGE_KEY, servers.rng), STORAGE_KEY),
        rng=servers.rng,
    )
    carry(alice.register(now=NOW), servers, b"alice", NOW)
    carry(alice.discover([normalize_phone_number("+44 20 7946 0958")], now=NOW), servers, b"a", NOW)
    envelope = _deposited(servers, alice.send("+442079460958", b"first", now=NOW), b"a", NOW)
    assert restored.receive(envelope) == Received(alice.identity, b"first", True)
    assert carry(restored.fetch(now=NOW + 1), servers, b"bob", NOW + 1) == []
    unregistered = Client.restore(_world("export fresh")[1].snapshot(), rng=servers.rng)
    assert not unregistered.registered


def test_an_exported_state_matches_its_cddl() -> None:
    import pycddl

    from tests.external import REPO

    cddl = (REPO / "spec" / "wire.cddl").read_text(encoding="utf-8")
    schema = pycddl.Schema(f"blindpost-root = client-state\n{cddl}")
    servers, alice, bob = _talking("export cddl")
    carry(alice.maintain(now=NOW), servers, b"alice", NOW)
    for client in (alice, bob, _world("export cddl fresh")[1]):
        schema.validate_cbor(client.snapshot().state.to_bytes())


def test_a_wrong_key_a_tampered_byte_or_a_truncation_is_refused() -> None:
    servers, _alice, bob = _talking("export tamper")
    blob = bob.snapshot().to_bytes(STORAGE_KEY, servers.rng)
    with pytest.raises(ProtocolError) as caught:
        ClientSnapshot.from_bytes(blob, bytes(32))
    assert caught.value.code == "auth.failed"
    for position in range(len(blob)):  # every byte: nonce, ciphertext, tag
        tampered = bytearray(blob)
        tampered[position] ^= 0x80
        with pytest.raises(ProtocolError) as caught:
            ClientSnapshot.from_bytes(bytes(tampered), STORAGE_KEY)
        assert caught.value.code == "auth.failed", position
    for length in (0, 1, 23, 24, 40, len(blob) // 2, len(blob) - 1):
        with pytest.raises(ProtocolError) as caught:
            ClientSnapshot.from_bytes(blob[:length], STORAGE_KEY)
        assert caught.value.code == "auth.failed", length
    with pytest.raises(UsageError):
        ClientSnapshot.from_bytes(blob, b"short")


def test_an_authentic_state_that_contradicts_itself_is_refused() -> None:
    """Encrypted with the right key but inconsistent: a conversation mailbox whose key is
    not a scalar, a peer twice, another version — each a decode code, never a traceback."""
    import dataclasses

    from protocol._client_state import ClientState
    from protocol.codec import decode, encode
    from protocol.primitives import xchacha20_poly1305_seal

    servers, _alice, bob = _talking("export inconsistent")
    state = bob.snapshot().state

    def sealed(plaintext: bytes) -> bytes:
        from protocol._client_state import _blob_key

        nonce = bytes(24)
        return nonce + xchacha20_poly1305_seal(_blob_key(STORAGE_KEY), nonce, plaintext, b"")

    (peer,) = state.peers
    twice = dataclasses.replace(state, peers=(peer, peer))
    bad_mailbox = dataclasses.replace(
        state, peers=(dataclasses.replace(peer, mailbox=b"\xff" * 64),)
    )
    newer = decode(state.to_bytes(), max_size=ClientState.MAX_SIZE)
    assert isinstance(newer, dict)
    newer[0] = 2
    for plaintext, code in (
        (twice.to_bytes(), "decode.bad_state"),
        (bad_mailbox.to_bytes(), "decode.bad_state"),
        (encode(newer), "decode.version"),
        (b"\xa0", "decode.version"),
    ):
        with pytest.raises(ProtocolError) as caught:
            Client.restore(
                ClientSnapshot.from_bytes(sealed(plaintext), STORAGE_KEY), rng=servers.rng
            )
        assert caught.value.code == code
    assert "redacted" in repr(bob.snapshot()) and "hello" not in repr(bob.snapshot().state)
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(bob.snapshot())


# --- loss and reordering through the client API (spec §7.6, §12.3) -------------------------------


def test_a_conversation_with_loss_reordering_and_duplicates() -> None:
    """Five messages in flight at once: the network delivers 4, 1, 3, 5 and loses 2 (its
    deposit refused: a lost message, §12.3); Bob reads them in arrival order, keeps a skipped
    key for 2, refuses a late duplicate of 1 by SMS, and the conversation goes on both ways
    through new DH ratchet steps."""
    servers, alice, bob = _talking("loss and reordering")
    pending = {i: alice.send("+442079460958", f"m{i}".encode(), now=NOW) for i in range(1, 6)}
    assert all(e.request is not None and e.request.op == "deposit" for e in pending.values())
    copy_of_1 = pending[1].request
    for i in (4, 1, 3, 5):
        carry(pending[i], servers, b"alice", NOW)
    lost = pending[2]
    assert lost.request is not None
    with pytest.raises(StateError):
        lost.fail(StateError("state.rate_limited", "the network lost it"))
    got = carry(bob.fetch(now=NOW + 1), servers, b"bob", NOW + 1)
    assert _texts(got) == [b"m4", b"m1", b"m3", b"m5"]
    assert bob._state.peers[alice.identity.signing_key].session.skipped_key_count == 1
    assert copy_of_1 is not None
    from protocol.relay import Deposit

    late = Deposit.from_bytes(copy_of_1.body).envelope  # m1 again, by SMS (§11.7)
    before = _state(bob)
    assert bob.receive(late) is None
    assert _state(bob) == before
    for turn in range(4):  # alternate: each direction change is a DH ratchet step
        sender, receiver, to = (
            (bob, alice, "+447700900123") if turn % 2 == 0 else (alice, bob, "+442079460958")
        )
        now = NOW + 10 + turn
        carry(sender.send(to, f"turn {turn}".encode(), now=now), servers, b"x", now)
        assert _texts(carry(receiver.fetch(now=now), servers, b"x", now)) == [
            f"turn {turn}".encode()
        ]


def test_a_session_message_by_sms_then_its_relay_copy() -> None:
    """Spec §11.7, §12.5: the deposit is not acknowledged, the same ratchet message goes by
    SMS; Bob reads it once, and the relay's copy (or the SMS again) shows nothing."""
    from protocol.sms import Profile, Reassembler, segment, session_form_of_envelope

    servers, alice, bob = _talking("sms")
    envelope = _deposited(servers, alice.send("+442079460958", b"no data here", now=NOW), b"a", NOW)
    reassembler = Reassembler()
    message = None
    for piece in reversed(segment(Profile.BINARY, session_form_of_envelope(envelope), 7)):
        message = reassembler.receive("+447700900123", piece, now=NOW) or message
    assert message is not None
    assert bob.receive_sms(message) == Received(alice.identity, b"no data here", False)
    before = _state(bob)
    assert bob.receive_sms(message) is None
    assert carry(bob.fetch(now=NOW + 1), servers, b"bob", NOW + 1) == []
    assert _state(bob) == before  # the relay's copy: acknowledged, not shown, no change
    # a new message whose SMS form is tampered with: refused, nothing changes
    fresh = _deposited(servers, alice.send("+442079460958", b"second", now=NOW + 2), b"a", NOW + 2)
    data = session_form_of_envelope(fresh)
    tampered = message._replace(data=data[:-1] + bytes([data[-1] ^ 1]))
    before = _state(bob)
    with pytest.raises(ProtocolError) as caught:
        bob.receive_sms(tampered)
    assert caught.value.code == "auth.failed"
    assert _state(bob) == before
    assert bob.receive_sms(message._replace(data=data)) == Received(
        alice.identity, b"second", False
    )


def test_an_answer_by_identity_and_a_client_that_only_wrote() -> None:
    """Bob answers the identity that wrote to him without discovering her number; Alice, who
    never registered (she is not findable), still reads the conversation she started."""
    servers, alice, bob = _world("answer by identity")
    carry(bob.register(now=NOW), servers, b"bob", NOW)
    carry(alice.discover([normalize_phone_number("+44 20 7946 0958")], now=NOW), servers, b"a", NOW)
    carry(alice.send("+442079460958", b"hi", now=NOW), servers, b"alice", NOW)
    (first,) = carry(bob.fetch(now=NOW), servers, b"bob", NOW)
    carry(bob.send(first.sender, b"hello you", now=NOW), servers, b"bob", NOW)
    assert not alice.registered
    assert _texts(carry(alice.fetch(now=NOW), servers, b"a", NOW)) == [b"hello you"]
    with pytest.raises(UsageError) as caught:
        bob.send(IdentityKeyPair.generate(servers.rng).public, b"who?", now=NOW)
    assert caught.value.code == "usage.bad_argument"


def test_nothing_secret_in_a_repr() -> None:
    servers, alice, bob = _talking("reprs")
    carry(alice.send("+442079460958", b"private words", now=NOW), servers, b"a", NOW)
    (got,) = carry(bob.fetch(now=NOW), servers, b"b", NOW)
    for shown in (repr(got), repr(bob), repr(bob._state), repr(bob.snapshot())):
        assert "private words" not in shown and "7946" not in shown and "+44" not in shown


def test_envelopes_that_do_not_open_cannot_block_a_mailbox() -> None:
    """Anyone who pays the proof of work can deposit at a routing ID, and a peer can deposit
    anything into its mailbox: what does not open is acknowledged, counted and dropped, the
    messages around it arrive, and the relay keeps nothing (spec §12.3)."""
    from protocol.blinding import epoch_of
    from protocol.envelope import Envelope, envelope_id
    from protocol.relay import BundleRequest, BundleResponse, Deposit, sign_deposit, solve_pow

    servers, alice, bob = _talking("hostile envelopes")
    own = bob._state.registered
    assert own is not None
    routing_id = own.output.routing_id(own.mailbox.public_key, epoch_of(NOW))
    response = BundleResponse.from_bytes(
        servers.relay.bundle(BundleRequest(routing_id).to_bytes(), now=NOW)
    )
    garbage = Envelope(routing_id, 3600, bytes(range(256)) * 8).to_bytes()  # 2048 bytes
    nonce = solve_pow(response.seed, routing_id, envelope_id(garbage), response.effort,
                      rng=servers.rng)  # fmt: skip
    servers.relay.deposit(Deposit(garbage, response.seed, nonce).to_bytes(), now=NOW)
    grant = alice._state.peers[bob.identity.signing_key].theirs  # Bob's mailbox, for Alice
    assert grant is not None
    junk = Envelope(grant.mailbox_id, 3600, bytes(256)).to_bytes()
    signature = sign_deposit(grant.deposit_key, relay_id=RELAY_ID, address=grant.mailbox_id,
                             envelope_id=envelope_id(junk), time=NOW)  # fmt: skip
    servers.relay.deposit(Deposit(junk, time=NOW, signature=signature).to_bytes(), now=NOW)
    carry(alice.send("+442079460958", b"after the junk", now=NOW), servers, b"a", NOW)
    before = bob.dropped
    got = carry(bob.fetch(now=NOW + 1), servers, b"bob", NOW + 1)
    assert _texts(got) == [b"after the junk"]
    assert bob.dropped == before + 2
    assert carry(bob.fetch(now=NOW + 2), servers, b"bob", NOW + 2) == []
    assert servers.relay._store.dump()["envelope"] == []  # type: ignore[attr-defined]
