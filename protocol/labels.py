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
#: The labels used with the labelled expand ``KDF_EXPAND`` instead (spec §3.2); each has a case
#: in the primitives suite. A label is in one of the two tuples only.
EXPAND_LABELS: tuple[bytes, ...] = ()


# --- Keys (spec §4) and safety numbers (spec §5) ---

#: Ed25519 signature context binding an identity's X25519 DH key to its signing key (spec §4.1).
LABEL_IDENTITY_BINDING: Final = _label("identity-binding")
#: Ed25519 signature context of a signed X25519 prekey (spec §4.2).
LABEL_SIGNED_PREKEY: Final = _label("signed-prekey")
#: Ed25519 signature context of an ML-KEM-768 prekey, last-resort or one-time (spec §4.3).
LABEL_KEM_PREKEY: Final = _label("kem-prekey")
#: Hash prefix of the iterated safety-number fingerprint (spec §5.1).
LABEL_SAFETY_NUMBER: Final = _label("safety-number")

# --- Handshake (spec §6) ---

#: Labelled-KDF label of the hybrid handshake's key derivation (spec §6.4).
LABEL_HANDSHAKE: Final = _label("handshake-kdf")
#: Prefix of the handshake's associated data, which every later message binds (spec §6.5).
LABEL_HANDSHAKE_AD: Final = _label("handshake-ad")
#: Hash prefix of the responder's replay-cache digests of initial messages (spec §6.7).
LABEL_HANDSHAKE_REPLAY: Final = _label("handshake-replay")
KDF_LABELS += (LABEL_HANDSHAKE,)

# --- Double Ratchet with header encryption and session state (spec §7) ---

#: Labelled-KDF label of KDF_RK, the ratchet's root-key step (spec §7.2).
LABEL_RATCHET_ROOT: Final = _label("ratchet-root")
#: Labelled-expand (``KDF_EXPAND``) label of the tag key derived from a header key (§7.2, §7.5).
LABEL_RATCHET_TAG: Final = _label("ratchet-tag")
#: Labelled-KDF label of the key that encrypts an exported session state (spec §7.8).
LABEL_SESSION_STATE: Final = _label("session-state")
KDF_LABELS += (LABEL_RATCHET_ROOT, LABEL_SESSION_STATE)
EXPAND_LABELS += (LABEL_RATCHET_TAG,)

# --- Identifier blinding, evaluator and directory (spec §8) ---

#: Prefix of the OPRF input of a normalised phone number (spec §8.3).
LABEL_PHONE_IDENTIFIER: Final = _label("phone-identifier")
#: ``info`` of RFC 9497 DeriveKeyPair for the evaluator's OPRF keys (spec §8.5.1).
LABEL_OPRF_KEY: Final = _label("oprf-key")
#: Labelled-KDF label of the discovery token (spec §8.3).
LABEL_DISCOVERY_TOKEN: Final = _label("discovery-token")
#: Labelled-KDF label of the per-epoch routing scalar (spec §8.3).
LABEL_ROUTING_SCALAR: Final = _label("routing-scalar")
#: Ed25519 signature context of a directory registration (spec §8.6.1).
LABEL_DIRECTORY_REGISTRATION: Final = _label("directory-registration")
#: Ed25519 signature context of a directory unregistration (spec §8.6.2).
LABEL_DIRECTORY_UNREGISTRATION: Final = _label("directory-unregistration")
KDF_LABELS += (LABEL_DISCOVERY_TOKEN, LABEL_ROUTING_SCALAR)

# --- Sealed envelopes (spec §9) ---

#: Ed25519 signature context of a first-contact key (spec §9.4.1).
LABEL_FIRST_CONTACT_KEY: Final = _label("first-contact-key")
#: Prefix of the HPKE ``info`` of the first-contact seal (spec §9.4.2).
LABEL_FIRST_CONTACT_SEAL: Final = _label("first-contact-seal")
#: The HPKE ``psk_id`` of the first-contact seal (spec §9.4.2).
LABEL_FIRST_CONTACT_PSK: Final = _label("first-contact-psk")
#: Hash prefix of an envelope id (spec §9.2).
LABEL_ENVELOPE_ID: Final = _label("envelope-id")

# --- Relay (spec §10) ---

#: Hash prefix of an owner proof's Fiat–Shamir challenge (spec §10.2).
LABEL_OWNER_PROOF: Final = _label("owner-proof")
#: Ed25519 signature context of a deposit to a conversation mailbox (spec §10.5).
LABEL_DEPOSIT: Final = _label("deposit")
#: Hash prefix of a first-contact deposit's proof of work (spec §10.6).
LABEL_POW: Final = _label("proof-of-work")

# --- Client facade (spec §12) ---

#: Labelled-KDF label of the key that encrypts an exported client state (spec §12.7).
LABEL_CLIENT_STATE: Final = _label("client-state")
KDF_LABELS += (LABEL_CLIENT_STATE,)
