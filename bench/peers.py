"""Adapters for the peer implementations that ``bench/compare.py`` measures next to Blindpost.

Every peer is an optional package (the ``peers`` extra: ``pip install -e '.[peers]'``). Nothing
is imported when this module loads: each factory imports its package when it is called and
raises :class:`PeerUnavailable` with the reason when it cannot, so that ``compare.py`` prints
the reason and skips that peer.

A factory returns a :data:`Timer`: ``timer(n)`` performs ``n`` iterations of the measured
operation and returns the nanoseconds they took (``time.perf_counter_ns``). Set-up that is not
part of the operation (accounts, sessions, fresh one-time keys) happens outside the timed
window. Every factory checks one round trip before it returns, so a broken adapter fails
loudly instead of timing an error path.

The async peers (``doubleratchet`` 1.3, ``x3dh`` 1.3) run on one event loop per adapter; the
timing is taken *inside* the coroutine that loops over the awaited calls, so event-loop
start-up is excluded and each iteration costs what one awaited call costs.

Peers and what they are (see bench/README.md for the fairness notes):

* ``vodozemac`` — Matrix's Rust Olm (Double Ratchet, no header encryption), Python binding.
* ``python-olm`` — libolm (C++), the predecessor of vodozemac, CFFI binding.
* ``doubleratchet`` — Syndace python-doubleratchet 1.3 (pure Python, async), with its
  recommended Curve25519 / HKDF / AES-256-CBC+HMAC building blocks, SHA-256 throughout.
* ``x3dh+doubleratchet`` — Syndace python-x3dh 1.3 followed by the first Double Ratchet
  message (classical X3DH, no post-quantum KEM).
* ``voprf`` — the Rust ``voprf`` crate (curve25519-dalek), ``voprf`` 0.2 on PyPI.
* ``pyhpke`` — pure-Python HPKE (RFC 9180) over pyca/cryptography.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import os
from collections.abc import Awaitable, Callable
from time import perf_counter_ns
from typing import Any

__all__ = [
    "ASSOCIATED_DATA_SIZE",
    "PEER_PACKAGES",
    "PeerUnavailable",
    "Timer",
    "handshake_peers",
    "hpke_peers",
    "loop_timer",
    "plaintext",
    "ratchet_peers",
    "voprf_peers",
]

#: ``timer(n)`` runs ``n`` iterations and returns the elapsed nanoseconds of the timed part.
Timer = Callable[[int], int]
#: A factory builds a peer's timer (set-up included) or raises :class:`PeerUnavailable`.
Factory = Callable[[], Timer]

#: The size of the associated data Blindpost's handshake hands to the ratchet (spec §6.5, with
#: a one-time prekey): the Python ratchets are given associated data of the same size.
ASSOCIATED_DATA_SIZE = 230

#: Peer name → the distribution that provides it (for messages and the report's version table).
PEER_PACKAGES: dict[str, tuple[str, ...]] = {
    "vodozemac": ("vodozemac",),
    "python-olm": ("python-olm",),
    "doubleratchet": ("DoubleRatchet",),
    "x3dh+doubleratchet": ("X3DH", "DoubleRatchet"),
    "voprf": ("voprf",),
    "pyhpke": ("pyhpke",),
}


class PeerUnavailable(Exception):
    """A peer cannot be measured here (its package is missing or does not work)."""


def _require(module: str, distribution: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise PeerUnavailable(
            f"{distribution} is not installed ({exc}); install the extra: pip install -e '.[peers]'"
        ) from None


def plaintext(size: int) -> bytes:
    """A random ASCII plaintext of ``size`` bytes (python-olm returns ``str``, so ASCII keeps
    its UTF-8 decoding on the fast path); the same kind of bytes is given to every subject."""
    return base64.b64encode(os.urandom(size))[:size]


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise PeerUnavailable(f"{what}: round trip did not return the plaintext")


# --- timers ------------------------------------------------------------------------------------


def loop_timer(operation: Callable[[], object]) -> Timer:
    """A timer for an operation that needs no per-iteration set-up."""

    def run(n: int) -> int:
        start = perf_counter_ns()
        for _ in range(n):
            operation()
        return perf_counter_ns() - start

    return run


def _async_timer(
    loop: asyncio.AbstractEventLoop, operation: Callable[[], Awaitable[object]]
) -> Timer:
    """A timer for an async operation: the loop and its timing run inside one coroutine."""

    async def body(n: int) -> int:
        start = perf_counter_ns()
        for _ in range(n):
            await operation()
        return perf_counter_ns() - start

    return lambda n: loop.run_until_complete(body(n))


def _alternating(
    exchange: Callable[[int], object],
) -> Timer:
    """A timer for ping-pong: ``exchange(0)`` sends A→B, ``exchange(1)`` B→A; the direction
    alternates on every message, across rounds too (so every message is a DH step)."""
    turn = [0]

    def run(n: int) -> int:
        t = turn[0]
        start = perf_counter_ns()
        for i in range(n):
            exchange((t + i) & 1)
        elapsed = perf_counter_ns() - start
        turn[0] = (t + n) & 1
        return elapsed

    return run


# --- vodozemac (Rust Olm) ----------------------------------------------------------------------


def _vodozemac_pair() -> tuple[Any, Any]:
    """Two vodozemac Olm sessions, established: one message each way has been exchanged, so
    both sides send normal (not pre-key) messages."""
    v = _require("vodozemac", "vodozemac")
    alice, bob = v.Account(), v.Account()
    bob.generate_one_time_keys(1)
    otk = next(iter(bob.one_time_keys.values()))
    bob.mark_keys_as_published()
    a = alice.create_outbound_session(bob.curve25519_key, otk)
    b, first = bob.create_inbound_session(alice.curve25519_key, a.encrypt(b"hello").to_pre_key())
    _check(first == b"hello", "vodozemac")
    _check(a.decrypt(b.encrypt(b"hi")) == b"hi", "vodozemac")
    return a, b


def _vodozemac_one_way(size: int) -> Timer:
    a, b = _vodozemac_pair()
    pt = plaintext(size)
    _check(b.decrypt(a.encrypt(pt)) == pt, "vodozemac")
    encrypt, decrypt = a.encrypt, b.decrypt
    return loop_timer(lambda: decrypt(encrypt(pt)))


def _vodozemac_pingpong(size: int) -> Timer:
    a, b = _vodozemac_pair()
    pt = plaintext(size)
    sides = ((a.encrypt, b.decrypt), (b.encrypt, a.decrypt))
    return _alternating(lambda d: sides[d][1](sides[d][0](pt)))


def _vodozemac_handshake() -> Timer:
    """Olm session set-up with its first message: outbound session, encrypt, inbound session
    (which decrypts). One fresh one-time key per iteration, generated outside the timing."""
    v = _require("vodozemac", "vodozemac")
    alice, bob = v.Account(), v.Account()
    alice_key, bob_key = alice.curve25519_key, bob.curve25519_key
    pt = plaintext(100)

    def run(n: int) -> int:
        total = 0
        for _ in range(n):
            bob.generate_one_time_keys(1)
            otk = next(iter(bob.one_time_keys.values()))
            bob.mark_keys_as_published()
            start = perf_counter_ns()
            session = alice.create_outbound_session(bob_key, otk)
            message = session.encrypt(pt)
            _inbound, received = bob.create_inbound_session(alice_key, message.to_pre_key())
            total += perf_counter_ns() - start
            _check(received == pt, "vodozemac")
        return total

    run(1)
    return run


# --- python-olm (libolm) -----------------------------------------------------------------------


def _olm_pair() -> tuple[Any, Any]:
    olm = _require("olm", "python-olm")
    alice, bob = olm.Account(), olm.Account()
    bob.generate_one_time_keys(1)
    otk = next(iter(bob.one_time_keys["curve25519"].values()))
    bob.mark_keys_as_published()
    a = olm.OutboundSession(alice, bob.identity_keys["curve25519"], otk)
    first = a.encrypt("hello")
    b = olm.InboundSession(bob, first)
    _check(b.decrypt(first) == "hello", "python-olm")
    bob.remove_one_time_keys(b)
    _check(a.decrypt(b.encrypt("hi")) == "hi", "python-olm")
    return a, b


def _olm_one_way(size: int) -> Timer:
    a, b = _olm_pair()
    pt = plaintext(size)
    _check(b.decrypt(a.encrypt(pt)) == pt.decode(), "python-olm")
    encrypt, decrypt = a.encrypt, b.decrypt
    return loop_timer(lambda: decrypt(encrypt(pt)))


def _olm_pingpong(size: int) -> Timer:
    a, b = _olm_pair()
    pt = plaintext(size)
    sides = ((a.encrypt, b.decrypt), (b.encrypt, a.decrypt))
    return _alternating(lambda d: sides[d][1](sides[d][0](pt)))


def _olm_handshake() -> Timer:
    olm = _require("olm", "python-olm")
    alice, bob = olm.Account(), olm.Account()
    bob_key = bob.identity_keys["curve25519"]
    pt = plaintext(100)
    expected = pt.decode()

    def run(n: int) -> int:
        total = 0
        for _ in range(n):
            bob.generate_one_time_keys(1)
            otk = next(iter(bob.one_time_keys["curve25519"].values()))
            bob.mark_keys_as_published()
            start = perf_counter_ns()
            session = olm.OutboundSession(alice, bob_key, otk)
            message = session.encrypt(pt)
            inbound = olm.InboundSession(bob, message)
            received = inbound.decrypt(message)
            bob.remove_one_time_keys(inbound)
            total += perf_counter_ns() - start
            _check(received == expected, "python-olm")
        return total

    run(1)
    return run


# --- python-doubleratchet 1.3 and python-x3dh 1.3 (Syndace, pure Python, async) -------------

_SYNDACE: dict[str, Any] = {}


def _doubleratchet() -> dict[str, Any]:
    """The concrete classes python-doubleratchet needs (configuration by subclassing)."""
    if _SYNDACE:
        return _SYNDACE
    dr = _require("doubleratchet", "DoubleRatchet")
    rec = _require("doubleratchet.recommended", "DoubleRatchet")
    aead_aes_hmac = _require("doubleratchet.recommended.aead_aes_hmac", "DoubleRatchet")
    dh25519 = _require("doubleratchet.recommended.diffie_hellman_ratchet_curve25519", "DR")
    kdf_hkdf = _require("doubleratchet.recommended.kdf_hkdf", "DoubleRatchet")
    kdf_hmacs = _require("doubleratchet.recommended.kdf_separate_hmacs", "DoubleRatchet")
    sha256 = rec.HashFunction.SHA_256

    class Aead(aead_aes_hmac.AEAD):  # type: ignore[misc, name-defined]
        @staticmethod
        def _get_hash_function() -> Any:
            return sha256

        @staticmethod
        def _get_info() -> bytes:
            return b"Blindpost bench message key"

    class RootKdf(kdf_hkdf.KDF):  # type: ignore[misc, name-defined]
        @staticmethod
        def _get_hash_function() -> Any:
            return sha256

        @staticmethod
        def _get_info() -> bytes:
            return b"Blindpost bench root chain"

    class MessageKdf(kdf_hmacs.KDF):  # type: ignore[misc, name-defined]
        @staticmethod
        def _get_hash_function() -> Any:
            return sha256

    class DoubleRatchet(dr.DoubleRatchet):  # type: ignore[misc, name-defined]
        @staticmethod
        def _build_associated_data(associated_data: bytes, header: Any) -> bytes:
            return (
                associated_data
                + header.ratchet_pub
                + header.previous_sending_chain_length.to_bytes(8, "big")
                + header.sending_chain_length.to_bytes(8, "big")
            )

    _SYNDACE.update(
        DoubleRatchet=DoubleRatchet,
        config={
            "diffie_hellman_ratchet_class": dh25519.DiffieHellmanRatchet,
            "root_chain_kdf": RootKdf,
            "message_chain_kdf": MessageKdf,
            "message_chain_constant": b"\x01\x02",
            # the same bounds as Blindpost's defaults (spec §7.4): 2,000 / 2,000
            "dos_protection_threshold": 2000,
            "max_num_skipped_message_keys": 2000,
            "aead": Aead,
        },
        x25519_public=dh25519.DiffieHellmanRatchet._derive_pub,
    )
    return _SYNDACE


def _doubleratchet_pair(loop: asyncio.AbstractEventLoop) -> tuple[Any, Any, bytes]:
    syndace = _doubleratchet()
    dr, config = syndace["DoubleRatchet"], syndace["config"]
    ad = os.urandom(ASSOCIATED_DATA_SIZE)
    shared, bob_private = os.urandom(32), os.urandom(32)

    async def pair() -> tuple[Any, Any]:
        alice, first = await dr.encrypt_initial_message(
            **config,
            shared_secret=shared,
            recipient_ratchet_pub=syndace["x25519_public"](bob_private),
            message=b"hello",
            associated_data=ad,
        )
        bob, received = await dr.decrypt_initial_message(
            **config,
            shared_secret=shared,
            own_ratchet_priv=bob_private,
            message=first,
            associated_data=ad,
        )
        _check(received == b"hello", "doubleratchet")
        reply = await alice.decrypt_message(await bob.encrypt_message(b"hi", ad), ad)
        _check(reply == b"hi", "doubleratchet")
        return alice, bob

    alice, bob = loop.run_until_complete(pair())
    return alice, bob, ad


def _doubleratchet_one_way(size: int) -> Timer:
    loop = asyncio.new_event_loop()
    alice, bob, ad = _doubleratchet_pair(loop)
    pt = plaintext(size)

    async def once() -> bytes:
        return await bob.decrypt_message(await alice.encrypt_message(pt, ad), ad)  # type: ignore[no-any-return]

    _check(loop.run_until_complete(once()) == pt, "doubleratchet")
    return _async_timer(loop, once)


def _doubleratchet_pingpong(size: int) -> Timer:
    loop = asyncio.new_event_loop()
    alice, bob, ad = _doubleratchet_pair(loop)
    pt = plaintext(size)
    sides = ((alice, bob), (bob, alice))
    turn = [0]

    async def body(n: int) -> int:
        t = turn[0]
        start = perf_counter_ns()
        for i in range(n):
            sender, receiver = sides[(t + i) & 1]
            await receiver.decrypt_message(await sender.encrypt_message(pt, ad), ad)
        elapsed = perf_counter_ns() - start
        turn[0] = (t + n) & 1
        return elapsed

    return lambda n: loop.run_until_complete(body(n))


def _x3dh_handshake() -> Timer:
    """Classical X3DH (python-x3dh 1.3 ``State``: signature check, 4 DH, refill and bundle
    publication on the passive side) and the first Double Ratchet message, both directions
    of set-up. The initiator's bundle (one fresh pre key) is fetched outside the timing."""
    x3dh = _require("x3dh", "X3DH")
    syndace = _doubleratchet()
    dr, config = syndace["DoubleRatchet"], syndace["config"]

    class State(x3dh.State):  # type: ignore[misc, name-defined]
        @staticmethod
        def _encode_public_key(key_format: Any, pub: bytes) -> bytes:
            return key_format.value.encode() + pub

        def _publish_bundle(self, bundle: Any) -> None:
            self.published = bundle

    fmt, sha256 = x3dh.IdentityKeyFormat.CURVE_25519, x3dh.HashFunction.SHA_256
    alice = State.create(fmt, sha256, b"Blindpost bench")
    bob = State.create(fmt, sha256, b"Blindpost bench")
    pt = plaintext(100)
    loop = asyncio.new_event_loop()

    async def once(bundle: Any) -> bytes:
        secret, ad, header = await alice.get_shared_secret_active(bundle)
        _alice_dr, message = await dr.encrypt_initial_message(
            **config,
            shared_secret=secret,
            recipient_ratchet_pub=header.signed_pre_key,
            message=pt,
            associated_data=ad,
        )
        secret, ad, signed = await bob.get_shared_secret_passive(header)
        _bob_dr, received = await dr.decrypt_initial_message(
            **config,
            shared_secret=secret,
            own_ratchet_priv=signed.priv,
            message=message,
            associated_data=ad,
        )
        return received  # type: ignore[no-any-return]

    async def body(n: int) -> int:
        total = 0
        for _ in range(n):
            full = bob.bundle  # what a directory would serve; not timed
            bundle = full._replace(pre_keys=frozenset([next(iter(full.pre_keys))]))
            start = perf_counter_ns()
            received = await once(bundle)
            total += perf_counter_ns() - start
            _check(received == pt, "x3dh+doubleratchet")
        return total

    run: Timer = lambda n: loop.run_until_complete(body(n))  # noqa: E731
    run(1)
    return run


