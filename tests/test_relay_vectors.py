"""Spec §10: the ``relay`` vectors' proofs checked by paths independent of ``protocol.relay``.

* proof of work: SHA-256 from hashlib, the comparison written out;
* deposit signatures: pyca/cryptography's Ed25519 (not the library's libsodium path);
* owner proofs: the challenge from hashlib's SHA-512 reduced with Python integers, the Schnorr
  equation with rbcl's group operations called directly.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import cbor2
import pytest
import rbcl
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.external import REPO

L = 2**252 + 27742317777372353535851937790883648493


def _cases(kind: str) -> list[dict[str, Any]]:
    document = json.loads((REPO / "vectors" / "relay.json").read_text(encoding="utf-8"))
    cases = [c for c in document["cases"] if c["kind"] == kind]
    assert cases, kind
    return cases


@pytest.mark.parametrize("case", _cases("pow"), ids=lambda c: c["id"])
def test_proof_of_work(case: dict[str, Any]) -> None:
    h = bytes.fromhex
    digest = hashlib.sha256(
        b"Blindpost-v1 proof-of-work" + h(case["seed"]) + h(case["address"])
        + h(case["envelope_id"]) + h(case["nonce"])
    ).digest()  # fmt: skip
    value = int.from_bytes(digest[:4], "big")
    assert value == case["value"]
    assert (value * case["effort"] <= 2**32 - 1) == (case["result"] == "valid")


@pytest.mark.parametrize("case", _cases("deposit-signature"), ids=lambda c: c["id"])
def test_deposit_signature(case: dict[str, Any]) -> None:
    h = bytes.fromhex
    key = Ed25519PrivateKey.from_private_bytes(h(case["deposit_seed"]))
    payload = (
        b"Blindpost-v1 deposit" + h(case["relay_id"]) + h(case["address"])
        + h(case["envelope_id"]) + case["time"].to_bytes(8, "big")
    )  # fmt: skip
    assert key.sign(payload).hex() == case["signature"]


@pytest.mark.parametrize("case", _cases("owner-proof"), ids=lambda c: c["id"])
def test_owner_proof(case: dict[str, Any]) -> None:
    h = bytes.fromhex
    request = cbor2.loads(h(case["request"]))
    assert request[0] == 1 and request[3] == case["op"] and request[2] == case["time"]
    address, body, commitment, response = request[1], request[4], request[5], request[6]
    assert body == h(case["body"])
    secret = int.from_bytes(h(case["secret"]), "little")
    assert address == rbcl.crypto_scalarmult_ristretto255_base(secret.to_bytes(32, "little"))
    hashed = hashlib.sha512(
        b"Blindpost-v1 owner-proof" + h(case["relay_id"]) + address + commitment
        + case["time"].to_bytes(8, "big") + bytes([case["op"]]) + hashlib.sha256(body).digest()
    ).digest()  # fmt: skip
    c = int.from_bytes(hashed, "little") % L
    s = int.from_bytes(response, "little")
    assert s < L
    left = rbcl.crypto_scalarmult_ristretto255_base(response)
    c_a = rbcl.crypto_scalarmult_ristretto255(c.to_bytes(32, "little"), address)
    assert left == rbcl.crypto_core_ristretto255_add(commitment, c_a)
    # The commitment's scalar is the recorded draw reduced mod L (spec §8.1's sampling).
    r = int.from_bytes(h(case["rng"][0]), "little") % L
    assert commitment == rbcl.crypto_scalarmult_ristretto255_base(r.to_bytes(32, "little"))
    assert s == (r + c * secret) % L
