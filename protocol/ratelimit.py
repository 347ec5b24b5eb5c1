"""Spec §8.5.3: per-credential token buckets, in integer arithmetic with an injected clock.

The OPRF evaluator (spec §8.5) limits evaluations and the directory (spec §8.6) limits
registrations per *client credential*: an opaque byte string that the transport authenticates
(how credentials are issued is outside this specification). Each credential has a bucket of at
most ``capacity`` tokens that gains one token every ``refill_interval`` seconds; an operation that
costs ``n`` tokens is refused with ``StateError("state.rate_limited")`` unless the bucket holds
``n`` now, and a refused operation changes nothing.

A bucket is the pair ``(tokens, updated)``: ``tokens`` is exact at time ``updated``. At time
``now`` (spec §8.5.3)::

    gained  = max(0, now - updated) // refill_interval
    tokens' = min(capacity, tokens + gained)
    updated' = now                                   if tokens' == capacity
             = updated + gained * refill_interval    otherwise (the partial interval is kept)

A credential never seen before has a full bucket. A full bucket carries no information (it
behaves exactly like an absent one), so the table forgets full buckets when it needs room; if
``max_tracked`` credentials with non-full buckets are already tracked, a new credential is
refused (fail closed) rather than tracked without bound.

The limiter follows find-then-commit: :meth:`RateLimiter.check` computes the new bucket without
touching the table, :meth:`RateLimiter.commit` stores it once the whole operation succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .errors import DecodeError, StateError, UsageError

__all__ = [
    "MAX_CREDENTIAL_SIZE",
    "MAX_TRACKED_CREDENTIALS",
    "Bucket",
    "RateLimit",
    "RateLimiter",
    "check_credential",
]

#: Spec §8.5.3: a credential is 1 to 64 bytes.
MAX_CREDENTIAL_SIZE: Final = 64
#: Spec §1.6, §8.5.3: the default bound on credentials with a non-full bucket tracked at once.
MAX_TRACKED_CREDENTIALS: Final = 1_000_000


def check_credential(credential: bytes) -> None:
    """Spec §8.5.3: a credential is a byte string of 1 to 64 bytes (``decode.length``)."""
    if type(credential) is not bytes or not 1 <= len(credential) <= MAX_CREDENTIAL_SIZE:
        raise DecodeError("decode.length", "a credential is 1 to 64 bytes")


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Spec §8.5.3: the parameters of one family of token buckets."""

    #: Most tokens a bucket holds (also the burst a fresh credential may spend at once).
    capacity: int
    #: Seconds per regained token.
    refill_interval: int
    #: Most credentials with a non-full bucket tracked at once (spec §1.6).
    max_tracked: int = MAX_TRACKED_CREDENTIALS

    def __post_init__(self) -> None:
        for name in ("capacity", "refill_interval", "max_tracked"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise UsageError("usage.bad_argument", f"RateLimit.{name} must be an int >= 1")

    def seconds_for(self, tokens: int) -> int:
        """Seconds a credential needs to spend ``tokens`` from a full bucket (spec §8.5.3)."""
        return max(0, tokens - self.capacity) * self.refill_interval


@dataclass(frozen=True, slots=True)
class Bucket:
    """Spec §8.5.3: ``tokens`` held, exact at time ``updated``."""

    tokens: int
    updated: int


def _level(bucket: Bucket | None, limit: RateLimit, now: int) -> Bucket:
    """The bucket as it stands at ``now`` (refilled, never above capacity)."""
    if bucket is None:
        return Bucket(limit.capacity, now)
    gained = max(0, now - bucket.updated) // limit.refill_interval
    tokens = min(limit.capacity, bucket.tokens + gained)
    if tokens == limit.capacity:
        return Bucket(tokens, max(now, bucket.updated))
    return Bucket(tokens, bucket.updated + gained * limit.refill_interval)


class RateLimiter:
    """Spec §8.5.3: a table of token buckets keyed by credential.

    Not a secret, but not a wire structure either: :meth:`snapshot` exports the table for
    monitoring and for tests that compare state before and after a refused operation.
    """

    __slots__ = ("_buckets", "_full_from", "_limit")

    def __init__(self, limit: RateLimit) -> None:
        if not isinstance(limit, RateLimit):
            raise UsageError("usage.bad_argument", "limit must be a RateLimit")
        self._limit = limit
        self._buckets: dict[bytes, Bucket] = {}
        #: No tracked bucket is full before this time (a lower bound, exact after a scan): at
        #: the ``max_tracked`` bound a new credential is refused without looking at every
        #: bucket, so a full table costs O(1) per refused request, not O(max_tracked).
        self._full_from = 0

    @property
    def limit(self) -> RateLimit:
        return self._limit

    def available(self, credential: bytes, now: int) -> int:
        """Tokens ``credential`` could spend at ``now`` (no state change)."""
        return _level(self._buckets.get(credential), self._limit, now).tokens

    def check(self, credential: bytes, cost: int, now: int) -> Bucket:
        """Spec §8.5.3: the bucket after spending ``cost`` at ``now``, or ``state.rate_limited``.

        Pure: the table is not touched. Pass the result to :meth:`commit` once the operation
        it pays for has succeeded.
        """
        check_credential(credential)
        if type(cost) is not int or cost < 1:
            raise UsageError("usage.bad_argument", "cost must be a positive int")
        if type(now) is not int or now < 0:
            raise UsageError("usage.bad_argument", "now must be a non-negative int")
        old = self._buckets.get(credential)
        at_bound = old is None and len(self._buckets) >= self._limit.max_tracked
        if at_bound and (now < self._full_from or not self._any_full(now)):
            raise StateError("state.rate_limited", "too many credentials tracked")
        level = _level(old, self._limit, now)
        if level.tokens < cost:
            raise StateError("state.rate_limited", "token bucket empty")
        return Bucket(level.tokens - cost, level.updated)

    def commit(self, credential: bytes, bucket: Bucket, now: int) -> None:
        """Store the bucket computed by :meth:`check` (forgetting full buckets if needed)."""
        if credential not in self._buckets and len(self._buckets) >= self._limit.max_tracked:
            for key in [k for k, b in self._buckets.items() if self._is_full(b, now)]:
                del self._buckets[key]
            self._full_from = min((self._full_at(b) for b in self._buckets.values()), default=0)
        self._buckets[credential] = bucket
        self._full_from = min(self._full_from, self._full_at(bucket))

    def _is_full(self, bucket: Bucket, now: int) -> bool:
        return _level(bucket, self._limit, now).tokens == self._limit.capacity

    def _full_at(self, bucket: Bucket) -> int:
        """The first time at which ``bucket`` is full (spec §8.5.3 refill, solved for time)."""
        missing = self._limit.capacity - bucket.tokens
        return 0 if missing <= 0 else bucket.updated + missing * self._limit.refill_interval

    def _any_full(self, now: int) -> bool:
        """Whether a tracked bucket is full at ``now``; if none, tighten :attr:`_full_from`.

        The bound is not part of the table (``snapshot`` does not show it), so refining it
        here keeps :meth:`check` free of observable effects.
        """
        if any(self._is_full(b, now) for b in self._buckets.values()):
            return True
        self._full_from = min(self._full_at(b) for b in self._buckets.values())
        return False

    def snapshot(self) -> tuple[tuple[bytes, int, int], ...]:
        """The table as ``(credential, tokens, updated)`` sorted by credential."""
        return tuple(sorted((k, b.tokens, b.updated) for k, b in self._buckets.items()))

    def __len__(self) -> int:
        return len(self._buckets)
