"""Spec §3: protocol.primitives against official third-party vectors.

The vectors live outside the repository (``$BLINDPOST_EXTERNAL_VECTORS``, default
``../shared/vectors-external``; provenance, commits and formats in that folder's README.md) and are
read only through :mod:`tests.external`, at collection time. When they are absent the whole module
skips; under ``CI=...`` it fails instead. Nothing in this module skips on its own: cases that our
API cannot run are *partitioned out at parametrisation*, counted, and either asserted to be refused
(``usage.bad_argument``) or explained below. Every test id names its source and case
(``wycheproof-x25519-tc17``, ``cctv-ed25519-n305``, ``acvp-mlkem768-keygen-tc26``, ``xwing-0``).

Wycheproof ``result`` handling
------------------------------
* ``valid``: the operation succeeds and gives the listed output.
* ``invalid``: the operation fails with the code the per-file table gives for the case's flag.
* ``acceptable`` (only X25519 here): decided per flag, see :data:`X25519_LOW_ORDER_FLAGS`.

X25519 (spec §3.5)
    ``ZeroSharedSecret`` / ``LowOrderPublic`` -> ``DecodeError("decode.low_order")`` (the listed
    shared secret is then all zeros, which is checked too). ``NonCanonicalPublic`` (bit 255 is
    masked, u >= p is reduced, RFC 7748 §5), ``Twist``, ``SmallPublicKey`` without a zero result,
    ``SpecialPublicKey``, ``EdgeCase*`` and ``Ktv`` -> the listed shared secret. Any other flag
    fails the test until it is given a policy here.

Ed25519, Wycheproof (spec §3.3)
    ``valid`` verifies; ``invalid`` is ``auth.failed`` (wrong lengths included). Wycheproof v1
    ``ed25519_test.json`` gives public keys only, never a private key, so signing cannot be
    checked from the file alone. The four groups whose public key is an RFC 8032 §7.1 test key
    (TEST 1, 2, 3 and 1024; tcId 80-83) are signed again with the secret keys printed in the RFC
    and must reproduce Wycheproof's signatures byte for byte.

Ed25519 edge cases, C2SP CCTV ``ed25519vectors.json`` (spec §3.3)
    The file has no expected results; each vector has flags, defined in C2SP/CCTV
    ``ed25519/README.md``. Our expected verdict is computed from the flags alone:

    ========================= ================================================ ========== =========
    flag                      meaning (CCTV README)                            strict     lenient
                                                                               (ours)     (OpenSSL)
    ========================= ================================================ ========== =========
    (no flag)                 an ordinary signature                            accept     accept
    ``low_order_A``           A is one of the 8 small-order points (one of     reject     accept
                              their 14 encodings, identity included)
    ``low_order_R``           the same for R                                   reject     accept
    ``non_canonical_A``       A is a non-canonical encoding (y >= p, or x = 0  reject     accept
                              with the sign bit set) of a small-order point
    ``non_canonical_R``       the same for R                                   reject     reject
    ``low_order_component_A`` A has a small-order component but is not small  accept     accept
                              order itself (mixed order, outside the prime-
                              order subgroup)
    ``low_order_component_R`` the same for R                                   accept     accept
    ``low_order_residue``     the small-order parts of R and [k]A do not       reject     reject
                              cancel: only the cofactored equation holds
    ``reencoded_k``           k was computed over the canonical re-encoding    no effect  no effect
                              of a non-canonical A or R                        of its own of its own
    ========================= ================================================ ========== =========

    A vector is accepted by a policy iff none of its flags is "reject" in that column: strict
    accepts exactly the vectors whose flags are a subset of {``low_order_component_A``,
    ``low_order_component_R``} (43 of 914); lenient rejects exactly those flagged
    ``non_canonical_R`` or ``low_order_residue`` (it accepts 208). Every vector strict accepts,
    lenient accepts too; the 165 that only lenient accepts all have a small-order A or R. All
    CCTV vectors have ``S < L`` (checked); ``S >= L`` is covered by Wycheproof's
    ``SignatureMalleability`` cases.

    Why, for the strict column: libsodium's ``crypto_sign_verify_detached`` (which
    :func:`ed25519_verify` calls; ``crypto_sign/ed25519/ref10/open.c``) rejects ``S >= L``;
    rejects A and R whose y-coordinate is on a blocklist of the small-order points' y values
    (0, 1, p-1, the two order-8 values, and the non-canonical p and p+1), ignoring the sign
    bit, so all 14 encodings are caught; rejects A with y >= p; decodes A, computes
    ``R' = [S]B - [k]A`` with ``k`` hashed over the bytes as sent, and compares R' canonically
    encoded with R byte for byte (so a non-canonical R never matches, and the equation is
    cofactorless). It does **not** check that A or R is in the prime-order subgroup, so
    mixed-order points (``low_order_component_*``) are accepted when the equation holds.
    ``reencoded_k`` therefore changes nothing: every such vector is also ``low_order_A`` or
    ``low_order_R``. (The CCTV README's summary "recent libsodium rejects all vectors" is looser
    than this: the installed libsodium accepts the 43 vectors above, as do ref10, Go, OpenSSL
    and ZIP-215 verifiers.) The lenient column is the ref10/Go/OpenSSL behaviour the CCTV
    README documents; :func:`ed25519_verify_lenient` (OpenSSL through pyca) is held to it. The
    ``low_order_*`` and ``non_canonical_*`` flags are themselves checked against the README's
    list of the 14 low-order encodings.

AEADs (spec §3.4)
    ``valid``: seal reproduces ``ct || tag`` and open returns ``msg``. ``invalid``:
    ``ModifiedTag`` -> open raises ``auth.failed`` (and our seal differs from the listed bytes);
    ``InvalidNonceSize`` / ``ZeroLengthIv`` -> seal and open raise ``usage.bad_argument``.
    AES-GCM: our API takes 128- and 256-bit keys and 96-bit nonces only (spec §3.4). The 103
    cases with 192-bit keys and the 80 cases with other IV sizes (76 valid, 4 ``ZeroLengthIv``)
    are partitioned out of the known-answer test and run in a separate test asserting that seal
    and open refuse them with ``usage.bad_argument``; the counts are asserted.

HKDF-SHA256 / HMAC-SHA256 (spec §3.2)
    HKDF ``valid`` gives ``okm``; ``SizeTooLarge`` -> ``usage.bad_argument``. HMAC groups with
    ``tagSize`` 256 use :func:`hmac_sha256` and :func:`hmac_sha256_verify`, groups with
    ``tagSize`` 128 (truncated tags) :func:`hmac_sha256_verify` only; ``invalid`` ->
    ``auth.failed``. The SHA-512 files (``hkdf_sha512_test.json``, ``hmac_sha512_test.json``) are
    not used: we expose neither HKDF-SHA512 nor HMAC-SHA512.

ML-KEM-768 (spec §3.6)
    Decapsulation keys are held only as the 64-byte seed ``d || z``; encapsulation draws its own
    randomness (pyca/cryptography), so ``m`` cannot be injected. Hence:

    * Wycheproof keygen_seed, ACVP keyGen (seed = ``d || z``; the ACVP prompt lists ``z``
      first): ``ek`` must match. No API exposes the expanded 2400-byte ``dk`` (pyca's
      ``private_bytes_raw`` is the seed), so of ``dk = dk_PKE || ek || H(ek) || z`` only the
      last three parts are compared; ``dk_PKE`` is not.
    * Wycheproof mlkem_768_test: seed -> ek, decaps of c -> K (implicit rejection included);
      wrong seed length -> ``usage.bad_argument``, wrong ciphertext length -> ``decode.length``.
    * Wycheproof mlkem_768_encaps_test: valid -> the key passes the FIPS 203 §7.2 check and
      encapsulation gives 32/1088-byte outputs; where the same ``ek`` appears with its seed in
      mlkem_768_test or keygen_seed (130 of 133), decapsulating the listed ``c`` gives ``K``.
      Invalid -> ``decode.length`` (wrong length) or ``decode.bad_key`` (modulus overflow).
    * ACVP encapDecap AFT (25): ``(c, k)`` needs the injected ``m``: only the ``ek`` check runs.
    * ACVP encapDecap VAL (tgId 5, 10 cases) and Wycheproof
      ``mlkem_768_semi_expanded_decaps_test.json``: they decapsulate with an expanded 2400-byte
      ``dk`` whose seed is not published. Our API takes seeds only, and pyca/cryptography (50,
      as installed) cannot load an expanded key either: PKCS#8 ``expandedKey`` and ``both``
      forms are refused. They are not run; for the VAL group the ``ek`` embedded in its ``dk``
      is checked.

X-Wing (draft-connolly-cfrg-xwing-kem)
    From the 32-byte seed: ``SHAKE256(seed, 96)`` -> ML-KEM ``d || z`` and the X25519 secret;
    ``pk`` is rebuilt with our primitives, ``ct`` decapsulated with our ML-KEM and X25519 and
    combined as ``SHA3-256(ss_M || ss_X || ct_X || pk_X || 5c2e2f2f5e5c)``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from typing import Any, Final

import pytest

from protocol.errors import AuthenticationError, DecodeError, UsageError
from protocol.primitives import (
    RISTRETTO255_ORDER,
    aes_gcm_open,
    aes_gcm_seal,
    chacha20_poly1305_open,
    chacha20_poly1305_seal,
    ed25519_public_key,
    ed25519_sign,
    ed25519_verify,
    ed25519_verify_lenient,
    hkdf,
    hmac_sha256,
    hmac_sha256_verify,
    mlkem768_check_public_key,
    mlkem768_decapsulate,
    mlkem768_encapsulate,
    mlkem768_public_key,
    x25519,
    x25519_public_key,
    xchacha20_poly1305_open,
    xchacha20_poly1305_seal,
)
from tests.external import load_json, wycheproof_tests

Case = tuple[dict[str, Any], dict[str, Any]]
_h = bytes.fromhex

#: The Ed25519 group order L (equal to ristretto255's, RFC 8032 §5.1).
_L: Final = RISTRETTO255_ORDER


def _params(short: str, pairs: list[Case]) -> list[Any]:
    return [pytest.param(g, t, id=f"wycheproof-{short}-tc{t['tcId']}") for g, t in pairs]


def _number_of_tests(name: str) -> int:
    count: int = load_json("wycheproof", name)["numberOfTests"]
    return count


# --- collection: every file is loaded here, once ----------------------------------------------

X25519_CASES: Final = wycheproof_tests("x25519_test.json")
ED25519_CASES: Final = wycheproof_tests("ed25519_test.json")
CCTV_ED25519: Final[list[dict[str, Any]]] = load_json("ed25519-edge", "cctv-ed25519vectors.json")
CHACHA_CASES: Final = wycheproof_tests("chacha20_poly1305_test.json")
XCHACHA_CASES: Final = wycheproof_tests("xchacha20_poly1305_test.json")
AES_GCM_CASES: Final = wycheproof_tests("aes_gcm_test.json")
HKDF_CASES: Final = wycheproof_tests("hkdf_sha256_test.json")
HMAC_CASES: Final = wycheproof_tests("hmac_sha256_test.json")
MLKEM_KEYGEN_CASES: Final = wycheproof_tests("mlkem_768_keygen_seed_test.json")
MLKEM_CASES: Final = wycheproof_tests("mlkem_768_test.json")
MLKEM_ENCAPS_CASES: Final = wycheproof_tests("mlkem_768_encaps_test.json")
ACVP_KEYGEN_PROMPT: Final = load_json("mlkem", "acvp-ML-KEM-keyGen-FIPS203-ML-KEM-768-prompt.json")
ACVP_KEYGEN_RESULTS: Final = load_json(
    "mlkem", "acvp-ML-KEM-keyGen-FIPS203-ML-KEM-768-expectedResults.json"
)
ACVP_ENCDEC_PROMPT: Final = load_json(
    "mlkem", "acvp-ML-KEM-encapDecap-FIPS203-ML-KEM-768-prompt.json"
)
XWING_CASES: Final[list[dict[str, Any]]] = load_json("xwing", "xwing-test-vectors.json")


def test_every_wycheproof_case_is_parametrised() -> None:
    """No case is dropped silently: each file's cases equal its header's ``numberOfTests``."""
    used = {
        "x25519_test.json": X25519_CASES,
        "ed25519_test.json": ED25519_CASES,
        "chacha20_poly1305_test.json": CHACHA_CASES,
        "xchacha20_poly1305_test.json": XCHACHA_CASES,
        "aes_gcm_test.json": AES_GCM_CASES,
        "hkdf_sha256_test.json": HKDF_CASES,
        "hmac_sha256_test.json": HMAC_CASES,
        "mlkem_768_keygen_seed_test.json": MLKEM_KEYGEN_CASES,
        "mlkem_768_test.json": MLKEM_CASES,
        "mlkem_768_encaps_test.json": MLKEM_ENCAPS_CASES,
    }
    for name, cases in used.items():
        assert len(cases) == _number_of_tests(name), name
        assert len({t["tcId"] for _, t in cases}) == len(cases), f"{name}: duplicate tcId"


# --- X25519 (spec §3.5) -------------------------------------------------------------------------

#: A non-valid case carrying one of these flags must be refused with ``decode.low_order``.
X25519_LOW_ORDER_FLAGS: Final = frozenset({"ZeroSharedSecret", "LowOrderPublic"})
#: Flags that do not change the outcome: the listed shared secret is expected.
X25519_SHARED_FLAGS: Final = frozenset(
    {
        "NonCanonicalPublic",
        "Twist",
        "SmallPublicKey",
        "SpecialPublicKey",
        "EdgeCaseMultiplication",
        "EdgeCaseShared",
        "EdgeCasePrivateKey",
        "Ktv",
        "Normal",
    }
)


@pytest.mark.parametrize(("group", "test"), _params("x25519", X25519_CASES))
def test_wycheproof_x25519(group: dict[str, Any], test: dict[str, Any]) -> None:
    assert group["curve"] == "curve25519"
    flags = set(test["flags"])
    unknown = flags - X25519_LOW_ORDER_FLAGS - X25519_SHARED_FLAGS
    assert not unknown, f"no policy for X25519 flags {unknown}"
    assert test["result"] in ("valid", "acceptable"), "no policy for invalid X25519 cases"
    private, public, shared = _h(test["private"]), _h(test["public"]), _h(test["shared"])
    if flags & X25519_LOW_ORDER_FLAGS:
        assert test["result"] == "acceptable"
        assert shared == bytes(32), "a low-order case must list the all-zero secret"
        with pytest.raises(DecodeError) as err:
            x25519(private, public)
        assert err.value.code == "decode.low_order"
    else:
        assert shared != bytes(32)
        assert x25519(private, public) == shared


def test_wycheproof_x25519_partition() -> None:
    verdicts = Counter(
        (t["result"], bool(set(t["flags"]) & X25519_LOW_ORDER_FLAGS)) for _, t in X25519_CASES
    )
    assert verdicts == {("valid", False): 264, ("acceptable", False): 223, ("acceptable", True): 31}


# --- Ed25519, Wycheproof (spec §3.3) ------------------------------------------------------------

#: RFC 8032 §7.1 secret keys (TEST 1, TEST 2, TEST 3, TEST 1024), by public key.
RFC8032_SEEDS: Final = {
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a": (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    ),
    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c": (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
    ),
    "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025": (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7"
    ),
    "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e": (
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5"
    ),
}
ED25519_SIGN_CASES: Final = [
    (g, t)
    for g, t in ED25519_CASES
    if t["result"] == "valid" and g["publicKey"]["pk"] in RFC8032_SEEDS
]


@pytest.mark.parametrize(("group", "test"), _params("ed25519", ED25519_CASES))
def test_wycheproof_ed25519_verify(group: dict[str, Any], test: dict[str, Any]) -> None:
    public_key, msg, sig = _h(group["publicKey"]["pk"]), _h(test["msg"]), _h(test["sig"])
    if test["result"] == "valid":
        ed25519_verify(public_key, msg, sig)
        assert ed25519_verify_lenient(public_key, msg, sig)
    else:
        assert test["result"] == "invalid"
        with pytest.raises(AuthenticationError) as err:
            ed25519_verify(public_key, msg, sig)
        assert err.value.code == "auth.failed"
        assert not ed25519_verify_lenient(public_key, msg, sig)


def test_wycheproof_ed25519_has_no_private_keys() -> None:
    """If a future file lists private keys, the signing check below must use them."""
    for group, _ in ED25519_CASES:
        assert set(group) - {"tests"} == {
            "type",
            "source",
            "publicKey",
            "publicKeyDer",
            "publicKeyPem",
            "publicKeyJwk",
        }
        assert set(group["publicKey"]) == {"type", "curve", "keySize", "pk"}
    assert sorted(t["tcId"] for _, t in ED25519_SIGN_CASES) == [80, 81, 82, 83]


@pytest.mark.parametrize(
    ("group", "test"),
    [
        pytest.param(g, t, id=f"wycheproof-ed25519-tc{t['tcId']}-rfc8032-sign")
        for g, t in ED25519_SIGN_CASES
    ],
)
def test_wycheproof_ed25519_sign_with_rfc8032_keys(
    group: dict[str, Any], test: dict[str, Any]
) -> None:
    public_key = group["publicKey"]["pk"]
    seed = _h(RFC8032_SEEDS[public_key])
    assert ed25519_public_key(seed) == _h(public_key)
    assert ed25519_sign(seed, _h(test["msg"])) == _h(test["sig"])


# --- Ed25519 edge cases, C2SP CCTV (spec §3.3; table in the module docstring) -------------------

CCTV_FLAGS: Final = frozenset(
    {
        "low_order_A",
        "low_order_R",
        "non_canonical_A",
        "non_canonical_R",
        "low_order_component_A",
        "low_order_component_R",
        "low_order_residue",
        "reencoded_k",
    }
)
#: Flags that make our strict verifier (libsodium) reject.
STRICT_REJECTS: Final = frozenset(
    {"low_order_A", "low_order_R", "non_canonical_A", "non_canonical_R", "low_order_residue"}
)
#: Flags that make ref10-style verifiers (OpenSSL, Go) reject (CCTV README).
LENIENT_REJECTS: Final = frozenset({"non_canonical_R", "low_order_residue"})

#: CCTV README, "Low-order edwards25519 point encodings": the 8 canonical ones ...
LOW_ORDER_CANONICAL: Final = frozenset(
    {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    }
)
#: ... and the 6 alternative (non-canonical) ones.
LOW_ORDER_NON_CANONICAL: Final = frozenset(
    {
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    }
)

#: The identity (order 1) among them: canonical, x = -0, y > p, and both.
IDENTITY_ENCODINGS: Final = frozenset(
    {
        "0100000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    }
)


def _cctv_flags(vector: dict[str, Any]) -> frozenset[str]:
    flags = frozenset(vector["flags"] or ())
    assert flags <= CCTV_FLAGS, f"no policy for CCTV flags {flags - CCTV_FLAGS}"
    return flags


def _cctv_params() -> list[Any]:
    return [pytest.param(v, id=f"cctv-ed25519-n{v['number']}") for v in CCTV_ED25519]


@pytest.mark.parametrize("vector", _cctv_params())
def test_cctv_ed25519_strict_and_lenient(vector: dict[str, Any]) -> None:
    flags = _cctv_flags(vector)
    key, sig, msg = _h(vector["key"]), _h(vector["sig"]), vector["msg"].encode("utf-8")
    assert int.from_bytes(sig[32:], "little") < _L, "the table assumes S < L"
    if flags & STRICT_REJECTS:
        with pytest.raises(AuthenticationError) as err:
            ed25519_verify(key, msg, sig)
        assert err.value.code == "auth.failed"
    else:
        ed25519_verify(key, msg, sig)
    assert ed25519_verify_lenient(key, msg, sig) is not bool(flags & LENIENT_REJECTS)


@pytest.mark.parametrize("vector", _cctv_params())
def test_cctv_ed25519_flags_match_the_low_order_encodings(vector: dict[str, Any]) -> None:
    """The flags the verdict rests on agree with the README's list of low-order encodings."""
    flags = _cctv_flags(vector)
    low_order = LOW_ORDER_CANONICAL | LOW_ORDER_NON_CANONICAL
    for name, encoding in (("A", vector["key"]), ("R", vector["sig"][:64])):
        assert (f"low_order_{name}" in flags) is (encoding in low_order), name
        assert (f"non_canonical_{name}" in flags) is (encoding in LOW_ORDER_NON_CANONICAL), name
        if f"low_order_{name}" in flags:  # the identity has no low-order component
            is_identity = encoding in IDENTITY_ENCODINGS
            assert (f"low_order_component_{name}" in flags) is not is_identity, name


