"""Spec §7: the ratchet session — behaviour, limits, transactional failures, secrets.

Expected values come from the test's own bookkeeping (what was sent, in which order, what the
limits allow), from the published vectors, or from properties; the byte-exact comparison with
an independent implementation is in ``test_ratchet_reference.py``.
"""

from __future__ import annotations

import copy
import hashlib
import pickle
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import labels
from protocol.errors import AuthenticationError, DecodeError, ProtocolError, StateError
from protocol.kat import generate_suite, verify_suite
from protocol.primitives import (
    ChaCha20Poly1305Key,
    X25519KeyPair,
    labeled_kdf,
    x25519,
    x25519_public_key,
)
from protocol.ratchet import (
    DEFAULT_LIMITS,
    MAX_MESSAGE_SIZE,
    MAX_PLAINTEXT_SIZE,
    MESSAGE_OVERHEAD,
    Limits,
    Session,
    SessionSnapshot,
    parse_message,
)

# --- helpers ----------------------------------------------------------------------------------


def _bytes(label: str, i: int = 0) -> bytes:
    return hashlib.sha256(f"{label} {i}".encode()).digest()


class CountingRng:
    """Deterministic 32-byte values (DH private keys), counting the draws."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.count = 0

    def __call__(self, n: int) -> bytes:
        self.count += 1
        return hashlib.sha512(f"{self.label} {self.count}".encode()).digest()[:n]


def pair(
    limits: Limits | None = None, label: str = "pair", ad: bytes = b"associated data"
) -> tuple[Session, Session]:
    spk = _bytes(label, 4)
    common = {
        "root_key": _bytes(label, 1),
        "header_key": _bytes(label, 2),
        "next_header_key": _bytes(label, 3),
        "associated_data": ad,
        "limits": limits,
    }
    alice = Session.initiator(
        remote_ratchet_key=x25519_public_key(spk), rng=CountingRng(label + "/a"), **common
    )
    bob = Session.responder(ratchet_private_key=spk, rng=CountingRng(label + "/b"), **common)
    return alice, bob


def code(action: Callable[[], object]) -> str:
    with pytest.raises(ProtocolError) as info:
        action()
    return info.value.code


def unchanged_failure(session: Session, action: Callable[[], object]) -> str:
    """Run a failing action; the exported state must be exactly as before."""
    before = session.snapshot()
    result = code(action)
    assert session.snapshot() == before
    return result


def flip(data: bytes, index: int, bit: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ (1 << bit)]) + data[index + 1 :]


# --- basic conversation -----------------------------------------------------------------------


def test_first_operation_of_the_responder_is_decrypt() -> None:
    alice, bob = pair()
    assert alice.can_send and not bob.can_send
    assert bob.decrypt(alice.encrypt(b"hello")) == b"hello"
    assert bob.can_send
    assert alice.decrypt(bob.encrypt(b"hi")) == b"hi"


def test_both_directions_in_order_and_out_of_order() -> None:
    alice, bob = pair()
    for round_ in range(4):
        sent = [(alice.encrypt(b"a%d.%d" % (round_, i)), b"a%d.%d" % (round_, i)) for i in range(5)]
        for index in (3, 0, 4, 2, 1):
            message, plaintext = sent[index]
            assert bob.decrypt(message) == plaintext
        assert bob.skipped_key_count == 0
        reply = bob.encrypt(b"b%d" % round_)
        assert alice.decrypt(reply) == b"b%d" % round_


def test_message_layout_and_sizes() -> None:
    alice, bob = pair()
    for size in (0, 1, 100, 1000, MAX_PLAINTEXT_SIZE):
        message = alice.encrypt(bytes(size))
        assert len(message) == size + MESSAGE_OVERHEAD
        tag, header, body = parse_message(message)
        assert (len(tag), len(header), len(body)) == (16, 56, size + 16)
        assert bob.decrypt(message) == bytes(size)
    assert MAX_PLAINTEXT_SIZE + MESSAGE_OVERHEAD == MAX_MESSAGE_SIZE == 65536


def test_header_plaintext_layout() -> None:
    """Spec §7.3: the header is DHs || u32be(PN) || u32be(n) under HKs with nonce u96be(n)."""
    alice, bob = pair(label="layout")
    hka = _bytes("layout", 2)
    first = alice.encrypt(b"x")
    second = alice.encrypt(b"y")
    aead = ChaCha20Poly1305Key(hka)
    for n, message in enumerate((first, second)):
        header = aead.open(bytes(8) + n.to_bytes(4, "big"), message[16:72], b"")
        assert header[36:] == n.to_bytes(4, "big")
        assert header[32:36] == bytes(4)  # PN = 0 on the first chain
    # the ratchet key in the header is the one the initiator drew first
    first_key = X25519KeyPair(hashlib.sha512(b"layout/a 1").digest()[:32]).public_key
    assert aead.open(bytes(12), first[16:72], b"")[:32] == first_key
    bob.decrypt(first)


def test_message_key_and_tags_by_hand() -> None:
    """Spec §7.2, §7.5: recompute message 0 of the first chain from the definitions."""
    alice, bob = pair(label="byhand", ad=b"AD")
    sk, hka = _bytes("byhand", 1), _bytes("byhand", 2)
    spk_public = x25519_public_key(_bytes("byhand", 4))
    alice_ratchet = hashlib.sha512(b"byhand/a 1").digest()[:32]
    okm = labeled_kdf(labels.LABEL_RATCHET_ROOT, x25519(alice_ratchet, spk_public), sk, b"", 96)
    cks = okm[32:64]
    import hmac

    mk = hmac.digest(cks, b"\x01", "sha256")
    message = alice.encrypt(b"payload")
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    # TK = HKDF-Expand(hka, label || 0x00, 32): one HMAC block, no Extract (§3.2, §7.2)
    tk = hmac.digest(hka, labels.LABEL_RATCHET_TAG + b"\x00" + b"\x01", "sha256")
    block = bytes(8) + (0).to_bytes(4, "big") + (2).to_bytes(4, "big")
    tag = Cipher(algorithms.AES(tk), modes.ECB()).encryptor().update(block)
    assert message[:16] == tag
    # the same block is AES-GCM's first keystream block for the nonce 0^64 || u32be(n)
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    assert AESGCM(tk).encrypt(bytes(12), bytes(16), None)[:16] == tag
    body = ChaCha20Poly1305(mk).decrypt(bytes(12), message[72:], b"AD" + message[:72])
    assert body == b"payload"
    assert bob.decrypt(message) == b"payload"


def test_published_tag_vectors_by_an_independent_path() -> None:
    """The ``ratchet_tag`` cases of vectors/primitives.json, recomputed with the standard
    library's HMAC and pyca/cryptography's AES-GCM (the keystream-block form of §7.5)."""
    import hmac
    import json

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from tests.external import REPO

    cases = json.loads((REPO / "vectors" / "primitives.json").read_text(encoding="utf-8"))
    tags = [c for c in cases["cases"] if c["kind"] == "ratchet_tag"]
    assert len(tags) == 3
    for case in tags:
        header_key = bytes.fromhex(case["header_key"])
        tk = hmac.digest(header_key, labels.LABEL_RATCHET_TAG + b"\x00\x01", "sha256")
        nonce = bytes(8) + case["n"].to_bytes(4, "big")
        assert tk.hex() == case["tag_key"]
        assert AESGCM(tk).encrypt(nonce, bytes(16), None)[:16].hex() == case["tag"]


def test_tags_are_distinct_and_never_repeat() -> None:
    alice, bob = pair()
    tags = set()
    for _round in range(5):
        for _ in range(20):
            message = alice.encrypt(b"")
            tags.add(message[:16])
            bob.decrypt(message)
        alice.decrypt(bob.encrypt(b""))
    assert len(tags) == 100


# --- replays and limits -----------------------------------------------------------------------


def test_replay_in_every_position() -> None:
    alice, bob = pair()
    old = alice.encrypt(b"old chain")
    bob.decrypt(old)
    alice.decrypt(bob.encrypt(b"reply"))
    skipped = [alice.encrypt(b"s%d" % i) for i in range(3)]
    assert bob.decrypt(skipped[2]) == b"s2"
    assert bob.decrypt(skipped[0]) == b"s0"
    for message in (old, skipped[0], skipped[2]):
        assert unchanged_failure(bob, lambda m=message: bob.decrypt(m)) == "state.replay"
    assert bob.decrypt(skipped[1]) == b"s1"


def test_jump_limit_is_separate_from_storage_limit() -> None:
    limits = Limits(max_jump=10, max_skipped_keys=4, max_chain_age=2, tag_window=4)
    alice, bob = pair(limits)
    sent = [alice.encrypt(b"%d" % i) for i in range(13)]
    # 0 -> 11 would skip 11 keys: refused, nothing changes
    assert unchanged_failure(bob, lambda: bob.decrypt(sent[11])) == "state.skip_limit"
    # 0 -> 10 skips exactly 10: allowed; only the 4 newest skipped keys stay (6..9)
    assert bob.decrypt(sent[10]) == b"10"
    assert bob.skipped_key_count == 4
    for i in range(6):
        assert unchanged_failure(bob, lambda i=i: bob.decrypt(sent[i])) == "state.replay"
    for i in range(6, 10):
        assert bob.decrypt(sent[i]) == b"%d" % i
    assert bob.decrypt(sent[12]) == b"12"


def test_jump_limit_on_a_new_chain_and_on_pn() -> None:
    limits = Limits(max_jump=3, max_skipped_keys=100, max_chain_age=4, tag_window=2)
    alice, bob = pair(limits)
    sent = [alice.encrypt(b"%d" % i) for i in range(5)]
    assert unchanged_failure(bob, lambda: bob.decrypt(sent[4])) == "state.skip_limit"
    assert bob.decrypt(sent[3]) == b"3"  # first message n = 3: jump of exactly 3
    assert alice.decrypt(bob.encrypt(b"reply")) == b"reply"
    alice2, bob2 = pair(limits, label="pn")
    first = [alice2.encrypt(b"%d" % i) for i in range(5)]
    bob2.decrypt(first[0])
    alice2.decrypt(bob2.encrypt(b"r"))
    late = alice2.encrypt(b"new chain")  # header pn = 5: 4 keys to skip on the old chain
    assert unchanged_failure(bob2, lambda: bob2.decrypt(late)) == "state.skip_limit"


def test_storage_limit_evicts_oldest_first_across_chains() -> None:
    limits = Limits(max_jump=50, max_skipped_keys=5, max_chain_age=4, tag_window=4)
    alice, bob = pair(limits)
    chain1 = [alice.encrypt(b"c1-%d" % i) for i in range(4)]
    bob.decrypt(chain1[3])  # skipped: c1-0, c1-1, c1-2
    alice.decrypt(bob.encrypt(b"r"))
    chain2 = [alice.encrypt(b"c2-%d" % i) for i in range(4)]
    bob.decrypt(chain2[3])  # skipped: c2-0..2; total 6 > 5: c1-0 evicted
    assert bob.skipped_key_count == 5
    assert code(lambda: bob.decrypt(chain1[0])) == "state.replay"
    assert bob.decrypt(chain1[1]) == b"c1-1"
    assert bob.decrypt(chain2[0]) == b"c2-0"


def test_previous_chains_are_deleted_after_max_chain_age_steps() -> None:
    limits = Limits(max_jump=50, max_skipped_keys=100, max_chain_age=2, tag_window=4)
    alice, bob = pair(limits)
    lost = []
    for step in range(4):
        sent = [alice.encrypt(b"%d-%d" % (step, i)) for i in range(2)]
        bob.decrypt(sent[1])
        lost.append(sent[0])
        alice.decrypt(bob.encrypt(b"r"))
    # bob's chains 1..4; current 4, previous 2 and 3 kept (age <= 2), chain 1 deleted
    assert bob.skipped_key_count == 3
    assert code(lambda: bob.decrypt(lost[0])) == "auth.failed"
    for step in (1, 2, 3):
        assert bob.decrypt(lost[step]) == b"%d-0" % step


# --- tampering and transactional failure ------------------------------------------------------


def test_each_part_of_a_message_is_authenticated() -> None:
    for start in (False, True):  # an in-chain message, and one that starts a chain
        alice, bob = pair(label=f"tamper{start}")
        if not start:
            bob.decrypt(alice.encrypt(b"first"))
        message = alice.encrypt(b"target")
        for index in (0, 15, 16, 40, 71, 72, len(message) - 1):
            bad = flip(message, index)
            assert unchanged_failure(bob, lambda b=bad, s=bob: s.decrypt(b)) == "auth.failed"
        assert bob.decrypt(message) == b"target"


def test_wrong_associated_data() -> None:
    alice, _ = pair(ad=b"alice's view")
    _, bob = pair(ad=b"bob's view")
    assert unchanged_failure(bob, lambda: bob.decrypt(alice.encrypt(b"x"))) == "auth.failed"


def test_lengths() -> None:
    alice, bob = pair()
    message = alice.encrypt(b"")
    assert code(lambda: bob.decrypt(message[:-1])) == "decode.length"
    assert code(lambda: bob.decrypt(b"")) == "decode.length"
    assert code(lambda: bob.decrypt(bytes(MAX_MESSAGE_SIZE + 1))) == "decode.too_large"
    assert code(lambda: parse_message(bytes(87))) == "decode.length"
    assert bob.decrypt(bytearray(message)) == b""


def test_a_failed_first_decrypt_leaves_the_responder_untouched() -> None:
    alice, bob = pair()
    message = alice.encrypt(b"first")
    for bad in (flip(message, 3), flip(message, 30), flip(message, 80), message[:50]):
        unchanged_failure(bob, lambda b=bad: bob.decrypt(b))
    assert not bob.can_send
    assert bob.decrypt(message) == b"first"


def test_a_failed_decrypt_draws_no_randomness() -> None:
    alice, bob = pair()
    message = flip(alice.encrypt(b"first"), 90)
    rng = bob._rng
    assert isinstance(rng, CountingRng)
    unchanged_failure(bob, lambda: bob.decrypt(message))
    assert rng.count == 0


@st.composite
def _hostile(draw: st.DrawFn, genuine: list[bytes]) -> list[bytes]:
    out = []
    for _ in range(draw(st.integers(1, 12))):
        message = genuine[draw(st.integers(0, len(genuine) - 1))]
        kind = draw(st.sampled_from(["flip", "truncate", "extend", "duplicate", "splice"]))
        if kind == "flip":
            i = draw(st.integers(0, len(message) - 1))
            message = flip(message, i, draw(st.integers(0, 7)))
        elif kind == "truncate":
            message = message[: draw(st.integers(0, len(message) - 1))]
        elif kind == "extend":
            message = message + draw(st.binary(min_size=1, max_size=8))
        elif kind == "splice":
            other = genuine[draw(st.integers(0, len(genuine) - 1))]
            cut = draw(st.integers(0, min(len(message), len(other))))
            message = message[:cut] + other[cut:]
        out.append(message)
    return out


_GENUINE: dict[str, list[bytes]] = {}


def _scenario() -> tuple[Session, Session, list[bytes], list[bytes]]:
    """Alice sends on two chains; bob has received some, out of order."""
    alice, bob = pair(label="hostile")
    first = [alice.encrypt(b"one-%d" % i) for i in range(4)]
    bob.decrypt(first[2])
    alice.decrypt(bob.encrypt(b"r"))
    second = [alice.encrypt(b"two-%d" % i) for i in range(3)]
    return alice, bob, first, second


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), order=st.permutations(range(7)))
def test_hostile_deliveries_never_change_state_on_failure(
    data: st.DataObject, order: list[int]
) -> None:
    """Bit flips, truncations, extensions, splices, duplicates and reorderings of real
    messages, interleaved with genuine deliveries: every failure leaves the exported state
    exactly as it was; every success is a genuine message, once, with its plaintext."""
    _, bob, first, second = _scenario()
    genuine = first + second
    plaintexts = {
        m: p
        for m, p in zip(
            genuine,
            [b"one-%d" % i for i in range(4)] + [b"two-%d" % i for i in range(3)],
            strict=True,
        )
    }
    accepted: set[bytes] = {first[2]}
    for index in order:
        for hostile in data.draw(_hostile(genuine)):
            before = bob.snapshot()
            try:
                plaintext = bob.decrypt(hostile)
            except ProtocolError as exc:
                assert isinstance(exc, DecodeError | AuthenticationError | StateError)
                assert bob.snapshot() == before
            else:
                assert hostile in plaintexts and hostile not in accepted
                assert plaintext == plaintexts[hostile]
                accepted.add(hostile)
        message = genuine[index]
        if message in accepted:
            assert unchanged_failure(bob, lambda m=message: bob.decrypt(m)) == "state.replay"
        else:
            assert bob.decrypt(message) == plaintexts[message]
            accepted.add(message)
    assert accepted == set(genuine)


# --- usage errors -----------------------------------------------------------------------------


def test_usage_errors() -> None:
    alice, bob = pair()
    assert code(lambda: bob.encrypt(b"x")) == "usage.no_sending_chain"
    assert code(lambda: alice.encrypt(bytes(MAX_PLAINTEXT_SIZE + 1))) == "usage.bad_argument"
    assert code(lambda: alice.encrypt("text")) == "usage.bad_argument"  # type: ignore[arg-type]
    assert code(lambda: bob.decrypt("text")) == "usage.bad_argument"  # type: ignore[arg-type]
    good = {
        "root_key": bytes(32),
        "header_key": bytes(32),
        "next_header_key": bytes(32),
        "associated_data": b"",
        "rng": CountingRng("u"),
    }
    remote = x25519_public_key(_bytes("u"))
    for name in ("root_key", "header_key", "next_header_key"):
        bad = dict(good, **{name: bytes(31)})
        assert code(lambda b=bad: Session.initiator(remote_ratchet_key=remote, **b)) == (
            "usage.bad_argument"
        )
        assert code(lambda b=bad: Session.responder(ratchet_private_key=bytes(32), **b)) == (
            "usage.bad_argument"
        )
    too_long = dict(good, associated_data=bytes(4097))
    assert code(lambda: Session.initiator(remote_ratchet_key=remote, **too_long)) == (
        "usage.bad_argument"
    )
    assert code(lambda: Session.initiator(remote_ratchet_key=bytes(32), **good)) == (
        "decode.low_order"
    )
    with_limits = dict(good, limits={"max_jump": 3})
    assert code(lambda: Session.initiator(remote_ratchet_key=remote, **with_limits)) == (
        "usage.bad_argument"
    )
    with pytest.raises(TypeError):
        Session()


def test_limits_validation() -> None:
    assert Limits() == DEFAULT_LIMITS
    assert (DEFAULT_LIMITS.max_jump, DEFAULT_LIMITS.max_skipped_keys) == (2000, 2000)
    assert (DEFAULT_LIMITS.max_chain_age, DEFAULT_LIMITS.tag_window) == (4, 32)
    for bad in (
        {"max_jump": 0},
        {"max_jump": 100_001},
        {"max_skipped_keys": -1},
        {"max_skipped_keys": 20_001},
        {"max_chain_age": 0},
        {"max_chain_age": 65},
        {"tag_window": 0},
        {"max_jump": 10, "tag_window": 11},
    ):
        assert code(lambda b=bad: Limits(**b)) == "usage.bad_argument"  # type: ignore[arg-type]
    assert Limits.from_bytes(Limits(7, 0, 1, 7).to_bytes()) == Limits(7, 0, 1, 7)


def test_chain_exhausted_is_transactional() -> None:
    alice, bob = pair()
    bob.decrypt(alice.encrypt(b"x"))
    state = alice.snapshot().state
    import dataclasses

    near_end = dataclasses.replace(state, sending_n=2**32 - 2)
    restored = Session.restore(SessionSnapshot(near_end), rng=CountingRng("x"))
    restored.encrypt(b"last")  # number 2**32 - 2, the last one
    assert unchanged_failure(restored, lambda: restored.encrypt(b"one too many")) == (
        "state.chain_exhausted"
    )


# --- secrets ----------------------------------------------------------------------------------


def test_sessions_and_snapshots_are_secret() -> None:
    alice, _ = pair()
    snapshot = alice.snapshot()
    for secret in (alice, snapshot, snapshot.state):
        assert "redacted" in repr(secret)
        assert snapshot.state.root_key.hex() not in repr(secret)
        with pytest.raises(TypeError):
            pickle.dumps(secret)
    with pytest.raises(TypeError):
        copy.copy(alice)
    with pytest.raises(TypeError):
        copy.deepcopy(alice)


def test_snapshot_is_not_the_live_object() -> None:
    alice, bob = pair()
    snapshot = bob.snapshot()
    bob.decrypt(alice.encrypt(b"x"))
    assert bob.snapshot() != snapshot
    assert Session.restore(snapshot, rng=CountingRng("s")).snapshot() == snapshot


# --- vectors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suite", ["ratchet", "state"])
def test_suites_regenerate_and_verify(suite: str) -> None:
    document = generate_suite(suite)
    result = verify_suite(document)
    assert result.failures == []
    assert result.valid >= 4 and result.invalid >= 8


def test_every_required_invalid_case_is_in_the_ratchet_suite() -> None:
    cases = {c["id"]: c["error"] for c in generate_suite("ratchet")["cases"]}
    assert cases["replay"] == "state.replay"
    assert cases["skip-limit"] == "state.skip_limit"
    assert cases["tampered-header"] == "auth.failed"
    assert cases["tampered-body"] == "auth.failed"
    assert cases["wrong-associated-data"] == "auth.failed"


def test_a_verifier_catches_a_wrong_byte() -> None:
    document = generate_suite("ratchet")
    case = document["cases"][0]
    step = next(s for s in case["steps"] if s["action"] == "encrypt")
    step["message"] = ("00" if step["message"][:2] != "00" else "01") + step["message"][2:]
    assert verify_suite(document).failures


# --- the caller's check (spec §7.3.3) -------------------------------------------------------------


_EXPECTED = {"in order": b"NEXT", "dh step": b"NEW CHAIN", "skipped": b"LATE", "jump": b"GAP"}


@pytest.mark.parametrize("path", list(_EXPECTED))
def test_a_failing_check_commits_nothing_and_draws_nothing(path: str) -> None:
    alice, bob = pair(label=f"check {path}")
    bob.decrypt(alice.encrypt(b"first"))
    alice.decrypt(bob.encrypt(b"answer"))
    if path == "in order":
        message = alice.encrypt(b"next")
    elif path == "dh step":
        bob.decrypt(alice.encrypt(b"x"))
        message = bob.encrypt(b"new chain")
        alice, bob = bob, alice  # the receiver is now the former sender
    elif path == "skipped":
        late = alice.encrypt(b"late")
        bob.decrypt(alice.encrypt(b"early"))
        message = late
    else:
        alice.encrypt(b"lost")
        message = alice.encrypt(b"gap")
    rng = bob._rng  # type: ignore[attr-defined]
    draws = rng.count

    def refuse(plaintext: bytes) -> bytes:
        raise StateError("state.replay", "refused by the caller's check")

    before = bob.snapshot()
    assert code(lambda: bob.decrypt(message, check=refuse)) == "state.replay"
    assert bob.snapshot() == before and rng.count == draws
    assert bob.decrypt(message, check=lambda p: p.upper()) == _EXPECTED[path]
