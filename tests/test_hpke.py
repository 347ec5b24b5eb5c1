"""Spec §3.8: HPKE (protocol.hpke) against RFC 9180, pyca/cryptography, and its failure rules.

* Known answers: every DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 entry of the official RFC 9180
  vectors. Modes base and auth come from the filtered file; modes psk and auth_psk from the
  full (gzipped) file. Each entry is checked field by field: DeriveKeyPair, enc, shared_secret,
  key_schedule_context, secret, key, base_nonce, exporter_secret. Then every encryption runs in
  order on one sender context and one recipient context (seq 0..256), and every export runs on both.
* Interop: pyca/cryptography's own HPKE (an independent implementation) opens what we seal
  and we open what it seals, for the three AEADs.
* Failures: the error codes of spec §3.8, and a recipient context left unchanged by a failed open.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from cryptography.hazmat.bindings._rust import openssl as _rust_openssl
from cryptography.hazmat.primitives import hpke as pyca_hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import example, given, settings
from hypothesis import strategies as st

from protocol import hpke
from protocol.errors import ProtocolError, UsageError
from protocol.hpke import AeadId, Mode, Suite
from protocol.primitives import aes_gcm_seal, chacha20_poly1305_seal
from tests.external import load_json

FILTERED = ("hpke", "rfc9180-x25519-hkdfsha256-base-auth.json")
FULL = ("hpke", "rfc9180-test-vectors-full.json.gz")

# Counts from vectors-external/README.md, so that a silent filter cannot hide cases.
FILTERED_SUITES, FILTERED_ENCRYPTIONS, FILTERED_EXPORTS = 8, 1542, 24
FULL_SUITES, FULL_ENCRYPTIONS, FULL_EXPORTS = 128, 24672, 384
# The psk/auth_psk half of our KEM/KDF in the full file: the same shape as the filtered file.
PSK_SUITES, PSK_ENCRYPTIONS, PSK_EXPORTS = 8, 1542, 24
ENCRYPTIONS_PER_SUITE, EXPORTS_PER_SUITE = 257, 3

AEADS = (AeadId.AES_128_GCM, AeadId.AES_256_GCM, AeadId.CHACHA20_POLY1305)
ALL_AEADS = (*AEADS, AeadId.EXPORT_ONLY)
_AEAD_IDS = {1: "aes128gcm", 2: "aes256gcm", 3: "chacha20poly1305", 0xFFFF: "exportonly"}
_MODE_IDS = {0: "base", 1: "psk", 2: "auth", 3: "authpsk"}

# Small-order X25519 u-coordinates (libsodium's blocklist): 0, 1, the two points of order 8,
# p-1, p and p+1, each also with bit 255 set (RFC 7748 masks it, so they are the same points).
_P = 2**255 - 19
_SMALL_ORDER_U = (
    0,
    1,
    325606250916557431795983626356110631294008115727848805560023387167927233504,
    39382357235489614581723060781553021112529911719440698176882885853963445705823,
    _P - 1,
    _P,
    _P + 1,
)
SMALL_ORDER = [u.to_bytes(32, "little") for u in _SMALL_ORDER_U] + [
    (u + 2**255).to_bytes(32, "little") for u in _SMALL_ORDER_U
]

Entry = dict[str, Any]


def h(x: str) -> bytes:
    return bytes.fromhex(x)


def fixed_rng(value: bytes) -> Callable[[int], bytes]:
    """An rng that returns ``value`` once (the RFC's ``ikmE``), then refuses."""
    calls: list[int] = []

    def rng(n: int) -> bytes:
        assert not calls, "rng drawn twice"
        calls.append(n)
        return value[:n]

    return rng


def no_rng(n: int) -> bytes:
    raise AssertionError("rng must not be drawn")


def code_of(exc: pytest.ExceptionInfo[ProtocolError]) -> str:
    return exc.value.code


# --- loading the official vectors --------------------------------------------------------------


def _ours(entry: Entry) -> bool:
    return entry["kem_id"] == 0x0020 and entry["kdf_id"] == 0x0001 and entry["aead_id"] in _AEAD_IDS


def _load() -> tuple[list[Entry], list[Entry], list[Entry]] | str:
    """(filtered file, full file, psk entries of ours in the full file), or a skip reason."""
    try:
        filtered = load_json(*FILTERED)
        full = load_json(*FULL)
    except pytest.skip.Exception as exc:  # absent locally: skip these cases, not the module
        return str(exc)
    psk = [e for e in full if _ours(e) and e["mode"] in (Mode.PSK, Mode.AUTH_PSK)]
    return filtered, full, psk


_LOADED = _load()


def _params(entries: list[Entry], source: list[Entry], name: str) -> list[Any]:
    """One param per entry; the id names mode, AEAD and the entry's index in its source file."""
    index = {id(e): i for i, e in enumerate(source)}
    return [
        pytest.param(e, id=f"{_MODE_IDS[e['mode']]}-{_AEAD_IDS[e['aead_id']]}-{name}{index[id(e)]}")
        for e in entries
    ]


def _aead_of(entry: Any) -> int:
    return int(entry["aead_id"])


if isinstance(_LOADED, str):
    VECTOR_PARAMS = [pytest.param(None, marks=pytest.mark.skip(reason=_LOADED), id="missing")]
else:
    _filtered, _full, _psk = _LOADED
    VECTOR_PARAMS = _params(_filtered, _filtered, "filtered") + _params(_psk, _full, "full")
#: The entries with encryptions (all but export-only), for the single-shot API.
AEAD_VECTOR_PARAMS = [
    p for p in VECTOR_PARAMS if p.values[0] is None or _aead_of(p.values[0]) != AeadId.EXPORT_ONLY
]


@pytest.mark.external
def test_vector_counts_match_the_readme() -> None:
    if isinstance(_LOADED, str):
        pytest.skip(_LOADED)
    filtered, full, psk = _LOADED
    assert len(filtered) == FILTERED_SUITES
    assert sum(len(e["encryptions"]) for e in filtered) == FILTERED_ENCRYPTIONS
    assert sum(len(e["exports"]) for e in filtered) == FILTERED_EXPORTS
    assert len(full) == FULL_SUITES
    assert sum(len(e["encryptions"]) for e in full) == FULL_ENCRYPTIONS
    assert sum(len(e["exports"]) for e in full) == FULL_EXPORTS
    assert len(psk) == PSK_SUITES
    assert sum(len(e["encryptions"]) for e in psk) == PSK_ENCRYPTIONS
    assert sum(len(e["exports"]) for e in psk) == PSK_EXPORTS
    # Every (mode, AEAD) pair of our KEM/KDF appears exactly once across the two sources.
    pairs = sorted((e["mode"], e["aead_id"]) for e in [*filtered, *psk])
    assert pairs == sorted((m, a) for m in Mode for a in ALL_AEADS)
    # The filtered file is exactly the stated subset of the full file, in the original order.
    assert filtered == [e for e in full if _ours(e) and e["mode"] in (Mode.BASE, Mode.AUTH)]
    assert len(VECTOR_PARAMS) == FILTERED_SUITES + PSK_SUITES
    assert len(AEAD_VECTOR_PARAMS) == len(VECTOR_PARAMS) - 4  # 4 export-only entries


# --- known answers -----------------------------------------------------------------------------


def _check(field: str, got: bytes, want: str) -> None:
    assert got.hex() == want, f"{field}: got {got.hex()}, want {want}"


def _setup_pair(entry: Entry) -> tuple[hpke.SenderContext, hpke.RecipientContext]:
    """Run one vector's setup on both sides, checking every intermediate; return the contexts."""
    mode = Mode(entry["mode"])
    suite = Suite(aead=AeadId(entry["aead_id"]))
    assert suite.kem == entry["kem_id"] and suite.kdf == entry["kdf_id"]
    info = h(entry["info"])
    psk, psk_id = h(entry.get("psk", "")), h(entry.get("psk_id", ""))

    sk_r, pk_r = hpke.derive_key_pair(h(entry["ikmR"]))
    _check("skRm", sk_r, entry["skRm"])
    _check("pkRm", pk_r, entry["pkRm"])
    sk_e, pk_e = hpke.derive_key_pair(h(entry["ikmE"]))
    _check("skEm", sk_e, entry["skEm"])
    _check("pkEm", pk_e, entry["pkEm"])
    sk_s: bytes | None = None
    pk_s: bytes | None = None
    if mode in (Mode.AUTH, Mode.AUTH_PSK):
        sk_s, pk_s = hpke.derive_key_pair(h(entry["ikmS"]))
        _check("skSm", sk_s, entry["skSm"])
        _check("pkSm", pk_s, entry["pkSm"])

    # Sender, through the deterministic seam.
    enc, sender, shared_secret, schedule = hpke._setup_s(
        mode, suite, pk_r, info, h(entry["ikmE"]), psk=psk, psk_id=psk_id, sk_s=sk_s
    )
    _check("enc", enc, entry["enc"])
    _check("shared_secret", shared_secret, entry["shared_secret"])
    _check("key_schedule_context", schedule.key_schedule_context, entry["key_schedule_context"])
    _check("secret", schedule.secret, entry["secret"])
    _check("key", schedule.key, entry["key"])
    _check("base_nonce", schedule.base_nonce, entry["base_nonce"])
    _check("exporter_secret", schedule.exporter_secret, entry["exporter_secret"])

    # The public API with an rng that returns ikmE gives the same enc (the seam is the real path).
    rng = fixed_rng(h(entry["ikmE"]))
    if mode is Mode.BASE:
        enc2, _ = hpke.setup_base_s(suite, pk_r, info, rng=rng)
    elif mode is Mode.PSK:
        enc2, _ = hpke.setup_psk_s(suite, pk_r, info, psk, psk_id, rng=rng)
    elif mode is Mode.AUTH:
        assert sk_s is not None
        enc2, _ = hpke.setup_auth_s(suite, pk_r, info, sk_s, rng=rng)
    else:
        assert sk_s is not None
        enc2, _ = hpke.setup_auth_psk_s(suite, pk_r, info, psk, psk_id, sk_s, rng=rng)
    _check("enc (public setup)", enc2, entry["enc"])

    # Recipient, through the public API only.
    if mode is Mode.BASE:
        _check("Decap", hpke.decap(enc, sk_r), entry["shared_secret"])
        recipient = hpke.setup_base_r(suite, enc, sk_r, info)
    elif mode is Mode.PSK:
        _check("Decap", hpke.decap(enc, sk_r), entry["shared_secret"])
        recipient = hpke.setup_psk_r(suite, enc, sk_r, info, psk, psk_id)
    elif mode is Mode.AUTH:
        assert pk_s is not None
        _check("AuthDecap", hpke.auth_decap(enc, sk_r, pk_s), entry["shared_secret"])
        recipient = hpke.setup_auth_r(suite, enc, sk_r, info, pk_s)
    else:
        assert pk_s is not None
        _check("AuthDecap", hpke.auth_decap(enc, sk_r, pk_s), entry["shared_secret"])
        recipient = hpke.setup_auth_psk_r(suite, enc, sk_r, info, psk, psk_id, pk_s)
    return sender, recipient


@pytest.mark.external
@pytest.mark.parametrize("entry", VECTOR_PARAMS)
def test_rfc9180_vector(entry: Entry) -> None:
    sender, recipient = _setup_pair(entry)
    export_only = entry["aead_id"] == AeadId.EXPORT_ONLY
    assert len(entry["encryptions"]) == (0 if export_only else ENCRYPTIONS_PER_SUITE)
    assert len(entry["exports"]) == EXPORTS_PER_SUITE

    for seq, enc_case in enumerate(entry["encryptions"]):
        aad, pt = h(enc_case["aad"]), h(enc_case["pt"])
        assert sender.seq == recipient.seq == seq
        _check(f"nonce[{seq}]", sender._compute_nonce(seq), enc_case["nonce"])
        _check(f"ct[{seq}]", sender.seal(aad, pt), enc_case["ct"])
        _check(f"pt[{seq}]", recipient.open(aad, h(enc_case["ct"])), enc_case["pt"])
    assert sender.seq == recipient.seq == len(entry["encryptions"])

    for i, exp in enumerate(entry["exports"]):
        ctx, length = h(exp["exporter_context"]), exp["L"]
        _check(f"exports[{i}] (sender)", sender.export(ctx, length), exp["exported_value"])
        _check(f"exports[{i}] (recipient)", recipient.export(ctx, length), exp["exported_value"])

    if export_only:
        with pytest.raises(UsageError) as exc:
            sender.seal(b"", b"")
        assert code_of(exc) == "usage.export_only"
        with pytest.raises(UsageError) as exc:
            recipient.open(b"", bytes(16))
        assert code_of(exc) == "usage.export_only"


@pytest.mark.external
@pytest.mark.parametrize("entry", AEAD_VECTOR_PARAMS)
def test_rfc9180_vector_single_shot(entry: Entry) -> None:
    """Seal<MODE>/Open<MODE> reproduce the first encryption (enc, ct) of each AEAD vector."""
    mode = Mode(entry["mode"])
    suite = Suite(aead=AeadId(entry["aead_id"]))
    info, first = h(entry["info"]), entry["encryptions"][0]
    aad, pt, ct = h(first["aad"]), h(first["pt"]), h(first["ct"])
    psk, psk_id = h(entry.get("psk", "")), h(entry.get("psk_id", ""))
    sk_r, pk_r = hpke.derive_key_pair(h(entry["ikmR"]))
    rng, enc = fixed_rng(h(entry["ikmE"])), h(entry["enc"])
    if mode is Mode.BASE:
        assert hpke.seal_base(suite, pk_r, info, aad, pt, rng=rng) == (enc, ct)
        assert hpke.open_base(suite, enc, sk_r, info, aad, ct) == pt
    elif mode is Mode.PSK:
        assert hpke.seal_psk(suite, pk_r, info, aad, pt, psk, psk_id, rng=rng) == (enc, ct)
        assert hpke.open_psk(suite, enc, sk_r, info, aad, ct, psk, psk_id) == pt
    else:
        sk_s, pk_s = hpke.derive_key_pair(h(entry["ikmS"]))
        if mode is Mode.AUTH:
            assert hpke.seal_auth(suite, pk_r, info, aad, pt, sk_s, rng=rng) == (enc, ct)
            assert hpke.open_auth(suite, enc, sk_r, info, aad, ct, pk_s) == pt
        else:
            sealed = hpke.seal_auth_psk(suite, pk_r, info, aad, pt, psk, psk_id, sk_s, rng=rng)
            assert sealed == (enc, ct)
            assert hpke.open_auth_psk(suite, enc, sk_r, info, aad, ct, psk, psk_id, pk_s) == pt


# --- interop with pyca/cryptography's HPKE ------------------------------------------------------

_PYCA_AEAD = {
    AeadId.AES_128_GCM: pyca_hpke.AEAD.AES_128_GCM,
    AeadId.AES_256_GCM: pyca_hpke.AEAD.AES_256_GCM,
    AeadId.CHACHA20_POLY1305: pyca_hpke.AEAD.CHACHA20_POLY1305,
}


def _pyca_suite(aead: AeadId) -> pyca_hpke.Suite:
    return pyca_hpke.Suite(pyca_hpke.KEM.X25519, pyca_hpke.KDF.HKDF_SHA256, _PYCA_AEAD[aead])


def _pyca_key(sk: bytes) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(sk)


_keys = st.binary(min_size=32, max_size=32)
_plaintexts = st.one_of(
    st.binary(max_size=64),
    st.integers(min_value=0, max_value=5000).map(lambda n: bytes(i % 251 for i in range(n))),
)
_infos = st.binary(max_size=80)


@pytest.mark.parametrize("aead", AEADS, ids=lambda a: _AEAD_IDS[a])
@settings(max_examples=40, deadline=None)
@given(sk_r=_keys, ikm_e=_keys, pt=_plaintexts, info=_infos)
@example(sk_r=bytes(range(32)), ikm_e=bytes(32), pt=b"", info=b"")
@example(sk_r=bytes(range(32)), ikm_e=bytes(32), pt=bytes(65536), info=b"x" * 300)
def test_pyca_opens_what_we_seal(
    aead: AeadId, sk_r: bytes, ikm_e: bytes, pt: bytes, info: bytes
) -> None:
    suite = Suite(aead=aead)
    pk_r = _pyca_key(sk_r).public_key().public_bytes_raw()
    enc, ct = hpke.seal_base(suite, pk_r, info, b"", pt, rng=fixed_rng(ikm_e))
    assert len(enc) == hpke.N_ENC and len(ct) == len(pt) + aead.n_t
    assert _pyca_suite(aead).decrypt(enc + ct, _pyca_key(sk_r), info=info) == pt


@pytest.mark.parametrize("aead", AEADS, ids=lambda a: _AEAD_IDS[a])
@settings(max_examples=40, deadline=None)
@given(sk_r=_keys, pt=_plaintexts, info=_infos)
@example(sk_r=bytes(range(32)), pt=b"", info=b"")
@example(sk_r=bytes(range(32)), pt=bytes(65536), info=b"x" * 300)
def test_we_open_what_pyca_seals(aead: AeadId, sk_r: bytes, pt: bytes, info: bytes) -> None:
    message = _pyca_suite(aead).encrypt(pt, _pyca_key(sk_r).public_key(), info=info)
    enc, ct = message[: hpke.N_ENC], message[hpke.N_ENC :]
    assert hpke.open_base(Suite(aead=aead), enc, sk_r, info, b"", ct) == pt


_pyca_encrypt_aad = getattr(_rust_openssl.hpke, "_encrypt_with_aad", None)
_pyca_decrypt_aad = getattr(_rust_openssl.hpke, "_decrypt_with_aad", None)


@pytest.mark.skipif(_pyca_encrypt_aad is None, reason="this cryptography has no HPKE aad seam")
@pytest.mark.parametrize("aead", AEADS, ids=lambda a: _AEAD_IDS[a])
@settings(max_examples=20, deadline=None)
@given(sk_r=_keys, ikm_e=_keys, pt=st.binary(max_size=300), info=_infos, aad=st.binary(max_size=80))
def test_pyca_interop_with_aad(
    aead: AeadId, sk_r: bytes, ikm_e: bytes, pt: bytes, info: bytes, aad: bytes
) -> None:
    """Both directions with aad, through cryptography's private (test) aad entry points."""
    assert _pyca_encrypt_aad is not None and _pyca_decrypt_aad is not None
    suite, pyca_suite, key = Suite(aead=aead), _pyca_suite(aead), _pyca_key(sk_r)
    pk_r = key.public_key().public_bytes_raw()
    enc, ct = hpke.seal_base(suite, pk_r, info, aad, pt, rng=fixed_rng(ikm_e))
    assert _pyca_decrypt_aad(pyca_suite, enc + ct, key, info=info, aad=aad) == pt
    message = _pyca_encrypt_aad(pyca_suite, pt, key.public_key(), info=info, aad=aad)
    assert hpke.open_base(suite, message[:32], sk_r, info, aad, message[32:]) == pt


# --- round trips in every mode -----------------------------------------------------------------

_SK_R, _PK_R = hpke.derive_key_pair(b"recipient".ljust(32, b"."))
_SK_S, _PK_S = hpke.derive_key_pair(b"sender".ljust(32, b"."))
_PSK, _PSK_ID = b"p" * 32, b"psk id"
_INFO = b"Blindpost test info"


def _pair(
    mode: Mode, aead: AeadId, ikm_e: bytes = bytes(32)
) -> tuple[bytes, hpke.SenderContext, hpke.RecipientContext]:
    suite, rng = Suite(aead=aead), fixed_rng(ikm_e)
    if mode is Mode.BASE:
        enc, s = hpke.setup_base_s(suite, _PK_R, _INFO, rng=rng)
        r = hpke.setup_base_r(suite, enc, _SK_R, _INFO)
    elif mode is Mode.PSK:
        enc, s = hpke.setup_psk_s(suite, _PK_R, _INFO, _PSK, _PSK_ID, rng=rng)
        r = hpke.setup_psk_r(suite, enc, _SK_R, _INFO, _PSK, _PSK_ID)
    elif mode is Mode.AUTH:
        enc, s = hpke.setup_auth_s(suite, _PK_R, _INFO, _SK_S, rng=rng)
        r = hpke.setup_auth_r(suite, enc, _SK_R, _INFO, _PK_S)
    else:
        enc, s = hpke.setup_auth_psk_s(suite, _PK_R, _INFO, _PSK, _PSK_ID, _SK_S, rng=rng)
        r = hpke.setup_auth_psk_r(suite, enc, _SK_R, _INFO, _PSK, _PSK_ID, _PK_S)
    return enc, s, r


def _single_shot(
    mode: Mode, suite: Suite, rng: Callable[[int], bytes], aad: bytes, pt: bytes
) -> tuple[bytes, bytes]:
    if mode is Mode.BASE:
        return hpke.seal_base(suite, _PK_R, _INFO, aad, pt, rng=rng)
    if mode is Mode.PSK:
        return hpke.seal_psk(suite, _PK_R, _INFO, aad, pt, _PSK, _PSK_ID, rng=rng)
    if mode is Mode.AUTH:
        return hpke.seal_auth(suite, _PK_R, _INFO, aad, pt, _SK_S, rng=rng)
    return hpke.seal_auth_psk(suite, _PK_R, _INFO, aad, pt, _PSK, _PSK_ID, _SK_S, rng=rng)


def _single_open(mode: Mode, suite: Suite, enc: bytes, aad: bytes, ct: bytes) -> bytes:
    if mode is Mode.BASE:
        return hpke.open_base(suite, enc, _SK_R, _INFO, aad, ct)
    if mode is Mode.PSK:
        return hpke.open_psk(suite, enc, _SK_R, _INFO, aad, ct, _PSK, _PSK_ID)
    if mode is Mode.AUTH:
        return hpke.open_auth(suite, enc, _SK_R, _INFO, aad, ct, _PK_S)
    return hpke.open_auth_psk(suite, enc, _SK_R, _INFO, aad, ct, _PSK, _PSK_ID, _PK_S)


@pytest.mark.parametrize("mode", list(Mode), ids=lambda m: _MODE_IDS[m])
@pytest.mark.parametrize("aead", AEADS, ids=lambda a: _AEAD_IDS[a])
@settings(max_examples=15, deadline=None)
@given(ikm_e=_keys, aad=st.binary(max_size=80), pt=st.binary(max_size=300), flip=st.integers(0))
def test_single_shot_is_the_context_at_sequence_zero(
    mode: Mode, aead: AeadId, ikm_e: bytes, aad: bytes, pt: bytes, flip: int
) -> None:
    """Seal<MODE>/Open<MODE> skip the context object (RFC 9180 §6.1: a context used once, at
    seq 0): same (enc, ct) as Setup<MODE>S and ContextS.Seal, each opens the other's, and a
    changed byte fails in both the same way."""
    suite = Suite(aead=aead)
    enc, sender, recipient = _pair(mode, aead, ikm_e)
    ct = sender.seal(aad, pt)
    assert _single_shot(mode, suite, fixed_rng(ikm_e), aad, pt) == (enc, ct)
    assert _single_open(mode, suite, enc, aad, ct) == pt == recipient.open(aad, ct)
    tampered = bytearray(ct)
    tampered[flip % len(ct)] ^= 0x01
    _, _, fresh = _pair(mode, aead, ikm_e)
    for open_ in (
        lambda: _single_open(mode, suite, enc, aad, bytes(tampered)),
        lambda: fresh.open(aad, bytes(tampered)),
    ):
        with pytest.raises(ProtocolError) as exc:
            open_()
        assert code_of(exc) == "auth.failed"


@pytest.mark.parametrize("mode", list(Mode), ids=lambda m: _MODE_IDS[m])
@pytest.mark.parametrize("aead", ALL_AEADS, ids=lambda a: _AEAD_IDS[a])
def test_round_trip_every_mode(mode: Mode, aead: AeadId) -> None:
    _, s, r = _pair(mode, aead)
    assert s.export(b"ctx", 64) == r.export(b"ctx", 64)
    assert s.export(b"ctx", 64) != s.export(b"ctx2", 64)
    if aead is AeadId.EXPORT_ONLY:
        return
    for i in range(5):
        msg = bytes([i]) * i
        assert r.open(b"aad%d" % i, s.seal(b"aad%d" % i, msg)) == msg


def test_generate_key_pair_and_encap_use_the_rng() -> None:
    sk, pk = hpke.generate_key_pair(fixed_rng(b"k" * 32))
    assert (sk, pk) == hpke.derive_key_pair(b"k" * 32)
    shared, enc = hpke.encap(pk, rng=fixed_rng(b"e" * 32))
    assert hpke.decap(enc, sk) == shared
    shared, enc = hpke.auth_encap(pk, _SK_S, rng=fixed_rng(b"e" * 32))
    assert hpke.auth_decap(enc, sk, _PK_S) == shared
    assert hpke.decap(enc, sk) != shared


# --- failures ----------------------------------------------------------------------------------


@contextmanager
def raises(code: str) -> Iterator[None]:
    """Expect a :class:`ProtocolError` with this code (tests compare codes, never messages)."""
    with pytest.raises(ProtocolError) as exc:
        yield
    assert exc.value.code == code


@pytest.mark.parametrize("mode", list(Mode), ids=lambda m: _MODE_IDS[m])
@pytest.mark.parametrize("aead", AEADS, ids=lambda a: _AEAD_IDS[a])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_tampered_ct_fails_and_leaves_context_unchanged(
    mode: Mode, aead: AeadId, data: st.DataObject
) -> None:
    _, s, r = _pair(mode, aead)
    first, second = s.seal(b"a", b"one"), s.seal(b"a", b"two")
    kind = data.draw(st.sampled_from(["flip", "truncate", "extend", "aad", "reorder"]))
    aad = b"a"
    if kind == "flip":
        i = data.draw(st.integers(0, len(first) * 8 - 1))
        bad = bytearray(first)
        bad[i // 8] ^= 1 << (i % 8)
        bad_ct = bytes(bad)
    elif kind == "truncate":
        bad_ct = first[: data.draw(st.integers(0, len(first) - 1))]
    elif kind == "extend":
        bad_ct = first + data.draw(st.binary(min_size=1, max_size=4))
    elif kind == "aad":
        bad_ct, aad = first, data.draw(st.binary(max_size=4).filter(lambda x: x != b"a"))
    else:
        bad_ct = second  # the message for seq 1 while the recipient is at seq 0
    with raises("auth.failed"):
        r.open(aad, bad_ct)
    assert r.seq == 0
    assert r.open(b"a", first) == b"one"  # the failure did not advance or poison the context
    assert r.open(b"a", second) == b"two"
    assert r.seq == 2


@pytest.mark.parametrize("aead", AEADS, ids=lambda a: _AEAD_IDS[a])
def test_tampered_setup_inputs_fail_auth(aead: AeadId) -> None:
    suite = Suite(aead=aead)
    enc, ct = hpke.seal_base(suite, _PK_R, _INFO, b"aad", b"pt", rng=fixed_rng(bytes(32)))
    assert hpke.open_base(suite, enc, _SK_R, _INFO, b"aad", ct) == b"pt"
    flipped = bytes([enc[0] ^ 1]) + enc[1:]
    # Bit 255 of the u-coordinate is masked by X25519, so `high` is the same point; it still
    # fails, because kem_context binds the enc bytes as received.
    high = enc[:31] + bytes([enc[31] ^ 0x80])
    cases = [
        (flipped, _SK_R, _INFO, b"aad", suite),
        (high, _SK_R, _INFO, b"aad", suite),
        (enc, _SK_R, _INFO + b"!", b"aad", suite),  # info
        (enc, _SK_R, _INFO, b"aad!", suite),  # aad
        (enc, _SK_S, _INFO, b"aad", suite),  # wrong recipient key
    ]
    # suite_id is bound into the key schedule: the same enc under another AEAD fails too.
    cases += [(enc, _SK_R, _INFO, b"aad", Suite(aead=o)) for o in AEADS if o is not aead]
    for bad_enc, sk_r, info, aad, bad_suite in cases:
        with raises("auth.failed"):
            hpke.open_base(bad_suite, bad_enc, sk_r, info, aad, ct)


def test_auth_and_psk_bind_their_inputs() -> None:
    suite, rng = Suite(aead=AeadId.CHACHA20_POLY1305), fixed_rng(bytes(32))
    enc, ct = hpke.seal_auth_psk(suite, _PK_R, _INFO, b"", b"pt", _PSK, _PSK_ID, _SK_S, rng=rng)
    ok = hpke.open_auth_psk(suite, enc, _SK_R, _INFO, b"", ct, _PSK, _PSK_ID, _PK_S)
    assert ok == b"pt"
    for psk, psk_id, pk_s in [
        (b"q" * 32, _PSK_ID, _PK_S),  # wrong psk
        (_PSK, b"other id", _PK_S),  # wrong psk_id
        (_PSK, _PSK_ID, _PK_R),  # wrong sender key
    ]:
        with raises("auth.failed"):
            hpke.open_auth_psk(suite, enc, _SK_R, _INFO, b"", ct, psk, psk_id, pk_s)
    # Mode confusion: the same enc and ct opened in another mode fail.
    with raises("auth.failed"):
        hpke.open_auth(suite, enc, _SK_R, _INFO, b"", ct, _PK_S)
    with raises("auth.failed"):
        hpke.open_psk(suite, enc, _SK_R, _INFO, b"", ct, _PSK, _PSK_ID)
    with raises("auth.failed"):
        hpke.open_base(suite, enc, _SK_R, _INFO, b"", ct)


def test_psk_input_rules() -> None:
    suite = Suite(aead=AeadId.AES_128_GCM)
    for psk, psk_id in [(b"", b""), (_PSK, b""), (b"", _PSK_ID), (b"short", _PSK_ID)]:
        with raises("usage.bad_argument"):
            hpke.setup_psk_s(suite, _PK_R, _INFO, psk, psk_id, rng=no_rng)
        with raises("usage.bad_argument"):
            hpke.setup_psk_r(suite, bytes(32), _SK_R, _INFO, psk, psk_id)
        with raises("usage.bad_argument"):
            hpke.seal_auth_psk(suite, _PK_R, _INFO, b"", b"", psk, psk_id, _SK_S, rng=no_rng)
    # "PSK input provided when not needed" (reachable only through the private seam).
    with raises("usage.bad_argument"):
        hpke._setup_s(Mode.BASE, suite, _PK_R, _INFO, bytes(32), psk=_PSK, psk_id=b"i")


@pytest.mark.parametrize("mode", list(Mode), ids=lambda m: _MODE_IDS[m])
def test_export_only(mode: Mode) -> None:
    suite = Suite(aead=AeadId.EXPORT_ONLY)
    enc, s, r = _pair(mode, AeadId.EXPORT_ONLY)
    with raises("usage.export_only"):
        s.seal(b"", b"pt")
    with raises("usage.export_only"):
        r.open(b"", bytes(16))
    assert s.seq == r.seq == 0
    # Single-shot refuses before drawing randomness or doing any key agreement.
    with raises("usage.export_only"):
        hpke.seal_base(suite, _PK_R, b"", b"", b"", rng=no_rng)
    with raises("usage.export_only"):
        hpke.seal_auth(suite, _PK_R, b"", b"", b"", _SK_S, rng=no_rng)
    with raises("usage.export_only"):
        hpke.open_base(suite, enc, _SK_R, b"", b"", bytes(16))


@pytest.mark.parametrize("aead", AEADS, ids=lambda a: _AEAD_IDS[a])
def test_sequence_overflow(aead: AeadId) -> None:
    _, s, r = _pair(Mode.BASE, aead)
    top = hpke.MAX_SEQUENCE_NUMBER
    assert top == 2**96 - 1
    # The last usable sequence number, top - 1, works on both sides.
    s._seq = r._seq = top - 1
    ct = s.seal(b"", b"last")
    assert r.open(b"", ct) == b"last"
    assert s.seq == r.seq == top
    # Sender: refuses before encrypting, state unchanged.
    with raises("state.sequence_overflow"):
        s.seal(b"", b"one more")
    assert s.seq == top
    # Recipient: authenticate first (a bad ct at the limit is auth.failed) ...
    with raises("auth.failed"):
        r.open(b"", bytes(32))
    # ... then the state check: a genuine ciphertext for seq = top is refused, state unchanged.
    nonce = r._compute_nonce(top)
    assert nonce == bytes(a ^ 0xFF for a in r._base_nonce)
    seal = chacha20_poly1305_seal if aead is AeadId.CHACHA20_POLY1305 else aes_gcm_seal
    genuine = seal(r._key, nonce, b"x", b"")
    with raises("state.sequence_overflow"):
        r.open(b"", genuine)
    assert r.seq == top


@pytest.mark.parametrize("bad", SMALL_ORDER, ids=lambda b: b.hex()[:8] + "-" + b.hex()[-2:])
def test_low_order_public_keys(bad: bytes) -> None:
    suite = Suite(aead=AeadId.CHACHA20_POLY1305)
    with raises("decode.low_order"):  # enc
        hpke.setup_base_r(suite, bad, _SK_R, b"")
    with raises("decode.low_order"):  # enc, before the bogus ct is looked at
        hpke.open_base(suite, bad, _SK_R, b"", b"", bytes(32))
    with raises("decode.low_order"):  # enc, auth mode
        hpke.setup_auth_r(suite, bad, _SK_R, b"", _PK_S)
    with raises("decode.low_order"):  # pkS
        hpke.setup_auth_r(suite, _PK_S, _SK_R, b"", bad)
    with raises("decode.low_order"):  # pkR, sender side
        hpke.setup_base_s(suite, bad, b"", rng=fixed_rng(bytes(32)))
    with raises("decode.low_order"):  # pkR, auth sender
        hpke.seal_auth(suite, bad, b"", b"", b"", _SK_S, rng=fixed_rng(bytes(32)))


def test_malformed_lengths() -> None:
    suite = Suite(aead=AeadId.AES_256_GCM)
    bad_keys: list[Any] = [b"", bytes(31), bytes(33), bytearray(_PK_S), "x" * 32]
    for enc in bad_keys:
        # decode.length comes before any cryptography, so even a bogus ct gives it.
        with raises("decode.length"):
            hpke.open_base(suite, enc, _SK_R, b"", b"", b"")
        with raises("decode.length"):  # pkS
            hpke.setup_auth_r(suite, _PK_S, _SK_R, b"", enc)
        with raises("decode.length"):  # pkR: found before the rng is drawn
            hpke.setup_base_s(suite, enc, b"", rng=no_rng)
    for sk in bad_keys:
        with raises("usage.bad_argument"):
            hpke.setup_base_r(suite, _PK_S, sk, b"")
        with raises("usage.bad_argument"):
            hpke.setup_auth_s(suite, _PK_R, b"", sk, rng=no_rng)
    with raises("usage.bad_argument"):
        hpke.derive_key_pair(bytes(31))
    with raises("usage.rng"):
        hpke.setup_base_s(suite, _PK_R, b"", rng=lambda n: bytes(n - 1))


def test_export_length_limits() -> None:
    _, s, r = _pair(Mode.BASE, AeadId.EXPORT_ONLY)
    assert s.export(b"", 0) == b""
    assert len(r.export(b"", hpke.MAX_EXPORT_LENGTH)) == 255 * hpke.N_H == 8160
    bad_lengths: list[Any] = [hpke.MAX_EXPORT_LENGTH + 1, -1, 1 << 16, True, 3.0]
    for bad in bad_lengths:
        with raises("usage.bad_argument"):
            s.export(b"", bad)


def test_suite_ids() -> None:
    suite = Suite(aead=AeadId.CHACHA20_POLY1305)
    assert suite == Suite(kem=hpke.KemId(0x20), kdf=hpke.KdfId(1), aead=AeadId(3))
    assert suite.suite_id == b"HPKE" + bytes.fromhex("002000010003")
    assert hpke._KEM_SUITE_ID == b"KEM\x00\x20"
    plain: Any = 3
    assert Suite(aead=plain) == suite  # plain ints are coerced to the enums
    bad_ids: list[dict[str, Any]] = [{"aead": 4}, {"aead": 3, "kem": 0x10}, {"aead": 3, "kdf": 2}]
    for kwargs in bad_ids:
        with raises("usage.bad_argument"):
            Suite(**kwargs)
    with pytest.raises(AttributeError):
        suite.aead = AeadId.AES_128_GCM  # type: ignore[misc]


def test_contexts_keep_their_secrets() -> None:
    _, s, r = _pair(Mode.AUTH_PSK, AeadId.AES_128_GCM)
    contexts: list[hpke.SenderContext | hpke.RecipientContext] = [s, r]
    for ctx in contexts:
        text = repr(ctx)
        assert "redacted" in text and "seq=0" in text
        for secret in (ctx._key, ctx._base_nonce, ctx._exporter_secret):
            assert secret.hex() not in text and repr(secret) not in text
        with pytest.raises(TypeError):
            pickle.dumps(ctx)
        with pytest.raises(TypeError):
            copy.copy(ctx)  # a copied sender would reuse nonces
        with pytest.raises(TypeError):
            copy.deepcopy(ctx)
    schedule = hpke._setup_s(Mode.BASE, Suite(aead=AeadId.AES_128_GCM), _PK_R, b"", bytes(32))[3]
    assert schedule.key.hex() not in repr(schedule)
    with pytest.raises(TypeError):
        pickle.dumps(schedule)


def test_a_parsed_recipient_key_decapsulates_like_its_bytes() -> None:
    """Spec §3.8: ``skR`` may be an X25519KeyPair (``pk(skR)`` computed once); same results."""
    from protocol.primitives import X25519KeyPair, system_rng

    suite = Suite(aead=AeadId.CHACHA20_POLY1305)
    sk_r, pk_r = hpke.derive_key_pair(bytes(range(32)))
    sk_s, pk_s = hpke.derive_key_pair(bytes(range(1, 33)))
    key = X25519KeyPair(sk_r)
    enc, ct = hpke.seal_auth_psk(suite, pk_r, b"info", b"aad", b"pt", bytes(32), b"id", sk_s,
                                 rng=system_rng)
    for recipient in (sk_r, key):
        assert hpke.open_auth_psk(suite, enc, recipient, b"info", b"aad", ct, bytes(32), b"id",
                                  pk_s) == b"pt"
        assert hpke.decap(enc, recipient) == hpke.decap(enc, sk_r)
    with pytest.raises(ProtocolError) as caught:
        hpke.open_auth_psk(suite, enc, X25519KeyPair(sk_s), b"info", b"aad", ct, bytes(32), b"id",
                           pk_s)
    assert caught.value.code == "auth.failed"
