"""Spec §10.2, §10.5, §10.6: owner proofs, deposit capabilities and the proof of work.

Both sides of each: what a client makes (:func:`owner_request`, :func:`sign_deposit`,
:func:`solve_pow`) and what the relay checks (:func:`check_owner_proof`,
:func:`check_deposit_signature`, :func:`pow_value`). Sans-I/O: randomness from ``rng``, the
time given by the caller.
"""

from __future__ import annotations

from typing import Final

from ..codec import Message
from ..errors import AuthenticationError, UsageError
from ..labels import LABEL_DEPOSIT, LABEL_OWNER_PROOF, LABEL_POW
from ..primitives import (
    Ed25519KeyPair,
    Element,
    Rng,
    Scalar,
    ed25519_verify,
    ristretto255_schnorr_check,
    sha256,
    sha512,
)
from ._messages import NONCE_SIZE, RELAY_ID_SIZE, OwnerRequest

__all__ = [
    "check_deposit_signature",
    "check_owner_proof",
    "deposit_payload",
    "owner_request",
    "pow_valid",
    "pow_value",
    "sign_deposit",
    "solve_pow",
]

_U32_MAX: Final = 2**32 - 1


def _challenge(
    relay_id: bytes, address: bytes, commitment: bytes, time: int, op: int, body: bytes
) -> bytes:
    """Spec §10.2: ``c``, 32 bytes of a reduced scalar."""
    digest = sha512(
        b"".join(
            (
                LABEL_OWNER_PROOF,
                relay_id,
                address,
                commitment,
                time.to_bytes(8, "big"),
                bytes((op,)),
                sha256(body),
            )
        )
    )
    return Scalar.from_wide(digest).to_bytes()


def owner_request(
    secret: Scalar,
    *,
    relay_id: bytes,
    op: int,
    body: Message,
    time: int,
    rng: Rng,
) -> bytes:
    """Spec §10.2: an owner operation on the mailbox ``secret · B``, with its proof.

    ``secret`` is the mailbox's key: ``h_e · m`` for a routing ID (§8.3), ``k`` for a
    conversation mailbox (§9.5). Draws 64 bytes (the commitment's scalar ``r``).
    """
    if type(relay_id) is not bytes or len(relay_id) != RELAY_ID_SIZE:
        raise UsageError("usage.bad_argument", f"a relay id is {RELAY_ID_SIZE} bytes")
    address = Element.base_mul(secret).to_bytes()
    encoded = body.to_bytes()
    r = Scalar.random(rng)
    commitment = Element.base_mul(r).to_bytes()
    c = Scalar(_challenge(relay_id, address, commitment, time, op, encoded))
    response = r + c * secret
    return OwnerRequest(address, time, op, encoded, commitment, response.to_bytes()).to_bytes()


def check_owner_proof(request: OwnerRequest, relay_id: bytes) -> None:
    """Spec §10.2 step 2: ``s · B == R + c · A`` — else ``auth.failed`` (any address)."""
    c = _challenge(
        relay_id,
        request.address,
        request.commitment,
        request.time,
        request.op,
        request.body,
    )
    ristretto255_schnorr_check(request.address, request.commitment, c, request.response)


# --- deposit capabilities (spec §10.5) -----------------------------------------------------


def deposit_payload(relay_id: bytes, address: bytes, envelope_id: bytes, time: int) -> bytes:
    """Spec §10.5: ``LABEL_DEPOSIT || relay_id || address || id || u64be(time)``."""
    return LABEL_DEPOSIT + relay_id + address + envelope_id + time.to_bytes(8, "big")


def sign_deposit(
    deposit_seed: bytes, *, relay_id: bytes, address: bytes, envelope_id: bytes, time: int
) -> bytes:
    """Spec §10.5: the deposit key's signature that authorises one deposit."""
    key = Ed25519KeyPair(deposit_seed)
    return key.sign(deposit_payload(relay_id, address, envelope_id, time))


#: Spec §10.5: an unknown mailbox is checked against this key so that it costs like a real one
#: (the public key of the all-zero seed; nobody deposits with it).
_DUMMY_DEPOSIT_KEY: Final = Ed25519KeyPair(bytes(32)).public_key


def check_deposit_signature(
    deposit_key: bytes | None,
    relay_id: bytes,
    address: bytes,
    envelope_id: bytes,
    time: int,
    signature: bytes,
) -> None:
    """Spec §10.5: the capability's signature, strictly (``auth.failed``). ``deposit_key``
    ``None`` (an unknown or first-contact mailbox) verifies against a dummy key and fails."""
    payload = deposit_payload(relay_id, address, envelope_id, time)
    ed25519_verify(_DUMMY_DEPOSIT_KEY if deposit_key is None else deposit_key, payload, signature)
    if deposit_key is None:
        raise AuthenticationError()


# --- proof of work (spec §10.6) --------------------------------------------------------------

def pow_value(seed: bytes, address: bytes, envelope_id: bytes, nonce: bytes) -> int:
    """Spec §10.6: ``u32be(SHA-256(LABEL_POW || seed || address || id || nonce)[0:4])``."""
    return int.from_bytes(sha256(LABEL_POW + seed + address + envelope_id + nonce)[:4])


def pow_valid(value: int, effort: int) -> bool:
    """Spec §10.6: ``v · effort ≤ 2^32 − 1``."""
    return value * effort <= _U32_MAX


def solve_pow(
    seed: bytes, address: bytes, envelope_id: bytes, effort: int, *, rng: Rng
) -> bytes:
    """Spec §10.6: a nonce that passes (about ``effort`` hashes on average).

    Starts from 16 bytes of ``rng`` and counts up, so two senders never search the same nonces.
    """
    start = int.from_bytes(rng(NONCE_SIZE), "big")
    prefix = LABEL_POW + seed + address + envelope_id
    limit = _U32_MAX // effort
    for i in range(1 << 40):
        nonce = ((start + i) % (1 << (8 * NONCE_SIZE))).to_bytes(NONCE_SIZE, "big")
        if int.from_bytes(sha256(prefix + nonce)[:4]) <= limit:
            return nonce
    raise UsageError("usage.bad_argument", "no nonce found")  # pragma: no cover
