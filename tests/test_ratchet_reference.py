"""Spec §7 against an independent reimplementation of Signal's header-encryption pseudocode.

``_Reference`` follows the Double Ratchet specification §4 (``RatchetInitAliceHE``,
``RatchetEncryptHE``, ``RatchetDecryptHE``, ``TrySkippedMessageKeysHE``, ``DecryptHeader``,
``SkipMessageKeysHE``, ``DHRatchetHE``) line by line, with Blindpost's choices of spec §7.2–7.5
(KDFs, tag, fixed layout) written out directly over pyca/cryptography and the standard library:
nothing from ``protocol`` is used to compute it. Like the pseudocode it is not transactional,
so the test restores a deep copy of it when it fails.

Hypothesis drives both implementations through the same random conversation (sends in both
directions, deliveries in any order, losses, replays) with the same randomness, and requires
identical message bytes, identical plaintexts and the same set of failures.

The published ``ratchet`` vectors are replayed through the reference too. For them it also
carries Blindpost's bounds of §7.4–§7.6 (jump, stored skipped keys with oldest-first eviction,
chain age), written the way Signal's pseudocode suggests — evict whenever a key is stored, age
chains inside ``DHRatchetHE`` — and, separately, in the order §7.6 states (age first, evict
once at the end), so the test shows which keys each reading keeps.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.errors import ProtocolError
from protocol.ratchet import Limits, Session
from tests.external import REPO

MAX_SKIP = 40
LIMITS = Limits(max_jump=MAX_SKIP, max_skipped_keys=20_000, max_chain_age=64, tag_window=8)
ROOT_LABEL = b"Blindpost-v1 ratchet-root"
TAG_LABEL = b"Blindpost-v1 ratchet-tag"
Z12 = bytes(12)
Z8 = bytes(8)
CTR2 = (2).to_bytes(4, "big")


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA256(), length, salt or bytes(32), info).derive(ikm)


def kdf_rk(rk: bytes, dh_out: bytes) -> tuple[bytes, bytes, bytes]:
    out = _hkdf(rk, dh_out, ROOT_LABEL + b"\x00", 96)
    return out[:32], out[32:64], out[64:]


def kdf_ck(ck: bytes) -> tuple[bytes, bytes]:
    return (
        hmac.new(ck, b"\x02", hashlib.sha256).digest(),
        hmac.new(ck, b"\x01", hashlib.sha256).digest(),
    )


def tag_key(hk: bytes) -> bytes:
    # KDF_EXPAND (§3.2): HKDF-Expand only, one block, T(1) = HMAC(hk, info || 0x01)
    return hmac.new(hk, TAG_LABEL + b"\x00" + b"\x01", hashlib.sha256).digest()


def tag_of(hk: bytes, n: int) -> bytes:
    encryptor = Cipher(algorithms.AES(tag_key(hk)), modes.ECB()).encryptor()
    return encryptor.update(Z8 + n.to_bytes(4, "big") + CTR2) + encryptor.finalize()


def number_of(hk: bytes, tag: bytes) -> int | None:
    decryptor = Cipher(algorithms.AES(tag_key(hk)), modes.ECB()).decryptor()
    block = decryptor.update(tag) + decryptor.finalize()
    return int.from_bytes(block[8:12], "big") if block[:8] + block[12:] == Z8 + CTR2 else None


def dh(private: bytes, public: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private).exchange(
        X25519PublicKey.from_public_bytes(public)
    )


def public_of(private: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


class RefError(Exception):
    pass


@dataclass
class _Reference:
    """Signal's §4 state, field for field; ``rng`` hands out DH private keys."""

    rng: list[bytes]
    AD: bytes
    DHs: bytes = b""
    DHr: bytes | None = None
    RK: bytes = b""
    CKs: bytes | None = None
    CKr: bytes | None = None
    Ns: int = 0
    Nr: int = 0
    PN: int = 0
    MKSKIPPED: dict[tuple[bytes, int], bytes] = field(default_factory=dict)
    HKs: bytes | None = None
    HKr: bytes | None = None
    NHKs: bytes = b""
    NHKr: bytes = b""
    # Blindpost's bounds (§7.4-§7.6); the defaults leave Signal's pseudocode as it is.
    max_skip: int = MAX_SKIP
    max_skipped: int | None = None  # evict oldest first beyond this many stored keys
    max_age: int | None = None  # delete previous chains more than this many steps old
    age_first: bool = False  # §7.6 order: age, store, evict once (else evict at every store)
    index: int = 0  # the current receiving chain's number (§7.2)
    chain_index: dict[bytes, int] = field(default_factory=dict)  # header key -> chain number

    def generate_dh(self) -> bytes:
        return self.rng.pop(0)

    def store(self, hk: bytes, n: int, mk: bytes) -> None:
        self.MKSKIPPED[hk, n] = mk
        if not self.age_first:
            self.evict()

    def evict(self) -> None:
        """Oldest first: MKSKIPPED keeps insertion order, which is the order of storage."""
        if self.max_skipped is not None:
            while len(self.MKSKIPPED) > self.max_skipped:
                del self.MKSKIPPED[next(iter(self.MKSKIPPED))]

    def age(self, current: int) -> None:
        """Delete every chain more than ``max_age`` below ``current``, with its keys."""
        if self.max_age is None:
            return
        old = {hk for hk, i in self.chain_index.items() if i < current - self.max_age}
        for key in [k for k in self.MKSKIPPED if k[0] in old]:
            del self.MKSKIPPED[key]
        for hk in old:
            del self.chain_index[hk]

    @classmethod
    def alice(
        cls, sk: bytes, bob_public: bytes, hka: bytes, nhkb: bytes, ad: bytes, rng: list[bytes]
    ) -> _Reference:
        s = cls(rng=rng, AD=ad)
        s.DHs = s.generate_dh()
        s.DHr = bob_public
        s.RK, s.CKs, s.NHKs = kdf_rk(sk, dh(s.DHs, s.DHr))
        s.HKs, s.NHKr = hka, nhkb
        return s

    @classmethod
    def bob(
        cls, sk: bytes, bob_private: bytes, hka: bytes, nhkb: bytes, ad: bytes, rng: list[bytes]
    ) -> _Reference:
        s = cls(rng=rng, AD=ad)
        s.DHs = bob_private
        s.RK = sk
        s.NHKs, s.NHKr = nhkb, hka
        return s

    def encrypt(self, plaintext: bytes) -> bytes:
        assert self.CKs is not None and self.HKs is not None
        self.CKs, mk = kdf_ck(self.CKs)
        header = public_of(self.DHs) + self.PN.to_bytes(4, "big") + self.Ns.to_bytes(4, "big")
        nonce = bytes(8) + self.Ns.to_bytes(4, "big")
        tag = tag_of(self.HKs, self.Ns)
        enc_header = ChaCha20Poly1305(self.HKs).encrypt(nonce, header, b"")
        self.Ns += 1
        body = ChaCha20Poly1305(mk).encrypt(Z12, plaintext, self.AD + tag + enc_header)
        return tag + enc_header + body

    def decrypt(self, message: bytes) -> bytes:
        tag, enc_header, body = message[:16], message[16:72], message[72:]
        plaintext = self.try_skipped(tag, enc_header, body)
        if plaintext is not None:
            return plaintext
        header, dh_ratchet = self.decrypt_header(tag, enc_header)
        pn = int.from_bytes(header[32:36], "big")
        n = int.from_bytes(header[36:40], "big")
        if dh_ratchet:
            if self.age_first:
                self.age(self.index + 1)
            self.skip(pn)
            self.dh_ratchet(header[:32])
        self.skip(n)
        if self.age_first:
            self.evict()
        assert self.CKr is not None
        self.CKr, mk = kdf_ck(self.CKr)
        self.Nr += 1
        return self.open(mk, tag, enc_header, body)

    def open(self, mk: bytes, tag: bytes, enc_header: bytes, body: bytes) -> bytes:
        try:
            return ChaCha20Poly1305(mk).decrypt(Z12, body, self.AD + tag + enc_header)
        except InvalidTag:
            raise RefError("body") from None

    def try_skipped(self, tag: bytes, enc_header: bytes, body: bytes) -> bytes | None:
        for (hk, n), mk in list(self.MKSKIPPED.items()):
            if tag_of(hk, n) == tag:
                del self.MKSKIPPED[hk, n]
                return self.open(mk, tag, enc_header, body)
        return None

    def decrypt_header(self, tag: bytes, enc_header: bytes) -> tuple[bytes, bool]:
        for hk, dh_ratchet in ((self.HKr, False), (self.NHKr, True)):
            if hk is None:
                continue
            n = number_of(hk, tag)
            if n is None:
                continue
            try:
                header = ChaCha20Poly1305(hk).decrypt(
                    bytes(8) + n.to_bytes(4, "big"), enc_header, b""
                )
            except InvalidTag:
                raise RefError("header") from None
            return header, dh_ratchet
        raise RefError("no header key")

    def skip(self, until: int) -> None:
        if self.Nr + self.max_skip < until:
            raise RefError("MAX_SKIP")
        if self.CKr is not None:
            assert self.HKr is not None
            while self.Nr < until:
                self.CKr, mk = kdf_ck(self.CKr)
                self.store(self.HKr, self.Nr, mk)
                self.Nr += 1

    def dh_ratchet(self, remote: bytes) -> None:
        self.PN = self.Ns
        self.Ns = 0
        self.Nr = 0
        self.HKs = self.NHKs
        self.HKr = self.NHKr
        self.index += 1
        self.chain_index[self.HKr] = self.index
        if not self.age_first:
            self.age(self.index)
        self.DHr = remote
        try:
            dh_out = dh(self.DHs, self.DHr)
        except ValueError:  # pyca/cryptography refuses an all-zero result (small order)
            raise RefError("low order") from None
        self.RK, self.CKr, self.NHKr = kdf_rk(self.RK, dh_out)
        self.DHs = self.generate_dh()
        self.RK, self.CKs, self.NHKs = kdf_rk(self.RK, dh(self.DHs, self.DHr))