def test_cctv_ed25519_verdict_counts() -> None:
    """The partition the table implies, so a changed file or policy shows up as a count."""
    flags = [_cctv_flags(v) for v in CCTV_ED25519]
    assert len(flags) == 914
    assert sum(not f & STRICT_REJECTS for f in flags) == 43
    assert sum(not f & LENIENT_REJECTS for f in flags) == 208
    strict_only = [f for f in flags if not f & STRICT_REJECTS and f & LENIENT_REJECTS]
    assert strict_only == []
    lenient_only = [f for f in flags if f & STRICT_REJECTS and not f & LENIENT_REJECTS]
    assert len(lenient_only) == 165
    assert all(f & {"low_order_A", "low_order_R"} for f in lenient_only)
    assert all(f & {"low_order_A", "low_order_R"} for f in flags if "reencoded_k" in f)


# --- AEADs (spec §3.4) --------------------------------------------------------------------------

#: ``(key, nonce, plaintext or sealed, aad) -> bytes``
AeadFunction = Callable[[bytes, bytes, bytes, bytes], bytes]

#: Expected code of an ``invalid`` AEAD case, by flag.
AEAD_INVALID_CODES: Final = {
    "ModifiedTag": "auth.failed",
    "InvalidNonceSize": "usage.bad_argument",
    "ZeroLengthIv": "usage.bad_argument",
}
AEADS: Final[dict[str, tuple[AeadFunction, AeadFunction]]] = {
    "chacha20poly1305": (chacha20_poly1305_seal, chacha20_poly1305_open),
    "xchacha20poly1305": (xchacha20_poly1305_seal, xchacha20_poly1305_open),
    "aesgcm": (aes_gcm_seal, aes_gcm_open),
}