# --- voprf (Rust) ------------------------------------------------------------------------------


def _voprf_exchange(seed: bytes, client_input: bytes, expected: bytes | None) -> Timer:
    """Blind, evaluate with a DLEQ proof, verify and finalize, one element (RFC 9497 VOPRF,
    ristretto255-SHA512); ``expected`` is the output another implementation computed."""
    r = _require("voprf.ristretto", "voprf")
    evaluator = r.Evaluator.from_seed(seed, b"")
    public_key = evaluator.public_key
    blind = r.Client.blind

    def exchange() -> bytes:
        client, blinded = blind(client_input)
        return client.finalize(evaluator.evaluate(blinded), public_key)  # type: ignore[no-any-return]

    _check(expected is None or exchange() == expected, "voprf")
    return loop_timer(exchange)


# --- pyhpke ------------------------------------------------------------------------------------


def _pyhpke(size: int, private_key: bytes, info: bytes) -> Timer:
    """Single-shot base-mode seal and open, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
    ChaCha20-Poly1305; key objects are built once (as for the other implementations)."""
    pyhpke = _require("pyhpke", "pyhpke")
    x25519 = importlib.import_module("cryptography.hazmat.primitives.asymmetric.x25519")
    suite = pyhpke.CipherSuite.new(
        pyhpke.KEMId.DHKEM_X25519_HKDF_SHA256,
        pyhpke.KDFId.HKDF_SHA256,
        pyhpke.AEADId.CHACHA20_POLY1305,
    )
    sk = x25519.X25519PrivateKey.from_private_bytes(private_key)
    skr = pyhpke.KEMKey.from_pyca_cryptography_key(sk)
    pkr = pyhpke.KEMKey.from_pyca_cryptography_key(sk.public_key())
    pt = plaintext(size)

    def seal_open() -> bytes:
        enc, sender = suite.create_sender_context(pkr, info)
        ct = sender.seal(pt)
        return suite.create_recipient_context(enc, skr, info).open(ct)  # type: ignore[no-any-return]

    _check(seal_open() == pt, "pyhpke")
    return loop_timer(seal_open)


