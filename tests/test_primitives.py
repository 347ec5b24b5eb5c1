"""Spec §3: unit tests of protocol.primitives with known answers copied from the RFCs.

The official vector files (Wycheproof, CCTV, ACVP, X-Wing) are run by
``tests/test_primitives_official.py``; this module needs no external file. Its known answers are
printed in the RFCs themselves and hard-coded here: RFC 5869 Appendix A.1-A.3 (HKDF-SHA256),
RFC 9496 Appendix A.1-A.3 (ristretto255), RFC 8032 §7.1 TEST 1-3 (Ed25519), RFC 7748 §6.1
(X25519) and FIPS 180-4 (SHA-256/512 of "abc"). Scalar arithmetic is checked against Python
integers modulo L with Hypothesis; the rest checks the API contract (error codes, sizes, reprs).
"""

from __future__ import annotations

import copy
import hashlib
import pickle
from collections.abc import Callable
from typing import Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import AuthenticationError, DecodeError, UsageError
from protocol.primitives import (
    RISTRETTO255_ORDER,
    Element,
    Scalar,
    aes_gcm_open,
    aes_gcm_seal,
    chacha20_poly1305_open,
    chacha20_poly1305_seal,
    ct_equal,
    ed25519_public_key,
    ed25519_sign,
    ed25519_verify,
    ed25519_verify_lenient,
    hkdf,
    hkdf_expand,
    hkdf_extract,
    hmac_sha256,
    hmac_sha256_verify,
    mlkem768_check_public_key,
    mlkem768_decapsulate,
    mlkem768_encapsulate,
    mlkem768_public_key,
    random_bytes,
    sha256,
    sha512,
    x25519,
    x25519_public_key,
    xchacha20_poly1305_open,
    xchacha20_poly1305_seal,
)

_h = bytes.fromhex
L: Final = RISTRETTO255_ORDER


def _scalar(n: int) -> Scalar:
    return Scalar((n % L).to_bytes(32, "little"))


# --- hashes, HKDF (spec §3.2) -------------------------------------------------------------------


def test_sha2_known_answers() -> None:
    """FIPS 180-4 examples for the one-block message "abc"."""
    assert sha256(b"abc") == _h("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    assert sha512(b"abc") == _h(
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    )


#: RFC 5869 Appendix A.1-A.3 (SHA-256): (IKM, salt, info, L, PRK, OKM).
RFC5869: Final = {
    "A.1": (
        "0b" * 22,
        "000102030405060708090a0b0c",
        "f0f1f2f3f4f5f6f7f8f9",
        42,
        "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    ),
    "A.2": (
        bytes(range(0x00, 0x50)).hex(),
        bytes(range(0x60, 0xB0)).hex(),
        bytes(range(0xB0, 0x100)).hex(),
        82,
        "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
        "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
        "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
        "cc30c58179ec3e87c14c01d5c1f3434f1d87",
    ),
    "A.3": (
        "0b" * 22,
        "",
        "",
        42,
        "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
    ),
}


@pytest.mark.parametrize("case", [pytest.param(v, id=f"rfc5869-{k}") for k, v in RFC5869.items()])
def test_hkdf_rfc5869(case: tuple[str, str, str, int, str, str]) -> None:
    ikm, salt, info, length, prk, okm = case
    assert hkdf_extract(_h(salt), _h(ikm)) == _h(prk)
    assert hkdf_expand(_h(prk), _h(info), length) == _h(okm)
    assert hkdf(_h(ikm), _h(salt), _h(info), length) == _h(okm)


def test_hkdf_empty_salt_is_32_zero_bytes() -> None:
    assert hkdf_extract(b"", b"ikm") == hkdf_extract(bytes(32), b"ikm")


@pytest.mark.parametrize("length", [-1, 255 * 32 + 1])
def test_hkdf_length_out_of_range(length: int) -> None:
    with pytest.raises(UsageError) as err:
        hkdf_expand(bytes(32), b"", length)
    assert err.value.code == "usage.bad_argument"


def test_hkdf_maximal_length_and_short_prk() -> None:
    assert len(hkdf_expand(bytes(32), b"", 255 * 32)) == 8160
    with pytest.raises(UsageError) as err:
        hkdf_expand(bytes(31), b"", 32)
    assert err.value.code == "usage.bad_argument"


def test_hmac_sha256_tag_lengths() -> None:
    tag = hmac_sha256(b"key", b"data")
    assert len(tag) == 32
    hmac_sha256_verify(b"key", b"data", tag)
    hmac_sha256_verify(b"key", b"data", tag[:16])
    for bad in (tag[:15], tag + b"\x00", b"", bytes(32)):
        with pytest.raises(AuthenticationError) as err:
            hmac_sha256_verify(b"key", b"data", bad)
        assert err.value.code == "auth.failed"


def test_ct_equal() -> None:
    assert ct_equal(b"abc", b"abc")
    assert not ct_equal(b"abc", b"abd")
    assert not ct_equal(b"abc", b"ab")


# --- randomness (spec §3.1) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "rng",
    [
        pytest.param(lambda n: bytes(n - 1), id="short"),
        pytest.param(lambda n: bytes(n + 1), id="long"),
        pytest.param(lambda n: bytearray(n), id="bytearray"),
        pytest.param(lambda n: "\x00" * n, id="str"),
        pytest.param(lambda n: None, id="none"),
    ],
)
def test_misbehaving_rng_is_a_usage_error(rng: Callable[[int], object]) -> None:
    with pytest.raises(UsageError) as err:
        random_bytes(rng, 32)  # type: ignore[arg-type]
    assert err.value.code == "usage.rng"
    with pytest.raises(UsageError) as err:
        Scalar.random(rng)  # type: ignore[arg-type]
    assert err.value.code == "usage.rng"


