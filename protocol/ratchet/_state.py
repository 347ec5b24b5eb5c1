"""Spec §7.4, §7.8: the ratchet's limits and its exported state (snapshot, blob, migrations).

Everything here is plain data: :class:`Limits` (the named bounds of §7.4), the typed CBOR
structures of an exported session (:class:`SessionState` version 1, :class:`SessionStateV0`
for the draft layout that the migration chain upgrades), and :class:`SessionSnapshot`, the
export type, with its encrypted byte form (§7.8). The live state machine is in ``_core``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Final

from .. import labels
from ..codec import Bytes, CborValue, Field, FixedBytes, ListOf, Message, Nested, UInt, decode
from ..errors import AuthenticationError, DecodeError, UsageError
from ..keys import check_x25519_public_key
from ..primitives import (
    XCHACHA20_POLY1305_NONCE_SIZE,
    Rng,
    labeled_kdf,
    random_bytes,
    xchacha20_poly1305_open,
    xchacha20_poly1305_seal,
)

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_ASSOCIATED_DATA_SIZE",
    "MAX_MESSAGE_NUMBER",
    "MAX_STATE_SIZE",
    "SKIPPED_RECORD_SIZE",
    "STATE_VERSION",
    "STORAGE_KEY_SIZE",
    "Limits",
    "PreviousChain",
    "PreviousChainV0",
    "SessionSnapshot",
    "SessionState",
    "SessionStateV0",
    "pack_skipped",
    "unpack_skipped",
]

# --- Spec §7.4: limits ------------------------------------------------------------------------

#: Spec §7.3: message numbers are uint32; a receiving counter may reach 2**32.
MAX_MESSAGE_NUMBER: Final = 2**32 - 1
#: Spec §7.4: the largest ``max_jump`` a session may be configured with.
MAX_JUMP_CEILING: Final = 100_000
#: Spec §7.4: the largest ``max_skipped_keys``.
MAX_SKIPPED_CEILING: Final = 20_000
#: Spec §7.4: the largest ``max_chain_age``.
MAX_CHAIN_AGE_CEILING: Final = 64
#: Spec §7.4: the largest ``tag_window``.
MAX_TAG_WINDOW_CEILING: Final = 1024
#: Spec §7.1: the associated data from the handshake is at most this long.
MAX_ASSOCIATED_DATA_SIZE: Final = 4096


@dataclass(frozen=True, slots=True)
class Limits(Message):
    """Spec §7.4: the bounds of one session (CDDL ``ratchet-limits``).

    * ``max_jump`` — the most message keys one received message may make the session skip on
      one chain (Signal's ``MAX_SKIP``); beyond it the message is refused
      (``state.skip_limit``) and nothing changes.
    * ``max_skipped_keys`` — the most skipped message keys stored in total; beyond it the
      oldest are deleted first.
    * ``max_chain_age`` — a previous receiving chain (its skipped keys and its header key) is
      deleted once it is more than this many DH ratchet steps old.
    * ``tag_window`` — how many expected tags a session publishes per receiving chain for
      session lookup (§7.5); at most ``max_jump``.

    Construction validates the ranges (``usage.bad_argument``); decoding rejects them with
    ``decode.range``.
    """

    VERSION: ClassVar[int] = 1
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "max_jump", UInt(MAX_JUMP_CEILING, 1)),
        Field(2, "max_skipped_keys", UInt(MAX_SKIPPED_CEILING)),
        Field(3, "max_chain_age", UInt(MAX_CHAIN_AGE_CEILING, 1)),
        Field(4, "tag_window", UInt(MAX_TAG_WINDOW_CEILING, 1)),
    )
    MAX_SIZE: ClassVar[int] = 64

    max_jump: int = 2000
    max_skipped_keys: int = 2000
    max_chain_age: int = 4
    tag_window: int = 32

    def _check(self) -> None:
        if self.tag_window > self.max_jump:
            raise DecodeError("decode.range", "Limits: tag_window exceeds max_jump")


#: Spec §7.4: the default limits.
DEFAULT_LIMITS: Final = Limits()

# --- Spec §7.8: exported state ----------------------------------------------------------------

#: Spec §7.8: the current version of ``session-state``.
STATE_VERSION: Final = 1
#: Spec §7.8: a stored skipped key is ``u32be(n) || message_key``.
SKIPPED_RECORD_SIZE: Final = 4 + 32
#: Spec §7.8: the input limit of an exported state (the largest valid one is below 800 KB).
MAX_STATE_SIZE: Final = 1 << 20
#: Spec §7.8: the caller's storage key is 32 bytes.
STORAGE_KEY_SIZE: Final = 32
#: Spec §7.8: the format of the encrypted blob, bound into its key derivation.
BLOB_FORMAT: Final = 1

_KEY: Final = FixedBytes(32)
_SKIPPED: Final = Bytes(MAX_SKIPPED_CEILING * SKIPPED_RECORD_SIZE)
_AD: Final = Bytes(MAX_ASSOCIATED_DATA_SIZE)
_INDEX: Final = UInt(2**64 - 1)


def pack_skipped(records: list[tuple[int, bytes]]) -> bytes:
    """Spec §7.8: the byte form of one chain's skipped keys, ``u32be(n) || mk`` each."""
    return b"".join(n.to_bytes(4, "big") + mk for n, mk in records)


def unpack_skipped(data: bytes) -> list[tuple[int, bytes]]:
    """Spec §7.8: the records of :func:`pack_skipped` (length already checked)."""
    size = SKIPPED_RECORD_SIZE
    return [
        (int.from_bytes(data[i : i + 4], "big"), data[i + 4 : i + size])
        for i in range(0, len(data), size)
    ]


def _check_records(data: bytes, below: int | None, where: str) -> int:
    """Length a multiple of 36, numbers strictly ascending (and below ``below``)."""
    if len(data) % SKIPPED_RECORD_SIZE:
        raise DecodeError("decode.length", f"{where}: not a whole number of records")
    previous = -1
    for n, _ in unpack_skipped(data):
        if n <= previous or (below is not None and n >= below):
            raise DecodeError("decode.bad_state", f"{where}: message numbers out of order")
        previous = n
    return len(data) // SKIPPED_RECORD_SIZE


class _Secret:
    """Redacted, unpicklable: exported states are all secret."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("session state cannot be pickled; use SessionSnapshot.to_bytes")


@dataclass(frozen=True, slots=True, repr=False)
class PreviousChain(_Secret, Message):
    """Spec §7.8: a previous receiving chain (CDDL ``previous-chain``)."""

    VERSION: ClassVar[int] = STATE_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "header_key", _KEY),
        Field(2, "index", _INDEX),
        Field(3, "skipped", _SKIPPED),
    )

    header_key: bytes
    index: int
    skipped: bytes

    def _check(self) -> None:
        _check_records(self.skipped, None, "PreviousChain.skipped")


@dataclass(frozen=True, slots=True, repr=False)
class SessionState(_Secret, Message):
    """Spec §7.8: the complete state of a session, version 1 (CDDL ``session-state``).

    The field names are those of Signal's state variables (§7.2): ``root_key`` RK,
    ``sending_ratchet_private`` DHs, ``receiving_ratchet_public`` DHr, ``sending_chain_key``
    CKs, ``sending_n`` Ns, ``previous_sending_n`` PN, ``sending_header_key`` HKs,
    ``next_sending_header_key`` NHKs, ``receiving_chain_key`` CKr, ``receiving_n`` Nr,
    ``receiving_header_key`` HKr, ``next_receiving_header_key`` NHKr; the skipped keys
    (MKSKIPPED) are grouped by chain, oldest chain first, each chain in message order, which is
    also the order of eviction (§7.6).
    """

    VERSION: ClassVar[int] = STATE_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "associated_data", _AD),
        Field(2, "limits", Nested(Limits)),
        Field(3, "root_key", _KEY),
        Field(4, "sending_ratchet_private", _KEY),
        Field(5, "receiving_ratchet_public", _KEY, optional=True),
        Field(6, "sending_chain_key", _KEY, optional=True),
        Field(7, "sending_n", UInt(MAX_MESSAGE_NUMBER)),
        Field(8, "previous_sending_n", UInt(MAX_MESSAGE_NUMBER)),
        Field(9, "sending_header_key", _KEY, optional=True),
        Field(10, "next_sending_header_key", _KEY),
        Field(11, "receiving_chain_key", _KEY, optional=True),
        Field(12, "receiving_n", UInt(MAX_MESSAGE_NUMBER + 1)),
        Field(13, "receiving_header_key", _KEY, optional=True),
        Field(14, "next_receiving_header_key", _KEY),
        Field(15, "receiving_chain_index", _INDEX),
        Field(16, "receiving_skipped", _SKIPPED),
        Field(17, "previous_chains", ListOf(Nested(PreviousChain), MAX_CHAIN_AGE_CEILING)),
    )
    MAX_SIZE: ClassVar[int] = MAX_STATE_SIZE

    associated_data: bytes
    limits: Limits
    root_key: bytes
    sending_ratchet_private: bytes
    receiving_ratchet_public: bytes | None
    sending_chain_key: bytes | None
    sending_n: int
    previous_sending_n: int
    sending_header_key: bytes | None
    next_sending_header_key: bytes
    receiving_chain_key: bytes | None
    receiving_n: int
    receiving_header_key: bytes | None
    next_receiving_header_key: bytes
    receiving_chain_index: int
    receiving_skipped: bytes
    previous_chains: tuple[PreviousChain, ...]

    def _check(self) -> None:
        """Spec §7.8: the consistency rules of a session state (``decode.bad_state``)."""

        def bad(rule: str) -> DecodeError:
            return DecodeError("decode.bad_state", f"SessionState: {rule}")

        if self.receiving_ratchet_public is not None:
            check_x25519_public_key(self.receiving_ratchet_public)
        sending = self.sending_chain_key is not None
        receiving = self.receiving_chain_key is not None
        if sending != (self.sending_header_key is not None):
            raise bad("sending chain key and sending header key go together")
        if receiving != (self.receiving_header_key is not None):
            raise bad("receiving chain key and receiving header key go together")
        if sending and self.receiving_ratchet_public is None:
            raise bad("a sending chain needs the peer's ratchet key")
        if receiving and not sending:
            raise bad("a session that has received can send")
        if not sending and (self.sending_n or self.previous_sending_n):
            raise bad("no sending chain but a sending counter")
        if not receiving:
            if self.receiving_n or self.receiving_skipped or self.previous_chains:
                raise bad("no receiving chain but receiving state")
            if self.receiving_chain_index != 0:
                raise bad("no receiving chain but a chain index")
        elif self.receiving_chain_index == 0:
            raise bad("the first receiving chain has index 1")
        total = _check_records(
            self.receiving_skipped, self.receiving_n, "SessionState.receiving_skipped"
        )
        limits = self.limits
        if len(self.previous_chains) > limits.max_chain_age:
            raise bad("more previous chains than max_chain_age")
        last = self.receiving_chain_index - limits.max_chain_age - 1
        for chain in self.previous_chains:
            if not last < chain.index < self.receiving_chain_index:
                raise bad("previous chain indices out of order or too old")
            last = chain.index
            total += len(chain.skipped) // SKIPPED_RECORD_SIZE
        if total > limits.max_skipped_keys:
            raise bad("more skipped keys than max_skipped_keys")


# --- Spec §7.8.3: version 0 and the migration chain ---------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class PreviousChainV0(_Secret, Message):
    """Spec §7.8.3: a previous receiving chain in the version-0 draft layout (no index)."""

    VERSION: ClassVar[int] = 0
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "header_key", _KEY),
        Field(2, "skipped", _SKIPPED),
    )

    header_key: bytes
    skipped: bytes

    def _check(self) -> None:
        _check_records(self.skipped, None, "PreviousChainV0.skipped")


@dataclass(frozen=True, slots=True, repr=False)
class SessionStateV0(_Secret, Message):
    """Spec §7.8.3: the version-0 draft layout of a session state (CDDL ``session-state-v0``).

    Version 0 fixed the limits to the defaults and did not number receiving chains: it has no
    keys 2 and 15, and its previous chains carry no index. Everything else is as in version 1.
    Only loading is supported; :func:`_migrate_v0_to_v1` upgrades it.
    """

    VERSION: ClassVar[int] = 0
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "associated_data", _AD),
        Field(3, "root_key", _KEY),
        Field(4, "sending_ratchet_private", _KEY),
        Field(5, "receiving_ratchet_public", _KEY, optional=True),
        Field(6, "sending_chain_key", _KEY, optional=True),
        Field(7, "sending_n", UInt(MAX_MESSAGE_NUMBER)),
        Field(8, "previous_sending_n", UInt(MAX_MESSAGE_NUMBER)),
        Field(9, "sending_header_key", _KEY, optional=True),
        Field(10, "next_sending_header_key", _KEY),
        Field(11, "receiving_chain_key", _KEY, optional=True),
        Field(12, "receiving_n", UInt(MAX_MESSAGE_NUMBER + 1)),
        Field(13, "receiving_header_key", _KEY, optional=True),
        Field(14, "next_receiving_header_key", _KEY),
        Field(16, "receiving_skipped", _SKIPPED),
        Field(17, "previous_chains", ListOf(Nested(PreviousChainV0), MAX_CHAIN_AGE_CEILING)),
    )
    MAX_SIZE: ClassVar[int] = MAX_STATE_SIZE

    associated_data: bytes
    root_key: bytes
    sending_ratchet_private: bytes
    receiving_ratchet_public: bytes | None
    sending_chain_key: bytes | None
    sending_n: int
    previous_sending_n: int
    sending_header_key: bytes | None
    next_sending_header_key: bytes
    receiving_chain_key: bytes | None
    receiving_n: int
    receiving_header_key: bytes | None
    next_receiving_header_key: bytes
    receiving_skipped: bytes
    previous_chains: tuple[PreviousChainV0, ...]


def _migrate_v0_to_v1(old: dict[int | str, CborValue]) -> dict[int | str, CborValue]:
    """Spec §7.8.3: version 0 → 1 on the CBOR map (already validated as version 0).

    ``limits`` become the defaults. A session with a receiving chain numbers it ``k + 1``
    where ``k`` is the number of previous chains, and the previous chains ``1 .. k``, oldest
    first; a session without one has index 0. The result is validated as version 1.
    """
    new: dict[int | str, CborValue] = {key: value for key, value in old.items() if key != 17}
    new[0] = 1
    new[2] = DEFAULT_LIMITS.to_cbor()
    chains = old.get(17)
    assert isinstance(chains, list)
    receiving = 13 in old
    new[15] = len(chains) + 1 if receiving else 0
    upgraded: list[CborValue] = []
    for position, chain in enumerate(chains, start=1):
        assert isinstance(chain, dict)
        upgraded.append({0: 1, 1: chain[1], 2: position, 3: chain[2]})
    new[17] = upgraded
    return new


#: Spec §7.8.3: version → (its decoder, its upgrade to the next version).
_MIGRATIONS: Final[
    dict[
        int,
        tuple[type[Message], Callable[[dict[int | str, CborValue]], dict[int | str, CborValue]]],
    ]
] = {
    0: (SessionStateV0, _migrate_v0_to_v1),
}


def load_state(plaintext: bytes) -> SessionState:
    """Spec §7.8.3: decode an exported state of any supported version, migrating it to 1.

    Decoding errors are ``DecodeError``; a version neither current nor migratable is
    ``decode.version``.
    """
    value = decode(plaintext, max_size=MAX_STATE_SIZE)
    if type(value) is not dict:
        raise DecodeError("decode.type", "session state: expected a map")
    version = value.get(0)
    while version != STATE_VERSION:
        if type(version) is not int or version not in _MIGRATIONS:
            raise DecodeError("decode.version", "session state: unsupported version")
        decoder, upgrade = _MIGRATIONS[version]
        decoder.from_cbor(value)  # validates the old layout before it is upgraded
        value = upgrade(value)
        version = value[0]
    return SessionState.from_cbor(value)


def _blob_key(storage_key: bytes) -> bytes:
    if not isinstance(storage_key, bytes) or len(storage_key) != STORAGE_KEY_SIZE:
        raise UsageError("usage.bad_argument", "the storage key must be 32 bytes")
    return labeled_kdf(
        labels.LABEL_SESSION_STATE, storage_key, b"", BLOB_FORMAT.to_bytes(2, "big"), 32
    )


@dataclass(frozen=True, slots=True, repr=False, eq=True)
class SessionSnapshot(_Secret):
    """Spec §7.8: an immutable copy of a session's state — the export type.

    Made by :meth:`Session.snapshot`, turned back into a live session by
    :meth:`Session.restore`. It is never the live object: later operations on the session do
    not change a snapshot, and restoring one twice gives two independent sessions (which MUST
    NOT both be used to send: they would reuse message keys, §7.8.4).

    ``to_bytes(storage_key, rng)`` encrypts it for storage; ``from_bytes(blob, storage_key)``
    decrypts and loads a blob of any supported state version. Equality compares the complete
    state (tests use it to show that a failed operation changed nothing); it is not
    constant-time and is not meant for secrets in protocol logic.
    """

    state: SessionState

    def to_bytes(self, storage_key: bytes, rng: Rng) -> bytes:
        """Spec §7.8.1: ``nonce || XChaCha20-Poly1305(blob_key, nonce, CBOR(state), "")``.

        ``blob_key = KDF(LABEL_SESSION_STATE, storage_key, "", u16be(1), 32)``; the 24-byte
        nonce is drawn from ``rng``.
        """
        key = _blob_key(storage_key)
        nonce = random_bytes(rng, XCHACHA20_POLY1305_NONCE_SIZE)
        return nonce + xchacha20_poly1305_seal(key, nonce, self.state.to_bytes(), b"")

    @classmethod
    def from_bytes(cls, blob: bytes, storage_key: bytes) -> SessionSnapshot:
        """Spec §7.8.2: decrypt a blob and load it (migrating older state versions).

        A wrong storage key or any change to the blob (including truncation) is
        ``auth.failed``; an authentic blob whose state does not decode is a ``decode.*`` code.
        """
        key = _blob_key(storage_key)
        if not isinstance(blob, bytes) or len(blob) < XCHACHA20_POLY1305_NONCE_SIZE:
            raise AuthenticationError()
        nonce = blob[:XCHACHA20_POLY1305_NONCE_SIZE]
        plaintext = xchacha20_poly1305_open(key, nonce, blob[XCHACHA20_POLY1305_NONCE_SIZE:], b"")
        return cls(load_state(plaintext))
