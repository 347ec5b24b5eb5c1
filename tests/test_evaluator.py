"""Spec §8.5: the OPRF evaluator — wire structures, keys and rotation, rate limiting."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import oprf
from protocol.blinding import normalize_phone_number, request_evaluation
from protocol.codec import decode, encode
from protocol.errors import DecodeError, ProtocolError, StateError
from protocol.evaluator import (
    DEFAULT_EVALUATION_RATE,
    KEY_GRACE_PERIOD,
    KEY_LIFETIME,
    EvaluationRequest,
    EvaluationResponse,
    Evaluator,
    OprfKeyPair,
    PublishedKey,
)
from protocol.kat import SeededRng
from protocol.primitives import Element, Scalar
from protocol.ratelimit import RateLimit, RateLimiter

NOW = 1_767_225_600
L = 2**252 + 27742317777372353535851937790883648493
KEY = OprfKeyPair.derive(bytes(range(32)), 1)
RNG = SeededRng(b"test_evaluator")


def code(action: Callable[[], object]) -> str:
    with pytest.raises(ProtocolError) as info:
        action()
    return info.value.code


def request_bytes(count: int = 2, key_id: int = 1) -> bytes:
    numbers = [normalize_phone_number(f"+44 20 7946 {i:04d}") for i in range(count)]
    pending = request_evaluation(numbers, KEY.published(NOW + 1), now=NOW, rng=RNG)
    return EvaluationRequest(key_id, pending.request.blinded).to_bytes()


def edit(data: bytes, key: int, value: Any) -> bytes:
    item = decode(data)
    assert isinstance(item, dict)
    item[key] = value
    return encode(item)


# --- wire structures ----------------------------------------------------------------------------


def test_published_key_layout() -> None:
    published = KEY.published(NOW)
    pk = KEY.public_key.to_bytes()
    expected = b"\xa4\x00\x01\x01\x01\x02\x58\x20" + pk + b"\x03\x1a" + NOW.to_bytes(4, "big")
    assert published.to_bytes() == expected
    assert PublishedKey.from_bytes(expected) == published
    assert published.element() == KEY.public_key


def test_key_derivation_uses_the_labelled_info() -> None:
    seed = bytes(range(32))
    sk, pk = oprf.derive_key_pair(seed, b"Blindpost-v1 oprf-key\x00\x00\x00\x01", oprf.Mode.VOPRF)
    assert KEY.private_bytes() == sk.to_bytes() and KEY.public_key == pk
    assert OprfKeyPair.derive(seed, 2).private_bytes() != KEY.private_bytes()
    again = OprfKeyPair.from_private_bytes(1, KEY.private_bytes())
    assert again.public_key == KEY.public_key


def test_response_evaluates_every_element_in_order() -> None:
    evaluator = Evaluator(KEY, now=NOW)
    request = EvaluationRequest.from_bytes(request_bytes(5))
    response = EvaluationResponse.from_bytes(
        evaluator.evaluate(b"c", request.to_bytes(), now=NOW, rng=RNG)
    )
    sk = Scalar(KEY.private_bytes())
    assert response.key_id == 1
    assert list(response.evaluated) == [Element(b).mul(sk).to_bytes() for b in request.blinded]
    oprf.verify_proof(
        KEY.public_key,
        request.elements(),
        response.elements(),
        response.dleq_proof(),
        oprf.Mode.VOPRF,
    )


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (lambda b: edit(b, 2, []), "decode.count"),
        (lambda b: edit(b, 2, [bytes(range(32))] * 65), "decode.count"),
        (lambda b: edit(b, 2, [bytes(32)]), "decode.bad_element"),
        (lambda b: edit(b, 2, [b"\xff" * 31 + b"\x7f"]), "decode.bad_element"),
        (lambda b: edit(b, 2, [b"\x01" + bytes(31)]), "decode.bad_element"),
        (lambda b: edit(b, 2, [bytes(31)]), "decode.length"),
        (lambda b: edit(b, 2, b""), "decode.type"),
        (lambda b: edit(b, 1, -1), "decode.range"),
        (lambda b: edit(b, 1, 2**32), "decode.range"),
        (lambda b: edit(b, 0, 2), "decode.version"),
        (lambda b: edit(b, 3, 0), "decode.unknown_field"),
        (lambda b: b[:-1], "decode.truncated"),
        (lambda b: b + b"\x00", "decode.trailing"),
    ],
)
def test_request_decoding_errors(mutation: Callable[[bytes], bytes], expected: str) -> None:
    assert code(lambda: EvaluationRequest.from_bytes(mutation(request_bytes()))) == expected


def test_response_decoding_errors() -> None:
    evaluator = Evaluator(KEY, now=NOW)
    response = evaluator.evaluate(b"c", request_bytes(), now=NOW, rng=RNG)
    proof = EvaluationResponse.from_bytes(response).proof
    for data, expected in [
        (edit(response, 3, proof[:32] + L.to_bytes(32, "little")), "decode.bad_element"),
        (edit(response, 3, proof[:63]), "decode.length"),
        (edit(response, 2, [bytes(32)]), "decode.bad_element"),
        (edit(response, 4, b""), "decode.unknown_field"),
    ]:
        assert code(lambda d=data: EvaluationResponse.from_bytes(d)) == expected


def test_published_key_must_be_an_element() -> None:
    data = edit(KEY.published(NOW).to_bytes(), 2, bytes(32))
    assert code(lambda: PublishedKey.from_bytes(data)) == "decode.bad_element"
    assert code(lambda: PublishedKey(1, bytes(32), NOW)) == "usage.bad_argument"


# --- keys and rotation (spec §8.5.1, §8.5.2) ----------------------------------------------------


def test_unknown_key_id() -> None:
    evaluator = Evaluator(KEY, now=NOW)
    assert code(lambda: evaluator.evaluate(b"c", request_bytes(key_id=2), now=NOW, rng=RNG)) == (
        "state.unknown_key"
    )


def test_rotation_keeps_the_previous_key_for_the_grace_period() -> None:
    evaluator = Evaluator(KEY, now=NOW)
    second = OprfKeyPair.derive(b"\x02" * 32, 2)
    later = NOW + 1000
    evaluator.rotate(second, now=later)
    assert evaluator.current_key().key_id == 2
    keys = evaluator.published_keys(later)
    assert [k.key_id for k in keys] == [1, 2]
    assert keys[0].not_after == later + KEY_GRACE_PERIOD
    assert keys[1].not_after == later + KEY_LIFETIME
    end = later + KEY_GRACE_PERIOD
    evaluator.evaluate(b"c", request_bytes(key_id=1), now=end, rng=RNG)
    evaluator.evaluate(b"c", request_bytes(key_id=2), now=end, rng=RNG)
    assert code(
        lambda: evaluator.evaluate(b"c", request_bytes(key_id=1), now=end + 1, rng=RNG)
    ) == ("state.unknown_key")
    assert [k.key_id for k in evaluator.published_keys(end + 1)] == [2]
    # A third rotation drops the expired key; ids still held cannot be reused.
    evaluator.rotate(OprfKeyPair.derive(b"\x03" * 32, 3), now=end + 1)
    assert [k.key_id for k in evaluator.snapshot().keys] == [2, 3]
    assert code(lambda: evaluator.rotate(second, now=end + 2)) == "usage.bad_argument"


def test_expired_current_key_is_refused() -> None:
    evaluator = Evaluator(KEY, now=NOW, lifetime=10)
    evaluator.evaluate(b"c", request_bytes(), now=NOW + 10, rng=RNG)
    assert code(lambda: evaluator.evaluate(b"c", request_bytes(), now=NOW + 11, rng=RNG)) == (
        "state.unknown_key"
    )
    assert evaluator.published_keys(NOW + 11) == ()


# --- rate limiting (spec §8.5.3) ---------------------------------------------------------------


def test_default_rate_limit_is_the_specified_one() -> None:
    assert DEFAULT_EVALUATION_RATE.capacity == 1000
    assert DEFAULT_EVALUATION_RATE.refill_interval == 1728  # 50 a day
    assert DEFAULT_EVALUATION_RATE.seconds_for(10**6) == 999_000 * 1728


def test_evaluator_rate_limit_counts_elements() -> None:
    evaluator = Evaluator(KEY, now=NOW, rate=RateLimit(capacity=5, refill_interval=60))
    evaluator.evaluate(b"a", request_bytes(3), now=NOW, rng=RNG)
    assert evaluator.available(b"a", NOW) == 2
    assert code(lambda: evaluator.evaluate(b"a", request_bytes(3), now=NOW, rng=RNG)) == (
        "state.rate_limited"
    )
    evaluator.evaluate(b"b", request_bytes(3), now=NOW, rng=RNG)  # per credential
    evaluator.evaluate(b"a", request_bytes(2), now=NOW, rng=RNG)
    assert code(lambda: evaluator.evaluate(b"a", request_bytes(1), now=NOW + 59, rng=RNG)) == (
        "state.rate_limited"
    )
    evaluator.evaluate(b"a", request_bytes(1), now=NOW + 60, rng=RNG)


def _failing_rng(n: int) -> bytes:
    return b""


def test_every_refusal_leaves_the_evaluator_unchanged() -> None:
    evaluator = Evaluator(KEY, now=NOW, rate=RateLimit(capacity=4, refill_interval=60))
    evaluator.evaluate(b"a", request_bytes(3), now=NOW, rng=RNG)
    before = evaluator.snapshot()
    attempts: list[tuple[Callable[[], object], str]] = [
        (
            lambda: evaluator.evaluate(b"a", request_bytes()[:-1], now=NOW, rng=RNG),
            "decode.truncated",
        ),
        (
            lambda: evaluator.evaluate(b"a", request_bytes(key_id=9), now=NOW, rng=RNG),
            "state.unknown_key",
        ),
        (
            lambda: evaluator.evaluate(b"a", request_bytes(2), now=NOW, rng=RNG),
            "state.rate_limited",
        ),
        (lambda: evaluator.evaluate(b"", request_bytes(1), now=NOW, rng=RNG), "decode.length"),
        (
            lambda: evaluator.evaluate(b"a", request_bytes(1), now=NOW, rng=_failing_rng),
            "usage.rng",
        ),
    ]
    for attempt, expected in attempts:
        assert code(attempt) == expected
        assert evaluator.snapshot() == before


def _simulate(capacity: int, interval: int, events: list[tuple[int, int]]) -> list[bool]:
    """An independent model: a bucket that ticks second by second.

    While it is below capacity a counter advances every second and adds a token every
    ``interval`` ticks; while full, the counter rests at zero.
    """
    tokens, counter, clock, out = capacity, 0, 0, []
    for at, cost in events:
        while clock < at:
            clock += 1
            if tokens < capacity:
                counter += 1
                if counter == interval:
                    tokens, counter = tokens + 1, 0
            if tokens == capacity:
                counter = 0
        if tokens >= cost:
            tokens -= cost
            out.append(True)
        else:
            out.append(False)
    return out


@settings(max_examples=200, deadline=None)
@given(
    capacity=st.integers(1, 6),
    interval=st.integers(1, 7),
    steps=st.lists(st.tuples(st.integers(0, 12), st.integers(1, 4)), min_size=1, max_size=30),
)
def test_property_token_bucket_matches_a_second_by_second_model(
    capacity: int, interval: int, steps: list[tuple[int, int]]
) -> None:
    limiter = RateLimiter(RateLimit(capacity, interval))
    events, at = [], 1000
    for gap, cost in steps:
        at += gap
        events.append((at - 1000, cost))
    got = []
    for at_offset, cost in events:
        now = 1000 + at_offset
        before = limiter.snapshot()
        try:
            bucket = limiter.check(b"cred", cost, now)
        except StateError as exc:
            assert exc.code == "state.rate_limited"
            assert limiter.snapshot() == before
            got.append(False)
            continue
        limiter.commit(b"cred", bucket, now)
        got.append(True)
    assert got == _simulate(capacity, interval, events)


def test_clock_going_backwards_gives_no_tokens() -> None:
    limiter = RateLimiter(RateLimit(2, 10))
    limiter.commit(b"c", limiter.check(b"c", 2, 1000), 1000)
    assert code(lambda: limiter.check(b"c", 1, 900)) == "state.rate_limited"
    assert limiter.available(b"c", 1010) == 1


def test_tracking_is_bounded_and_forgets_only_full_buckets() -> None:
    limiter = RateLimiter(RateLimit(capacity=2, refill_interval=10, max_tracked=3))
    for cred in (b"a", b"b", b"c"):
        limiter.commit(cred, limiter.check(cred, 1, 0), 0)
    assert code(lambda: limiter.check(b"d", 1, 5)) == "state.rate_limited"  # fail closed
    assert len(limiter) == 3
    # At t = 10 every bucket has refilled: they carry no information and make room.
    limiter.commit(b"d", limiter.check(b"d", 1, 10), 10)
    assert [c for c, _, _ in limiter.snapshot()] == [b"d"]


def test_a_full_table_refuses_new_credentials_without_scanning_it_each_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Spec §1.6: at the max_tracked bound, refusing a new credential costs O(1), not one look at
    # every tracked bucket (10^6 by default) per request.
    limiter = RateLimiter(RateLimit(capacity=2, refill_interval=10, max_tracked=500))
    for i in range(500):
        cred = b"c%d" % i
        limiter.commit(cred, limiter.check(cred, 1, 0), 0)
    looks = 0
    is_full = RateLimiter._is_full

    def counting(self: RateLimiter, bucket: object, now: int) -> bool:
        nonlocal looks
        looks += 1
        return is_full(self, bucket, now)  # type: ignore[arg-type]

    monkeypatch.setattr(RateLimiter, "_is_full", counting)
    for i in range(200):
        assert code(lambda i=i: limiter.check(b"new%d" % i, 1, 5)) == "state.rate_limited"
    assert looks <= 500  # at most one scan
    before = limiter.snapshot()
    limiter.commit(b"late", limiter.check(b"late", 1, 10), 10)  # every bucket full again
    assert len(limiter) == 1 and before != limiter.snapshot()


def test_rate_limit_parameters_are_checked() -> None:
    assert code(lambda: RateLimit(0, 1)) == "usage.bad_argument"
    assert code(lambda: RateLimiter(RateLimit(1, 1)).check(b"c", 0, 0)) == "usage.bad_argument"
    assert code(lambda: RateLimiter(RateLimit(1, 1)).check(b"x" * 65, 1, 0)) == "decode.length"


# --- hostile input ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_mutated_requests_fail_cleanly_and_change_nothing(data: st.DataObject) -> None:
    evaluator = Evaluator(KEY, now=NOW, rate=RateLimit(capacity=3, refill_interval=60))
    good = bytearray(request_bytes(2))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(good) - 1))
        good[i] ^= 1 << data.draw(st.integers(0, 7))
    before = evaluator.snapshot()
    try:
        evaluator.evaluate(b"c", bytes(good), now=NOW, rng=RNG)
    except (DecodeError, StateError):
        assert evaluator.snapshot() == before


def test_key_material_is_opaque() -> None:
    text = repr(KEY)
    assert "redacted" in text and KEY.private_bytes().hex() not in text
    for action in (pickle.dumps, copy.copy, copy.deepcopy):
        with pytest.raises(TypeError):
            action(KEY)
    with pytest.raises(TypeError):
        pickle.dumps(Evaluator(KEY, now=NOW))
    assert code(lambda: OprfKeyPair.from_private_bytes(1, b"\xff" * 32)) == "usage.bad_argument"
    assert code(lambda: OprfKeyPair.derive(bytes(32), 2**32)) == "usage.bad_argument"
