"""Spec vectors.md §9, suite ``handshake``: the hybrid handshake of spec §6.

Parameters
    Every case draws its keys from ``SeededRng.for_suite("handshake", <case id>)`` and records
    them: both identities' private bytes, B's prekeys (private bytes, ids, times, flags), the
    initiator's ephemeral private key and the ML-KEM ``m``. Whatever the Double Ratchet draws
    from ``rng`` is recorded too, as the list of each party's draws in order (``initiator_rng``,
    ``responder_rng``): a verifier replays them.

Kinds
    ``handshake`` (valid) — from the inputs: rebuild the bundle (``bundle``, compare bytes);
        initiate with the recorded ephemeral key and ``Encaps_internal(PQPK_B, m)`` → the
        ``kem_ciphertext``/``kem_shared_secret``, the secrets ``root_key``, ``header_key``,
        ``next_header_key``, the ``associated_data`` and the ``initial_message`` (compare
        each); then let B's store respond → ``plaintext``.
    ``bundle`` (invalid) — initiating with ``bundle`` fails with ``error``.
    ``respond`` (valid or invalid) — B's store (the recorded prekeys) receives each of
        ``messages`` in order; each entry has its own ``result``/``error``; the case's
        ``result``/``error`` are those of the last message. A failed message MUST leave the
        store unchanged (the next entry depends on it) and draw nothing: ``responder_rng`` is
        every draw of the whole case, in order (one per accepted message), replayed by one
        rng that must be exhausted at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ..codec import CborValue, decode, encode
from ..errors import ProtocolError
from ..handshake import PrekeyStore, _initiate_with, initiate
from ..keys import (
    IdentityKeyPair,
    KemPrekeyPair,
    OneTimePrekeyPair,
    PrekeyBundle,
    SignedPrekeyPair,
)
from ..primitives import X25519KeyPair
from . import Case, RecordingRng, ReplayRng, SeededRng, check_outcome, expect_error, replay_rng
from ._mlkem import encapsulate_deterministic

SUITE: Final = "handshake"
_T0: Final = 1_767_225_600
_ORDER_8: Final = bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")


class _Keys:
    """B's prekeys and both identities of one case, from its seeded rng (draw order fixed)."""

    def __init__(self, case_id: str, *, one_time: bool, kem_one_time: bool) -> None:
        rng = SeededRng.for_suite(SUITE, case_id)
        self.alice = IdentityKeyPair.generate(rng)
        self.bob = IdentityKeyPair.generate(rng)
        self.signed = SignedPrekeyPair.generate(self.bob, prekey_id=1, now=_T0, rng=rng)
        self.last = KemPrekeyPair.generate(
            self.bob, prekey_id=1, now=_T0, last_resort=True, rng=rng
        )
        self.opk = OneTimePrekeyPair.generate(prekey_id=2, rng=rng) if one_time else None
        self.kem = (
            KemPrekeyPair.generate(self.bob, prekey_id=2, now=_T0, last_resort=False, rng=rng)
            if kem_one_time
            else None
        )
        self.ephemeral = rng(32)
        self.m = rng(32)
        self.rng = rng

    def record(self) -> dict[str, Any]:
        def kem_record(k: KemPrekeyPair | None) -> dict[str, Any] | None:
            if k is None:
                return None
            return {
                "seed": k.private_bytes().hex(),
                "id": k.id,
                "created_at": k.public.created_at,
                "last_resort": k.public.last_resort,
            }

        return {
            "alice_identity_private": self.alice.private_bytes().hex(),
            "bob_identity_private": self.bob.private_bytes().hex(),
            "signed_prekey": {
                "private_key": self.signed.private_bytes().hex(),
                "id": self.signed.id,
                "created_at": self.signed.public.created_at,
            },
            "one_time_prekey": None
            if self.opk is None
            else {"private_key": self.opk.private_bytes().hex(), "id": self.opk.id},
            "kem_last_resort": kem_record(self.last),
            "kem_one_time": kem_record(self.kem),
        }

    def bundle(self) -> PrekeyBundle:
        return PrekeyBundle(
            self.bob.public,
            self.signed.public,
            None if self.opk is None else self.opk.public,
            (self.kem or self.last).public,
        )

    def store(self) -> PrekeyStore:
        return PrekeyStore(
            self.bob,
            self.signed,
            self.last,
            one_time=[] if self.opk is None else [self.opk],
            kem_one_time=[] if self.kem is None else [self.kem],
        )


def _replay(recorded: list[str]) -> ReplayRng:
    return ReplayRng([bytes.fromhex(v) for v in recorded])


