"""Spec §6: the hybrid post-quantum handshake (PQXDH style) and the prekey lifecycle.

An initiator who holds a verified :class:`~protocol.keys.PrekeyBundle` of a responder computes

    DH1 = DH(IK_A, SPK_B)    DH2 = DH(EK_A, IK_B)    DH3 = DH(EK_A, SPK_B)
    DH4 = DH(EK_A, OPK_B)    (only when the bundle holds a one-time prekey)
    (SS, CT) = ML-KEM-768.Encaps(PQPK_B)

and one KDF over all of them (§6.4) gives the Double Ratchet's root key and its two initial
header keys (§7.2). The initial message (§6.6) carries ``IK_A``, ``EK_A``, ``CT``, the prekey ids
and the first ratchet message, whose AEAD authenticates the whole handshake: the responder
consumes one-time prekeys only after that message decrypts, and a failure changes nothing.

The module is sans-I/O: the responder's private prekeys live in a :class:`PrekeyStore` held by
the caller; lifecycle methods return the :class:`~protocol.keys.PrekeyUpload` to publish.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, Final, Protocol

from .codec import Bytes, Field, FixedBytes, ListOf, Message, Nested, UInt
from .errors import DecodeError, StateError, UsageError
from .keys import (
    MAX_KEM_ONE_TIME_PREKEYS,
    MAX_ONE_TIME_PREKEYS,
    MAX_PREKEY_ID,
    IdentityKey,
    IdentityKeyPair,
    KemPrekey,
    KemPrekeyPair,
    OneTimePrekey,
    OneTimePrekeyPair,
    PrekeyBundle,
    PrekeyUpload,
    SignedPrekey,
    SignedPrekeyPair,
    check_x25519_public_key,
)
from .labels import LABEL_HANDSHAKE, LABEL_HANDSHAKE_AD, LABEL_HANDSHAKE_REPLAY
from .primitives import (
    MLKEM768_CIPHERTEXT_SIZE,
    X25519_KEY_SIZE,
    Rng,
    X25519KeyPair,
    labeled_kdf_keys3,
    mlkem768_encapsulate,
    sha256,
)
from .ratchet import MAX_MESSAGE_SIZE, MESSAGE_OVERHEAD, Session

__all__ = [
    "GRACE_PERIOD",
    "HANDSHAKE_SUITE",
    "HANDSHAKE_VERSION",
    "MAX_INITIAL_MESSAGE_SIZE",
    "MAX_INITIAL_PAYLOAD",
    "MIN_INITIAL_PAYLOAD",
    "REFILL_THRESHOLD",
    "REPLAY_CACHE_SIZE",
    "ROTATION_INTERVAL",
    "InitialMessage",
    "Initiated",
    "PrekeyStore",
    "Responded",
    "initiate",
]

HANDSHAKE_VERSION: Final = 1
#: Spec §6.4: the suite identifier, the KDF context of every handshake.
HANDSHAKE_SUITE: Final = b"Blindpost-v1/X25519/ML-KEM-768/HKDF-SHA256/ChaCha20-Poly1305"
#: Spec §6.6: the largest first ratchet message an initial message may carry (§7.3.1).
MAX_INITIAL_PAYLOAD: Final = MAX_MESSAGE_SIZE
#: Spec §6.6: the smallest: a ratchet message is at least its fixed overhead (§7.3.1).
MIN_INITIAL_PAYLOAD: Final = MESSAGE_OVERHEAD
#: Spec §6.6: the input limit of an initial message (the largest valid one is 66 831 bytes).
MAX_INITIAL_MESSAGE_SIZE: Final = 69_632
#: Spec §6.7: how many digests of accepted reusable-prekey initial messages are remembered.
REPLAY_CACHE_SIZE: Final = 16_384
#: Spec §6.8: a signed prekey (and the last-resort KEM prekey with it) is rotated this often.
ROTATION_INTERVAL: Final = 7 * 24 * 3600
#: Spec §6.8: a rotated-out prekey still answers initial messages for this long.
GRACE_PERIOD: Final = 30 * 24 * 3600
#: Spec §6.8: refill one-time prekeys when fewer than this many remain...
REFILL_THRESHOLD: Final = 25
#: ...up to this many (also the size of the first batch).
REFILL_TARGET: Final = 100

_U32: Final = UInt(MAX_PREKEY_ID)


@dataclass(frozen=True, slots=True)
class InitialMessage(Message):
    """Spec §6.6: the first message of a session (CDDL ``initial-message``).

    Decoding checks ``ephemeral_key`` against the small-order list of §4.4 (``decode.low_order``),
    the nested identity as an :class:`~protocol.keys.IdentityKey` and the payload's length
    against the ratchet message's bounds (``decode.length``); nothing cryptographic. Input
    limit :data:`MAX_INITIAL_MESSAGE_SIZE` (``decode.too_large``).
    """

    VERSION: ClassVar[int] = HANDSHAKE_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "identity", Nested(IdentityKey)),
        Field(2, "ephemeral_key", FixedBytes(X25519_KEY_SIZE)),
        Field(3, "signed_prekey_id", _U32),
        Field(4, "one_time_prekey_id", _U32, optional=True),
        Field(5, "kem_prekey_id", _U32),
        Field(6, "kem_ciphertext", FixedBytes(MLKEM768_CIPHERTEXT_SIZE)),
        Field(7, "payload", Bytes(MAX_INITIAL_PAYLOAD, min_len=MIN_INITIAL_PAYLOAD)),
    )
    MAX_SIZE: ClassVar[int] = MAX_INITIAL_MESSAGE_SIZE

    identity: IdentityKey
    ephemeral_key: bytes
    signed_prekey_id: int
    kem_prekey_id: int
    kem_ciphertext: bytes
    payload: bytes
    one_time_prekey_id: int | None = None

    def _check(self) -> None:
        check_x25519_public_key(self.ephemeral_key)


class _Secrets:
    """Spec §6.4: the handshake's output keys; redacted, never pickled."""

    __slots__ = ("header_key", "next_header_key", "root_key")

    def __init__(self, keys: tuple[bytes, bytes, bytes]) -> None:
        self.root_key, self.header_key, self.next_header_key = keys

    def __repr__(self) -> str:
        return "_Secrets(<redacted>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("handshake secrets cannot be pickled")


