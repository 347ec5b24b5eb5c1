"""Spec §12.7: a client's exported state — the typed structures and the encrypted blob.

The same design as the ratchet's state at rest (§7.8): an immutable snapshot, never the live
object, encoded as deterministic CBOR (``client-state`` in ``spec/wire.cddl``) and sealed with
XChaCha20-Poly1305 under a key derived from the caller's 32-byte storage key. The live client
is in ``client.py``; this module is plain data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from . import labels
from .codec import Bool, Bytes, Field, FixedBytes, ListOf, Message, Nested, Text, UInt
from .envelope import MAX_SESSION_PLAINTEXT, FirstContactKey, MailboxGrant
from .errors import AuthenticationError, UsageError
from .evaluator import MAX_KEY_ID, PublishedKey
from .handshake import MAX_EXPORTED_PREKEYS, PrekeyStoreState
from .keys import MAX_PREKEY_ID, IdentityKey
from .primitives import (
    XCHACHA20_POLY1305_NONCE_SIZE,
    Rng,
    labeled_kdf,
    random_bytes,
    xchacha20_poly1305_open,
    xchacha20_poly1305_seal,
)
from .ratchet import SessionState

__all__ = [
    "CLIENT_STATE_VERSION",
    "MAX_CLIENT_STATE_SIZE",
    "ClientSnapshot",
    "ClientState",
    "ContactState",
    "EpochState",
    "FirstContactKeyPrivate",
    "PeerState",
    "ReceivedState",
    "RegistrationState",
    "RetiredMailbox",
]

#: Spec §12.7: the version of ``client-state`` (map key 0).
CLIENT_STATE_VERSION: Final = 1
#: Spec §12.7: the blob format, the KDF context ``u16be(1)``.
CLIENT_BLOB_FORMAT: Final = 1
#: Spec §12.7: the input limit of an exported client state.
MAX_CLIENT_STATE_SIZE: Final = 64 << 20
#: Spec §12.7: bounds of the exported lists.
MAX_EXPORTED_CONTACTS: Final = 100_000
MAX_EXPORTED_PEERS: Final = 10_000
MAX_EXPORTED_INBOX: Final = 10_000
MAX_EXPORTED_IDS: Final = 100_000
MAX_EXPORTED_EPOCHS: Final = 64
MAX_RETIRED_MAILBOXES: Final = 64

_TIME: Final = UInt(2**64 - 1)
_E164: Final = Text(16, 2)
_OUTPUT: Final = FixedBytes(64)
_ENVELOPE_ID: Final = FixedBytes(16)


class _Private:
    """Redacted and unpicklable: an exported client state holds every secret (spec §1.5)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("client state cannot be pickled; use ClientSnapshot.to_bytes")


@dataclass(frozen=True, slots=True, repr=False)
class FirstContactKeyPrivate(_Private, Message):
    """Spec §12.7: a first-contact key with its private halves (X25519 key, KEM seed)."""

    VERSION: ClassVar[int] = CLIENT_STATE_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "private_key", FixedBytes(96)),
        Field(2, "public", Nested(FirstContactKey)),
    )
    private_key: bytes
    public: FirstContactKey


@dataclass(frozen=True, slots=True, repr=False)
class EpochState(_Private, Message):
    """Spec §12.7: a routing ID opened at the relay — its epoch and the ids of the one-time
    prekeys hosted there."""

    VERSION: ClassVar[int] = CLIENT_STATE_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "epoch", UInt(2**32 - 1)),
        Field(2, "one_time_ids", ListOf(UInt(MAX_PREKEY_ID), MAX_EXPORTED_PREKEYS)),
    )
    epoch: int
    one_time_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True, repr=False)
class RegistrationState(_Private, Message):
    """Spec §12.7: what ``register`` keeps (§12.1) and housekeeping updates (§12.6)."""

    VERSION: ClassVar[int] = CLIENT_STATE_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "oprf_key_id", UInt(MAX_KEY_ID)),
        Field(2, "output", _OUTPUT),
        Field(3, "mailbox_key", FixedBytes(32)),
        Field(4, "prekeys", Nested(PrekeyStoreState)),
        Field(5, "first_contact_keys", ListOf(Nested(FirstContactKeyPrivate), MAX_EXPORTED_EPOCHS)),
        Field(6, "registered_at", _TIME),
        Field(7, "epochs", ListOf(Nested(EpochState), MAX_EXPORTED_EPOCHS)),
    )
    oprf_key_id: int
    output: bytes
    mailbox_key: bytes
    prekeys: PrekeyStoreState
    first_contact_keys: tuple[FirstContactKeyPrivate, ...]
    registered_at: int
    epochs: tuple[EpochState, ...]


@dataclass(frozen=True, slots=True, repr=False)
class ContactState(_Private, Message):
    """Spec §12.7: a number discovery found (§8.7) and what its routing IDs are made of."""

    VERSION: ClassVar[int] = CLIENT_STATE_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "number", _E164),
        Field(2, "identity", Nested(IdentityKey)),
        Field(3, "oprf_key_id", UInt(MAX_KEY_ID)),
        Field(4, "output", _OUTPUT),
        Field(5, "mailbox_key", FixedBytes(32)),
    )
    number: str
    identity: IdentityKey
    oprf_key_id: int
    output: bytes
    mailbox_key: bytes


@dataclass(frozen=True, slots=True, repr=False)
class RetiredMailbox(_Private, Message):
    """Spec §12.7: a replaced conversation mailbox still read (§12.6)."""

    VERSION: ClassVar[int] = CLIENT_STATE_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "mailbox", FixedBytes(64)),
        Field(2, "until", _TIME),
        Field(3, "superseded", Bool()),
    )
    mailbox: bytes
    until: int
    superseded: bool


