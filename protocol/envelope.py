"""Spec §9: sealed envelopes — what a relay carries, and how nobody but the recipient opens it.

An **envelope** (§9.2) is ``u8(version) || address || u32be(ttl) || body``: a mailbox address
(32 bytes), a time to live and a padded body. It is a fixed layout, like a ratchet message
(§7.3.1), because every session message passes through it; every structure *inside* a body is
CBOR (§2.4).

* A **first contact** (§9.4) goes to the recipient's per-epoch routing ID (§8.3). Its body,
  always :data:`FIRST_CONTACT_BODY_SIZE` bytes, is HPKE (RFC 9180, mode_psk) to the recipient's
  :class:`FirstContactKey` of that epoch — an X25519 key whose PSK is the shared secret of the
  handshake's own ML-KEM-768 encapsulation to the key's KEM half, so the hybrid seal costs no
  second encapsulation (§9.4.3 argues why the two key schedules stay independent). Inside is
  the rest of the handshake's initial message (§6.6): the sender's identity, which the handshake
  then authenticates, and the first ratchet message.
* Every later message travels in a **conversation mailbox** (§9.5) created for that
  conversation alone: a session envelope's body is a ratchet message (§7.3) whose plaintext is
  padded so that the body has a PADMÉ size (§9.3).
* The plaintext of every ratchet message is a :class:`Content` (§9.6): application bytes and,
  optionally, a :class:`MailboxGrant` — a mailbox of the sender's and the capability to deposit
  there. The initiator's first message carries its reply mailbox that way.

Sans-I/O: randomness comes from ``rng``, time from the caller (epochs, §8.4); nothing here
reads a clock or talks to a relay (§10).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Final, NamedTuple, NoReturn

from . import hpke
from ._secret import Secret
from .blinding import EPOCH_LENGTH, MailboxKeyPair, epoch_of
from .codec import Bytes, Field, FixedBytes, Message, Nested, UInt
from .errors import DecodeError, StateError, UsageError
from .handshake import PrekeyStore, Responded, _handshake_with
from .keys import (
    MAX_PREKEY_ID,
    IdentityKey,
    IdentityKeyPair,
    KemPrekey,
    KemPrekeyPair,
    OneTimePrekey,
    PrekeyBundle,
    SignedPrekey,
    check_x25519_public_key,
)
from .labels import (
    LABEL_ENVELOPE_ID,
    LABEL_FIRST_CONTACT_KEY,
    LABEL_FIRST_CONTACT_PSK,
    LABEL_FIRST_CONTACT_SEAL,
)
from .primitives import (
    ED25519_SEED_SIZE,
    ED25519_SIGNATURE_SIZE,
    MLKEM768_CIPHERTEXT_SIZE,
    X25519_KEY_SIZE,
    Ed25519KeyPair,
    Rng,
    Scalar,
    X25519KeyPair,
    mlkem768_encapsulate,
    random_bytes,
    sha256,
)
from .ratchet import MAX_MESSAGE_SIZE, MESSAGE_OVERHEAD, Session

__all__ = [
    "ADDRESS_SIZE",
    "ENVELOPE_HEADER_SIZE",
    "ENVELOPE_ID_SIZE",
    "ENVELOPE_VERSION",
    "FIRST_CONTACT_BODY_SIZE",
    "FIRST_CONTACT_KEY_RETENTION",
    "FIRST_CONTACT_PLAINTEXT_SIZE",
    "FIRST_CONTACT_SUITE",
    "MAX_BODY_SIZE",
    "MAX_ENVELOPE_SIZE",
    "MAX_FIRST_CONTACT_CONTENT",
    "MAX_SESSION_PLAINTEXT",
    "MAX_TTL",
    "MIN_BODY_SIZE",
    "Content",
    "ConversationMailbox",
    "Envelope",
    "FirstContactBundle",
    "FirstContactInner",
    "FirstContactKey",
    "FirstContactKeyPair",
    "FirstContactKeys",
    "MailboxGrant",
    "SealedFirstContact",
    "envelope_id",
    "is_padded_size",
    "open_first_contact",
    "open_session",
    "pad",
    "padded_size",
    "padme",
    "seal_first_contact",
    "seal_session",
    "unpad",
]

# --- constants (spec §9.1) --------------------------------------------------------------------

#: Spec §9.2: the envelope layout version (its first byte).
ENVELOPE_VERSION: Final = 1
#: Spec §9.2: a mailbox address — a routing ID (§8.3) or a conversation mailbox ID (§9.5).
ADDRESS_SIZE: Final = 32
#: Spec §9.2: ``u8(version) || address || u32be(ttl)``.
ENVELOPE_HEADER_SIZE: Final = 1 + ADDRESS_SIZE + 4
#: Spec §9.3: the padding floor; every body is at least this long.
MIN_BODY_SIZE: Final = 256
#: Spec §9.3: the longest body (the longest ratchet message, §7.3.1).
MAX_BODY_SIZE: Final = MAX_MESSAGE_SIZE
#: Spec §9.2: the longest envelope.
MAX_ENVELOPE_SIZE: Final = ENVELOPE_HEADER_SIZE + MAX_BODY_SIZE
#: Spec §9.2: the longest time to live, 21 days (SimpleX keeps undelivered messages as long).
MAX_TTL: Final = 21 * 86_400
#: Spec §9.2: an envelope id is the first 16 bytes of a SHA-256 of the envelope.
ENVELOPE_ID_SIZE: Final = 16
#: Spec §9.4: every first-contact body has exactly this size (a PADMÉ size).
FIRST_CONTACT_BODY_SIZE: Final = 2048
#: Spec §9.4.2: the HPKE suite of the first-contact seal (mode_psk).
FIRST_CONTACT_SUITE: Final = hpke.Suite(aead=hpke.AeadId.CHACHA20_POLY1305)
_HPKE_TAG_SIZE: Final = 16
#: Spec §9.4.2: ``enc || kem_ciphertext`` before the HPKE ciphertext.
_FIRST_CONTACT_PREFIX: Final = hpke.N_ENC + MLKEM768_CIPHERTEXT_SIZE
#: Spec §9.4.2: the padded inner plaintext of a first contact (912 bytes).
FIRST_CONTACT_PLAINTEXT_SIZE: Final = (
    FIRST_CONTACT_BODY_SIZE - _FIRST_CONTACT_PREFIX - _HPKE_TAG_SIZE
)
#: Spec §9.4.4: an owner keeps the first-contact key of epoch ``e`` until epoch ``e + 3`` ends,
#: so that a first contact deposited at the end of epoch ``e`` can be opened for ``MAX_TTL``.
FIRST_CONTACT_KEY_RETENTION: Final = -(-MAX_TTL // EPOCH_LENGTH)
#: Spec §9.5: a session envelope's ratchet plaintext is at most this long before padding
#: (the padding marker takes one byte).
MAX_SESSION_PLAINTEXT: Final = MAX_BODY_SIZE - MESSAGE_OVERHEAD - 1
#: Spec §9.4.2: the largest first-ratchet-message plaintext (a :class:`Content` encoding) a
#: first contact carries: the 912 bytes less the padding marker, the ratchet overhead and the
#: largest encoding of :class:`FirstContactInner` around a payload of that size.
MAX_FIRST_CONTACT_CONTENT: Final = 628
#: Spec §9.3: the padding marker (ISO/IEC 7816-4).
_MARKER: Final = b"\x80"
#: Spec §9.5: a session body is ``padded_size(len(plaintext) + 89)``: the ratchet's overhead
#: and the marker.
_SESSION_OVERHEAD: Final = MESSAGE_OVERHEAD + 1
#: The marker and every zero a padding can need, sliced instead of built per message.
_PADDING: Final = _MARKER + bytes(MAX_BODY_SIZE)
_MIN_TTL_BYTES: Final = (1).to_bytes(4, "big")
_MAX_TTL_BYTES: Final = MAX_TTL.to_bytes(4, "big")
_ZERO_BYTE: Final = 0
_MAX_EPOCH: Final = 2**32 - 1
_SERIAL: Final = UInt(2**32 - 1)


def _bad(detail: str) -> UsageError:
    return UsageError("usage.bad_argument", detail)


# --- padding (spec §9.3) ----------------------------------------------------------------------


def padme(length: int) -> int:
    """Spec §9.3: PADMÉ (Nikitin et al., PETS 2019) of ``length`` (at least 2).

    ``E = floor(log2 L)``, ``S = floor(log2 E) + 1``; round ``L`` up to a multiple of
    ``2^(E - S)``. The result exceeds ``L`` by less than 12 %.
    """
    if type(length) is not int or length < 2:
        raise _bad("PADMÉ is defined for lengths of at least 2")
    e = length.bit_length() - 1
    s = e.bit_length()
    mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask


def padded_size(length: int) -> int:
    """Spec §9.3: the body size for ``length`` unpadded bytes: ``max(256, PADMÉ(length))``.

    ``length`` is counted with the padding marker; more than :data:`MAX_BODY_SIZE` is
    ``usage.bad_argument``.
    """
    if type(length) is not int or not 0 <= length <= MAX_BODY_SIZE:
        raise _bad(f"a body holds 0 to {MAX_BODY_SIZE} bytes")
    return MIN_BODY_SIZE if length <= MIN_BODY_SIZE else padme(length)


def _body_sizes() -> frozenset[int]:
    """Every padded size: 256, and from each power of two ``2^E`` (``E`` from 8) its multiples
    of ``2^(E − S)`` up to the next power of two — the values PADMÉ rounds to."""
    sizes = {MIN_BODY_SIZE}
    for e in range(8, MAX_BODY_SIZE.bit_length()):
        step = 1 << (e - e.bit_length())
        sizes.update(range(1 << e, min(1 << (e + 1), MAX_BODY_SIZE) + 1, step))
    return frozenset(sizes)


#: Spec §9.3: the set of padded sizes (one set lookup per envelope decoded).
_BODY_SIZES: Final = _body_sizes()


def _longest_zeros() -> dict[int, bytes]:
    """Per session plaintext length (a body size less the ratchet's 88 bytes), the most zeros
    its padding can hold: with one byte more, the content and its marker would fit the next
    smaller padded size (0 below 256). About 64 KB of zeros in all."""
    sizes = sorted(_BODY_SIZES)
    return {
        size - MESSAGE_OVERHEAD: bytes(size - max(smaller, MESSAGE_OVERHEAD) - 1)
        for smaller, size in zip([0, *sizes], sizes, strict=False)
    }


#: Spec §9.5: ``_LONGEST_ZEROS[len(plaintext)].startswith(zeros)`` checks in one call that
#: the padding after the marker is zeros and that the body is the padded size of its content.
_LONGEST_ZEROS: Final = _longest_zeros()
#: ``_SMALL_PADDINGS[n]`` pads a body of ``n`` ≤ 256 unpadded bytes (the marker counted) to
#: 256: built once (about 14 KB) instead of sliced per message. A body holds at least the
#: ratchet's overhead and the marker, so the entries below that are empty.
_SMALL_PADDINGS: Final = tuple(
    _PADDING[: MIN_BODY_SIZE + 1 - n] if n >= _SESSION_OVERHEAD else b""
    for n in range(MIN_BODY_SIZE + 1)
)


def is_padded_size(size: int) -> bool:
    """Spec §9.3: whether ``size`` is a body size (``padded_size`` of some length)."""
    return size in _BODY_SIZES


def pad(data: bytes, size: int) -> bytes:
    """Spec §9.3: ``data || 0x80 || 0x00 …`` of exactly ``size`` bytes (ISO/IEC 7816-4)."""
    if len(data) >= size:
        raise _bad(f"{len(data)} bytes do not fit a padded size of {size}")
    return data + _MARKER + bytes(size - len(data) - 1)


def unpad(padded: bytes) -> bytes:
    """Spec §9.3: strip ``0x80 || 0x00 …``; anything else is ``decode.padding``.

    The marker is the last 0x80 byte, and only zeros may follow it: one ``memrchr`` and one
    comparison with a slice of zeros, not ``rstrip``'s byte-by-byte set lookups.
    """
    marker = padded.rfind(0x80)
    if marker < 0:
        raise DecodeError("decode.padding", "no 0x80 marker before the zero padding")
    tail = padded[marker + 1 :]
    if tail != _PADDING[1 : len(tail) + 1] and tail.count(0) != len(tail):
        raise DecodeError("decode.padding", "no 0x80 marker before the zero padding")
    return padded[:marker]


# --- the envelope (spec §9.2) -----------------------------------------------------------------


def _parse(data: bytes) -> tuple[bytes, int, bytes]:
    """Spec §9.2: decode an envelope into ``(address, ttl, body)``; ``decode.*`` only."""
    if type(data) is not bytes:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise _bad("an envelope is bytes")
        data = bytes(data)
    size = len(data)
    if size > MAX_ENVELOPE_SIZE:
        raise DecodeError("decode.too_large", f"{size} bytes > {MAX_ENVELOPE_SIZE}")
    if size < ENVELOPE_HEADER_SIZE + MIN_BODY_SIZE:
        raise DecodeError("decode.length", f"{size} bytes: shorter than the smallest envelope")
    if data[0] != ENVELOPE_VERSION:
        raise DecodeError("decode.version", f"envelope version {data[0]}")
    ttl = int.from_bytes(data[33:37], "big")
    if not 1 <= ttl <= MAX_TTL:
        raise DecodeError("decode.range", f"ttl must be 1 to {MAX_TTL} seconds")
    if size - ENVELOPE_HEADER_SIZE not in _BODY_SIZES:
        raise DecodeError("decode.padding", "the body size is not a padded size (§9.3)")
    return data[1:33], ttl, data[ENVELOPE_HEADER_SIZE:]


#: Spec §9.2: ``u8(version) || address || u32be(ttl)`` in one call (the caller checked the
#: address's length: ``32s`` would pad a shorter one).
_pack_header: Final = struct.Struct(">B32sI").pack


def _header(address: bytes, ttl: int) -> bytes:
    """Spec §9.2: ``u8(1) || address || u32be(ttl)``, which every body's AEAD binds."""
    return _pack_header(ENVELOPE_VERSION, address, ttl)


def _frame(address: bytes, ttl: int, body: bytes) -> bytes:
    return _header(address, ttl) + body


def _check_address_ttl(address: object, ttl: object) -> None:
    if type(address) is not bytes or len(address) != ADDRESS_SIZE:
        raise _bad(f"an address is {ADDRESS_SIZE} bytes")
    if type(ttl) is not int or not 1 <= ttl <= MAX_TTL:
        raise _bad(f"ttl must be an int from 1 to {MAX_TTL}")


@dataclass(frozen=True, slots=True)
class Envelope:
    """Spec §9.2: a decoded envelope — what a relay reads of it (address, TTL, body size).

    Construction validates like decoding (``usage.bad_argument``), so an :class:`Envelope` that
    could not be decoded cannot exist.
    """

    address: bytes
    ttl: int
    body: bytes

    def __post_init__(self) -> None:
        _check_address_ttl(self.address, self.ttl)
        if type(self.body) is not bytes or not is_padded_size(len(self.body)):
            raise _bad("the body must have a padded size (§9.3)")

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        """Spec §9.2: decode (``decode.too_large``, ``.length``, ``.version``, ``.range``,
        ``.padding``, in that order)."""
        address, ttl, body = _parse(data)
        envelope = object.__new__(cls)
        object.__setattr__(envelope, "address", address)
        object.__setattr__(envelope, "ttl", ttl)
        object.__setattr__(envelope, "body", body)
        return envelope

    def to_bytes(self) -> bytes:
        """Spec §9.2: ``u8(1) || address || u32be(ttl) || body``."""
        return _frame(self.address, self.ttl, self.body)

    @property
    def id(self) -> bytes:
        """Spec §9.2: :func:`envelope_id` of the encoding."""
        return envelope_id(self.to_bytes())


def envelope_id(data: bytes) -> bytes:
    """Spec §9.2: ``SHA-256(LABEL_ENVELOPE_ID || envelope)[0:16]`` — how a relay names it."""
    return sha256(LABEL_ENVELOPE_ID + data)[:ENVELOPE_ID_SIZE]


# --- content (spec §9.6) ----------------------------------------------------------------------


def _no_pickle(self: object) -> NoReturn:
    raise TypeError(f"{type(self).__name__} holds secrets and cannot be pickled")


@dataclass(frozen=True, slots=True, repr=False)
class MailboxGrant(Message):
    """Spec §9.6: "deposit to me here from now on" — a conversation mailbox and its capability.

    CDDL ``mailbox-grant``. ``deposit_key`` is the 32-byte Ed25519 seed with which the peer
    authorises deposits (§10): a secret, so the ``repr`` is redacted and pickling refuses.
    ``serial`` orders the grants of one direction: the peer deposits to the highest it holds.
    """

    VERSION: ClassVar[int] = 1
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "serial", _SERIAL),
        Field(2, "mailbox_id", FixedBytes(ADDRESS_SIZE)),
        Field(3, "deposit_key", FixedBytes(ED25519_SEED_SIZE)),
    )
    MAX_SIZE: ClassVar[int] = 128

    serial: int
    mailbox_id: bytes
    deposit_key: bytes

    def __repr__(self) -> str:
        return (
            f"MailboxGrant(serial={self.serial}, mailbox_id={self.mailbox_id[:8].hex()}…, "
            "deposit_key=<redacted>)"
        )

    __reduce__ = _no_pickle


