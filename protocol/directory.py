"""Spec §8.6: the directory role — registrations by discovery token, and k-anonymous lookups.

A **registration** (§8.6.1) binds a discovery token (spec §8.3) to an identity
(:class:`~protocol.keys.IdentityKey`) and a mailbox key, signed by the identity with
``LABEL_DIRECTORY_REGISTRATION``. An **unregistration** (§8.6.2) removes it, signed by the same
identity with ``LABEL_DIRECTORY_UNREGISTRATION``. Both carry a timestamp that must be fresh and
later than the last one accepted for the same (token, signing key), which defeats replays.

A **lookup** (§8.6.3) never names a token: the client sends the first ``prefix_bits`` bits of
its token, receives every live registration whose token shares them (its *bucket*), and
filters locally. Every response is exactly :data:`LOOKUP_RESPONSE_SIZE` bytes, whether the
bucket is empty or full (§8.6.4); a bucket with more than :data:`PAGE_SLOTS` entries is served
in pages, and every client asking for that bucket fetches all of them. The prefix length grows
with the directory so that buckets hold about :data:`TARGET_LOAD` entries (§8.6.5).

The module holds both sides: the :class:`Directory` (sans-I/O server) and the client's
functions (:meth:`Registration.sign`, :meth:`Unregistration.sign`, :func:`lookup_request`,
:func:`read_lookup_response`, :func:`registrations_for`). Processing order is normative:
decode → authenticate → state; a refused operation changes nothing (find-then-commit).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Final, NoReturn, Self

from . import labels
from .codec import Bytes, Field, FixedBytes, ListOf, Message, Nested, UInt, decode
from .errors import DecodeError, StateError, UsageError
from .keys import IdentityKey, IdentityKeyPair
from .primitives import Element, ct_equal, ed25519_verify
from .ratelimit import RateLimit, RateLimiter, check_credential

__all__ = [
    "BUCKET_CAPACITY",
    "DEFAULT_REGISTRATION_RATE",
    "DIRECTORY_CAPACITY",
    "DIRECTORY_VERSION",
    "FRESHNESS_WINDOW",
    "LOOKUP_RESPONSE_SIZE",
    "MAX_DIRECTORY_TIME",
    "MAX_PAGES",
    "MAX_PREFIX_BITS",
    "MAX_REGISTRATIONS_PER_TOKEN",
    "PAGE_SLOTS",
    "REGISTRATION_LIFETIME",
    "TARGET_LOAD",
    "TOKEN_SIZE",
    "Directory",
    "DirectoryParameters",
    "DirectorySnapshot",
    "LookupRequest",
    "LookupResponse",
    "Registration",
    "Unregistration",
    "lookup_request",
    "prefix_bits_for",
    "read_lookup_response",
    "registrations_for",
    "token_prefix",
]

#: Spec §8.6: wire version (map key 0) of every structure of this module.
DIRECTORY_VERSION: Final = 1
#: Spec §8.3: a discovery token is 32 bytes.
TOKEN_SIZE: Final = 32
#: Spec §8.6.4: registrations per lookup page.
PAGE_SLOTS: Final = 64
#: Spec §8.6.4: most pages of one bucket.
MAX_PAGES: Final = 16
#: Spec §8.6.4: most live registrations in one bucket.
BUCKET_CAPACITY: Final = PAGE_SLOTS * MAX_PAGES
#: Spec §8.6.5: the prefix grows so that buckets hold at most this many entries on average.
TARGET_LOAD: Final = 32
#: Spec §8.6.3: the longest prefix (enough for TARGET_LOAD · 2^32 ≈ 1.4 · 10^11 entries).
MAX_PREFIX_BITS: Final = 32
#: Spec §8.6.1: most live registrations (by distinct identities) for one token.
MAX_REGISTRATIONS_PER_TOKEN: Final = 4
#: Spec §8.6.1: a registration not renewed for 90 days is no longer served.
REGISTRATION_LIFETIME: Final = 90 * 86_400
#: Spec §8.6.1: a signed timestamp may differ from the directory's clock by 5 minutes.
FRESHNESS_WINDOW: Final = 300
#: Spec §8.6.4: the exact size of every lookup response, in bytes.
LOOKUP_RESPONSE_SIZE: Final = 18_688
#: Spec §8.6.1: 10 registrations at once, then one every 8640 s (10 a day) per credential.
DEFAULT_REGISTRATION_RATE: Final = RateLimit(capacity=10, refill_interval=8640)
#: Spec §1.6, §8.6.1: the default bound on stored registrations, and on replay records
#: (the last accepted timestamp of each (token, identity)); ``Directory(capacity=…)``.
DIRECTORY_CAPACITY: Final = 1_000_000

_MAX_TIME: Final = 2**64 - 1
#: Spec §8.6.1, §8.6.2: signed directory times are uint32 (until 2106-02-07), so that every
#: lookup page can be padded to exactly LOOKUP_RESPONSE_SIZE (§8.6.4).
MAX_DIRECTORY_TIME: Final = 2**32 - 1
_PREFIX_SPACE: Final = 2**MAX_PREFIX_BITS
_TOKEN: Final = FixedBytes(TOKEN_SIZE)
_SIGNATURE: Final = FixedBytes(64)


def _u64(value: int) -> bytes:
    return value.to_bytes(8, "big")


def token_prefix(token: bytes, prefix_bits: int) -> int:
    """Spec §8.6.3: the first ``prefix_bits`` bits of ``token`` as an integer."""
    if not 0 <= prefix_bits <= MAX_PREFIX_BITS:
        raise UsageError("usage.bad_argument", "prefix_bits is 0 to 32")
    return int.from_bytes(token[:4], "big") >> (MAX_PREFIX_BITS - prefix_bits)


def prefix_bits_for(entries: int) -> int:
    """Spec §8.6.5: the least ``b`` with ``TARGET_LOAD · 2^b >= entries`` (at most 32).

    ``entries`` is the number of *live* registrations (§8.6.1); integers only, no ``log2``.
    """
    bits = 0
    while bits < MAX_PREFIX_BITS and TARGET_LOAD << bits < entries:
        bits += 1
    return bits


def _is_live(registration: Registration, now: int) -> bool:
    """Spec §8.6.1: live at ``now`` iff ``now <= registered_at + REGISTRATION_LIFETIME``."""
    return now <= registration.registered_at + REGISTRATION_LIFETIME


def _check_now(now: int) -> None:
    if type(now) is not int or not 0 <= now <= _MAX_TIME:
        raise UsageError("usage.bad_argument", "now is a uint64 count of seconds")


# --- wire structures -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Registration(Message):
    """Spec §8.6.1: token → identity and mailbox key, signed (CDDL ``directory-registration``).

    ``mailbox_key`` must decode as a ristretto255 element (``decode.bad_element``); the
    identity's DH key passes the checks of spec §4.4. :meth:`verify` checks the identity
    binding, then the registration signature (``auth.failed``).
    """

    VERSION: ClassVar[int] = DIRECTORY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "token", _TOKEN),
        Field(2, "identity", Nested(IdentityKey)),
        Field(3, "mailbox_key", FixedBytes(32)),
        Field(4, "registered_at", UInt(MAX_DIRECTORY_TIME)),
        Field(5, "signature", _SIGNATURE),
    )
    MAX_SIZE: ClassVar[int] = 512

    token: bytes
    identity: IdentityKey
    mailbox_key: bytes
    registered_at: int
    signature: bytes

    def _check(self) -> None:
        Element(self.mailbox_key)

    def signature_payload(self) -> bytes:
        """Spec §8.6.1: ``LABEL || token || mailbox_key || u64be(registered_at)``."""
        return registration_payload(self.token, self.mailbox_key, self.registered_at)

    def verify(self) -> None:
        """Spec §8.6.1: identity binding (§4.1), then the signature (``auth.failed``)."""
        self.identity.verify()
        self.identity.verify_signature(self.signature_payload(), self.signature)

    @classmethod
    def sign(
        cls, identity: IdentityKeyPair, token: bytes, mailbox_key: bytes, *, now: int
    ) -> Registration:
        """Client side (spec §8.6.1): a registration of ``token`` made at ``now``."""
        _check_now(now)
        _TOKEN.check(token, "token")
        signature = identity.sign(registration_payload(token, mailbox_key, now))
        return cls(token, identity.public, mailbox_key, now, signature)


def registration_payload(token: bytes, mailbox_key: bytes, registered_at: int) -> bytes:
    """Spec §8.6.1: the bytes a registration's identity signs (fixed width)."""
    return labels.LABEL_DIRECTORY_REGISTRATION + token + mailbox_key + _u64(registered_at)


