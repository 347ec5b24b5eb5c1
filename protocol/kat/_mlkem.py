"""FIPS 203 §6.2 ML-KEM.Encaps_internal (Algorithm 17) for ML-KEM-768, in pure Python.

Parameters: k = 3, eta1 = 2, eta2 = 2, du = 10, dv = 4, q = 3329, n = 256.

For deterministic test-vector generation only: not constant time, never used by the protocol at
run time. pyca/cryptography draws the encapsulation randomness ``m`` internally, so the vector
generators call :func:`encapsulate_deterministic` with ``m`` taken from their seeded RNG; the
encapsulation key itself always comes from the real library. The hash functions are those of
FIPS 203 §4.1, from :mod:`hashlib`: G = SHA3-512, H = SHA3-256, J = SHAKE256, PRF = SHAKE256 and
XOF = SHAKE128 (J is used only by decapsulation, which this module does not implement).
"""

from __future__ import annotations

import hashlib
from typing import Final

__all__ = ["CIPHERTEXT_SIZE", "ENCAPSULATION_KEY_SIZE", "encapsulate_deterministic"]

N: Final = 256
Q: Final = 3329
K: Final = 3
ETA1: Final = 2
ETA2: Final = 2
DU: Final = 10
DV: Final = 4

ENCAPSULATION_KEY_SIZE: Final = 384 * K + 32  # 1184
CIPHERTEXT_SIZE: Final = 32 * (DU * K + DV)  # 1088
_T_SIZE: Final = 384 * K  # 1152 bytes of ByteEncode12(t_hat)

Poly = list[int]


def _bitrev7(i: int) -> int:
    return int(f"{i:07b}"[::-1], 2)


#: ζ^BitRev7(i) mod q for i = 0..127 (ζ = 17), used by NTT (Alg 9) and NTT^-1 (Alg 10).
_ZETAS: Final[tuple[int, ...]] = tuple(pow(17, _bitrev7(i), Q) for i in range(128))
#: γ_i = ζ^(2·BitRev7(i)+1) mod q for i = 0..127, used by MultiplyNTTs (Alg 11).
_GAMMAS: Final[tuple[int, ...]] = tuple(pow(17, 2 * _bitrev7(i) + 1, Q) for i in range(128))
#: 128^-1 mod q, the final scaling of NTT^-1 (Alg 10, line 14).
_N_INV: Final = 3303
#: SampleNTT's first SHAKE128 digest (five 168-byte blocks, enough for 256 samples with
#: overwhelming probability) and each extension. Not Final: a test shrinks them to exercise
#: the extension path.
_XOF_INITIAL_BYTES = 168 * 5
_XOF_EXTRA_BYTES = 168 * 3


# --- hash functions (FIPS 203 §4.1) ---------------------------------------------------------


def _g(data: bytes) -> tuple[bytes, bytes]:
    """G = SHA3-512 (§4.1), split into two 32-byte halves."""
    out = hashlib.sha3_512(data).digest()
    return out[:32], out[32:]


def _h(data: bytes) -> bytes:
    """H = SHA3-256 (§4.1)."""
    return hashlib.sha3_256(data).digest()


def _prf(eta: int, s: bytes, b: int) -> bytes:
    """PRF_eta(s, b) = SHAKE256(s || b, 8·64·eta) (§4.1): 64·eta bytes."""
    return hashlib.shake_256(s + bytes([b])).digest(64 * eta)


# --- encoding (FIPS 203 §4.2.1) -------------------------------------------------------------


def _byte_encode(f: Poly, d: int) -> bytes:
    """ByteEncode_d (Alg 5): 256 d-bit integers to 32·d bytes, little-endian bit order."""
    acc = 0
    for i in range(N - 1, -1, -1):
        acc = (acc << d) | f[i]
    return acc.to_bytes(32 * d, "little")


def _byte_decode(b: bytes, d: int) -> Poly:
    """ByteDecode_d (Alg 6): 32·d bytes to 256 integers mod m (m = 2^d for d < 12, else q)."""
    acc = int.from_bytes(b, "little")
    mask = (1 << d) - 1
    m = Q if d == 12 else 1 << d
    out = []
    for _ in range(N):
        out.append((acc & mask) % m)
        acc >>= d
    return out