@dataclass(frozen=True, slots=True, repr=False)
class Content(Message):
    """Spec §9.6: the plaintext of every ratchet message (CDDL ``content``).

    ``body`` is the application's bytes (absent: none); ``grant`` a :class:`MailboxGrant`.
    Message content is secret: the ``repr`` shows sizes only and pickling refuses.
    """

    VERSION: ClassVar[int] = 1
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "body", Bytes(MAX_SESSION_PLAINTEXT), optional=True),
        Field(2, "grant", Nested(MailboxGrant), optional=True),
    )
    MAX_SIZE: ClassVar[int] = MAX_SESSION_PLAINTEXT

    body: bytes | None = None
    grant: MailboxGrant | None = None

    def __repr__(self) -> str:
        size = "none" if self.body is None else f"{len(self.body)} bytes"
        return f"Content(body=<{size}>, grant={'yes' if self.grant else 'no'})"

    __reduce__ = _no_pickle


class ConversationMailbox(Secret):
    """Spec §9.5: a conversation mailbox its owner reads — its key and its deposit key.

    The mailbox ID is the public key ``K = k · B`` of a fresh ristretto255 scalar ``k`` (the
    owner proves possession of ``k`` to the relay, §10, as for a routing ID); the deposit key is
    an Ed25519 key pair whose seed the owner hands to the one peer in a :class:`MailboxGrant`
    and whose public key it gives the relay. Export: ``private_bytes()`` is ``k || seed``
    (64 bytes).
    """

    __slots__ = ("_deposit", "_owner")
    _owner: MailboxKeyPair
    _deposit: Ed25519KeyPair

    def __init__(self, owner: MailboxKeyPair, deposit_seed: bytes) -> None:
        if type(owner) is not MailboxKeyPair:
            raise _bad("owner must be a MailboxKeyPair")
        if type(deposit_seed) is not bytes or len(deposit_seed) != ED25519_SEED_SIZE:
            raise _bad(f"a deposit seed is {ED25519_SEED_SIZE} bytes")
        self._set("_owner", owner)
        self._set("_deposit", Ed25519KeyPair(deposit_seed))

    @classmethod
    def generate(cls, rng: Rng) -> ConversationMailbox:
        """Spec §9.5: draw the owner scalar (64 bytes, reduced mod L), then the deposit seed."""
        owner = MailboxKeyPair.generate(rng)
        return cls(owner, random_bytes(rng, ED25519_SEED_SIZE))

    @classmethod
    def from_private_bytes(cls, data: bytes) -> ConversationMailbox:
        if type(data) is not bytes or len(data) != 32 + ED25519_SEED_SIZE:
            raise _bad("a conversation mailbox exports 64 bytes")
        return cls(MailboxKeyPair.from_private_bytes(data[:32]), data[32:])

    def private_bytes(self) -> bytes:
        """Explicit export: the owner scalar, then the deposit seed."""
        return self._owner.private_bytes() + self._deposit.seed()

    @property
    def mailbox_id(self) -> bytes:
        """The 32-byte address of the mailbox (``K``)."""
        return self._owner.public_key

    @property
    def owner_key(self) -> MailboxKeyPair:
        """The key pair of the mailbox ID."""
        return self._owner

    @property
    def owner_secret(self) -> Scalar:
        """``k``, with which the owner proves possession to the relay (§10.2)."""
        return self._owner.secret

    @property
    def deposit_public_key(self) -> bytes:
        """The Ed25519 public key the relay checks deposits against (§10)."""
        return self._deposit.public_key

    def grant(self, serial: int) -> MailboxGrant:
        """Spec §9.6: the grant that lets the peer deposit here."""
        return MailboxGrant(serial, self.mailbox_id, self._deposit.seed())

    def __repr__(self) -> str:
        return f"ConversationMailbox(id={self.mailbox_id[:8].hex()}…, private=<redacted>)"


