"""Spec §1.4, §1.6, §2.3: the atheris (libFuzzer) harness of one fuzz target.

Usually run through ``make fuzz`` (``tests/fuzz/campaign.py``), which picks the targets, the time
budget, the memory limit and the folders. By hand::

    .venv/bin/python tests/fuzz/harness.py --list
    .venv/bin/python tests/fuzz/harness.py TARGET [libFuzzer flags] [CORPUS_DIR ...]
    .venv/bin/python tests/fuzz/harness.py TARGET --replay FILE_OR_DIR ...   # no atheris needed

The ``protocol`` package is imported under ``atheris.instrument_imports``, so libFuzzer sees
its coverage (its ``cov:`` and ``ft:`` counters grow as new code is reached). Each input goes
to the target named on the command line (``tests/fuzz/targets.py``); an exception outside the
target's contract, a hang (``-timeout``) or memory above ``-rss_limit_mb`` is a finding.
"""

from __future__ import annotations

import contextlib
import shlex
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(_ROOT))

USAGE = __doc__.split("By hand::", 1)[1].split("\n\n", 2)[1]


def _replay(name: str, paths: list[str]) -> int:
    from tests.fuzz.targets import TARGETS, check

    if name not in TARGETS:
        raise SystemExit(f"harness: unknown target {name!r} (--list shows them)")
    target = TARGETS[name]
    count = 0
    for arg in paths:
        path = Path(arg)
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file():
                check(target, file.read_bytes())
                count += 1
    print(f"{name}: replayed {count} inputs, none outside the contract")
    return 0


def _fuzz(name: str, libfuzzer_args: list[str]) -> None:
    import atheris

    # Nothing of ``protocol`` may be imported before this point, or it would run uninstrumented.
    if any(m == "protocol" or m.startswith("protocol.") for m in sys.modules):
        raise SystemExit("harness: protocol was imported before instrumentation")
    with atheris.instrument_imports(include=["protocol"]):
        from tests.fuzz.targets import TARGETS

    if name not in TARGETS:
        raise SystemExit(f"harness: unknown target {name!r} (--list shows them)")
    target = TARGETS[name]
    run = target.run()  # builds the target's state before the first input
    allowed = target.allowed

    def one_input(data: bytes) -> None:
        with contextlib.suppress(*allowed):
            run(data)

    # libFuzzer runs ``argv[0]`` through the shell for -merge and -fork: let it be the whole
    # command that comes back here, with this target.
    program = " ".join(shlex.quote(part) for part in (sys.executable, __file__, name))
    atheris.Setup([program, *libfuzzer_args], one_input)
    atheris.Fuzz()


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(USAGE)
        return 0 if len(argv) >= 2 else 2
    if argv[1] == "--list":
        from tests.fuzz.targets import TARGETS

        for name, target in TARGETS.items():
            print(f"{name:32} {target.kind:6}  {target.doc.splitlines()[0]}")
        return 0
    name, rest = argv[1], argv[2:]
    if rest[:1] == ["--replay"]:
        return _replay(name, rest[1:])
    _fuzz(name, rest)
    return 0  # unreachable: libFuzzer exits the process


if __name__ == "__main__":
    sys.exit(main(sys.argv))