def test_random_bytes_passes_an_honest_rng_through() -> None:
    assert random_bytes(lambda n: b"\x07" * n, 5) == b"\x07" * 5
    assert random_bytes(lambda n: b"", 0) == b""


# --- AEADs (spec §3.4) --------------------------------------------------------------------------

AeadFunction = Callable[[bytes, bytes, bytes, bytes], bytes]
AEADS: Final[list[tuple[str, AeadFunction, AeadFunction, tuple[int, ...], int]]] = [
    ("chacha20poly1305", chacha20_poly1305_seal, chacha20_poly1305_open, (32,), 12),
    ("xchacha20poly1305", xchacha20_poly1305_seal, xchacha20_poly1305_open, (32,), 24),
    ("aesgcm", aes_gcm_seal, aes_gcm_open, (16, 32), 12),
]


@pytest.mark.parametrize(
    ("seal", "open_", "key_sizes", "nonce_size"),
    [pytest.param(*a[1:], id=a[0]) for a in AEADS],
)
def test_aead_sizes_and_failures(
    seal: AeadFunction, open_: AeadFunction, key_sizes: tuple[int, ...], nonce_size: int
) -> None:
    nonce = bytes(nonce_size)
    for key_size in key_sizes:
        key = bytes(range(key_size))
        sealed = seal(key, nonce, b"plaintext", b"aad")
        assert len(sealed) == len(b"plaintext") + 16
        assert open_(key, nonce, sealed, b"aad") == b"plaintext"
        tampered = [
            (key, nonce, sealed, b"aaD"),
            (key, nonce, sealed[:-1] + bytes([sealed[-1] ^ 1]), b"aad"),
            (key, nonce, sealed[:15], b"aad"),  # shorter than the tag
            (key, nonce, b"", b"aad"),
            (bytes(key_size), nonce, sealed, b"aad"),
            (key, b"\x01" + nonce[1:], sealed, b"aad"),
        ]
        for args in tampered:
            with pytest.raises(AuthenticationError) as auth:
                open_(*args)
            assert auth.value.code == "auth.failed"
    good_key = bytes(key_sizes[0])
    bad_keys = [bytes(n) for n in (0, 15, 16, 24, 31, 32, 33) if n not in key_sizes]
    bad_nonces = [bytes(n) for n in (0, 8, 12, 16, 24, 32) if n != nonce_size]
    for key, nonce_ in [(k, nonce) for k in bad_keys] + [(good_key, n) for n in bad_nonces]:
        for call, data in ((seal, b"msg"), (open_, bytes(32))):
            with pytest.raises(UsageError) as usage:
                call(key, nonce_, data, b"")
            assert usage.value.code == "usage.bad_argument"


# --- X25519 (spec §3.5) -------------------------------------------------------------------------