# --- first-contact keys and bundles (spec §9.4.1) ----------------------------------------------


def first_contact_key_payload(epoch: int, dh_key: bytes, kem_prekey: KemPrekey) -> bytes:
    """Spec §9.4.1: the bytes the identity signs.

    ``LABEL_FIRST_CONTACT_KEY || u64be(epoch) || dh_key || u32be(kem.id) ||
    SHA-256(kem.public_key)``.
    """
    return b"".join(
        (
            LABEL_FIRST_CONTACT_KEY,
            epoch.to_bytes(8, "big"),
            dh_key,
            kem_prekey.id.to_bytes(4, "big"),
            sha256(kem_prekey.public_key),
        )
    )


@dataclass(frozen=True, slots=True)
class FirstContactKey(Message):
    """Spec §9.4.1: the key a first contact of ``epoch`` is sealed to (CDDL
    ``first-contact-key``).

    An X25519 ``dh_key`` and a last-resort KEM prekey (§4.3) whose id is the epoch, signed
    together by the identity. Decoding rejects a small-order ``dh_key`` (``decode.low_order``),
    a KEM prekey that is not last-resort or whose id is not the epoch (``decode.range``).
    """

    VERSION: ClassVar[int] = 1
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "epoch", UInt(_MAX_EPOCH)),
        Field(2, "dh_key", FixedBytes(X25519_KEY_SIZE)),
        Field(3, "kem_prekey", Nested(KemPrekey)),
        Field(4, "signature", FixedBytes(ED25519_SIGNATURE_SIZE)),
    )
    MAX_SIZE: ClassVar[int] = 2048

    epoch: int
    dh_key: bytes
    kem_prekey: KemPrekey
    signature: bytes

    def _check(self) -> None:
        check_x25519_public_key(self.dh_key)
        if not self.kem_prekey.last_resort or self.kem_prekey.id != self.epoch:
            raise DecodeError(
                "decode.range", "FirstContactKey.kem_prekey: last-resort with id = epoch"
            )

    def verify(self, identity: IdentityKey) -> None:
        """Spec §9.4.1: the KEM prekey's signature, then the key's (``auth.failed``)."""
        self.kem_prekey.verify(identity)
        identity.verify_signature(
            first_contact_key_payload(self.epoch, self.dh_key, self.kem_prekey), self.signature
        )