# --- what compare.py asks for ------------------------------------------------------------------


def ratchet_peers(size: int, *, pingpong: bool) -> dict[str, Factory]:
    """Established-session peers: one direction (encrypt + decrypt per message) or ping-pong
    (the direction alternates, so every message carries a DH ratchet step)."""
    if pingpong:
        return {
            "vodozemac": lambda: _vodozemac_pingpong(size),
            "python-olm": lambda: _olm_pingpong(size),
            "doubleratchet": lambda: _doubleratchet_pingpong(size),
        }
    return {
        "vodozemac": lambda: _vodozemac_one_way(size),
        "python-olm": lambda: _olm_one_way(size),
        "doubleratchet": lambda: _doubleratchet_one_way(size),
    }


def handshake_peers() -> dict[str, Factory]:
    """Classical session set-up with a first 100-byte message, initiator and responder."""
    return {
        "x3dh+doubleratchet": _x3dh_handshake,
        "vodozemac": _vodozemac_handshake,
        "python-olm": _olm_handshake,
    }


def voprf_peers(
    seed: bytes, client_input: bytes, expected: bytes | None = None
) -> dict[str, Factory]:
    """The same VOPRF exchange, keyed by the same seed (RFC 9497 DeriveKeyPair); when given,
    ``expected`` (Blindpost's output for the same key and input) is checked once."""
    return {"voprf": lambda: _voprf_exchange(seed, client_input, expected)}


def hpke_peers(size: int, private_key: bytes, info: bytes) -> dict[str, Factory]:
    """Single-shot HPKE seal + open in the same suite."""
    return {"pyhpke": lambda: _pyhpke(size, private_key, info)}