def _derive(dh1: bytes, dh2: bytes, dh3: bytes, dh4: bytes | None, kem_secret: bytes) -> _Secrets:
    """Spec §6.4: ``KDF(LABEL_HANDSHAKE, DH1 || DH2 || DH3 [|| DH4] || SS, "", SUITE, 96)``."""
    ikm = dh1 + dh2 + dh3 + (dh4 or b"") + kem_secret
    return _Secrets(labeled_kdf_keys3(LABEL_HANDSHAKE, ikm, b"", HANDSHAKE_SUITE))


def _associated_data(
    initiator: IdentityKey,
    responder: IdentityKey,
    ephemeral_key: bytes,
    signed_prekey_id: int,
    one_time_prekey_id: int | None,
    kem_prekey_id: int,
    kem_public_key: bytes,
) -> bytes:
    """Spec §6.5: the associated data every message of the session binds."""
    return b"".join(
        (
            LABEL_HANDSHAKE_AD,
            initiator.signing_key,
            initiator.dh_key,
            responder.signing_key,
            responder.dh_key,
            ephemeral_key,
            signed_prekey_id.to_bytes(4, "big"),
            b"\x00\x00\x00\x00\x00" if one_time_prekey_id is None else b"\x01",
            b"" if one_time_prekey_id is None else one_time_prekey_id.to_bytes(4, "big"),
            kem_prekey_id.to_bytes(4, "big"),
            sha256(kem_public_key),
        )
    )


@dataclass(frozen=True, slots=True)
class Initiated:
    """What :func:`initiate` returns: the bytes to send and the initiator's session."""

    message: bytes
    session: Session


def initiate(
    identity: IdentityKeyPair, bundle: PrekeyBundle, plaintext: bytes, *, rng: Rng
) -> Initiated:
    """Spec §6.3: start a session with the owner of ``bundle``, sending ``plaintext`` first.

    Every signature of the bundle is verified before any of its keys is used
    (``auth.failed``); the ephemeral key and the ratchet's first key come from ``rng``.
    """
    bundle.verify()
    ephemeral = X25519KeyPair.generate(rng)
    kem_secret, kem_ciphertext = mlkem768_encapsulate(bundle.kem_prekey.public_key)
    return _initiate_with(identity, bundle, plaintext, ephemeral, kem_secret, kem_ciphertext, rng)[
        0
    ]


