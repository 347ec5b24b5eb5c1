"""Spec §14: the HTTP binding — routes, statuses, error bodies, body limits, and the client facade
carried over it by the httpx transport (in process with Starlette's TestClient, and over a real
loopback socket with uvicorn, bounded in time)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from protocol.blinding import normalize_phone_number
from protocol.client import Client, Outgoing
from protocol.codec import encode
from protocol.directory import Directory
from protocol.edge.http import (
    CREDENTIAL_HEADER,
    MEDIA_TYPE,
    ROUTES,
    Roles,
    build_app,
    error_body,
    read_error,
    status_of,
)
from protocol.edge.transport import AsyncHttpTransport, HttpTransport, TransportError
from protocol.errors import CODES, AuthenticationError, StateError
from protocol.evaluator import Evaluator, OprfKeyPair
from protocol.kat import SeededRng
from protocol.keys import IdentityKeyPair
from protocol.relay import MemoryStore, Relay
from tests.external import REPO

NOW = 1_780_531_200
RELAY_ID = bytes(range(32))


def _roles(label: str = "http") -> Roles:
    rng = SeededRng(label.encode())
    relay = Relay(MemoryStore(), RELAY_ID)
    relay.maintain(now=NOW, rng=rng)
    return Roles(
        evaluator=Evaluator(OprfKeyPair.generate(1, rng), now=NOW),
        directory=Directory(),
        relay=relay,
        rng=rng,
        clock=lambda: NOW,
    )


@pytest.fixture
def roles() -> Roles:
    return _roles()


@pytest.fixture
def http(roles: Roles) -> Iterator[TestClient]:
    with TestClient(build_app(roles)) as client:
        yield client


def _post(http: TestClient, path: str, body: bytes, **headers: str) -> httpx.Response:
    return http.post(path, content=body, headers={"content-type": MEDIA_TYPE, **headers})


# --- statuses and error bodies ------------------------------------------------------------------


def test_every_code_has_one_status_and_a_readable_body() -> None:
    for code in CODES:
        assert status_of(code) in {400, 403, 404, 409, 413, 429, 500, 503}
        assert read_error(error_body(code)) == code
    assert status_of("auth.failed") == 403 and status_of("decode.too_large") == 413
    assert read_error(b"\xa2\x00\x01\x01\x63abc") is None  # not a registered code
    assert read_error(b"garbage") is None


def test_health_and_ready(http: TestClient) -> None:
    assert http.get("/health").status_code == 200
    ready = http.get("/ready")
    assert ready.status_code == 200 and b"directory, evaluator, relay" in ready.content
    with TestClient(build_app(Roles(relay=_roles().relay))) as only_relay:
        assert only_relay.post("/v1/evaluator/evaluate").status_code == 404
        assert b"relay" in only_relay.get("/ready").content


def test_garbage_is_a_decode_error_and_the_server_keeps_serving(http: TestClient) -> None:
    for path in ("/v1/relay/deposit", "/v1/relay/owner", "/v1/directory/lookup"):
        answer = _post(http, path, b"\xff\x00garbage")
        assert answer.status_code == 400, path
        assert (read_error(answer.content) or "").startswith("decode."), path
    assert _post(http, "/v1/directory/parameters", b"").status_code == 200


def test_wrong_media_type_unknown_route_and_method(http: TestClient) -> None:
    answer = http.post("/v1/relay/deposit", content=b"{}", headers={"content-type": "text/plain"})
    assert answer.status_code == 400 and read_error(answer.content) == "decode.type"
    assert http.post("/v1/relay/nothing", content=b"").status_code == 404
    assert http.get("/v1/relay/deposit").status_code == 405


def test_oversized_bodies_are_refused_before_they_are_read(http: TestClient) -> None:
    limit = next(op.max_size for op in ROUTES if op.op == "lookup")
    answer = _post(http, "/v1/directory/lookup", bytes(limit + 1))
    assert answer.status_code == 413 and read_error(answer.content) == "decode.too_large"

    def stream() -> Iterator[bytes]:  # no Content-Length: the streamed body is capped
        for _ in range(100):
            yield bytes(1024)

    answer = http.post("/v1/directory/lookup", content=stream(),
                       headers={"content-type": MEDIA_TYPE})  # fmt: skip
    assert answer.status_code == 413


def test_credentials_are_required_where_rate_limits_key_on_them(http: TestClient) -> None:
    answer = _post(http, "/v1/evaluator/evaluate", b"\xa0")
    assert answer.status_code == 400 and read_error(answer.content) == "decode.length"


def test_a_refusal_of_the_core_keeps_its_code(http: TestClient) -> None:
    forged = encode({0: 1, 1: bytes(32)})  # a bundle request for nobody
    answer = _post(http, "/v1/relay/bundle", forged)
    assert answer.status_code in (400, 404) and read_error(answer.content) is not None


# --- the client facade over HTTP ----------------------------------------------------------------


def _clients(roles: Roles) -> tuple[Client, Client]:
    key = roles.evaluator.current_key()  # type: ignore[union-attr]
    rng = SeededRng(b"clients")
    alice = Client(IdentityKeyPair.generate(rng), normalize_phone_number("+44 7700 900123"),
                   evaluator_key=key, relay_id=RELAY_ID, rng=rng)  # fmt: skip
    bob = Client(IdentityKeyPair.generate(rng), normalize_phone_number("+44 20 7946 0958"),
                 evaluator_key=key, relay_id=RELAY_ID, rng=rng)  # fmt: skip
    return alice, bob


def test_client_facade_over_http_in_process(roles: Roles, http: TestClient) -> None:
    alice, bob = _clients(roles)
    to_alice = HttpTransport("http://testserver", credential=b"alice", client=http)
    to_bob = HttpTransport("http://testserver", credential=b"bob", client=http)
    to_bob.carry(bob.register(now=NOW))
    to_alice.carry(alice.register(now=NOW))
    found = to_alice.carry(
        alice.discover([normalize_phone_number("020 7946 0958", default_country=44)], now=NOW)
    )
    assert found == ["+442079460958"]
    to_alice.carry(alice.send("+442079460958", b"over HTTP", now=NOW))
    (got,) = to_bob.carry(bob.fetch(now=NOW))
    assert got.text == b"over HTTP" and got.sender == alice.identity


def test_transport_raises_the_servers_code(http: TestClient) -> None:
    transport = HttpTransport("http://testserver", client=http)
    with pytest.raises(StateError) as caught:
        transport.send(Outgoing("relay", "bundle", encode({0: 1, 1: bytes(32)})))
    assert caught.value.code.startswith("state.")
    with pytest.raises(AuthenticationError):
        _raise_auth(transport)
    broken = HttpTransport({"relay": "http://testserver"}, client=http)
    with pytest.raises(TransportError):
        broken.send(Outgoing("evaluator", "evaluate", b""))


def _raise_auth(transport: HttpTransport) -> None:
    from protocol.primitives import Scalar
    from protocol.relay import FETCH_OP, FetchBody, owner_request

    rng = SeededRng(b"stranger")
    request = owner_request(Scalar.random(rng), relay_id=bytes(32), op=FETCH_OP,
                            body=FetchBody(1), time=NOW, rng=rng)  # fmt: skip
    transport.send(Outgoing("relay", "owner", request))  # another relay's proof


# --- a real server on a loopback port ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve_uvicorn(app: object, port: int) -> Callable[[], None]:
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False,  # type: ignore[arg-type]
                            log_level="warning", timeout_keep_alive=2,
                            timeout_graceful_shutdown=5)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return stop


def _serve_hypercorn(app: object, port: int) -> Callable[[], None]:
    """The same application under hypercorn (spec §14.3: plain ASGI)."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.graceful_timeout = 5
    loop = asyncio.new_event_loop()
    stopping = asyncio.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve(app, config, shutdown_trigger=stopping.wait))  # type: ignore[arg-type]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    else:
        raise AssertionError("hypercorn did not start")

    def stop() -> None:
        loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout=10)

    return stop


