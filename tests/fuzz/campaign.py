"""Run the fuzz targets one after another under a time budget and a memory limit (``make fuzz``).

::

    .venv/bin/python tests/fuzz/campaign.py [--target NAME ...] [--seconds TOTAL]
        [--seconds-per-target S] [--rss-limit-mb MB] [--no-merge] [--summary FILE]

* ``--seconds TOTAL`` (default 600) is the budget of the whole run, divided equally between the
  selected targets (all of them unless ``--target`` is given); ``--seconds-per-target S`` gives
  each target ``S`` seconds instead. The budget is libFuzzer's ``-max_total_time``; start-up and
  the merge come on top (a few seconds per target).
* ``--rss-limit-mb`` (default 512) is libFuzzer's ``-rss_limit_mb``: a target whose process grows
  past it stops with an ``oom`` finding. A harness process stays at about 65 MB; a decoder
  that keeps every rejected input (issue 10) passes 512 MB within about 20 seconds.
* Each target's working corpus is ``tests/fuzz/work/TARGET/`` (ignored by git), seeded with the
  target's valid inputs; the committed corpus ``tests/fuzz/corpus/`` is read as seeds too.
* Findings (an exception outside the contract, a hang over 10 s, the memory limit) are written
  to ``tests/fuzz/crashes/TARGET-…`` (ignored); the run goes on with the next target and exits
  with status 1 at the end.
* Unless ``--no-merge``: libFuzzer's ``-merge=1`` keeps the inputs of the working corpus that
  reach code the committed corpus does not reach, and the smallest of them (at most
  ``MAX_NEW_PER_TARGET``, each at most ``MAX_NEW_FILE_SIZE`` bytes) are added to
  ``tests/fuzz/corpus/`` as ``TARGET-<sha1>.bin``. ``make test`` replays them through every target.
* One line per target goes to the summary file (default ``tests/fuzz/work/summary.txt``) and to
  standard output: target, seconds, executions, ``cov`` and ``ft`` (libFuzzer's coverage
  counters at the end), the working corpus size, the files merged, the peak RSS and the
  findings.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HARNESS = HERE / "harness.py"
CORPUS = HERE / "corpus"
WORK = HERE / "work"
CRASHES = HERE / "crashes"
DEFAULT_SECONDS = 600
DEFAULT_RSS_LIMIT_MB = 512
#: libFuzzer's per-input time limit (seconds): a slower input is a finding.
INPUT_TIMEOUT = 10
#: Most files one merge adds to the committed corpus, and their largest size.
MAX_NEW_PER_TARGET = 8
MAX_NEW_FILE_SIZE = 4096
#: Inputs libFuzzer may generate: at least this, or the target's largest valid input.
MIN_MAX_LEN = 4096

_STATUS = re.compile(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/", re.MULTILINE)
_EXECS = re.compile(r"stat::number_of_executed_units:\s*(\d+)")
_PEAK_RSS = re.compile(r"stat::peak_rss_mb:\s*(\d+)")
_FINDING = re.compile(r"Test unit written to (\S+)")


def _seed_work_dir(name: str) -> tuple[Path, int]:
    from tests.fuzz.targets import TARGETS

    work = WORK / name
    work.mkdir(parents=True, exist_ok=True)
    seeds = TARGETS[name].seeds()
    for data in seeds:
        (work / f"seed-{hashlib.sha1(data).hexdigest()}").write_bytes(data)
    return work, max([MIN_MAX_LEN, *map(len, seeds)])


def _harness(name: str, *args: str) -> list[str]:
    return [sys.executable, str(HARNESS), name, *args]


def _merge(name: str, work: Path, rss_limit_mb: int, log: Path) -> int:
    """Add the working-corpus inputs that reach new code to the committed corpus."""
    with tempfile.TemporaryDirectory(prefix=f"merge-{name}-") as tmp:
        merged = Path(tmp) / "corpus"
        shutil.copytree(CORPUS, merged)
        before = {p.name for p in merged.iterdir()}
        with log.open("a") as out:
            subprocess.run(
                _harness(
                    name,
                    "-merge=1",
                    f"-rss_limit_mb={rss_limit_mb}",
                    f"-timeout={INPUT_TIMEOUT}",
                    str(merged),
                    str(work),
                ),
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        new = [p for p in merged.iterdir() if p.name not in before and p.is_file()]
        new = sorted(
            (p for p in new if p.stat().st_size <= MAX_NEW_FILE_SIZE),
            key=lambda p: p.stat().st_size,
        )
        added = 0
        for path in new[:MAX_NEW_PER_TARGET]:
            data = path.read_bytes()
            target = CORPUS / f"{name}-{hashlib.sha1(data).hexdigest()[:16]}.bin"
            if not target.exists():
                target.write_bytes(data)
                added += 1
        return added


def _run_target(name: str, seconds: int, rss_limit_mb: int, merge: bool) -> dict[str, object]:
    work, max_len = _seed_work_dir(name)
    CRASHES.mkdir(parents=True, exist_ok=True)
    log = WORK / f"{name}.log"
    started = time.monotonic()
    with log.open("w") as out:
        result = subprocess.run(
            _harness(
                name,
                f"-max_total_time={seconds}",
                f"-rss_limit_mb={rss_limit_mb}",
                f"-timeout={INPUT_TIMEOUT}",
                f"-max_len={max_len}",
                f"-artifact_prefix={CRASHES}/{name}-",
                "-print_final_stats=1",
                str(work),
                str(CORPUS),
            ),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    elapsed = time.monotonic() - started
    text = log.read_text(errors="replace")
    status = _STATUS.findall(text)
    execs = _EXECS.findall(text)
    peak = _PEAK_RSS.findall(text)
    findings = _FINDING.findall(text)
    if "out-of-memory" in text and not findings:
        findings = ["oom"]
    if result.returncode != 0 and not findings:
        findings = [f"exit status {result.returncode}"]
    last = status[-1] if status else ("0", "0", "0", "0")
    added = _merge(name, work, rss_limit_mb, log) if merge and not findings else 0
    return {
        "target": name,
        "seconds": round(elapsed),
        "execs": int(execs[-1]) if execs else int(last[0]),
        "cov": int(last[1]),
        "ft": int(last[2]),
        "corpus": int(last[3]),
        "merged": added,
        "rss_mb": int(peak[-1]) if peak else 0,
        "findings": len(findings),
        "artifacts": findings,
        "oom": "out-of-memory" in text,
    }


def _line(row: dict[str, object]) -> str:
    text = (
        f"{row['target']:32} seconds {row['seconds']:5}  execs {row['execs']:9}  "
        f"cov {row['cov']:5}  ft {row['ft']:6}  corpus {row['corpus']:5}  "
        f"merged {row['merged']:3}  rss {row['rss_mb']:4} MB  findings {row['findings']}"
    )
    if row["artifacts"]:
        text += "  " + " ".join(str(a) for a in row["artifacts"])  # type: ignore[attr-defined]
    if row["oom"]:
        text += "  (rss limit)"
    return text


def main(argv: list[str] | None = None) -> int:
    from tests.fuzz.targets import TARGETS

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--target", action="append", default=[], help="a target or a,b,c (repeatable; default all)"
    )
    parser.add_argument(
        "--seconds",
        type=int,
        default=DEFAULT_SECONDS,
        help=f"budget of the whole run, divided equally between the targets (default "
        f"{DEFAULT_SECONDS})",
    )
    parser.add_argument("--seconds-per-target", type=int, help="budget of each target instead")
    parser.add_argument(
        "--rss-limit-mb",
        type=int,
        default=DEFAULT_RSS_LIMIT_MB,
        help=f"libFuzzer -rss_limit_mb (default {DEFAULT_RSS_LIMIT_MB})",
    )
    parser.add_argument("--no-merge", action="store_true", help="leave tests/fuzz/corpus/ alone")
    parser.add_argument(
        "--summary", type=Path, default=WORK / "summary.txt", help="file the lines are appended to"
    )
    args = parser.parse_args(argv)

    names = [n for arg in args.target for n in arg.replace(",", " ").split()] or list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        print(f"campaign: unknown targets {unknown} (make fuzz-list shows them)", file=sys.stderr)
        return 2
    seconds = args.seconds_per_target or max(1, args.seconds // len(names))
    WORK.mkdir(parents=True, exist_ok=True)
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    print(
        f"fuzzing {len(names)} target(s), {seconds} s each, rss limit {args.rss_limit_mb} MB; "
        f"logs in {WORK.relative_to(ROOT)}/, findings in {CRASHES.relative_to(ROOT)}/",
        flush=True,
    )
    failed = False
    with args.summary.open("a") as summary:
        summary.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} {seconds} s per target\n")
        for name in names:
            row = _run_target(name, seconds, args.rss_limit_mb, not args.no_merge)
            failed = failed or bool(row["findings"])
            line = _line(row)
            print(line, flush=True)
            summary.write(line + "\n")
            summary.flush()
    print(f"summary appended to {args.summary}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