def _aes_gcm_in_profile(group: dict[str, Any]) -> bool:
    """Spec §3.4: AES-GCM with a 128- or 256-bit key and a 96-bit nonce."""
    return group["keySize"] in (128, 256) and group["ivSize"] == 96


AES_GCM_IN_PROFILE: Final = [(g, t) for g, t in AES_GCM_CASES if _aes_gcm_in_profile(g)]
AES_GCM_OUT_OF_PROFILE: Final = [(g, t) for g, t in AES_GCM_CASES if not _aes_gcm_in_profile(g)]


def _aead_params() -> list[Any]:
    out = []
    for name, cases in (
        ("chacha20poly1305", CHACHA_CASES),
        ("xchacha20poly1305", XCHACHA_CASES),
        ("aesgcm", AES_GCM_IN_PROFILE),
    ):
        out += [pytest.param(name, g, t, id=f"wycheproof-{name}-tc{t['tcId']}") for g, t in cases]
    return out


def _expect_usage(call: AeadFunction, *args: bytes) -> None:
    with pytest.raises(UsageError) as err:
        call(*args)
    assert err.value.code == "usage.bad_argument"


@pytest.mark.parametrize(("aead", "group", "test"), _aead_params())
def test_wycheproof_aead(aead: str, group: dict[str, Any], test: dict[str, Any]) -> None:
    seal, open_ = AEADS[aead]
    key, iv, aad, msg = _h(test["key"]), _h(test["iv"]), _h(test["aad"]), _h(test["msg"])
    sealed = _h(test["ct"]) + _h(test["tag"])
    if test["result"] == "valid":
        assert seal(key, iv, msg, aad) == sealed
        assert open_(key, iv, sealed, aad) == msg
        return
    assert test["result"] == "invalid"
    (flag,) = test["flags"]
    code = AEAD_INVALID_CODES[flag]
    if code == "usage.bad_argument":
        _expect_usage(seal, key, iv, msg, aad)
        _expect_usage(open_, key, iv, sealed, aad)
    else:
        assert seal(key, iv, msg, aad) != sealed
        with pytest.raises(AuthenticationError) as err:
            open_(key, iv, sealed, aad)
        assert err.value.code == code


