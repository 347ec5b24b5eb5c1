"""Spec §14: the server roles as an HTTP service — an ASGI application (Starlette), one route per
operation, typed CBOR bodies in and out, every error code mapped to one status.

The sans-I/O cores (:class:`protocol.evaluator.Evaluator`, :class:`protocol.directory.Directory`,
:class:`protocol.relay.Relay`) do the work; this module reads the clock and the operating
system's randomness, limits request bodies before reading them, runs each core call in a worker
thread under that role's lock (the cores are synchronous and not thread-safe), and turns a
:class:`protocol.errors.ProtocolError` into its status and a CBOR error body
(CDDL ``error-response``: ``{0: 1, 1: code}``). It logs nothing about clients.

A mailbox owner may wait for envelopes (§14.7): ``/v1/relay/wait`` carries an owner fetch that,
if it finds nothing, is held until a deposit to that mailbox wakes it (a
:class:`~protocol.edge.wakeup.Notifier`) or its wait ends, and then runs again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..codec import decode, encode
from ..directory import LookupRequest, Registration, Unregistration
from ..errors import CODES, DecodeError, ProtocolError
from ..evaluator import EvaluationRequest
from ..primitives import Rng, system_rng
from ..relay import MAX_WAIT, BundleRequest, Deposit, FetchTicket, OwnerRequest
from .wakeup import LocalNotifier, Notifier

__all__ = [
    "MEDIA_TYPE",
    "ROUTES",
    "WAIT_HEADER",
    "Roles",
    "build_app",
    "error_body",
    "read_error",
    "status_of",
]

#: Spec §14.2: the media type of every request and response body.
MEDIA_TYPE = "application/cbor"
#: Spec §14.3: the header carrying an evaluator or directory credential (rate limiting, §8.5.3).
CREDENTIAL_HEADER = "blindpost-credential"
#: Spec §14.3: a credential's most bytes.
MAX_CREDENTIAL = 256
#: Spec §14.7: the header giving a waiting fetch's longest wait, in whole seconds.
WAIT_HEADER = "blindpost-wait"

#: Spec §14.4: a status per error code. A code not named here takes its class's status.
_STATUS_BY_CLASS = {"decode": 400, "auth": 403, "state": 409, "usage": 500}
_STATUS_BY_CODE = {
    "decode.too_large": 413,
    "state.rate_limited": 429,
    "state.unknown_mailbox": 404,
    "state.relay_full": 503,
    "state.directory_full": 503,
}


def status_of(code: str) -> int:
    """Spec §14.4: the HTTP status of an error code."""
    return _STATUS_BY_CODE.get(code) or _STATUS_BY_CLASS[code.split(".", 1)[0]]


def error_body(code: str) -> bytes:
    """Spec §14.4: the CBOR error body (CDDL ``error-response``: ``{0: 1, 1: code}``)."""
    return encode({0: 1, 1: code})


def read_error(body: bytes) -> str | None:
    """The code of an error body, or ``None`` if the bytes are not one (client side)."""
    try:
        value = decode(body, max_size=256)
    except DecodeError:
        return None
    if isinstance(value, dict) and value.get(0) == 1 and set(value) == {0, 1} and value[1] in CODES:
        code: str = value[1]
        return code
    return None


@dataclass
class Roles:
    """The cores one service runs (any of them may be absent) and what the edge supplies."""

    evaluator: object | None = None
    directory: object | None = None
    relay: object | None = None
    rng: Rng = system_rng
    clock: Callable[[], int] = field(default=lambda: int(time.time()))
    locks: dict[str, threading.Lock] = field(
        default_factory=lambda: {r: threading.Lock() for r in ("evaluator", "directory", "relay")}
    )
    #: Wake-ups for waiting fetches (§14.7); a relay without one gets a :class:`LocalNotifier`.
    notifier: Notifier | None = None
    #: Spec §14.3: seconds a request body may take to arrive, in all.
    body_timeout: float = 10.0


@dataclass(frozen=True)
class _Operation:
    role: str
    op: str
    max_size: int
    credential: bool
    call: Callable[[Roles, bytes, bytes, int], bytes]


def _evaluate(roles: Roles, body: bytes, credential: bytes, now: int) -> bytes:
    result: bytes = roles.evaluator.evaluate(  # type: ignore[attr-defined]
        credential, body, now=now, rng=roles.rng
    )
    return result


def _parameters(roles: Roles, body: bytes, credential: bytes, now: int) -> bytes:
    if body:
        raise DecodeError("decode.too_large", "the parameters request has no body")
    result: bytes = roles.directory.parameters().to_bytes()  # type: ignore[attr-defined]
    return result


def _register(roles: Roles, body: bytes, credential: bytes, now: int) -> bytes:
    roles.directory.register(credential, body, now=now)  # type: ignore[attr-defined]
    return b""


def _unregister(roles: Roles, body: bytes, credential: bytes, now: int) -> bytes:
    roles.directory.unregister(body, now=now)  # type: ignore[attr-defined]
    return b""


def _lookup(roles: Roles, body: bytes, credential: bytes, now: int) -> bytes:
    result: bytes = roles.directory.lookup(body, now=now)  # type: ignore[attr-defined]
    return result


def _relay(name: str) -> Callable[[Roles, bytes, bytes, int], bytes]:
    def call(roles: Roles, body: bytes, credential: bytes, now: int) -> bytes:
        result: bytes = getattr(roles.relay, name)(body, now=now)
        return result

    return call


#: Spec §14.1: every operation, ``POST /v1/{role}/{op}``; the body limit is the request
#: structure's ``MAX_SIZE`` (§1.6), checked before the body is read.
ROUTES: tuple[_Operation, ...] = (
    _Operation("evaluator", "evaluate", EvaluationRequest.MAX_SIZE, True, _evaluate),
    _Operation("directory", "parameters", 0, False, _parameters),
    _Operation("directory", "register", Registration.MAX_SIZE, True, _register),
    _Operation("directory", "unregister", Unregistration.MAX_SIZE, False, _unregister),
    _Operation("directory", "lookup", LookupRequest.MAX_SIZE, False, _lookup),
    _Operation("relay", "owner", OwnerRequest.MAX_SIZE, False, _relay("owner")),
    _Operation("relay", "bundle", BundleRequest.MAX_SIZE, False, _relay("bundle")),
    _Operation("relay", "deposit", Deposit.MAX_SIZE, False, _relay("deposit")),
)


def _refuse(code: str) -> Response:
    return Response(error_body(code), status_code=status_of(code), media_type=MEDIA_TYPE)


class _SlowBody(Exception):
    """The body did not arrive within :attr:`Roles.body_timeout`."""


async def _read_body(request: Request, limit: int, timeout: float) -> bytes | None:
    """The body, or ``None`` when it is longer than ``limit`` (declared or streamed); raises
    :class:`_SlowBody` when it takes longer than ``timeout`` seconds to arrive."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    body = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    return None
    except TimeoutError:
        raise _SlowBody from None
    return bytes(body)


