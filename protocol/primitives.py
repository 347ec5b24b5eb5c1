"""Spec §3: cryptographic primitives — the only module that imports cryptography libraries.

Everything above this module works on ``bytes`` and calls the functions here, so that the set of
algorithms, their parameters and their failure behaviour are decided in one place:

* X25519 (RFC 7748). Public keys are 32 bytes; bit 255 of a received u-coordinate is masked as
  RFC 7748 requires. A shared secret of all zeros (the peer's key has small order) raises
  ``DecodeError("decode.low_order")``: the input was not a usable public key.
* Ed25519 (RFC 8032), **strict verification** (spec §3.3): a signature is accepted only if
  ``S < L``, ``A`` and ``R`` are canonical encodings of points not of small order, and the
  cofactorless equation ``[S]B = R + [k]A`` holds. This is libsodium's
  ``crypto_sign_verify_detached`` policy, also that of ed25519-dalek's ``verify_strict``.
  Signing uses pyca/cryptography; verification uses libsodium through PyNaCl.
* HKDF-SHA256 (RFC 5869) and HMAC-SHA256 (RFC 2104); tags are compared in constant time.
* AEADs: ChaCha20-Poly1305 (RFC 8439), AES-GCM with 128- or 256-bit keys (SP 800-38D, 96-bit
  nonces only), XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha, libsodium). Every failure to open
  is ``AuthenticationError("auth.failed")``.
* ML-KEM-768 (FIPS 203). Decapsulation keys are kept as their 64-byte seed ``d || z``; encapsulation
  keys are checked (length and the §7.2 modulus check) before use, else ``decode.bad_key``.
  pyca/cryptography draws the encapsulation randomness itself, so encapsulation is not
  reproducible: vectors record the ciphertext and the shared secret instead.
* ristretto255 (RFC 9496) through rbcl (libsodium, constant time): :class:`Element` and
  :class:`Scalar` validate their encodings on construction.

Randomness is never drawn here from a global source: functions that need it take
``rng: Rng``, a callable returning exactly the number of bytes asked for. :func:`system_rng` is
the operating system's generator, for the edges of the program (CLI, demo) to pass in.

Python cannot wipe memory: secret ``bytes`` objects live until the garbage collector frees them.
"""

from __future__ import annotations

import hashlib
import hmac as _hmac
import os
from collections.abc import Callable
from typing import Any, Final

import nacl.bindings as _sodium
import nacl.exceptions as _nacl_exc
import rbcl as _rbcl
from cryptography.exceptions import InvalidSignature as _InvalidSignature
from cryptography.exceptions import InvalidTag as _InvalidTag
from cryptography.hazmat.primitives.asymmetric import ed25519 as _ed25519
from cryptography.hazmat.primitives.asymmetric import mlkem as _mlkem
from cryptography.hazmat.primitives.ciphers import Cipher as _Cipher
from cryptography.hazmat.primitives.ciphers import aead as _aead
from cryptography.hazmat.primitives.ciphers import algorithms as _algorithms
from cryptography.hazmat.primitives.ciphers import modes as _modes
from nacl._sodium import ffi as _sodium_ffi
from nacl._sodium import lib as _sodium_lib

from .errors import AuthenticationError, DecodeError, UsageError

__all__ = [
    "AEAD_TAG_SIZE",
    "AES_GCM_NONCE_SIZE",
    "CHACHA20_POLY1305_NONCE_SIZE",
    "ED25519_PUBLIC_KEY_SIZE",
    "ED25519_SEED_SIZE",
    "ED25519_SIGNATURE_SIZE",
    "HASH_SIZE",
    "MLKEM768_CIPHERTEXT_SIZE",
    "MLKEM768_PUBLIC_KEY_SIZE",
    "MLKEM768_SEED_SIZE",
    "MLKEM768_SHARED_SECRET_SIZE",
    "RISTRETTO255_ELEMENT_SIZE",
    "RISTRETTO255_ORDER",
    "RISTRETTO255_SCALAR_SIZE",
    "X25519_KEY_SIZE",
    "XCHACHA20_POLY1305_NONCE_SIZE",
    "Aes256Block",
    "ChaCha20Poly1305Key",
    "Ed25519KeyPair",
    "Element",
    "MlKem768KeyPair",
    "Rng",
    "Scalar",
    "X25519KeyPair",
    "aes_gcm_open",
    "aes_gcm_seal",
    "chacha20_poly1305_open",
    "chacha20_poly1305_open_single_use",
    "chacha20_poly1305_seal",
    "chacha20_poly1305_seal_single_use",
    "ct_equal",
    "ed25519_public_key",
    "ed25519_sign",
    "ed25519_verify",
    "ed25519_verify_lenient",
    "hkdf",
    "hkdf_expand",
    "hkdf_extract",
    "hmac_sha256",
    "hmac_sha256_pair",
    "hmac_sha256_verify",
    "labeled_expand",
    "labeled_kdf",
    "labeled_kdf_keys3",
    "mlkem768_check_public_key",
    "mlkem768_decapsulate",
    "mlkem768_encapsulate",
    "mlkem768_public_key",
    "random_bytes",
    "ristretto255_schnorr_check",
    "sha256",
    "sha512",
    "system_rng",
    "x25519",
    "x25519_public_key",
    "xchacha20_poly1305_open",
    "xchacha20_poly1305_seal",
]

#: A source of randomness: ``rng(n)`` returns exactly ``n`` bytes.
Rng = Callable[[int], bytes]

HASH_SIZE: Final = 32
X25519_KEY_SIZE: Final = 32
ED25519_SEED_SIZE: Final = 32
ED25519_PUBLIC_KEY_SIZE: Final = 32
ED25519_SIGNATURE_SIZE: Final = 64
AEAD_TAG_SIZE: Final = 16
CHACHA20_POLY1305_NONCE_SIZE: Final = 12
AES_GCM_NONCE_SIZE: Final = 12
XCHACHA20_POLY1305_NONCE_SIZE: Final = 24
MLKEM768_SEED_SIZE: Final = 64
MLKEM768_PUBLIC_KEY_SIZE: Final = 1184
MLKEM768_CIPHERTEXT_SIZE: Final = 1088
MLKEM768_SHARED_SECRET_SIZE: Final = 32
RISTRETTO255_ELEMENT_SIZE: Final = 32
RISTRETTO255_SCALAR_SIZE: Final = 32
#: RFC 5869: HKDF-Expand output is at most 255 hash lengths.
_HKDF_MAX_OUTPUT: Final = 255 * HASH_SIZE
#: The order of the ristretto255 group (RFC 9496 §4.1).
RISTRETTO255_ORDER: Final = 2**252 + 27742317777372353535851937790883648493