class FirstContactKeyPair(Secret):
    """Spec §9.4.1: a first-contact key with its private halves.

    Export: ``private_bytes()`` is the X25519 private key (32) then the ML-KEM-768 seed (64).
    """

    __slots__ = ("_dh", "_kem", "_public")
    _dh: X25519KeyPair
    _kem: KemPrekeyPair
    _public: FirstContactKey

    def __init__(self, dh_private: bytes, kem_seed: bytes, public: FirstContactKey) -> None:
        if type(public) is not FirstContactKey:
            raise _bad("public must be a FirstContactKey")
        dh = X25519KeyPair(dh_private)
        if dh.public_key != public.dh_key:
            raise _bad("the X25519 private key does not match the first-contact key")
        self._set("_dh", dh)
        self._set("_kem", KemPrekeyPair(kem_seed, public.kem_prekey))
        self._set("_public", public)

    @classmethod
    def generate(
        cls, identity: IdentityKeyPair, *, epoch: int, now: int, rng: Rng
    ) -> FirstContactKeyPair:
        """Spec §9.4.1: draw the X25519 private key (32 bytes), then the KEM seed (64)."""
        if type(epoch) is not int or not 0 <= epoch <= min(_MAX_EPOCH, MAX_PREKEY_ID):
            raise _bad("epoch out of range")
        dh = X25519KeyPair.generate(rng)
        kem = KemPrekeyPair.generate(identity, prekey_id=epoch, now=now, last_resort=True, rng=rng)
        signature = identity.sign(first_contact_key_payload(epoch, dh.public_key, kem.public))
        public = FirstContactKey(epoch, dh.public_key, kem.public, signature)
        return cls(dh.private_bytes(), kem.private_bytes(), public)

    @classmethod
    def from_private_bytes(cls, data: bytes, public: FirstContactKey) -> FirstContactKeyPair:
        if type(data) is not bytes or len(data) != 96:
            raise _bad("a first-contact private key is 96 bytes")
        return cls(data[:32], data[32:], public)

    def private_bytes(self) -> bytes:
        """Explicit export: X25519 private key, then the ML-KEM-768 seed."""
        return self._dh.private_bytes() + self._kem.private_bytes()

    @property
    def public(self) -> FirstContactKey:
        return self._public

    @property
    def epoch(self) -> int:
        return self._public.epoch

    @property
    def kem(self) -> KemPrekeyPair:
        return self._kem

    def __repr__(self) -> str:
        return f"FirstContactKeyPair(epoch={self.epoch}, private=<redacted>)"


