"""Spec vectors.md §10, suite ``envelope``: sealed envelopes of spec §9.

Parameters
    Every key, address and random draw comes from ``SeededRng.for_suite("envelope", <label>)``
    and is recorded: both identities' private bytes, the recipient's signed prekey, one-time
    prekey and first-contact keys (private bytes, epochs, times), the routing ID, the ML-KEM
    ``m`` of the sender's encapsulation, and each party's ``rng`` draws in order.

Kinds
    ``padding`` (valid) — ``padded_size(length)`` is ``padded``.
    ``unpad`` — ``unpad(padded)`` is ``unpadded``, or fails with ``error``.
    ``envelope`` — decoding ``envelope`` gives ``address``, ``ttl``, ``body_size`` and
        ``envelope_id``, or fails with ``error``.
    ``first-contact`` (valid) — rebuild the recipient's keys, check ``first_contact_key`` and
        ``bundle`` byte for byte; seal ``content`` with ``Encaps_internal(PQPK, m)`` and the
        recorded ``sender_rng`` → ``inner`` and ``envelope``; open it at ``epoch`` with
        ``recipient_rng`` → ``content`` and the sender's identity ``peer``.
    ``open-first-contact`` — the recipient (its keys as in a ``first-contact`` case) opens each
        of ``envelopes`` in order at the entry's ``epoch``; each entry has its own
        ``result``/``error`` (the case's are the last entry's) and ``recipient_rng``. A failure
        MUST leave the recipient's stores unchanged.
    ``conversation`` (valid) — after the first contact of the case (as in ``first-contact``),
        ``messages`` go back and forth: ``sender`` seals ``content`` to ``address`` with ``ttl``
        → ``envelope``; the other party opens it with ``receiver_rng`` → ``content``.
    ``open-session`` — after the conversation of the case, ``receiver`` opens ``envelope``
        and fails with ``error``, its session unchanged; then it opens ``then`` (the genuine
        message) successfully.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from .. import hpke
from ..blinding import epoch_of
from ..codec import CborValue, decode, encode
from ..envelope import (
    ENVELOPE_HEADER_SIZE,
    FIRST_CONTACT_PLAINTEXT_SIZE,
    FIRST_CONTACT_SUITE,
    MAX_ENVELOPE_SIZE,
    MAX_TTL,
    Content,
    ConversationMailbox,
    Envelope,
    FirstContactBundle,
    FirstContactKeyPair,
    FirstContactKeys,
    _first_contact_info,
    _frame,
    _seal_first_contact_with,
    envelope_id,
    open_first_contact,
    open_session,
    pad,
    padded_size,
    seal_session,
    unpad,
)
from ..handshake import PrekeyStore
from ..keys import IdentityKeyPair, KemPrekeyPair, OneTimePrekeyPair, SignedPrekeyPair
from ..labels import LABEL_FIRST_CONTACT_PSK
from ..primitives import Element, X25519KeyPair
from ..ratchet import MESSAGE_OVERHEAD, Session
from . import Case, RecordingRng, ReplayRng, SeededRng, expect_error, replay_rng
from ._mlkem import encapsulate_deterministic

SUITE: Final = "envelope"
#: 2026-06-04 00:00 UTC (a Thursday): the start of epoch 2944.
_NOW: Final = 1_780_531_200
_EPOCH: Final = epoch_of(_NOW)
_TTL: Final = 7 * 86_400
_ORDER_8: Final = bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
_PADDING_LENGTHS: Final = (
    1, 2, 100, 255, 256, 257, 272, 273, 300, 500, 1000, 1096, 1500, 2048, 2049, 5000, 10_000,
    65_535, 65_536,
)  # fmt: skip


def _replay(recorded: list[str]) -> ReplayRng:
    return ReplayRng([bytes.fromhex(v) for v in recorded])


def _check(field: str, expected: str, got: bytes) -> None:
    if expected != got.hex():
        raise AssertionError(f"{field}: expected {expected}, got {got.hex()}")


# --- the parties ------------------------------------------------------------------------------


@dataclass
class _Recipient:
    """The owner of the routing ID: its identity and prekeys, as a case records them."""

    identity: IdentityKeyPair
    signed: SignedPrekeyPair
    opk: OneTimePrekeyPair | None
    first_contact: list[FirstContactKeyPair]

    def stores(self) -> tuple[FirstContactKeys, PrekeyStore]:
        # The store's own last-resort KEM prekey plays no part in a first contact (§9.4.3).
        last = KemPrekeyPair.generate(
            self.identity,
            prekey_id=1,
            now=_NOW,
            last_resort=True,
            rng=SeededRng.for_suite(SUITE, "store-last-resort"),
        )
        store = PrekeyStore(
            self.identity, self.signed, last, one_time=[] if self.opk is None else [self.opk]
        )
        return FirstContactKeys(self.identity, self.first_contact), store

    def bundle(self, key: FirstContactKeyPair) -> FirstContactBundle:
        return FirstContactBundle(
            self.identity.public,
            self.signed.public,
            None if self.opk is None else self.opk.public,
            key.public,
        )

    def key(self, epoch: int) -> FirstContactKeyPair:
        return next(k for k in self.first_contact if k.epoch == epoch)

    def record(self) -> dict[str, Any]:
        return {
            "recipient_identity_private": self.identity.private_bytes().hex(),
            "signed_prekey": {
                "private_key": self.signed.private_bytes().hex(),
                "id": self.signed.id,
                "created_at": self.signed.public.created_at,
            },
            "one_time_prekey": None
            if self.opk is None
            else {"private_key": self.opk.private_bytes().hex(), "id": self.opk.id},
            "first_contact_keys": [
                {
                    "epoch": k.epoch,
                    "created_at": k.public.kem_prekey.created_at,
                    "private_key": k.private_bytes().hex(),
                }
                for k in self.first_contact
            ],
        }


def _first_contact_key(identity: IdentityKeyPair, epoch: int, label: str) -> FirstContactKeyPair:
    rng = SeededRng.for_suite(SUITE, label)
    return FirstContactKeyPair.generate(identity, epoch=epoch, now=_NOW, rng=rng)


def _recipient(label: str, *, one_time: bool) -> _Recipient:
    rng = SeededRng.for_suite(SUITE, label)
    identity = IdentityKeyPair.generate(rng)
    signed = SignedPrekeyPair.generate(identity, prekey_id=1, now=_NOW, rng=rng)
    opk = OneTimePrekeyPair.generate(prekey_id=2, rng=rng) if one_time else None
    keys = [_first_contact_key(identity, e, f"{label}/fck-{e}") for e in (_EPOCH, _EPOCH + 1)]
    return _Recipient(identity, signed, opk, keys)


def _recipient_from(case: Case) -> _Recipient:
    h = bytes.fromhex
    identity = IdentityKeyPair.from_private_bytes(h(case["recipient_identity_private"]))
    spk = case["signed_prekey"]
    signed = SignedPrekeyPair.generate(
        identity, prekey_id=spk["id"], now=spk["created_at"], rng=replay_rng(h(spk["private_key"]))
    )
    opk_rec = case["one_time_prekey"]
    opk = (
        None
        if opk_rec is None
        else OneTimePrekeyPair.from_private_bytes(h(opk_rec["private_key"]), opk_rec["id"])
    )
    keys = []
    for rec in case["first_contact_keys"]:
        private = h(rec["private_key"])
        keys.append(
            FirstContactKeyPair.generate(
                identity,
                epoch=rec["epoch"],
                now=rec["created_at"],
                rng=replay_rng(private[:32], private[32:]),
            )
        )
    return _Recipient(identity, signed, opk, keys)


@dataclass
class _FirstContact:
    """Everything a first-contact case records, and the two sessions it leaves."""

    recipient: _Recipient
    sender: IdentityKeyPair
    routing_id: bytes
    bundle: FirstContactBundle
    content: bytes
    m: bytes
    kem_ciphertext: bytes
    kem_shared_secret: bytes
    inner: bytes
    envelope: bytes
    #: Every draw of each party, from the seal on (later DH ratchet steps append to them).
    sender_rng: RecordingRng
    recipient_rng: RecordingRng
    sender_session: Session
    recipient_session: Session
    sender_mailbox: ConversationMailbox


def _run_first_contact(
    recipient: _Recipient,
    sender: IdentityKeyPair,
    routing_id: bytes,
    mailbox: ConversationMailbox,
    m: bytes,
    rng: Callable[[int], bytes],
    *,
    sender_rng: list[bytes] | None = None,
    recipient_rng: list[bytes] | None = None,
) -> _FirstContact:
    """Seal (deterministic ML-KEM, recorded or replayed draws) and open one first contact."""
    bundle = recipient.bundle(recipient.key(_EPOCH))
    content = Content(b"Hello, this is the first message.", mailbox.grant(1)).to_bytes()
    shared, ciphertext = encapsulate_deterministic(
        bundle.first_contact_key.kem_prekey.public_key, m
    )
    sending = RecordingRng(rng if sender_rng is None else ReplayRng(sender_rng))
    ephemeral = X25519KeyPair.generate(sending)
    sealed, inner = _seal_first_contact_with(
        sender, bundle, routing_id, content, _TTL, ephemeral, shared, ciphertext, sending
    )
    keys, store = recipient.stores()
    receiving = RecordingRng(rng if recipient_rng is None else ReplayRng(recipient_rng))
    opened = open_first_contact(
        sealed.envelope, epoch=_EPOCH, keys=keys, prekeys=store, rng=receiving
    )
    if opened.plaintext != content or opened.peer != sender.public:
        raise AssertionError("content/peer: the opened first contact differs")
    return _FirstContact(
        recipient,
        sender,
        routing_id,
        bundle,
        content,
        m,
        ciphertext,
        shared,
        inner,
        sealed.envelope,
        sending,
        receiving,
        sealed.session,
        opened.session,
        mailbox,
    )


def _new_first_contact(label: str, *, one_time: bool) -> _FirstContact:
    recipient = _recipient(f"{label}/recipient", one_time=one_time)
    rng = SeededRng.for_suite(SUITE, label)
    sender = IdentityKeyPair.generate(rng)
    routing_id = Element.from_uniform_bytes(rng(64)).to_bytes()
    mailbox = ConversationMailbox.generate(rng)
    return _run_first_contact(recipient, sender, routing_id, mailbox, rng(32), rng)


def _first_contact_from(case: Case) -> _FirstContact:
    h = bytes.fromhex
    return _run_first_contact(
        _recipient_from(case),
        IdentityKeyPair.from_private_bytes(h(case["sender_identity_private"])),
        h(case["routing_id"]),
        ConversationMailbox.from_private_bytes(h(case["sender_mailbox_private"])),
        h(case["kem_m"]),
        SeededRng(b"unused: every draw is replayed"),
        sender_rng=[h(v) for v in case["sender_rng"]],
        recipient_rng=[h(v) for v in case["recipient_rng"]],
    )


def _first_contact_record(fc: _FirstContact) -> dict[str, Any]:
    return {
        **fc.recipient.record(),
        "sender_identity_private": fc.sender.private_bytes().hex(),
        "sender_mailbox_private": fc.sender_mailbox.private_bytes().hex(),
        "epoch": _EPOCH,
        "routing_id": fc.routing_id.hex(),
        "ttl": _TTL,
        "kem_m": fc.m.hex(),
        "sender_rng": [v.hex() for v in fc.sender_rng.drawn],
        "recipient_rng": [v.hex() for v in fc.recipient_rng.drawn],
    }


def _first_contact_case(case_id: str, comment: str, fc: _FirstContact, flags: list[str]) -> Case:
    body = fc.envelope[ENVELOPE_HEADER_SIZE:]
    return {
        "id": case_id,
        "comment": comment,
        "flags": flags,
        "result": "valid",
        "error": None,
        "kind": "first-contact",
        **_first_contact_record(fc),
        "first_contact_key": fc.bundle.first_contact_key.to_bytes().hex(),
        "bundle": fc.bundle.to_bytes().hex(),
        "content": fc.content.hex(),
        "kem_ciphertext": fc.kem_ciphertext.hex(),
        "kem_shared_secret": fc.kem_shared_secret.hex(),
        "enc": body[:32].hex(),
        "inner": fc.inner.hex(),
        "envelope": fc.envelope.hex(),
        "peer": fc.sender.public.to_bytes().hex(),
        "cddl": {
            "first_contact_key": "first-contact-key",
            "bundle": "first-contact-bundle",
            "inner": "first-contact-inner",
            "content": "content",
        },
    }


# --- negative first contacts: the test-only mutator -------------------------------------------


def _reseal(fc: _FirstContact, padded_inner: bytes, label: str) -> bytes:
    """Seal an edited inner plaintext exactly as the sender would (same ``CT`` and ``SS``)."""
    key = fc.bundle.first_contact_key
    header = _frame(fc.routing_id, _TTL, b"")
    enc, ciphertext = hpke.seal_psk(
        FIRST_CONTACT_SUITE,
        key.dh_key,
        _first_contact_info(key.epoch, fc.routing_id),
        header + fc.kem_ciphertext,
        padded_inner,
        fc.kem_shared_secret,
        LABEL_FIRST_CONTACT_PSK,
        rng=SeededRng.for_suite(SUITE, label),
    )
    return header + enc + fc.kem_ciphertext + ciphertext


def _edit_inner(fc: _FirstContact, edit: Callable[[dict[Any, CborValue]], None]) -> bytes:
    value = decode(fc.inner)
    assert isinstance(value, dict)
    edit(value)
    return pad(encode(value), FIRST_CONTACT_PLAINTEXT_SIZE)


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1 :]


def _set(key: int, value: CborValue) -> Callable[[dict[Any, CborValue]], None]:
    def edit(inner: dict[Any, CborValue]) -> None:
        inner[key] = value

    return edit


def _flip_payload(inner: dict[Any, CborValue]) -> None:
    payload = inner[5]
    assert isinstance(payload, bytes)
    inner[5] = _flip(payload, len(payload) - 1)


def _open_case(
    case_id: str,
    comment: str,
    fc: _FirstContact,
    entries: list[tuple[bytes, int, str | None]],
) -> Case:
    """An ``open-first-contact`` case: the recipient of ``fc`` opens each entry in order."""
    last_error = entries[-1][2]
    return {
        "id": case_id,
        "comment": comment,
        "flags": ["recipient"],
        "result": "valid" if last_error is None else "invalid",
        "error": last_error,
        "kind": "open-first-contact",
        **fc.recipient.record(),
        "envelopes": [
            {
                "envelope": data.hex(),
                "epoch": epoch,
                "recipient_rng": [v.hex() for v in fc.recipient_rng.drawn]
                if error is None
                else [],
                "result": "valid" if error is None else "invalid",
                "error": error,
            }
            for data, epoch, error in entries
        ],
    }


def _open_cases(fc: _FirstContact, fc_no_opk: _FirstContact) -> list[Case]:
    recipient = fc.recipient
    envelope = fc.envelope
    body_at = ENVELOPE_HEADER_SIZE
    carol = IdentityKeyPair.generate(SeededRng.for_suite(SUITE, "carol"))
    # Sealed to a first-contact key of the right epoch that the recipient does not hold.
    other_key = _first_contact_key(recipient.identity, _EPOCH, "unheld-key")
    stale = _first_contact_key(recipient.identity, _EPOCH - 4, "expired-key")
    rng = SeededRng.for_suite(SUITE, "other-senders")
    mailbox = ConversationMailbox.generate(rng)

    def sealed_to(key: FirstContactKeyPair, label: str) -> bytes:
        bundle = recipient.bundle(key)
        shared, ciphertext = encapsulate_deterministic(
            key.public.kem_prekey.public_key, SeededRng.for_suite(SUITE, label)(32)
        )
        content = Content(b"to another key", mailbox.grant(1)).to_bytes()
        sealed, _inner = _seal_first_contact_with(
            fc.sender,
            bundle,
            fc.routing_id,
            content,
            _TTL,
            X25519KeyPair.generate(rng),
            shared,
            ciphertext,
            rng,
        )
        return sealed.envelope

    moved = _frame(bytes(32 * [7]), _TTL, envelope[body_at:])
    small_order = envelope[:body_at] + _ORDER_8 + envelope[body_at + 32 :]
    session_sized = _frame(fc.routing_id, _TTL, envelope[body_at : body_at + 256])
    over_cap = envelope[:33] + (MAX_TTL + 1).to_bytes(4, "big") + envelope[37:]
    single: list[tuple[str, str, bytes, int, str]] = [
        ("open-wrong-recipient-key", "sealed to another first-contact key of the epoch",
         sealed_to(other_key, "unheld"), _EPOCH, "auth.failed"),
        ("open-expired-epoch", "sealed to the key of epoch e-4, which the recipient deleted",
         sealed_to(stale, "stale"), _EPOCH - 4, "state.unknown_prekey"),
        ("open-tampered-enc", "one bit of the HPKE enc flipped",
         _flip(envelope, body_at + 5), _EPOCH, "auth.failed"),
        ("open-tampered-kem-ciphertext", "one bit of the ML-KEM ciphertext flipped",
         _flip(envelope, body_at + 32 + 500), _EPOCH, "auth.failed"),
        ("open-tampered-ciphertext", "one bit of the HPKE ciphertext flipped",
         _flip(envelope, len(envelope) - 1), _EPOCH, "auth.failed"),
        ("open-moved-address", "the body deposited at another address",
         moved, _EPOCH, "auth.failed"),
        ("open-small-order-enc", "enc replaced by a point of order 8",
         small_order, _EPOCH, "decode.low_order"),
        ("open-session-sized-body", "a 256-byte body at a routing ID",
         session_sized, _EPOCH, "decode.length"),
        ("open-ttl-over-cap", "ttl = MAX_TTL + 1", over_cap, _EPOCH, "decode.range"),
        ("open-inner-identity-mismatch",
         "inner identity replaced by another valid identity, re-sealed: the handshake fails",
         _reseal(fc, _edit_inner(fc, _set(1, carol.public.to_cbor())), "mismatch"),
         _EPOCH, "auth.failed"),
        ("open-tampered-inner-payload",
         "one bit of the inner first ratchet message flipped, re-sealed",
         _reseal(fc, _edit_inner(fc, _flip_payload), "payload"), _EPOCH, "auth.failed"),
        ("open-bad-padding", "inner padded with a non-zero byte at its end, re-sealed",
         _reseal(fc, _edit_inner(fc, lambda _: None)[:-1] + b"\x01", "padding"),
         _EPOCH, "decode.padding"),
        ("open-no-padding-marker", "inner padding without its 0x80 marker, re-sealed",
         _reseal(fc, fc.inner + bytes(FIRST_CONTACT_PLAINTEXT_SIZE - len(fc.inner)), "marker"),
         _EPOCH, "decode.padding"),
        ("open-inner-unknown-field", "inner with an extra map key 9, re-sealed",
         _reseal(fc, _edit_inner(fc, _set(9, 0)), "unknown"), _EPOCH, "decode.unknown_field"),
        ("open-not-held-epoch", "a genuine first contact opened as if from epoch e+5",
         envelope, _EPOCH + 5, "state.unknown_prekey"),
    ]  # fmt: skip
    ok: list[tuple[bytes, int, str | None]] = [(envelope, _EPOCH, None)]
    cases = [_open_case("open-ok", "the envelope of first-contact-one-time", fc, ok)]
    for case_id, comment, data, epoch, error in single:
        cases.append(_open_case(case_id, comment, fc, [(data, epoch, error)]))
    cases.append(
        _open_case(
            "open-replay-one-time",
            "the same first contact twice: its one-time prekey is gone",
            fc,
            [(envelope, _EPOCH, None), (envelope, _EPOCH, "state.unknown_prekey")],
        )
    )
    cases.append(
        _open_case(
            "open-replay-reusable",
            "the same first contact without a one-time prekey twice: the replay cache",
            fc_no_opk,
            [(fc_no_opk.envelope, _EPOCH, None), (fc_no_opk.envelope, _EPOCH, "state.replay")],
        )
    )
    return cases


# --- conversations ----------------------------------------------------------------------------


def _script() -> list[tuple[str, bytes]]:
    """Who sends what after the first contact: the recipient answers with its own grant."""
    reply_mailbox = ConversationMailbox.generate(SeededRng.for_suite(SUITE, "reply-mailbox"))
    return [
        ("recipient", Content(b"Hello back.", reply_mailbox.grant(1)).to_bytes()),
        ("sender", Content(b"How are you?").to_bytes()),
        ("sender", Content(bytes(range(256)) * 4).to_bytes()),
        ("recipient", Content().to_bytes()),
    ]


def _other(who: str) -> str:
    return "sender" if who == "recipient" else "recipient"


class _Conversation:
    """The two sessions of a first contact and the newest grant each side holds."""

    def __init__(self, fc: _FirstContact) -> None:
        self.sessions = {"sender": fc.sender_session, "recipient": fc.recipient_session}
        grant = Content.from_bytes(fc.content).grant
        assert grant is not None
        self.grants = {"recipient": grant}

    def address(self, who: str) -> bytes:
        return self.grants[who].mailbox_id

    def send(self, who: str, content: bytes) -> bytes:
        return seal_session(self.sessions[who], self.address(who), content, ttl=_TTL)

    def receive(self, who: str, envelope: bytes) -> bytes:
        opened = open_session(envelope, self.sessions[who])
        grant = Content.from_bytes(opened).grant
        if grant is not None:  # from now on ``who`` deposits there
            self.grants[who] = grant
        return opened


def _play(fc: _FirstContact, script: list[tuple[str, bytes]]) -> tuple[_Conversation, list[Any]]:
    conversation = _Conversation(fc)
    messages = []
    for who, content in script:
        address = conversation.address(who)
        envelope = conversation.send(who, content)
        if conversation.receive(_other(who), envelope) != content:
            raise AssertionError("content: differs after opening")
        messages.append(
            {
                "sender": who,
                "address": address.hex(),
                "ttl": _TTL,
                "content": content.hex(),
                "envelope": envelope.hex(),
            }
        )
    return conversation, messages


def _conversation_case(fc: _FirstContact) -> Case:
    _conversation, messages = _play(fc, _script())
    return {
        "id": "conversation",
        "comment": "after first-contact-one-time: an answer with a grant, then messages both ways",
        "flags": ["session"],
        "result": "valid",
        "error": None,
        "kind": "conversation",
        **_first_contact_record(fc),
        "messages": messages,
    }


def _fork(session: Session) -> Session:
    """A second copy of a session (test-only: to make a message the real sender did not)."""
    return Session.restore(session.snapshot(), rng=SeededRng.for_suite(SUITE, "fork"))


def _session_cases() -> list[Case]:
    script = _script()
    *before, (last_sender, last_content) = script
    receiver = _other(last_sender)

    def bad_envelopes(conversation: _Conversation) -> list[tuple[str, str, bytes, str]]:
        session = conversation.sessions[last_sender]
        address = conversation.address(last_sender)
        genuine = seal_session(_fork(session), address, last_content, ttl=_TTL)
        size = padded_size(MESSAGE_OVERHEAD + len(last_content) + 1) - MESSAGE_OVERHEAD
        bad_padding = _fork(session).encrypt(pad(last_content, size)[:-1] + b"\x01")
        too_big = _fork(session).encrypt(pad(last_content, 512 - MESSAGE_OVERHEAD))
        at = ENVELOPE_HEADER_SIZE
        return [
            ("session-tampered-body", "one bit of the body's last byte flipped",
             _flip(genuine, len(genuine) - 1), "auth.failed"),
            ("session-tampered-tag", "one bit of the ratchet tag flipped",
             _flip(genuine, at), "auth.failed"),
            ("session-bad-padding", "authentic, but the padding ends in 0x01",
             _frame(address, _TTL, bad_padding), "decode.padding"),
            ("session-inconsistent-size", "authentic, valid padding, but to 512 bytes, not 256",
             _frame(address, _TTL, too_big), "decode.padding"),
            ("session-ttl-over-cap", "ttl = MAX_TTL + 1",
             genuine[:33] + (MAX_TTL + 1).to_bytes(4, "big") + genuine[37:], "decode.range"),
        ]  # fmt: skip

    cases = []
    for index in range(6):
        fc = _new_first_contact("first-contact-one-time", one_time=True)
        conversation, messages = _play(fc, before)
        case_id, comment, bad, error = (
            bad_envelopes(conversation)[index]
            if index < 5
            else (
                "session-replay",
                "the recipient's first answer delivered to the sender again",
                bytes.fromhex(messages[0]["envelope"]),
                "state.replay",
            )
        )
        genuine = conversation.send(last_sender, last_content)
        conversation.receive(receiver, genuine)
        cases.append(
            {
                "id": case_id,
                "comment": comment,
                "flags": ["session"],
                "result": "invalid",
                "error": error,
                "kind": "open-session",
                **_first_contact_record(fc),
                "messages": messages,
                "receiver": receiver,
                "envelope": bad.hex(),
                "then": genuine.hex(),
                "then_content": last_content.hex(),
            }
        )
    return cases


# --- the suite ----------------------------------------------------------------------------------


def _padding_cases() -> list[Case]:
    cases: list[Case] = [
        {
            "id": f"padding-{length}",
            "comment": "padded_size = max(256, PADMÉ(length))",
            "flags": ["padding"],
            "result": "valid",
            "error": None,
            "kind": "padding",
            "length": length,
            "padded": padded_size(length),
        }
        for length in _PADDING_LENGTHS
    ]
    unpads: list[tuple[str, str, bytes, str | None]] = [
        ("unpad-text", "text, marker, zeros", b"hello\x80" + bytes(10), None),
        ("unpad-marker-only", "the empty content", b"\x80", None),
        ("unpad-no-zeros", "the marker is the last byte", b"\x01\x80", None),
        ("unpad-content-ends-in-marker", "content 0x80, then its marker", b"\x80\x80\x00", None),
        ("unpad-empty", "nothing at all", b"", "decode.padding"),
        ("unpad-all-zeros", "zeros only: no marker", bytes(16), "decode.padding"),
        ("unpad-non-zero-padding", "0x01 after the marker", b"hello\x80\x00\x01", "decode.padding"),
        ("unpad-no-marker", "content then zeros, no 0x80", b"hello\x00\x00", "decode.padding"),
    ]
    for case_id, comment, padded, error in unpads:
        cases.append(
            {
                "id": case_id,
                "comment": comment,
                "flags": ["padding"],
                "result": "valid" if error is None else "invalid",
                "error": error,
                "kind": "unpad",
                "padded": padded.hex(),
                "unpadded": None if error else unpad(padded).hex(),
            }
        )
    return cases


def _envelope_cases(first_contact: bytes, session: bytes) -> list[Case]:
    def valid(case_id: str, comment: str, data: bytes) -> Case:
        envelope = Envelope.from_bytes(data)
        return {
            "id": case_id,
            "comment": comment,
            "flags": ["decode"],
            "result": "valid",
            "error": None,
            "kind": "envelope",
            "envelope": data.hex(),
            "address": envelope.address.hex(),
            "ttl": envelope.ttl,
            "body_size": len(envelope.body),
            "envelope_id": envelope_id(data).hex(),
        }

    body = first_contact[ENVELOPE_HEADER_SIZE:]
    address = first_contact[1:33]

    def ttl(data: bytes, value: int) -> bytes:
        return data[:33] + value.to_bytes(4, "big") + data[37:]

    invalid: list[tuple[str, str, bytes, str]] = [
        ("envelope-version-2", "first byte 2", b"\x02" + first_contact[1:], "decode.version"),
        ("envelope-ttl-zero", "ttl 0", ttl(first_contact, 0), "decode.range"),
        ("envelope-ttl-over-cap", "ttl = MAX_TTL + 1", ttl(first_contact, MAX_TTL + 1),
         "decode.range"),
        ("envelope-version-and-ttl", "version 2 and ttl 0: the version is checked first",
         b"\x02" + ttl(first_contact, 0)[1:], "decode.version"),
        ("envelope-body-not-padded", "a body of 2047 bytes", first_contact[:-1], "decode.padding"),
        ("envelope-body-one-over", "a body of 2049 bytes", first_contact + b"\x00",
         "decode.padding"),
        ("envelope-too-short", "292 bytes: the header and a 255-byte body",
         _frame(address, _TTL, body[:255]), "decode.length"),
        ("envelope-too-large", "65 574 bytes, also of version 2: the size is checked first",
         b"\x02" + first_contact[1:37] + bytes(MAX_ENVELOPE_SIZE - 36), "decode.too_large"),
    ]  # fmt: skip
    cases = [
        valid("envelope-first-contact", "first-contact-one-time's envelope", first_contact),
        valid("envelope-session", "a 256-byte session envelope of the conversation", session),
    ]
    for case_id, comment, data, error in invalid:
        cases.append(
            {
                "id": case_id,
                "comment": comment,
                "flags": ["decode"],
                "result": "invalid",
                "error": error,
                "kind": "envelope",
                "envelope": data.hex(),
            }
        )
    return cases


def generate() -> list[Case]:
    """All cases of the suite, deterministically."""
    fc = _new_first_contact("first-contact-one-time", one_time=True)
    fc_no_opk = _new_first_contact("first-contact-no-opk", one_time=False)
    cases = _padding_cases()
    conversation = _conversation_case(
        _new_first_contact("first-contact-one-time", one_time=True)
    )
    cases += _envelope_cases(fc.envelope, bytes.fromhex(conversation["messages"][1]["envelope"]))
    cases.append(
        _first_contact_case(
            "first-contact-one-time",
            "with a one-time X25519 prekey (DH4); the first-contact key's KEM half as PQPK",
            fc,
            ["one-time-prekey"],
        )
    )
    cases.append(
        _first_contact_case(
            "first-contact-no-opk",
            "no one-time prekey left: replay-checked like a last-resort handshake",
            fc_no_opk,
            ["no-one-time-prekey"],
        )
    )
    cases += _open_cases(
        _new_first_contact("first-contact-one-time", one_time=True),
        _new_first_contact("first-contact-no-opk", one_time=False),
    )
    cases.append(conversation)
    cases += _session_cases()
    return cases


# --- verification -------------------------------------------------------------------------------


def _verify_envelope(case: Case) -> None:
    data = bytes.fromhex(case["envelope"])
    if case["result"] == "invalid":
        expect_error(case, lambda: Envelope.from_bytes(data))
        return
    envelope = Envelope.from_bytes(data)
    _check("address", case["address"], envelope.address)
    if envelope.ttl != case["ttl"] or len(envelope.body) != case["body_size"]:
        raise AssertionError("ttl/body_size: differ")
    _check("envelope_id", case["envelope_id"], envelope_id(data))
    _check("envelope", case["envelope"], envelope.to_bytes())


def _verify_first_contact(case: Case) -> None:
    fc = _first_contact_from(case)
    _check("first_contact_key", case["first_contact_key"], fc.bundle.first_contact_key.to_bytes())
    _check("bundle", case["bundle"], fc.bundle.to_bytes())
    _check("content", case["content"], fc.content)
    _check("kem_ciphertext", case["kem_ciphertext"], fc.kem_ciphertext)
    _check("kem_shared_secret", case["kem_shared_secret"], fc.kem_shared_secret)
    _check("inner", case["inner"], fc.inner)
    _check("envelope", case["envelope"], fc.envelope)
    _check("enc", case["enc"], fc.envelope[ENVELOPE_HEADER_SIZE : ENVELOPE_HEADER_SIZE + 32])
    _check("peer", case["peer"], fc.sender.public.to_bytes())


def _verify_open(case: Case) -> None:
    keys, store = _recipient_from(case).stores()
    for i, entry in enumerate(case["envelopes"]):
        data = bytes.fromhex(entry["envelope"])
        rng = _replay(entry["recipient_rng"])

        def run(data: bytes = data, rng: ReplayRng = rng, epoch: int = entry["epoch"]) -> object:
            return open_first_contact(data, epoch=epoch, keys=keys, prekeys=store, rng=rng)

        if entry["result"] == "valid":
            run()
            continue
        before = (keys.epochs(), store.held_ids())
        expect_error(entry, run)
        if (keys.epochs(), store.held_ids()) != before:
            raise AssertionError(f"envelopes[{i}]: a failed open changed the recipient's stores")
    if case["envelopes"][-1]["error"] != case["error"]:
        raise AssertionError("error: the case's error is not its last entry's")


def _replayed(case: Case) -> tuple[_FirstContact, _Conversation]:
    fc = _first_contact_from(case)
    conversation = _Conversation(fc)
    for i, message in enumerate(case["messages"]):
        who = message["sender"]
        content = bytes.fromhex(message["content"])
        _check(f"messages[{i}].address", message["address"], conversation.address(who))
        envelope = seal_session(
            conversation.sessions[who], conversation.address(who), content, ttl=message["ttl"]
        )
        _check(f"messages[{i}].envelope", message["envelope"], envelope)
        opened = conversation.receive(_other(who), envelope)
        _check(f"messages[{i}].content", message["content"], opened)
    return fc, conversation


def verify(case: Case) -> None:
    """Check one case against this implementation."""
    kind = case["kind"]
    if kind == "padding":
        if padded_size(case["length"]) != case["padded"]:
            raise AssertionError(f"padded: expected {case['padded']}")
    elif kind == "unpad":
        padded = bytes.fromhex(case["padded"])
        if case["result"] == "invalid":
            expect_error(case, lambda: unpad(padded))
        else:
            _check("unpadded", case["unpadded"], unpad(padded))
    elif kind == "envelope":
        _verify_envelope(case)
    elif kind == "first-contact":
        _verify_first_contact(case)
    elif kind == "open-first-contact":
        _verify_open(case)
    elif kind == "conversation":
        _replayed(case)
    elif kind == "open-session":
        _fc, conversation = _replayed(case)
        session = conversation.sessions[case["receiver"]]
        before = session.snapshot()
        bad = bytes.fromhex(case["envelope"])
        expect_error(case, lambda: open_session(bad, session))
        if session.snapshot() != before:
            raise AssertionError("envelope: a failed open changed the session")
        then = open_session(bytes.fromhex(case["then"]), session)
        _check("then_content", case["then_content"], then)
    else:
        raise AssertionError(f"kind: unknown {kind!r}")