_ZERO32: Final = bytes(32)


#: The byte-string types an argument may have (a tuple: ``isinstance`` with a ``X | Y`` union
#: builds the union at every call, three times slower).
_BYTES_LIKE: Final = (bytes, bytearray, memoryview)


def _require_len(name: str, value: bytes, size: int) -> None:
    if (type(value) is not bytes and not isinstance(value, _BYTES_LIKE)) or len(value) != size:
        raise UsageError("usage.bad_argument", f"{name} must be {size} bytes")


def system_rng(n: int) -> bytes:
    """The operating system's CSPRNG, for callers at the edge to pass as ``rng``."""
    return os.urandom(n)


def random_bytes(rng: Rng, n: int) -> bytes:
    """Spec §3.1: draw ``n`` bytes from an injected ``rng``, checking that it honoured the size."""
    out = rng(n)
    if not isinstance(out, bytes) or len(out) != n:
        raise UsageError("usage.rng", f"rng returned the wrong number of bytes (wanted {n})")
    return out


def ct_equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison of two byte strings (timing depends on lengths only)."""
    return _hmac.compare_digest(a, b)


# --- hashes, HMAC, HKDF (spec §3.2) ------------------------------------------------------------


def sha256(data: bytes) -> bytes:
    """SHA-256 (FIPS 180-4)."""
    return hashlib.sha256(data).digest()


def sha512(data: bytes) -> bytes:
    """SHA-512 (FIPS 180-4)."""
    return hashlib.sha512(data).digest()


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104), full 32-byte tag."""
    return _hmac.digest(key, data, "sha256")


#: RFC 2104 inner and outer pads as translation tables: ``block.translate(_IPAD)`` is
#: ``block XOR 0x36..36`` without a Python-level loop.
_IPAD: Final = bytes(b ^ 0x36 for b in range(256))
_OPAD: Final = bytes(b ^ 0x5C for b in range(256))
_SHA256_BLOCK: Final = 64
_ZERO_BLOCK: Final = bytes(_SHA256_BLOCK)


def hmac_sha256_pair(key: bytes, first: bytes, second: bytes) -> tuple[bytes, bytes]:
    """``(HMAC-SHA256(key, first), HMAC-SHA256(key, second))`` (RFC 2104), over hashlib.

    Same output as two :func:`hmac_sha256` calls, about twice as fast: the padded keys are
    built once and no OpenSSL HMAC context is set up per call (``hmac.digest`` costs ~2.5 µs
    under OpenSSL 3, two SHA-256 calls ~1 µs). This is KDF_CK of the ratchet (spec §7.2),
    which runs once per message on each side.
    """
    if len(key) == HASH_SIZE:  # a chain key: the common case
        block = key + _ZERO32
    else:
        if len(key) > _SHA256_BLOCK:
            key = hashlib.sha256(key).digest()
        block = key + _ZERO_BLOCK[len(key) :]
    # The padded-key blocks are hashed once and the two states copied: 6 compressions, not 8.
    inner = hashlib.sha256(block.translate(_IPAD))
    outer = hashlib.sha256(block.translate(_OPAD))
    inner2 = inner.copy()
    outer2 = outer.copy()
    inner.update(first)
    inner2.update(second)
    outer.update(inner.digest())
    outer2.update(inner2.digest())
    return outer.digest(), outer2.digest()


def hmac_sha256_verify(key: bytes, data: bytes, tag: bytes) -> None:
    """Spec §3.2: check an HMAC-SHA256 tag (16 to 32 bytes, truncated) in constant time."""
    if not 16 <= len(tag) <= HASH_SIZE:
        raise AuthenticationError()
    if not _hmac.compare_digest(_hmac.digest(key, data, "sha256")[: len(tag)], tag):
        raise AuthenticationError()


#: HMAC-SHA256 states after the padded all-zero key: HKDF-Extract with an empty salt (§3.2).
_ZERO_SALT_INNER: Final = hashlib.sha256(_ZERO_BLOCK.translate(_IPAD))
_ZERO_SALT_OUTER: Final = hashlib.sha256(_ZERO_BLOCK.translate(_OPAD))


def labeled_kdf_keys3(
    label: bytes, ikm: bytes, salt: bytes, context: bytes
) -> tuple[bytes, bytes, bytes]:
    """``labeled_kdf(label, ikm, salt, context, 96)`` split into three 32-byte keys.

    KDF_RK of the ratchet (spec §7.2) runs twice per DH ratchet step, and the handshake's KDF
    (§6.4) once on each side. For a 32-byte or empty salt, Extract is :func:`hkdf_extract`
    and Expand is written out here: it hashes the padded PRK blocks once and copies the states,
    and nothing is joined or sliced (~4.3 µs, against ~7.8 µs for :func:`labeled_kdf`). Any
    other salt, and every argument error, takes :func:`labeled_kdf`.
    """
    if b"\x00" in label or not label or (salt and len(salt) != HASH_SIZE):
        okm = labeled_kdf(label, ikm, salt, context, 3 * HASH_SIZE)
        return okm[:32], okm[32:64], okm[64:]
    sha = hashlib.sha256
    prk = hkdf_extract(salt, ikm)
    block = prk + _ZERO32
    inner = sha(block.translate(_IPAD))
    outer = sha(block.translate(_OPAD))
    info = label + b"\x00" + context
    step = inner.copy()
    step.update(info + b"\x01")
    finish = outer.copy()
    finish.update(step.digest())
    t1 = finish.digest()
    step = inner.copy()
    step.update(t1 + info + b"\x02")
    finish = outer.copy()
    finish.update(step.digest())
    t2 = finish.digest()
    inner.update(t2 + info + b"\x03")
    outer.update(inner.digest())
    return t1, t2, outer.digest()


