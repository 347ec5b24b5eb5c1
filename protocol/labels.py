"""Spec §1.3: every domain-separation label of the protocol, in one place.

Each label is an ASCII byte string that starts with ``"Blindpost-v1 "``; a label is used for one
purpose only (one KDF info, one signature context, one hash prefix). The spec's table of labels
lists exactly these constants; a test keeps the two equal.
"""

from __future__ import annotations

from typing import Final

#: The common prefix of every label (spec §1.3).
PREFIX: Final = b"Blindpost-v1 "


def _label(name: str) -> bytes:
    return PREFIX + name.encode("ascii")


#: The labels used as labelled-KDF labels (spec §3.2); each has a case in the primitives suite.
#: Later sections append theirs (handshake, ratchet, blinding, state at rest).
KDF_LABELS: tuple[bytes, ...] = ()


# --- Keys (spec §4) and safety numbers (spec §5) ---

#: Ed25519 signature context binding an identity's X25519 DH key to its signing key (spec §4.1).
LABEL_IDENTITY_BINDING: Final = _label("identity-binding")
#: Ed25519 signature context of a signed X25519 prekey (spec §4.2).
LABEL_SIGNED_PREKEY: Final = _label("signed-prekey")
#: Ed25519 signature context of an ML-KEM-768 prekey, last-resort or one-time (spec §4.3).
LABEL_KEM_PREKEY: Final = _label("kem-prekey")
#: Hash prefix of the iterated safety-number fingerprint (spec §5.1).
LABEL_SAFETY_NUMBER: Final = _label("safety-number")