def _keys(seed: int, count: int) -> list[bytes]:
    return [hashlib.sha256(b"ref-rng %d %d" % (seed, i)).digest() for i in range(count)]


class _ListRng:
    def __init__(self, values: list[bytes]) -> None:
        self.values = values

    def __call__(self, n: int) -> bytes:
        assert n == 32
        return self.values.pop(0)


class Pair:
    """Both implementations of both parties, fed the same inputs and randomness."""

    def __init__(self, seed: int) -> None:
        sk, hka, nhkb, bob_private, ad = _keys(seed, 5)
        alice_keys, bob_keys = _keys(seed + 1_000_000, 200), _keys(seed + 2_000_000, 200)
        self.ours = {
            "a": Session.initiator(
                root_key=sk,
                header_key=hka,
                next_header_key=nhkb,
                remote_ratchet_key=public_of(bob_private),
                associated_data=ad,
                rng=_ListRng(list(alice_keys)),
                limits=LIMITS,
            ),
            "b": Session.responder(
                root_key=sk,
                header_key=hka,
                next_header_key=nhkb,
                ratchet_private_key=bob_private,
                associated_data=ad,
                rng=_ListRng(list(bob_keys)),
                limits=LIMITS,
            ),
        }
        self.ref = {
            "a": _Reference.alice(sk, public_of(bob_private), hka, nhkb, ad, list(alice_keys)),
            "b": _Reference.bob(sk, bob_private, hka, nhkb, ad, list(bob_keys)),
        }

    def send(self, who: str, plaintext: bytes) -> bytes | None:
        ours, ref = self.ours[who], self.ref[who]
        if ref.CKs is None:
            assert not ours.can_send
            return None
        message = ours.encrypt(plaintext)
        assert message == ref.encrypt(plaintext)
        return message

    def deliver(self, who: str, message: bytes) -> bytes | None:
        """Decrypt with both; both succeed with the same plaintext or both fail."""
        ours, ref = self.ours[who], self.ref[who]
        saved = copy.deepcopy(ref)
        try:
            expected: bytes | None = ref.decrypt(message)
        except RefError:
            expected = None
            self.ref[who] = saved
        before = ours.snapshot()
        try:
            got: bytes | None = ours.decrypt(message)
        except ProtocolError:
            got = None
            assert ours.snapshot() == before
        assert got == expected
        assert ours.skipped_key_count == len(self.ref[who].MKSKIPPED)
        return got