def _keys_from(case: Case) -> tuple[IdentityKeyPair, PrekeyStore, PrekeyBundle]:
    """Rebuild A's identity, B's store and B's bundle from a case's recorded private keys."""
    h = bytes.fromhex
    alice = IdentityKeyPair.from_private_bytes(h(case["alice_identity_private"]))
    bob = IdentityKeyPair.from_private_bytes(h(case["bob_identity_private"]))
    spk_rec = case["signed_prekey"]
    signed = SignedPrekeyPair.generate(
        bob,
        prekey_id=spk_rec["id"],
        now=spk_rec["created_at"],
        rng=replay_rng(h(spk_rec["private_key"])),
    )

    def kem(rec: dict[str, Any] | None) -> KemPrekeyPair | None:
        if rec is None:
            return None
        return KemPrekeyPair.generate(
            bob,
            prekey_id=rec["id"],
            now=rec["created_at"],
            last_resort=rec["last_resort"],
            rng=replay_rng(h(rec["seed"])),
        )

    last = kem(case["kem_last_resort"])
    one_time_kem = kem(case["kem_one_time"])
    opk_rec = case["one_time_prekey"]
    opk = (
        None
        if opk_rec is None
        else OneTimePrekeyPair.from_private_bytes(h(opk_rec["private_key"]), opk_rec["id"])
    )
    assert last is not None
    store = PrekeyStore(
        bob,
        signed,
        last,
        one_time=[] if opk is None else [opk],
        kem_one_time=[] if one_time_kem is None else [one_time_kem],
    )
    bundle = PrekeyBundle(
        bob.public,
        signed.public,
        None if opk is None else opk.public,
        (one_time_kem or last).public,
    )
    return alice, store, bundle


def _handshake_case(case_id: str, comment: str, *, one_time: bool, kem_one_time: bool) -> Case:
    keys = _Keys(case_id, one_time=one_time, kem_one_time=kem_one_time)
    bundle = keys.bundle()
    kem_key = (keys.kem or keys.last).public.public_key
    shared, ciphertext = encapsulate_deterministic(kem_key, keys.m)
    plaintext = f"first message of {case_id}".encode()
    initiator_rng = RecordingRng(keys.rng)
    initiated, secrets, ad = _initiate_with(
        keys.alice,
        bundle,
        plaintext,
        X25519KeyPair(keys.ephemeral),
        shared,
        ciphertext,
        initiator_rng,
    )
    responder_rng = RecordingRng(keys.rng)
    responded = keys.store().respond(initiated.message, rng=responder_rng)
    assert responded.plaintext == plaintext
    return {
        "id": case_id,
        "comment": comment,
        "flags": [
            "one-time-prekey" if one_time else "no-one-time-prekey",
            "one-time-kem" if kem_one_time else "last-resort-kem",
        ],
        "result": "valid",
        "error": None,
        "kind": "handshake",
        **keys.record(),
        "bundle": bundle.to_bytes().hex(),
        "ephemeral_private": keys.ephemeral.hex(),
        "kem_m": keys.m.hex(),
        "kem_ciphertext": ciphertext.hex(),
        "kem_shared_secret": shared.hex(),
        "root_key": secrets.root_key.hex(),
        "header_key": secrets.header_key.hex(),
        "next_header_key": secrets.next_header_key.hex(),
        "associated_data": ad.hex(),
        "plaintext": plaintext.hex(),
        "initiator_rng": [v.hex() for v in initiator_rng.drawn],
        "responder_rng": [v.hex() for v in responder_rng.drawn],
        "initial_message": initiated.message.hex(),
        "cddl": {"bundle": "prekey-bundle", "initial_message": "initial-message"},
    }


def _edit(encoded: bytes, edit: Callable[[dict[Any, CborValue]], None]) -> bytes:
    value = decode(encoded, max_size=len(encoded))
    assert isinstance(value, dict)
    edit(value)
    return encode(value)


def _flip_signature(key: int) -> Callable[[dict[Any, CborValue]], None]:
    def edit(bundle: dict[Any, CborValue]) -> None:
        inner = bundle[key]
        assert isinstance(inner, dict)
        sig_key = max(k for k in inner if isinstance(k, int))
        signature = inner[sig_key]
        assert isinstance(signature, bytes)
        inner[sig_key] = bytes([signature[0] ^ 1]) + signature[1:]

    return edit


def _bundle_invalid(case_id: str, comment: str, bundle: bytes, edit_key: int) -> Case:
    return {
        "id": case_id,
        "comment": comment,
        "flags": ["initiator"],
        "result": "invalid",
        "error": "auth.failed",
        "kind": "bundle",
        "bundle": _edit(bundle, _flip_signature(edit_key)).hex(),
    }


