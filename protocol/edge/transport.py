"""Spec §14.5: the client's side of the HTTP binding — carry a :class:`protocol.client.Exchange`
to the servers with httpx, synchronously or with asyncio.

A request ``(role, op, body)`` goes to ``POST {base}/v1/{role}/{op}`` with the body as
``application/cbor``; a 200 answer's body goes back to the exchange; an error answer's code is
raised as the library's error of that code (and handed to the exchange, which then raises it);
anything else — a connection that fails, a timeout, an answer that is not the binding's — is a
:class:`TransportError`, an ``OSError``: the environment failed, not the protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import httpx

from ..client import Exchange, Outgoing
from ..errors import CODES, ProtocolError, UsageError
from ..relay import MAX_WAIT
from .http import CREDENTIAL_HEADER, MEDIA_TYPE, WAIT_HEADER, read_error

__all__ = ["AsyncHttpTransport", "HttpTransport", "TransportError"]

T = TypeVar("T")

#: The most bytes a response may have (a relay's fetch response is the largest, about 1 MiB).
MAX_RESPONSE = 2 * 1024 * 1024
#: Seconds to connect, and between bytes of the response.
DEFAULT_TIMEOUT = 10.0


class TransportError(OSError):
    """The request could not be carried, or the answer is not one of the binding's."""


def _url(bases: Mapping[str, str], request: Outgoing, wait: int | None) -> str:
    base = bases.get(request.role)
    if base is None:
        raise TransportError(f"no address for the {request.role} role")
    op = request.op if wait is None else "wait"
    return f"{base.rstrip('/')}/v1/{request.role}/{op}"


def _headers(request: Outgoing, credential: bytes, wait: int | None) -> dict[str, str]:
    headers = {"content-type": MEDIA_TYPE}
    if request.role == "evaluator" or (request.role, request.op) == ("directory", "register"):
        headers[CREDENTIAL_HEADER] = credential.decode("latin-1")
    if wait is not None:
        if (request.role, request.op) != ("relay", "owner") or not 1 <= wait <= MAX_WAIT:
            raise UsageError(
                "usage.bad_argument", f"only a relay fetch waits, 1 to {MAX_WAIT} seconds"
            )
        headers[WAIT_HEADER] = str(wait)
    return headers


def _timeout(client_timeout: float, wait: int | None) -> float:
    """A waiting fetch may be silent for its whole wait (§14.7)."""
    return client_timeout if wait is None else client_timeout + wait


def _answer(status: int, body: bytes) -> bytes:
    if status == 200:
        return body
    code = read_error(body)
    if code is None:
        raise TransportError(f"HTTP status {status} without an error code")
    cls = CODES[code][0]
    raise cls(code, f"refused by the server (HTTP {status})")


def _bases(base_url: str | Mapping[str, str]) -> dict[str, str]:
    if isinstance(base_url, str):
        return {role: base_url for role in ("evaluator", "directory", "relay")}
    return dict(base_url)


class HttpTransport:
    """Carries requests over HTTP with an ``httpx.Client``. ``base_url`` is one address for
    every role, or one per role; ``credential`` identifies the client to the evaluator and
    the directory's registration (rate limiting, §8.5.3)."""

    def __init__(
        self,
        base_url: str | Mapping[str, str],
        *,
        credential: bytes = b"anonymous",
        client: httpx.Client | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._bases = _bases(base_url)
        self._credential = credential
        self._timeout = timeout
        self._client = client or httpx.Client(timeout=timeout)

    def send(self, request: Outgoing, *, wait: int | None = None) -> bytes:
        """One request: the answer's body, or the server's refusal raised as its error. With
        ``wait``, ``request`` is a relay fetch that waits up to ``wait`` seconds for an envelope
        (§14.7)."""
        headers = _headers(request, self._credential, wait)
        try:
            with self._client.stream(
                "POST", _url(self._bases, request, wait), content=request.body,
                headers=headers, timeout=_timeout(self._timeout, wait),
            ) as response:  # fmt: skip
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE:
                        raise TransportError("the answer is longer than the binding allows")
                return _answer(response.status_code, bytes(body))
        except httpx.HTTPError as error:
            raise TransportError(f"{type(error).__name__}: {error}") from None

    def carry(self, exchange: Exchange[T]) -> T:
        """Carry every request of ``exchange``; returns its result (or raises its error)."""
        while exchange.request is not None:
            try:
                answer = self.send(exchange.request)
            except ProtocolError as error:
                exchange.fail(error)
            else:
                exchange.respond(answer)
        return exchange.result

    def close(self) -> None:
        self._client.close()


class AsyncHttpTransport:
    """:class:`HttpTransport` with an ``httpx.AsyncClient``."""

    def __init__(
        self,
        base_url: str | Mapping[str, str],
        *,
        credential: bytes = b"anonymous",
        client: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._bases = _bases(base_url)
        self._credential = credential
        self._timeout = timeout
        self._client = client or httpx.AsyncClient(timeout=timeout)

    async def send(self, request: Outgoing, *, wait: int | None = None) -> bytes:
        headers = _headers(request, self._credential, wait)
        try:
            async with self._client.stream(
                "POST", _url(self._bases, request, wait), content=request.body,
                headers=headers, timeout=_timeout(self._timeout, wait),
            ) as response:  # fmt: skip
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE:
                        raise TransportError("the answer is longer than the binding allows")
                return _answer(response.status_code, bytes(body))
        except httpx.HTTPError as error:
            raise TransportError(f"{type(error).__name__}: {error}") from None

    async def carry(self, exchange: Exchange[T]) -> T:
        while exchange.request is not None:
            try:
                answer = await self.send(exchange.request)
            except ProtocolError as error:
                exchange.fail(error)
            else:
                exchange.respond(answer)
        return exchange.result

    async def aclose(self) -> None:
        await self._client.aclose()