@dataclass(frozen=True, slots=True, repr=False)
class PeerState(_Private, Message):
    """Spec §12.7: a conversation — the session (§7.8's ``session-state``), my mailbox (its
    64-byte export, §9.5) and the serial of its grant, the peer's grant, the replaced
    mailboxes."""

    VERSION: ClassVar[int] = CLIENT_STATE_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "identity", Nested(IdentityKey)),
        Field(2, "session", Nested(SessionState)),
        Field(3, "mailbox", FixedBytes(64)),
        Field(4, "serial", UInt(2**32 - 1)),
        Field(5, "since", _TIME),
        Field(6, "granted", Bool()),
        Field(7, "theirs", Nested(MailboxGrant), optional=True),
        Field(8, "retired", ListOf(Nested(RetiredMailbox), MAX_RETIRED_MAILBOXES)),
    )
    identity: IdentityKey
    session: SessionState
    mailbox: bytes
    serial: int
    since: int
    granted: bool
    theirs: MailboxGrant | None
    retired: tuple[RetiredMailbox, ...]


@dataclass(frozen=True, slots=True, repr=False)
class ReceivedState(_Private, Message):
    """Spec §12.7: a message opened and not yet returned by a completed fetch (§12.3)."""

    VERSION: ClassVar[int] = CLIENT_STATE_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "sender", Nested(IdentityKey)),
        Field(2, "text", Bytes(MAX_SESSION_PLAINTEXT)),
        Field(3, "first_contact", Bool()),
    )
    sender: IdentityKey
    text: bytes
    first_contact: bool


@dataclass(frozen=True, slots=True, repr=False)
class ClientState(_Private, Message):
    """Spec §12.7: everything a :class:`~protocol.client.Client` holds (CDDL
    ``client-state``): its identity's private keys, its number, the pinned evaluator key, the
    relay, the registration (absent before ``register``), contacts, conversations, the inbox
    and the envelope ids of §12.3 and §12.5."""

    VERSION: ClassVar[int] = CLIENT_STATE_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "identity", FixedBytes(64)),
        Field(2, "phone", _E164),
        Field(3, "evaluator_key", Nested(PublishedKey)),
        Field(4, "relay_id", FixedBytes(32)),
        Field(5, "registration", Nested(RegistrationState), optional=True),
        Field(6, "contacts", ListOf(Nested(ContactState), MAX_EXPORTED_CONTACTS)),
        Field(7, "peers", ListOf(Nested(PeerState), MAX_EXPORTED_PEERS)),
        Field(8, "inbox", ListOf(Nested(ReceivedState), MAX_EXPORTED_INBOX)),
        Field(9, "opened", ListOf(_ENVELOPE_ID, MAX_EXPORTED_IDS)),
        Field(10, "delivered", ListOf(_ENVELOPE_ID, MAX_EXPORTED_IDS)),
    )
    MAX_SIZE: ClassVar[int] = MAX_CLIENT_STATE_SIZE

    identity: bytes
    phone: str
    evaluator_key: PublishedKey
    relay_id: bytes
    registration: RegistrationState | None
    contacts: tuple[ContactState, ...]
    peers: tuple[PeerState, ...]
    inbox: tuple[ReceivedState, ...]
    opened: tuple[bytes, ...]
    delivered: tuple[bytes, ...]


def _blob_key(storage_key: bytes) -> bytes:
    if type(storage_key) is not bytes or len(storage_key) != 32:
        raise UsageError("usage.bad_argument", "the storage key must be 32 bytes")
    context = CLIENT_BLOB_FORMAT.to_bytes(2, "big")
    return labeled_kdf(labels.LABEL_CLIENT_STATE, storage_key, b"", context, 32)


@dataclass(frozen=True, slots=True, repr=False, eq=True)
class ClientSnapshot(_Private):
    """Spec §12.7: an immutable copy of a client's whole state — the export type.

    Made by :meth:`Client.snapshot`, turned back into a live client by :meth:`Client.restore`.
    ``to_bytes(storage_key, rng)`` encrypts it; ``from_bytes(blob, storage_key)`` decrypts
    and decodes it. Equality compares the complete state (tests use it to show that a failed
    operation changed nothing); it is not constant-time.
    """

    state: ClientState

    def to_bytes(self, storage_key: bytes, rng: Rng) -> bytes:
        """Spec §12.7: ``nonce || XChaCha20-Poly1305(blob_key, nonce, CBOR(state), "")`` with
        ``blob_key = KDF(LABEL_CLIENT_STATE, storage_key, "", u16be(1), 32)`` and a 24-byte
        nonce from ``rng``."""
        key = _blob_key(storage_key)
        nonce = random_bytes(rng, XCHACHA20_POLY1305_NONCE_SIZE)
        return nonce + xchacha20_poly1305_seal(key, nonce, self.state.to_bytes(), b"")

    @classmethod
    def from_bytes(cls, blob: bytes, storage_key: bytes) -> ClientSnapshot:
        """Spec §12.7: a wrong storage key and any change to the blob, a truncation included,
        are ``auth.failed``; an authentic blob that does not decode is a ``decode.*`` code."""
        key = _blob_key(storage_key)
        if type(blob) is not bytes or len(blob) < XCHACHA20_POLY1305_NONCE_SIZE:
            raise AuthenticationError()
        nonce = blob[:XCHACHA20_POLY1305_NONCE_SIZE]
        plaintext = xchacha20_poly1305_open(key, nonce, blob[XCHACHA20_POLY1305_NONCE_SIZE:], b"")
        return cls(ClientState.from_bytes(plaintext))