def _slow() -> Response:
    """Spec §14.3: a body slower than the read timeout is refused, and the connection closed."""
    response = _refuse("decode.truncated")
    response.headers["connection"] = "close"
    return response


def _endpoint(operation: _Operation, roles: Roles) -> Callable[[Request], Awaitable[Response]]:
    lock = roles.locks[operation.role]

    async def endpoint(request: Request) -> Response:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != MEDIA_TYPE and not (operation.max_size == 0 and media == ""):
            return _refuse("decode.type")
        credential = b""
        if operation.credential:
            credential = request.headers.get(CREDENTIAL_HEADER, "").encode("latin-1")
            if not 0 < len(credential) <= MAX_CREDENTIAL:
                return _refuse("decode.length")
        try:
            body = await _read_body(request, operation.max_size, roles.body_timeout)
        except _SlowBody:
            return _slow()
        if body is None:
            return _refuse("decode.too_large")

        def run() -> bytes:
            with lock:
                answer = operation.call(roles, body, credential, roles.clock())
            if notify:  # after the deposit committed, outside the lock
                _notify_deposit(roles, body)
            return answer

        try:
            answer = await run_in_threadpool(run)
        except ProtocolError as error:
            return _refuse(error.code)
        return Response(answer, status_code=200, media_type=MEDIA_TYPE)

    notify = (operation.role, operation.op) == ("relay", "deposit")
    return endpoint