class FirstContactKeys:
    """Spec §9.4.4: an owner's first-contact keys by epoch, with their lifecycle.

    :meth:`maintain` makes sure the keys of the current and the next epoch exist and deletes
    every key more than :data:`FIRST_CONTACT_KEY_RETENTION` epochs old (forward secrecy for
    first contacts: once a key is gone, nobody can learn from a recording who wrote).
    """

    __slots__ = ("_identity", "_keys")

    def __init__(self, identity: IdentityKeyPair, keys: Iterable[FirstContactKeyPair] = ()) -> None:
        self._identity = identity
        self._keys: dict[int, FirstContactKeyPair] = {}
        for pair in keys:
            if pair.epoch in self._keys:
                raise _bad("two first-contact keys for one epoch")
            self._keys[pair.epoch] = pair

    def maintain(self, *, now: int, rng: Rng) -> tuple[FirstContactKey, ...]:
        """Spec §9.4.4: delete expired keys, create missing ones; return the new public keys
        (to publish at each epoch's routing ID, §10)."""
        current = epoch_of(now)
        for epoch in [e for e in self._keys if e + FIRST_CONTACT_KEY_RETENTION < current]:
            del self._keys[epoch]
        created = []
        for epoch in (current, current + 1):
            if epoch not in self._keys:
                pair = FirstContactKeyPair.generate(self._identity, epoch=epoch, now=now, rng=rng)
                self._keys[epoch] = pair
                created.append(pair.public)
        return tuple(created)

    def get(self, epoch: int) -> FirstContactKeyPair | None:
        """The key pair of ``epoch``, if held."""
        return self._keys.get(epoch)

    def public(self, epoch: int) -> FirstContactKey:
        """The public key of ``epoch`` (``usage.bad_argument`` if not held)."""
        pair = self._keys.get(epoch)
        if pair is None:
            raise _bad(f"no first-contact key for epoch {epoch}")
        return pair.public

    def epochs(self) -> tuple[int, ...]:
        """The epochs whose keys are held, ascending."""
        return tuple(sorted(self._keys))

    def __repr__(self) -> str:
        return f"FirstContactKeys(epochs={list(self.epochs())}, private=<redacted>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("FirstContactKeys holds private keys and cannot be pickled")