#: Weighted actions: sends and deliveries dominate; a few replays of delivered messages.
_KINDS = ["send_a"] * 3 + ["send_b"] * 2 + ["deliver_a"] * 3 + ["deliver_b"] * 4 + ["replay"]
_ACTIONS = st.lists(
    st.tuples(st.sampled_from(_KINDS), st.integers(0, 10_000)), min_size=30, max_size=80
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), actions=_ACTIONS)
def test_matches_signal_pseudocode(seed: int, actions: list[tuple[str, int]]) -> None:
    pair = Pair(seed)
    in_flight: dict[str, list[tuple[bytes, bytes]]] = {"a": [], "b": []}
    delivered: list[tuple[str, bytes]] = []
    counter = 0
    for action, k in actions:
        if action.startswith("send"):
            sender = action[-1]
            receiver = "b" if sender == "a" else "a"
            plaintext = b"%d" % counter * (k % 5)
            counter += 1
            message = pair.send(sender, plaintext)
            if message is not None:
                in_flight[receiver].append((message, plaintext))
        elif action.startswith("deliver"):
            receiver = action[-1]
            queue = in_flight[receiver]
            if queue:
                message, plaintext = queue.pop(k % len(queue))
                got = pair.deliver(receiver, message)
                if got is not None:
                    assert got == plaintext
                    delivered.append((receiver, message))
        elif delivered:
            receiver, message = delivered[k % len(delivered)]
            assert pair.deliver(receiver, message) is None