def _run_respond(case_id: str, base: Case, messages: list[tuple[bytes, str | None]]) -> list[str]:
    """Run a respond script through B's store; check each code; return the draws (hex).

    One rng serves the whole script, as in verification: a refused message must draw nothing
    and leave the store unchanged.
    """
    _alice, store, _bundle = _keys_from(base)
    rng = RecordingRng(SeededRng.for_suite(SUITE, case_id + "/responder"))
    for data, error in messages:
        before, drawn = store.held_ids(), len(rng.drawn)
        try:
            store.respond(data, rng=rng)
            code = None
        except ProtocolError as exc:
            code = exc.code
        if code != error:
            raise AssertionError(f"generator: {case_id} gave {code}, not {error}")
        if code is not None and (store.held_ids() != before or len(rng.drawn) != drawn):
            raise AssertionError(f"generator: {case_id}: a refused message changed something")
    return [v.hex() for v in rng.drawn]


def _respond_case(
    case_id: str, comment: str, base: Case, messages: list[tuple[bytes, str | None]]
) -> Case:
    last_error = messages[-1][1]
    return {
        "id": case_id,
        "comment": comment,
        "flags": ["responder"],
        "result": "valid" if last_error is None else "invalid",
        "error": last_error,
        "kind": "respond",
        **{
            k: base[k]
            for k in (
                "alice_identity_private",
                "bob_identity_private",
                "signed_prekey",
                "one_time_prekey",
                "kem_last_resort",
                "kem_one_time",
            )
        },
        "responder_rng": _run_respond(case_id, base, messages),
        "messages": [
            {
                "initial_message": m.hex(),
                "result": "valid" if e is None else "invalid",
                "error": e,
            }
            for m, e in messages
        ],
    }


def _set_field(key: int, value: CborValue) -> Callable[[dict[Any, CborValue]], None]:
    def edit(message: dict[Any, CborValue]) -> None:
        message[key] = value

    return edit


def generate() -> list[Case]:
    """All cases of the suite, deterministically."""
    full = _handshake_case(
        "handshake-full",
        "one-time X25519 and one-time ML-KEM prekeys",
        one_time=True,
        kem_one_time=True,
    )
    cases = [
        full,
        _handshake_case(
            "handshake-no-opk",
            "no one-time X25519 prekey left (no DH4), one-time ML-KEM prekey",
            one_time=False,
            kem_one_time=True,
        ),
        _handshake_case(
            "handshake-last-resort",
            "one-time X25519 prekey, last-resort ML-KEM prekey",
            one_time=True,
            kem_one_time=False,
        ),
        _handshake_case(
            "handshake-reusable-only",
            "no one-time prekey of either kind: SPK and last resort",
            one_time=False,
            kem_one_time=False,
        ),
    ]
    by_id = {c["id"]: c for c in cases}
    bundle = bytes.fromhex(full["bundle"])
    cases.append(
        _bundle_invalid("bundle-bad-spk-signature", "SPK signature bit flipped", bundle, 2)
    )
    cases.append(
        _bundle_invalid("bundle-bad-pq-signature", "ML-KEM prekey signature bit flipped", bundle, 4)
    )
    message = bytes.fromhex(full["initial_message"])
    carol = IdentityKeyPair.generate(SeededRng.for_suite(SUITE, "carol"))
    ciphertext = bytes.fromhex(full["kem_ciphertext"])
    tampered_ct = ciphertext[:100] + bytes([ciphertext[100] ^ 1]) + ciphertext[101:]
    single: list[tuple[str, str, bytes, str]] = [
        ("respond-ok", "the initial message of handshake-full", message, ""),
        (
            "respond-unknown-signed-prekey",
            "signed_prekey_id not held",
            _edit(message, _set_field(3, 77)),
            "state.unknown_prekey",
        ),
        (
            "respond-unknown-kem-prekey",
            "kem_prekey_id not held",
            _edit(message, _set_field(5, 77)),
            "state.unknown_prekey",
        ),
        (
            "respond-short-payload-and-unknown-prekey",
            "an 87-byte payload (one byte short of a ratchet message, a decoding fault) and a"
            " signed_prekey_id not held: decoding comes first, so decode.length",
            _edit(
                message,
                lambda m: m.update({3: 77, 7: _as_bytes(m[7])[:87]}),
            ),
            "decode.length",
        ),
        (
            "respond-low-order-ephemeral",
            "EK_A of order 8",
            _edit(message, _set_field(2, _ORDER_8)),
            "decode.low_order",
        ),
        (
            "respond-tampered-kem-ciphertext",
            "one bit of CT flipped: implicit rejection",
            _edit(message, _set_field(6, tampered_ct)),
            "auth.failed",
        ),
        (
            "respond-wrong-identity",
            "IK_A replaced by another valid identity (AD and DH1 differ)",
            _edit(message, _set_field(1, carol.public.to_cbor())),
            "auth.failed",
        ),
        (
            "respond-tampered-payload",
            "one bit of the first ratchet message flipped",
            _edit(message, lambda m: m.__setitem__(7, _flip_last(m[7]))),
            "auth.failed",
        ),
    ]
    for case_id, comment, data, error in single:
        cases.append(_respond_case(case_id, comment, full, [(data, error or None)]))
    # Reuse of a one-time prekey by a second, different initial message.
    keys = _Keys("handshake-full", one_time=True, kem_one_time=True)
    second = _second_message(keys, b"second")
    cases.append(
        _respond_case(
            "respond-reused-one-time-prekey",
            "a second initial message names the one-time prekeys the first consumed",
            full,
            [(message, None), (second, "state.unknown_prekey")],
        )
    )
    cases.append(
        _respond_case(
            "respond-replay-one-time",
            "the same initial message twice (one-time prekeys)",
            full,
            [(message, None), (message, "state.unknown_prekey")],
        )
    )
    reusable = by_id["handshake-reusable-only"]
    reusable_message = bytes.fromhex(reusable["initial_message"])
    cases.append(
        _respond_case(
            "respond-replay-last-resort",
            "the same last-resort-only initial message twice: the replay cache refuses it",
            reusable,
            [(reusable_message, None), (reusable_message, "state.replay")],
        )
    )
    return cases


