"""Spec §8.5: the OPRF evaluator role — keys, rotation, rate limiting, batched VOPRF evaluation.

The evaluator holds RFC 9497 VOPRF keys (ristretto255-SHA512, spec §8.1) and answers
:class:`EvaluationRequest` messages with :class:`EvaluationResponse` messages: one evaluation per
blinded element and one batched DLEQ proof that they were all made with the key it publishes
(:class:`PublishedKey`). It sees blinded elements only — uniformly random group elements that
say nothing about the identifiers behind them — and the credential that asked (spec §8.8).

Sans-I/O: :meth:`Evaluator.evaluate` takes the request bytes, the transport-authenticated
credential, ``now`` and an ``rng`` (for the proof), and returns the response bytes. Processing
order is normative (spec §8.5.4): decode (``decode.*``, including ``decode.bad_element`` for a
non-canonical or identity element) → key selection (``state.unknown_key``) → rate limit
(``state.rate_limited``) → evaluation; a refused request changes nothing (find-then-commit).

Key material (:class:`OprfKeyPair`) is opaque (spec §1.5): redacted ``repr``, no pickling or
copying, bytes only through :meth:`OprfKeyPair.private_bytes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Final, NoReturn

from . import labels, oprf
from .codec import Field, FixedBytes, ListOf, Message, UInt
from .errors import DecodeError, StateError, UsageError
from .primitives import Element, Rng, Scalar, random_bytes
from .ratelimit import RateLimit, RateLimiter, check_credential

__all__ = [
    "DEFAULT_EVALUATION_RATE",
    "EVALUATOR_VERSION",
    "KEY_GRACE_PERIOD",
    "KEY_LIFETIME",
    "MAX_EVALUATION_BATCH",
    "MAX_KEY_ID",
    "MODE",
    "EvaluationRequest",
    "EvaluationResponse",
    "Evaluator",
    "EvaluatorSnapshot",
    "OprfKeyPair",
    "PublishedKey",
    "oprf_key_info",
]

#: Spec §8.5: wire version (map key 0) of every structure of this module.
EVALUATOR_VERSION: Final = 1
#: Spec §8.1: Blindpost uses RFC 9497 in VOPRF mode (verifiable, no public input).
MODE: Final = oprf.Mode.VOPRF
#: Spec §8.5.4: most blinded elements in one request (one proof covers them all).
MAX_EVALUATION_BATCH: Final = 64
#: Spec §8.5.1: key ids are uint32.
MAX_KEY_ID: Final = 2**32 - 1
#: Spec §8.5.2: a new key is published valid for this long (seconds, 365 days).
KEY_LIFETIME: Final = 365 * 86_400
#: Spec §8.5.2: after a rotation the previous key is still served for this long (90 days).
KEY_GRACE_PERIOD: Final = 90 * 86_400
#: Spec §8.5.3: 1000 evaluations at once, then one every 1728 s (50 a day) per credential.
DEFAULT_EVALUATION_RATE: Final = RateLimit(capacity=1000, refill_interval=1728)

_MAX_TIME: Final = 2**64 - 1
_ELEMENT: Final = FixedBytes(oprf.ELEMENT_SIZE)

assert MAX_EVALUATION_BATCH <= oprf.MAX_BATCH


def oprf_key_info(key_id: int) -> bytes:
    """Spec §8.5.1: DeriveKeyPair ``info`` = ``LABEL_OPRF_KEY || u32be(key_id)``."""
    return labels.LABEL_OPRF_KEY + key_id.to_bytes(4, "big")


def _check_key_id(key_id: int) -> None:
    if type(key_id) is not int or not 0 <= key_id <= MAX_KEY_ID:
        raise UsageError("usage.bad_argument", "a key id is a uint32")


def _check_now(now: int) -> None:
    if type(now) is not int or not 0 <= now <= _MAX_TIME:
        raise UsageError("usage.bad_argument", "now is a uint64 count of seconds")


# --- wire structures (spec §8.5.4) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublishedKey(Message):
    """Spec §8.5.1: an evaluator key as clients pin it (CDDL ``oprf-published-key``).

    ``public_key`` must decode as a ristretto255 element (``decode.bad_element``). Clients
    MUST obtain it through a channel that gives every client the same key (spec §8.5.1), never
    from the evaluator's responses: that is what makes per-user keys detectable.
    """

    VERSION: ClassVar[int] = EVALUATOR_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "key_id", UInt(MAX_KEY_ID)),
        Field(2, "public_key", _ELEMENT),
        Field(3, "not_after", UInt(_MAX_TIME)),
    )
    MAX_SIZE: ClassVar[int] = 128

    key_id: int
    public_key: bytes
    not_after: int

    def _check(self) -> None:
        Element(self.public_key)

    def element(self) -> Element:
        """The public key as a group element."""
        return Element(self.public_key)


@dataclass(frozen=True, slots=True)
class EvaluationRequest(Message):
    """Spec §8.5.4: blinded elements to evaluate under key ``key_id``.

    CDDL ``oprf-evaluation-request``. 1 to 64 elements (``decode.count``), each a canonical,
    non-identity ristretto255 encoding (``decode.bad_element``).
    """

    VERSION: ClassVar[int] = EVALUATOR_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "key_id", UInt(MAX_KEY_ID)),
        Field(2, "blinded", ListOf(_ELEMENT, MAX_EVALUATION_BATCH, min_count=1)),
    )
    MAX_SIZE: ClassVar[int] = 4096

    key_id: int
    blinded: tuple[bytes, ...]

    def _check(self) -> None:
        for encoded in self.blinded:
            Element(encoded)

    def elements(self) -> list[Element]:
        """The blinded elements (already validated at decoding)."""
        return [Element(e) for e in self.blinded]


@dataclass(frozen=True, slots=True)
class EvaluationResponse(Message):
    """Spec §8.5.4: the evaluations, in request order, and one batched DLEQ proof.

    CDDL ``oprf-evaluation-response``. Elements are checked like the request's; ``proof`` is
    ``c || s`` (RFC 9497 §2.2), each scalar below L (``decode.bad_element``).
    """

    VERSION: ClassVar[int] = EVALUATOR_VERSION
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "key_id", UInt(MAX_KEY_ID)),
        Field(2, "evaluated", ListOf(_ELEMENT, MAX_EVALUATION_BATCH, min_count=1)),
        Field(3, "proof", FixedBytes(oprf.PROOF_SIZE)),
    )
    MAX_SIZE: ClassVar[int] = 4096

    key_id: int
    evaluated: tuple[bytes, ...]
    proof: bytes

    def _check(self) -> None:
        for encoded in self.evaluated:
            Element(encoded)
        oprf.Proof.from_bytes(self.proof)

    def elements(self) -> list[Element]:
        return [Element(e) for e in self.evaluated]

    def dleq_proof(self) -> oprf.Proof:
        return oprf.Proof.from_bytes(self.proof)


# --- keys (spec §8.5.1) ----------------------------------------------------------------------


class OprfKeyPair:
    """Spec §8.5.1: an evaluator's VOPRF key with its id; opaque (spec §1.5).

    ``private_bytes()`` is the 32-byte scalar; :meth:`from_private_bytes` takes it back.
    """

    __slots__ = ("_key_id", "_pk", "_sk")
    _key_id: int
    _sk: Scalar
    _pk: Element

    def __init__(self, key_id: int, sk: Scalar) -> None:
        _check_key_id(key_id)
        if not isinstance(sk, Scalar) or sk.is_zero():
            raise UsageError("usage.bad_argument", "an OPRF key is a non-zero Scalar")
        object.__setattr__(self, "_key_id", key_id)
        object.__setattr__(self, "_sk", sk)
        object.__setattr__(self, "_pk", Element.base_mul(sk))

    @classmethod
    def derive(cls, seed: bytes, key_id: int) -> OprfKeyPair:
        """Spec §8.5.1: ``DeriveKeyPair(seed, LABEL_OPRF_KEY || u32be(key_id))`` (VOPRF)."""
        _check_key_id(key_id)
        sk, _pk = oprf.derive_key_pair(seed, oprf_key_info(key_id), MODE)
        return cls(key_id, sk)

    @classmethod
    def generate(cls, key_id: int, rng: Rng) -> OprfKeyPair:
        """Spec §8.5.1: a key from 32 bytes of ``rng`` as a DeriveKeyPair seed."""
        return cls.derive(random_bytes(rng, oprf.SEED_SIZE), key_id)

    @classmethod
    def from_private_bytes(cls, key_id: int, data: bytes) -> OprfKeyPair:
        """Spec §1.5: re-import the 32-byte scalar (``usage.bad_argument`` if not < L)."""
        if type(data) is not bytes or len(data) != oprf.SCALAR_SIZE:
            raise UsageError("usage.bad_argument", "an OPRF private key is 32 bytes")
        try:
            sk = Scalar(data)
        except DecodeError:
            raise UsageError("usage.bad_argument", "not a reduced scalar") from None
        return cls(key_id, sk)

    def private_bytes(self) -> bytes:
        """Explicit export of the 32-byte scalar."""
        return self._sk.to_bytes()

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def public_key(self) -> Element:
        return self._pk

    def published(self, not_after: int) -> PublishedKey:
        """The :class:`PublishedKey` of this key, valid until ``not_after``."""
        return PublishedKey(self._key_id, self._pk.to_bytes(), not_after)

    def evaluate_batch(
        self, blinded: Sequence[Element], rng: Rng
    ) -> tuple[list[Element], oprf.Proof]:
        """RFC 9497 §3.3.2 BlindEvaluateBatch in VOPRF mode (proof randomness from ``rng``)."""
        return oprf.blind_evaluate_batch(self._sk, self._pk, blinded, MODE, rng)

    def _evaluate_batch_with(
        self, blinded: Sequence[Element], r: Scalar
    ) -> tuple[list[Element], oprf.Proof]:
        """Deterministic seam (vectors): the proof randomness ``r`` given."""
        return oprf._blind_evaluate_batch_with(self._sk, self._pk, blinded, MODE, r)

    def evaluate(self, input: bytes) -> bytes:
        """RFC 9497 Evaluate on a known input (what the operator could compute, spec §8.8)."""
        return oprf.evaluate(self._sk, input, MODE)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("OprfKeyPair is immutable")

    def __reduce__(self) -> NoReturn:
        raise TypeError("OprfKeyPair cannot be pickled; use private_bytes()")

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("OprfKeyPair cannot be pickled; use private_bytes()")

    def __copy__(self) -> NoReturn:
        raise TypeError("OprfKeyPair cannot be copied")

    def __deepcopy__(self, memo: object) -> NoReturn:
        raise TypeError("OprfKeyPair cannot be copied")

    def __repr__(self) -> str:
        return f"OprfKeyPair(key_id={self._key_id}, private=<redacted>)"


# --- the evaluator (spec §8.5) ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _HeldKey:
    key: OprfKeyPair
    not_after: int


@dataclass(frozen=True, slots=True)
class EvaluatorSnapshot:
    """Spec §8.5: the evaluator's public state — keys as published, and the rate table."""

    keys: tuple[PublishedKey, ...]
    current_key_id: int
    buckets: tuple[tuple[bytes, int, int], ...]