@dataclass(frozen=True, slots=True)
class Unregistration(Message):
    """Spec §8.6.2: remove the registration of ``token`` by the identity ``signing_key``.

    CDDL ``directory-unregistration``. The signature proves ownership of that identity.
    """

    VERSION: ClassVar[int] = DIRECTORY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "token", _TOKEN),
        Field(2, "signing_key", FixedBytes(32)),
        Field(3, "timestamp", UInt(MAX_DIRECTORY_TIME)),
        Field(4, "signature", _SIGNATURE),
    )
    MAX_SIZE: ClassVar[int] = 256

    token: bytes
    signing_key: bytes
    timestamp: int
    signature: bytes

    def signature_payload(self) -> bytes:
        """Spec §8.6.2: ``LABEL || token || signing_key || u64be(timestamp)``."""
        return unregistration_payload(self.token, self.signing_key, self.timestamp)

    def verify(self) -> None:
        """Spec §8.6.2: strict Ed25519 verification by ``signing_key`` (``auth.failed``)."""
        ed25519_verify(self.signing_key, self.signature_payload(), self.signature)

    @classmethod
    def sign(cls, identity: IdentityKeyPair, token: bytes, *, now: int) -> Unregistration:
        """Client side (spec §8.6.2): unregister ``token`` at ``now``."""
        _check_now(now)
        _TOKEN.check(token, "token")
        key = identity.public.signing_key
        return cls(token, key, now, identity.sign(unregistration_payload(token, key, now)))