def _initiate_with(
    identity: IdentityKeyPair,
    bundle: PrekeyBundle,
    plaintext: bytes,
    ephemeral: X25519KeyPair,
    kem_secret: bytes,
    kem_ciphertext: bytes,
    rng: Rng,
) -> tuple[Initiated, _Secrets, bytes]:
    """Deterministic seam (vectors): the initiator given its ephemeral key and encapsulation."""
    payload, session, secrets, ad = _handshake_with(
        identity, bundle, plaintext, ephemeral, kem_secret, rng
    )
    opk = bundle.one_time_prekey
    message = InitialMessage(
        identity=identity.public,
        ephemeral_key=ephemeral.public_key,
        signed_prekey_id=bundle.signed_prekey.id,
        one_time_prekey_id=None if opk is None else opk.id,
        kem_prekey_id=bundle.kem_prekey.id,
        kem_ciphertext=kem_ciphertext,
        payload=payload,
    )
    return Initiated(message.to_bytes(), session), secrets, ad


class _Bundle(Protocol):
    """What the initiator reads of a bundle (§4.5): a :class:`~protocol.keys.PrekeyBundle`, or
    a first-contact bundle (§9.4.1), whose first-contact key's KEM half is ``PQPK_B``."""

    @property
    def identity(self) -> IdentityKey: ...
    @property
    def signed_prekey(self) -> SignedPrekey: ...
    @property
    def one_time_prekey(self) -> OneTimePrekey | None: ...
    @property
    def kem_prekey(self) -> KemPrekey: ...


class _Initial(Protocol):
    """What the responder reads of an initial message (§6.6): an :class:`InitialMessage`, or
    the fields of a first contact (§9.4.3)."""

    @property
    def identity(self) -> IdentityKey: ...
    @property
    def ephemeral_key(self) -> bytes: ...
    @property
    def signed_prekey_id(self) -> int: ...
    @property
    def one_time_prekey_id(self) -> int | None: ...
    @property
    def kem_prekey_id(self) -> int: ...
    @property
    def kem_ciphertext(self) -> bytes: ...
    @property
    def payload(self) -> bytes: ...


def _handshake_with(
    identity: IdentityKeyPair,
    bundle: _Bundle,
    plaintext: bytes,
    ephemeral: X25519KeyPair,
    kem_secret: bytes,
    rng: Rng,
) -> tuple[bytes, Session, _Secrets, bytes]:
    """Spec §6.3 steps 3–6 given ``EK_A`` and ``SS``: the first ratchet message (the payload),
    the session, the secrets and ``AD`` (a first contact, §9.4.2, carries them in its own
    structure)."""
    responder = bundle.identity
    spk = bundle.signed_prekey.public_key
    opk = bundle.one_time_prekey
    secrets = _derive(
        identity.dh(spk),
        ephemeral.exchange(responder.dh_key),
        ephemeral.exchange(spk),
        None if opk is None else ephemeral.exchange(opk.public_key),
        kem_secret,
    )
    opk_id = None if opk is None else opk.id
    ad = _associated_data(
        identity.public,
        responder,
        ephemeral.public_key,
        bundle.signed_prekey.id,
        opk_id,
        bundle.kem_prekey.id,
        bundle.kem_prekey.public_key,
    )
    session = Session.initiator(
        root_key=secrets.root_key,
        header_key=secrets.header_key,
        next_header_key=secrets.next_header_key,
        remote_ratchet_key=spk,
        associated_data=ad,
        rng=rng,
    )
    return session.encrypt(plaintext), session, secrets, ad


@dataclass(frozen=True, slots=True)
class Responded:
    """What :meth:`PrekeyStore.respond` returns.

    ``peer`` is the initiator's identity as it claimed it; whether to trust it is the
    application's decision (safety numbers, spec §5).
    """

    session: Session
    plaintext: bytes
    peer: IdentityKey


def _refill_count(held: int) -> int:
    """Spec §6.8: how many one-time prekeys of a kind to generate when ``held`` remain."""
    return REFILL_TARGET - held if held < REFILL_THRESHOLD else 0


# --- the store's exported state (spec §12.7) ---------------------------------------------------


