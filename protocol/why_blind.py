"""``blindpost why-blind``: why Blindpost blinds identifiers instead of hashing them (spec §8.8).

Three measurements on one block of phone numbers (``+44 7`` followed by nine digits, numbers
``0 … block − 1``), made with the real protocol code:

1. **Plain hash.** A server that stores ``SHA-256(E.164)`` learns the number anyway: it hashes
   every number of the block until one matches. This is what "hashed contact discovery" gives.
2. **Discovery token, offline.** A token is ``KDF(VOPRF_k(number))``. Without the evaluator's
   key ``k`` the same enumeration produces unrelated values: with a guessed key nothing in the
   block matches (shown on a sample; each guess of ``k`` succeeds with probability about
   2^-252). The evaluator's operator, who holds ``k``, *could* enumerate — which is why the
   evaluator never sees tokens and must not run the directory (spec §8.8).
3. **Discovery token, online.** Asking the evaluator is the only way to compute tokens, and
   every guess costs one evaluation: a real :class:`~protocol.evaluator.Evaluator` refuses a
   credential after its token bucket is spent, so the block takes years per credential.

Sans-I/O like the rest of the package: ``clock`` (seconds as a float), ``rng`` and ``now`` are
parameters; :mod:`protocol.edge.cli` passes ``time.perf_counter``, the system RNG and the time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .blinding import PhoneNumber, discovery_token, request_evaluation
from .errors import StateError, UsageError
from .evaluator import MAX_EVALUATION_BATCH, Evaluator, OprfKeyPair
from .primitives import Rng, sha256

__all__ = [
    "DEFAULT_BLOCK",
    "MAX_BLOCK",
    "OFFLINE_SAMPLE",
    "HashAttack",
    "OfflineAttack",
    "OnlineAttack",
    "WhyBlindReport",
    "block_number",
    "recover_from_hash",
    "render",
    "run",
    "target_index",
]

#: Numbers enumerated by default (``--block``).
DEFAULT_BLOCK: Final = 10**6
#: The block is ``+44 7`` and nine digits, so at most 10^9 numbers.
MAX_BLOCK: Final = 10**9
#: Numbers tried under a guessed OPRF key (each is a full evaluation; the rest extrapolates).
OFFLINE_SAMPLE: Final = 1000
_COUNTRY: Final = 44
_SECONDS_PER_YEAR: Final = 365.25 * 86_400


def block_number(index: int) -> PhoneNumber:
    """Number ``index`` of the block: ``+44 7`` followed by ``index`` on nine digits."""
    return PhoneNumber(_COUNTRY, f"7{index:09d}")


def target_index(block: int) -> int:
    """The victim's position: nine tenths into the block, so the search does real work."""
    return (9 * block) // 10


@dataclass(frozen=True, slots=True)
class HashAttack:
    """Recovering a number from its plain SHA-256 by enumeration."""

    block: int
    tried: int
    recovered: PhoneNumber | None
    seconds: float


@dataclass(frozen=True, slots=True)
class OfflineAttack:
    """Enumerating discovery tokens without the key (a guessed key), on a sample."""

    sample: int
    matches: int
    seconds: float
    #: Seconds the key holder would need for the whole block (sample time, extrapolated).
    operator_seconds_for_block: float


@dataclass(frozen=True, slots=True)
class OnlineAttack:
    """Asking the real evaluator for guesses with one credential until it refuses."""

    accepted: int
    refused_with: str
    capacity: int
    refill_interval: int
    #: Seconds one credential needs for the whole block at the rate limit (spec §8.5.3).
    seconds_for_block: int


@dataclass(frozen=True, slots=True)
class WhyBlindReport:
    target: PhoneNumber
    hash_attack: HashAttack
    offline: OfflineAttack
    online: OnlineAttack


def recover_from_hash(digest: bytes, block: int, clock: Callable[[], float]) -> HashAttack:
    """Hash every number of the block until one has SHA-256 ``digest``."""
    start = clock()
    prefix = f"+{_COUNTRY}7".encode("ascii")
    for i in range(block):
        if sha256(prefix + b"%09d" % i) == digest:
            return HashAttack(block, i + 1, block_number(i), clock() - start)
    return HashAttack(block, block, None, clock() - start)