def unregistration_payload(token: bytes, signing_key: bytes, timestamp: int) -> bytes:
    """Spec §8.6.2: the bytes an unregistration's identity signs (fixed width)."""
    return labels.LABEL_DIRECTORY_UNREGISTRATION + token + signing_key + _u64(timestamp)


@dataclass(frozen=True, slots=True)
class DirectoryParameters(Message):
    """Spec §8.6.5: what a client needs before a lookup (CDDL ``directory-parameters``)."""

    VERSION: ClassVar[int] = DIRECTORY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (Field(1, "prefix_bits", UInt(MAX_PREFIX_BITS)),)
    MAX_SIZE: ClassVar[int] = 16

    prefix_bits: int


def _check_prefix(prefix_bits: int, prefix: int) -> None:
    if prefix >> prefix_bits:
        raise DecodeError("decode.range", "prefix has more bits than prefix_bits")


@dataclass(frozen=True, slots=True)
class LookupRequest(Message):
    """Spec §8.6.3: ask for page ``page`` of the bucket ``prefix`` (CDDL
    ``directory-lookup-request``). ``prefix`` must be below ``2^prefix_bits``
    (``decode.range``)."""

    VERSION: ClassVar[int] = DIRECTORY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "prefix_bits", UInt(MAX_PREFIX_BITS)),
        Field(2, "prefix", UInt(_PREFIX_SPACE - 1)),
        Field(3, "page", UInt(MAX_PAGES - 1)),
    )
    MAX_SIZE: ClassVar[int] = 32

    prefix_bits: int
    prefix: int
    page: int

    def _check(self) -> None:
        _check_prefix(self.prefix_bits, self.prefix)


def _bstr_header(length: int) -> int:
    return 1 if length < 24 else 2 if length < 256 else 3 if length < 65_536 else 5