class _Private:
    """Redacted and unpicklable: an exported prekey store holds private keys (spec §1.5)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("prekey state cannot be pickled; export it encrypted (spec §12.7)")


_PREKEY_ID: Final = UInt(MAX_PREKEY_ID)
_DIGEST: Final = FixedBytes(32)


@dataclass(frozen=True, slots=True, repr=False)
class SignedPrekeyPrivate(_Private, Message):
    """Spec §12.7: a signed prekey with its private key (CDDL ``signed-prekey-private``)."""

    VERSION: ClassVar[int] = 1
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "private_key", FixedBytes(X25519_KEY_SIZE)),
        Field(2, "public", Nested(SignedPrekey)),
    )
    private_key: bytes
    public: SignedPrekey


@dataclass(frozen=True, slots=True, repr=False)
class KemPrekeyPrivate(_Private, Message):
    """Spec §12.7: a KEM prekey with its 64-byte seed (CDDL ``kem-prekey-private``)."""

    VERSION: ClassVar[int] = 1
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "seed", FixedBytes(64)),
        Field(2, "public", Nested(KemPrekey)),
    )
    seed: bytes
    public: KemPrekey


@dataclass(frozen=True, slots=True, repr=False)
class OneTimePrekeyPrivate(_Private, Message):
    """Spec §12.7: a one-time X25519 prekey (CDDL ``one-time-prekey-private``)."""

    VERSION: ClassVar[int] = 1
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "id", _PREKEY_ID),
        Field(2, "private_key", FixedBytes(X25519_KEY_SIZE)),
    )
    id: int
    private_key: bytes


@dataclass(frozen=True, slots=True, repr=False)
class RetiringPrekeys(_Private, Message):
    """Spec §12.7: a rotated-out signed prekey and last-resort KEM prekey, by id, answered
    until ``expires_at`` (CDDL ``retiring-prekeys``)."""

    VERSION: ClassVar[int] = 1
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "signed_id", _PREKEY_ID),
        Field(2, "kem_id", _PREKEY_ID),
        Field(3, "expires_at", UInt(2**64 - 1)),
    )
    signed_id: int
    kem_id: int
    expires_at: int


#: Spec §12.7: the most prekeys of one kind an exported store holds.
MAX_EXPORTED_PREKEYS: Final = 100_000


@dataclass(frozen=True, slots=True, repr=False)
class PrekeyStoreState(_Private, Message):
    """Spec §12.7: everything a :class:`PrekeyStore` holds (CDDL ``prekey-store-state``):
    signed prekeys (the current one named by id), KEM prekeys (last-resort and one-time; the
    current last-resort one named by id), one-time X25519 prekeys, the retiring pairs, the
    replay cache (oldest first) and the next free ids."""

    VERSION: ClassVar[int] = 1
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "signed", ListOf(Nested(SignedPrekeyPrivate), MAX_EXPORTED_PREKEYS, 1)),
        Field(2, "signed_current", _PREKEY_ID),
        Field(3, "kem", ListOf(Nested(KemPrekeyPrivate), MAX_EXPORTED_PREKEYS, 1)),
        Field(4, "kem_last_resort", _PREKEY_ID),
        Field(5, "one_time", ListOf(Nested(OneTimePrekeyPrivate), MAX_EXPORTED_PREKEYS)),
        Field(6, "retiring", ListOf(Nested(RetiringPrekeys), MAX_EXPORTED_PREKEYS)),
        Field(7, "replay", ListOf(_DIGEST, REPLAY_CACHE_SIZE)),
        Field(8, "next_x25519_id", UInt(MAX_PREKEY_ID + 1)),
        Field(9, "next_kem_id", UInt(MAX_PREKEY_ID + 1)),
    )
    MAX_SIZE: ClassVar[int] = 64 << 20

    signed: tuple[SignedPrekeyPrivate, ...]
    signed_current: int
    kem: tuple[KemPrekeyPrivate, ...]
    kem_last_resort: int
    one_time: tuple[OneTimePrekeyPrivate, ...]
    retiring: tuple[RetiringPrekeys, ...]
    replay: tuple[bytes, ...]
    next_x25519_id: int
    next_kem_id: int


@dataclass(slots=True)
class _Retiring:
    """A rotated-out signed prekey and last-resort KEM prekey, answered until ``expires_at``."""

    signed: SignedPrekeyPair
    kem: KemPrekeyPair
    expires_at: int


class PrekeyStore:
    """Spec §6.7–§6.8: the responder's private prekeys, replay cache and lifecycle.

    Lookups by id are dictionary lookups, so a store with 10,000 one-time prekeys answers as
    fast as one with 10. :meth:`respond` is transactional: on any failure the store is exactly
    as it was (no prekey consumed, nothing cached).
    """

    __slots__ = (
        "_identity",
        "_kem",
        "_kem_last_resort",
        "_next_kem_id",
        "_next_x25519_id",
        "_one_time",
        "_one_time_kem",
        "_replay",
        "_retiring",
        "_signed",
        "_signed_current",
    )

    def __init__(
        self,
        identity: IdentityKeyPair,
        signed_prekey: SignedPrekeyPair,
        kem_last_resort: KemPrekeyPair,
        *,
        one_time: Iterable[OneTimePrekeyPair] = (),
        kem_one_time: Iterable[KemPrekeyPair] = (),
    ) -> None:
        if not kem_last_resort.public.last_resort:
            raise UsageError("usage.bad_argument", "kem_last_resort must be a last-resort key")
        self._identity = identity
        self._signed: dict[int, SignedPrekeyPair] = {signed_prekey.id: signed_prekey}
        self._signed_current = signed_prekey
        self._kem_last_resort = kem_last_resort
        self._kem: dict[int, KemPrekeyPair] = {kem_last_resort.id: kem_last_resort}
        self._one_time: dict[int, OneTimePrekeyPair] = {}
        self._one_time_kem: set[int] = set()
        self._retiring: list[_Retiring] = []
        self._replay: OrderedDict[bytes, None] = OrderedDict()
        for opk in one_time:
            self._one_time[opk.id] = opk
        for kem in kem_one_time:
            if kem.public.last_resort or kem.id in self._kem:
                raise UsageError("usage.bad_argument", "one-time KEM prekeys: flag or id clash")
            self._kem[kem.id] = kem
            self._one_time_kem.add(kem.id)
        if signed_prekey.id in self._one_time:
            raise UsageError("usage.bad_argument", "X25519 prekey ids must be distinct")
        self._next_x25519_id = max([signed_prekey.id, *self._one_time]) + 1
        self._next_kem_id = max(self._kem) + 1

    # --- lifecycle (spec §6.8) ------------------------------------------------------------------

    @classmethod
    def create(
        cls, identity: IdentityKeyPair, *, now: int, rng: Rng, batch: int = REFILL_TARGET
    ) -> tuple[PrekeyStore, PrekeyUpload]:
        """Spec §6.8: a new store with ``batch`` one-time prekeys of each kind, and its upload."""
        if not 0 <= batch <= min(MAX_ONE_TIME_PREKEYS, MAX_KEM_ONE_TIME_PREKEYS):
            raise UsageError("usage.bad_argument", "batch out of range")
        signed = SignedPrekeyPair.generate(identity, prekey_id=1, now=now, rng=rng)
        last = KemPrekeyPair.generate(identity, prekey_id=1, now=now, last_resort=True, rng=rng)
        store = cls(identity, signed, last)
        new_x, new_k = store._generate_one_time(batch, batch, now, rng)
        return store, store._upload(new_x, new_k)

    def maintain(self, *, now: int, rng: Rng) -> PrekeyUpload | None:
        """Spec §6.8: expire, rotate and refill; the upload to publish, or None if nothing changed.

        * retired prekeys whose grace period has ended are deleted;
        * a signed prekey older than :data:`ROTATION_INTERVAL` is replaced, together with the
          last-resort KEM prekey; the old pair keeps answering for :data:`GRACE_PERIOD`;
        * when fewer than :data:`REFILL_THRESHOLD` one-time prekeys of a kind remain, new ones
          are generated up to :data:`REFILL_TARGET`.
        """
        self._retiring = [r for r in self._retiring if r.expires_at > now]
        live_signed = {self.signed_prekey.id} | {r.signed.id for r in self._retiring}
        live_kem = {self._kem_last_resort.id} | {r.kem.id for r in self._retiring}
        self._signed = {i: k for i, k in self._signed.items() if i in live_signed}
        self._kem = {i: k for i, k in self._kem.items() if i in live_kem or i in self._one_time_kem}
        changed = False
        if now - self._signed_current.public.created_at >= ROTATION_INTERVAL:
            self._retiring.append(
                _Retiring(self.signed_prekey, self._kem_last_resort, now + GRACE_PERIOD)
            )
            signed = SignedPrekeyPair.generate(
                self._identity, prekey_id=self._take_x25519_id(), now=now, rng=rng
            )
            last = KemPrekeyPair.generate(
                self._identity, prekey_id=self._take_kem_id(), now=now, last_resort=True, rng=rng
            )
            self._signed[signed.id] = signed
            self._signed_current = signed
            self._kem_last_resort = last
            self._kem[last.id] = last
            changed = True
        new_x, new_k = self._generate_one_time(
            _refill_count(len(self._one_time)), _refill_count(len(self._one_time_kem)), now, rng
        )
        if not (changed or new_x or new_k):
            return None
        return self._upload(new_x, new_k)

    def _generate_one_time(
        self, x_count: int, kem_count: int, now: int, rng: Rng
    ) -> tuple[list[OneTimePrekeyPair], list[KemPrekeyPair]]:
        new_x = [
            OneTimePrekeyPair.generate(prekey_id=self._take_x25519_id(), rng=rng)
            for _ in range(x_count)
        ]
        new_k = [
            KemPrekeyPair.generate(
                self._identity, prekey_id=self._take_kem_id(), now=now, last_resort=False, rng=rng
            )
            for _ in range(kem_count)
        ]
        for opk in new_x:
            self._one_time[opk.id] = opk
        for kem in new_k:
            self._kem[kem.id] = kem
            self._one_time_kem.add(kem.id)
        return new_x, new_k

    def draft_one_time(self, count: int, *, rng: Rng) -> tuple[OneTimePrekeyPair, ...]:
        """Spec §6.8, §12.6: ``count`` new one-time prekeys with the next free ids, without
        changing the store; :meth:`adopt_one_time` keeps them once their upload succeeded
        (a client's transactional refill)."""
        if type(count) is not int or not 0 <= count <= MAX_ONE_TIME_PREKEYS:
            raise UsageError("usage.bad_argument", "count out of range")
        first = self._next_x25519_id
        if first + count - 1 > MAX_PREKEY_ID:
            raise UsageError("usage.bad_argument", "X25519 prekey ids exhausted")
        return tuple(OneTimePrekeyPair.generate(prekey_id=first + i, rng=rng) for i in range(count))

    def adopt_one_time(self, pairs: Iterable[OneTimePrekeyPair]) -> None:
        """Keep one-time prekeys made by :meth:`draft_one_time` (their ids must still be free
        and ascending from the next free id, else ``usage.bad_state``: drafted twice)."""
        pairs = tuple(pairs)
        expected = self._next_x25519_id
        for pair in pairs:
            if type(pair) is not OneTimePrekeyPair:
                raise UsageError("usage.bad_argument", "one-time prekey pairs")
            if pair.id != expected:
                raise UsageError("usage.bad_state", "one-time prekeys drafted out of turn")
            expected += 1
        for pair in pairs:
            self._one_time[pair.id] = pair
        self._next_x25519_id = expected

    def discard_one_time(self, ids: Iterable[int]) -> None:
        """Delete the one-time prekeys ``ids`` that are still held (those that were hosted
        only at a mailbox that is gone, spec §12.6); ids not held are skipped."""
        for prekey_id in ids:
            self._one_time.pop(prekey_id, None)

    def _take_x25519_id(self) -> int:
        if self._next_x25519_id > MAX_PREKEY_ID:
            raise UsageError("usage.bad_argument", "X25519 prekey ids exhausted")
        self._next_x25519_id += 1
        return self._next_x25519_id - 1

    def _take_kem_id(self) -> int:
        if self._next_kem_id > MAX_PREKEY_ID:
            raise UsageError("usage.bad_argument", "KEM prekey ids exhausted")
        self._next_kem_id += 1
        return self._next_kem_id - 1

    def _upload(self, one_time: list[OneTimePrekeyPair], kem: list[KemPrekeyPair]) -> PrekeyUpload:
        return PrekeyUpload(
            self._identity.public,
            self.signed_prekey.public,
            tuple(p.public for p in one_time),
            self._kem_last_resort.public,
            tuple(k.public for k in kem),
        )

    @property
    def signed_prekey(self) -> SignedPrekeyPair:
        """The current signed prekey (the one published in bundles)."""
        return self._signed_current

    @property
    def one_time_count(self) -> int:
        return len(self._one_time)

    @property
    def kem_one_time_count(self) -> int:
        return len(self._one_time_kem)

    def held_ids(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int]:
        """Signed, one-time and KEM prekey ids held, and the replay-cache size (for tests)."""
        return (
            tuple(sorted(self._signed)),
            tuple(sorted(self._one_time)),
            tuple(sorted(self._kem)),
            len(self._replay),
        )

    # --- responder (spec §6.7) ------------------------------------------------------------------

    def respond(self, data: bytes, *, rng: Rng) -> Responded:
        """Spec §6.7: accept an initial message; transactional.

        Order: decode (``decode.*``) → look up the prekeys (``state.unknown_prekey``) →
        authenticate: the initiator's identity binding, then the first ratchet message through
        the DH ratchet step's receiving half (``auth.failed``; ``decode.low_order`` and
        ``state.skip_limit`` from its header) → replay check for reusable prekeys
        (``state.replay``) → the sending half draws the session's new ratchet key from
        ``rng`` → commit: delete the one-time prekeys used, remember the digest. A refused
        message draws nothing.
        """
        return self.respond_message(InitialMessage.from_bytes(data), rng=rng)

    def respond_message(self, message: InitialMessage, *, rng: Rng) -> Responded:
        """Spec §6.7 steps 2–7 for a decoded initial message; transactional."""
        return self._respond(message, rng, None, None)

    def _respond(
        self,
        message: _Initial,
        rng: Rng,
        kem_prekey: KemPrekeyPair | None,
        kem_secret: bytes | None,
        check: Callable[[bytes], bytes] | None = None,
    ) -> Responded:
        """Spec §6.7 steps 2–7. ``kem_prekey`` is a reusable KEM prekey held outside the store —
        the first-contact key of an epoch (§9.4.3), whose id is the message's
        ``kem_prekey_id`` — and takes the place of the store's lookup; ``kem_secret`` is its
        decapsulation of ``kem_ciphertext`` when the caller already made it (the seal's PSK).
        ``check`` maps the authenticated first plaintext to the one returned (an SMS first
        contact's padding, §11.5); it runs after step 5 and before the replay check of step 6,
        so that a refusal, like any other, changes nothing and draws nothing."""
        signed = self._signed.get(message.signed_prekey_id)
        if kem_prekey is None:
            kem = self._kem.get(message.kem_prekey_id)
            one_time_kem = kem is not None and kem.id in self._one_time_kem
        else:
            kem = kem_prekey if kem_prekey.id == message.kem_prekey_id else None
            one_time_kem = False
        opk_id = message.one_time_prekey_id
        opk = None if opk_id is None else self._one_time.get(opk_id)
        if signed is None or kem is None or (opk_id is not None and opk is None):
            raise StateError("state.unknown_prekey", "initial message names an unknown prekey")
        peer = message.identity
        peer.verify()
        secrets, ad = self._agree(message, signed, opk, kem, kem_secret)
        ek = message.ephemeral_key
        session = Session.responder(
            root_key=secrets.root_key,
            header_key=secrets.header_key,
            next_header_key=secrets.next_header_key,
            ratchet_private_key=signed.key_pair,
            associated_data=ad,
            rng=rng,
        )
        reusable = opk is None and not one_time_kem
        digest = sha256(LABEL_HANDSHAKE_REPLAY + ek + message.kem_ciphertext) if reusable else b""

        def check_replay(plaintext: bytes) -> bytes:
            # Spec §6.7 step 6: after authentication, before the session draws its ratchet key.
            if check is not None:
                plaintext = check(plaintext)
            if reusable and digest in self._replay:
                raise StateError("state.replay", "initial message already accepted")
            return plaintext

        plaintext = session.decrypt(message.payload, check=check_replay)
        # Commit: nothing above changed the store.
        if opk_id is not None:
            del self._one_time[opk_id]
        if one_time_kem:
            self._one_time_kem.discard(kem.id)
            del self._kem[kem.id]
        if reusable:
            self._replay[digest] = None
            if len(self._replay) > REPLAY_CACHE_SIZE:
                self._replay.popitem(last=False)
        return Responded(session, plaintext, peer)

    def _agree(
        self,
        message: _Initial,
        signed: SignedPrekeyPair,
        opk: OneTimePrekeyPair | None,
        kem: KemPrekeyPair,
        kem_secret: bytes | None = None,
    ) -> tuple[_Secrets, bytes]:
        """Spec §6.7 step 4: the responder's DH1..DH4, SS (``kem_secret`` if already known),
        secrets and AD."""
        peer, ek = message.identity, message.ephemeral_key
        secrets = _derive(
            signed.dh(peer.dh_key),
            self._identity.dh(ek),
            signed.dh(ek),
            None if opk is None else opk.dh(ek),
            kem.decapsulate(message.kem_ciphertext) if kem_secret is None else kem_secret,
        )
        ad = _associated_data(
            peer,
            self._identity.public,
            ek,
            signed.id,
            message.one_time_prekey_id,
            kem.id,
            kem.public.public_key,
        )
        return secrets, ad

    def bundle(self) -> PrekeyBundle:
        """A bundle as a directory would hand it out (for tests and the demo, spec §4.5)."""
        opk = next(iter(self._one_time.values()), None)
        kem_id = next(iter(sorted(self._one_time_kem)), self._kem_last_resort.id)
        return PrekeyBundle(
            self._identity.public,
            self.signed_prekey.public,
            None if opk is None else opk.public,
            self._kem[kem_id].public,
        )

    # --- export (spec §12.7) ----------------------------------------------------------------

    def export_state(self) -> PrekeyStoreState:
        """Spec §12.7: an immutable copy of everything the store holds (never the live store)."""
        return PrekeyStoreState(
            signed=tuple(
                SignedPrekeyPrivate(k.private_bytes(), k.public) for k in self._signed.values()
            ),
            signed_current=self._signed_current.id,
            kem=tuple(KemPrekeyPrivate(k.private_bytes(), k.public) for k in self._kem.values()),
            kem_last_resort=self._kem_last_resort.id,
            one_time=tuple(
                OneTimePrekeyPrivate(k.id, k.private_bytes()) for k in self._one_time.values()
            ),
            retiring=tuple(
                RetiringPrekeys(r.signed.id, r.kem.id, r.expires_at) for r in self._retiring
            ),
            replay=tuple(self._replay),
            next_x25519_id=self._next_x25519_id,
            next_kem_id=self._next_kem_id,
        )

    @classmethod
    def from_state(cls, identity: IdentityKeyPair, state: PrekeyStoreState) -> PrekeyStore:
        """Spec §12.7: a live store from an exported state of ``identity``'s store. A state
        whose parts contradict each other (a private key that does not match its public key,
        an id named but not held, a key not signed by ``identity``'s store kind) is
        ``decode.bad_state``."""

        def bad(rule: str) -> DecodeError:
            return DecodeError("decode.bad_state", f"PrekeyStoreState: {rule}")

        try:
            signed = {k.public.id: SignedPrekeyPair(k.private_key, k.public) for k in state.signed}
            kem = {k.public.id: KemPrekeyPair(k.seed, k.public) for k in state.kem}
            one_time = [OneTimePrekeyPair(k.private_key, k.id) for k in state.one_time]
        except UsageError:
            raise bad("a private key does not match its public key") from None
        current = signed.get(state.signed_current)
        last = kem.get(state.kem_last_resort)
        if current is None or last is None or not last.public.last_resort:
            raise bad("the current signed or last-resort KEM prekey is not held")
        if len(signed) != len(state.signed) or len(kem) != len(state.kem):
            raise bad("two prekeys with one id")
        retiring = []
        for r in state.retiring:
            old_signed, old_kem = signed.get(r.signed_id), kem.get(r.kem_id)
            if old_signed is None or old_kem is None:
                raise bad("a retiring prekey is not held")
            retiring.append(_Retiring(old_signed, old_kem, r.expires_at))
        live_signed = {current.id} | {r.signed.id for r in retiring}
        if set(signed) != live_signed:
            raise bad("a signed prekey that is neither current nor retiring")
        ids = [*signed, *(k.id for k in one_time)]
        if len(set(ids)) != len(ids) or max(ids) >= state.next_x25519_id:
            raise bad("X25519 prekey ids clash or are not below the next id")
        if max(kem) >= state.next_kem_id:
            raise bad("KEM prekey ids are not below the next id")
        store = cls(identity, current, last, one_time=one_time)
        store._signed = signed
        store._kem = kem
        store._one_time_kem = {i for i, k in kem.items() if not k.public.last_resort}
        store._retiring = retiring
        store._replay = OrderedDict.fromkeys(state.replay)
        store._next_x25519_id = state.next_x25519_id
        store._next_kem_id = state.next_kem_id
        return store

    def __repr__(self) -> str:
        return (
            f"PrekeyStore(signed={sorted(self._signed)}, one_time={len(self._one_time)}, "
            f"kem_one_time={len(self._one_time_kem)}, private=<redacted>)"
        )

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("PrekeyStore holds private keys and cannot be pickled")
