"""Spec §4: keys — identity keys, prekeys, prekey bundles and uploads.

A Blindpost identity is two key pairs bound together: an Ed25519 signing key and an X25519
Diffie–Hellman key, the DH public key signed by the signing key (§4.1). The identity signs its
X25519 *signed prekeys* (§4.2) and its ML-KEM-768 *KEM prekeys* (§4.3, last-resort or one-time);
X25519 *one-time prekeys* (§4.2) are unsigned, as in Signal. An owner publishes a
:class:`PrekeyUpload` (§4.6); a directory hands a :class:`PrekeyBundle` (§4.5) to whoever wants
to start a session.

Public types are :class:`~protocol.codec.Message` subclasses (frozen, slotted, comparable,
strictly decoded). Decoding runs the structural checks and the public-key checks of §4.4
(length, small-order X25519 encodings, the ML-KEM modulus check) before any cryptography;
``verify()`` then checks the signatures, always before any key of the structure is used.

Private types (:class:`IdentityKeyPair`, :class:`SignedPrekeyPair`, :class:`OneTimePrekeyPair`,
:class:`KemPrekeyPair`) are opaque (§4.7): their ``repr`` is redacted, pickling and copying
raise ``TypeError``, they define no ``==`` (identity comparison only), and their bytes come
out only through ``private_bytes()``. Python cannot wipe memory: the private ``bytes`` live
until the garbage collector frees them, and every export makes another copy.

Randomness comes only from the ``rng`` argument and time only from ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from . import labels
from ._secret import Secret
from .codec import Bool, Field, FixedBytes, ListOf, Message, Nested, UInt
from .errors import DecodeError, UsageError
from .primitives import (
    ED25519_PUBLIC_KEY_SIZE,
    ED25519_SEED_SIZE,
    ED25519_SIGNATURE_SIZE,
    MLKEM768_PUBLIC_KEY_SIZE,
    MLKEM768_SEED_SIZE,
    X25519_KEY_SIZE,
    Ed25519KeyPair,
    MlKem768KeyPair,
    Rng,
    X25519KeyPair,
    ct_equal,
    ed25519_verify,
    mlkem768_check_public_key,
    mlkem768_public_key,
    random_bytes,
    x25519_public_key,
)

__all__ = [
    "IDENTITY_PRIVATE_KEY_SIZE",
    "KEYS_VERSION",
    "MAX_KEM_ONE_TIME_PREKEYS",
    "MAX_ONE_TIME_PREKEYS",
    "MAX_PREKEY_ID",
    "MAX_TIMESTAMP",
    "SMALL_ORDER_X25519",
    "IdentityKey",
    "IdentityKeyPair",
    "KemPrekey",
    "KemPrekeyPair",
    "OneTimePrekey",
    "OneTimePrekeyPair",
    "PrekeyBundle",
    "PrekeyUpload",
    "SignedPrekey",
    "SignedPrekeyPair",
    "check_x25519_public_key",
    "identity_binding_payload",
    "kem_prekey_payload",
    "signed_prekey_payload",
]

#: Spec §4: the wire version (map key 0) of every structure of this section.
KEYS_VERSION: Final = 1
#: Spec §4.2: prekey ids are uint32.
MAX_PREKEY_ID: Final = 2**32 - 1
#: Spec §4.2: ``created_at`` is a uint64 count of seconds since the Unix epoch.
MAX_TIMESTAMP: Final = 2**64 - 1
#: Spec §4.6: most X25519 one-time prekeys in one upload.
MAX_ONE_TIME_PREKEYS: Final = 100
#: Spec §4.6: most one-time ML-KEM-768 prekeys in one upload.
MAX_KEM_ONE_TIME_PREKEYS: Final = 100
#: Spec §4.7: ``IdentityKeyPair.private_bytes()`` is ``ed25519 seed || x25519 private key``.
IDENTITY_PRIVATE_KEY_SIZE: Final = ED25519_SEED_SIZE + X25519_KEY_SIZE


def _small_order(u: int) -> bytes:
    return u.to_bytes(X25519_KEY_SIZE, "little")


_P: Final = 2**255 - 19
#: Spec §4.4: the X25519 u-coordinates of small order with bit 255 clear (libsodium's
#: ``has_small_order`` blocklist): 0, 1, the two u-coordinates of order 8, p - 1, and the
#: non-canonical encodings p and p + 1 of 0 and 1. X25519 with any of them gives all zeros.
SMALL_ORDER_X25519: Final[frozenset[bytes]] = frozenset(
    _small_order(u)
    for u in (
        0,
        1,
        325606250916557431795983626356110631294008115727848805560023387167927233504,
        39382357235489614581723060781553021112529911719440698176882885853963445705823,
        _P - 1,
        _P,
        _P + 1,
    )
)

#: The same keys with bit 255 either way, so that the check is one set lookup (no masking).
_SMALL_ORDER_ANY_TOP_BIT: Final[frozenset[bytes]] = SMALL_ORDER_X25519 | frozenset(
    key[:31] + bytes([key[31] | 0x80]) for key in SMALL_ORDER_X25519
)


def check_x25519_public_key(public_key: bytes) -> None:
    """Spec §4.4: reject a 32-byte X25519 public key of small order (``decode.low_order``).

    Bit 255 is ignored (RFC 7748 §5): the key is looked up among the listed keys with that bit
    clear or set; no Diffie–Hellman is computed. Public keys are not secret, so a set lookup is
    fine.
    """
    if public_key in _SMALL_ORDER_ANY_TOP_BIT:
        raise DecodeError("decode.low_order", "X25519 public key of small order")


# --- signature payloads (spec §4.1–§4.3) ----------------------------------------------------


def identity_binding_payload(dh_key: bytes) -> bytes:
    """Spec §4.1: ``LABEL_IDENTITY_BINDING || dh_key``."""
    return labels.LABEL_IDENTITY_BINDING + dh_key


def signed_prekey_payload(prekey_id: int, created_at: int, public_key: bytes) -> bytes:
    """Spec §4.2: ``LABEL_SIGNED_PREKEY || u32be(id) || u64be(created_at) || public_key``."""
    return (
        labels.LABEL_SIGNED_PREKEY
        + prekey_id.to_bytes(4, "big")
        + created_at.to_bytes(8, "big")
        + public_key
    )


def kem_prekey_payload(
    prekey_id: int, created_at: int, last_resort: bool, public_key: bytes
) -> bytes:
    """Spec §4.3: the KEM prekey signature payload.

    ``LABEL_KEM_PREKEY || u8(last_resort) || u32be(id) || u64be(created_at) || public_key``.
    """
    return (
        labels.LABEL_KEM_PREKEY
        + bytes([1 if last_resort else 0])
        + prekey_id.to_bytes(4, "big")
        + created_at.to_bytes(8, "big")
        + public_key
    )


# --- public types (wire structures) -----------------------------------------------------------

_ID: Final = UInt(MAX_PREKEY_ID)
_TIME: Final = UInt(MAX_TIMESTAMP)
_X25519: Final = FixedBytes(X25519_KEY_SIZE)
_ED25519: Final = FixedBytes(ED25519_PUBLIC_KEY_SIZE)
_SIGNATURE: Final = FixedBytes(ED25519_SIGNATURE_SIZE)
_MLKEM: Final = FixedBytes(MLKEM768_PUBLIC_KEY_SIZE)


@dataclass(frozen=True, slots=True)
class IdentityKey(Message):
    """Spec §4.1: the public identity — signing key, DH key, and the binding signature.

    CDDL ``identity-key``. Decoding rejects a DH key of small order (``decode.low_order``);
    :meth:`verify` checks the binding signature (``auth.failed``).
    """

    VERSION: ClassVar[int] = KEYS_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "signing_key", _ED25519),
        Field(2, "dh_key", _X25519),
        Field(3, "binding_signature", _SIGNATURE),
    )
    MAX_SIZE: ClassVar[int] = 256

    signing_key: bytes
    dh_key: bytes
    binding_signature: bytes

    def _check(self) -> None:
        check_x25519_public_key(self.dh_key)

    def verify(self) -> None:
        """Spec §4.1: Ed25519-verify ``binding_signature`` over ``identity_binding_payload``.

        Strict verification (§3.3) also rejects a signing key of small order. Any failure is
        ``AuthenticationError("auth.failed")``.
        """
        ed25519_verify(
            self.signing_key, identity_binding_payload(self.dh_key), self.binding_signature
        )

    def verify_signature(self, payload: bytes, signature: bytes) -> None:
        """Spec §4.1: check an Ed25519 signature by this identity (``auth.failed``)."""
        ed25519_verify(self.signing_key, payload, signature)


@dataclass(frozen=True, slots=True)
class SignedPrekey(Message):
    """Spec §4.2: a signed X25519 prekey (CDDL ``signed-prekey``)."""

    VERSION: ClassVar[int] = KEYS_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "id", _ID),
        Field(2, "created_at", _TIME),
        Field(3, "public_key", _X25519),
        Field(4, "signature", _SIGNATURE),
    )
    MAX_SIZE: ClassVar[int] = 256

    id: int
    created_at: int
    public_key: bytes
    signature: bytes

    def _check(self) -> None:
        check_x25519_public_key(self.public_key)

    def signature_payload(self) -> bytes:
        """Spec §4.2: the bytes the identity signs."""
        return signed_prekey_payload(self.id, self.created_at, self.public_key)

    def verify(self, identity: IdentityKey) -> None:
        """Spec §4.2: check the signature by ``identity`` (``auth.failed``)."""
        identity.verify_signature(self.signature_payload(), self.signature)


@dataclass(frozen=True, slots=True)
class OneTimePrekey(Message):
    """Spec §4.2: an unsigned X25519 one-time prekey (CDDL ``one-time-prekey``).

    It carries no signature, as in Signal: a directory can withhold or replace it, which costs
    the session only the one-time prekey's extra forward secrecy, never authentication.
    """

    VERSION: ClassVar[int] = KEYS_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "id", _ID),
        Field(2, "public_key", _X25519),
    )
    MAX_SIZE: ClassVar[int] = 128

    id: int
    public_key: bytes

    def _check(self) -> None:
        check_x25519_public_key(self.public_key)


@dataclass(frozen=True, slots=True)
class KemPrekey(Message):
    """Spec §4.3: a signed ML-KEM-768 prekey, last-resort or one-time (CDDL ``kem-prekey``).

    Decoding runs the FIPS 203 §7.2 modulus check on ``public_key`` (``decode.bad_key``).
    """

    VERSION: ClassVar[int] = KEYS_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "id", _ID),
        Field(2, "created_at", _TIME),
        Field(3, "last_resort", Bool()),
        Field(4, "public_key", _MLKEM),
        Field(5, "signature", _SIGNATURE),
    )
    MAX_SIZE: ClassVar[int] = 1536

    id: int
    created_at: int
    last_resort: bool
    public_key: bytes
    signature: bytes

    def _check(self) -> None:
        mlkem768_check_public_key(self.public_key)

    def signature_payload(self) -> bytes:
        """Spec §4.3: the bytes the identity signs."""
        return kem_prekey_payload(self.id, self.created_at, self.last_resort, self.public_key)

    def verify(self, identity: IdentityKey) -> None:
        """Spec §4.3: check the signature by ``identity`` (``auth.failed``)."""
        identity.verify_signature(self.signature_payload(), self.signature)


@dataclass(frozen=True, slots=True)
class PrekeyBundle(Message):
    """Spec §4.5: what a directory hands to someone who wants to start a session.

    CDDL ``prekey-bundle``. ``kem_prekey`` is a one-time KEM prekey when the directory has one
    left, else the last-resort one; ``one_time_prekey`` is absent when none is left.
    """

    VERSION: ClassVar[int] = KEYS_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "identity", Nested(IdentityKey)),
        Field(2, "signed_prekey", Nested(SignedPrekey)),
        Field(3, "one_time_prekey", Nested(OneTimePrekey), optional=True),
        Field(4, "kem_prekey", Nested(KemPrekey)),
    )
    MAX_SIZE: ClassVar[int] = 2048

    identity: IdentityKey
    signed_prekey: SignedPrekey
    one_time_prekey: OneTimePrekey | None
    kem_prekey: KemPrekey

    def verify(self) -> None:
        """Spec §4.5: the identity binding, then the signed prekey, then the KEM prekey.

        Every signature MUST be checked before any key of the bundle is used; the first failure
        raises ``AuthenticationError("auth.failed")``.
        """
        self.identity.verify()
        self.signed_prekey.verify(self.identity)
        self.kem_prekey.verify(self.identity)

    @classmethod
    def from_bytes_verified(cls, data: bytes) -> PrekeyBundle:
        """Spec §4.5: decode (all structural and key checks), then :meth:`verify`."""
        bundle = cls.from_bytes(data)
        bundle.verify()
        return bundle


#: Spec §4.6: input limit of a :class:`PrekeyUpload`; its largest encoding is 133 549 bytes.
_UPLOAD_MAX_SIZE: Final = 136 * 1024


@dataclass(frozen=True, slots=True)
class PrekeyUpload(Message):
    """Spec §4.6: what an owner publishes to the directory (CDDL ``prekey-upload``).

    Decoding also requires ``kem_last_resort.last_resort`` to be true and every element of
    ``kem_one_time`` to have it false (``decode.range``), and the X25519 prekey ids (signed and
    one-time) and the KEM prekey ids each to be distinct (``decode.duplicate_id``).
    """

    VERSION: ClassVar[int] = KEYS_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "identity", Nested(IdentityKey)),
        Field(2, "signed_prekey", Nested(SignedPrekey)),
        Field(3, "one_time_prekeys", ListOf(Nested(OneTimePrekey), MAX_ONE_TIME_PREKEYS)),
        Field(4, "kem_last_resort", Nested(KemPrekey)),
        Field(5, "kem_one_time", ListOf(Nested(KemPrekey), MAX_KEM_ONE_TIME_PREKEYS)),
    )
    MAX_SIZE: ClassVar[int] = _UPLOAD_MAX_SIZE

    identity: IdentityKey
    signed_prekey: SignedPrekey
    one_time_prekeys: tuple[OneTimePrekey, ...]
    kem_last_resort: KemPrekey
    kem_one_time: tuple[KemPrekey, ...]

    def _check(self) -> None:
        if not self.kem_last_resort.last_resort:
            raise DecodeError("decode.range", "PrekeyUpload.kem_last_resort: last_resort false")
        for prekey in self.kem_one_time:
            if prekey.last_resort:
                raise DecodeError("decode.range", "PrekeyUpload.kem_one_time: last_resort true")
        x25519_ids = [self.signed_prekey.id, *(p.id for p in self.one_time_prekeys)]
        kem_ids = [self.kem_last_resort.id, *(p.id for p in self.kem_one_time)]
        if len(set(x25519_ids)) != len(x25519_ids) or len(set(kem_ids)) != len(kem_ids):
            raise DecodeError("decode.duplicate_id", "PrekeyUpload: a prekey id is used twice")

    def verify(self) -> None:
        """Spec §4.6: the identity binding, the signed prekey, the last-resort KEM prekey, then
        each one-time KEM prekey in order; the first failure raises ``auth.failed``."""
        self.identity.verify()
        self.signed_prekey.verify(self.identity)
        self.kem_last_resort.verify(self.identity)
        for prekey in self.kem_one_time:
            prekey.verify(self.identity)

    @classmethod
    def from_bytes_verified(cls, data: bytes) -> PrekeyUpload:
        """Spec §4.6: decode (all structural and key checks), then :meth:`verify`."""
        upload = cls.from_bytes(data)
        upload.verify()
        return upload


# --- private types (spec §4.7) ----------------------------------------------------------------


def _bad(detail: str) -> UsageError:
    return UsageError("usage.bad_argument", detail)


def _require_bytes(name: str, value: object, size: int) -> bytes:
    if type(value) is not bytes or len(value) != size:
        raise _bad(f"{name} must be {size} bytes")
    return value


class IdentityKeyPair(Secret):
    """Spec §4.1: an identity's private keys — Ed25519 signing seed and X25519 DH key.

    Export layout (§4.7): ``private_bytes()`` is ``ed25519_seed (32) || x25519_private (32)``,
    64 bytes; :meth:`from_private_bytes` takes the same. The public half, with its binding
    signature, is :attr:`public`.
    """

    __slots__ = ("_dh", "_public", "_signing")
    _signing: Ed25519KeyPair
    _dh: X25519KeyPair
    _public: IdentityKey

    def __init__(self, signing_seed: bytes, dh_private: bytes) -> None:
        signing = Ed25519KeyPair(_require_bytes("signing seed", signing_seed, ED25519_SEED_SIZE))
        dh = X25519KeyPair(_require_bytes("DH private key", dh_private, X25519_KEY_SIZE))
        public = IdentityKey(
            signing_key=signing.public_key,
            dh_key=dh.public_key,
            binding_signature=signing.sign(identity_binding_payload(dh.public_key)),
        )
        self._set("_signing", signing)
        self._set("_dh", dh)
        self._set("_public", public)

    @classmethod
    def generate(cls, rng: Rng) -> IdentityKeyPair:
        """Spec §4.1: draw the signing seed (32 bytes) then the DH private key (32) from ``rng``."""
        seed = random_bytes(rng, ED25519_SEED_SIZE)
        return cls(seed, random_bytes(rng, X25519_KEY_SIZE))

    @classmethod
    def from_private_bytes(cls, data: bytes) -> IdentityKeyPair:
        """Spec §4.7: import ``ed25519_seed || x25519_private`` (64 bytes)."""
        data = _require_bytes("identity private key", data, IDENTITY_PRIVATE_KEY_SIZE)
        return cls(data[:ED25519_SEED_SIZE], data[ED25519_SEED_SIZE:])

    def private_bytes(self) -> bytes:
        """Spec §4.7: explicit export, ``ed25519_seed || x25519_private`` (64 bytes)."""
        return self._signing.seed() + self._dh.private_bytes()

    @property
    def public(self) -> IdentityKey:
        """The public identity, binding signature included."""
        return self._public

    def sign(self, message: bytes) -> bytes:
        """Spec §4.1: Ed25519 signature of ``message``, which MUST start with a label (§1.3).

        Refusing unlabelled messages (``usage.bad_argument``) keeps every signature made with
        the identity key domain-separated.
        """
        if type(message) is not bytes or not message.startswith(labels.PREFIX):
            raise _bad("a signed message must start with a Blindpost label")
        return self._signing.sign(message)

    def dh(self, public_key: bytes) -> bytes:
        """Spec §3.5: X25519 of the identity DH key with ``public_key``."""
        return self._dh.exchange(public_key)

    def __repr__(self) -> str:
        return f"IdentityKeyPair(public={self._public.signing_key[:8].hex()}…, private=<redacted>)"


class SignedPrekeyPair(Secret):
    """Spec §4.2: a signed X25519 prekey with its private key.

    Export (§4.7): ``private_bytes()`` is the 32-byte X25519 private key; the id, timestamp and
    signature travel in :attr:`public` (a :class:`SignedPrekey`), and
    :meth:`from_private_bytes` takes both back.
    """

    __slots__ = ("_key", "_public")
    _key: X25519KeyPair
    _public: SignedPrekey

    def __init__(self, private_key: bytes, public: SignedPrekey) -> None:
        key = X25519KeyPair(_require_bytes("X25519 private key", private_key, X25519_KEY_SIZE))
        if type(public) is not SignedPrekey:
            raise _bad("public must be a SignedPrekey")
        if not ct_equal(key.public_key, public.public_key):
            raise _bad("private key does not match the signed prekey")
        self._set("_key", key)
        self._set("_public", public)

    @classmethod
    def generate(
        cls, identity: IdentityKeyPair, *, prekey_id: int, now: int, rng: Rng
    ) -> SignedPrekeyPair:
        """Spec §4.2: a new prekey (32 bytes of ``rng``) signed by ``identity``, created ``now``."""
        private = random_bytes(rng, X25519_KEY_SIZE)
        public_key = x25519_public_key(private)
        _ID.check(prekey_id, "prekey_id")
        _TIME.check(now, "now")
        signature = identity.sign(signed_prekey_payload(prekey_id, now, public_key))
        return cls(private, SignedPrekey(prekey_id, now, public_key, signature))

    @classmethod
    def from_private_bytes(cls, private_key: bytes, public: SignedPrekey) -> SignedPrekeyPair:
        """Spec §4.7: re-import; ``usage.bad_argument`` if the two halves do not match."""
        return cls(private_key, public)

    def private_bytes(self) -> bytes:
        """Spec §4.7: explicit export of the 32-byte X25519 private key."""
        return self._key.private_bytes()

    @property
    def public(self) -> SignedPrekey:
        return self._public

    @property
    def id(self) -> int:
        return self._public.id

    def dh(self, public_key: bytes) -> bytes:
        """Spec §3.5: X25519 of this prekey with ``public_key``."""
        return self._key.exchange(public_key)

    @property
    def key_pair(self) -> X25519KeyPair:
        """The parsed X25519 key pair (still a secret: redacted, not picklable).

        The responder hands it to the Double Ratchet as its first ratchet key (spec §6.7), so
        the private key is not parsed a second time.
        """
        return self._key

    def __repr__(self) -> str:
        return f"SignedPrekeyPair(id={self._public.id}, private=<redacted>)"


class OneTimePrekeyPair(Secret):
    """Spec §4.2: an X25519 one-time prekey with its private key.

    Export (§4.7): ``private_bytes()`` is the 32-byte X25519 private key; the id is public.
    """

    __slots__ = ("_key", "_public")
    _key: X25519KeyPair
    _public: OneTimePrekey

    def __init__(self, private_key: bytes, prekey_id: int) -> None:
        key = X25519KeyPair(_require_bytes("X25519 private key", private_key, X25519_KEY_SIZE))
        self._set("_key", key)
        self._set("_public", OneTimePrekey(prekey_id, key.public_key))

    @classmethod
    def generate(cls, *, prekey_id: int, rng: Rng) -> OneTimePrekeyPair:
        """Spec §4.2: a new one-time prekey from 32 bytes of ``rng``."""
        return cls(random_bytes(rng, X25519_KEY_SIZE), prekey_id)

    @classmethod
    def from_private_bytes(cls, private_key: bytes, prekey_id: int) -> OneTimePrekeyPair:
        """Spec §4.7: re-import from the private key and the id."""
        return cls(private_key, prekey_id)

    def private_bytes(self) -> bytes:
        """Spec §4.7: explicit export of the 32-byte X25519 private key."""
        return self._key.private_bytes()

    @property
    def public(self) -> OneTimePrekey:
        return self._public

    @property
    def id(self) -> int:
        return self._public.id

    def dh(self, public_key: bytes) -> bytes:
        """Spec §3.5: X25519 of this prekey with ``public_key``."""
        return self._key.exchange(public_key)

    def __repr__(self) -> str:
        return f"OneTimePrekeyPair(id={self._public.id}, private=<redacted>)"


class KemPrekeyPair(Secret):
    """Spec §4.3: a signed ML-KEM-768 prekey with its decapsulation key.

    Export (§4.7): ``private_bytes()`` is the 64-byte FIPS 203 seed ``d || z``; the id, time,
    last-resort flag and signature travel in :attr:`public` (a :class:`KemPrekey`).
    """

    __slots__ = ("_key", "_public")
    _key: MlKem768KeyPair
    _public: KemPrekey

    def __init__(self, seed: bytes, public: KemPrekey) -> None:
        key = MlKem768KeyPair(_require_bytes("ML-KEM-768 seed", seed, MLKEM768_SEED_SIZE))
        if type(public) is not KemPrekey:
            raise _bad("public must be a KemPrekey")
        if not ct_equal(key.public_key, public.public_key):
            raise _bad("seed does not match the KEM prekey")
        self._set("_key", key)
        self._set("_public", public)

    @classmethod
    def generate(
        cls,
        identity: IdentityKeyPair,
        *,
        prekey_id: int,
        now: int,
        last_resort: bool,
        rng: Rng,
    ) -> KemPrekeyPair:
        """Spec §4.3: a new KEM prekey (64-byte seed from ``rng``) signed by ``identity``."""
        seed = random_bytes(rng, MLKEM768_SEED_SIZE)
        public_key = mlkem768_public_key(seed)
        _ID.check(prekey_id, "prekey_id")
        _TIME.check(now, "now")
        Bool().check(last_resort, "last_resort")
        signature = identity.sign(kem_prekey_payload(prekey_id, now, last_resort, public_key))
        return cls(seed, KemPrekey(prekey_id, now, last_resort, public_key, signature))

    @classmethod
    def from_private_bytes(cls, seed: bytes, public: KemPrekey) -> KemPrekeyPair:
        """Spec §4.7: re-import; ``usage.bad_argument`` if the two halves do not match."""
        return cls(seed, public)

    def private_bytes(self) -> bytes:
        """Spec §4.7: explicit export of the 64-byte seed ``d || z``."""
        return self._key.seed()

    @property
    def public(self) -> KemPrekey:
        return self._public

    @property
    def id(self) -> int:
        return self._public.id

    def decapsulate(self, ciphertext: bytes) -> bytes:
        """Spec §3.6: ML-KEM-768 decapsulation (implicit rejection)."""
        return self._key.decapsulate(ciphertext)

    def __repr__(self) -> str:
        kind = "last-resort" if self._public.last_resort else "one-time"
        return f"KemPrekeyPair(id={self._public.id}, {kind}, private=<redacted>)"
