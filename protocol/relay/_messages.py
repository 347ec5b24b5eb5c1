"""Spec §10: the relay's wire structures (CDDL in ``spec/wire.cddl``), typed messages (§2.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from ..codec import Bytes, Field, FixedBytes, ListOf, Message, Nested, UInt
from ..envelope import ADDRESS_SIZE, ENVELOPE_ID_SIZE, MAX_ENVELOPE_SIZE, FirstContactBundle
from ..errors import DecodeError
from ..keys import MAX_ONE_TIME_PREKEYS, OneTimePrekey
from ..primitives import (
    ED25519_PUBLIC_KEY_SIZE,
    ED25519_SIGNATURE_SIZE,
    RISTRETTO255_ELEMENT_SIZE,
    Element,
    Scalar,
)

__all__ = [
    "ACK_OP",
    "DELETE_OP",
    "FETCH_OP",
    "KIND_CONVERSATION",
    "KIND_FIRST_CONTACT",
    "MAX_ACK_IDS",
    "MAX_EFFORT",
    "MAX_FETCH_ENVELOPES",
    "MIN_EFFORT",
    "NONCE_SIZE",
    "OPEN_OP",
    "PUBLISH_OP",
    "RELAY_ID_SIZE",
    "AckBody",
    "AckResponse",
    "BundleRequest",
    "BundleResponse",
    "DeleteBody",
    "Deposit",
    "DepositResponse",
    "Done",
    "FetchBody",
    "FetchResponse",
    "OpenBody",
    "OwnerRequest",
    "PublishBody",
    "StoredEnvelope",
]

RELAY_VERSION: Final = 1
#: Spec §10.2: a relay identifies itself with 32 bytes.
RELAY_ID_SIZE: Final = 32
#: Spec §10.6: a proof-of-work nonce.
NONCE_SIZE: Final = 16
SEED_SIZE: Final = 32
#: Spec §10.6: bounds of the effort an owner may set.
MIN_EFFORT: Final = 2**8
MAX_EFFORT: Final = 2**24
DEFAULT_EFFORT: Final = 2**16
#: Spec §10.3: mailbox kinds.
KIND_FIRST_CONTACT: Final = 1
KIND_CONVERSATION: Final = 2
#: Spec §10.3: owner operations.
OPEN_OP: Final = 1
PUBLISH_OP: Final = 2
FETCH_OP: Final = 3
ACK_OP: Final = 4
DELETE_OP: Final = 5
#: Spec §10.1.
MAX_FETCH_ENVELOPES: Final = 100
MAX_FETCH_BYTES: Final = 1 << 20
MAX_ACK_IDS: Final = 100
#: The largest body of an owner request (a publish: a bundle and 100 one-time prekeys).
MAX_BODY_SIZE: Final = 8192

_TIME: Final = UInt(2**64 - 1)
_ADDRESS: Final = FixedBytes(ADDRESS_SIZE)
_ID: Final = FixedBytes(ENVELOPE_ID_SIZE)
_ENVELOPE: Final = Bytes(MAX_ENVELOPE_SIZE)


def _check_element(value: bytes, where: str) -> None:
    try:
        Element(value)
    except DecodeError:
        raise DecodeError("decode.bad_element", f"{where}: not a ristretto255 element") from None


@dataclass(frozen=True, slots=True)
class OwnerRequest(Message):
    """Spec §10.2: an owner operation with its proof (CDDL ``relay-owner-request``).

    ``body`` is the encoding of the operation's parameters (an :class:`OpenBody`, …); decoding
    checks ``commitment`` is an element and ``response`` a reduced scalar
    (``decode.bad_element``). The address is checked only by the proof (§10.2 step 2).
    """

    VERSION: ClassVar[int] = RELAY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "address", _ADDRESS),
        Field(2, "time", _TIME),
        Field(3, "op", UInt(DELETE_OP, OPEN_OP)),
        Field(4, "body", Bytes(MAX_BODY_SIZE)),
        Field(5, "commitment", FixedBytes(RISTRETTO255_ELEMENT_SIZE)),
        Field(6, "response", FixedBytes(32)),
    )
    MAX_SIZE: ClassVar[int] = MAX_BODY_SIZE + 256

    address: bytes
    time: int
    op: int
    body: bytes
    commitment: bytes
    response: bytes

    def _check(self) -> None:
        _check_element(self.commitment, "OwnerRequest.commitment")
        Scalar(self.response)  # decode.bad_element when not reduced


@dataclass(frozen=True, slots=True)
class OpenBody(Message):
    """Spec §10.3 ``open``: a mailbox's kind and its effort or deposit key."""

    VERSION: ClassVar[int] = RELAY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "kind", UInt(KIND_CONVERSATION, KIND_FIRST_CONTACT)),
        Field(2, "effort", UInt(MAX_EFFORT, MIN_EFFORT), optional=True),
        Field(3, "deposit_key", FixedBytes(ED25519_PUBLIC_KEY_SIZE), optional=True),
    )
    MAX_SIZE: ClassVar[int] = 64

    kind: int
    effort: int | None = None
    deposit_key: bytes | None = None

    def _check(self) -> None:
        if self.kind == KIND_CONVERSATION:
            if self.deposit_key is None:
                raise DecodeError("decode.missing_field", "OpenBody: a deposit key")
            if self.effort is not None:
                raise DecodeError("decode.unknown_field", "OpenBody: effort")
        elif self.deposit_key is not None:
            raise DecodeError("decode.unknown_field", "OpenBody: deposit_key")