def test_x25519_rfc7748_section_6_1() -> None:
    alice = _h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    bob = _h("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
    alice_pub = _h("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    bob_pub = _h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    shared = _h("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
    assert x25519_public_key(alice) == alice_pub
    assert x25519_public_key(bob) == bob_pub
    assert x25519(alice, bob_pub) == shared
    assert x25519(bob, alice_pub) == shared


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_x25519_public_key_of_wrong_length_is_a_decode_error(size: int) -> None:
    with pytest.raises(DecodeError) as err:
        x25519(bytes(range(32)), bytes(size))
    assert err.value.code == "decode.length"


@pytest.mark.parametrize("size", [0, 31, 33])
def test_x25519_private_key_of_wrong_length_is_a_usage_error(size: int) -> None:
    with pytest.raises(UsageError) as err:
        x25519(bytes(size), bytes(range(32)))
    assert err.value.code == "usage.bad_argument"
    with pytest.raises(UsageError) as err:
        x25519_public_key(bytes(size))
    assert err.value.code == "usage.bad_argument"


@pytest.mark.parametrize(
    "public",
    [
        pytest.param(bytes(32), id="u=0"),
        pytest.param(b"\x01" + bytes(31), id="u=1"),
        pytest.param(
            _h("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), id="u=p-1"
        ),
    ],
)
def test_x25519_small_order_public_key_is_low_order(public: bytes) -> None:
    with pytest.raises(DecodeError) as err:
        x25519(bytes(range(32)), public)
    assert err.value.code == "decode.low_order"


# --- Ed25519 (spec §3.3) ------------------------------------------------------------------------

#: RFC 8032 §7.1 TEST 1, 2, 3: (secret key, public key, message, signature).
RFC8032: Final = {
    "TEST1": (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    "TEST2": (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    "TEST3": (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
}


@pytest.mark.parametrize("case", [pytest.param(v, id=f"rfc8032-{k}") for k, v in RFC8032.items()])
def test_ed25519_rfc8032(case: tuple[str, str, str, str]) -> None:
    seed, public, msg, sig = (_h(x) for x in case)
    assert ed25519_public_key(seed) == public
    assert ed25519_sign(seed, msg) == sig
    ed25519_verify(public, msg, sig)
    with pytest.raises(AuthenticationError):
        ed25519_verify(public, msg + b"\x00", sig)


@pytest.mark.parametrize(
    ("pk_size", "sig_size"), [(31, 64), (33, 64), (0, 64), (32, 63), (32, 65), (32, 0)]
)
def test_ed25519_verify_wrong_lengths_fail_as_auth(pk_size: int, sig_size: int) -> None:
    _, public, msg, sig = (_h(x) for x in RFC8032["TEST1"])
    public = (public + bytes(1))[:pk_size] if pk_size else b""
    sig = (sig + bytes(1))[:sig_size]
    with pytest.raises(AuthenticationError) as err:
        ed25519_verify(public, msg, sig)
    assert err.value.code == "auth.failed"


def test_ed25519_s_plus_l_is_rejected() -> None:
    """Spec §3.3 (2): the malleated signature (R, S + L) is refused."""
    _, public, msg, sig = (_h(x) for x in RFC8032["TEST1"])
    s_plus_l = (int.from_bytes(sig[32:], "little") + L).to_bytes(32, "little")
    with pytest.raises(AuthenticationError):
        ed25519_verify(public, msg, sig[:32] + s_plus_l)


def test_ed25519_small_order_key_and_r_are_rejected_though_the_equation_holds() -> None:
    """Spec §3.3 (3): A = R = identity, S = 0 satisfies [S]B = R + [k]A for every message.

    RFC 8032 as OpenSSL implements it accepts this "signature" on anything; strict verification
    must not (the CCTV vectors in tests/test_primitives_official.py cover the other cases).
    """
    identity = b"\x01" + bytes(31)
    forged = identity + bytes(32)
    assert ed25519_verify_lenient(identity, b"any message", forged)
    with pytest.raises(AuthenticationError) as err:
        ed25519_verify(identity, b"any message", forged)
    assert err.value.code == "auth.failed"


@pytest.mark.parametrize("size", [0, 31, 33])
def test_ed25519_seed_of_wrong_length_is_a_usage_error(size: int) -> None:
    with pytest.raises(UsageError) as err:
        ed25519_public_key(bytes(size))
    assert err.value.code == "usage.bad_argument"
    with pytest.raises(UsageError) as err:
        ed25519_sign(bytes(size), b"")
    assert err.value.code == "usage.bad_argument"


# --- ML-KEM-768 (spec §3.6): the API contract; known answers are in the official tests ----------


def test_mlkem768_contract() -> None:
    seed = bytes(range(64))
    ek = mlkem768_public_key(seed)
    assert len(ek) == 1184
    mlkem768_check_public_key(ek)
    shared, ciphertext = mlkem768_encapsulate(ek)
    assert mlkem768_decapsulate(seed, ciphertext) == shared
    for bad_ek in (ek[:-1], ek + b"\x00", b""):
        with pytest.raises(DecodeError) as decode:
            mlkem768_check_public_key(bad_ek)
        assert decode.value.code == "decode.length"
    overflow = b"\xff\xff" + ek[2:]  # first coefficient 0xfff >= q = 3329
    with pytest.raises(DecodeError) as decode:
        mlkem768_encapsulate(overflow)
    assert decode.value.code == "decode.bad_key"
    for bad_ct in (ciphertext[:-1], ciphertext + b"\x00"):
        with pytest.raises(DecodeError) as decode:
            mlkem768_decapsulate(seed, bad_ct)
        assert decode.value.code == "decode.length"
    for bad_seed in (seed[:32], seed + b"\x00"):
        with pytest.raises(UsageError) as usage:
            mlkem768_decapsulate(bad_seed, ciphertext)
        assert usage.value.code == "usage.bad_argument"


# --- ristretto255 (spec §3.7, RFC 9496 Appendix A) ----------------------------------------------

#: RFC 9496 Appendix A.1: encodings of B * 0 .. B * 15.
GENERATOR_MULTIPLES: Final = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
    "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
    "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259",
    "da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57",
    "e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e",
    "f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403",
    "44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d",
    "903293d8f2287ebe10e2374dc1a53e0bc887e592699f02d077d5263cdd55601c",
    "02622ace8f7303a31cafc63f8fc48fdc16e1c8c8d234b2f0d6685282a9076031",
    "20706fd788b2720a1ed2a5dad4952b01f413bcf0e7564de8cdc816689e2db95f",
    "bce83f8ba5dd2fa572864c24ba1810f9522bc6004afe95877ac73241cafdab42",
    "e4549ee16b9aa03099ca208c67adafcafa4c3f3e4e5303de6026e3ca8ff84460",
    "aa52e000df2e16f55fb1032fc33bc42742dad6bd5a8fc0be0167436c5948501f",
    "46376b80f409b29dc2b5f6f0c52591990896e5716f41477cd30085ab7f10301e",
    "e0c418f7c8d9c4cdd7395b93ea124f3ad99021bb681dfc3302a9d99a2e53e64e",
]

#: RFC 9496 Appendix A.2: encodings that decoding must reject, in the RFC's order and groups.
INVALID_ENCODINGS: Final = {
    "non-canonical field encoding": [
        "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ],
    "negative field element": [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20",
        "c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562",
        "c940e5a4404157cfb1628b108db051a8d439e1a421394ec4ebccb9ec92a8ac78",
        "47cfc5497c53dc8e61c91d17fd626ffb1c49e2bca94eed052281b510b1117a24",
        "f1c6165d33367351b0da8f6e4511010c68174a03b6581212c71c0e1d026c3c72",
        "87260f7a2f12495118360f02c26a470f450dadf34a413d21042b43b9d93e1309",
    ],
    "non-square x^2": [
        "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
        "4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f",
        "de6a7b00deadc788eb6b6c8d20c0ae96c2f2019078fa604fee5b87d6e989ad7b",
        "bcab477be20861e01e4a0e295284146a510150d9817763caf1a6f4b422d67042",
        "2a292df7e32cababbd9de088d1d1abec9fc0440f637ed2fba145094dc14bea08",
        "f4a9e534fc0d216c44b218fa0c42d99635a0127ee2e53c712f70609649fdff22",
        "8268436f8c4126196cf64b3c7ddbda90746a378625f9813dd9b8457077256731",
        "2810e5cbc2cc4d4eece54f61c6f69758e289aa7ab440b3cbeaa21995c2f4232b",
    ],
    "negative xy": [
        "3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e",
        "a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220",
        "d483fe813c6ba647ebbfd3ec41adca1c6130c2beeee9d9bf065c8d151c5f396e",
        "8a2e1d30050198c65a54483123960ccc38aef6848e1ec8f5f780e8523769ba32",
        "32888462f8b486c68ad7dd9610be5192bbeaf3b443951ac1a8118419d9fa097b",
        "227142501b9d4355ccba290404bde41575b037693cef1f438c47f8fbf35d1165",
        "5c37cc491da847cfeb9281d407efc41e15144c876e0170b499a96a22ed31e01e",
        "445425117cb8c90edcbc7c1cc0e74f747f2c1efa5630a967c64f287792a48a4b",
    ],
    "s = -1 (y = 0)": [
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ],
}

#: RFC 9496 Appendix A.3: (label, element); the 64-byte input is SHA-512(label).
HASH_TO_GROUP: Final = [
    (
        "Ristretto is traditionally a short shot of espresso coffee",
        "3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46",
    ),
    (
        "made with the normal amount of ground coffee but extracted with",
        "f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b",
    ),
    (
        "about half the amount of water in the same amount of time",
        "006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826",
    ),
    (
        "by using a finer grind.",
        "f8f0c87cf237953c5890aec3998169005dae3eca1fbb04548c635953c817f92a",
    ),
    (
        "This produces a concentrated shot of coffee per volume.",
        "ae81e7dedf20a497e10c304a765c1767a42d6e06029758d2d7e8ef7cc4c41179",
    ),
    (
        "Just pulling a normal shot short will produce a weaker shot",
        "e2705652ff9f5e44d3e841bf1c251cf7dddb77d140870d1ab2ed64f1a9ce8628",
    ),
    (
        "and is not a Ristretto as some believe.",
        "80bd07262511cdde4863f8a7434cef696750681cb9510eea557088f76d9e5065",
    ),
]


@pytest.mark.parametrize("n", range(1, 16), ids=lambda n: f"rfc9496-A.1-B*{n}")
def test_ristretto255_generator_multiples(n: int) -> None:
    expected = _h(GENERATOR_MULTIPLES[n])
    element = Element.base_mul(_scalar(n))
    assert element.to_bytes() == expected
    assert Element(expected) == element
    base = Element(_h(GENERATOR_MULTIPLES[1]))
    if n >= 2:
        assert Element(_h(GENERATOR_MULTIPLES[n - 1])) + base == element
        assert element - base == Element(_h(GENERATOR_MULTIPLES[n - 1]))
    assert base.mul(_scalar(n)) == element


def test_ristretto255_identity_is_not_an_element() -> None:
    """RFC 9496 A.1 lists B * 0 = identity (all zeros); spec §3.7 refuses it as an Element."""
    with pytest.raises(DecodeError) as err:
        Element(_h(GENERATOR_MULTIPLES[0]))
    assert err.value.code == "decode.bad_element"
    with pytest.raises(UsageError) as usage:
        Element.base_mul(_scalar(0))
    assert usage.value.code == "usage.bad_argument"
    base = Element(_h(GENERATOR_MULTIPLES[1]))
    with pytest.raises(UsageError):
        base.mul(_scalar(0))
    with pytest.raises(UsageError):
        base - base
    with pytest.raises(UsageError):
        Element.base_mul(_scalar(1)) + Element.base_mul(_scalar(L - 1))


@pytest.mark.parametrize(
    "encoding",
    [
        pytest.param(enc, id=f"rfc9496-A.2-{kind.split()[0]}-{i}")
        for kind, encodings in INVALID_ENCODINGS.items()
        for i, enc in enumerate(encodings)
    ],
)
def test_ristretto255_invalid_encodings(encoding: str) -> None:
    with pytest.raises(DecodeError) as err:
        Element(_h(encoding))
    assert err.value.code == "decode.bad_element"


def test_ristretto255_invalid_encoding_count() -> None:
    assert sum(len(v) for v in INVALID_ENCODINGS.values()) == 29


@pytest.mark.parametrize(
    ("label", "encoding"),
    [
        pytest.param(label, enc, id=f"rfc9496-A.3-{i}")
        for i, (label, enc) in enumerate(HASH_TO_GROUP)
    ],
)
def test_ristretto255_from_uniform_bytes(label: str, encoding: str) -> None:
    uniform = hashlib.sha512(label.encode("ascii")).digest()
    assert Element.from_uniform_bytes(uniform).to_bytes() == _h(encoding)


def test_ristretto255_from_uniform_bytes_length() -> None:
    for size in (0, 32, 63, 65):
        with pytest.raises(UsageError) as err:
            Element.from_uniform_bytes(bytes(size))
        assert err.value.code == "usage.bad_argument"


@pytest.mark.parametrize("size", [0, 31, 33])
def test_ristretto255_element_length(size: int) -> None:
    with pytest.raises(DecodeError) as err:
        Element(bytes(size))
    assert err.value.code == "decode.bad_element"


def test_ristretto255_element_repr_and_immutability() -> None:
    encoded = _h(GENERATOR_MULTIPLES[2])
    element = Element(encoded)
    assert repr(element) == f"Element({GENERATOR_MULTIPLES[2]})"  # public: shown in full
    with pytest.raises(AttributeError):
        element._b = bytes(32)
    with pytest.raises(AttributeError):
        element.other = 1
    assert element.to_bytes() == encoded
    assert hash(element) == hash(Element(encoded))
    assert element != Element(_h(GENERATOR_MULTIPLES[3]))
    assert element != encoded


# --- Scalars ------------------------------------------------------------------------------------

scalars = st.integers(min_value=0, max_value=L - 1)
nonzero = st.integers(min_value=1, max_value=L - 1)


@pytest.mark.parametrize(
    "value", [L, L + 1, 2**255, 2**256 - 1], ids=["L", "L+1", "2^255", "2^256-1"]
)
def test_scalar_rejects_unreduced(value: int) -> None:
    with pytest.raises(DecodeError) as err:
        Scalar(value.to_bytes(32, "little"))
    assert err.value.code == "decode.bad_element"


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_scalar_length(size: int) -> None:
    with pytest.raises(DecodeError) as err:
        Scalar(bytes(size))
    assert err.value.code == "decode.bad_element"


def test_scalar_bounds_and_from_wide() -> None:
    assert Scalar((L - 1).to_bytes(32, "little")).to_bytes() == (L - 1).to_bytes(32, "little")
    assert Scalar(bytes(32)).is_zero()
    assert Scalar.from_wide(L.to_bytes(64, "little")).is_zero()
    wide = (2**512 - 1).to_bytes(64, "little")
    assert Scalar.from_wide(wide) == _scalar(2**512 - 1)
    with pytest.raises(UsageError):
        Scalar.from_wide(bytes(32))
    with pytest.raises(UsageError) as err:
        Scalar(bytes(32)).invert()
    assert err.value.code == "usage.bad_argument"


@given(scalars, scalars)
def test_scalar_arithmetic_matches_integers_mod_l(a: int, b: int) -> None:
    x, y = _scalar(a), _scalar(b)
    assert x + y == _scalar(a + b)
    assert x - y == _scalar(a - b)
    assert x * y == _scalar(a * b)
    assert -x == _scalar(-a)


@given(scalars, nonzero)
def test_scalar_inverse(a: int, b: int) -> None:
    x, y = _scalar(a), _scalar(b)
    assert (x * y) * y.invert() == x
    assert y.invert() == _scalar(pow(b, -1, L))


@given(scalars, scalars, scalars)
def test_scalar_ring_identities(a: int, b: int, c: int) -> None:
    x, y, z = _scalar(a), _scalar(b), _scalar(c)
    assert (x + (-x)).is_zero()
    assert x * (y + z) == x * y + x * z


@given(nonzero, nonzero)
def test_scalar_multiplication_of_elements(a: int, b: int) -> None:
    """[a]([b]B) == [a*b]B, and [a]B + [b]B == [a+b]B."""
    x, y = _scalar(a), _scalar(b)
    assert Element.base_mul(y).mul(x) == Element.base_mul(x * y)
    if (a + b) % L:
        assert Element.base_mul(x) + Element.base_mul(y) == Element.base_mul(x + y)


def test_scalar_random_uses_the_rng() -> None:
    stream = iter([bytes(64), b"\x05" + bytes(63)])  # zero is redrawn
    assert Scalar.random(lambda n: next(stream)) == _scalar(5)


def test_scalar_is_a_redacted_unpicklable_immutable_secret() -> None:
    secret = _scalar(0x1234567890ABCDEF)
    text = repr(secret) + str(secret)
    assert "redacted" in repr(secret)
    assert secret.to_bytes().hex() not in text and "1234567890" not in text.lower()
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    with pytest.raises(TypeError):
        copy.copy(secret)
    with pytest.raises(TypeError):
        hash(secret)
    with pytest.raises(AttributeError):
        secret._b = bytes(32)
    assert secret == _scalar(0x1234567890ABCDEF) and secret != secret.to_bytes()
