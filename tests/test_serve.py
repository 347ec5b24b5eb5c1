"""``blindpost serve`` (spec §14): bad options are one line and status 2; a real server process
on a loopback port answers, keeps its relay in SQLite, and stops cleanly on SIGTERM (bounded)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from protocol.edge.cli import EXIT_ENVIRONMENT, main
from protocol.edge.http import MEDIA_TYPE

DEADLINE = 20.0


@pytest.mark.parametrize(
    "argv",
    [
        ["--store", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"],
        ["--store", "bogus"],
        ["--relay-id", "zz"],
        ["--relay-id", "00" * 31],
    ],
)
def test_bad_options_are_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--role", "relay", *argv]) == EXIT_ENVIRONMENT
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_an_unopenable_sqlite_store_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("")
    status = main(["serve", "--role", "relay", "--store", f"sqlite:{tmp_path / 'file' / 'r.db'}"])
    assert status == EXIT_ENVIRONMENT
    assert "Traceback" not in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_a_server_process_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    port, db = _free_port(), tmp_path / "relay.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "protocol.edge.cli", "serve", "--role", "all", "--port",
         str(port), "--store", f"sqlite:{db}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "no answer"
            time.sleep(0.1)
        ready = httpx.get(f"{base}/ready", timeout=5)
        assert ready.status_code == 200 and b"relay" in ready.content
        answer = httpx.post(f"{base}/v1/directory/parameters", content=b"",
                            headers={"content-type": MEDIA_TYPE}, timeout=5)  # fmt: skip
        assert answer.status_code == 200
        assert db.exists()
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=DEADLINE)
    # uvicorn shuts down gracefully, then re-raises the signal it caught (its documented
    # behaviour since 0.29), so the status is "terminated by SIGTERM", not a crash
    assert process.returncode in (0, -signal.SIGTERM), err
    assert "Traceback" not in err
    assert "127.0.0.1" not in err.replace(f"http://127.0.0.1:{port}", "")  # no client address
    assert "relay: id" in out
