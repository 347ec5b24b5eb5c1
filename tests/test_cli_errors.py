"""The command line at its edge: one line naming the path and an exit status, never a traceback.

Exit statuses (``blindpost --help``): 1 a vector failed verification, a suite file that is not a
suite included; 2 a path that cannot be created, read or written; 141 standard output closed
by its reader. Tests assert statuses and that the path is named, never the wording.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from protocol.edge.cli import EXIT_BROKEN_PIPE, EXIT_ENVIRONMENT, EXIT_FAILED, main
from tests.external import REPO


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err


# --- vectors generate: the output folder or file cannot be written ----------------------------


def test_generate_into_an_existing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "a-file"
    target.write_text("")
    status, err = _run(capsys, "vectors", "generate", "--suite", "cbor", "--dir", str(target))
    assert status == EXIT_ENVIRONMENT
    assert str(target) in err


def test_generate_below_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a-file").write_text("")
    target = tmp_path / "a-file" / "vectors"
    status, err = _run(capsys, "vectors", "generate", "--suite", "cbor", "--dir", str(target))
    assert status == EXIT_ENVIRONMENT
    assert str(target) in err


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_generate_into_a_folder_that_cannot_be_created(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # /proc refuses new entries with ENOENT (FileNotFoundError), even for root.
    target = "/proc/blindpost-no-such-entry/vectors"
    status, err = _run(capsys, "vectors", "generate", "--suite", "cbor", "--dir", target)
    assert status == EXIT_ENVIRONMENT
    assert "/proc/blindpost-no-such-entry" in err


def test_generate_when_the_suite_file_is_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cbor.json").mkdir()
    status, err = _run(capsys, "vectors", "generate", "--suite", "cbor", "--dir", str(tmp_path))
    assert status == EXIT_ENVIRONMENT
    assert str(tmp_path / "cbor.json") in err


# --- vectors verify: a suite file is untrusted input ------------------------------------------

_HEADER = {"suite": "cbor", "format_version": 1, "generator": "test"}
NOT_SUITES = {
    "top-level-list": [],
    "top-level-string": "cbor",
    "top-level-null": None,
    "cases-a-number": {**_HEADER, "cases": 5},
    "case-a-number": {**_HEADER, "cases": [5]},
    "suite-a-list": {**_HEADER, "suite": [], "cases": []},
    "another-suite": {**_HEADER, "suite": "keys", "cases": []},
    "format-version-a-string": {**_HEADER, "format_version": "1", "cases": []},
    "case-without-id": {
        **_HEADER,
        "cases": [{"comment": "", "flags": [], "result": "valid", "error": None}],
    },
    "case-id-a-number": {
        **_HEADER,
        "cases": [{"id": 1, "comment": "", "flags": [], "result": "valid", "error": None}],
    },
    "case-flags-not-strings": {
        **_HEADER,
        "cases": [{"id": "a", "comment": "", "flags": [1], "result": "valid", "error": None}],
    },
    "case-result-unknown": {
        **_HEADER,
        "cases": [{"id": "a", "comment": "", "flags": [], "result": "maybe", "error": None}],
    },
    "invalid-case-without-error": {
        **_HEADER,
        "cases": [{"id": "a", "comment": "", "flags": [], "result": "invalid", "error": None}],
    },
}


@pytest.mark.parametrize("name", sorted(NOT_SUITES))
def test_verify_a_json_file_that_is_not_a_suite(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cbor.json"
    path.write_text(json.dumps(NOT_SUITES[name]))
    status, err = _run(capsys, "vectors", "verify", "--suite", "cbor", "--dir", str(tmp_path))
    assert status == EXIT_FAILED
    assert str(path) in err
    assert "$" in err  # the JSON path of the first problem


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_verify_json_nested_100000_deep(
    opening: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    closing = "]" if opening == "[" else "}"
    path = tmp_path / "cbor.json"
    path.write_text(opening * 100_000 + ("1" if opening != "[" else "") + closing * 100_000)
    status, err = _run(
        capsys, "vectors", "verify", "--suite", "cbor", "--dir", str(tmp_path), "--json"
    )
    assert status == EXIT_FAILED
    assert str(path) in err


def test_verify_a_file_that_is_not_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cbor.json"
    path.write_bytes(b"\xff\xfe not json")
    status, err = _run(capsys, "vectors", "verify", "--suite", "cbor", "--dir", str(tmp_path))
    assert status == EXIT_FAILED
    assert str(path) in err


def test_verify_a_published_suite_still_passes(capsys: pytest.CaptureFixture[str]) -> None:
    status, _err = _run(
        capsys, "vectors", "verify", "--suite", "cbor", "--dir", str(REPO / "vectors")
    )
    assert status == 0


# --- standard output closed by its reader (blindpost demo | head -1) ---------------------------


def test_demo_into_a_closed_pipe_exits_quietly() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "protocol.edge.cli", "demo"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first write, as `| head -1` soon is
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == EXIT_BROKEN_PIPE
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err


def test_demo_piped_to_head_prints_one_line_and_no_traceback() -> None:
    result = subprocess.run(
        f"{sys.executable} -m protocol.edge.cli demo | head -1",
        shell=True,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert len(result.stdout.splitlines()) == 1
    assert "Traceback" not in result.stderr


# --- demo: the relay's database ------------------------------------------------------------------


def test_demo_db_that_cannot_be_opened(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a-file").write_text("")
    target = tmp_path / "a-file" / "relay.db"
    status, err = _run(capsys, "demo", "--db", str(target))
    assert status == EXIT_ENVIRONMENT
    assert str(target) in err and len(err.strip().splitlines()) == 1


def test_demo_db_that_is_not_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("not a database, " * 100)
    status, err = _run(capsys, "demo", "--db", str(target))
    assert status == EXIT_ENVIRONMENT
    assert str(target) in err


def test_demo_unknown_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["demo", "--no-such-flag"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--no-such-flag" in err


# --- demo: the phones' numbers ------------------------------------------------------------------

MALFORMED_NUMBERS = {
    "a-letter": "+44 20 79x6 0958",
    "empty": "",
    "too-short": "+44 1",
    "unassigned-country": "+999 1234 5678",
    "plus-inside": "44+20 7946 0958",
    "far-too-long": "+44 " + "1" * 200,
}


@pytest.mark.parametrize("option", ["--alice-phone", "--bob-phone"])
@pytest.mark.parametrize("name", sorted(MALFORMED_NUMBERS))
def test_demo_with_a_malformed_phone_number(
    option: str, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One line naming the option and the number's code, status 2, and nothing run (the
    relay's database is not even created)."""
    db = tmp_path / "relay.db"
    status, err = _run(capsys, "demo", "--db", str(db), option, MALFORMED_NUMBERS[name])
    assert status == EXIT_ENVIRONMENT
    lines = err.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and "decode.phone_" in lines[0]
    assert not db.exists()
    assert capsys.readouterr().out == ""


def test_demo_with_the_same_number_twice(capsys: pytest.CaptureFixture[str]) -> None:
    status, err = _run(capsys, "demo", "--alice-phone", "020 7946 0958")  # Bob's default
    assert status == EXIT_ENVIRONMENT
    assert len(err.strip().splitlines()) == 1 and "usage.bad_argument" in err


def test_demo_with_numbers_given_runs_with_them(capsys: pytest.CaptureFixture[str]) -> None:
    """The numbers given are the phones' in the JSON document (so the leak audit looks for
    them), and Alice finds Bob under his."""
    assert main(["demo", "--json", "--alice-phone", "+1 202 555 0100",
                 "--bob-phone", "+33 1 23 45 67 89"]) == 0  # fmt: skip
    document = json.loads(capsys.readouterr().out)
    alice, bob = document["clients"]
    assert alice["phone"] == "+1 202 555 0100" and bob["phone"] == "+33 1 23 45 67 89"
    assert alice["contacts"][0] == bob["phone"] and bob["contacts"] == [alice["phone"]]
    assert {m["text"] for m in document["messages"]} >= {"Hi Bob, it's Alice."}
