"""Spec §8.5–§8.7: what the roles cost over the bare RFC 9497 calls, and directory lookups.

Run with ``make bench`` (or ``pytest bench/test_bench_blinding.py --benchmark-only``) and
compare medians *within one run*:

* ``blinding-exchange``: one number through the role objects — normalise, blind
  (:func:`request_evaluation`), encode the request, :meth:`Evaluator.evaluate` (decode, key,
  rate limit, evaluate with proof, encode), decode and verify the response, finalise — against
  the bare ``oprf`` calls of the same exchange, and against the Rust-backed ``voprf`` 0.2
  (skipped when that optional peer is not installed).
* ``blinding-batch64``: the same for a full batch of 64 numbers.
* ``directory-lookup``: one lookup (server page plus the client's decoding, filtering and
  verification) in a directory of 10^2 and of 10^5 registrations; ``directory-lookup-server``:
  the server's part alone. Tokens are ``SHA-256(i)``, so the target's bucket holds 22 entries
  (prefix 2 bits) and 42 entries (prefix 12 bits): the client's cost follows the bucket's
  population, not the directory's size.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from protocol import oprf
from protocol.blinding import MailboxKeyPair, normalize_phone_number, request_evaluation
from protocol.directory import (
    Directory,
    Registration,
    lookup_request,
    read_lookup_response,
    registrations_for,
)
from protocol.evaluator import MODE, Evaluator, OprfKeyPair
from protocol.keys import IdentityKeyPair
from protocol.primitives import system_rng
from protocol.ratelimit import RateLimit

try:
    from voprf import ristretto as _voprf
except ImportError:  # the optional peer implementation
    _voprf = None

NOW = 1_767_225_600
SEED = hashlib.sha256(b"bench oprf seed").digest()
KEY = OprfKeyPair.derive(SEED, 1)
#: Effectively unlimited, so that the benchmark measures the work and not the refusals.
UNLIMITED = RateLimit(capacity=2**62, refill_interval=1)
TEXT = "+44 (0)20 7946-0958"
NUMBER = normalize_phone_number(TEXT)
INPUT = NUMBER.oprf_input()
BATCH = [normalize_phone_number(f"+44 20 7946 {i:04d}") for i in range(64)]


def _role_exchange(evaluator: Evaluator, texts: list[str]) -> list[bytes]:
    numbers = [normalize_phone_number(t) for t in texts]
    pending = request_evaluation(numbers, evaluator.current_key(), now=NOW, rng=system_rng)
    response = evaluator.evaluate(b"bench", pending.request.to_bytes(), now=NOW, rng=system_rng)
    return [o.discovery_token() for o in pending.finish(response)]


def _bare_exchange(inputs: list[bytes]) -> list[bytes]:
    sk, pk = KEY._sk, KEY.public_key
    blinds, blinded = [], []
    for x in inputs:
        r, b = oprf.blind(x, MODE, system_rng)
        blinds.append(r)
        blinded.append(b)
    evaluated, proof = oprf.blind_evaluate_batch(sk, pk, blinded, MODE, system_rng)
    return oprf.finalize_verified(pk, inputs, blinds, blinded, evaluated, proof, MODE)


@pytest.mark.benchmark(group="blinding-exchange")
def test_exchange_bare_oprf(benchmark: Any) -> None:
    assert benchmark(_bare_exchange, [INPUT]) == [KEY.evaluate(INPUT)]


@pytest.mark.benchmark(group="blinding-exchange")
def test_exchange_roles(benchmark: Any) -> None:
    evaluator = Evaluator(KEY, now=NOW, rate=UNLIMITED)
    tokens = benchmark(_role_exchange, evaluator, [TEXT])
    assert len(tokens) == 1


@pytest.mark.skipif(_voprf is None, reason="optional peer `voprf` 0.2 is not installed")
@pytest.mark.benchmark(group="blinding-exchange")
def test_exchange_rust_voprf(benchmark: Any) -> None:
    assert _voprf is not None
    evaluator = _voprf.Evaluator.from_seed(SEED, b"")
    public_key = evaluator.public_key

    def exchange() -> bytes:
        client, blinded = _voprf.Client.blind(INPUT)
        return client.finalize(evaluator.evaluate(blinded), public_key)

    assert len(benchmark(exchange)) == 64


@pytest.mark.benchmark(group="blinding-batch64")
def test_batch64_bare_oprf(benchmark: Any) -> None:
    assert len(benchmark(_bare_exchange, [n.oprf_input() for n in BATCH])) == 64


@pytest.mark.benchmark(group="blinding-batch64")
def test_batch64_roles(benchmark: Any) -> None:
    evaluator = Evaluator(KEY, now=NOW, rate=UNLIMITED)
    texts = [n.e164 for n in BATCH]
    assert len(benchmark(_role_exchange, evaluator, texts)) == 64


def _directory(size: int) -> tuple[Directory, bytes]:
    """``size`` registrations under distinct tokens (one real, the rest share its signature:
    lookups do not verify, the client verifies only its own token's entries)."""
    identity = IdentityKeyPair.generate(system_rng)
    mailbox = MailboxKeyPair.generate(system_rng).public_key
    target = hashlib.sha256(b"target").digest()
    real = Registration.sign(identity, target, mailbox, now=NOW)
    others = [
        Registration(
            hashlib.sha256(b"%d" % i).digest(), real.identity, mailbox, NOW, real.signature
        )
        for i in range(size - 1)
    ]
    directory = Directory()
    directory._insert_unchecked([real, *others])
    return directory, target


def _lookup(directory: Directory, token: bytes) -> int:
    request = lookup_request(token, directory.parameters().prefix_bits)
    page = read_lookup_response(request, directory.lookup(request.to_bytes(), now=NOW))
    return len(registrations_for(token, [page]))


@pytest.mark.benchmark(group="directory-lookup")
def test_lookup_1e2(benchmark: Any) -> None:
    directory, token = _directory(10**2)
    assert benchmark(_lookup, directory, token) == 1


@pytest.mark.benchmark(group="directory-lookup")
def test_lookup_1e5(benchmark: Any) -> None:
    directory, token = _directory(10**5)
    assert directory.parameters().prefix_bits == 12
    assert benchmark(_lookup, directory, token) == 1


@pytest.mark.benchmark(group="directory-lookup-server")
def test_lookup_server_1e2(benchmark: Any) -> None:
    directory, token = _directory(10**2)
    request = lookup_request(token, directory.parameters().prefix_bits).to_bytes()
    benchmark(directory.lookup, request, now=NOW)


@pytest.mark.benchmark(group="directory-lookup-server")
def test_lookup_server_1e5(benchmark: Any) -> None:
    directory, token = _directory(10**5)
    request = lookup_request(token, directory.parameters().prefix_bits).to_bytes()
    benchmark(directory.lookup, request, now=NOW)


@pytest.mark.benchmark(group="normalise")
def test_normalise_messy_spelling(benchmark: Any) -> None:
    assert benchmark(normalize_phone_number, "＋４４ (0)２０ ７９４６-０９５８") == NUMBER