@dataclass(frozen=True, slots=True)
class LookupResponse(Message):
    """Spec §8.6.4: one page of a bucket, padded to exactly :data:`LOOKUP_RESPONSE_SIZE`.

    CDDL ``directory-lookup-response``. ``entries`` are the bucket's live registrations in
    ascending (token, signing key) order, at most :data:`PAGE_SLOTS`; ``page_count`` is the
    number of pages of the bucket (at least 1). ``padding`` is zero bytes
    (``decode.padding``); an encoding of any size other than :data:`LOOKUP_RESPONSE_SIZE` is
    ``decode.padding`` (a longer one is ``decode.too_large`` before anything else).
    """

    VERSION: ClassVar[int] = DIRECTORY_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "prefix_bits", UInt(MAX_PREFIX_BITS)),
        Field(2, "prefix", UInt(_PREFIX_SPACE - 1)),
        Field(3, "page", UInt(MAX_PAGES - 1)),
        Field(4, "page_count", UInt(MAX_PAGES, min_value=1)),
        Field(5, "entries", ListOf(Nested(Registration), PAGE_SLOTS)),
        Field(6, "padding", Bytes(LOOKUP_RESPONSE_SIZE)),
    )
    MAX_SIZE: ClassVar[int] = LOOKUP_RESPONSE_SIZE

    prefix_bits: int
    prefix: int
    page: int
    page_count: int
    entries: tuple[Registration, ...]
    padding: bytes

    def _check(self) -> None:
        _check_prefix(self.prefix_bits, self.prefix)
        if self.padding.count(0) != len(self.padding):
            raise DecodeError("decode.padding", "padding is not all zero")

    @classmethod
    def build(
        cls,
        prefix_bits: int,
        prefix: int,
        page: int,
        page_count: int,
        entries: tuple[Registration, ...],
    ) -> LookupResponse:
        """Spec §8.6.4: the response with exactly the padding that makes it fixed-size."""
        bare = cls(prefix_bits, prefix, page, page_count, entries, b"")
        base = len(Message.to_bytes(bare)) - 2  # without key 6 and its empty bstr header
        for header in (1, 2, 3):
            length = LOOKUP_RESPONSE_SIZE - base - 1 - header
            if length >= 0 and _bstr_header(length) == header:
                return cls(prefix_bits, prefix, page, page_count, entries, bytes(length))
        raise UsageError("usage.bad_argument", "entries do not fit one response")  # unreachable

    def to_bytes(self) -> bytes:
        data = Message.to_bytes(self)
        if len(data) != LOOKUP_RESPONSE_SIZE:
            raise UsageError("usage.bad_argument", "a lookup response has one fixed size")
        return data

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Spec §8.6.4: strict decoding, then the fixed size (``decode.padding``)."""
        message = cls.from_cbor(decode(data, max_size=cls.MAX_SIZE))
        if len(data) != LOOKUP_RESPONSE_SIZE:
            raise DecodeError("decode.padding", "a lookup response has one fixed size")
        return message


# --- the directory (server) ------------------------------------------------------------------

_Key = tuple[bytes, bytes]  # (token, identity signing key)


@dataclass(frozen=True, slots=True)
class DirectorySnapshot:
    """Spec §8.6: the directory's whole state, comparable (tests, monitoring, persistence)."""

    prefix_bits: int
    registrations: tuple[bytes, ...]
    last_seen: tuple[tuple[bytes, bytes, int], ...]
    buckets: tuple[tuple[bytes, int, int], ...]