def _notify_deposit(roles: Roles, body: bytes) -> None:
    if roles.notifier is not None and roles.notifier.listening():
        roles.notifier.notify(Deposit.from_bytes(body).envelope[1:33])  # the envelope's address


def _wait_endpoint(roles: Roles) -> Callable[[Request], Awaitable[Response]]:
    """Spec §14.7: ``POST /v1/relay/wait``."""
    lock, relay, notifier = roles.locks["relay"], roles.relay, roles.notifier
    assert relay is not None and notifier is not None

    async def endpoint(request: Request) -> Response:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != MEDIA_TYPE:
            return _refuse("decode.type")
        declared = request.headers.get(WAIT_HEADER, str(MAX_WAIT))
        if not declared.isdigit() or not 1 <= int(declared) <= MAX_WAIT:
            return _refuse("decode.range")
        wait = int(declared)
        try:
            body = await _read_body(request, OwnerRequest.MAX_SIZE, roles.body_timeout)
        except _SlowBody:
            return _slow()
        if body is None:
            return _refuse("decode.too_large")

        def first() -> bytes | FetchTicket:
            with lock:
                result: bytes | FetchTicket = relay.fetch_or_wait(  # type: ignore[attr-defined]
                    body, now=roles.clock(), wait=wait
                )
                return result

        def again(ticket: FetchTicket) -> bytes:
            with lock:
                answer: bytes = relay.redeem(ticket, now=roles.clock())  # type: ignore[attr-defined]
                return answer

        try:
            # subscribed before the relay looks, so a deposit in between still wakes it
            address = OwnerRequest.from_bytes(body).address
            with notifier.subscribe(address) as subscription:
                result = await run_in_threadpool(first)
                if isinstance(result, bytes):
                    return Response(result, status_code=200, media_type=MEDIA_TYPE)
                await subscription.wait(max(0.0, result.deadline - roles.clock()))
                answer = await run_in_threadpool(again, result)
        except ProtocolError as error:
            return _refuse(error.code)
        return Response(answer, status_code=200, media_type=MEDIA_TYPE)

    return endpoint


def build_app(roles: Roles) -> Starlette:
    """Spec §14: the application serving the roles present in ``roles``, plus ``/health``
    (the process answers) and ``/ready`` (every role it serves is present)."""
    if roles.relay is not None and roles.notifier is None:
        roles.notifier = LocalNotifier()
    routes = [
        Route(f"/v1/{op.role}/{op.op}", _endpoint(op, roles), methods=["POST"])
        for op in ROUTES
        if getattr(roles, op.role) is not None
    ]
    if roles.relay is not None:
        routes.append(Route("/v1/relay/wait", _wait_endpoint(roles), methods=["POST"]))
    served = sorted({op.role for op in ROUTES if getattr(roles, op.role) is not None})

    async def health(request: Request) -> Response:
        return Response(b"ok\n", media_type="text/plain")

    async def ready(request: Request) -> Response:
        body = ("ready: " + ", ".join(served) + "\n").encode()
        return Response(body, status_code=200 if served else 503, media_type="text/plain")

    routes += [Route("/health", health, methods=["GET"]), Route("/ready", ready, methods=["GET"])]
    return Starlette(routes=routes)