def _compress(f: Poly, d: int) -> Poly:
    """Compress_d (§4.2.1), coefficient-wise: round((2^d / q)·x) mod 2^d."""
    mask = (1 << d) - 1
    half = Q >> 1
    return [(((x << d) + half) // Q) & mask for x in f]


def _decompress(f: Poly, d: int) -> Poly:
    """Decompress_d (§4.2.1), coefficient-wise: round((q / 2^d)·y)."""
    half = 1 << (d - 1)
    return [(y * Q + half) >> d for y in f]


# --- sampling (FIPS 203 §4.2.2) -------------------------------------------------------------


def _sample_ntt(seed: bytes) -> Poly:
    """SampleNTT (Alg 7): rejection-sample an NTT-domain polynomial from XOF = SHAKE128(seed).

    ``seed`` is the 34-byte ρ || j || i. hashlib's SHAKE cannot squeeze incrementally, so the
    stream is taken in one digest and, in the rare case it runs out, regenerated longer and read
    on from where parsing stopped: a SHAKE output's prefix does not depend on the requested
    length, so this reads exactly the stream of Alg 7.
    """
    xof = hashlib.shake_128(seed)
    a: Poly = []
    pos = 0
    length = _XOF_INITIAL_BYTES
    while True:
        stream = xof.digest(length)
        while pos + 3 <= length:
            c0, c1, c2 = stream[pos], stream[pos + 1], stream[pos + 2]
            pos += 3
            d1 = c0 | ((c1 & 0x0F) << 8)
            d2 = (c1 >> 4) | (c2 << 4)
            if d1 < Q:
                a.append(d1)
                if len(a) == N:
                    return a
            if d2 < Q:
                a.append(d2)
                if len(a) == N:
                    return a
        length += _XOF_EXTRA_BYTES


def _sample_poly_cbd(b: bytes, eta: int) -> Poly:
    """SamplePolyCBD_eta (Alg 8): centred binomial sample from 64·eta bytes, coefficients mod q."""
    if eta != 2 or len(b) != 128:
        raise ValueError("only eta = 2 (128 bytes) is needed for ML-KEM-768")
    out: Poly = []
    for byte in b:
        # Two coefficients per byte: bits (0,1) - (2,3), then bits (4,5) - (6,7).
        for nib in (byte & 0x0F, byte >> 4):
            x = (nib & 1) + ((nib >> 1) & 1)
            y = ((nib >> 2) & 1) + ((nib >> 3) & 1)
            out.append((x - y) % Q)
    return out


# --- NTT arithmetic (FIPS 203 §4.3) ---------------------------------------------------------


def _ntt(f: Poly) -> Poly:
    """NTT (Alg 9): R_q to T_q, in a copy of ``f``."""
    a = list(f)
    zetas = _ZETAS
    i = 1
    length = 128
    while length >= 2:
        for start in range(0, N, 2 * length):
            zeta = zetas[i]
            i += 1
            for j in range(start, start + length):
                t = zeta * a[j + length] % Q
                a[j + length] = (a[j] - t) % Q
                a[j] = (a[j] + t) % Q
        length >>= 1
    return a


def _ntt_inverse(f: Poly) -> Poly:
    """NTT^-1 (Alg 10): T_q to R_q, in a copy of ``f``."""
    a = list(f)
    zetas = _ZETAS
    i = 127
    length = 2
    while length <= 128:
        for start in range(0, N, 2 * length):
            zeta = zetas[i]
            i -= 1
            for j in range(start, start + length):
                t = a[j]
                u = a[j + length]
                a[j] = (t + u) % Q
                a[j + length] = zeta * (u - t) % Q
        length <<= 1
    return [x * _N_INV % Q for x in a]


def _base_case_multiply(a0: int, a1: int, b0: int, b1: int, gamma: int) -> tuple[int, int]:
    """BaseCaseMultiply (Alg 12): (a0 + a1·X)(b0 + b1·X) mod (X^2 - γ)."""
    return (a0 * b0 + a1 * b1 * gamma) % Q, (a0 * b1 + a1 * b0) % Q


def _multiply_ntts(f: Poly, g: Poly) -> Poly:
    """MultiplyNTTs (Alg 11): the product in T_q, 128 BaseCaseMultiply calls (Alg 12)."""
    h: Poly = [0] * N
    gammas = _GAMMAS
    for i in range(128):
        c0, c1 = _base_case_multiply(f[2 * i], f[2 * i + 1], g[2 * i], g[2 * i + 1], gammas[i])
        h[2 * i] = c0
        h[2 * i + 1] = c1
    return h


def _poly_add(f: Poly, g: Poly) -> Poly:
    return [(x + y) % Q for x, y in zip(f, g, strict=True)]


def _dot_ntt(fs: list[Poly], gs: list[Poly]) -> Poly:
    """Σ_j MultiplyNTTs(fs[j], gs[j]) in T_q (the vector products of Alg 14, lines 19 and 21)."""
    acc: Poly = [0] * N
    for f, g in zip(fs, gs, strict=True):
        acc = _poly_add(acc, _multiply_ntts(f, g))
    return acc


# --- K-PKE and ML-KEM -----------------------------------------------------------------------


def _k_pke_encrypt(ek_pke: bytes, m: bytes, r: bytes) -> bytes:
    """K-PKE.Encrypt (Alg 14): encrypt the 32-byte ``m`` under ``ek_pke`` with randomness ``r``."""
    n = 0
    t_hat = [_byte_decode(ek_pke[384 * i : 384 * (i + 1)], 12) for i in range(K)]
    rho = ek_pke[_T_SIZE : _T_SIZE + 32]
    # A_hat[i][j] = SampleNTT(ρ || j || i) (lines 4-8).
    a_hat = [[_sample_ntt(rho + bytes([j, i])) for j in range(K)] for i in range(K)]
    y = []
    for _ in range(K):  # lines 9-12
        y.append(_sample_poly_cbd(_prf(ETA1, r, n), ETA1))
        n += 1
    e1 = []
    for _ in range(K):  # lines 13-16
        e1.append(_sample_poly_cbd(_prf(ETA2, r, n), ETA2))
        n += 1
    e2 = _sample_poly_cbd(_prf(ETA2, r, n), ETA2)  # line 17
    y_hat = [_ntt(p) for p in y]  # line 18
    # u = NTT^-1(A_hat^T ∘ y_hat) + e1 (line 19): u[i] = Σ_j A_hat[j][i] ∘ y_hat[j].
    u = [
        _poly_add(_ntt_inverse(_dot_ntt([a_hat[j][i] for j in range(K)], y_hat)), e1[i])
        for i in range(K)
    ]
    mu = _decompress(_byte_decode(m, 1), 1)  # line 20
    v = _poly_add(_poly_add(_ntt_inverse(_dot_ntt(t_hat, y_hat)), e2), mu)  # line 21
    c1 = b"".join(_byte_encode(_compress(p, DU), DU) for p in u)  # line 22
    c2 = _byte_encode(_compress(v, DV), DV)  # line 23
    return c1 + c2


def encapsulate_deterministic(ek: bytes, m: bytes) -> tuple[bytes, bytes]:
    """ML-KEM-768 encapsulation with caller-chosen randomness: FIPS 203 Alg 17, after the checks
    of §7.2 (Alg 20's input checking). Returns ``(K, c)``: the 32-byte shared secret and the
    1088-byte ciphertext.

    Raises :class:`ValueError` when ``ek`` is not 1184 bytes, fails the modulus check
    (ByteEncode12(ByteDecode12(ek[0:1152])) must equal ek[0:1152], i.e. every coefficient < q),
    or when ``m`` is not 32 bytes. Test infrastructure only: see the module docstring.
    """
    ek = bytes(ek)
    m = bytes(m)
    if len(ek) != ENCAPSULATION_KEY_SIZE:
        raise ValueError(f"ML-KEM-768 encapsulation key must be {ENCAPSULATION_KEY_SIZE} bytes")
    if len(m) != 32:
        raise ValueError("ML-KEM encapsulation randomness m must be 32 bytes")
    t_bytes = ek[:_T_SIZE]
    reencoded = b"".join(
        _byte_encode(_byte_decode(t_bytes[384 * i : 384 * (i + 1)], 12), 12) for i in range(K)
    )
    if reencoded != t_bytes:
        raise ValueError("ML-KEM-768 encapsulation key fails the modulus check (FIPS 203 §7.2)")
    shared, r = _g(m + _h(ek))  # Alg 17, line 1: (K, r) = G(m || H(ek))
    c = _k_pke_encrypt(ek, m, r)  # Alg 17, line 2
    return shared, c