def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """RFC 2104: the key XOR ipad and XOR opad blocks (a key longer than 64 bytes is hashed)."""
    if len(key) > _SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    block = key + _ZERO_BLOCK[len(key) :]
    return block.translate(_IPAD), block.translate(_OPAD)


#: How many :meth:`Aes256Block.counter_block` calls go through ``AESGCM`` before an ECB
#: context is set up (the ECB set-up pays for itself after about ten more blocks).
_GCM_CALLS: Final = 4
#: The block counter of AES-GCM's first keystream block for a 96-bit IV (SP 800-38D §7.1).
_GCM_FIRST_COUNTER: Final = b"\x00\x00\x00\x02"
_ZERO16: Final = bytes(16)

_COUNTER_1: Final = b"\x01"
_COUNTER_2: Final = b"\x02"


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract with SHA-256 (RFC 5869 §2.2); an empty salt means 32 zero bytes.

    HMAC over hashlib (see :func:`hmac_sha256_pair`): same output as ``hmac.digest``, twice as
    fast under OpenSSL 3.
    """
    if not salt:  # from the precomputed states of the padded empty salt: 2 compressions fewer
        inner_state = _ZERO_SALT_INNER.copy()
        inner_state.update(ikm)
        outer_state = _ZERO_SALT_OUTER.copy()
        outer_state.update(inner_state.digest())
        return outer_state.digest()
    inner, outer = _hmac_pads(salt)
    sha = hashlib.sha256
    return sha(outer + sha(inner + ikm).digest()).digest()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 §2.3 for a checked ``length`` and PRK: ``T(1) || T(2) || ...`` truncated.

    The first two blocks are unrolled (every KDF of the protocol asks for 32 to 96 bytes).
    """
    inner, outer = _hmac_pads(prk)
    sha = hashlib.sha256
    block = sha(outer + sha(inner + info + _COUNTER_1).digest()).digest()
    if length <= HASH_SIZE:
        return block if length == HASH_SIZE else block[:length]
    second = sha(outer + sha(inner + block + info + _COUNTER_2).digest()).digest()
    blocks = [block, second]
    block = second
    counter = 3
    produced = 2 * HASH_SIZE
    while produced < length:
        block = sha(outer + sha(inner + block + info + bytes((counter,))).digest()).digest()
        blocks.append(block)
        produced += HASH_SIZE
        counter += 1
    out = b"".join(blocks)
    return out if produced == length else out[:length]


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand with SHA-256 (RFC 5869 §2.3); ``length`` at most 8160 bytes.

    One block of a 32-byte PRK (HPKE's ``sk`` and ``shared_secret``, spec §3.8) is written
    out, as in :func:`labeled_expand`: ``T(1) = HMAC(prk, info || 0x01)``.
    """
    if length == HASH_SIZE and type(prk) is bytes and len(prk) == HASH_SIZE:
        block = prk + _ZERO32
        sha = hashlib.sha256
        inner = sha(block.translate(_IPAD) + info + _COUNTER_1).digest()
        return sha(block.translate(_OPAD) + inner).digest()
    if not 0 <= length <= _HKDF_MAX_OUTPUT:
        raise UsageError("usage.bad_argument", "HKDF output length out of range")
    if len(prk) < HASH_SIZE:
        raise UsageError("usage.bad_argument", "HKDF PRK shorter than the hash length")
    return _expand(prk, info, length) if length else b""


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA256 (RFC 5869): Expand(Extract(salt, ikm), info, length)."""
    return hkdf_expand(hkdf_extract(salt, ikm), info, length)


def labeled_expand(label: bytes, prk: bytes, context: bytes, length: int) -> bytes:
    """Spec §3.2: ``KDF_EXPAND(label, prk, context, L) = HKDF-Expand(prk, label || 0x00 ||
    context, L)``, for a ``prk`` that is already a uniformly random 32-byte key.

    RFC 5869 §3.3 allows skipping Extract for such keys. Same checks as :func:`labeled_kdf`.
    """
    if b"\x00" in label or not label:
        raise UsageError("usage.bad_argument", "a label is non-empty ASCII without NUL")
    if len(prk) != HASH_SIZE:
        raise UsageError("usage.bad_argument", "a KDF_EXPAND key is 32 bytes")
    if length == HASH_SIZE:  # one block, written out: the ratchet's TK (spec §7.2)
        block = prk + _ZERO32
        sha = hashlib.sha256
        inner = sha(block.translate(_IPAD) + label + b"\x00" + context + b"\x01").digest()
        return sha(block.translate(_OPAD) + inner).digest()
    if not 0 <= length <= _HKDF_MAX_OUTPUT:
        raise UsageError("usage.bad_argument", "HKDF output length out of range")
    return _expand(prk, label + b"\x00" + context, length) if length else b""


def labeled_kdf(label: bytes, ikm: bytes, salt: bytes, context: bytes, length: int) -> bytes:
    """Spec §3.2: HKDF-SHA256 with ``info = label || 0x00 || context``.

    Every label is ASCII without NUL (spec §1.3), so the zero byte makes ``info`` prefix-free:
    no (label, context) pair can collide with another label's.
    """
    if b"\x00" in label or not label:
        raise UsageError("usage.bad_argument", "a label is non-empty ASCII without NUL")
    if not 0 < length <= _HKDF_MAX_OUTPUT:
        return hkdf_expand(hkdf_extract(salt, ikm), label + b"\x00" + context, length)
    # The PRK of Extract is one SHA-256 output, so Expand's PRK checks hold by construction.
    return _expand(hkdf_extract(salt, ikm), label + b"\x00" + context, length)


# --- AEADs (spec §3.4) --------------------------------------------------------------------------


#: Up to this many bytes of input (plaintext or ciphertext, plus associated data), a one-shot
#: ChaCha20-Poly1305 goes through libsodium, which needs no key object (~1.8 µs for 100 B with
#: 300 B of associated data, against ~2.5 µs for pyca/cryptography's key set-up and call);
#: above it, OpenSSL's vectorised code is faster. Same output either way (RFC 8439).
_SODIUM_AEAD_MAX: Final = 640


_sodium_new: Final = _sodium_ffi.new
_SODIUM_BYTES: Final = _sodium_ffi.typeof("unsigned char[]")
_sodium_buffer: Final = _sodium_ffi.buffer
_SODIUM_NULL: Final = _sodium_ffi.NULL
_sodium_chacha_encrypt: Final = _sodium_lib.crypto_aead_chacha20poly1305_ietf_encrypt
_sodium_chacha_decrypt: Final = _sodium_lib.crypto_aead_chacha20poly1305_ietf_decrypt
_sodium_scalarmult: Final = _sodium_lib.crypto_scalarmult
#: libsodium's strict Ed25519 verification (spec §3.3), called through cffi.
_sodium_sign_open: Final = _sodium_lib.crypto_sign_open
_sodium_scalarmult_base: Final = _sodium_lib.crypto_scalarmult_base


def _sodium_chacha20_poly1305_seal(
    key: bytes, nonce: bytes, plaintext: bytes, aad: bytes
) -> bytes:
    """libsodium ``crypto_aead_chacha20poly1305_ietf_encrypt``; the caller checked that
    ``key`` (32), ``nonce`` (12), ``plaintext`` and ``aad`` are ``bytes``."""
    size = len(plaintext)
    out = _sodium_new(_SODIUM_BYTES, size + AEAD_TAG_SIZE)
    if _sodium_chacha_encrypt(
        out, _SODIUM_NULL, plaintext, size, aad, len(aad), _SODIUM_NULL, nonce, key
    ):  # pragma: no cover - only for inputs far above _SODIUM_AEAD_MAX
        raise UsageError("usage.bad_argument", "ChaCha20-Poly1305 input too long")
    sealed: bytes = _sodium_buffer(out)[:]
    return sealed


def _sodium_chacha20_poly1305_open(
    key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes
) -> bytes:
    """libsodium ``crypto_aead_chacha20poly1305_ietf_decrypt`` (tag checked in constant
    time); the caller checked the types and lengths as for the seal."""
    size = len(ciphertext) - AEAD_TAG_SIZE
    if size < 0:
        raise AuthenticationError()
    out = _sodium_new(_SODIUM_BYTES, size or 1)
    if _sodium_chacha_decrypt(
        out, _SODIUM_NULL, _SODIUM_NULL, ciphertext, size + AEAD_TAG_SIZE, aad, len(aad), nonce, key
    ):
        raise AuthenticationError()
    opened: bytes = _sodium_buffer(out, size)[:]
    return opened


def _sodium_fits(key: object, data: object, aad: object) -> bool:
    """Whether a one-shot call may take the libsodium path: ``bytes`` of the right sizes."""
    return (
        type(key) is bytes
        and len(key) == 32
        and type(data) is bytes
        and type(aad) is bytes
        and len(data) + len(aad) <= _SODIUM_AEAD_MAX
    )


def chacha20_poly1305_seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """ChaCha20-Poly1305 (RFC 8439): returns ``ciphertext || tag``."""
    if _sodium_fits(key, plaintext, aad) and type(nonce) is bytes and len(nonce) == 12:
        return _sodium_chacha20_poly1305_seal(key, nonce, plaintext, aad)
    _require_len("key", key, 32)
    _require_len("nonce", nonce, CHACHA20_POLY1305_NONCE_SIZE)
    return _aead.ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)