@pytest.mark.parametrize(
    ("group", "test"),
    [
        pytest.param(g, t, id=f"wycheproof-aesgcm-tc{t['tcId']}-out-of-profile")
        for g, t in AES_GCM_OUT_OF_PROFILE
    ],
)
def test_wycheproof_aes_gcm_out_of_profile_is_refused(
    group: dict[str, Any], test: dict[str, Any]
) -> None:
    """192-bit keys and non-96-bit IVs: outside our API whatever Wycheproof's verdict."""
    key, iv, aad, msg = _h(test["key"]), _h(test["iv"]), _h(test["aad"]), _h(test["msg"])
    _expect_usage(aes_gcm_seal, key, iv, msg, aad)
    _expect_usage(aes_gcm_open, key, iv, _h(test["ct"]) + _h(test["tag"]), aad)


def test_wycheproof_aes_gcm_partition() -> None:
    out = Counter(
        ("key192" if g["keySize"] == 192 else "iv", t["result"]) for g, t in AES_GCM_OUT_OF_PROFILE
    )
    assert len(AES_GCM_IN_PROFILE) == 133
    assert out == {
        ("key192", "valid"): 74,
        ("key192", "invalid"): 29,
        ("iv", "valid"): 76,
        ("iv", "invalid"): 4,
    }
    assert all(
        t["flags"] == ["ZeroLengthIv"] for g, t in AES_GCM_OUT_OF_PROFILE if g["ivSize"] == 0
    )
    assert len(AES_GCM_IN_PROFILE) + len(AES_GCM_OUT_OF_PROFILE) == len(AES_GCM_CASES)


