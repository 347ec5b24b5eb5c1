"""Spec §14.3–§14.4, §14.7: hostile clients over real loopback sockets — oversize bodies
(declared and streamed), a body slower than the read timeout, malformed CBOR, an unknown route,
a wrong media type, another mailbox's proof — each gets its status and code while the server
keeps answering others; and a server process stopped by SIGTERM answers the requests in flight,
a waiting fetch included, before it exits. Every wait is bounded (a few seconds)."""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from protocol.edge.http import MEDIA_TYPE, WAIT_HEADER, Roles, build_app, read_error
from protocol.primitives import Scalar, system_rng
from protocol.relay import (
    FETCH_OP,
    KIND_CONVERSATION,
    OPEN_OP,
    Deposit,
    FetchBody,
    FetchResponse,
    OpenBody,
    OwnerRequest,
    owner_request,
)
from tests import test_relay as tr

DEADLINE = 20.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def served() -> Iterator[tuple[int, tr.World]]:
    import uvicorn

    tr._STORE[0] = tr.MemoryStore
    world = tr._world("hostile")
    roles = Roles(relay=world.relay, clock=lambda: tr.NOW, rng=world.rng, body_timeout=1.0)
    port = _free_port()
    config = uvicorn.Config(build_app(roles), host="127.0.0.1", port=port, access_log=False,
                            log_level="critical", timeout_keep_alive=2,
                            timeout_graceful_shutdown=5)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield port, world
    server.should_exit = True
    thread.join(timeout=10)