def _as_bytes(value: CborValue) -> bytes:
    assert isinstance(value, bytes)
    return value


def _flip_last(value: CborValue) -> bytes:
    assert isinstance(value, bytes)
    return value[:-1] + bytes([value[-1] ^ 1])


def _second_message(keys: _Keys, label: bytes) -> bytes:
    """Another initial message to the same bundle, from fixed randomness (new EK_A and CT)."""
    rng = SeededRng(b"blindpost-kat/handshake/" + label)
    ephemeral = X25519KeyPair(rng(32))
    shared, ciphertext = encapsulate_deterministic(
        (keys.kem or keys.last).public.public_key, rng(32)
    )
    initiated, _secrets, _ad = _initiate_with(
        keys.alice, keys.bundle(), label, ephemeral, shared, ciphertext, rng
    )
    return initiated.message


def _eq(field: str, expected: str, got: bytes) -> None:
    if expected != got.hex():
        raise AssertionError(f"{field}: expected {expected}, got {got.hex()}")


def verify(case: Case) -> None:
    """Check one case against this implementation."""
    h = bytes.fromhex
    kind = case["kind"]
    if kind == "bundle":
        identity = IdentityKeyPair.generate(SeededRng(b"any initiator"))
        expect_error(
            case,
            lambda: initiate(
                identity, PrekeyBundle.from_bytes(h(case["bundle"])), b"x", rng=SeededRng(b"x")
            ),
        )
        return
    if kind == "respond":
        check_outcome(case, case.get("messages"), "messages")
    alice, store, bundle = _keys_from(case)
    if kind == "handshake":
        _eq("bundle", case["bundle"], bundle.to_bytes())
        kem_key = bundle.kem_prekey.public_key
        shared, ciphertext = encapsulate_deterministic(kem_key, h(case["kem_m"]))
        _eq("kem_ciphertext", case["kem_ciphertext"], ciphertext)
        _eq("kem_shared_secret", case["kem_shared_secret"], shared)
        initiator_rng = _replay(case["initiator_rng"])
        initiated, secrets, ad = _initiate_with(
            alice,
            bundle,
            h(case["plaintext"]),
            X25519KeyPair(h(case["ephemeral_private"])),
            shared,
            ciphertext,
            initiator_rng,
        )
        _eq("root_key", case["root_key"], secrets.root_key)
        _eq("header_key", case["header_key"], secrets.header_key)
        _eq("next_header_key", case["next_header_key"], secrets.next_header_key)
        _eq("associated_data", case["associated_data"], ad)
        _eq("initial_message", case["initial_message"], initiated.message)
        responder_rng = _replay(case["responder_rng"])
        responded = store.respond(h(case["initial_message"]), rng=responder_rng)
        _eq("plaintext", case["plaintext"], responded.plaintext)
        if not (initiator_rng.exhausted and responder_rng.exhausted):
            raise AssertionError("rng: a party drew fewer values than recorded")
        return
    rng = _replay(case["responder_rng"])  # one rng for the whole case (spec §6.7)
    for i, step in enumerate(case["messages"]):
        data = h(step["initial_message"])
        if step["result"] == "valid":
            store.respond(data, rng=rng)
            continue
        before, left = store.held_ids(), rng.remaining
        expect_error(step, lambda data=data: store.respond(data, rng=rng))
        if store.held_ids() != before:
            raise AssertionError(f"messages[{i}]: a failed message changed the store")
        if rng.remaining != left:
            raise AssertionError(f"messages[{i}]: a failed message drew randomness")
    if not rng.exhausted:
        raise AssertionError("responder_rng: the responder drew fewer values than recorded")
    if case["messages"][-1]["error"] != case["error"]:
        raise AssertionError("error: the case's error is not its last message's")