# --- HKDF-SHA256 and HMAC-SHA256 (spec §3.2) ----------------------------------------------------


@pytest.mark.parametrize(("group", "test"), _params("hkdf-sha256", HKDF_CASES))
def test_wycheproof_hkdf_sha256(group: dict[str, Any], test: dict[str, Any]) -> None:
    args = (_h(test["ikm"]), _h(test["salt"]), _h(test["info"]), test["size"])
    if test["result"] == "valid":
        assert hkdf(*args) == _h(test["okm"])
    else:
        assert test["flags"] == ["SizeTooLarge"]
        with pytest.raises(UsageError) as err:
            hkdf(*args)
        assert err.value.code == "usage.bad_argument"


@pytest.mark.parametrize(("group", "test"), _params("hmac-sha256", HMAC_CASES))
def test_wycheproof_hmac_sha256(group: dict[str, Any], test: dict[str, Any]) -> None:
    key, msg, tag = _h(test["key"]), _h(test["msg"]), _h(test["tag"])
    assert group["tagSize"] in (128, 256) and len(tag) * 8 == group["tagSize"]
    full = group["tagSize"] == 256
    if test["result"] == "valid":
        if full:
            assert hmac_sha256(key, msg) == tag
        hmac_sha256_verify(key, msg, tag)
    else:
        assert test["result"] == "invalid"
        if full:
            assert hmac_sha256(key, msg) != tag
        with pytest.raises(AuthenticationError) as err:
            hmac_sha256_verify(key, msg, tag)
        assert err.value.code == "auth.failed"


