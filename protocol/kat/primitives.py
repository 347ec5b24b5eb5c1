"""Spec vectors.md §3: the ``primitives`` suite — the primitives exactly as Blindpost uses them.

Official vectors (RFC, Wycheproof, ACVP) check each algorithm in general; this suite pins the way
Blindpost calls them: the labelled KDF of spec §3.2 for every KDF label of the protocol, the
strict Ed25519 policy, the all-zero X25519 rule, our AEAD framing (``ct || tag``), ML-KEM-768 keys
from 64-byte seeds, and the ristretto255 wrappers. Inputs come from :class:`SeededRng`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from .. import labels
from ..primitives import (
    Aes256Block,
    Element,
    Scalar,
    aes_gcm_open,
    aes_gcm_seal,
    chacha20_poly1305_open,
    chacha20_poly1305_seal,
    ed25519_public_key,
    ed25519_sign,
    ed25519_verify,
    labeled_expand,
    labeled_kdf,
    mlkem768_check_public_key,
    mlkem768_decapsulate,
    mlkem768_public_key,
    x25519,
    x25519_public_key,
    xchacha20_poly1305_open,
    xchacha20_poly1305_seal,
)
from . import Case, SeededRng, expect_error
from ._mlkem import encapsulate_deterministic

SUITE: Final = "primitives"

#: A label used only by this suite to pin the labelled-KDF construction itself.
EXAMPLE_LABEL: Final = labels.PREFIX + b"example"

_AEADS: Final[dict[str, tuple[Callable[..., bytes], Callable[..., bytes], int, int]]] = {
    "chacha20-poly1305": (chacha20_poly1305_seal, chacha20_poly1305_open, 32, 12),
    "aes-256-gcm": (aes_gcm_seal, aes_gcm_open, 32, 12),
    "xchacha20-poly1305": (xchacha20_poly1305_seal, xchacha20_poly1305_open, 32, 24),
}

#: u-coordinate 0: the neutral element, of order 1 (RFC 7748 small-order list).
_LOW_ORDER_X25519: Final = bytes(32)
#: An Ed25519 public key of small order: the encoding of the identity point (y = 1).
_LOW_ORDER_ED25519: Final = bytes([1]) + bytes(31)


def _case(case_id: str, comment: str, kind: str, **fields: Any) -> Case:
    return {
        "id": case_id,
        "comment": comment,
        "flags": [kind],
        "result": "valid",
        "error": None,
        "kind": kind,
        **fields,
    }


def _invalid(case_id: str, comment: str, kind: str, error: str, **fields: Any) -> Case:
    case = _case(case_id, comment, kind, **fields)
    case["result"] = "invalid"
    case["error"] = error
    return case


def _kdf_labels() -> list[bytes]:
    return [EXAMPLE_LABEL, *labels.KDF_LABELS]


def generate() -> list[Case]:
    """All cases of the suite, deterministically."""
    rng = SeededRng.for_suite(SUITE)
    cases: list[Case] = []
    for i, label in enumerate(_kdf_labels()):
        ikm, salt, context = rng(32), rng(32), rng(16)
        cases.append(
            _case(
                f"kdf-{i}",
                f"labelled KDF with label {label.decode()!r}",
                "labeled_kdf",
                label=label.hex(),
                ikm=ikm.hex(),
                salt=salt.hex(),
                context=context.hex(),
                length=64,
                output=labeled_kdf(label, ikm, salt, context, 64).hex(),
            )
        )
    for i in range(3):
        sk_a, sk_b = rng(32), rng(32)
        pk_b = x25519_public_key(sk_b)
        cases.append(
            _case(
                f"x25519-{i}",
                "X25519 public key and shared secret",
                "x25519",
                private_key=sk_a.hex(),
                public_key=x25519_public_key(sk_a).hex(),
                peer_public_key=pk_b.hex(),
                shared_secret=x25519(sk_a, pk_b).hex(),
            )
        )
    cases.append(
        _invalid(
            "x25519-low-order",
            "peer public key of small order: all-zero shared secret is refused",
            "x25519",
            "decode.low_order",
            private_key=rng(32).hex(),
            peer_public_key=_LOW_ORDER_X25519.hex(),
        )
    )
    for i, message in enumerate([b"", b"Blindpost", rng(100)]):
        seed = rng(32)
        cases.append(
            _case(
                f"ed25519-{i}",
                "Ed25519 key from seed and deterministic signature",
                "ed25519",
                seed=seed.hex(),
                public_key=ed25519_public_key(seed).hex(),
                message=message.hex(),
                signature=ed25519_sign(seed, message).hex(),
            )
        )
    seed = rng(32)
    signature = ed25519_sign(seed, b"Blindpost")
    tampered = bytes([signature[0] ^ 1]) + signature[1:]
    cases.append(
        _invalid(
            "ed25519-bad-signature",
            "one bit of R flipped",
            "ed25519",
            "auth.failed",
            public_key=ed25519_public_key(seed).hex(),
            message=b"Blindpost".hex(),
            signature=tampered.hex(),
        )
    )
    cases.append(
        _invalid(
            "ed25519-small-order-key",
            "strict policy: a small-order public key is refused whatever the signature",
            "ed25519",
            "auth.failed",
            public_key=_LOW_ORDER_ED25519.hex(),
            message=b"".hex(),
            # R = identity, S = 0 verifies under cofactorless RFC 8032 for A = identity.
            signature=(_LOW_ORDER_ED25519 + bytes(32)).hex(),
        )
    )
    for name, (seal, _open, key_size, nonce_size) in _AEADS.items():
        for i, size in enumerate((0, 1, 100)):
            key, nonce, aad, plaintext = rng(key_size), rng(nonce_size), rng(i * 7), rng(size)
            cases.append(
                _case(
                    f"{name}-{i}",
                    f"{name} seal: ciphertext || 16-byte tag",
                    name,
                    key=key.hex(),
                    nonce=nonce.hex(),
                    aad=aad.hex(),
                    plaintext=plaintext.hex(),
                    ciphertext=seal(key, nonce, plaintext, aad).hex(),
                )
            )
        key, nonce, aad = rng(key_size), rng(nonce_size), rng(5)
        ciphertext = bytearray(seal(key, nonce, b"attack at dawn", aad))
        ciphertext[-1] ^= 0x80
        cases.append(
            _invalid(
                f"{name}-bad-tag",
                "last tag bit flipped",
                name,
                "auth.failed",
                key=key.hex(),
                nonce=nonce.hex(),
                aad=aad.hex(),
                ciphertext=bytes(ciphertext).hex(),
            )
        )
    for i in range(2):
        seed = rng(64)
        public_key = mlkem768_public_key(seed)
        m = rng(32)
        shared, kem_ct = encapsulate_deterministic(public_key, m)
        cases.append(
            _case(
                f"mlkem768-{i}",
                "ML-KEM-768 key from the 64-byte seed d || z; decapsulation of the ciphertext"
                " of Encaps_internal(ek, m) (FIPS 203 Alg 17; m recorded for implementations"
                " that can inject it)",
                "mlkem768",
                seed=seed.hex(),
                public_key=public_key.hex(),
                m=m.hex(),
                ciphertext=kem_ct.hex(),
                shared_secret=shared.hex(),
            )
        )
    bad_key = bytearray(mlkem768_public_key(rng(64)))
    bad_key[0] = 0xFF
    bad_key[1] |= 0x0F  # first 12-bit coefficient = 4095 >= q = 3329
    cases.append(
        _invalid(
            "mlkem768-modulus",
            "encapsulation key with a coefficient >= q fails the FIPS 203 §7.2 check",
            "mlkem768",
            "decode.bad_key",
            public_key=bytes(bad_key).hex(),
        )
    )
    for i in range(3):
        wide = rng(64)
        scalar = Scalar.from_wide(wide)
        uniform = rng(64)
        cases.append(
            _case(
                f"ristretto255-{i}",
                "scalar from 64 bytes mod L; scalar * B; element from 64 uniform bytes",
                "ristretto255",
                wide=wide.hex(),
                scalar=scalar.to_bytes().hex(),
                base_mul=Element.base_mul(scalar).to_bytes().hex(),
                uniform=uniform.hex(),
                element=Element.from_uniform_bytes(uniform).to_bytes().hex(),
            )
        )
    for name, encoding in (
        ("identity", bytes(32)),
        ("non-canonical", b"\xed" + b"\xff" * 30 + b"\x7f"),  # field element p (= 0, unreduced)
        ("negative", bytes([1]) + bytes(31)),  # s = 1 is "negative" (odd)
    ):
        cases.append(
            _invalid(
                f"ristretto255-{name}",
                f"element encoding refused: {name}",
                "ristretto255",
                "decode.bad_element",
                element=encoding.hex(),
            )
        )
    # Their own seed: these inputs do not depend on how many cases come before them.
    expand_rng = SeededRng.for_suite(SUITE, "expand")
    for i, label in enumerate(labels.EXPAND_LABELS):
        prk, context = expand_rng(32), expand_rng(16)
        for j, (ctx, length) in enumerate(((b"", 32), (context, 64))):
            cases.append(
                _case(
                    f"expand-{i}-{j}",
                    f"labelled expand (KDF_EXPAND) with label {label.decode()!r}",
                    "labeled_expand",
                    label=label.hex(),
                    prk=prk.hex(),
                    context=ctx.hex(),
                    length=length,
                    output=labeled_expand(label, prk, ctx, length).hex(),
                )
            )
    header_key = expand_rng(32)
    for n in (0, 1, 2**32 - 1):
        cases.append(
            _case(
                f"ratchet-tag-{n}",
                "ratchet tag of message n under a header key (spec §7.5)",
                "ratchet_tag",
                header_key=header_key.hex(),
                n=n,
                tag_key=_tag_key(header_key).hex(),
                tag=_tag(header_key, n).hex(),
            )
        )
    return cases


def _tag_key(header_key: bytes) -> bytes:
    """Spec §7.2: ``TK(hk) = KDF_EXPAND(LABEL_RATCHET_TAG, hk, "", 32)``."""
    return labeled_expand(labels.LABEL_RATCHET_TAG, header_key, b"", 32)


def _tag(header_key: bytes, n: int) -> bytes:
    """Spec §7.5: ``AES-256-Encrypt(TK(hk), 0^64 || u32be(n) || u32be(2))``."""
    block = bytes(8) + n.to_bytes(4, "big") + (2).to_bytes(4, "big")
    return Aes256Block(_tag_key(header_key)).encrypt(block)


def _eq(field: str, expected: str, got: bytes) -> None:
    if expected != got.hex():
        raise AssertionError(f"{field}: expected {expected}, got {got.hex()}")


def verify(case: Case) -> None:
    """Check one case against this implementation."""
    kind = case["kind"]
    h = bytes.fromhex
    if case["result"] == "invalid":
        actions: dict[str, Callable[[], object]] = {
            "x25519": lambda: x25519(h(case["private_key"]), h(case["peer_public_key"])),
            "ed25519": lambda: ed25519_verify(
                h(case["public_key"]), h(case["message"]), h(case["signature"])
            ),
            "mlkem768": lambda: mlkem768_check_public_key(h(case["public_key"])),
            "ristretto255": lambda: Element(h(case["element"])),
        }
        for name, (_seal, open_, _k, _n) in _AEADS.items():
            actions[name] = lambda open_=open_: open_(  # type: ignore[misc]
                h(case["key"]), h(case["nonce"]), h(case["ciphertext"]), h(case["aad"])
            )
        expect_error(case, actions[kind])
        return
    if kind == "labeled_kdf":
        out = labeled_kdf(
            h(case["label"]), h(case["ikm"]), h(case["salt"]), h(case["context"]), case["length"]
        )
        _eq("output", case["output"], out)
    elif kind == "labeled_expand":
        out = labeled_expand(h(case["label"]), h(case["prk"]), h(case["context"]), case["length"])
        _eq("output", case["output"], out)
    elif kind == "ratchet_tag":
        header_key = h(case["header_key"])
        _eq("tag_key", case["tag_key"], _tag_key(header_key))
        _eq("tag", case["tag"], _tag(header_key, case["n"]))
    elif kind == "x25519":
        sk = h(case["private_key"])
        _eq("public_key", case["public_key"], x25519_public_key(sk))
        _eq("shared_secret", case["shared_secret"], x25519(sk, h(case["peer_public_key"])))
    elif kind == "ed25519":
        seed = h(case["seed"])
        _eq("public_key", case["public_key"], ed25519_public_key(seed))
        _eq("signature", case["signature"], ed25519_sign(seed, h(case["message"])))
        ed25519_verify(h(case["public_key"]), h(case["message"]), h(case["signature"]))
    elif kind in _AEADS:
        seal, open_, _k, _n = _AEADS[kind]
        key, nonce, aad = h(case["key"]), h(case["nonce"]), h(case["aad"])
        _eq("ciphertext", case["ciphertext"], seal(key, nonce, h(case["plaintext"]), aad))
        _eq("plaintext", case["plaintext"], open_(key, nonce, h(case["ciphertext"]), aad))
    elif kind == "mlkem768":
        seed = h(case["seed"])
        _eq("public_key", case["public_key"], mlkem768_public_key(seed))
        shared = mlkem768_decapsulate(seed, h(case["ciphertext"]))
        _eq("shared_secret", case["shared_secret"], shared)
    elif kind == "ristretto255":
        scalar = Scalar.from_wide(h(case["wide"]))
        _eq("scalar", case["scalar"], scalar.to_bytes())
        _eq("base_mul", case["base_mul"], Element.base_mul(scalar).to_bytes())
        _eq("element", case["element"], Element.from_uniform_bytes(h(case["uniform"])).to_bytes())
    else:
        raise AssertionError(f"kind: unknown {kind!r}")
