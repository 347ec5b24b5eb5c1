"""Spec §1.4, §1.6, §2.3: every place where bytes from a peer enter the library, by stable name.

One registry shared by the fuzz harness (``tests/fuzz/harness.py``), the corpus replay
(``tests/test_fuzz_corpus.py``), the hostile-input properties (``tests/test_decoders_hostile.py``)
and the memory regression test (``tests/test_memory_bounds.py``).

A :class:`Target` is either

* a **decoder** — ``Message.from_bytes`` of a wire structure, or another parser of peer bytes
  (:func:`~protocol.codec.decode`, :func:`~protocol.ratchet.parse_message`,
  :func:`~protocol.ratchet.load_state`). Contract: a value or a :class:`DecodeError`, nothing
  else; or
* an **entry point** — an operation of a server role or of a client that consumes bytes received
  from the network, with its state built here from seeded randomness (an evaluator, a directory,
  a prekey store, a ratchet session, …). Contract: a result, or a :class:`DecodeError`,
  :class:`AuthenticationError` or :class:`StateError`. A :class:`UsageError` is a finding too:
  hostile bytes never make the *caller* wrong.

Anything else escaping, a hang, or memory that grows with the inputs is a finding.

Each target also names valid inputs (``seeds``): real encodings made by the library, which the
fuzzer starts from and the tests mutate. Entry points keep their state between inputs (an
accepted message is a replay the next time), exactly as a long-running server or client would.

Adding a wire structure or an entry point: one line in :func:`_decoders` or :func:`_entries`;
``tests/test_fuzz_corpus.py`` fails while a :class:`~protocol.codec.Message` subclass of
``protocol`` is not registered.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import ClassVar, Literal

from protocol._client_state import (
    ClientState,
    ContactState,
    EpochState,
    FirstContactKeyPrivate,
    PeerState,
    ReceivedState,
    RegistrationState,
    RetiredMailbox,
)
from protocol.blinding import MailboxKeyPair, normalize_phone_number, request_evaluation
from protocol.client import Client
from protocol.codec import (
    Bool,
    Bytes,
    Field,
    FixedBytes,
    ListOf,
    Message,
    Nested,
    Text,
    UInt,
    decode,
)
from protocol.directory import (
    Directory,
    DirectoryParameters,
    LookupRequest,
    LookupResponse,
    Registration,
    Unregistration,
    lookup_request,
    read_lookup_response,
)
from protocol.envelope import (
    Content,
    ConversationMailbox,
    Envelope,
    FirstContactBundle,
    FirstContactInner,
    FirstContactKey,
    FirstContactKeys,
    MailboxGrant,
    _seal_first_contact_with,
    envelope_id,
    open_first_contact,
    open_session,
    seal_session,
)
from protocol.errors import AuthenticationError, DecodeError, StateError
from protocol.evaluator import (
    EvaluationRequest,
    EvaluationResponse,
    Evaluator,
    OprfKeyPair,
    PublishedKey,
)
from protocol.handshake import (
    InitialMessage,
    Initiated,
    KemPrekeyPrivate,
    OneTimePrekeyPrivate,
    PrekeyStore,
    PrekeyStoreState,
    RetiringPrekeys,
    SignedPrekeyPrivate,
    _initiate_with,
    initiate,
)
from protocol.hpke import AeadId, Suite, derive_key_pair, open_base, seal_base
from protocol.kat import SeededRng
from protocol.kat._mlkem import encapsulate_deterministic
from protocol.keys import (
    IdentityKey,
    IdentityKeyPair,
    KemPrekey,
    OneTimePrekey,
    PrekeyBundle,
    PrekeyUpload,
    SignedPrekey,
)
from protocol.oprf import Proof
from protocol.primitives import Element, Scalar, X25519KeyPair
from protocol.ratchet import (
    Limits,
    PreviousChain,
    PreviousChainV0,
    Session,
    SessionIndex,
    SessionSnapshot,
    SessionState,
    SessionStateV0,
    load_state,
    parse_message,
)
from protocol.relay import (
    FETCH_OP,
    KIND_FIRST_CONTACT,
    MIN_EFFORT,
    OPEN_OP,
    PUBLISH_OP,
    AckBody,
    AckResponse,
    BundleRequest,
    BundleResponse,
    DeleteBody,
    Deposit,
    DepositResponse,
    Done,
    FetchBody,
    FetchResponse,
    MemoryStore,
    OpenBody,
    OwnerRequest,
    PublishBody,
    Relay,
    StoredEnvelope,
    owner_request,
    solve_pow,
)
from protocol.safety import SafetyNumber, ScannableSafetyNumber, compare_scanned
from protocol.sms import (
    Profile,
    Reassembler,
    _seal_sms_first_contact_with,
    decode_compact,
    decode_text,
    encode_text,
    open_sms_first_contact,
    open_sms_session,
    parse_binary_segment,
    seal_sms_session,
    session_form_of_envelope,
    split_binary,
)

__all__ = [
    "CORPUS",
    "DECODER_ERRORS",
    "ENTRY_ERRORS",
    "NOW",
    "TARGETS",
    "Target",
    "ToyBundle",
    "ToyHeader",
    "check",
    "check_all",
    "corpus_inputs",
    "mutations",
]

CORPUS = Path(__file__).resolve().parent / "corpus"
#: The clock of every entry point's state (seconds): fixed, so the targets are deterministic.
NOW = 1_750_000_000
#: What may escape a decoder.
DECODER_ERRORS: tuple[type[Exception], ...] = (DecodeError,)
#: What may escape an entry point (never ``UsageError``: hostile bytes cannot be a misuse).
ENTRY_ERRORS: tuple[type[Exception], ...] = (DecodeError, AuthenticationError, StateError)


@dataclass(frozen=True, slots=True)
class ToyHeader(Message):
    """Shaped like a ratchet header: fixed bytes and two bounded counters."""

    VERSION: ClassVar[int] = 1
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "dh", FixedBytes(32)),
        Field(2, "n", UInt(2**32 - 1)),
        Field(3, "pn", UInt(2**32 - 1)),
    )
    dh: bytes
    n: int
    pn: int


@dataclass(frozen=True, slots=True)
class ToyBundle(Message):
    """Every field kind: bounded bytes and text, bool, nested, lists, optional fields."""

    VERSION: ClassVar[int] = 2
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "identity", FixedBytes(32)),
        Field(2, "name", Text(max_len=64)),
        Field(3, "header", Nested(ToyHeader)),
        Field(4, "prekeys", ListOf(Bytes(max_len=40, min_len=32), max_count=8)),
        Field(5, "headers", ListOf(Nested(ToyHeader), max_count=4), optional=True),
        Field(6, "last_resort", Bool()),
        Field(7, "signature", Bytes(max_len=64, min_len=64), optional=True),
    )
    MAX_SIZE: ClassVar[int] = 4096
    identity: bytes
    name: str
    header: ToyHeader
    prekeys: tuple[bytes, ...]
    last_resort: bool
    headers: tuple[ToyHeader, ...] | None = None
    signature: bytes | None = None


Run = Callable[[bytes], object]


@dataclass(frozen=True)
class Target:
    """One fuzz target: ``make()`` builds its state once and returns the function to feed."""

    name: str
    kind: Literal["decoder", "entry"]
    doc: str
    make: Callable[[], tuple[Run, list[bytes]]] = field(repr=False)

    @property
    def allowed(self) -> tuple[type[Exception], ...]:
        return DECODER_ERRORS if self.kind == "decoder" else ENTRY_ERRORS

    def run(self) -> Run:
        """The function to feed (its state is built on first use and then kept)."""
        return _made(self.name)[0]

    def seeds(self) -> list[bytes]:
        """Valid inputs made by the library (the fuzzer's starting points)."""
        return list(_made(self.name)[1])


@cache
def _made(name: str) -> tuple[Run, tuple[bytes, ...]]:
    run, seeds = TARGETS[name].make()
    return run, tuple(seeds)


def check(target: Target, data: bytes) -> None:
    """Feed ``data`` to ``target``; anything but the errors its contract allows propagates."""
    with contextlib.suppress(*target.allowed):
        target.run()(data)


def check_all(data: bytes) -> None:
    """Feed ``data`` to every target."""
    for target in TARGETS.values():
        check(target, data)


# --- the world the entry points live in (seeded, built once per target) ------------------------


def _rng(label: str) -> SeededRng:
    return SeededRng(b"blindpost-fuzz/" + label.encode())


@cache
def _identities() -> tuple[IdentityKeyPair, IdentityKeyPair]:
    rng = _rng("identities")
    return IdentityKeyPair.generate(rng), IdentityKeyPair.generate(rng)


@cache
def _store_and_upload() -> tuple[PrekeyStore, bytes]:
    """Bob's prekey store (a separate one per user of it is not needed: read-only here)."""
    _alice, bob = _identities()
    store, upload = PrekeyStore.create(bob, now=NOW, rng=_rng("store"), batch=2)
    return store, upload.to_bytes()


def _last_resort_bundle(store: PrekeyStore) -> PrekeyBundle:
    full = store.bundle()
    kem = store._kem_last_resort.public  # the reusable KEM prekey (spec §6.7 replay cache)
    return PrekeyBundle(full.identity, full.signed_prekey, None, kem)


def _seeded_initiate(
    alice: IdentityKeyPair, bundle: PrekeyBundle, plaintext: bytes, rng: SeededRng
) -> Initiated:
    """:func:`initiate` with the ML-KEM encapsulation drawn from ``rng`` too.

    The library's ML-KEM draws its own randomness; the harness process must build exactly the
    sessions and messages that the campaign process wrote as seeds, so every draw is seeded.
    """
    bundle.verify()
    ephemeral = X25519KeyPair(rng(32))
    shared, ciphertext = encapsulate_deterministic(bundle.kem_prekey.public_key, rng(32))
    return _initiate_with(alice, bundle, plaintext, ephemeral, shared, ciphertext, rng)[0]


def _session_pair(label: str) -> tuple[Session, Session, list[bytes]]:
    """Alice's and Bob's sessions after one handshake, and Alice's next messages (unread)."""
    alice, bob = _identities()
    rng = _rng(label)
    store, _ = PrekeyStore.create(bob, now=NOW, rng=rng, batch=1)
    started = _seeded_initiate(alice, store.bundle(), b"hello", rng)
    responded = store.respond(started.message, rng=rng)
    messages = [started.session.encrypt(b"message %d" % i) for i in range(3)]
    return started.session, responded.session, messages


@dataclass
class _FirstContactWorld:
    """Spec §9: Bob's stores, a first contact from Alice to them, and the sessions it made."""

    keys: FirstContactKeys
    store: PrekeyStore
    bundle: FirstContactBundle
    envelope: bytes
    inner: bytes
    content: bytes
    alice: Session
    bob: Session
    session_envelopes: list[bytes]


def _first_contact_world(label: str) -> _FirstContactWorld:
    """A first contact with every draw seeded (ML-KEM included), so that every process builds
    the same bytes; then Bob answers twice through session envelopes."""
    alice, bob = _identities()
    rng = _rng(label)
    store, _ = PrekeyStore.create(bob, now=NOW, rng=rng, batch=1)
    keys = FirstContactKeys(bob)
    keys.maintain(now=NOW, rng=rng)
    base = store.bundle()
    epoch = keys.epochs()[0]
    bundle = FirstContactBundle(
        base.identity, base.signed_prekey, base.one_time_prekey, keys.public(epoch)
    )
    mailbox = ConversationMailbox.generate(rng)
    content = Content(b"first", mailbox.grant(1)).to_bytes()
    shared, ciphertext = encapsulate_deterministic(bundle.kem_prekey.public_key, rng(32))
    sealed, inner = _seal_first_contact_with(
        alice, bundle, rng(32), content, 3600, X25519KeyPair(rng(32)), shared, ciphertext, rng
    )
    opened = open_first_contact(sealed.envelope, epoch=epoch, keys=keys, prekeys=store, rng=rng)
    answers = [
        seal_session(
            opened.session, mailbox.mailbox_id, Content(b"answer %d" % i).to_bytes(), ttl=3600
        )
        for i in range(2)
    ]
    return _FirstContactWorld(
        keys,
        store,
        bundle,
        sealed.envelope,
        inner,
        content,
        sealed.session,
        opened.session,
        answers,
    )


_RELAY_ID = bytes(range(32))


@dataclass
class _RelayWorld:
    """Spec §10: a relay with Bob's routing-ID mailbox and hosted bundle, and valid requests."""

    relay: Relay
    owner_requests: list[bytes]
    bundle_request: bytes
    bundle_response: bytes
    deposit: bytes
    fetch_response: bytes


def _relay_world(label: str) -> _RelayWorld:
    rng = _rng(label)
    relay = Relay(MemoryStore(), _RELAY_ID)
    relay.maintain(now=NOW, rng=rng)
    first = _first_contact_world(label)
    secret = Scalar.random(rng)
    address = Element.base_mul(secret).to_bytes()

    def owner(op: int, body: Message) -> bytes:
        return owner_request(secret, relay_id=_RELAY_ID, op=op, body=body, time=NOW, rng=rng)

    opened = owner(OPEN_OP, OpenBody(KIND_FIRST_CONTACT, MIN_EFFORT))
    relay.owner(opened, now=NOW)
    hosted = first.bundle
    published = owner(PUBLISH_OP, PublishBody(
        FirstContactBundle(hosted.identity, hosted.signed_prekey, None, hosted.first_contact_key),
        () if hosted.one_time_prekey is None else (hosted.one_time_prekey,),
    ))  # fmt: skip
    relay.owner(published, now=NOW)
    bundle_request = BundleRequest(address).to_bytes()
    bundle_response = relay.bundle(bundle_request, now=NOW)
    seed = BundleResponse.from_bytes(bundle_response).seed
    envelope = first.envelope[:1] + address + first.envelope[33:]
    nonce = solve_pow(seed, address, envelope_id(envelope), MIN_EFFORT, rng=rng)
    deposit = Deposit(envelope, seed, nonce).to_bytes()
    relay.deposit(deposit, now=NOW)
    fetch = owner(FETCH_OP, FetchBody(10))
    fetch_response = relay.owner(fetch, now=NOW)
    return _RelayWorld(
        relay, [opened, published, fetch], bundle_request, bundle_response, deposit,
        fetch_response,
    )  # fmt: skip


def _evaluation() -> tuple[Evaluator, bytes, Callable[[], tuple[object, bytes]]]:
    rng = _rng("evaluator")
    evaluator = Evaluator(OprfKeyPair.derive(b"\x01" * 32, 7), now=NOW)
    number = normalize_phone_number("+44 20 7946 0958")

    def pending_and_request() -> tuple[object, bytes]:
        pending = request_evaluation([number], evaluator.current_key(), now=NOW, rng=rng)
        return pending, pending.request.to_bytes()

    return evaluator, evaluator.current_key().to_bytes(), pending_and_request


@cache
def _registration_world() -> tuple[bytes, bytes, bytes]:
    """A token, a registration of it by Bob (at NOW) and a later unregistration (NOW + 1)."""
    _alice, bob = _identities()
    rng = _rng("directory")
    token = rng(32)
    mailbox = MailboxKeyPair.generate(rng)
    registration = Registration.sign(bob, token, mailbox.public_key, now=NOW).to_bytes()
    unregistration = Unregistration.sign(bob, token, now=NOW + 1).to_bytes()
    return token, registration, unregistration


def _directory_with_bob() -> Directory:
    directory = Directory()
    _token, registration, _ = _registration_world()
    directory.register(b"bob", registration, now=NOW)
    return directory


# --- decoders ----------------------------------------------------------------------------------


def _toy_seeds() -> tuple[bytes, bytes]:
    header = ToyHeader(bytes(range(32)), 7, 3)
    bundle = ToyBundle(
        identity=bytes(32),
        name="bob ☃",
        header=header,
        prekeys=(bytes(32), bytes(range(40))),
        last_resort=True,
        headers=(header, ToyHeader(bytes(32), 0, 2**32 - 1)),
        signature=bytes(64),
    )
    return header.to_bytes(), bundle.to_bytes()


def _decoder_seeds() -> dict[str, list[bytes]]:
    """Valid encodings for every decoder, made by the library."""
    alice, bob = _identities()
    store, upload = _store_and_upload()
    bundle = store.bundle()
    alice_session, bob_session, messages = _session_pair("decoder-seeds")
    # One round trip more, so that Bob's state has a previous receiving chain.
    alice_session.decrypt(bob_session.encrypt(b"reply"))
    bob_session.decrypt(alice_session.encrypt(b"next chain"))
    state = bob_session.snapshot().state
    old_states = [p.read_bytes() for p in sorted(CORPUS.glob("*session-state-v0*"))]
    old_chains = [
        c.to_bytes() for s in old_states for c in SessionStateV0.from_bytes(s).previous_chains
    ]
    evaluator, published, pending_and_request = _evaluation()
    _pending, request = pending_and_request()
    response = evaluator.evaluate(b"seeds", request, now=NOW, rng=_rng("seeds"))
    _token, registration, unregistration = _registration_world()
    lookup = lookup_request(_token, 0)
    answer = _directory_with_bob().lookup(lookup.to_bytes(), now=NOW)
    started = _seeded_initiate(alice, bundle, b"hi", _rng("decoder-initial"))
    header, toy = _toy_seeds()
    scannable = SafetyNumber.of(alice.public, bob.public).scannable()
    chains = state.previous_chains
    first = _first_contact_world("decoder-first-contact")
    grant = Content.from_bytes(first.content).grant
    assert grant is not None
    relay = _relay_world("decoder-relay")
    sms = _sms_world("decoder-sms")
    owners = [OwnerRequest.from_bytes(r) for r in relay.owner_requests]
    fetched = FetchResponse.from_bytes(relay.fetch_response)
    return {
        "codec.decode": [header, toy, registration, b"\x80", b"\xa0", b"\x01"],
        "toy.header": [header],
        "toy.bundle": [toy],
        "keys.identity": [alice.public.to_bytes(), bob.public.to_bytes()],
        "keys.signed_prekey": [bundle.signed_prekey.to_bytes()],
        "keys.one_time_prekey": [bundle.one_time_prekey.to_bytes()]
        if bundle.one_time_prekey
        else [],
        "keys.kem_prekey": [bundle.kem_prekey.to_bytes()],
        "keys.bundle": [bundle.to_bytes(), _last_resort_bundle(store).to_bytes()],
        "keys.upload": [upload],
        "safety.scannable": [scannable],
        "handshake.initial_message": [started.message],
        "oprf.proof": [EvaluationResponse.from_bytes(response).proof],
        "evaluator.published_key": [published],
        "evaluator.request": [request],
        "evaluator.response": [response],
        "directory.registration": [registration],
        "directory.unregistration": [unregistration],
        "directory.parameters": [DirectoryParameters(0).to_bytes()],
        "directory.lookup_request": [lookup.to_bytes()],
        "directory.lookup_response": [answer],
        "ratchet.message": messages,
        "ratchet.limits": [Limits().to_bytes()],
        "ratchet.previous_chain": [c.to_bytes() for c in chains],
        "ratchet.previous_chain_v0": old_chains,
        "ratchet.session_state": [state.to_bytes()],
        "ratchet.session_state_v0": old_states,
        "ratchet.load_state": [state.to_bytes(), *old_states],
        "envelope.envelope": [first.envelope, *first.session_envelopes],
        "envelope.first_contact_key": [first.bundle.first_contact_key.to_bytes()],
        "envelope.first_contact_bundle": [first.bundle.to_bytes()],
        "envelope.first_contact_inner": [first.inner],
        "envelope.content": [first.content, Content().to_bytes()],
        "envelope.mailbox_grant": [grant.to_bytes()],
        "relay.owner_request": relay.owner_requests,
        "relay.open_body": [owners[0].body],
        "relay.publish_body": [owners[1].body],
        "relay.fetch_body": [owners[2].body],
        "relay.ack_body": [AckBody((bytes(16),)).to_bytes()],
        "relay.delete_body": [DeleteBody().to_bytes()],
        "relay.done": [Done().to_bytes()],
        "relay.stored_envelope": [e.to_bytes() for e in fetched.envelopes],
        "relay.fetch_response": [relay.fetch_response],
        "relay.ack_response": [AckResponse(1).to_bytes()],
        "relay.bundle_request": [relay.bundle_request],
        "relay.bundle_response": [relay.bundle_response],
        "relay.deposit_request": [relay.deposit],
        "relay.deposit_response": [DepositResponse(bytes(16)).to_bytes()],
        "sms.binary_segment": list(split_binary(sms.session_form, 9)),
        "sms.compact": [sms.session_form, sms.first_contact],
        "sms.text": [encode_text(sms.session_form).encode("latin-1")],
    }


def _client_state_seeds(session: SessionState) -> dict[str, list[bytes]]:
    """Spec §12.7: a registered client's exported state, with a conversation built around
    ``session`` (a first contact through the client would draw ML-KEM randomness the targets
    cannot seed, §3.6)."""
    rng = _rng("decoder-client")
    evaluator = Evaluator(OprfKeyPair.generate(1, rng), now=NOW)
    directory, relay = Directory(), Relay(MemoryStore(), bytes(32))
    relay.maintain(now=NOW, rng=rng)
    client = Client(
        IdentityKeyPair.generate(rng), normalize_phone_number("+442079460958"),
        evaluator_key=evaluator.current_key(), relay_id=bytes(32), rng=rng,
    )  # fmt: skip
    exchange = client.register(now=NOW)
    while exchange.request is not None:
        request = exchange.request
        if request.role == "evaluator":
            exchange.respond(evaluator.evaluate(b"c", request.body, now=NOW, rng=rng))
        elif request.role == "directory":
            directory.register(b"c", request.body, now=NOW)
            exchange.respond(b"")
        else:
            exchange.respond(relay.owner(request.body, now=NOW))
    state = client.snapshot().state
    registration = state.registration
    assert registration is not None
    prekeys = registration.prekeys
    mailbox = ConversationMailbox.generate(rng)
    retired = RetiredMailbox(ConversationMailbox.generate(rng).private_bytes(), NOW, False)
    identity = IdentityKeyPair.generate(rng).public
    peer = PeerState(identity, session, mailbox.private_bytes(), 2, NOW, True, mailbox.grant(1),
                     (retired,))  # fmt: skip
    contact = ContactState("+447700900123", identity, 1, bytes(range(64)), mailbox.mailbox_id)
    received = ReceivedState(identity, b"hello", True)
    retiring = RetiringPrekeys(1, 1, NOW)
    full = ClientState(
        state.identity, state.phone, state.evaluator_key, state.relay_id, registration,
        (contact,), (peer,), (received,), (bytes(16),), (bytes(range(16)),),
    )  # fmt: skip
    return {
        "client.state": [full.to_bytes(), state.to_bytes()],
        "client.registration": [registration.to_bytes()],
        "client.epoch": [e.to_bytes() for e in registration.epochs],
        "client.first_contact_key": [k.to_bytes() for k in registration.first_contact_keys],
        "client.contact": [contact.to_bytes()],
        "client.peer": [peer.to_bytes()],
        "client.retired_mailbox": [retired.to_bytes()],
        "client.received": [received.to_bytes()],
        "handshake.prekey_store": [prekeys.to_bytes()],
        "handshake.signed_prekey_private": [k.to_bytes() for k in prekeys.signed],
        "handshake.kem_prekey_private": [k.to_bytes() for k in prekeys.kem],
        "handshake.one_time_prekey_private": [k.to_bytes() for k in prekeys.one_time[:2]],
        "handshake.retiring_prekeys": [retiring.to_bytes()],
    }


@cache
def _all_decoder_seeds() -> dict[str, list[bytes]]:
    seeds = _decoder_seeds()
    state = SessionState.from_bytes(seeds["ratchet.session_state"][0])
    return seeds | _client_state_seeds(state)


def _decoder(name: str, parse: Run) -> tuple[str, Target]:
    def make() -> tuple[Run, list[bytes]]:
        return parse, _all_decoder_seeds()[name]

    owner = getattr(parse, "__self__", None)
    where = f"{owner.__module__}.{owner.__qualname__}" if isinstance(owner, type) else None
    doc = f"{where}.from_bytes" if where else f"{parse.__module__}.{parse.__qualname__}"
    return name, Target(name, "decoder", doc, make)


def _decode_text_bytes(data: bytes) -> object:
    """Spec §11.3: a received text, as the characters of ``data`` read one byte each."""
    return decode_text(data.decode("latin-1"))


def _decoders() -> Iterable[tuple[str, Target]]:
    yield _decoder("codec.decode", decode)
    yield _decoder("toy.header", ToyHeader.from_bytes)
    yield _decoder("toy.bundle", ToyBundle.from_bytes)
    # Spec §4 and §5: keys, bundles, uploads, safety numbers.
    yield _decoder("keys.identity", IdentityKey.from_bytes)
    yield _decoder("keys.signed_prekey", SignedPrekey.from_bytes)
    yield _decoder("keys.one_time_prekey", OneTimePrekey.from_bytes)
    yield _decoder("keys.kem_prekey", KemPrekey.from_bytes)
    yield _decoder("keys.bundle", PrekeyBundle.from_bytes)
    yield _decoder("keys.upload", PrekeyUpload.from_bytes)
    yield _decoder("safety.scannable", ScannableSafetyNumber.from_bytes)
    # Spec §6: the handshake's initial message.
    yield _decoder("handshake.initial_message", InitialMessage.from_bytes)
    # Spec §8.1: the RFC 9497 DLEQ proof (64 raw bytes).
    yield _decoder("oprf.proof", Proof.from_bytes)
    # Spec §8.5, §8.6: the evaluator's and the directory's wire structures.
    yield _decoder("evaluator.published_key", PublishedKey.from_bytes)
    yield _decoder("evaluator.request", EvaluationRequest.from_bytes)
    yield _decoder("evaluator.response", EvaluationResponse.from_bytes)
    yield _decoder("directory.registration", Registration.from_bytes)
    yield _decoder("directory.unregistration", Unregistration.from_bytes)
    yield _decoder("directory.parameters", DirectoryParameters.from_bytes)
    yield _decoder("directory.lookup_request", LookupRequest.from_bytes)
    yield _decoder("directory.lookup_response", LookupResponse.from_bytes)
    # Spec §7: ratchet messages and exported session states (any version, with migration).
    yield _decoder("ratchet.message", parse_message)
    yield _decoder("ratchet.limits", Limits.from_bytes)
    yield _decoder("ratchet.previous_chain", PreviousChain.from_bytes)
    yield _decoder("ratchet.previous_chain_v0", PreviousChainV0.from_bytes)
    yield _decoder("ratchet.session_state", SessionState.from_bytes)
    yield _decoder("ratchet.session_state_v0", SessionStateV0.from_bytes)
    yield _decoder("ratchet.load_state", load_state)
    # Spec §9: envelopes and what their bodies carry.
    yield _decoder("envelope.envelope", Envelope.from_bytes)
    yield _decoder("envelope.first_contact_key", FirstContactKey.from_bytes)
    yield _decoder("envelope.first_contact_bundle", FirstContactBundle.from_bytes)
    yield _decoder("envelope.first_contact_inner", FirstContactInner.from_bytes)
    yield _decoder("envelope.content", Content.from_bytes)
    yield _decoder("envelope.mailbox_grant", MailboxGrant.from_bytes)
    # Spec §10: the relay's requests and responses.
    yield _decoder("relay.owner_request", OwnerRequest.from_bytes)
    yield _decoder("relay.open_body", OpenBody.from_bytes)
    yield _decoder("relay.publish_body", PublishBody.from_bytes)
    yield _decoder("relay.fetch_body", FetchBody.from_bytes)
    yield _decoder("relay.ack_body", AckBody.from_bytes)
    yield _decoder("relay.delete_body", DeleteBody.from_bytes)
    yield _decoder("relay.done", Done.from_bytes)
    yield _decoder("relay.stored_envelope", StoredEnvelope.from_bytes)
    yield _decoder("relay.fetch_response", FetchResponse.from_bytes)
    yield _decoder("relay.ack_response", AckResponse.from_bytes)
    yield _decoder("relay.bundle_request", BundleRequest.from_bytes)
    yield _decoder("relay.bundle_response", BundleResponse.from_bytes)
    yield _decoder("relay.deposit_request", Deposit.from_bytes)
    yield _decoder("relay.deposit_response", DepositResponse.from_bytes)
    # Spec §11: SMS segments (binary user data, Blindpost text) and the compact forms.
    yield _decoder("sms.binary_segment", parse_binary_segment)
    yield _decoder("sms.compact", decode_compact)
    yield _decoder("sms.text", _decode_text_bytes)
    # Spec §12.7: a client's exported state (the plaintext of its blob) and its parts.
    yield _decoder("client.state", ClientState.from_bytes)
    yield _decoder("client.registration", RegistrationState.from_bytes)
    yield _decoder("client.epoch", EpochState.from_bytes)
    yield _decoder("client.first_contact_key", FirstContactKeyPrivate.from_bytes)
    yield _decoder("client.contact", ContactState.from_bytes)
    yield _decoder("client.peer", PeerState.from_bytes)
    yield _decoder("client.retired_mailbox", RetiredMailbox.from_bytes)
    yield _decoder("client.received", ReceivedState.from_bytes)
    yield _decoder("handshake.prekey_store", PrekeyStoreState.from_bytes)
    yield _decoder("handshake.signed_prekey_private", SignedPrekeyPrivate.from_bytes)
    yield _decoder("handshake.kem_prekey_private", KemPrekeyPrivate.from_bytes)
    yield _decoder("handshake.one_time_prekey_private", OneTimePrekeyPrivate.from_bytes)
    yield _decoder("handshake.retiring_prekeys", RetiringPrekeys.from_bytes)


# --- entry points ------------------------------------------------------------------------------


def _evaluate() -> tuple[Run, list[bytes]]:
    """Spec §8.5.4: the evaluator answers a request from one credential."""
    evaluator, _published, pending_and_request = _evaluation()
    rng = _rng("evaluate")
    seeds = [pending_and_request()[1] for _ in range(2)]
    return lambda data: evaluator.evaluate(b"fuzz", data, now=NOW, rng=rng), seeds


def _finish() -> tuple[Run, list[bytes]]:
    """Spec §8.7: the client checks the evaluator's response against its pinned key."""
    evaluator, _published, pending_and_request = _evaluation()
    pending, request = pending_and_request()
    response = evaluator.evaluate(b"client", request, now=NOW, rng=_rng("finish"))
    return pending.finish, [response]  # type: ignore[attr-defined]


def _register() -> tuple[Run, list[bytes]]:
    """Spec §8.6.1: the directory stores a registration from one credential."""
    directory = Directory()
    _token, registration, _ = _registration_world()
    return lambda data: directory.register(b"fuzz", data, now=NOW), [registration]


def _unregister() -> tuple[Run, list[bytes]]:
    """Spec §8.6.2: the directory removes a registration on proof of ownership."""
    directory = _directory_with_bob()
    _token, _, unregistration = _registration_world()
    return lambda data: directory.unregister(data, now=NOW + 1), [unregistration]


def _lookup() -> tuple[Run, list[bytes]]:
    """Spec §8.6.3: the directory answers a lookup."""
    directory = _directory_with_bob()
    token, _, _ = _registration_world()
    return lambda data: directory.lookup(data, now=NOW), [lookup_request(token, 0).to_bytes()]


def _read_lookup() -> tuple[Run, list[bytes]]:
    """Spec §8.6.3: the client checks a lookup response against its request."""
    token, _, _ = _registration_world()
    request = lookup_request(token, 0)
    answer = _directory_with_bob().lookup(request.to_bytes(), now=NOW)
    return lambda data: read_lookup_response(request, data), [answer]


def _bundle_verified() -> tuple[Run, list[bytes]]:
    """Spec §4.5: a bundle as a client receives it, decoded and verified."""
    store, _ = _store_and_upload()
    return PrekeyBundle.from_bytes_verified, [
        store.bundle().to_bytes(),
        _last_resort_bundle(store).to_bytes(),
    ]


def _upload_verified() -> tuple[Run, list[bytes]]:
    """Spec §4.6: an upload as a server receives it, decoded and verified."""
    _store, upload = _store_and_upload()
    return PrekeyUpload.from_bytes_verified, [upload]


def _initiate() -> tuple[Run, list[bytes]]:
    """Spec §6.3: the initiator starts a session from a bundle it received."""
    alice, _bob = _identities()
    store, _ = _store_and_upload()
    rng = _rng("initiate")

    def run(data: bytes) -> object:
        return initiate(alice, PrekeyBundle.from_bytes(data), b"hi", rng=rng)

    return run, [store.bundle().to_bytes(), _last_resort_bundle(store).to_bytes()]


def _respond() -> tuple[Run, list[bytes]]:
    """Spec §6.7: the responder accepts an initial message (one-time and last-resort)."""
    alice, bob = _identities()
    rng = _rng("respond")
    store, _ = PrekeyStore.create(bob, now=NOW, rng=rng, batch=1)
    seeds = [
        _seeded_initiate(alice, store.bundle(), b"one-time", rng).message,
        _seeded_initiate(alice, _last_resort_bundle(store), b"last resort", rng).message,
    ]
    return lambda data: store.respond(data, rng=rng), seeds


def _decrypt() -> tuple[Run, list[bytes]]:
    """Spec §7.3.3: a session decrypts a message from its peer (the same state every time)."""
    _alice_session, bob_session, messages = _session_pair("decrypt")
    snapshot = bob_session.snapshot()
    rng = _rng("decrypt")

    # Each input meets the session as it was before the first message: a valid message and
    # its mutations reach header and body decryption, skipped keys and the DH step, instead of
    # being replays after their first run.
    def run(data: bytes) -> object:
        return Session.restore(snapshot, rng=rng).decrypt(data)

    return run, messages


def _index_decrypt() -> tuple[Run, list[bytes]]:
    """Spec §7.5: the session index finds the session of a message and decrypts it."""
    _alice_session, bob_session, messages = _session_pair("index")
    snapshot = bob_session.snapshot()
    rng = _rng("index")
    other = _session_pair("index-other")[1].snapshot()  # a second session in the index

    def run(data: bytes) -> object:
        index = SessionIndex()
        index.add("alice", Session.restore(snapshot, rng=rng))
        index.add("carol", Session.restore(other, rng=rng))
        return index.decrypt(data)

    return run, messages


def _restore() -> tuple[Run, list[bytes]]:
    """Spec §7.8.2: an exported state read back from storage (decrypted, then loaded)."""
    _alice_session, bob_session, _ = _session_pair("restore")
    key = bytes(range(32))
    blob = bob_session.snapshot().to_bytes(key, _rng("restore-blob"))
    return lambda data: SessionSnapshot.from_bytes(data, key), [blob]


def _compare_scanned() -> tuple[Run, list[bytes]]:
    """Spec §5.3: a scanned safety-number code compared with ours."""
    alice, bob = _identities()
    mine = SafetyNumber.of(alice.public, bob.public)
    theirs = SafetyNumber.of(bob.public, alice.public)
    return lambda data: compare_scanned(mine, data), [theirs.scannable()]


def _hpke_open() -> tuple[Run, list[bytes]]:
    """Spec §3.8: HPKE base-mode open of ``enc (32 bytes) || ciphertext``."""
    suite = Suite(aead=AeadId.CHACHA20_POLY1305)
    sk, pk = derive_key_pair(b"fuzz hpke recipient key material")
    enc, ct = seal_base(suite, pk, b"info", b"aad", b"plaintext", rng=_rng("hpke"))

    def run(data: bytes) -> object:
        return open_base(suite, data[:32], sk, b"info", b"aad", data[32:])

    return run, [enc + ct]


def _open_first_contact() -> tuple[Run, list[bytes]]:
    """Spec §9.4.3: the owner of a routing ID opens a first contact (its stores persist)."""
    world = _first_contact_world("open-first-contact")
    rng = _rng("open-first-contact-entry")
    epoch = world.keys.epochs()[0]

    def run(data: bytes) -> object:
        return open_first_contact(data, epoch=epoch, keys=world.keys, prekeys=world.store, rng=rng)

    return run, [world.envelope]


def _open_session() -> tuple[Run, list[bytes]]:
    """Spec §9.5: a session envelope opened by its recipient (the same state every time)."""
    world = _first_contact_world("open-session")
    snapshot = world.alice.snapshot()
    rng = _rng("open-session-entry")

    def run(data: bytes) -> object:
        return open_session(data, Session.restore(snapshot, rng=rng))

    return run, world.session_envelopes


@dataclass
class _SmsWorld:
    """Spec §11: a session form and an SMS first contact to Bob, made with seeded draws."""

    first: _FirstContactWorld
    session_form: bytes
    sms_session: bytes
    first_contact: bytes


def _sms_world(label: str) -> _SmsWorld:
    first = _first_contact_world(label)
    rng = _rng(label + "/sms")
    alice, _bob = _identities()
    bundle = first.bundle
    shared, ciphertext = encapsulate_deterministic(bundle.kem_prekey.public_key, rng(32))
    sealed = _seal_sms_first_contact_with(
        alice, bundle, Content(b"sms").to_bytes(), Profile.BINARY, X25519KeyPair(rng(32)),
        shared, ciphertext, rng,
    )  # fmt: skip
    return _SmsWorld(
        first,
        session_form_of_envelope(first.session_envelopes[0]),
        seal_sms_session(first.bob, Content(b"by sms").to_bytes(), profile=Profile.BINARY),
        sealed.data,
    )


def _sms_reassemble() -> tuple[Run, list[bytes]]:
    """Spec §11.6: one reassembler takes binary segments from one sender (its state persists)."""
    world = _sms_world("sms-reassemble")
    reassembler = Reassembler()
    seeds = [*split_binary(world.session_form, 7), *split_binary(world.first_contact, 8)]
    return lambda data: reassembler.receive(b"+15550100", data, now=NOW), seeds


def _sms_open_session() -> tuple[Run, list[bytes]]:
    """Spec §11.4: a session form that arrived by SMS, opened (the same state every time)."""
    world = _sms_world("sms-open-session")
    snapshot = world.first.alice.snapshot()
    rng = _rng("sms-open-session-entry")

    def run(data: bytes) -> object:
        session = Session.restore(snapshot, rng=rng)
        return open_sms_session(data, session, profile=Profile.BINARY)

    return run, [world.session_form, world.sms_session]


def _sms_open_first_contact() -> tuple[Run, list[bytes]]:
    """Spec §11.5: an SMS first contact opened by its recipient (its stores persist)."""
    world = _sms_world("sms-open-first-contact")
    rng = _rng("sms-open-first-contact-entry")
    keys, store = world.first.keys, world.first.store

    def run(data: bytes) -> object:
        return open_sms_first_contact(data, keys=keys, prekeys=store, profile=Profile.BINARY,
                                      rng=rng)  # fmt: skip

    return run, [world.first_contact]


def _relay_owner() -> tuple[Run, list[bytes]]:
    """Spec §10.2–§10.3: the relay answers an owner operation (its store persists)."""
    world = _relay_world("relay-owner")
    return lambda data: world.relay.owner(data, now=NOW), world.owner_requests


def _relay_bundle() -> tuple[Run, list[bytes]]:
    """Spec §10.3: the relay hands out a hosted bundle to anyone."""
    world = _relay_world("relay-bundle")
    return lambda data: world.relay.bundle(data, now=NOW), [world.bundle_request]


def _relay_deposit() -> tuple[Run, list[bytes]]:
    """Spec §10.4–§10.6: the relay takes a deposit from anyone."""
    world = _relay_world("relay-deposit")
    return lambda data: world.relay.deposit(data, now=NOW), [world.deposit]


def _entries() -> Iterable[tuple[str, Target]]:
    table: list[tuple[str, Callable[[], tuple[Run, list[bytes]]]]] = [
        ("evaluator.evaluate", _evaluate),
        ("blinding.finish", _finish),
        ("directory.register", _register),
        ("directory.unregister", _unregister),
        ("directory.lookup", _lookup),
        ("directory.read_lookup_response", _read_lookup),
        ("keys.bundle_verified", _bundle_verified),
        ("keys.upload_verified", _upload_verified),
        ("handshake.initiate", _initiate),
        ("handshake.respond", _respond),
        ("ratchet.decrypt", _decrypt),
        ("ratchet.index_decrypt", _index_decrypt),
        ("ratchet.restore", _restore),
        ("safety.compare_scanned", _compare_scanned),
        ("hpke.open_base", _hpke_open),
        ("envelope.open_first_contact", _open_first_contact),
        ("envelope.open_session", _open_session),
        ("relay.owner", _relay_owner),
        ("relay.bundle", _relay_bundle),
        ("relay.deposit", _relay_deposit),
        ("sms.reassemble", _sms_reassemble),
        ("sms.open_session", _sms_open_session),
        ("sms.open_first_contact", _sms_open_first_contact),
    ]
    for name, make in table:
        yield name, Target(name, "entry", (make.__doc__ or name).strip(), make)


def _all_targets() -> dict[str, Target]:
    pairs = [*_decoders(), *_entries()]
    names = [name for name, _target in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:  # a repeated name would silently hide a target
        raise AssertionError(f"target names used twice: {repeated}")
    return dict(pairs)


#: Every target by its stable name: decoders first, then entry points.
TARGETS: dict[str, Target] = _all_targets()


# --- inputs ------------------------------------------------------------------------------------


def corpus_inputs() -> list[bytes]:
    """Every file of the committed corpus, in name order."""
    return [p.read_bytes() for p in sorted(CORPUS.iterdir()) if p.is_file()]


def mutations(seeds: list[bytes], count: int, rng: random.Random) -> list[bytes]:
    """``count`` hostile inputs: bit flips, truncations, insertions, deletions and splices of
    ``seeds``, and random byte strings (one in eight)."""
    out: list[bytes] = []
    for _ in range(count):
        if not seeds or rng.random() < 0.125:
            out.append(rng.randbytes(rng.randrange(0, 300)))
            continue
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(5)
            if op == 0 and data:
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            elif op == 1 and data:
                del data[rng.randrange(len(data)) :]
            elif op == 2:
                i = rng.randrange(len(data) + 1)
                data[i:i] = rng.randbytes(rng.randint(1, 9))
            elif op == 3 and data:
                i = rng.randrange(len(data))
                del data[i : i + rng.randint(1, 9)]
            else:
                other = rng.choice(seeds)
                i = rng.randrange(len(data) + 1)
                data[i:] = other[rng.randrange(len(other) + 1) :]
        out.append(bytes(data))
    return out