@dataclass(frozen=True, slots=True)
class FirstContactBundle(Message):
    """Spec §9.4.1: what a sender needs for a first contact (CDDL ``first-contact-bundle``).

    The owner's identity, signed prekey, optionally a one-time prekey, and the first-contact key
    of the epoch; the relay hosts it at the routing ID (§10).
    """

    VERSION: ClassVar[int] = 1
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "identity", Nested(IdentityKey)),
        Field(2, "signed_prekey", Nested(SignedPrekey)),
        Field(3, "one_time_prekey", Nested(OneTimePrekey), optional=True),
        Field(4, "first_contact_key", Nested(FirstContactKey)),
    )
    MAX_SIZE: ClassVar[int] = 2048

    identity: IdentityKey
    signed_prekey: SignedPrekey
    one_time_prekey: OneTimePrekey | None
    first_contact_key: FirstContactKey

    def verify(self) -> None:
        """Spec §9.4.1: identity binding, signed prekey, KEM prekey, first-contact key."""
        self.identity.verify()
        self.signed_prekey.verify(self.identity)
        self.first_contact_key.verify(self.identity)

    @property
    def kem_prekey(self) -> KemPrekey:
        """``PQPK_B`` of the handshake (§9.4.1): the first-contact key's KEM half."""
        return self.first_contact_key.kem_prekey

    def prekey_bundle(self) -> PrekeyBundle:
        """The handshake's bundle (§4.5): the first-contact key's KEM half is ``PQPK_B``."""
        return PrekeyBundle(
            self.identity,
            self.signed_prekey,
            self.one_time_prekey,
            self.first_contact_key.kem_prekey,
        )


@dataclass(frozen=True, slots=True)
class FirstContactInner(Message):
    """Spec §9.4.2: the sealed part of a first contact (CDDL ``first-contact-inner``).

    The initial message of §6.6 without what the seal already carries: ``kem_prekey_id`` is
    the epoch and ``kem_ciphertext`` travels outside, as the seal's PSK source.
    """

    VERSION: ClassVar[int] = 1
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "identity", Nested(IdentityKey)),
        Field(2, "ephemeral_key", FixedBytes(X25519_KEY_SIZE)),
        Field(3, "signed_prekey_id", UInt(MAX_PREKEY_ID)),
        Field(4, "one_time_prekey_id", UInt(MAX_PREKEY_ID), optional=True),
        Field(5, "payload", Bytes(MESSAGE_OVERHEAD + MAX_FIRST_CONTACT_CONTENT, MESSAGE_OVERHEAD)),
    )
    MAX_SIZE: ClassVar[int] = FIRST_CONTACT_PLAINTEXT_SIZE - 1

    identity: IdentityKey
    ephemeral_key: bytes
    signed_prekey_id: int
    payload: bytes
    one_time_prekey_id: int | None = None

    def _check(self) -> None:
        check_x25519_public_key(self.ephemeral_key)