def chacha20_poly1305_open(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    """ChaCha20-Poly1305 (RFC 8439) open; any failure is ``auth.failed``."""
    if _sodium_fits(key, ciphertext, aad) and type(nonce) is bytes and len(nonce) == 12:
        return _sodium_chacha20_poly1305_open(key, nonce, ciphertext, aad)
    _require_len("key", key, 32)
    _require_len("nonce", nonce, CHACHA20_POLY1305_NONCE_SIZE)
    try:
        return _aead.ChaCha20Poly1305(key).decrypt(nonce, ciphertext, aad)
    except _InvalidTag:
        raise AuthenticationError() from None


def _aes_gcm(key: bytes, nonce: bytes) -> _aead.AESGCM:
    if len(key) not in (16, 32):
        raise UsageError("usage.bad_argument", "AES-GCM key must be 16 or 32 bytes")
    _require_len("nonce", nonce, AES_GCM_NONCE_SIZE)
    return _aead.AESGCM(key)


def aes_gcm_seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-GCM (SP 800-38D) with a 16- or 32-byte key and a 96-bit nonce; ``ct || tag``."""
    return _aes_gcm(key, nonce).encrypt(nonce, plaintext, aad)


def aes_gcm_open(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    """AES-GCM open; any failure is ``auth.failed``."""
    cipher = _aes_gcm(key, nonce)
    try:
        return cipher.decrypt(nonce, ciphertext, aad)
    except _InvalidTag:
        raise AuthenticationError() from None


def xchacha20_poly1305_seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha, libsodium): returns ``ct || tag``."""
    _require_len("key", key, 32)
    _require_len("nonce", nonce, XCHACHA20_POLY1305_NONCE_SIZE)
    out: bytes = _sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, aad, nonce, key)
    return out


def xchacha20_poly1305_open(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    """XChaCha20-Poly1305 open; any failure is ``auth.failed``."""
    _require_len("key", key, 32)
    _require_len("nonce", nonce, XCHACHA20_POLY1305_NONCE_SIZE)
    if len(ciphertext) < AEAD_TAG_SIZE:
        raise AuthenticationError()
    try:
        out: bytes = _sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, aad, nonce, key)
    except _nacl_exc.CryptoError:
        raise AuthenticationError() from None
    return out


_ZERO_NONCE: Final = bytes(CHACHA20_POLY1305_NONCE_SIZE)


