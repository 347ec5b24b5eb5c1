"""Spec §5: safety numbers — a numeric and a scannable fingerprint of two identities.

Two users compare a *safety number* to check that each holds the other's real identity key
(and not a key substituted by a directory). As in Signal, each identity has a 30-digit
fingerprint derived by iterated SHA-512, and the safety number of a pair is both fingerprints,
the numerically smaller first, so that both sides display the same 60 digits.

Unlike Signal, nothing but the keys goes into the fingerprint: no phone number, no account or
device identifier. A safety number therefore reveals nothing about who the parties are, and it
changes exactly when an identity key changes.

The scannable form (for a QR code) is a small CBOR structure carrying both 32-byte
fingerprints from the point of view of the party displaying it; :func:`compare_scanned` checks
the scanned code against one's own safety number in constant time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from . import labels
from .codec import Field, FixedBytes, Message
from .errors import UsageError
from .keys import IdentityKey
from .primitives import ct_equal, sha512

__all__ = [
    "FINGERPRINT_DIGITS",
    "ITERATIONS",
    "SAFETY_VERSION",
    "SCANNABLE_FINGERPRINT_SIZE",
    "SafetyNumber",
    "ScannableSafetyNumber",
    "compare_scanned",
    "displayable_fingerprint",
    "fingerprint",
]

#: Spec §5.1: the version hashed into every fingerprint and carried by the scannable form.
SAFETY_VERSION: Final = 1
#: Spec §5.1: the number of chained SHA-512 iterations after the first hash.
ITERATIONS: Final = 5200
#: Spec §5.2: digits of one party's displayable fingerprint.
FINGERPRINT_DIGITS: Final = 30
#: Spec §5.3: bytes of one party's fingerprint in the scannable form.
SCANNABLE_FINGERPRINT_SIZE: Final = 32

_CHUNK: Final = 5  # bytes of the hash per group of five digits
_GROUPS: Final = FINGERPRINT_DIGITS // 5


def fingerprint(identity: IdentityKey) -> bytes:
    """Spec §5.1: the 64-byte iterated SHA-512 fingerprint of one identity.

    ``h = SHA-512(u16be(SAFETY_VERSION) || LABEL_SAFETY_NUMBER || signing_key || dh_key)``,
    then ``ITERATIONS`` times ``h = SHA-512(h || signing_key || dh_key)``.
    """
    keys = identity.signing_key + identity.dh_key
    h = sha512(SAFETY_VERSION.to_bytes(2, "big") + labels.LABEL_SAFETY_NUMBER + keys)
    for _ in range(ITERATIONS):
        h = sha512(h + keys)
    return h


def displayable_fingerprint(h: bytes) -> str:
    """Spec §5.2: 30 digits from the first 30 bytes of ``h``.

    Six 5-byte big-endian chunks, each taken modulo 100000 and written as 5 digits.
    """
    return "".join(
        f"{int.from_bytes(h[i * _CHUNK : (i + 1) * _CHUNK], 'big') % 100_000:05d}"
        for i in range(_GROUPS)
    )


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


@dataclass(frozen=True, slots=True)
class ScannableSafetyNumber(Message):
    """Spec §5.3: the scannable form, from the displaying party's point of view.

    CDDL ``safety-number-scannable``: ``{0: 1, 1: local fingerprint, 2: remote fingerprint}``,
    each the first 32 bytes of that party's §5.1 fingerprint.
    """

    VERSION: ClassVar[int] = SAFETY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "local_fingerprint", FixedBytes(SCANNABLE_FINGERPRINT_SIZE)),
        Field(2, "remote_fingerprint", FixedBytes(SCANNABLE_FINGERPRINT_SIZE)),
    )
    MAX_SIZE: ClassVar[int] = 128

    local_fingerprint: bytes
    remote_fingerprint: bytes


@dataclass(frozen=True, slots=True)
class SafetyNumber:
    """Spec §5: the safety number of a local and a remote identity.

    Build it with :meth:`of`. ``local_digits``/``remote_digits`` are the two 30-digit
    fingerprints (§5.2), ``local_fingerprint``/``remote_fingerprint`` their 32-byte scannable
    forms (§5.3). Public values: equality is plain equality.
    """

    local_digits: str
    remote_digits: str
    local_fingerprint: bytes
    remote_fingerprint: bytes

    def __post_init__(self) -> None:
        for digits in (self.local_digits, self.remote_digits):
            if (
                type(digits) is not str
                or len(digits) != FINGERPRINT_DIGITS
                or not _is_ascii_digits(digits)
            ):
                raise UsageError("usage.bad_argument", "a fingerprint is 30 ASCII digits")
        for fp in (self.local_fingerprint, self.remote_fingerprint):
            if type(fp) is not bytes or len(fp) != SCANNABLE_FINGERPRINT_SIZE:
                raise UsageError("usage.bad_argument", "a scannable fingerprint is 32 bytes")

    @classmethod
    def of(cls, local: IdentityKey, remote: IdentityKey) -> SafetyNumber:
        """Spec §5: the safety number of ``local`` and ``remote``.

        Both identities' binding signatures are verified first (``auth.failed``): a number
        that covered an unbound DH key would vouch for a key the identity never certified.
        """
        local.verify()
        remote.verify()
        mine, theirs = fingerprint(local), fingerprint(remote)
        return cls(
            local_digits=displayable_fingerprint(mine),
            remote_digits=displayable_fingerprint(theirs),
            local_fingerprint=mine[:SCANNABLE_FINGERPRINT_SIZE],
            remote_fingerprint=theirs[:SCANNABLE_FINGERPRINT_SIZE],
        )

    @property
    def digits(self) -> str:
        """Spec §5.2: the 60 digits, the numerically smaller fingerprint first (same on both
        sides)."""
        first, second = sorted((self.local_digits, self.remote_digits))
        return first + second

    def display(self) -> str:
        """Spec §5.2: the 60 digits as 12 groups of 5, separated by single spaces."""
        digits = self.digits
        return " ".join(digits[i : i + 5] for i in range(0, len(digits), 5))

    def scannable(self) -> bytes:
        """Spec §5.3: the encoded :class:`ScannableSafetyNumber` this side displays."""
        return ScannableSafetyNumber(self.local_fingerprint, self.remote_fingerprint).to_bytes()


def compare_scanned(mine: SafetyNumber, scanned: bytes) -> bool:
    """Spec §5.3: whether ``scanned`` (the other side's code) matches ``mine``.

    Decoding failures raise :class:`~protocol.errors.DecodeError` (``decode.version`` for
    another version). It matches when its local fingerprint equals my remote one and its
    remote fingerprint my local one; both comparisons run in constant time, and both always
    run.
    """
    theirs = ScannableSafetyNumber.from_bytes(scanned)
    remote_ok = ct_equal(theirs.local_fingerprint, mine.remote_fingerprint)
    local_ok = ct_equal(theirs.remote_fingerprint, mine.local_fingerprint)
    return remote_ok & local_ok