@dataclass(frozen=True, slots=True)
class PublishBody(Message):
    """Spec §10.3 ``publish``: the bundle to host (without a one-time prekey) and more
    one-time prekeys for its pool."""

    VERSION: ClassVar[int] = RELAY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "bundle", Nested(FirstContactBundle)),
        Field(2, "one_time_prekeys", ListOf(Nested(OneTimePrekey), MAX_ONE_TIME_PREKEYS)),
    )
    MAX_SIZE: ClassVar[int] = MAX_BODY_SIZE

    bundle: FirstContactBundle
    one_time_prekeys: tuple[OneTimePrekey, ...]

    def _check(self) -> None:
        if self.bundle.one_time_prekey is not None:
            raise DecodeError("decode.range", "PublishBody.bundle: a hosted bundle has no OPK")


@dataclass(frozen=True, slots=True)
class FetchBody(Message):
    """Spec §10.3 ``fetch``: how many envelopes at most."""

    VERSION: ClassVar[int] = RELAY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (Field(1, "limit", UInt(MAX_FETCH_ENVELOPES, 1)),)
    MAX_SIZE: ClassVar[int] = 16

    limit: int


@dataclass(frozen=True, slots=True)
class AckBody(Message):
    """Spec §10.3 ``ack``: the ids of the envelopes to delete."""

    VERSION: ClassVar[int] = RELAY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (Field(1, "ids", ListOf(_ID, MAX_ACK_IDS, 1)),)
    MAX_SIZE: ClassVar[int] = 2048

    ids: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class DeleteBody(Message):
    """Spec §10.3 ``delete``: no parameters."""

    VERSION: ClassVar[int] = RELAY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = ()
    MAX_SIZE: ClassVar[int] = 8


#: Spec §10.3: the body structure of each owner operation.
BODIES: Final[dict[int, type[Message]]] = {
    OPEN_OP: OpenBody,
    PUBLISH_OP: PublishBody,
    FETCH_OP: FetchBody,
    ACK_OP: AckBody,
    DELETE_OP: DeleteBody,
}


@dataclass(frozen=True, slots=True)
class Done(Message):
    """Spec §10.3: the answer of ``open``, ``publish`` and ``delete``."""

    VERSION: ClassVar[int] = RELAY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = ()
    MAX_SIZE: ClassVar[int] = 8