def chacha20_poly1305_seal_single_use(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """ChaCha20-Poly1305 under a key used for exactly one message, with the all-zero nonce.

    The caller guarantees that ``key`` never encrypts anything else (a ratchet message key,
    spec §7.3), which makes a fixed nonce safe. Returns ``ciphertext || tag``.
    """
    if (
        len(plaintext) + len(aad) <= _SODIUM_AEAD_MAX
        and type(key) is bytes
        and len(key) == 32
        and type(plaintext) is bytes
        and type(aad) is bytes
    ):
        return _sodium_chacha20_poly1305_seal(key, _ZERO_NONCE, plaintext, aad)
    try:
        return _aead.ChaCha20Poly1305(key).encrypt(_ZERO_NONCE, plaintext, aad)
    except (ValueError, TypeError):
        raise UsageError("usage.bad_argument", "key must be 32 bytes") from None


def chacha20_poly1305_open_single_use(
    key: bytes, ciphertext: bytes | memoryview, aad: bytes
) -> bytes:
    """Open :func:`chacha20_poly1305_seal_single_use`; any failure is ``auth.failed``.

    ``ciphertext`` may be any bytes-like object (a ``memoryview`` avoids a copy).
    """
    if (
        len(ciphertext) + len(aad) <= _SODIUM_AEAD_MAX
        and type(key) is bytes
        and len(key) == 32
        and type(ciphertext) is bytes
        and type(aad) is bytes
    ):
        return _sodium_chacha20_poly1305_open(key, _ZERO_NONCE, ciphertext, aad)
    try:
        aead = _aead.ChaCha20Poly1305(key)
    except (ValueError, TypeError):
        raise UsageError("usage.bad_argument", "key must be 32 bytes") from None
    try:
        return aead.decrypt(_ZERO_NONCE, ciphertext, aad)
    except _InvalidTag:
        raise AuthenticationError() from None


class ChaCha20Poly1305Key:
    """Spec §3.4: a ChaCha20-Poly1305 key held for repeated use (the key is set up once).

    For keys that protect many messages with distinct nonces (ratchet header keys, spec §7.3).
    Redacted, unpicklable, not copyable.
    """

    __slots__ = ("_aead",)
    _aead: _aead.ChaCha20Poly1305

    def __init__(self, key: bytes) -> None:
        _require_len("key", key, 32)
        self._aead = _aead.ChaCha20Poly1305(bytes(key))

    def seal(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """``ciphertext || tag`` of ``plaintext`` under the 12-byte ``nonce``."""
        if len(nonce) != CHACHA20_POLY1305_NONCE_SIZE:
            raise UsageError("usage.bad_argument", "nonce must be 12 bytes")
        return self._aead.encrypt(nonce, plaintext, aad)

    def open(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """The plaintext of ``ciphertext || tag``; any failure is ``auth.failed``."""
        if len(nonce) != CHACHA20_POLY1305_NONCE_SIZE:
            raise UsageError("usage.bad_argument", "nonce must be 12 bytes")
        try:
            return self._aead.decrypt(nonce, ciphertext, aad)
        except _InvalidTag:
            raise AuthenticationError() from None

    def __repr__(self) -> str:
        return "ChaCha20Poly1305Key(<redacted>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("keys cannot be pickled; export them explicitly")

    def __copy__(self) -> ChaCha20Poly1305Key:
        raise TypeError("keys cannot be copied")

    def __deepcopy__(self, memo: object) -> ChaCha20Poly1305Key:
        raise TypeError("keys cannot be copied")


class Aes256Block:
    """AES-256 (FIPS 197) as a keyed pseudorandom permutation of one 16-byte block.

    The ratchet's per-message tags (spec §7.5) are :meth:`counter_block` images; being a
    permutation, distinct blocks give distinct tags, and the key holder can invert a tag with
    :meth:`decrypt`. Redacted, unpicklable, not copyable.

    Cost model: a pyca/cryptography ECB context takes ~5 µs to set up and ~0.2 µs per block
    after that; an ``AESGCM`` object ~1.2 µs to set up and ~0.7 µs per call. A ratchet chain
    often carries a single message (every message when the direction alternates), so
    :meth:`counter_block` uses ``AESGCM`` for its first :data:`_GCM_CALLS` calls and an ECB
    context from then on; :meth:`encrypt` and :meth:`decrypt` set up their ECB context on first
    use. All paths compute the same permutation (tests compare them with plain ECB).
    """

    __slots__ = ("_calls", "_decryptor", "_encryptor", "_gcm", "_key")

    def __init__(self, key: bytes) -> None:
        _require_len("key", key, 32)
        self._key = bytes(key)
        self._gcm: _aead.AESGCM | None = None
        self._calls = 0
        # ECB over exactly one block at a time: the contexts never hold buffered input.
        self._encryptor: Any = None
        self._decryptor: Any = None

    def counter_block(self, nonce: bytes) -> bytes:
        """``AES-256-Encrypt(key, nonce || u32be(2))`` for a 12-byte ``nonce``.

        This is the first keystream block of AES-GCM (SP 800-38D) with the 96-bit IV
        ``nonce``, so any AES-GCM API computes it: the first 16 bytes of the encryption of 16
        zero bytes.
        """
        if len(nonce) != AES_GCM_NONCE_SIZE:
            raise UsageError("usage.bad_argument", "nonce must be 12 bytes")
        context = self._encryptor
        if context is not None:
            out: bytes = context.update(nonce + _GCM_FIRST_COUNTER)
            return out
        calls = self._calls
        if calls >= _GCM_CALLS:
            return self.encrypt(nonce + _GCM_FIRST_COUNTER)
        self._calls = calls + 1
        gcm = self._gcm
        if gcm is None:
            gcm = self._gcm = _aead.AESGCM(self._key)
        return gcm.encrypt(nonce, _ZERO16, None)[:16]

    def encrypt(self, block: bytes) -> bytes:
        """AES-256-Encrypt of one 16-byte block."""
        if len(block) != 16:
            raise UsageError("usage.bad_argument", "block must be 16 bytes")
        context = self._encryptor
        if context is None:
            cipher = _Cipher(_algorithms.AES(self._key), _modes.ECB())
            context = self._encryptor = cipher.encryptor()
        out: bytes = context.update(block)
        return out

    def decrypt(self, block: bytes) -> bytes:
        """AES-256-Decrypt of one 16-byte block."""
        if len(block) != 16:
            raise UsageError("usage.bad_argument", "block must be 16 bytes")
        context = self._decryptor
        if context is None:
            cipher = _Cipher(_algorithms.AES(self._key), _modes.ECB())
            context = self._decryptor = cipher.decryptor()
        out: bytes = context.update(block)
        return out

    def __repr__(self) -> str:
        return "Aes256Block(<redacted>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("keys cannot be pickled; export them explicitly")

    def __copy__(self) -> Aes256Block:
        raise TypeError("keys cannot be copied")

    def __deepcopy__(self, memo: object) -> Aes256Block:
        raise TypeError("keys cannot be copied")


# --- X25519 (spec §3.5) -------------------------------------------------------------------------


def x25519_public_key(private_key: bytes) -> bytes:
    """X25519 public key of a 32-byte private key (clamped as RFC 7748 §5 requires)."""
    return X25519KeyPair(private_key).public_key


def x25519(private_key: bytes, public_key: bytes) -> bytes:
    """Spec §3.5: X25519(sk, pk); an all-zero result raises ``decode.low_order``.

    One-shot form of :meth:`X25519KeyPair.exchange` (libsodium): it does not compute the
    public key, so it costs exactly one variable-base scalar multiplication.
    """
    _require_len("private key", private_key, X25519_KEY_SIZE)
    return _x25519(bytes(private_key), public_key)


def _x25519(private_key: bytes, public_key: object) -> bytes:
    """X25519 of a checked 32-byte private key with a peer key checked here (spec §3.5)."""
    if not isinstance(public_key, bytes) or len(public_key) != X25519_KEY_SIZE:
        raise DecodeError("decode.length", "X25519 public key must be 32 bytes")
    out = _sodium_new(_SODIUM_BYTES, X25519_KEY_SIZE)
    # libsodium's crypto_scalarmult clamps, masks bit 255 and returns -1 for an all-zero
    # result (a small-order point); called through cffi directly, as PyNaCl's wrapper would
    if _sodium_scalarmult(out, private_key, public_key):
        raise DecodeError("decode.low_order", "X25519 public key of small order")
    shared: bytes = _sodium_buffer(out)[:]
    if _hmac.compare_digest(shared, _ZERO32):  # pragma: no cover - defence in depth
        raise DecodeError("decode.low_order", "X25519 public key of small order")
    return shared


class _SecretKey:
    """Common behaviour of the cached private-key wrappers: redacted, unpicklable, immutable."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("private keys cannot be pickled; export them explicitly")

    def __copy__(self) -> _SecretKey:
        raise TypeError("private keys cannot be copied")

    def __deepcopy__(self, memo: object) -> _SecretKey:
        raise TypeError("private keys cannot be copied")


class X25519KeyPair(_SecretKey):
    """Spec §3.5: an X25519 private key with its public key, computed once.

    Keys used more than once (identity, prekeys, ratchet keys) keep their public key here, so
    each exchange costs one scalar multiplication. Through libsodium: the public key by the
    fixed-base comb (~20 µs, where parsing a pyca/cryptography private key costs a ~36 µs
    variable-base multiplication), and each exchange by ``crypto_scalarmult``, which clamps the
    scalar and masks bit 255 of the peer key as RFC 7748 requires (tests compare it with
    pyca/cryptography).
    """

    __slots__ = ("_key", "public_key")
    _key: bytes
    public_key: bytes

    def __init__(self, private_key: bytes) -> None:
        _require_len("private key", private_key, X25519_KEY_SIZE)
        self._key = key = bytes(private_key)
        out = _sodium_new(_SODIUM_BYTES, X25519_KEY_SIZE)
        if _sodium_scalarmult_base(out, key):  # pragma: no cover - a clamped scalar is never 0
            raise UsageError("usage.bad_argument", "X25519 private key gives no public key")
        self.public_key = _sodium_buffer(out)[:]

    @classmethod
    def generate(cls, rng: Rng) -> X25519KeyPair:
        """A new key pair from 32 bytes of ``rng``."""
        key = random_bytes(rng, X25519_KEY_SIZE)  # checked: bytes of the size
        pair = cls.__new__(cls)
        pair._key = key
        out = _sodium_new(_SODIUM_BYTES, X25519_KEY_SIZE)
        if _sodium_scalarmult_base(out, key):  # pragma: no cover - a clamped scalar is never 0
            raise UsageError("usage.bad_argument", "X25519 private key gives no public key")
        pair.public_key = _sodium_buffer(out)[:]
        return pair

    def private_bytes(self) -> bytes:
        """Explicit export of the 32-byte private key."""
        return self._key

    def exchange(self, public_key: bytes) -> bytes:
        """Spec §3.5: X25519 with a peer key; all-zero result → ``decode.low_order``."""
        return _x25519(self._key, public_key)


class MlKem768KeyPair(_SecretKey):
    """Spec §3.6: an ML-KEM-768 decapsulation key (kept as its seed) parsed once."""

    __slots__ = ("_key", "_seed", "public_key")
    _key: _mlkem.MLKEM768PrivateKey
    _seed: bytes
    public_key: bytes

    def __init__(self, seed: bytes) -> None:
        _require_len("seed", seed, MLKEM768_SEED_SIZE)
        self._seed = bytes(seed)
        self._key = _mlkem.MLKEM768PrivateKey.from_seed_bytes(self._seed)
        self.public_key = self._key.public_key().public_bytes_raw()

    def seed(self) -> bytes:
        """Explicit export of the 64-byte seed ``d || z``."""
        return self._seed

    def decapsulate(self, ciphertext: bytes) -> bytes:
        """ML-KEM-768 Decaps (implicit rejection); a wrong length → ``decode.length``."""
        if not isinstance(ciphertext, bytes) or len(ciphertext) != MLKEM768_CIPHERTEXT_SIZE:
            raise DecodeError("decode.length", "ML-KEM-768 ciphertext must be 1088 bytes")
        return self._key.decapsulate(ciphertext)


class Ed25519KeyPair(_SecretKey):
    """Spec §3.3: an Ed25519 signing key (kept as its seed) parsed once."""

    __slots__ = ("_key", "_seed", "public_key")
    _key: _ed25519.Ed25519PrivateKey
    _seed: bytes
    public_key: bytes

    def __init__(self, seed: bytes) -> None:
        _require_len("seed", seed, ED25519_SEED_SIZE)
        self._seed = bytes(seed)
        self._key = _ed25519.Ed25519PrivateKey.from_private_bytes(self._seed)
        self.public_key = self._key.public_key().public_bytes_raw()

    def seed(self) -> bytes:
        """Explicit export of the 32-byte seed."""
        return self._seed

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature (RFC 8032, deterministic)."""
        return self._key.sign(message)


# --- Ed25519 (spec §3.3) ------------------------------------------------------------------------


def ed25519_public_key(seed: bytes) -> bytes:
    """Ed25519 public key ``A`` of a 32-byte private seed (RFC 8032 §5.1.5)."""
    _require_len("seed", seed, ED25519_SEED_SIZE)
    return _ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    """Ed25519 signature (RFC 8032 §5.1.6, deterministic) by the key with this seed."""
    _require_len("seed", seed, ED25519_SEED_SIZE)
    return _ed25519.Ed25519PrivateKey.from_private_bytes(seed).sign(message)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Spec §3.3: strict Ed25519 verification; any failure is ``auth.failed``.

    Rejects ``S >= L``, non-canonical or small-order ``A`` and ``R``, and uses the cofactorless
    equation (libsodium's ``crypto_sign_open``, i.e. ``crypto_sign_verify_detached``). Wrong
    lengths fail the same way: the caller learns only that the signature did not verify.
    """
    if (
        not isinstance(public_key, bytes)
        or len(public_key) != ED25519_PUBLIC_KEY_SIZE
        or not isinstance(signature, bytes)
        or len(signature) != ED25519_SIGNATURE_SIZE
    ):
        raise AuthenticationError()
    signed = signature + message
    # crypto_sign_open with no output buffer (libsodium skips the copy when m is NULL): the
    # verification of crypto_sign_verify_detached, which PyNaCl's cffi module does not export
    if _sodium_sign_open(_SODIUM_NULL, _SODIUM_NULL, signed, len(signed), public_key):
        raise AuthenticationError()


def ed25519_verify_lenient(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """RFC 8032 verification as OpenSSL does it; for tests that compare the two policies."""
    try:
        _ed25519.Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (_InvalidSignature, ValueError):
        return False
    return True


# --- ML-KEM-768 (spec §3.6) ---------------------------------------------------------------------


def _mlkem_public(public_key: bytes) -> _mlkem.MLKEM768PublicKey:
    if not isinstance(public_key, bytes) or len(public_key) != MLKEM768_PUBLIC_KEY_SIZE:
        raise DecodeError("decode.length", "ML-KEM-768 public key must be 1184 bytes")
    try:
        return _mlkem.MLKEM768PublicKey.from_public_bytes(public_key)
    except ValueError:
        raise DecodeError("decode.bad_key", "ML-KEM-768 key fails the modulus check") from None


def mlkem768_check_public_key(public_key: bytes) -> None:
    """Spec §3.6: FIPS 203 §7.2 input check of an encapsulation key (length and modulus)."""
    _mlkem_public(public_key)


def mlkem768_public_key(seed: bytes) -> bytes:
    """ML-KEM-768 encapsulation key of the decapsulation key with seed ``d || z`` (64 bytes)."""
    _require_len("seed", seed, MLKEM768_SEED_SIZE)
    return _mlkem.MLKEM768PrivateKey.from_seed_bytes(seed).public_key().public_bytes_raw()


def mlkem768_encapsulate(public_key: bytes) -> tuple[bytes, bytes]:
    """ML-KEM-768 Encaps: returns ``(shared_secret, ciphertext)``; randomness is the library's."""
    shared, ciphertext = _mlkem_public(public_key).encapsulate()
    return shared, ciphertext


def mlkem768_decapsulate(seed: bytes, ciphertext: bytes) -> bytes:
    """ML-KEM-768 Decaps with implicit rejection: a wrong ciphertext yields an unrelated key."""
    _require_len("seed", seed, MLKEM768_SEED_SIZE)
    if not isinstance(ciphertext, bytes) or len(ciphertext) != MLKEM768_CIPHERTEXT_SIZE:
        raise DecodeError("decode.length", "ML-KEM-768 ciphertext must be 1088 bytes")
    return _mlkem.MLKEM768PrivateKey.from_seed_bytes(seed).decapsulate(ciphertext)


# --- ristretto255 (spec §3.7) -------------------------------------------------------------------


class Scalar:
    """Spec §3.7: a ristretto255 scalar, canonical (``< L``), little-endian 32 bytes.

    A scalar is often a secret (an OPRF key, a blind): its ``repr`` hides the value and it
    cannot be pickled. ``to_bytes()`` is the explicit export.
    """

    __slots__ = ("_b",)
    _b: bytes

    def __init__(self, encoded: bytes) -> None:
        if not isinstance(encoded, bytes) or len(encoded) != RISTRETTO255_SCALAR_SIZE:
            raise DecodeError("decode.bad_element", "scalar must be 32 bytes")
        if int.from_bytes(encoded, "little") >= RISTRETTO255_ORDER:
            raise DecodeError("decode.bad_element", "scalar is not reduced modulo L")
        object.__setattr__(self, "_b", encoded)

    @classmethod
    def from_wide(cls, wide: bytes) -> Scalar:
        """Reduce 64 bytes (little-endian) modulo L (RFC 9496 §4.4 / RFC 9497 HashToScalar)."""
        _require_len("wide scalar", wide, 64)
        return cls(_rbcl.crypto_core_ristretto255_scalar_reduce(wide))

    @classmethod
    def random(cls, rng: Rng) -> Scalar:
        """A uniformly random non-zero scalar from 64 bytes of ``rng``."""
        while True:
            s = cls.from_wide(random_bytes(rng, 64))
            if not s.is_zero():
                return s

    def to_bytes(self) -> bytes:
        return self._b

    def is_zero(self) -> bool:
        return _hmac.compare_digest(self._b, _ZERO32)

    def invert(self) -> Scalar:
        if self.is_zero():
            raise UsageError("usage.bad_argument", "zero has no inverse")
        return Scalar(_rbcl.crypto_core_ristretto255_scalar_invert(self._b))

    def __add__(self, other: Scalar) -> Scalar:
        return Scalar(_rbcl.crypto_core_ristretto255_scalar_add(self._b, other._b))

    def __sub__(self, other: Scalar) -> Scalar:
        return Scalar(_rbcl.crypto_core_ristretto255_scalar_sub(self._b, other._b))

    def __mul__(self, other: Scalar) -> Scalar:
        return Scalar(_rbcl.crypto_core_ristretto255_scalar_mul(self._b, other._b))

    def __neg__(self) -> Scalar:
        return Scalar(_rbcl.crypto_core_ristretto255_scalar_negate(self._b))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scalar) and _hmac.compare_digest(self._b, other._b)

    def __hash__(self) -> int:
        raise TypeError("scalars are not hashable")

    def __repr__(self) -> str:
        return "Scalar(<redacted>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("secret values cannot be pickled; export them explicitly")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Scalar is immutable")


def ristretto255_schnorr_check(
    public_key: bytes, commitment: bytes, challenge: bytes, response: bytes
) -> None:
    """Spec §10.2: ``response · B == commitment + challenge · public_key`` in ristretto255.

    ``commitment`` must already be a decoded :class:`Element` encoding and ``challenge`` and
    ``response`` reduced scalars (the caller decoded them); ``public_key`` may be anything of 32
    bytes — one that is not a canonical non-identity element fails like a wrong proof. Every
    failure is ``auth.failed``. Public values only: the comparison need not be constant time,
    but is. Three group operations and no decoding of the result, through rbcl directly.
    """
    if (
        len(public_key) != RISTRETTO255_ELEMENT_SIZE
        or public_key[31] & 0x80
        or not _rbcl.crypto_core_ristretto255_is_valid_point(public_key)
        or _hmac.compare_digest(public_key, _ZERO32)
    ):
        raise AuthenticationError()
    try:
        left = _rbcl.crypto_scalarmult_ristretto255_base(response)
        right = _rbcl.crypto_core_ristretto255_add(
            commitment, _rbcl.crypto_scalarmult_ristretto255(challenge, public_key)
        )
    except RuntimeError:  # a zero scalar or an identity result: no valid proof gives either
        raise AuthenticationError() from None
    if not _hmac.compare_digest(left, right):
        raise AuthenticationError()


class Element:
    """Spec §3.7: a ristretto255 group element other than the identity, canonically encoded.

    Decoding rejects non-canonical encodings and the identity with ``decode.bad_element``.
    """

    __slots__ = ("_b",)
    _b: bytes

    def __init__(self, encoded: bytes) -> None:
        if not isinstance(encoded, bytes) or len(encoded) != RISTRETTO255_ELEMENT_SIZE:
            raise DecodeError("decode.bad_element", "element must be 32 bytes")
        # libsodium accepts the identity (all zeros) as a valid point: refuse it here. rbcl's
        # bundled libsodium also ignores bit 255 (RFC 9496 §4.3.1 requires s < p, so the bit
        # must be clear): without the explicit check, x | 2^255 would decode as x, and
        # 00..0080 as the identity.
        valid = _rbcl.crypto_core_ristretto255_is_valid_point(encoded)
        if not valid or encoded[31] & 0x80 or _hmac.compare_digest(encoded, _ZERO32):
            raise DecodeError("decode.bad_element", "not a canonical non-identity element")
        object.__setattr__(self, "_b", encoded)

    @classmethod
    def _trusted(cls, encoded: bytes) -> Element:
        obj = object.__new__(cls)
        object.__setattr__(obj, "_b", encoded)
        return obj

    @classmethod
    def from_uniform_bytes(cls, uniform: bytes) -> Element:
        """RFC 9496 §4.3.4 element derivation from 64 uniform bytes (one-way map, twice)."""
        _require_len("uniform bytes", uniform, 64)
        out = _rbcl.crypto_core_ristretto255_from_hash(uniform)
        if _hmac.compare_digest(out, _ZERO32):
            raise DecodeError("decode.bad_element", "hash mapped to the identity")
        return cls._trusted(out)

    @classmethod
    def base_mul(cls, scalar: Scalar) -> Element:
        """``scalar * B`` for the ristretto255 generator ``B``; zero is a usage error."""
        if scalar.is_zero():
            raise UsageError("usage.bad_argument", "zero scalar")
        return cls._trusted(_rbcl.crypto_scalarmult_ristretto255_base(scalar.to_bytes()))

    def mul(self, scalar: Scalar) -> Element:
        """``scalar * self``; a zero scalar is a usage error (the identity is not an Element)."""
        if scalar.is_zero():
            raise UsageError("usage.bad_argument", "zero scalar")
        return Element._trusted(_rbcl.crypto_scalarmult_ristretto255(scalar.to_bytes(), self._b))

    def __add__(self, other: Element) -> Element:
        out = _rbcl.crypto_core_ristretto255_add(self._b, other._b)
        if _hmac.compare_digest(out, _ZERO32):
            raise UsageError("usage.bad_argument", "sum is the identity")
        return Element._trusted(out)

    def __sub__(self, other: Element) -> Element:
        out = _rbcl.crypto_core_ristretto255_sub(self._b, other._b)
        if _hmac.compare_digest(out, _ZERO32):
            raise UsageError("usage.bad_argument", "difference is the identity")
        return Element._trusted(out)

    def to_bytes(self) -> bytes:
        return self._b

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Element) and _hmac.compare_digest(self._b, other._b)

    def __hash__(self) -> int:
        return hash(self._b)

    def __repr__(self) -> str:
        return f"Element({self._b.hex()})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Element is immutable")