# --- ML-KEM-768 (spec §3.6) ---------------------------------------------------------------------

_DK_PKE_SIZE: Final = 1152  # 384 * k, k = 3
_DK_SIZE: Final = 2400


def _assert_dk_tail(dk: bytes, ek: bytes, z: bytes) -> None:
    """FIPS 203: ``dk = dk_PKE || ek || H(ek) || z``; ``dk_PKE`` is not exposed by any API."""
    assert len(dk) == _DK_SIZE
    assert dk[_DK_PKE_SIZE:] == ek + hashlib.sha3_256(ek).digest() + z


@pytest.mark.parametrize(("group", "test"), _params("mlkem768-keygen", MLKEM_KEYGEN_CASES))
def test_wycheproof_mlkem768_keygen_seed(group: dict[str, Any], test: dict[str, Any]) -> None:
    assert group["parameterSet"] == "ML-KEM-768" and test["result"] == "valid"
    seed, ek = _h(test["seed"]), _h(test["ek"])
    assert mlkem768_public_key(seed) == ek
    _assert_dk_tail(_h(test["dk"]), ek, seed[32:])


@pytest.mark.parametrize(("group", "test"), _params("mlkem768", MLKEM_CASES))
def test_wycheproof_mlkem768_decaps(group: dict[str, Any], test: dict[str, Any]) -> None:
    seed, c = _h(test["seed"]), _h(test["c"])
    if test["result"] == "valid":
        ek = _h(test["ek"])
        assert mlkem768_public_key(seed) == ek
        mlkem768_check_public_key(ek)
        assert mlkem768_decapsulate(seed, c) == _h(test["K"])
        return
    assert test["result"] == "invalid" and test["K"] == ""
    if len(seed) != 64:
        assert len(c) == 1088, "one defect per case"
        with pytest.raises(UsageError) as usage:
            mlkem768_public_key(seed)
        assert usage.value.code == "usage.bad_argument"
        with pytest.raises(UsageError) as usage:
            mlkem768_decapsulate(seed, c)
        assert usage.value.code == "usage.bad_argument"
    else:
        assert len(c) != 1088
        with pytest.raises(DecodeError) as decode:
            mlkem768_decapsulate(seed, c)
        assert decode.value.code == "decode.length"


