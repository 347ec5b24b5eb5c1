"""``blindpost demo``: the most complete real flow the implementation has so far.

Today (foundation): two parties generate identities and prekeys, Bob publishes a prekey upload,
the directory checks every signature and hands Alice a prekey bundle, Alice verifies it, a
forged bundle is refused, and both parties compute the same safety number and compare the
scannable form. Everything runs for real through the protocol code; the demo is the only place
that reads a clock and the operating system's random generator, and it prints what the
directory received next to what the clients know.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .errors import ProtocolError
from .keys import (
    IdentityKeyPair,
    KemPrekeyPair,
    OneTimePrekeyPair,
    PrekeyBundle,
    PrekeyUpload,
    SignedPrekeyPair,
)
from .primitives import Rng, system_rng
from .safety import SafetyNumber, compare_scanned

__all__ = ["run"]

#: How many one-time prekeys of each kind Bob publishes in the demo.
_ONE_TIME = 3


def _publish(
    identity: IdentityKeyPair, now: int, rng: Rng
) -> tuple[PrekeyUpload, list[OneTimePrekeyPair], list[KemPrekeyPair]]:
    spk = SignedPrekeyPair.generate(identity, prekey_id=1, now=now, rng=rng)
    opks = [OneTimePrekeyPair.generate(prekey_id=100 + i, rng=rng) for i in range(_ONE_TIME)]
    last = KemPrekeyPair.generate(identity, prekey_id=1, now=now, last_resort=True, rng=rng)
    kems = [
        KemPrekeyPair.generate(identity, prekey_id=100 + i, now=now, last_resort=False, rng=rng)
        for i in range(_ONE_TIME)
    ]
    upload = PrekeyUpload(
        identity.public,
        spk.public,
        tuple(p.public for p in opks),
        last.public,
        tuple(k.public for k in kems),
    )
    return upload, opks, kems


def run(out: Callable[[str], None], *, rng: Rng = system_rng, now: int | None = None) -> None:
    """Run the demo, writing human-readable lines through ``out``."""
    now = int(time.time()) if now is None else now
    out("Blindpost demo — foundation layers: keys, prekey bundles, safety numbers")
    out("")
    alice = IdentityKeyPair.generate(rng)
    bob = IdentityKeyPair.generate(rng)
    out("1. Alice and Bob each generate an identity (Ed25519 signing key + bound X25519 key).")
    out(f"   Alice: {alice!r}")
    out(f"   Bob:   {bob!r}")

    upload, _opks, _kems = _publish(bob, now, rng)
    wire = upload.to_bytes()
    out("")
    out(
        f"2. Bob publishes a prekey upload ({len(wire)} bytes of deterministic CBOR): a signed "
        f"X25519 prekey, {_ONE_TIME} one-time X25519 prekeys, a last-resort ML-KEM-768 prekey "
        f"and {_ONE_TIME} one-time ML-KEM-768 prekeys."
    )
    received = PrekeyUpload.from_bytes_verified(wire)
    out("   The directory decoded it and verified every signature before storing anything.")
    out("   What the directory received: public keys and signatures only —")
    out(f"     identity signing key {received.identity.signing_key.hex()}")
    out(f"     identity DH key      {received.identity.dh_key.hex()}")
    out("   no phone number, no IMEI/IMSI, no contacts, no private key.")

    bundle = PrekeyBundle(
        received.identity,
        received.signed_prekey,
        received.one_time_prekeys[0],
        received.kem_one_time[0],
    )
    bundle_wire = bundle.to_bytes()
    out("")
    out(f"3. The directory hands Alice a prekey bundle for Bob ({len(bundle_wire)} bytes).")
    verified = PrekeyBundle.from_bytes_verified(bundle_wire)
    out(
        "   Alice decoded it and verified the identity binding, the signed prekey "
        f"(id {verified.signed_prekey.id}) and the ML-KEM prekey (id {verified.kem_prekey.id}): ok."
    )
    forged = bytearray(bundle_wire)
    forged[-1] ^= 0x01  # the last byte is inside the KEM prekey's signature
    try:
        PrekeyBundle.from_bytes_verified(bytes(forged))
    except ProtocolError as exc:
        out(f"   A bundle with one flipped signature bit is refused: {exc.code}")
    else:  # pragma: no cover - would be a security bug
        raise AssertionError("a forged bundle was accepted")

    alice_view = SafetyNumber.of(alice.public, verified.identity)
    bob_view = SafetyNumber.of(bob.public, alice.public)
    out("")
    out("4. Safety numbers (computed from the two identity keys only):")
    out(f"   Alice sees: {alice_view.display()}")
    out(f"   Bob sees:   {bob_view.display()}")
    out(f"   identical: {alice_view.digits == bob_view.digits}")
    scanned = compare_scanned(bob_view, alice_view.scannable())
    out(f"   Bob scans Alice's QR code ({len(alice_view.scannable())} bytes): match = {scanned}")
    mallory = IdentityKeyPair.generate(rng)
    wrong = compare_scanned(bob_view, SafetyNumber.of(mallory.public, bob.public).scannable())
    out(f"   Bob scans a code made with Mallory's key instead: match = {wrong}")
    out("")
    out("Later layers (handshake, ratchet, blinding, relay, SMS) extend this demo as they land.")
