"""Spec §10.9: a deposit the relay acknowledged survives ``kill -9`` of the relay process.

The relay runs in a subprocess (``protocol.edge.relay_process``) on an SQLite file; the test
streams signed deposits into one conversation mailbox, kills the process with SIGKILL while it
is still working through them, and then checks the file: every envelope whose deposit was
acknowledged is there, byte for byte, exactly once. A relay restarted on the same file answers
every deposit retried, and afterwards each envelope is stored exactly once and the file passes
SQLite's integrity check. Bounded: 200 deposits, a 60-second cap, loopback nothing.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from protocol.edge.sqlite_store import SqliteStore
from protocol.envelope import ENVELOPE_VERSION, MIN_BODY_SIZE, envelope_id
from protocol.primitives import Ed25519KeyPair, Element, Scalar
from protocol.relay import (
    KIND_CONVERSATION,
    OPEN_OP,
    Deposit,
    DepositResponse,
    OpenBody,
    owner_request,
    sign_deposit,
)

DEPOSITS = 200
KILL_AFTER = 40
DEADLINE = 60.0

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _start(db: Path, relay_id: bytes) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "protocol.edge.relay_process",
            "--db",
            str(db),
            "--relay-id",
            relay_id.hex(),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )


def _ask(process: subprocess.Popen[str], line: str) -> str:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(line + "\n")
    process.stdin.flush()
    return process.stdout.readline().strip()


def test_acknowledged_deposits_survive_kill_9(tmp_path: Path) -> None:
    db, relay_id = tmp_path / "relay.db", os.urandom(32)
    owner = Scalar.random(os.urandom)
    address = Element.base_mul(owner).to_bytes()
    deposit_seed = os.urandom(32)
    now = int(time.time())
    open_request = owner_request(
        owner,
        relay_id=relay_id,
        op=OPEN_OP,
        body=OpenBody(KIND_CONVERSATION, deposit_key=Ed25519KeyPair(deposit_seed).public_key),
        time=now,
        rng=os.urandom,
    )
    envelopes = [
        bytes([ENVELOPE_VERSION]) + address + (3600).to_bytes(4, "big") + os.urandom(MIN_BODY_SIZE)
        for _ in range(DEPOSITS)
    ]
    lines = []
    for envelope in envelopes:
        signature = sign_deposit(
            deposit_seed,
            relay_id=relay_id,
            address=address,
            envelope_id=envelope_id(envelope),
            time=now,
        )
        lines.append("deposit " + Deposit(envelope, time=now, signature=signature).to_bytes().hex())

    process = _start(db, relay_id)
    assert _ask(process, "owner " + open_request.hex()).startswith("ok ")
    assert process.stdin is not None and process.stdout is not None
    stdin = process.stdin

    def feed() -> None:
        try:
            for line in lines:
                stdin.write(line + "\n")
            stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the process was killed mid-stream: that is the point

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    acknowledged: list[bytes] = []
    started = time.monotonic()
    while len(acknowledged) < KILL_AFTER and time.monotonic() - started < DEADLINE:
        answer = process.stdout.readline().strip()
        assert answer.startswith("ok "), answer
        acknowledged.append(DepositResponse.from_bytes(bytes.fromhex(answer[3:])).id)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=DEADLINE)
    feeder.join(timeout=DEADLINE)
    assert process.returncode == -signal.SIGKILL
    assert len(acknowledged) == KILL_AFTER

    by_id = {envelope_id(e): e for e in envelopes}
    with SqliteStore(db) as store:
        rows = store.dump()["envelope"]
    stored_ids = [row["id"] for row in rows]
    assert len(stored_ids) == len(set(stored_ids)), "an envelope stored twice"
    assert len(stored_ids) < DEPOSITS, "the kill came after the last deposit: nothing tested"
    stored = {row["id"]: row["envelope"] for row in rows}
    for got in acknowledged:
        assert stored.get(got) == by_id[got], "an acknowledged deposit was lost"

    # A relay restarted on the same file answers every deposit again — the sender retries all
    # it was not sure of — each with its envelope's id, and stores each envelope exactly once.
    again = _start(db, relay_id)
    try:
        for line, envelope in zip(lines, envelopes, strict=True):
            answer = _ask(again, line)
            assert answer.startswith("ok "), answer
            assert DepositResponse.from_bytes(bytes.fromhex(answer[3:])).id == envelope_id(envelope)
    finally:
        assert again.stdin is not None
        again.stdin.close()
        again.wait(timeout=DEADLINE)
    assert again.returncode == 0
    with SqliteStore(db) as store:
        ids = [row["id"] for row in store.dump()["envelope"]]
    assert sorted(ids) == sorted(by_id), "after the retries every envelope is stored once"
    check = sqlite3.connect(db)
    try:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        check.close()


def test_relay_process_refuses_a_bad_relay_id(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "protocol.edge.relay_process",
            "--db",
            str(tmp_path / "r.db"),
            "--relay-id",
            "zz",
        ],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