def _seeds_by_ek() -> dict[str, str]:
    return {
        t["ek"]: t["seed"]
        for _, t in MLKEM_CASES + MLKEM_KEYGEN_CASES
        if t["result"] == "valid" and len(t["seed"]) == 128
    }


SEEDS_BY_EK: Final = _seeds_by_ek()


@pytest.mark.parametrize(("group", "test"), _params("mlkem768-encaps", MLKEM_ENCAPS_CASES))
def test_wycheproof_mlkem768_encaps(group: dict[str, Any], test: dict[str, Any]) -> None:
    ek = _h(test["ek"])
    if test["result"] == "valid":
        mlkem768_check_public_key(ek)
        shared, ciphertext = mlkem768_encapsulate(ek)
        assert (len(shared), len(ciphertext)) == (32, 1088)
        seed = SEEDS_BY_EK.get(test["ek"])
        if seed is not None:  # the listed (c, K) of this key, through our decapsulation
            assert mlkem768_decapsulate(_h(seed), ciphertext) == shared
            assert mlkem768_decapsulate(_h(seed), _h(test["c"])) == _h(test["K"])
        return
    assert test["result"] == "invalid"
    code = "decode.length" if len(ek) != 1184 else "decode.bad_key"
    for call in (mlkem768_check_public_key, mlkem768_encapsulate):
        with pytest.raises(DecodeError) as err:
            call(ek)
        assert err.value.code == code


