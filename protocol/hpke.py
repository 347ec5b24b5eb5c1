"""Spec §3.8: HPKE, Hybrid Public Key Encryption (RFC 9180), over :mod:`protocol.primitives`.

One KEM, one KDF, four AEADs, all four modes:

* KEM ``DHKEM(X25519, HKDF-SHA256)``, ``kem_id`` 0x0020 (RFC 9180 §4.1, §7.1);
* KDF ``HKDF-SHA256``, ``kdf_id`` 0x0001 (RFC 9180 §7.2);
* AEAD ``AES-128-GCM`` (0x0001), ``AES-256-GCM`` (0x0002), ``ChaCha20Poly1305`` (0x0003) and
  ``Export-only`` (0xFFFF) (RFC 9180 §7.3);
* modes ``mode_base`` 0x00, ``mode_psk`` 0x01, ``mode_auth`` 0x02, ``mode_auth_psk`` 0x03
  (RFC 9180 §5).

Function names and statement order follow the RFC pseudocode (``LabeledExtract`` →
:func:`labeled_extract`, ``KeySchedule`` → :func:`_key_schedule`, ``ContextS.Seal`` →
:meth:`SenderContext.seal`), and docstrings quote it.

Randomness: the only random value in HPKE is the sender's ephemeral key. Blindpost generates it
as ``DeriveKeyPair(rng(Nsk))``, so a sender is a deterministic function of what ``rng``
returns. The public ``setup_*_s`` / ``seal_*`` functions take ``rng``; each calls a private
function taking the parts (``ikm_e``), which is the seam the RFC 9180 vectors use (as
pyca/cryptography's ``Fernet.encrypt`` → ``_encrypt_from_parts``). Never reuse an ``ikm_e``.

Errors (spec §1.4): a wrong-length ``enc`` or public key is ``decode.length`` and a small-order
one ``decode.low_order``, both raised before any AEAD work; every failure to open is
``auth.failed``; an exhausted sequence number is ``state.sequence_overflow``; seal or open on an
export-only suite is ``usage.export_only``; other broken contracts (private key length, export
length above ``255 * Nh``, inconsistent PSK inputs) are ``usage.bad_argument``.

Contexts hold secrets: their ``repr`` is redacted and they refuse pickling and copying (a copied
sender context would reuse nonces). Python cannot wipe memory: key bytes live until the garbage
collector frees them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from .errors import DecodeError, StateError, UsageError
from .primitives import (
    Rng,
    X25519KeyPair,
    aes_gcm_open,
    aes_gcm_seal,
    chacha20_poly1305_open,
    chacha20_poly1305_seal,
    hkdf_expand,
    hkdf_extract,
    hmac_sha256_pair,
    random_bytes,
    x25519,
    x25519_public_key,
)

__all__ = [
    "MAX_EXPORT_LENGTH",
    "MAX_SEQUENCE_NUMBER",
    "MIN_PSK_LENGTH",
    "N_ENC",
    "N_H",
    "N_PK",
    "N_SECRET",
    "N_SK",
    "AeadId",
    "KdfId",
    "KemId",
    "Mode",
    "RecipientContext",
    "RecipientKey",
    "SenderContext",
    "Suite",
    "auth_decap",
    "auth_encap",
    "decap",
    "derive_key_pair",
    "encap",
    "extract_and_expand",
    "generate_key_pair",
    "labeled_expand",
    "labeled_extract",
    "open_auth",
    "open_auth_psk",
    "open_base",
    "open_psk",
    "seal_auth",
    "seal_auth_psk",
    "seal_base",
    "seal_psk",
    "setup_auth_psk_r",
    "setup_auth_psk_s",
    "setup_auth_r",
    "setup_auth_s",
    "setup_base_r",
    "setup_base_s",
    "setup_psk_r",
    "setup_psk_s",
]


# --- identifiers and sizes (RFC 9180 §5, §7) ----------------------------------------------------


class Mode(enum.IntEnum):
    """RFC 9180 §5 Table 1: HPKE modes."""

    BASE = 0x00
    PSK = 0x01
    AUTH = 0x02
    AUTH_PSK = 0x03


class KemId(enum.IntEnum):
    """RFC 9180 §7.1 Table 2: the one KEM Blindpost supports."""

    DHKEM_X25519_HKDF_SHA256 = 0x0020


class KdfId(enum.IntEnum):
    """RFC 9180 §7.2 Table 3: the one KDF Blindpost supports."""

    HKDF_SHA256 = 0x0001


class AeadId(enum.IntEnum):
    """RFC 9180 §7.3 Table 5: the AEADs Blindpost supports (0xFFFF is export-only)."""

    AES_128_GCM = 0x0001
    AES_256_GCM = 0x0002
    CHACHA20_POLY1305 = 0x0003
    EXPORT_ONLY = 0xFFFF

    @property
    def n_k(self) -> int:
        """``Nk``: key length in bytes (0 for export-only)."""
        return _AEAD_SIZES[self][0]

    @property
    def n_n(self) -> int:
        """``Nn``: nonce length in bytes (0 for export-only)."""
        return _AEAD_SIZES[self][1]

    @property
    def n_t(self) -> int:
        """``Nt``: tag length in bytes (0 for export-only)."""
        return _AEAD_SIZES[self][2]


#: (Nk, Nn, Nt) per AEAD, RFC 9180 §7.3 Table 5.
_AEAD_SIZES: Final[dict[AeadId, tuple[int, int, int]]] = {
    AeadId.AES_128_GCM: (16, 12, 16),
    AeadId.AES_256_GCM: (32, 12, 16),
    AeadId.CHACHA20_POLY1305: (32, 12, 16),
    AeadId.EXPORT_ONLY: (0, 0, 0),
}

#: DHKEM(X25519, HKDF-SHA256) sizes, RFC 9180 §7.1 Table 2.
N_SECRET: Final = 32
N_ENC: Final = 32
N_PK: Final = 32
N_SK: Final = 32
#: HKDF-SHA256 output size, RFC 9180 §7.2 Table 3.
N_H: Final = 32
#: RFC 9180 §5.2: the largest sequence number, ``(1 << (8*Nn)) - 1`` with ``Nn = 12``. It is
#: never used: the operation that would move past it fails with ``state.sequence_overflow``.
MAX_SEQUENCE_NUMBER: Final = (1 << (8 * 12)) - 1
#: RFC 9180 §5.3: ``L`` must not exceed ``255 * Nh`` (the HKDF-Expand limit).
MAX_EXPORT_LENGTH: Final = 255 * N_H
#: RFC 9180 §5.1.2 / §9.5: "The PSK MUST have at least 32 bytes of entropy"; Blindpost
#: rejects shorter PSKs, the one part of that requirement a library can check.
MIN_PSK_LENGTH: Final = 32

# --- labels (RFC 9180 §4, §4.1, §5.1, §5.3, §7.1.3), all in one place --------------------------

_HPKE_VERSION: Final = b"HPKE-v1"
_LABEL_DKP_PRK: Final = b"dkp_prk"
_LABEL_SK: Final = b"sk"
_LABEL_EAE_PRK: Final = b"eae_prk"
_LABEL_SHARED_SECRET: Final = b"shared_secret"
_LABEL_PSK_ID_HASH: Final = b"psk_id_hash"
_LABEL_INFO_HASH: Final = b"info_hash"
_LABEL_SECRET: Final = b"secret"
_LABEL_KEY: Final = b"key"
_LABEL_BASE_NONCE: Final = b"base_nonce"
_LABEL_EXP: Final = b"exp"
_LABEL_SEC: Final = b"sec"

#: ``default_psk`` and ``default_psk_id`` (RFC 9180 §5.1).
_DEFAULT_PSK: Final = b""
_DEFAULT_PSK_ID: Final = b""


def _i2osp(n: int, w: int) -> bytes:
    """RFC 9180 §3: ``I2OSP(n, w)``, ``n`` as a ``w``-byte big-endian string."""
    return n.to_bytes(w, "big")


#: RFC 9180 §4.1: "suite_id = concat("KEM", I2OSP(kem_id, 2))", used inside the DHKEM.
_KEM_SUITE_ID: Final = b"KEM" + _i2osp(KemId.DHKEM_X25519_HKDF_SHA256, 2)


@dataclass(frozen=True, slots=True, kw_only=True)
class Suite:
    """Spec §3.8: an HPKE ciphersuite, ``(kem_id, kdf_id, aead_id)`` (RFC 9180 §5.1).

    ``kem`` and ``kdf`` default to the only supported values, so ``Suite(aead=AeadId.X)`` is the
    usual spelling. An unsupported id raises ``usage.bad_argument``.
    """

    kem: KemId = KemId.DHKEM_X25519_HKDF_SHA256
    kdf: KdfId = KdfId.HKDF_SHA256
    aead: AeadId
    _suite_id: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            kem, kdf, aead = KemId(self.kem), KdfId(self.kdf), AeadId(self.aead)
        except ValueError:
            raise UsageError("usage.bad_argument", "unsupported HPKE algorithm id") from None
        object.__setattr__(self, "kem", kem)
        object.__setattr__(self, "kdf", kdf)
        object.__setattr__(self, "aead", aead)
        object.__setattr__(
            self, "_suite_id", b"HPKE" + _i2osp(kem, 2) + _i2osp(kdf, 2) + _i2osp(aead, 2)
        )

    @property
    def suite_id(self) -> bytes:
        """RFC 9180 §5.1: the key schedule's ``suite_id``.

        ::

            suite_id = concat(
              "HPKE",
              I2OSP(kem_id, 2),
              I2OSP(kdf_id, 2),
              I2OSP(aead_id, 2)
            )
        """
        return self._suite_id


# --- labeled KDF (RFC 9180 §4) ------------------------------------------------------------------


def labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    """Spec §3.8, RFC 9180 §4: ``LabeledExtract(salt, label, ikm)``.

    ::

        def LabeledExtract(salt, label, ikm):
          labeled_ikm = concat("HPKE-v1", suite_id, label, ikm)
          return Extract(salt, labeled_ikm)
    """
    labeled_ikm = _HPKE_VERSION + suite_id + label + ikm
    return hkdf_extract(salt, labeled_ikm)


def labeled_expand(suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    """Spec §3.8, RFC 9180 §4: ``LabeledExpand(prk, label, info, L)``.

    ::

        def LabeledExpand(prk, label, info, L):
          labeled_info = concat(I2OSP(L, 2), "HPKE-v1", suite_id,
                                label, info)
          return Expand(prk, labeled_info, L)
    """
    if not 0 <= length <= MAX_EXPORT_LENGTH:
        raise UsageError("usage.bad_argument", f"HPKE output length must be 0..{MAX_EXPORT_LENGTH}")
    labeled_info = _i2osp(length, 2) + _HPKE_VERSION + suite_id + label + info
    return hkdf_expand(prk, labeled_info, length)


# --- DHKEM(X25519, HKDF-SHA256) (RFC 9180 §4.1, §7.1) --------------------------------------------

#: A recipient's private key: its 32 bytes, or an :class:`~protocol.primitives.X25519KeyPair`,
#: which holds ``pk(skR)`` already and so saves a base-point multiplication per ``Decap``.
RecipientKey: TypeAlias = bytes | X25519KeyPair


def _recipient_dh(sk_r: RecipientKey, *peers: bytes) -> tuple[bytes, bytes]:
    """``DH(skR, peer)`` for each peer, concatenated, and ``SerializePublicKey(pk(skR))``."""
    if type(sk_r) is X25519KeyPair:
        if len(peers) == 1:  # Decap: one DH
            return sk_r.exchange(peers[0]), sk_r.public_key
        return b"".join([sk_r.exchange(peer) for peer in peers]), sk_r.public_key
    assert isinstance(sk_r, bytes)  # checked by the caller, before any decoding
    return b"".join([x25519(sk_r, peer) for peer in peers]), x25519_public_key(sk_r)


def _check_private_key(name: str, sk: object) -> None:
    if not isinstance(sk, bytes) or len(sk) != N_SK:
        raise UsageError("usage.bad_argument", f"{name} must be {N_SK} bytes")


def _deserialize_public_key(name: str, pkm: bytes) -> bytes:
    """RFC 9180 §4: ``DeserializePublicKey(pkXm)``; X25519 keys are their 32 raw bytes (§7.1.1).

    Only the length is checked here (``decode.length``); a small-order key is found by
    :func:`protocol.primitives.x25519` when the DH result is all zero (``decode.low_order``),
    the check RFC 9180 §7.1.4 requires.
    """
    if not isinstance(pkm, bytes) or len(pkm) != N_PK:
        raise DecodeError("decode.length", f"{name} must be {N_PK} bytes")
    return pkm


#: The constant heads of the DHKEM's labeled KDF inputs (RFC 9180 §4: ``"HPKE-v1" ||
#: suite_id || label``, and for an Expand ``I2OSP(L, 2)`` before them), built once.
_DKP_PRK_HEAD: Final = _HPKE_VERSION + _KEM_SUITE_ID + _LABEL_DKP_PRK
_SK_INFO: Final = _i2osp(N_SK, 2) + _HPKE_VERSION + _KEM_SUITE_ID + _LABEL_SK  # info is ""
_EAE_PRK_HEAD: Final = _HPKE_VERSION + _KEM_SUITE_ID + _LABEL_EAE_PRK
_SHARED_SECRET_HEAD: Final = (
    _i2osp(N_SECRET, 2) + _HPKE_VERSION + _KEM_SUITE_ID + _LABEL_SHARED_SECRET
)


def derive_key_pair(ikm: bytes) -> tuple[bytes, bytes]:
    """Spec §3.8, RFC 9180 §7.1.3: ``DeriveKeyPair(ikm)`` for X25519, returns ``(sk, pk)``.

    ::

        def DeriveKeyPair(ikm):
          dkp_prk = LabeledExtract("", "dkp_prk", ikm)
          sk = LabeledExpand(dkp_prk, "sk", "", Nsk)
          return (sk, pk(sk))

    ``sk`` is returned unclamped, as the RFC vectors have it; X25519 clamps when it is used.
    ``ikm`` must be at least ``Nsk`` bytes (RFC 9180 §7.1.3: "ikm ... SHOULD have at least Nsk
    bytes of entropy"), else ``usage.bad_argument``.
    """
    pair = _derive_pair(ikm)
    return pair.private_bytes(), pair.public_key


def _derive_pair(ikm: bytes) -> X25519KeyPair:
    """:func:`derive_key_pair` as a key pair (``sk`` and ``pk(sk)``), same checks.

    ``LabeledExtract`` and ``LabeledExpand`` with their constant heads built once
    (``_DKP_PRK_HEAD``, ``_SK_INFO``); the RFC 9180 vectors check it.
    """
    if not isinstance(ikm, bytes) or len(ikm) < N_SK:
        raise UsageError("usage.bad_argument", f"ikm must be at least {N_SK} bytes")
    return X25519KeyPair(hkdf_expand(hkdf_extract(b"", _DKP_PRK_HEAD + ikm), _SK_INFO, N_SK))


def generate_key_pair(rng: Rng) -> tuple[bytes, bytes]:
    """Spec §3.8, RFC 9180 §4: ``GenerateKeyPair()``, as ``DeriveKeyPair(rng(Nsk))``."""
    return derive_key_pair(random_bytes(rng, N_SK))


def extract_and_expand(dh: bytes, kem_context: bytes) -> bytes:
    """Spec §3.8, RFC 9180 §4.1: ``ExtractAndExpand(dh, kem_context)``.

    ::

        def ExtractAndExpand(dh, kem_context):
          eae_prk = LabeledExtract("", "eae_prk", dh)
          shared_secret = LabeledExpand(eae_prk, "shared_secret",
                                        kem_context, Nsecret)
          return shared_secret
    """
    # labeled_extract and labeled_expand with their constant heads built once
    eae_prk = hkdf_extract(b"", _EAE_PRK_HEAD + dh)
    return hkdf_expand(eae_prk, _SHARED_SECRET_HEAD + kem_context, N_SECRET)


def _encap(pk_r: bytes, ikm_e: bytes) -> tuple[bytes, bytes]:
    """RFC 9180 §4.1 ``Encap(pkR)`` with the ephemeral key pair ``DeriveKeyPair(ikm_e)``.

    ::

        def Encap(pkR):
          skE, pkE = GenerateKeyPair()
          dh = DH(skE, pkR)
          enc = SerializePublicKey(pkE)

          pkRm = SerializePublicKey(pkR)
          kem_context = concat(enc, pkRm)

          shared_secret = ExtractAndExpand(dh, kem_context)
          return shared_secret, enc
    """
    pk_r = _deserialize_public_key("recipient public key", pk_r)
    ephemeral = _derive_pair(ikm_e)  # skE, pkE
    dh = ephemeral.exchange(pk_r)
    enc = ephemeral.public_key
    kem_context = enc + pk_r
    shared_secret = extract_and_expand(dh, kem_context)
    return shared_secret, enc


def encap(pk_r: bytes, *, rng: Rng) -> tuple[bytes, bytes]:
    """Spec §3.8, RFC 9180 §4.1: ``Encap(pkR)``, returns ``(shared_secret, enc)``."""
    _deserialize_public_key("recipient public key", pk_r)
    return _encap(pk_r, random_bytes(rng, N_SK))


def decap(enc: bytes, sk_r: RecipientKey) -> bytes:
    """Spec §3.8, RFC 9180 §4.1: ``Decap(enc, skR)``, returns ``shared_secret``.

    ::

        def Decap(enc, skR):
          pkE = DeserializePublicKey(enc)
          dh = DH(skR, pkE)

          pkRm = SerializePublicKey(pk(skR))
          kem_context = concat(enc, pkRm)

          shared_secret = ExtractAndExpand(dh, kem_context)
          return shared_secret
    """
    if type(sk_r) is not X25519KeyPair:
        _check_private_key("recipient private key", sk_r)
    pk_e = _deserialize_public_key("enc", enc)
    dh, pk_rm = _recipient_dh(sk_r, pk_e)
    kem_context = enc + pk_rm
    return extract_and_expand(dh, kem_context)


def _auth_encap(pk_r: bytes, sk_s: bytes, ikm_e: bytes) -> tuple[bytes, bytes]:
    """RFC 9180 §4.1 ``AuthEncap(pkR, skS)`` with the ephemeral key ``DeriveKeyPair(ikm_e)``.

    ::

        def AuthEncap(pkR, skS):
          skE, pkE = GenerateKeyPair()
          dh = concat(DH(skE, pkR), DH(skS, pkR))
          enc = SerializePublicKey(pkE)

          pkRm = SerializePublicKey(pkR)
          pkSm = SerializePublicKey(pk(skS))
          kem_context = concat(enc, pkRm, pkSm)

          shared_secret = ExtractAndExpand(dh, kem_context)
          return shared_secret, enc
    """
    _check_private_key("sender private key", sk_s)
    pk_r = _deserialize_public_key("recipient public key", pk_r)
    sk_e, pk_e = derive_key_pair(ikm_e)
    dh = x25519(sk_e, pk_r) + x25519(sk_s, pk_r)
    enc = pk_e
    pk_sm = x25519_public_key(sk_s)
    kem_context = enc + pk_r + pk_sm
    shared_secret = extract_and_expand(dh, kem_context)
    return shared_secret, enc


def auth_encap(pk_r: bytes, sk_s: bytes, *, rng: Rng) -> tuple[bytes, bytes]:
    """Spec §3.8, RFC 9180 §4.1: ``AuthEncap(pkR, skS)``, returns ``(shared_secret, enc)``."""
    _check_private_key("sender private key", sk_s)
    _deserialize_public_key("recipient public key", pk_r)
    return _auth_encap(pk_r, sk_s, random_bytes(rng, N_SK))


def auth_decap(enc: bytes, sk_r: RecipientKey, pk_s: bytes) -> bytes:
    """Spec §3.8, RFC 9180 §4.1: ``AuthDecap(enc, skR, pkS)``, returns ``shared_secret``.

    ::

        def AuthDecap(enc, skR, pkS):
          pkE = DeserializePublicKey(enc)
          dh = concat(DH(skR, pkE), DH(skR, pkS))

          pkRm = SerializePublicKey(pk(skR))
          pkSm = SerializePublicKey(pkS)
          kem_context = concat(enc, pkRm, pkSm)

          shared_secret = ExtractAndExpand(dh, kem_context)
          return shared_secret
    """
    if type(sk_r) is not X25519KeyPair:
        _check_private_key("recipient private key", sk_r)
    pk_e = _deserialize_public_key("enc", enc)
    pk_s = _deserialize_public_key("sender public key", pk_s)
    dh, pk_rm = _recipient_dh(sk_r, pk_e, pk_s)
    kem_context = enc + pk_rm + pk_s
    return extract_and_expand(dh, kem_context)


# --- key schedule (RFC 9180 §5.1) ----------------------------------------------------------------


def _verify_psk_inputs(mode: Mode, psk: bytes, psk_id: bytes) -> None:
    """RFC 9180 §5.1: ``VerifyPSKInputs(mode, psk, psk_id)``; failures are ``usage.bad_argument``.

    ::

        def VerifyPSKInputs(mode, psk, psk_id):
          got_psk = (psk != default_psk)
          got_psk_id = (psk_id != default_psk_id)
          if got_psk != got_psk_id:
            raise Exception("Inconsistent PSK inputs")

          if got_psk and (mode in [mode_base, mode_auth]):
            raise Exception("PSK input provided when not needed")
          if (not got_psk) and (mode in [mode_psk, mode_auth_psk]):
            raise Exception("Missing required PSK input")

    Blindpost adds: a PSK shorter than 32 bytes is refused (RFC 9180 §9.5).
    """
    got_psk = psk != _DEFAULT_PSK
    got_psk_id = psk_id != _DEFAULT_PSK_ID
    if got_psk != got_psk_id:
        raise UsageError("usage.bad_argument", "inconsistent PSK inputs")
    if got_psk and mode in (Mode.BASE, Mode.AUTH):
        raise UsageError("usage.bad_argument", "PSK input provided when not needed")
    if not got_psk and mode in (Mode.PSK, Mode.AUTH_PSK):
        raise UsageError("usage.bad_argument", "missing required PSK input")
    if got_psk and len(psk) < MIN_PSK_LENGTH:
        raise UsageError("usage.bad_argument", f"PSK must be at least {MIN_PSK_LENGTH} bytes")


class _Schedule:
    """The values ``KeySchedule`` computes (the intermediates are kept for the RFC vectors).

    ``exporter_secret`` is derived when first asked for: a context that never exports (every
    single-shot seal and open) does not pay for it. A plain slotted class, not a frozen
    dataclass, whose ``__init__`` pays an ``object.__setattr__`` call per field; nothing
    outside this module sees it, and nothing changes it after ``__init__``.
    """

    __slots__ = ("base_nonce", "key", "key_schedule_context", "secret", "suite_id")

    def __init__(
        self,
        suite_id: bytes,
        key_schedule_context: bytes,
        secret: bytes,
        key: bytes,
        base_nonce: bytes,
    ) -> None:
        self.suite_id = suite_id
        self.key_schedule_context = key_schedule_context
        self.secret = secret
        self.key = key
        self.base_nonce = base_nonce

    @property
    def exporter_secret(self) -> bytes:
        """RFC 9180 §5.1: ``LabeledExpand(secret, "exp", key_schedule_context, Nh)``."""
        return labeled_expand(
            self.suite_id, self.secret, _LABEL_EXP, self.key_schedule_context, N_H
        )

    def __repr__(self) -> str:
        return "_Schedule(<redacted>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("HPKE key schedules hold secrets and cannot be pickled")


#: ``LabeledExtract("", "psk_id_hash", psk_id)`` of the last psk ids seen, per suite: the base
#: and auth modes always use the empty one, and a protocol its own constant (a first contact's,
#: spec §9.4.2). At most :data:`_PSK_ID_HASHES_KEPT` entries, so it cannot grow with input.
_PSK_ID_HASHES: Final[dict[tuple[bytes, bytes], bytes]] = {}
_PSK_ID_HASHES_KEPT: Final = 16


def _psk_id_hash(suite_id: bytes, psk_id: bytes) -> bytes:
    key = (suite_id, psk_id)
    digest = _PSK_ID_HASHES.get(key)
    if digest is None:
        digest = labeled_extract(suite_id, b"", _LABEL_PSK_ID_HASH, psk_id)
        if len(_PSK_ID_HASHES) >= _PSK_ID_HASHES_KEPT:
            _PSK_ID_HASHES.clear()
        _PSK_ID_HASHES[key] = digest
    return digest


def _key_schedule(
    mode: Mode, suite: Suite, shared_secret: bytes, info: bytes, psk: bytes, psk_id: bytes
) -> _Schedule:
    """RFC 9180 §5.1: ``KeySchedule<ROLE>(mode, shared_secret, info, psk, psk_id)``.

    ::

        def KeySchedule<ROLE>(mode, shared_secret, info, psk, psk_id):
          VerifyPSKInputs(mode, psk, psk_id)

          psk_id_hash = LabeledExtract("", "psk_id_hash", psk_id)
          info_hash = LabeledExtract("", "info_hash", info)
          key_schedule_context = concat(mode, psk_id_hash, info_hash)

          secret = LabeledExtract(shared_secret, "secret", psk)

          key = LabeledExpand(secret, "key", key_schedule_context, Nk)
          base_nonce = LabeledExpand(secret, "base_nonce",
                                     key_schedule_context, Nn)
          exporter_secret = LabeledExpand(secret, "exp",
                                          key_schedule_context, Nh)

          return Context<ROLE>(key, base_nonce, 0, exporter_secret)

    For the export-only AEAD ``Nk = Nn = 0``, so ``key`` and ``base_nonce`` are empty.
    """
    _verify_psk_inputs(mode, psk, psk_id)
    return _verified_key_schedule(mode, suite, shared_secret, info, psk, psk_id)


def _verified_key_schedule(
    mode: Mode, suite: Suite, shared_secret: bytes, info: bytes, psk: bytes, psk_id: bytes
) -> _Schedule:
    """:func:`_key_schedule` after ``VerifyPSKInputs``: the setup functions verify the PSK
    inputs first, before any key agreement, and so once per setup.

    Each ``LabeledExtract`` and ``LabeledExpand`` is :func:`hkdf_extract` or one HMAC block
    over its constant head (``_SCHEDULE_HEADS``); the RFC 9180 vectors and pyca's HPKE check
    that the outputs are the RFC's.
    """
    n_k, n_n, suite_id, info_hash_head, secret_head, key_info, nonce_info = _SCHEDULE_HEADS[
        suite.aead
    ]
    key_schedule_context = (
        _MODE_BYTES[mode]
        + _psk_id_hash(suite_id, psk_id)
        + hkdf_extract(b"", info_hash_head + info)  # info_hash
    )
    secret = hkdf_extract(shared_secret, secret_head + psk)
    if n_k:
        # Both are one HKDF-Expand block (Nk, Nn ≤ Nh): T(1) = HMAC(secret, labeled_info ||
        # 0x01), truncated — the two HMACs under one padded key (same output as
        # labeled_expand).
        key, base_nonce = hmac_sha256_pair(
            secret,
            key_info + key_schedule_context + b"\x01",
            nonce_info + key_schedule_context + b"\x01",
        )
        return _Schedule(suite_id, key_schedule_context, secret, key[:n_k], base_nonce[:n_n])
    return _Schedule(suite_id, key_schedule_context, secret, b"", b"")  # export-only


#: ``I2OSP(mode, 1)`` per mode.
_MODE_BYTES: Final[dict[int, bytes]] = {mode: _i2osp(mode, 1) for mode in Mode}


def _schedule_heads(aead: AeadId) -> tuple[int, int, bytes, bytes, bytes, bytes, bytes]:
    """``Nk``, ``Nn``, ``suite_id`` and the constant heads of the key schedule's labeled inputs
    for ``aead`` (RFC 9180 §4: ``"HPKE-v1" || suite_id || label`` for an Extract, with
    ``I2OSP(L, 2)`` before it for an Expand and ``0x01``, the first block's counter, after the
    info): ``info_hash``, ``secret``, ``key``, ``base_nonce``."""
    suite_id = Suite(aead=aead).suite_id
    head = _HPKE_VERSION + suite_id
    return (
        aead.n_k,
        aead.n_n,
        suite_id,
        head + _LABEL_INFO_HASH,
        head + _LABEL_SECRET,
        _i2osp(aead.n_k, 2) + head + _LABEL_KEY,
        _i2osp(aead.n_n, 2) + head + _LABEL_BASE_NONCE,
    )


#: :func:`_schedule_heads` of every AEAD (KEM and KDF have one value each), built once.
_SCHEDULE_HEADS: Final[dict[AeadId, tuple[int, int, bytes, bytes, bytes, bytes, bytes]]] = {
    aead: _schedule_heads(aead) for aead in AeadId
}


# --- encryption contexts (RFC 9180 §5.2, §5.3) ---------------------------------------------------


def _require_aead(suite: Suite) -> None:
    if suite.aead is AeadId.EXPORT_ONLY:
        raise UsageError("usage.export_only", "the export-only suite cannot seal or open")


class _Context:
    """RFC 9180 §5.2: the state shared by both roles: ``key``, ``base_nonce``, ``seq``,
    ``exporter_secret``."""

    __slots__ = ("_base_nonce", "_key", "_schedule", "_seq", "_suite")

    _suite: Suite
    _key: bytes
    _base_nonce: bytes
    _schedule: _Schedule
    _seq: int

    def __init__(self, suite: Suite, schedule: _Schedule) -> None:
        self._suite = suite
        self._key = schedule.key
        self._base_nonce = schedule.base_nonce
        self._schedule = schedule
        self._seq = 0

    @property
    def suite(self) -> Suite:
        """The ciphersuite this context was set up with."""
        return self._suite

    @property
    def seq(self) -> int:
        """The sequence number of the next seal or open (not secret)."""
        return self._seq

    def _compute_nonce(self, seq: int) -> bytes:
        """RFC 9180 §5.2: ``ComputeNonce(seq)``.

        ::

            def Context<ROLE>.ComputeNonce(seq):
              seq_bytes = I2OSP(seq, Nn)
              return xor(self.base_nonce, seq_bytes)
        """
        n_n = len(self._base_nonce)
        return (int.from_bytes(self._base_nonce, "big") ^ seq).to_bytes(n_n, "big")

    def export(self, exporter_context: bytes, length: int) -> bytes:
        """Spec §3.8, RFC 9180 §5.3: ``Context.Export(exporter_context, L)``.

        ::

            def Context.Export(exporter_context, L):
              return LabeledExpand(self.exporter_secret, "sec",
                                   exporter_context, L)

        ``L`` outside ``0..255*Nh`` (8160) raises ``usage.bad_argument``.
        """
        if isinstance(length, bool) or not isinstance(length, int):
            raise UsageError("usage.bad_argument", "export length must be an int")
        return labeled_expand(
            self._suite.suite_id,
            self._exporter_secret,
            _LABEL_SEC,
            exporter_context,
            length,
        )

    @property
    def _exporter_secret(self) -> bytes:
        """RFC 9180 §5.1: the exporter secret, derived on the first export (§3.8)."""
        return self._schedule.exporter_secret

    def __repr__(self) -> str:
        return f"{type(self).__name__}(suite={self._suite!r}, seq={self._seq}, <secrets redacted>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("HPKE contexts hold secrets and cannot be pickled or copied")


class SenderContext(_Context):
    """Spec §3.8, RFC 9180 §5.2: ``ContextS``, the sender's context (seal and export)."""

    __slots__ = ()

    def seal(self, aad: bytes, pt: bytes) -> bytes:
        """Spec §3.8, RFC 9180 §5.2: ``ContextS.Seal(aad, pt)``, returns ``ct`` (with the tag).

        ::

            def ContextS.Seal(aad, pt):
              ct = Seal(self.key, self.ComputeNonce(self.seq), aad, pt)
              self.IncrementSeq()
              return ct

            def Context<ROLE>.IncrementSeq():
              if self.seq >= (1 << (8*Nn)) - 1:
                raise MessageLimitReachedError
              self.seq += 1

        The limit is checked before encrypting (the RFC discards that ciphertext anyway):
        ``state.sequence_overflow``, with the context unchanged. Export-only suites raise
        ``usage.export_only``.
        """
        _require_aead(self._suite)
        seq = self._seq
        if seq >= MAX_SEQUENCE_NUMBER:
            raise StateError("state.sequence_overflow", "HPKE sender sequence number exhausted")
        nonce = self._compute_nonce(seq)
        if self._suite.aead is AeadId.CHACHA20_POLY1305:
            ct = chacha20_poly1305_seal(self._key, nonce, pt, aad)
        else:
            ct = aes_gcm_seal(self._key, nonce, pt, aad)
        self._seq = seq + 1
        return ct


class RecipientContext(_Context):
    """Spec §3.8, RFC 9180 §5.2: ``ContextR``, the recipient's context (open and export)."""

    __slots__ = ()

    def open(self, aad: bytes, ct: bytes) -> bytes:
        """Spec §3.8, RFC 9180 §5.2: ``ContextR.Open(aad, ct)``, returns ``pt``.

        ::

            def ContextR.Open(aad, ct):
              pt = Open(self.key, self.ComputeNonce(self.seq), aad, ct)
              if pt == OpenError:
                raise OpenError
              self.IncrementSeq()
              return pt

        A failed open raises ``auth.failed`` and leaves the context unchanged (``seq`` is not
        incremented), so the next message can still be opened. After authentication, a
        sequence number at its maximum raises ``state.sequence_overflow`` (the plaintext is
        discarded). Export-only suites raise ``usage.export_only``.
        """
        _require_aead(self._suite)
        seq = self._seq
        nonce = self._compute_nonce(seq)
        if self._suite.aead is AeadId.CHACHA20_POLY1305:
            pt = chacha20_poly1305_open(self._key, nonce, ct, aad)
        else:
            pt = aes_gcm_open(self._key, nonce, ct, aad)
        if seq >= MAX_SEQUENCE_NUMBER:
            raise StateError("state.sequence_overflow", "HPKE recipient sequence number exhausted")
        self._seq = seq + 1
        return pt


# --- setup (RFC 9180 §5.1.1 - §5.1.4) ------------------------------------------------------------


def _setup_s(
    mode: Mode,
    suite: Suite,
    pk_r: bytes,
    info: bytes,
    ikm_e: bytes,
    *,
    psk: bytes = _DEFAULT_PSK,
    psk_id: bytes = _DEFAULT_PSK_ID,
    sk_s: bytes | None = None,
) -> tuple[bytes, SenderContext, bytes, _Schedule]:
    """The deterministic sender seam: ``Setup<MODE>S`` with ephemeral ``DeriveKeyPair(ikm_e)``.

    Returns ``(enc, context, shared_secret, schedule)``; the last two are for the RFC vectors.
    PSK inputs are verified before any key agreement.
    """
    _verify_psk_inputs(mode, psk, psk_id)
    return _verified_setup_s(mode, suite, pk_r, info, ikm_e, psk, psk_id, sk_s)


def _verified_setup_s(
    mode: Mode,
    suite: Suite,
    pk_r: bytes,
    info: bytes,
    ikm_e: bytes,
    psk: bytes,
    psk_id: bytes,
    sk_s: bytes | None,
) -> tuple[bytes, SenderContext, bytes, _Schedule]:
    """:func:`_setup_s` after ``VerifyPSKInputs``."""
    shared_secret, enc = _mode_encap(mode, pk_r, ikm_e, sk_s)
    schedule = _verified_key_schedule(mode, suite, shared_secret, info, psk, psk_id)
    return enc, SenderContext(suite, schedule), shared_secret, schedule


def _mode_encap(mode: Mode, pk_r: bytes, ikm_e: bytes, sk_s: bytes | None) -> tuple[bytes, bytes]:
    """``Encap`` or, in the auth modes, ``AuthEncap``: ``(shared_secret, enc)``."""
    if mode in (Mode.AUTH, Mode.AUTH_PSK):
        if sk_s is None:
            raise UsageError("usage.bad_argument", "auth modes need the sender's private key")
        return _auth_encap(pk_r, sk_s, ikm_e)
    return _encap(pk_r, ikm_e)


def _setup_r(
    mode: Mode,
    suite: Suite,
    enc: bytes,
    sk_r: RecipientKey,
    info: bytes,
    *,
    psk: bytes = _DEFAULT_PSK,
    psk_id: bytes = _DEFAULT_PSK_ID,
    pk_s: bytes | None = None,
) -> RecipientContext:
    """``Setup<MODE>R``: decapsulate, then run the key schedule."""
    return RecipientContext(
        suite, _recipient_schedule(mode, suite, enc, sk_r, info, psk, psk_id, pk_s)
    )


def _recipient_schedule(
    mode: Mode,
    suite: Suite,
    enc: bytes,
    sk_r: RecipientKey,
    info: bytes,
    psk: bytes,
    psk_id: bytes,
    pk_s: bytes | None,
) -> _Schedule:
    """:func:`_setup_r` up to the key schedule (the single-shot ``Open<MODE>`` needs no
    context object)."""
    _verify_psk_inputs(mode, psk, psk_id)
    if mode in (Mode.AUTH, Mode.AUTH_PSK):
        if pk_s is None:
            raise UsageError("usage.bad_argument", "auth modes need the sender's public key")
        shared_secret = auth_decap(enc, sk_r, pk_s)
    else:
        shared_secret = decap(enc, sk_r)
    return _verified_key_schedule(mode, suite, shared_secret, info, psk, psk_id)


def _setup_s_rng(
    mode: Mode,
    suite: Suite,
    pk_r: bytes,
    info: bytes,
    rng: Rng,
    *,
    psk: bytes = _DEFAULT_PSK,
    psk_id: bytes = _DEFAULT_PSK_ID,
    sk_s: bytes | None = None,
) -> tuple[bytes, SenderContext]:
    """Check the caller's inputs, then draw ``ikm_e = rng(Nsk)`` and run :func:`_setup_s`.

    The checks come first so that a rejected call consumes no randomness.
    """
    enc, schedule = _sender_schedule(mode, suite, pk_r, info, rng, psk, psk_id, sk_s)
    return enc, SenderContext(suite, schedule)


def _sender_schedule(
    mode: Mode,
    suite: Suite,
    pk_r: bytes,
    info: bytes,
    rng: Rng,
    psk: bytes,
    psk_id: bytes,
    sk_s: bytes | None,
) -> tuple[bytes, _Schedule]:
    """:func:`_setup_s_rng` up to the key schedule: ``(enc, schedule)`` (the single-shot
    ``Seal<MODE>`` needs no context object)."""
    _verify_psk_inputs(mode, psk, psk_id)
    if sk_s is not None:
        _check_private_key("sender private key", sk_s)
    _deserialize_public_key("recipient public key", pk_r)
    shared_secret, enc = _mode_encap(mode, pk_r, random_bytes(rng, N_SK), sk_s)
    return enc, _verified_key_schedule(mode, suite, shared_secret, info, psk, psk_id)


def setup_base_s(
    suite: Suite, pk_r: bytes, info: bytes, *, rng: Rng
) -> tuple[bytes, SenderContext]:
    """Spec §3.8, RFC 9180 §5.1.1: ``SetupBaseS(pkR, info)``, returns ``(enc, ctx)``.

    ::

        def SetupBaseS(pkR, info):
          shared_secret, enc = Encap(pkR)
          return enc, KeyScheduleS(mode_base, shared_secret, info,
                                   default_psk, default_psk_id)
    """
    return _setup_s_rng(Mode.BASE, suite, pk_r, info, rng)


def setup_base_r(suite: Suite, enc: bytes, sk_r: RecipientKey, info: bytes) -> RecipientContext:
    """Spec §3.8, RFC 9180 §5.1.1: ``SetupBaseR(enc, skR, info)``.

    ::

        def SetupBaseR(enc, skR, info):
          shared_secret = Decap(enc, skR)
          return KeyScheduleR(mode_base, shared_secret, info,
                              default_psk, default_psk_id)
    """
    return _setup_r(Mode.BASE, suite, enc, sk_r, info)


def setup_psk_s(
    suite: Suite, pk_r: bytes, info: bytes, psk: bytes, psk_id: bytes, *, rng: Rng
) -> tuple[bytes, SenderContext]:
    """Spec §3.8, RFC 9180 §5.1.2: ``SetupPSKS(pkR, info, psk, psk_id)``.

    ::

        def SetupPSKS(pkR, info, psk, psk_id):
          shared_secret, enc = Encap(pkR)
          return enc, KeyScheduleS(mode_psk, shared_secret, info, psk, psk_id)
    """
    return _setup_s_rng(Mode.PSK, suite, pk_r, info, rng, psk=psk, psk_id=psk_id)


def setup_psk_r(
    suite: Suite, enc: bytes, sk_r: RecipientKey, info: bytes, psk: bytes, psk_id: bytes
) -> RecipientContext:
    """Spec §3.8, RFC 9180 §5.1.2: ``SetupPSKR(enc, skR, info, psk, psk_id)``.

    ::

        def SetupPSKR(enc, skR, info, psk, psk_id):
          shared_secret = Decap(enc, skR)
          return KeyScheduleR(mode_psk, shared_secret, info, psk, psk_id)
    """
    return _setup_r(Mode.PSK, suite, enc, sk_r, info, psk=psk, psk_id=psk_id)


def setup_auth_s(
    suite: Suite, pk_r: bytes, info: bytes, sk_s: bytes, *, rng: Rng
) -> tuple[bytes, SenderContext]:
    """Spec §3.8, RFC 9180 §5.1.3: ``SetupAuthS(pkR, info, skS)``.

    ::

        def SetupAuthS(pkR, info, skS):
          shared_secret, enc = AuthEncap(pkR, skS)
          return enc, KeyScheduleS(mode_auth, shared_secret, info,
                                   default_psk, default_psk_id)
    """
    return _setup_s_rng(Mode.AUTH, suite, pk_r, info, rng, sk_s=sk_s)


def setup_auth_r(
    suite: Suite, enc: bytes, sk_r: RecipientKey, info: bytes, pk_s: bytes
) -> RecipientContext:
    """Spec §3.8, RFC 9180 §5.1.3: ``SetupAuthR(enc, skR, info, pkS)``.

    ::

        def SetupAuthR(enc, skR, info, pkS):
          shared_secret = AuthDecap(enc, skR, pkS)
          return KeyScheduleR(mode_auth, shared_secret, info,
                              default_psk, default_psk_id)
    """
    return _setup_r(Mode.AUTH, suite, enc, sk_r, info, pk_s=pk_s)


def setup_auth_psk_s(
    suite: Suite, pk_r: bytes, info: bytes, psk: bytes, psk_id: bytes, sk_s: bytes, *, rng: Rng
) -> tuple[bytes, SenderContext]:
    """Spec §3.8, RFC 9180 §5.1.4: ``SetupAuthPSKS(pkR, info, psk, psk_id, skS)``.

    ::

        def SetupAuthPSKS(pkR, info, psk, psk_id, skS):
          shared_secret, enc = AuthEncap(pkR, skS)
          return enc, KeyScheduleS(mode_auth_psk, shared_secret, info,
                                   psk, psk_id)
    """
    return _setup_s_rng(Mode.AUTH_PSK, suite, pk_r, info, rng, psk=psk, psk_id=psk_id, sk_s=sk_s)


def setup_auth_psk_r(
    suite: Suite,
    enc: bytes,
    sk_r: RecipientKey,
    info: bytes,
    psk: bytes,
    psk_id: bytes,
    pk_s: bytes,
) -> RecipientContext:
    """Spec §3.8, RFC 9180 §5.1.4: ``SetupAuthPSKR(enc, skR, info, psk, psk_id, pkS)``.

    ::

        def SetupAuthPSKR(enc, skR, info, psk, psk_id, pkS):
          shared_secret = AuthDecap(enc, skR, pkS)
          return KeyScheduleR(mode_auth_psk, shared_secret, info,
                              psk, psk_id)
    """
    return _setup_r(Mode.AUTH_PSK, suite, enc, sk_r, info, psk=psk, psk_id=psk_id, pk_s=pk_s)


# --- single-shot APIs (RFC 9180 §6.1) ------------------------------------------------------------
#
#     def Seal<MODE>(pkR, info, aad, pt, ...):
#       enc, ctx = Setup<MODE>S(pkR, info, ...)
#       ct = ctx.Seal(aad, pt)
#       return enc, ct
#
#     def Open<MODE>(enc, skR, info, aad, ct, ...):
#       ctx = Setup<MODE>R(enc, skR, info, ...)
#       return ctx.Open(aad, ct)
#
# The export-only suite is refused before any randomness is drawn or key agreement runs.


def _seal_once(suite: Suite, schedule: _Schedule, aad: bytes, pt: bytes) -> bytes:
    """``ContextS.Seal(aad, pt)`` of a fresh context that is then dropped: its ``seq`` is 0, so
    ``ComputeNonce(0)`` is ``base_nonce`` and no sequence limit can be reached."""
    if suite.aead is AeadId.CHACHA20_POLY1305:
        return chacha20_poly1305_seal(schedule.key, schedule.base_nonce, pt, aad)
    return aes_gcm_seal(schedule.key, schedule.base_nonce, pt, aad)


def _open_once(suite: Suite, schedule: _Schedule, aad: bytes, ct: bytes) -> bytes:
    """``ContextR.Open(aad, ct)`` of a fresh context (``seq`` 0, see :func:`_seal_once`)."""
    if suite.aead is AeadId.CHACHA20_POLY1305:
        return chacha20_poly1305_open(schedule.key, schedule.base_nonce, ct, aad)
    return aes_gcm_open(schedule.key, schedule.base_nonce, ct, aad)


def seal_base(
    suite: Suite, pk_r: bytes, info: bytes, aad: bytes, pt: bytes, *, rng: Rng
) -> tuple[bytes, bytes]:
    """Spec §3.8, RFC 9180 §6.1: ``SealBase(pkR, info, aad, pt)``, returns ``(enc, ct)``."""
    _require_aead(suite)
    enc, schedule = _sender_schedule(Mode.BASE, suite, pk_r, info, rng, b"", b"", None)
    return enc, _seal_once(suite, schedule, aad, pt)


def open_base(
    suite: Suite, enc: bytes, sk_r: RecipientKey, info: bytes, aad: bytes, ct: bytes
) -> bytes:
    """Spec §3.8, RFC 9180 §6.1: ``OpenBase(enc, skR, info, aad, ct)``, returns ``pt``."""
    _require_aead(suite)
    schedule = _recipient_schedule(Mode.BASE, suite, enc, sk_r, info, b"", b"", None)
    return _open_once(suite, schedule, aad, ct)


def seal_psk(
    suite: Suite,
    pk_r: bytes,
    info: bytes,
    aad: bytes,
    pt: bytes,
    psk: bytes,
    psk_id: bytes,
    *,
    rng: Rng,
) -> tuple[bytes, bytes]:
    """Spec §3.8, RFC 9180 §6.1: ``SealPSK(pkR, info, aad, pt, psk, psk_id)``."""
    _require_aead(suite)
    enc, schedule = _sender_schedule(Mode.PSK, suite, pk_r, info, rng, psk, psk_id, None)
    return enc, _seal_once(suite, schedule, aad, pt)


def open_psk(
    suite: Suite,
    enc: bytes,
    sk_r: RecipientKey,
    info: bytes,
    aad: bytes,
    ct: bytes,
    psk: bytes,
    psk_id: bytes,
) -> bytes:
    """Spec §3.8, RFC 9180 §6.1: ``OpenPSK(enc, skR, info, aad, ct, psk, psk_id)``."""
    _require_aead(suite)
    schedule = _recipient_schedule(Mode.PSK, suite, enc, sk_r, info, psk, psk_id, None)
    return _open_once(suite, schedule, aad, ct)


def seal_auth(
    suite: Suite, pk_r: bytes, info: bytes, aad: bytes, pt: bytes, sk_s: bytes, *, rng: Rng
) -> tuple[bytes, bytes]:
    """Spec §3.8, RFC 9180 §6.1: ``SealAuth(pkR, info, aad, pt, skS)``, returns ``(enc, ct)``."""
    _require_aead(suite)
    enc, schedule = _sender_schedule(Mode.AUTH, suite, pk_r, info, rng, b"", b"", sk_s)
    return enc, _seal_once(suite, schedule, aad, pt)


def open_auth(
    suite: Suite, enc: bytes, sk_r: RecipientKey, info: bytes, aad: bytes, ct: bytes, pk_s: bytes
) -> bytes:
    """Spec §3.8, RFC 9180 §6.1: ``OpenAuth(enc, skR, info, aad, ct, pkS)``, returns ``pt``."""
    _require_aead(suite)
    schedule = _recipient_schedule(Mode.AUTH, suite, enc, sk_r, info, b"", b"", pk_s)
    return _open_once(suite, schedule, aad, ct)


def seal_auth_psk(
    suite: Suite,
    pk_r: bytes,
    info: bytes,
    aad: bytes,
    pt: bytes,
    psk: bytes,
    psk_id: bytes,
    sk_s: bytes,
    *,
    rng: Rng,
) -> tuple[bytes, bytes]:
    """Spec §3.8, RFC 9180 §6.1: ``SealAuthPSK(pkR, info, aad, pt, psk, psk_id, skS)``."""
    _require_aead(suite)
    enc, schedule = _sender_schedule(Mode.AUTH_PSK, suite, pk_r, info, rng, psk, psk_id, sk_s)
    return enc, _seal_once(suite, schedule, aad, pt)


def open_auth_psk(
    suite: Suite,
    enc: bytes,
    sk_r: RecipientKey,
    info: bytes,
    aad: bytes,
    ct: bytes,
    psk: bytes,
    psk_id: bytes,
    pk_s: bytes,
) -> bytes:
    """Spec §3.8, RFC 9180 §6.1: ``OpenAuthPSK(enc, skR, info, aad, ct, psk, psk_id, pkS)``."""
    _require_aead(suite)
    schedule = _recipient_schedule(Mode.AUTH_PSK, suite, enc, sk_r, info, psk, psk_id, pk_s)
    return _open_once(suite, schedule, aad, ct)