def _offline(token: bytes, block: int, rng: Rng, clock: Callable[[], float]) -> OfflineAttack:
    guessed = OprfKeyPair.generate(0, rng)
    sample = min(block, OFFLINE_SAMPLE)
    start = clock()
    matches = sum(
        1
        for i in range(sample)
        if discovery_token(guessed.evaluate(block_number(i).oprf_input())) == token
    )
    seconds = clock() - start
    return OfflineAttack(sample, matches, seconds, seconds / sample * block)


def _online(evaluator: Evaluator, block: int, now: int, rng: Rng) -> OnlineAttack:
    credential = b"why-blind attacker"
    key = evaluator.current_key()
    accepted = 0
    refused = ""
    size = MAX_EVALUATION_BATCH
    while accepted < block:
        count = min(size, block - accepted)
        numbers = [block_number(accepted + i) for i in range(count)]
        pending = request_evaluation(numbers, key, now=now, rng=rng)
        try:
            response = evaluator.evaluate(credential, pending.request.to_bytes(), now=now, rng=rng)
        except StateError as exc:
            refused = exc.code
            if size == 1:
                break
            size = 1  # spend what is left one evaluation at a time
            continue
        pending.finish(response)
        accepted += count
    limit = evaluator.rate_limit
    return OnlineAttack(
        accepted, refused, limit.capacity, limit.refill_interval, limit.seconds_for(block)
    )


def run(
    *, block: int = DEFAULT_BLOCK, clock: Callable[[], float], rng: Rng, now: int
) -> WhyBlindReport:
    """Run the three measurements on a block of ``block`` numbers."""
    if type(block) is not int or not 1 <= block <= MAX_BLOCK:
        raise UsageError("usage.bad_argument", f"block is 1 to {MAX_BLOCK}")
    target = block_number(target_index(block))
    hash_attack = recover_from_hash(sha256(target.e164.encode("ascii")), block, clock)

    operator_key = OprfKeyPair.generate(1, rng)
    token = discovery_token(operator_key.evaluate(target.oprf_input()))
    offline = _offline(token, block, rng, clock)

    evaluator = Evaluator(operator_key, now=now)
    online = _online(evaluator, block, now, rng)
    return WhyBlindReport(target, hash_attack, offline, online)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.2f} s"
    if seconds < 2 * 86_400:
        return f"{seconds / 3600:.1f} hours"
    if seconds < 2 * _SECONDS_PER_YEAR:
        return f"{seconds / 86_400:.0f} days"
    return f"{seconds / _SECONDS_PER_YEAR:,.1f} years"


def render(report: WhyBlindReport) -> list[str]:
    """The report as lines of text (the CLI prints them)."""
    h, off, on = report.hash_attack, report.offline, report.online
    recovered = h.recovered.e164 if h.recovered else "nothing"
    per_second = h.tried / h.seconds if h.seconds > 0 else float("inf")
    per_day = 86_400 // on.refill_interval
    return [
        "Why Blindpost blinds phone numbers instead of hashing them",
        "",
        f'1. Plain hash. A server stores SHA-256("{report.target.e164}").',
        f"   Enumerating the block +44 7000000000 … ({h.block:,} numbers) recovers {recovered}",
        f"   after {h.tried:,} hashes in {_duration(h.seconds)} ({per_second:,.0f} hashes/s).",
        f"   A whole numbering plan of 10^10 numbers: {_duration(1e10 / per_second)} on one core.",
        "",
        "2. Discovery token, offline: token = KDF(VOPRF_k(number)), k held by the evaluator.",
        f"   The same enumeration under a guessed key: {off.matches} matches in {off.sample:,}"
        f" numbers ({_duration(off.seconds)}).",
        "   Without k every guess is worthless (a key guess succeeds with probability ~2^-252).",
        f"   The evaluator's operator, who holds k, could do the block in "
        f"{_duration(off.operator_seconds_for_block)}:",
        "   that is why the evaluator never sees tokens and must not run the directory.",
        "",
        "3. Discovery token, online: every guess is one evaluation by the real evaluator.",
        f"   Rate limit: {on.capacity:,} evaluations at once, then one every "
        f"{on.refill_interval:,} s ({per_day} a day) per credential.",
        f"   This run: {on.accepted:,} guesses accepted, then refused with {on.refused_with}.",
        f"   The block of {h.block:,} numbers takes {_duration(on.seconds_for_block)} per"
        " credential.",
    ]