def test_wycheproof_mlkem768_encaps_partition() -> None:
    valid = [t for _, t in MLKEM_ENCAPS_CASES if t["result"] == "valid"]
    assert (len(valid), sum(t["ek"] in SEEDS_BY_EK for t in valid)) == (133, 130)
    codes = Counter(
        "decode.length" if len(t["ek"]) != 2368 else "decode.bad_key"
        for _, t in MLKEM_ENCAPS_CASES
        if t["result"] == "invalid"
    )
    assert codes == {"decode.length": 20, "decode.bad_key": 112}


def _acvp_keygen_params() -> list[Any]:
    answers = {
        (g["tgId"], t["tcId"]): t for g in ACVP_KEYGEN_RESULTS["testGroups"] for t in g["tests"]
    }
    params = []
    for group in ACVP_KEYGEN_PROMPT["testGroups"]:
        assert group["parameterSet"] == "ML-KEM-768"
        for test in group["tests"]:
            case = {**test, **answers[(group["tgId"], test["tcId"])]}
            params.append(pytest.param(case, id=f"acvp-mlkem768-keygen-tc{test['tcId']}"))
    return params


@pytest.mark.parametrize("case", _acvp_keygen_params())
def test_acvp_mlkem768_keygen(case: dict[str, Any]) -> None:
    d, z = _h(case["d"]), _h(case["z"])
    ek = _h(case["ek"])
    assert mlkem768_public_key(d + z) == ek  # KeyGen_internal(d, z): the seed is d || z
    _assert_dk_tail(_h(case["dk"]), ek, z)


def _acvp_group(tg_id: int) -> dict[str, Any]:
    groups: list[dict[str, Any]] = ACVP_ENCDEC_PROMPT["testGroups"]
    (group,) = [g for g in groups if g["tgId"] == tg_id]
    assert group["parameterSet"] == "ML-KEM-768"
    return group


@pytest.mark.parametrize(
    "test",
    [
        pytest.param(t, id=f"acvp-mlkem768-encaps-aft-tc{t['tcId']}")
        for t in _acvp_group(2)["tests"]
    ],
)
def test_acvp_mlkem768_encaps_aft_key_check(test: dict[str, Any]) -> None:
    """AFT ``(c, k)`` needs the injected ``m``; our encapsulation draws its own, so only ``ek``."""
    ek = _h(test["ek"])
    mlkem768_check_public_key(ek)
    shared, ciphertext = mlkem768_encapsulate(ek)
    assert (len(shared), len(ciphertext)) == (32, 1088)


def test_acvp_mlkem768_decaps_val_group_is_not_applicable() -> None:
    """The VAL group decapsulates with an expanded dk and no seed: only its ek can be checked."""
    group = _acvp_group(5)
    assert group["testType"] == "VAL" and group["function"] == "decapsulation"
    assert len(group["tests"]) == 10
    dk = _h(group["dk"])
    assert len(dk) == _DK_SIZE
    ek = dk[_DK_PKE_SIZE : _DK_PKE_SIZE + 1184]
    assert dk[_DK_PKE_SIZE + 1184 : _DK_PKE_SIZE + 1216] == hashlib.sha3_256(ek).digest()
    mlkem768_check_public_key(ek)


# --- X-Wing (draft-connolly-cfrg-xwing-kem -05 .. -10) ------------------------------------------

XWING_LABEL: Final = _h("5c2e2f2f5e5c")  # "\\.//^\\"


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=f"xwing-{i}") for i, c in enumerate(XWING_CASES)]
)
def test_xwing(case: dict[str, Any]) -> None:
    seed, pk, ct, eseed = _h(case["sk"]), _h(case["pk"]), _h(case["ct"]), _h(case["eseed"])
    assert seed == _h(case["seed"]) and len(seed) == 32
    expanded = hashlib.shake_256(seed).digest(96)
    mlkem_seed, sk_x = expanded[:64], expanded[64:]
    pk_m, pk_x = mlkem768_public_key(mlkem_seed), x25519_public_key(sk_x)
    assert pk_m + pk_x == pk
    ct_m, ct_x = ct[:1088], ct[1088:]
    assert len(ct_x) == 32
    ss_m = mlkem768_decapsulate(mlkem_seed, ct_m)
    ss_x = x25519(sk_x, ct_x)
    ss = hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + XWING_LABEL).digest()
    assert ss == _h(case["ss"])
    # The X25519 half of encapsulation is reproducible: eseed[32:64] is the ephemeral secret.
    ephemeral = eseed[32:64]
    assert x25519_public_key(ephemeral) == ct_x
    assert x25519(ephemeral, pk_x) == ss_x