class Evaluator:
    """Spec §8.5: the OPRF evaluator, sans-I/O.

    It holds the *current* key (the most recently added one) and, after a rotation, earlier
    keys until their ``not_after``. Requests name the key they want; the evaluator answers with
    that key or refuses (``state.unknown_key``), so a client always gets an evaluation it can
    verify against the key it pinned.
    """

    __slots__ = ("_current", "_keys", "_limiter")

    def __init__(
        self,
        key: OprfKeyPair,
        *,
        now: int,
        lifetime: int = KEY_LIFETIME,
        rate: RateLimit = DEFAULT_EVALUATION_RATE,
    ) -> None:
        if not isinstance(key, OprfKeyPair):
            raise UsageError("usage.bad_argument", "key must be an OprfKeyPair")
        _check_now(now)
        self._keys: dict[int, _HeldKey] = {key.key_id: _HeldKey(key, _end(now, lifetime))}
        self._current = key.key_id
        self._limiter = RateLimiter(rate)

    @property
    def rate_limit(self) -> RateLimit:
        return self._limiter.limit

    def rotate(
        self,
        key: OprfKeyPair,
        *,
        now: int,
        lifetime: int = KEY_LIFETIME,
        grace: int = KEY_GRACE_PERIOD,
    ) -> None:
        """Spec §8.5.2: make ``key`` current; the previous keys stay for at most ``grace``.

        Keys already past their ``not_after`` are dropped. A key id still held is
        ``usage.bad_argument`` (ids are never reused while a client may still name them).
        """
        if not isinstance(key, OprfKeyPair):
            raise UsageError("usage.bad_argument", "key must be an OprfKeyPair")
        _check_now(now)
        if key.key_id in self._keys:
            raise UsageError("usage.bad_argument", "key id already held")
        kept = {
            kid: _HeldKey(held.key, min(held.not_after, _end(now, grace)))
            for kid, held in self._keys.items()
            if held.not_after >= now
        }
        kept[key.key_id] = _HeldKey(key, _end(now, lifetime))
        self._keys = kept
        self._current = key.key_id

    def published_keys(self, now: int) -> tuple[PublishedKey, ...]:
        """Spec §8.5.1: every key still served at ``now``, current key last."""
        _check_now(now)
        held = [h for kid, h in self._keys.items() if h.not_after >= now and kid != self._current]
        held.sort(key=lambda h: h.key.key_id)
        current = self._keys[self._current]
        if current.not_after >= now:
            held.append(current)
        return tuple(h.key.published(h.not_after) for h in held)

    def current_key(self) -> PublishedKey:
        """Spec §8.5.1: the key new clients should pin."""
        held = self._keys[self._current]
        return held.key.published(held.not_after)

    def evaluate(self, credential: bytes, request: bytes, *, now: int, rng: Rng) -> bytes:
        """Spec §8.5.4: answer one :class:`EvaluationRequest` (bytes) for ``credential``.

        Order: decode → key (``state.unknown_key``) → rate limit (``state.rate_limited``, one
        token per element) → evaluate and prove. The bucket is committed only after the
        evaluation succeeded.
        """
        _check_now(now)
        check_credential(credential)
        message = EvaluationRequest.from_bytes(request)
        held = self._keys.get(message.key_id)
        if held is None or held.not_after < now:
            raise StateError("state.unknown_key", f"key id {message.key_id} not served")
        bucket = self._limiter.check(credential, len(message.blinded), now)
        evaluated, proof = held.key.evaluate_batch(message.elements(), rng)
        response = EvaluationResponse(
            message.key_id, tuple(e.to_bytes() for e in evaluated), proof.to_bytes()
        ).to_bytes()
        self._limiter.commit(credential, bucket, now)
        return response

    def available(self, credential: bytes, now: int) -> int:
        """Evaluations ``credential`` may still ask for at ``now``."""
        return self._limiter.available(credential, now)

    def snapshot(self) -> EvaluatorSnapshot:
        """Spec §8.5: the public state (for monitoring and before/after comparisons)."""
        keys = tuple(h.key.published(h.not_after) for _, h in sorted(self._keys.items()))
        return EvaluatorSnapshot(keys, self._current, self._limiter.snapshot())

    def __repr__(self) -> str:
        return f"Evaluator(current_key_id={self._current}, keys={sorted(self._keys)})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("Evaluator holds secret keys and cannot be pickled")


def _end(now: int, duration: int) -> int:
    if type(duration) is not int or duration < 0:
        raise UsageError("usage.bad_argument", "a duration is a non-negative int")
    return min(now + duration, _MAX_TIME)
