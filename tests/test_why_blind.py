"""``blindpost why-blind`` (spec §8.8): the demonstration, on a block of 10^4 numbers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from protocol.edge.cli import main
from protocol.kat import SeededRng
from protocol.why_blind import block_number, recover_from_hash, render, run, target_index

NOW = 1_767_225_600
BLOCK = 10_000


def ticking_clock() -> Callable[[], float]:
    """A fake clock: every reading is one second after the previous one."""
    state = [0.0]

    def clock() -> float:
        state[0] += 1.0
        return state[0]

    return clock


def test_plain_sha256_is_reversed_by_enumeration() -> None:
    target = "+447000009000"  # nine tenths into the block of 10^4
    digest = hashlib.sha256(target.encode()).digest()
    attack = recover_from_hash(digest, BLOCK, ticking_clock())
    assert attack.recovered is not None and attack.recovered.e164 == target
    assert attack.tried == 9001 and attack.seconds == 1.0
    missing = recover_from_hash(hashlib.sha256(b"+447999999999").digest(), BLOCK, ticking_clock())
    assert missing.recovered is None and missing.tried == BLOCK


def test_report_on_a_small_block() -> None:
    report = run(block=BLOCK, clock=ticking_clock(), rng=SeededRng(b"test_why_blind"), now=NOW)
    assert report.target.e164 == "+447000009000" == block_number(target_index(BLOCK)).e164
    assert report.hash_attack.recovered == report.target
    # Offline: a guessed key matches nothing in the sample.
    assert report.offline.sample == 1000 and report.offline.matches == 0
    # Online: exactly the bucket's capacity is served, then the evaluator refuses.
    assert report.online.accepted == 1000
    assert report.online.refused_with == "state.rate_limited"
    assert report.online.seconds_for_block == (BLOCK - 1000) * 1728  # 9000 evaluations at 50/day
    text = "\n".join(render(report))
    assert "+447000009000" in text and "state.rate_limited" in text
    assert "1,000 guesses accepted" in text and "50 a day" in text


def test_default_block_numbers() -> None:
    # 10^6 numbers at 50 a day after a burst of 1000: (10^6 - 1000) * 1728 s ≈ 54.7 years.
    seconds = (10**6 - 1000) * 1728
    assert round(seconds / (365.25 * 86_400), 1) == 54.7


def test_cli_why_blind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["why-blind", "--block", "2000"]) == 0
    out = capsys.readouterr().out
    assert "+447000001800" in out and "state.rate_limited" in out
    assert main(["why-blind", "--block", "0"]) == 2