class Directory:
    """Spec §8.6: the directory, sans-I/O. Every method takes ``now``; none reads a clock."""

    __slots__ = (
        "_capacity",
        "_entries",
        "_last_seen",
        "_limiter",
        "_order",
        "_prefix_bits",
        "_times",
    )

    def __init__(
        self, *, rate: RateLimit = DEFAULT_REGISTRATION_RATE, capacity: int = DIRECTORY_CAPACITY
    ) -> None:
        if type(capacity) is not int or capacity < 1:
            raise UsageError("usage.bad_argument", "capacity must be an int >= 1")
        self._capacity = capacity
        self._entries: dict[_Key, Registration] = {}
        self._order: list[_Key] = []
        #: ``registered_at`` of every stored registration, ascending: counts the live ones.
        self._times: list[int] = []
        self._last_seen: dict[_Key, int] = {}
        self._prefix_bits = 0
        self._limiter = RateLimiter(rate)

    # -- queries ------------------------------------------------------------------------------

    def parameters(self) -> DirectoryParameters:
        """Spec §8.6.5: the current prefix length."""
        return DirectoryParameters(self._prefix_bits)

    def __len__(self) -> int:
        return len(self._entries)

    def _range(self, prefix_bits: int, prefix: int) -> tuple[int, int]:
        shift = MAX_PREFIX_BITS - prefix_bits
        low = (prefix << shift).to_bytes(4, "big")
        high = (prefix + 1) << shift
        start = bisect.bisect_left(self._order, (low, b""))
        if high >= _PREFIX_SPACE:
            return start, len(self._order)
        return start, bisect.bisect_left(self._order, (high.to_bytes(4, "big"), b""), lo=start)

    def _live(self, keys: Sequence[_Key], now: int) -> list[Registration]:
        return [self._entries[key] for key in keys if _is_live(self._entries[key], now)]

    def _live_count(self, now: int) -> int:
        """Spec §8.6.5: how many stored registrations are live at ``now``."""
        return len(self._times) - bisect.bisect_left(self._times, now - REGISTRATION_LIFETIME)

    def _bucket(self, prefix_bits: int, prefix: int, now: int) -> list[Registration]:
        start, end = self._range(prefix_bits, prefix)
        return self._live(self._order[start:end], now)

    def _for_token(self, token: bytes, now: int) -> list[Registration]:
        start = bisect.bisect_left(self._order, (token, b""))
        end = bisect.bisect_left(self._order, (token + b"\x00", b""), lo=start)
        return self._live(self._order[start:end], now)

    def _check_fresh(self, key: _Key, timestamp: int, now: int) -> None:
        last = self._last_seen.get(key, -1)
        existing = self._entries.get(key)
        if existing is not None:
            last = max(last, existing.registered_at)
        if abs(timestamp - now) > FRESHNESS_WINDOW or timestamp <= last:
            raise StateError("state.stale", "timestamp not fresh or not later than the last")

    # -- operations ---------------------------------------------------------------------------

    def register(self, credential: bytes, data: bytes, *, now: int) -> None:
        """Spec §8.6.1: store a registration (replacing the identity's earlier one).

        Order: credential and decoding (``decode.*``) → identity binding and signature
        (``auth.failed``) → freshness (``state.stale``) → rate limit (``state.rate_limited``)
        → per-token limit (``state.token_full``) → bucket capacity at the prefix length the
        directory will have after this registration (``state.bucket_full``) → the directory's
        own capacity, for a (token, identity) it holds no registration or replay record of
        (``state.directory_full``; :meth:`prune` frees expired ones).
        """
        _check_now(now)
        check_credential(credential)
        registration = Registration.from_bytes(data)
        registration.verify()
        key = (registration.token, registration.identity.signing_key)
        self._check_fresh(key, registration.registered_at, now)
        bucket = self._limiter.check(credential, 1, now)
        others = [
            e for e in self._for_token(registration.token, now) if e.identity.signing_key != key[1]
        ]
        if len(others) >= MAX_REGISTRATIONS_PER_TOKEN:
            raise StateError("state.token_full", "this token has the most registrations")
        existing = self._entries.get(key)
        # Spec §8.6.5: the live registrations once this one is stored (it replaces its key's).
        live = self._live_count(now) + 1
        if existing is not None and _is_live(existing, now):
            live -= 1
        bits = max(self._prefix_bits, prefix_bits_for(live))
        neighbours = [
            e
            for e in self._bucket(bits, token_prefix(registration.token, bits), now)
            if (e.token, e.identity.signing_key) != key
        ]
        if len(neighbours) >= BUCKET_CAPACITY:
            raise StateError("state.bucket_full", "every page of this bucket is full")
        if (existing is None and len(self._entries) >= self._capacity) or (
            key not in self._last_seen and len(self._last_seen) >= self._capacity
        ):
            raise StateError("state.directory_full", "the directory holds its most records")
        # commit
        if existing is None:
            bisect.insort(self._order, key)
        else:
            del self._times[bisect.bisect_left(self._times, existing.registered_at)]
        bisect.insort(self._times, registration.registered_at)
        self._entries[key] = registration
        self._last_seen[key] = registration.registered_at
        self._prefix_bits = bits
        self._limiter.commit(credential, bucket, now)

    def unregister(self, data: bytes, *, now: int) -> None:
        """Spec §8.6.2: remove a registration on proof of ownership.

        Order: decoding → signature by ``signing_key`` (``auth.failed``) → freshness
        (``state.stale``) → a stored registration for (token, signing key)
        (``state.not_registered``).
        """
        _check_now(now)
        message = Unregistration.from_bytes(data)
        message.verify()
        key = (message.token, message.signing_key)
        self._check_fresh(key, message.timestamp, now)
        if key not in self._entries:
            raise StateError("state.not_registered", "no registration for this identity")
        # commit
        removed = self._entries.pop(key)
        del self._order[bisect.bisect_left(self._order, key)]
        del self._times[bisect.bisect_left(self._times, removed.registered_at)]
        self._last_seen[key] = message.timestamp

    def lookup(self, data: bytes, *, now: int) -> bytes:
        """Spec §8.6.3: one page of a bucket, :data:`LOOKUP_RESPONSE_SIZE` bytes.

        Order: decoding → the request's prefix length is the current one
        (``state.prefix_length``). A page beyond the last is answered with no entries.
        Lookups change no state.
        """
        _check_now(now)
        request = LookupRequest.from_bytes(data)
        if request.prefix_bits != self._prefix_bits:
            raise StateError("state.prefix_length", f"the prefix length is {self._prefix_bits}")
        entries = self._bucket(request.prefix_bits, request.prefix, now)
        page_count = max(1, -(-len(entries) // PAGE_SLOTS))
        page = tuple(entries[request.page * PAGE_SLOTS : (request.page + 1) * PAGE_SLOTS])
        return LookupResponse.build(
            request.prefix_bits, request.prefix, request.page, page_count, page
        ).to_bytes()

    def prune(self, now: int) -> int:
        """Spec §8.6.1: forget expired registrations and stale replay records; return how many
        registrations were removed. (Maintenance; lookups already skip expired entries.)"""
        _check_now(now)
        expired = [k for k, e in self._entries.items() if not _is_live(e, now)]
        for key in expired:
            del self._entries[key]
        if expired:
            self._order = sorted(self._entries)
            self._times = sorted(e.registered_at for e in self._entries.values())
        self._last_seen = {
            k: t
            for k, t in self._last_seen.items()
            if t + FRESHNESS_WINDOW >= now or k in self._entries
        }
        return len(expired)

    def snapshot(self) -> DirectorySnapshot:
        """Spec §8.6: the whole state as comparable values."""
        return DirectorySnapshot(
            self._prefix_bits,
            tuple(self._entries[k].to_bytes() for k in self._order),
            tuple(sorted((t, s, ts) for (t, s), ts in self._last_seen.items())),
            self._limiter.snapshot(),
        )

    def _insert_unchecked(self, registrations: Sequence[Registration]) -> None:
        """Bulk load without verification or limits (benchmarks and tests only)."""
        for registration in registrations:
            key = (registration.token, registration.identity.signing_key)
            self._entries[key] = registration
        self._order = sorted(self._entries)
        self._times = sorted(e.registered_at for e in self._entries.values())
        self._prefix_bits = max(self._prefix_bits, prefix_bits_for(len(self._entries)))

    def __repr__(self) -> str:
        return f"Directory(registrations={len(self._entries)}, prefix_bits={self._prefix_bits})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("use snapshot() to export a directory")


# --- the client's side of a lookup -----------------------------------------------------------


def lookup_request(token: bytes, prefix_bits: int, page: int = 0) -> LookupRequest:
    """Spec §8.6.3: the request for page ``page`` of ``token``'s bucket."""
    _TOKEN.check(token, "token")
    return LookupRequest(prefix_bits, token_prefix(token, prefix_bits), page)


def read_lookup_response(request: LookupRequest, data: bytes) -> LookupResponse:
    """Spec §8.6.3: decode a response and check that it answers ``request``.

    ``decode.*`` for malformed bytes (including ``decode.padding``); ``state.mismatch`` if the
    prefix length, prefix or page differ from the request's, or an entry lies outside the
    bucket.
    """
    response = LookupResponse.from_bytes(data)
    if (response.prefix_bits, response.prefix, response.page) != (
        request.prefix_bits,
        request.prefix,
        request.page,
    ):
        raise StateError("state.mismatch", "response for another bucket or page")
    for entry in response.entries:
        if token_prefix(entry.token, response.prefix_bits) != response.prefix:
            raise StateError("state.mismatch", "entry outside the requested bucket")
    return response


def registrations_for(token: bytes, pages: Sequence[LookupResponse]) -> list[Registration]:
    """Spec §8.6.3: the registrations of ``token`` among all pages of its bucket, verified.

    ``pages`` must be pages 0 … n − 1 of one bucket, in order (``usage.bad_argument``); pages
    that disagree on the page count are ``state.mismatch`` (the bucket changed: look up again).
    Each matching registration is verified (``auth.failed``: the directory served a forgery).
    """
    _TOKEN.check(token, "token")
    if not pages or [p.page for p in pages] != list(range(len(pages))):
        raise UsageError("usage.bad_argument", "pages 0 .. n-1 of one bucket, in order")
    if any(p.page_count != pages[0].page_count for p in pages):
        raise StateError("state.mismatch", "the bucket's page count changed")
    if pages[0].page_count != len(pages):
        raise UsageError("usage.bad_argument", "every page of the bucket is needed")
    found = [e for p in pages for e in p.entries if ct_equal(e.token, token)]
    for entry in found:
        entry.verify()
    return found