# --- first contact (spec §9.4.2, §9.4.3) ------------------------------------------------------


def _first_contact_info(epoch: int, routing_id: bytes) -> bytes:
    """Spec §9.4.2: ``LABEL_FIRST_CONTACT_SEAL || u64be(epoch) || routing_id``."""
    return LABEL_FIRST_CONTACT_SEAL + epoch.to_bytes(8, "big") + routing_id


@dataclass(frozen=True, slots=True)
class SealedFirstContact:
    """What :func:`seal_first_contact` returns: the envelope to deposit and the new session."""

    envelope: bytes
    session: Session


def seal_first_contact(
    identity: IdentityKeyPair,
    bundle: FirstContactBundle,
    routing_id: bytes,
    content: bytes,
    *,
    ttl: int,
    rng: Rng,
) -> SealedFirstContact:
    """Spec §9.4.2: start a session with the owner of ``bundle`` through its routing ID.

    ``content`` is the first ratchet plaintext (an encoded :class:`Content`, at most
    :data:`MAX_FIRST_CONTACT_CONTENT` bytes). Every signature of the bundle is verified first
    (``auth.failed``). Draws from ``rng``: the handshake's ``EK_A`` (32), the ratchet's first
    key (32), the HPKE ephemeral ``ikm_e`` (32).
    """
    _check_address_ttl(routing_id, ttl)
    _check_first_contact_content(content)
    bundle.verify()
    ephemeral = X25519KeyPair.generate(rng)
    kem_public_key = bundle.first_contact_key.kem_prekey.public_key
    kem_secret, kem_ciphertext = mlkem768_encapsulate(kem_public_key)
    return _seal_first_contact_with(
        identity, bundle, routing_id, content, ttl, ephemeral, kem_secret, kem_ciphertext, rng
    )[0]


def _check_first_contact_content(content: object) -> None:
    if type(content) is not bytes or len(content) > MAX_FIRST_CONTACT_CONTENT:
        raise _bad(f"a first contact carries at most {MAX_FIRST_CONTACT_CONTENT} bytes")


def _seal_first_contact_with(
    identity: IdentityKeyPair,
    bundle: FirstContactBundle,
    routing_id: bytes,
    content: bytes,
    ttl: int,
    ephemeral: X25519KeyPair,
    kem_secret: bytes,
    kem_ciphertext: bytes,
    rng: Rng,
) -> tuple[SealedFirstContact, bytes]:
    """Deterministic seam (vectors): the seal given ``EK_A`` and the ML-KEM encapsulation;
    also returns the encoded inner structure (before padding)."""
    payload, session, _, _ = _handshake_with(identity, bundle, content, ephemeral, kem_secret, rng)
    opk = bundle.one_time_prekey
    inner = FirstContactInner(
        identity=identity.public,
        ephemeral_key=ephemeral.public_key,
        signed_prekey_id=bundle.signed_prekey.id,
        one_time_prekey_id=None if opk is None else opk.id,
        payload=payload,
    ).to_bytes()
    key = bundle.first_contact_key
    header = _header(routing_id, ttl)
    enc, ciphertext = hpke.seal_psk(
        FIRST_CONTACT_SUITE,
        key.dh_key,
        _first_contact_info(key.epoch, routing_id),
        header + kem_ciphertext,
        pad(inner, FIRST_CONTACT_PLAINTEXT_SIZE),
        kem_secret,
        LABEL_FIRST_CONTACT_PSK,
        rng=rng,
    )
    envelope = b"".join((header, enc, kem_ciphertext, ciphertext))  # one copy of ~2 KB, not 3
    return SealedFirstContact(envelope, session), inner