@pytest.fixture(params=["uvicorn", "hypercorn"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[str, Roles]]:
    roles = _roles("served")
    port = _free_port()
    start = _serve_uvicorn if request.param == "uvicorn" else _serve_hypercorn
    stop = start(build_app(roles), port)
    yield f"http://127.0.0.1:{port}", roles
    stop()


def test_client_facade_over_a_loopback_socket_sync_and_async(served: tuple[str, Roles]) -> None:
    base, roles = served
    alice, bob = _clients(roles)
    to_bob = HttpTransport(base, credential=b"bob")
    to_bob.carry(bob.register(now=NOW))

    async def alice_side() -> None:
        transport = AsyncHttpTransport(base, credential=b"alice")
        await transport.carry(alice.register(now=NOW))
        number = normalize_phone_number("+44 20 7946 0958")
        assert await transport.carry(alice.discover([number], now=NOW)) == ["+442079460958"]
        await transport.carry(alice.send("+442079460958", b"over a socket", now=NOW))
        await transport.aclose()

    asyncio.run(alice_side())
    (got,) = to_bob.carry(bob.fetch(now=NOW))
    assert got.text == b"over a socket"
    # a garbage body over the socket: a decode code, and the server keeps serving
    raw = httpx.post(f"{base}/v1/relay/deposit", content=b"\x00" * 10,
                     headers={"content-type": MEDIA_TYPE}, timeout=5)  # fmt: skip
    assert raw.status_code == 400
    assert httpx.get(f"{base}/health", timeout=5).status_code == 200
    # a waiting fetch over the socket (§14.7): nothing arrives, it answers empty after 1 s
    waiting = bob.fetch(now=NOW)
    assert waiting.request is not None
    started = time.monotonic()
    answer = to_bob.send(waiting.request, wait=1)
    assert 0.9 <= time.monotonic() - started < 5
    waiting.respond(answer)
    assert waiting.result == []
    to_bob.close()


def test_credential_header_is_the_documented_one() -> None:
    assert CREDENTIAL_HEADER == "blindpost-credential"


# --- the OpenAPI document ------------------------------------------------------------------------


def test_openapi_document_matches_the_routes() -> None:
    document = json.loads((REPO / "spec" / "openapi.json").read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    app = build_app(_roles())
    served = {
        (route.path, method)  # type: ignore[attr-defined]
        for route in app.routes
        for method in (route.methods or ()) - {"HEAD"}  # type: ignore[attr-defined]
    }
    assert documented == served
    for op in ROUTES:
        responses = document["paths"][f"/v1/{op.role}/{op.op}"]["post"]["responses"]
        assert {"200", "400", "413"} <= set(responses), op