def _raw(port: int, request: bytes, pause_after: int | None = None, pause: float = 0.0) -> bytes:
    """Send ``request`` on a new connection (pausing ``pause`` seconds after its first
    ``pause_after`` bytes) and read the answer until the server closes or 5 s pass."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        if pause_after is None:
            s.sendall(request)
        else:
            s.sendall(request[:pause_after])
            time.sleep(pause)
            with contextlib.suppress(OSError):  # the server gave up on the body and closed
                s.sendall(request[pause_after:])
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < _length(answer):
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def _length(answer: bytes) -> int:
    head, _, _body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + 4 + int(value)
    return len(answer)


def _status_and_code(answer: bytes) -> tuple[int, str | None]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), read_error(body)


def _post_raw(path: str, body: bytes, media: str = MEDIA_TYPE, length: int | None = None) -> bytes:
    declared = len(body) if length is None else length
    return (
        f"POST {path} HTTP/1.1\r\nHost: relay\r\nContent-Type: {media}\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode() + body


def _healthy(port: int) -> bool:
    return httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200


def test_each_hostile_request_gets_its_status_and_code(served: tuple[int, tr.World]) -> None:
    port, world = served
    base = f"http://127.0.0.1:{port}"
    _envelope, deposit = world.first_contact()
    limit = Deposit.MAX_SIZE

    # oversize, declared: refused before the body is read
    answer = _raw(port, _post_raw("/v1/relay/deposit", b"", length=limit + 1))
    assert _status_and_code(answer) == (413, "decode.too_large")
    assert _healthy(port)

    # oversize, streamed without a length
    def chunks() -> Iterator[bytes]:
        for _ in range(limit // 4096 + 2):
            yield b"\x00" * 4096

    streamed = httpx.post(f"{base}/v1/relay/deposit", content=chunks(),
                          headers={"content-type": MEDIA_TYPE}, timeout=5)  # fmt: skip
    assert (streamed.status_code, read_error(streamed.content)) == (413, "decode.too_large")

    # a body slower than the read timeout (1 s here): refused, and others are served meanwhile
    slow: list[bytes] = []
    request = _post_raw("/v1/relay/deposit", deposit)
    body_starts = request.index(b"\r\n\r\n") + 4
    sender = threading.Thread(
        target=lambda: slow.append(_raw(port, request, body_starts + 10, 3.0))
    )
    sender.start()
    time.sleep(0.3)
    assert _healthy(port)  # while the slow body trickles
    sender.join(timeout=10)
    assert _status_and_code(slow[0]) == (400, "decode.truncated")
    assert b"connection: close" in slow[0].lower()

    # malformed CBOR, a wrong media type, an unknown route, a wrong method
    garbage = httpx.post(f"{base}/v1/relay/deposit", content=b"\xff\x00\x01",
                         headers={"content-type": MEDIA_TYPE}, timeout=5)  # fmt: skip
    assert garbage.status_code == 400 and (read_error(garbage.content) or "").startswith("decode.")
    typed = httpx.post(f"{base}/v1/relay/deposit", content=deposit,
                       headers={"content-type": "application/json"}, timeout=5)  # fmt: skip
    assert (typed.status_code, read_error(typed.content)) == (400, "decode.type")
    assert httpx.post(f"{base}/v1/relay/nothing", content=b"", timeout=5).status_code == 404
    assert httpx.get(f"{base}/v1/relay/deposit", timeout=5).status_code == 405

    # another mailbox's proof: a fetch of Bob's routing ID proved with another key
    other = owner_request(Scalar.random(world.rng), relay_id=tr.RELAY_ID, op=FETCH_OP,
                          body=FetchBody(100), time=tr.NOW, rng=world.rng)  # fmt: skip
    forged = OwnerRequest.from_bytes(other)
    forged = dataclasses.replace(forged, address=world.routing_id)
    for path in ("/v1/relay/owner", "/v1/relay/wait"):
        refused = httpx.post(f"{base}{path}", content=forged.to_bytes(),
                             headers={"content-type": MEDIA_TYPE}, timeout=5)  # fmt: skip
        assert (refused.status_code, read_error(refused.content)) == (403, "auth.failed"), path

    # and the server still does its work
    ok = httpx.post(f"{base}/v1/relay/deposit", content=deposit,
                    headers={"content-type": MEDIA_TYPE}, timeout=5)  # fmt: skip
    assert ok.status_code == 200
    assert len(world.fetch().envelopes) == 1


def test_sigterm_answers_the_requests_in_flight_before_exiting() -> None:
    """A fetch waiting for 20 s when the server is told to stop answers at once (woken by the
    shutdown, §14.7) with the fetch's response, and the process exits within the deadline."""
    port, relay_id = _free_port(), bytes(range(32))
    process = subprocess.Popen(
        [sys.executable, "-m", "protocol.edge.cli", "serve", "--role", "relay", "--port",
         str(port), "--store", "memory", "--relay-id", relay_id.hex()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    answers: list[httpx.Response] = []
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
        secret = Scalar.random(system_rng)

        def request(op: int, body: object) -> bytes:
            return owner_request(secret, relay_id=relay_id, op=op, body=body,  # type: ignore[arg-type]
                                 time=int(time.time()), rng=system_rng)  # fmt: skip

        opened = httpx.post(
            f"{base}/v1/relay/owner",
            content=request(OPEN_OP, OpenBody(KIND_CONVERSATION, deposit_key=bytes(range(1, 33)))),
            headers={"content-type": MEDIA_TYPE},
            timeout=5,
        )
        assert opened.status_code == 200, read_error(opened.content)
        wait = request(FETCH_OP, FetchBody(100))
        waiter = threading.Thread(target=lambda: answers.append(httpx.post(
            f"{base}/v1/relay/wait", content=wait,
            headers={"content-type": MEDIA_TYPE, WAIT_HEADER: "20"}, timeout=30,
        )))  # fmt: skip
        waiter.start()
        time.sleep(1.0)  # the fetch is waiting
        assert not answers
        stopped = time.monotonic()
        process.send_signal(signal.SIGTERM)
        waiter.join(timeout=DEADLINE)
        assert answers, "the waiting fetch got no answer"
        assert time.monotonic() - stopped < 10
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=DEADLINE)
    assert answers[0].status_code == 200
    assert FetchResponse.from_bytes(answers[0].content).envelopes == ()
    assert process.returncode in (0, -signal.SIGTERM), err
    assert "Traceback" not in err