def open_first_contact(
    data: bytes,
    *,
    epoch: int,
    keys: FirstContactKeys,
    prekeys: PrekeyStore,
    rng: Rng,
) -> Responded:
    """Spec §9.4.3: open a first contact fetched from the routing ID of ``epoch``; transactional.

    Order: the envelope (``decode.*``; a body of another size is ``decode.length``, a
    small-order ``enc`` ``decode.low_order``) → the first-contact key of ``epoch``
    (``state.unknown_prekey``) → ML-KEM decapsulation and the HPKE open (``auth.failed``) →
    the inner layer (``decode.padding``, ``decode.*``) → the handshake's responder (§6.7 steps
    2–7: ``state.unknown_prekey``, ``auth.failed``, ``state.replay``). ``peer`` in the result
    is the identity the handshake authenticated; an envelope whose inner identity is not the
    sender's fails there with ``auth.failed``.
    """
    address, _ttl, body = _parse(data)
    if len(body) != FIRST_CONTACT_BODY_SIZE:
        raise DecodeError("decode.length", f"a first-contact body of {len(body)} bytes")
    enc = body[: hpke.N_ENC]
    check_x25519_public_key(enc)
    pair = keys.get(epoch) if type(epoch) is int else None
    if pair is None:
        raise StateError("state.unknown_prekey", "no first-contact key for this epoch")
    kem_ciphertext = body[hpke.N_ENC : _FIRST_CONTACT_PREFIX]
    kem_secret = pair.kem.decapsulate(kem_ciphertext)
    padded = hpke.open_psk(
        FIRST_CONTACT_SUITE,
        enc,
        pair._dh,
        _first_contact_info(epoch, address),
        data[:ENVELOPE_HEADER_SIZE] + kem_ciphertext,
        body[_FIRST_CONTACT_PREFIX:],
        kem_secret,
        LABEL_FIRST_CONTACT_PSK,
    )
    inner = FirstContactInner.from_bytes(unpad(padded))
    message = _CarriedInitial(
        inner.identity,
        inner.ephemeral_key,
        inner.signed_prekey_id,
        inner.one_time_prekey_id,
        epoch,
        kem_ciphertext,
        inner.payload,
    )
    return prekeys._respond(message, rng, pair.kem, kem_secret)


class _CarriedInitial(NamedTuple):
    """Spec §9.4.3 step 5: the initial message (§6.6) a first contact carries, as fields (its
    parts were decoded and checked already: the inner structure and the body's layout)."""

    identity: IdentityKey
    ephemeral_key: bytes
    signed_prekey_id: int
    one_time_prekey_id: int | None
    kem_prekey_id: int
    kem_ciphertext: bytes
    payload: bytes


# --- session envelopes (spec §9.5) --------------------------------------------------------------


def seal_session(session: Session, address: bytes, plaintext: bytes, *, ttl: int) -> bytes:
    """Spec §9.5: the envelope of the next ratchet message of ``session`` to ``address``.

    The plaintext (an encoded :class:`Content`) is padded so that the body (the ratchet
    message) has size ``padded_size(88 + len(plaintext) + 1)``. The ratchet message does not
    depend on the envelope around it, so the same one can also travel over SMS (§11) and the
    recipient recognise the second copy as a replay.
    """
    if (
        type(address) is not bytes
        or len(address) != ADDRESS_SIZE
        or type(ttl) is not int
        or not 1 <= ttl <= MAX_TTL
        or type(plaintext) is not bytes
    ):
        _check_address_ttl(address, ttl)
        raise _bad_session_plaintext()
    n = len(plaintext) + _SESSION_OVERHEAD  # the body without its padding zeros
    if n <= MIN_BODY_SIZE:
        padding = _SMALL_PADDINGS[n]
    elif n <= MAX_BODY_SIZE:
        padding = _PADDING[: padme(n) + 1 - n]
    else:
        raise _bad_session_plaintext()
    return _pack_header(ENVELOPE_VERSION, address, ttl) + session.encrypt(plaintext + padding)


def _bad_session_plaintext() -> UsageError:
    return _bad(f"a session envelope carries at most {MAX_SESSION_PLAINTEXT} bytes")


def open_session(data: bytes, session: Session) -> bytes:
    """Spec §9.5: the plaintext of a session envelope; transactional.

    Order: the envelope (``decode.*``) → the ratchet (§7.3.3) → the
    padding and the body's size (``decode.padding``), checked before the session commits: on
    any error the session is unchanged.
    """
    if (
        type(data) is not bytes
        or len(data) - ENVELOPE_HEADER_SIZE not in _BODY_SIZES
        or data[0] != ENVELOPE_VERSION
        # big-endian, so the order of the 4 bytes is the order of the numbers
        or not _MIN_TTL_BYTES <= data[33:ENVELOPE_HEADER_SIZE] <= _MAX_TTL_BYTES
    ):
        address, ttl, body = _parse(data)  # the code of §9.2's order; or a bytearray
        data = _frame(address, ttl, body)
    return session.decrypt(data[ENVELOPE_HEADER_SIZE:], check=_unpad_session)


def _unpad_session(padded: bytes) -> bytes:
    """Spec §9.5: unpad a session envelope's plaintext and check that the body (the padded
    plaintext and the ratchet's 88 bytes) has the padded size of what it carries.

    :func:`unpad` written out: the marker is the last 0x80 byte (one ``rpartition``, which
    also gives the content); what follows it must be a prefix of the longest run of zeros
    this size admits — zeros, and not so many that a smaller body would hold the content.
    On any failure :func:`unpad` runs to give its error first, as before.
    """
    content, marker, zeros = padded.rpartition(_MARKER)
    try:
        fits = marker and _LONGEST_ZEROS[len(padded)].startswith(zeros)
    except KeyError:  # a length no body has: open_session checks the size first, so never from it
        fits = False
    if not fits:
        unpad(padded)  # decode.padding if the marker or the zeros are wrong
        raise _bad_size_error()
    return content


def _bad_size_error() -> DecodeError:
    return DecodeError("decode.padding", "the body is not the padded size of its content")