@dataclass(frozen=True, slots=True)
class StoredEnvelope(Message):
    """Spec §10.3 ``fetch``: one envelope with its id and arrival time."""

    VERSION: ClassVar[int] = RELAY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "id", _ID),
        Field(2, "arrival", _TIME),
        Field(3, "envelope", _ENVELOPE),
    )
    MAX_SIZE: ClassVar[int] = MAX_ENVELOPE_SIZE + 64

    id: bytes
    arrival: int
    envelope: bytes


@dataclass(frozen=True, slots=True)
class FetchResponse(Message):
    """Spec §10.3 ``fetch``: envelopes oldest first (at most 100, about 1 MiB)."""

    VERSION: ClassVar[int] = RELAY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "envelopes", ListOf(Nested(StoredEnvelope), MAX_FETCH_ENVELOPES)),
    )
    MAX_SIZE: ClassVar[int] = MAX_FETCH_BYTES + MAX_ENVELOPE_SIZE + 8192

    envelopes: tuple[StoredEnvelope, ...]


@dataclass(frozen=True, slots=True)
class AckResponse(Message):
    """Spec §10.3 ``ack``: how many envelopes were deleted."""

    VERSION: ClassVar[int] = RELAY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (Field(1, "deleted", UInt(MAX_ACK_IDS)),)
    MAX_SIZE: ClassVar[int] = 16

    deleted: int


@dataclass(frozen=True, slots=True)
class BundleRequest(Message):
    """Spec §10.3 ``bundle``: which routing ID."""

    VERSION: ClassVar[int] = RELAY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (Field(1, "address", _ADDRESS),)
    MAX_SIZE: ClassVar[int] = 64

    address: bytes


@dataclass(frozen=True, slots=True)
class BundleResponse(Message):
    """Spec §10.3 ``bundle``: the hosted bundle (with a one-time prekey when one was handed
    out), the relay's current proof-of-work seed and the mailbox's effort."""

    VERSION: ClassVar[int] = RELAY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "bundle", Nested(FirstContactBundle)),
        Field(2, "seed", FixedBytes(SEED_SIZE)),
        Field(3, "effort", UInt(MAX_EFFORT, MIN_EFFORT)),
    )
    MAX_SIZE: ClassVar[int] = 4096

    bundle: FirstContactBundle
    seed: bytes
    effort: int


@dataclass(frozen=True, slots=True)
class Deposit(Message):
    """Spec §10.4–§10.6: an envelope with its authorisation (CDDL ``relay-deposit``).

    A first-contact mailbox wants ``seed`` and ``nonce`` (proof of work); a conversation mailbox
    ``time`` and ``signature`` (the deposit capability). Each pair is both present or both
    absent (``decode.missing_field``); which one applies is the mailbox's business.
    """

    VERSION: ClassVar[int] = RELAY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "envelope", _ENVELOPE),
        Field(2, "seed", FixedBytes(SEED_SIZE), optional=True),
        Field(3, "nonce", FixedBytes(NONCE_SIZE), optional=True),
        Field(4, "time", _TIME, optional=True),
        Field(5, "signature", FixedBytes(ED25519_SIGNATURE_SIZE), optional=True),
    )
    MAX_SIZE: ClassVar[int] = MAX_ENVELOPE_SIZE + 256

    envelope: bytes
    seed: bytes | None = None
    nonce: bytes | None = None
    time: int | None = None
    signature: bytes | None = None

    def _check(self) -> None:
        if (self.seed is None) != (self.nonce is None):
            raise DecodeError("decode.missing_field", "Deposit: seed and nonce go together")
        if (self.time is None) != (self.signature is None):
            raise DecodeError("decode.missing_field", "Deposit: time and signature go together")


@dataclass(frozen=True, slots=True)
class DepositResponse(Message):
    """Spec §10.4: the id of the stored envelope."""

    VERSION: ClassVar[int] = RELAY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (Field(1, "id", _ID),)
    MAX_SIZE: ClassVar[int] = 32

    id: bytes