def test_a_long_conversation_matches() -> None:
    pair = Pair(7)
    for round_ in range(6):
        sent = [pair.send("a", b"a%d-%d" % (round_, i)) for i in range(3)]
        for i in (2, 0):
            message = sent[i]
            assert message is not None
            assert pair.deliver("b", message) == b"a%d-%d" % (round_, i)
        reply = pair.send("b", b"b%d" % round_)
        assert reply is not None
        assert pair.deliver("a", reply) == b"b%d" % round_
    assert pair.ours["b"].skipped_key_count == 6  # message 1 of each of the six chains


# --- the published vectors through the reference ------------------------------------------------


def _ratchet_cases() -> list[dict[str, Any]]:
    document = json.loads((REPO / "vectors" / "ratchet.json").read_text(encoding="utf-8"))
    cases: list[dict[str, Any]] = document["cases"]
    return cases


#: Like Signal's pseudocode, the reference draws its ratchet key before the body of a DH step
#: authenticates; on a failure it is restored from a copy, but it needs keys to draw meanwhile.
_SPARE = _keys(-1, 4)


def _reference_pair(case: dict[str, Any], age_first: bool) -> dict[str, _Reference]:
    h = bytes.fromhex
    limits = case["limits"]
    ad = h(case["associated_data"])
    other_ad = case["responder_associated_data"]
    bob_ad = ad if other_ad is None else h(other_ad)
    pair = {
        "initiator": _Reference.alice(
            h(case["root_key"]),
            h(case["responder_ratchet_public"]),
            h(case["header_key"]),
            h(case["next_header_key"]),
            ad,
            [h(v) for v in case["initiator_random"]] + _SPARE,
        ),
        "responder": _Reference.bob(
            h(case["root_key"]),
            h(case["responder_ratchet_private"]),
            h(case["header_key"]),
            h(case["next_header_key"]),
            bob_ad,
            [h(v) for v in case["responder_random"]] + _SPARE,
        ),
    }
    for ref in pair.values():
        ref.max_skip = limits["max_jump"]
        ref.max_skipped = limits["max_skipped_keys"]
        ref.max_age = limits["max_chain_age"]
        ref.age_first = age_first
    return pair


def _run_on_reference(case: dict[str, Any], age_first: bool) -> list[bytes | None]:
    """Every step's output on the reference (``None``: it failed), checked against the case."""
    pair = _reference_pair(case, age_first)
    outputs: list[bytes | None] = []
    for i, step in enumerate(case["steps"]):
        ref = pair[step["actor"]]
        if step["action"] == "encrypt":
            if ref.CKs is None:
                outputs.append(None)
                continue
            out: bytes | None = ref.encrypt(bytes.fromhex(step["plaintext"]))
            assert out is not None and out.hex() == step["message"], f"steps[{i}]"
        else:
            saved = copy.deepcopy(ref)
            try:
                out = ref.decrypt(bytes.fromhex(step["message"]))
            except RefError:
                out = None
                pair[step["actor"]] = saved
        outputs.append(out)
    return outputs


@pytest.mark.parametrize("age_first", [True, False], ids=["spec-order", "signal-order"])
@pytest.mark.parametrize("case", _ratchet_cases(), ids=lambda c: c["id"])
def test_published_vectors_match_the_reference(case: dict[str, Any], age_first: bool) -> None:
    """Every ratchet vector: same messages, same plaintexts, failing exactly where it fails."""
    outputs = _run_on_reference(case, age_first=age_first)
    for i, (step, out) in enumerate(zip(case["steps"], outputs, strict=True)):
        if "error" in step:
            assert out is None, f"steps[{i}]: the reference accepted what the vector refuses"
        elif step["action"] == "decrypt":
            assert out is not None and out.hex() == step["plaintext"], f"steps[{i}]"


@pytest.mark.parametrize(
    "case_id", ["dh-step-ages-and-evicts", "dh-step-evicted-survivor", "dh-step-aged-chain"]
)
def test_eviction_order_vectors_under_both_readings(case_id: str) -> None:
    """Spec §7.6 (issue 11, item 3): at a DH step, ageing out chains and evicting beyond
    ``max_skipped_keys`` in either order keeps the same keys, because the stored keys form one
    sequence in chain order: an aged-out chain's keys are always the oldest, so evicting first
    only removes keys that ageing removes anyway. Both readings give each step of these
    vectors the outcome the vector records (accepted, or refused where it expects an error).
    """
    case = next(c for c in _ratchet_cases() if c["id"] == case_id)
    spec_order = _run_on_reference(case, age_first=True)
    signal_order = _run_on_reference(case, age_first=False)
    assert spec_order == signal_order
    last = case["steps"][-1]
    assert ("error" in last) == (spec_order[-1] is None)
