"""Spec vectors.md, suite ``ratchet``: scripted two-party conversations (spec §7).

Parameters
    Each case draws, from ``SeededRng.for_suite("ratchet", <case id>)``, in this order: the
    handshake outputs ``root_key``, ``header_key`` (HKa), ``next_header_key`` (NHKb), the
    responder's ratchet private key (its signed prekey) and 32 bytes of ``associated_data``.
    Each party has its own rng, ``SeededRng.for_suite("ratchet", <case id> + "/initiator")``
    and ``.../responder``; everything a party draws (one 32-byte X25519 private key per DH
    ratchet step) is recorded in ``initiator_random`` / ``responder_random``, so an
    implementation replays those values instead of reproducing the stream.

Format
    ``limits`` (the four bounds of spec §7.4), the inputs above, ``responder_associated_data``
    (``null`` unless the responder was given other associated data) and ``steps``:
    ``{"actor": "initiator" | "responder", "action": "encrypt" | "decrypt", ...}`` with
    ``plaintext`` and ``message`` (hex). The last step of an invalid case carries ``error``
    instead of the output. Edited messages are made by a mutator that flips bits of a real
    message, or decrypts its header with the sender's header key, edits it and re-seals it
    (and, for a message that must still authenticate, re-seals its body under its message
    key with the new encrypted header as associated data: ``pn-below-received``).

Verification
    Create ``Session.initiator`` and ``Session.responder`` from the inputs, with rngs that
    return the recorded values. Run the steps in order: an ``encrypt`` MUST return exactly
    ``message``, a ``decrypt`` MUST return ``plaintext``; a step with ``error`` MUST fail with
    that code and leave the acting session's exported state unchanged. At the end each party
    MUST have drawn exactly its recorded values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ..errors import ProtocolError
from ..primitives import ChaCha20Poly1305Key, x25519_public_key
from ..ratchet import TAG_SIZE, Limits, Session, SessionSnapshot, kdf_ck
from . import Case, RecordingRng, ReplayRng, SeededRng, check_outcome

__all__ = ["SUITE", "generate", "verify"]

SUITE: Final = "ratchet"

#: A small-order X25519 key (u = 1) for the re-sealed header of the low-order case.
_LOW_ORDER: Final = bytes([1]) + bytes(31)

Script = list[tuple[str, str, Any]]


def _limits_json(limits: Limits) -> dict[str, int]:
    return {
        "max_jump": limits.max_jump,
        "max_skipped_keys": limits.max_skipped_keys,
        "max_chain_age": limits.max_chain_age,
        "tag_window": limits.tag_window,
    }


def _flip(data: bytes, index: int, bit: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ (1 << bit)]) + data[index + 1 :]


def _reseal_header(message: bytes, header_key: bytes, edit: Callable[[bytearray], None]) -> bytes:
    """Test mutator: decrypt a message's header with the sender's key, edit it, re-seal it."""
    aead = ChaCha20Poly1305Key(header_key)
    # The header nonce is u96be(n); n is the header's last four bytes, found by trying the
    # numbers a short script can reach.
    for n in range(1 << 12):
        nonce = bytes(8) + n.to_bytes(4, "big")
        try:
            header = bytearray(aead.open(nonce, message[TAG_SIZE : TAG_SIZE + 56], b""))
        except ProtocolError:
            continue
        edit(header)
        sealed = aead.seal(nonce, bytes(header), b"")
        return message[:TAG_SIZE] + sealed + message[TAG_SIZE + 56 :]
    raise AssertionError("mutator: header not found")


def _reseal_message(
    message: bytes,
    sender: SessionSnapshot,
    associated_data: bytes,
    edit: Callable[[bytearray], None],
) -> bytes:
    """Test mutator: re-seal the header *and* the body of a message.

    ``sender`` is the sending session's snapshot taken just *before* it encrypted ``message``
    (so its sending chain key gives the message key): the header is decrypted with the sending
    header key, edited and re-sealed (:func:`_reseal_header`), and the body, whose associated
    data holds the encrypted header, is re-sealed under the same message key. The result is a
    message only the sender could have made: it authenticates, with the edited header.
    """
    state = sender.state
    assert state.sending_chain_key is not None and state.sending_header_key is not None
    _next_chain_key, message_key = kdf_ck(state.sending_chain_key)
    resealed = _reseal_header(message, state.sending_header_key, edit)
    body = ChaCha20Poly1305Key(message_key)
    prefix, new_prefix = message[: TAG_SIZE + 56], resealed[: TAG_SIZE + 56]
    plaintext = body.open(bytes(12), message[TAG_SIZE + 56 :], associated_data + prefix)
    return new_prefix + body.seal(bytes(12), plaintext, associated_data + new_prefix)


class _Conversation:
    """Runs a script between an initiator and a responder and records every step."""

    def __init__(self, case_id: str, limits: Limits, responder_ad: bytes | None = None) -> None:
        rng = SeededRng.for_suite(SUITE, case_id)
        self.root_key, self.header_key, self.next_header_key = rng(32), rng(32), rng(32)
        self.responder_private = rng(32)
        self.associated_data = rng(32)
        self.responder_ad = responder_ad
        self.limits = limits
        self.init_rng = RecordingRng(SeededRng.for_suite(SUITE, case_id + "/initiator"))
        self.resp_rng = RecordingRng(SeededRng.for_suite(SUITE, case_id + "/responder"))
        self.initiator = Session.initiator(
            root_key=self.root_key,
            header_key=self.header_key,
            next_header_key=self.next_header_key,
            remote_ratchet_key=x25519_public_key(self.responder_private),
            associated_data=self.associated_data,
            rng=self.init_rng,
            limits=limits,
        )
        self.responder = Session.responder(
            root_key=self.root_key,
            header_key=self.header_key,
            next_header_key=self.next_header_key,
            ratchet_private_key=self.responder_private,
            associated_data=self.associated_data if responder_ad is None else responder_ad,
            rng=self.resp_rng,
            limits=limits,
        )
        self.sent: list[bytes] = []
        self.steps: list[dict[str, Any]] = []
        self.error: str | None = None

    def session(self, actor: str) -> Session:
        return self.initiator if actor == "initiator" else self.responder

    def encrypt(self, actor: str, plaintext: bytes) -> bytes:
        message = self.session(actor).encrypt(plaintext)
        self.sent.append(message)
        self.steps.append(
            {
                "actor": actor,
                "action": "encrypt",
                "plaintext": plaintext.hex(),
                "message": message.hex(),
            }
        )
        return message

    def decrypt(self, actor: str, message: bytes) -> None:
        plaintext = self.session(actor).decrypt(message)
        self.steps.append(
            {
                "actor": actor,
                "action": "decrypt",
                "message": message.hex(),
                "plaintext": plaintext.hex(),
            }
        )

    def fail(self, actor: str, message: bytes) -> None:
        """The case's final step: decrypting ``message`` must fail; record the code."""
        session = self.session(actor)
        before = session.snapshot()
        try:
            session.decrypt(message)
        except ProtocolError as exc:
            code = exc.code
        else:
            raise AssertionError("generator: the invalid step succeeded")
        if session.snapshot() != before:
            raise AssertionError("generator: a failed decrypt changed the session")
        self.error = code
        self.steps.append(
            {"actor": actor, "action": "decrypt", "message": message.hex(), "error": code}
        )

    def fail_encrypt(self, actor: str, plaintext: bytes) -> None:
        session = self.session(actor)
        try:
            session.encrypt(plaintext)
        except ProtocolError as exc:
            code = exc.code
        else:
            raise AssertionError("generator: the invalid step succeeded")
        self.error = code
        self.steps.append(
            {"actor": actor, "action": "encrypt", "plaintext": plaintext.hex(), "error": code}
        )

    def case(self, case_id: str, comment: str, flags: list[str], expected: str | None) -> Case:
        if expected != self.error:
            raise AssertionError(f"generator: {case_id} gave {self.error}, not {expected}")
        return {
            "id": case_id,
            "comment": comment,
            "flags": flags,
            "result": "valid" if expected is None else "invalid",
            "error": expected,
            "limits": _limits_json(self.limits),
            "root_key": self.root_key.hex(),
            "header_key": self.header_key.hex(),
            "next_header_key": self.next_header_key.hex(),
            "responder_ratchet_private": self.responder_private.hex(),
            "responder_ratchet_public": x25519_public_key(self.responder_private).hex(),
            "associated_data": self.associated_data.hex(),
            "responder_associated_data": None
            if self.responder_ad is None
            else self.responder_ad.hex(),
            "initiator_random": [v.hex() for v in self.init_rng.drawn],
            "responder_random": [v.hex() for v in self.resp_rng.drawn],
            "steps": self.steps,
        }


_I, _R = "initiator", "responder"


def _text(i: int) -> bytes:
    return f"message {i}".encode()


def _valid_cases() -> list[Case]:
    cases: list[Case] = []
    default = Limits()

    c = _Conversation("in-order", default)
    m = [c.encrypt(_I, _text(i)) for i in range(3)]
    for x in m:
        c.decrypt(_R, x)
    r = [c.encrypt(_R, _text(10 + i)) for i in range(2)]
    for x in r:
        c.decrypt(_I, x)
    cases.append(
        c.case(
            "in-order",
            "three messages, then two replies, all in order",
            ["in-order", "both-directions"],
            None,
        )
    )

    c = _Conversation("out-of-order", default)
    m = [c.encrypt(_I, _text(i)) for i in range(4)]
    for i in (2, 0, 3, 1):
        c.decrypt(_R, m[i])
    cases.append(
        c.case(
            "out-of-order",
            "four messages delivered 2, 0, 3, 1 (the first received message skips two keys)",
            ["out-of-order"],
            None,
        )
    )

    c = _Conversation("lost-messages", default)
    m = [c.encrypt(_I, _text(i)) for i in range(6)]
    c.decrypt(_R, m[0])
    c.decrypt(_R, m[5])  # 1..4 lost: four skipped keys stored
    c.decrypt(_I, c.encrypt(_R, b"reply"))
    c.decrypt(_R, c.encrypt(_I, b"after the reply"))
    cases.append(
        c.case(
            "lost-messages",
            "messages 1-4 never arrive; the conversation continues across DH ratchet steps",
            ["lost", "dh-step"],
            None,
        )
    )

    c = _Conversation("ping-pong", default)
    for i in range(6):
        c.decrypt(_R, c.encrypt(_I, _text(2 * i)))
        c.decrypt(_I, c.encrypt(_R, _text(2 * i + 1)))
    cases.append(
        c.case(
            "ping-pong",
            "twelve messages in alternating directions: a DH ratchet step on every message",
            ["dh-step", "both-directions"],
            None,
        )
    )

    c = _Conversation("late-across-dh-step", default)
    m = [c.encrypt(_I, _text(i)) for i in range(3)]
    c.decrypt(_R, m[0])
    c.decrypt(_I, c.encrypt(_R, b"reply"))
    new = c.encrypt(_I, b"new chain, pn = 3")
    c.decrypt(_R, new)  # skips 1, 2 of the previous chain (header pn = 3)
    c.decrypt(_R, m[2])
    c.decrypt(_R, m[1])
    cases.append(
        c.case(
            "late-across-dh-step",
            "messages 1 and 2 of the first chain arrive "
            "after the next chain started: found among the previous chain's "
            "skipped keys",
            ["out-of-order", "dh-step", "previous-chain"],
            None,
        )
    )

    c = _Conversation("first-message-lost", default)
    m = [c.encrypt(_I, _text(i)) for i in range(3)]
    c.decrypt(_R, m[2])  # the responder's first decrypt skips 0 and 1 on its first chain
    c.decrypt(_R, m[0])
    c.decrypt(_R, m[1])
    c.decrypt(_I, c.encrypt(_R, b"reply"))
    cases.append(
        c.case(
            "first-message-lost",
            "the responder's first message is number 2 of the first chain",
            ["out-of-order", "first-message"],
            None,
        )
    )

    c = _Conversation("sizes", default)
    for size in (0, 1, 1000):
        c.decrypt(_R, c.encrypt(_I, bytes(range(256)) * (size // 256) + bytes(size % 256)))
    cases.append(c.case("sizes", "empty, one-byte and 1000-byte plaintexts", ["sizes"], None))

    small = Limits(max_jump=8, max_skipped_keys=2, max_chain_age=4, tag_window=4)
    c = _Conversation("eviction", small)
    m = [c.encrypt(_I, _text(i)) for i in range(5)]
    c.decrypt(_R, m[4])  # skips 0..3; only 2 and 3 stay stored (oldest first eviction)
    c.decrypt(_R, m[3])
    c.decrypt(_R, m[2])
    cases.append(
        c.case(
            "eviction",
            "max_skipped_keys = 2: of four skipped keys the two "
            "oldest are deleted, the two newest still decrypt",
            ["eviction", "limits"],
            None,
        )
    )

    c, (_a, b, d) = _ages_and_evicts("dh-step-ages-and-evicts")
    c.decrypt(_R, b[3])
    c.decrypt(_R, d[0])
    c.decrypt(_R, d[1])
    cases.append(
        c.case(
            "dh-step-ages-and-evicts",
            "max_chain_age = 1, max_skipped_keys = 3: one DH ratchet step deletes chain 1 with "
            "its skipped key (too old) and, of the five keys then stored (chain 2: 0, 1 and 3 "
            "through PN; chain 3: 0, 1), evicts the two oldest; the three that survive decrypt "
            "(spec §7.6: age first, then evict oldest first)",
            ["eviction", "limits", "dh-step", "previous-chain"],
            None,
        )
    )

    c = _Conversation("pn-below-received", default)
    m = [c.encrypt(_I, _text(i)) for i in range(3)]
    c.decrypt(_R, m[0])
    c.decrypt(_R, m[2])  # Nr = 3 on the responder's first chain, key 1 stored
    c.decrypt(_I, c.encrypt(_R, b"reply"))
    before = c.initiator.snapshot()
    honest = c.encrypt(_I, b"header says pn = 1")  # the honest header says pn = 3

    def pn_one(header: bytearray) -> None:
        header[32:36] = (1).to_bytes(4, "big")

    c.decrypt(_R, _reseal_message(honest, before, c.associated_data, pn_one))
    c.decrypt(_R, m[1])
    c.decrypt(_I, c.encrypt(_R, b"after"))
    cases.append(
        c.case(
            "pn-below-received",
            "after receiving messages 0 and 2 (Nr = 3), a message starting the next chain "
            "whose authentic header says PN = 1 (re-sealed header and body): accepted, nothing "
            "is skipped or deleted, and message 1's stored key still decrypts (spec §7.3.3)",
            ["resealed", "dh-step", "previous-chain"],
            None,
        )
    )
    return cases


def _ages_and_evicts(case_id: str) -> tuple[_Conversation, tuple[list[bytes], ...]]:
    """Spec §7.6: a DH ratchet step that both ages a chain out and evicts skipped keys.

    Limits: max_chain_age 1, max_skipped_keys 3. The responder's chains: chain 1 (a0, a1; a1
    received, key 0 stored), chain 2 (b0..b3; b2 received at the DH step, keys 0 and 1 stored:
    three keys in all), chain 3 (d0..d2; d2 received). At d2's DH step chain 1 is more than
    one step old and goes with its key; then chain 2's key 3 (through PN = 4) and chain 3's
    keys 0 and 1 are stored: five keys, so the two oldest (chain 2's 0 and 1) are evicted.
    """
    limits = Limits(max_jump=8, max_skipped_keys=3, max_chain_age=1, tag_window=4)
    c = _Conversation(case_id, limits)
    a = [c.encrypt(_I, _text(i)) for i in range(2)]
    c.decrypt(_R, a[1])
    c.decrypt(_I, c.encrypt(_R, b"reply 1"))
    b = [c.encrypt(_I, _text(10 + i)) for i in range(4)]
    c.decrypt(_R, b[2])
    c.decrypt(_I, c.encrypt(_R, b"reply 2"))
    d = [c.encrypt(_I, _text(20 + i)) for i in range(3)]
    c.decrypt(_R, d[2])
    if c.responder.skipped_key_count != 3:  # pragma: no cover - a generator bug
        raise AssertionError("generator: the DH step should leave three skipped keys")
    return c, (a, b, d)


def _invalid_cases() -> list[Case]:
    cases: list[Case] = []
    default = Limits()

    c = _Conversation("replay", default)
    once = c.encrypt(_I, b"once")
    c.decrypt(_R, once)
    c.fail(_R, once)
    cases.append(c.case("replay", "the same message twice", ["replay"], "state.replay"))

    c = _Conversation("replay-skipped", default)
    m = [c.encrypt(_I, _text(i)) for i in range(3)]
    c.decrypt(_R, m[2])
    c.decrypt(_R, m[0])
    c.fail(_R, m[0])
    cases.append(
        c.case(
            "replay-skipped",
            "a message decrypted with a stored skipped key, replayed",
            ["replay", "out-of-order"],
            "state.replay",
        )
    )

    c = _Conversation("replay-previous-chain", default)
    first = c.encrypt(_I, b"first chain")
    c.decrypt(_R, first)
    c.decrypt(_I, c.encrypt(_R, b"reply"))
    c.decrypt(_R, c.encrypt(_I, b"second chain"))
    c.fail(_R, first)
    cases.append(
        c.case(
            "replay-previous-chain",
            "a message of the previous receiving chain replayed after a DH ratchet step",
            ["replay", "previous-chain"],
            "state.replay",
        )
    )

    c = _Conversation(
        "evicted", Limits(max_jump=8, max_skipped_keys=2, max_chain_age=4, tag_window=4)
    )
    m = [c.encrypt(_I, _text(i)) for i in range(5)]
    c.decrypt(_R, m[4])
    c.fail(_R, m[0])
    cases.append(
        c.case(
            "evicted",
            "a message whose skipped key was evicted (oldest first, "
            "max_skipped_keys = 2): indistinguishable from a replay",
            ["eviction", "limits"],
            "state.replay",
        )
    )

    limits = Limits(max_jump=3, max_skipped_keys=10, max_chain_age=4, tag_window=2)
    c = _Conversation("skip-limit", limits)
    m = [c.encrypt(_I, _text(i)) for i in range(6)]
    c.decrypt(_R, m[0])
    c.fail(_R, m[5])
    cases.append(
        c.case(
            "skip-limit",
            "max_jump = 3: after message 0, message 5 would skip four keys",
            ["limits"],
            "state.skip_limit",
        )
    )

    c = _Conversation("skip-limit-first-message", limits)
    m = [c.encrypt(_I, _text(i)) for i in range(5)]
    c.fail(_R, m[4])
    cases.append(
        c.case(
            "skip-limit-first-message",
            "max_jump = 3: the first message the responder sees is number 4 of a new chain",
            ["limits", "dh-step"],
            "state.skip_limit",
        )
    )

    c = _Conversation("skip-limit-previous-chain", limits)
    m = [c.encrypt(_I, _text(i)) for i in range(5)]
    c.decrypt(_R, m[0])
    c.decrypt(_I, c.encrypt(_R, b"reply"))
    c.fail(_R, c.encrypt(_I, b"new chain, pn = 5"))
    cases.append(
        c.case(
            "skip-limit-previous-chain",
            "max_jump = 3: the header's pn = 5 would skip four keys of the previous chain",
            ["limits", "dh-step"],
            "state.skip_limit",
        )
    )

    c = _Conversation("tampered-header", default)
    c.decrypt(_R, c.encrypt(_I, b"first"))
    c.fail(_R, _flip(c.encrypt(_I, b"second"), TAG_SIZE + 5))
    cases.append(
        c.case(
            "tampered-header",
            "one bit of the encrypted header flipped (the "
            "body's associated data no longer matches)",
            ["tampered"],
            "auth.failed",
        )
    )

    c = _Conversation("tampered-header-dh-step", default)
    c.fail(_R, _flip(c.encrypt(_I, b"first"), TAG_SIZE + 5))
    cases.append(
        c.case(
            "tampered-header-dh-step",
            "one bit of the encrypted header of a "
            "message that starts a new chain flipped (header AEAD)",
            ["tampered", "dh-step"],
            "auth.failed",
        )
    )

    c = _Conversation("tampered-body", default)
    c.decrypt(_R, c.encrypt(_I, b"first"))
    message = c.encrypt(_I, b"second")
    c.fail(_R, _flip(message, len(message) - 20))
    cases.append(
        c.case(
            "tampered-body", "one bit of the body ciphertext flipped", ["tampered"], "auth.failed"
        )
    )

    c = _Conversation("tampered-tag", default)
    c.decrypt(_R, c.encrypt(_I, b"first"))
    c.fail(_R, _flip(c.encrypt(_I, b"second"), 3))
    cases.append(
        c.case(
            "tampered-tag",
            "one bit of the tag flipped: no chain of the session has this tag",
            ["tampered"],
            "auth.failed",
        )
    )

    c = _Conversation("wrong-associated-data", default, responder_ad=bytes(32))
    c.fail(_R, c.encrypt(_I, b"first"))
    cases.append(
        c.case(
            "wrong-associated-data",
            "the responder was given other associated data than the initiator",
            ["associated-data"],
            "auth.failed",
        )
    )

    c = _Conversation("truncated", default)
    c.fail(_R, c.encrypt(_I, b"")[:-1])
    cases.append(
        c.case(
            "truncated",
            "an 87-byte message: shorter than the fixed overhead",
            ["decode"],
            "decode.length",
        )
    )

    c = _Conversation("low-order-ratchet-key", default)
    message = c.encrypt(_I, b"first")
    header_key = c.header_key  # HKa: the initiator's first sending header key

    def low_order(header: bytearray) -> None:
        header[:32] = _LOW_ORDER

    c.fail(_R, _reseal_header(message, header_key, low_order))
    cases.append(
        c.case(
            "low-order-ratchet-key",
            "a re-sealed header whose ratchet key has "
            "small order, on a message that starts a new chain",
            ["resealed", "dh-step"],
            "decode.low_order",
        )
    )

    c = _Conversation("header-number-mismatch", default)
    message = c.encrypt(_I, b"first")

    def renumber(header: bytearray) -> None:
        header[36:40] = (7).to_bytes(4, "big")

    c.fail(_R, _reseal_header(message, c.header_key, renumber))
    cases.append(
        c.case(
            "header-number-mismatch",
            "a re-sealed header that says n = 7 in a message whose tag is number 0",
            ["resealed", "dh-step"],
            "auth.failed",
        )
    )

    aged = Limits(max_jump=8, max_skipped_keys=10, max_chain_age=1, tag_window=4)
    c = _Conversation("aged-out", aged)
    m = [c.encrypt(_I, _text(i)) for i in range(2)]
    c.decrypt(_R, m[1])  # message 0 skipped on the responder's first chain
    for i in range(2):
        c.decrypt(_I, c.encrypt(_R, b"reply"))
        c.decrypt(_R, c.encrypt(_I, _text(10 + i)))
    c.fail(_R, m[0])
    cases.append(
        c.case(
            "aged-out",
            "max_chain_age = 1: two DH ratchet steps later the first "
            "chain and its skipped key are deleted, so no chain knows the tag",
            ["limits", "previous-chain"],
            "auth.failed",
        )
    )

    c, (a, b, _d) = _ages_and_evicts("dh-step-evicted-survivor")
    c.fail(_R, b[1])
    cases.append(
        c.case(
            "dh-step-evicted-survivor",
            "the DH step of dh-step-ages-and-evicts evicted chain 2's key 1; chain 2 is still "
            "held, so its authentic header gives a replay (spec §7.6)",
            ["eviction", "limits", "dh-step", "replay"],
            "state.replay",
        )
    )

    c, (a, b, _d) = _ages_and_evicts("dh-step-aged-chain")
    c.fail(_R, a[0])
    cases.append(
        c.case(
            "dh-step-aged-chain",
            "the DH step of dh-step-ages-and-evicts deleted chain 1 (too old) with its stored "
            "key: no chain of the session has the tag (spec §7.6)",
            ["eviction", "limits", "dh-step", "previous-chain"],
            "auth.failed",
        )
    )

    c = _Conversation("responder-sends-first", default)
    c.fail_encrypt(_R, b"too early")
    cases.append(
        c.case(
            "responder-sends-first",
            "the responder encrypts before it has received the first message",
            ["usage"],
            "usage.no_sending_chain",
        )
    )
    return cases


def generate() -> list[Case]:
    """All cases of the suite, deterministically."""
    return _valid_cases() + _invalid_cases()


def verify(case: Case) -> None:
    """Replay one case's script against this implementation (see the module docstring)."""
    h = bytes.fromhex
    check_outcome(case, case.get("steps"))
    limits = Limits(**case["limits"])
    if (
        x25519_public_key(h(case["responder_ratchet_private"])).hex()
        != case["responder_ratchet_public"]
    ):
        raise AssertionError("responder_ratchet_public: does not match the private key")
    init_rng = ReplayRng([h(v) for v in case["initiator_random"]])
    resp_rng = ReplayRng([h(v) for v in case["responder_random"]])
    ad = h(case["associated_data"])
    resp_ad = (
        ad if case["responder_associated_data"] is None else h(case["responder_associated_data"])
    )
    sessions: dict[str, Session] = {
        "initiator": Session.initiator(
            root_key=h(case["root_key"]),
            header_key=h(case["header_key"]),
            next_header_key=h(case["next_header_key"]),
            remote_ratchet_key=h(case["responder_ratchet_public"]),
            associated_data=ad,
            rng=init_rng,
            limits=limits,
        ),
        "responder": Session.responder(
            root_key=h(case["root_key"]),
            header_key=h(case["header_key"]),
            next_header_key=h(case["next_header_key"]),
            ratchet_private_key=h(case["responder_ratchet_private"]),
            associated_data=resp_ad,
            rng=resp_rng,
            limits=limits,
        ),
    }
    for i, step in enumerate(case["steps"]):
        where = f"steps[{i}]"
        session = sessions[step["actor"]]
        if "error" in step:
            _expect_unchanged(where, session, step)
            continue
        if step["action"] == "encrypt":
            out = session.encrypt(h(step["plaintext"]))
            if out.hex() != step["message"]:
                raise AssertionError(
                    f"{where}.message: expected {step['message']}, got {out.hex()}"
                )
        else:
            out = session.decrypt(h(step["message"]))
            if out.hex() != step["plaintext"]:
                raise AssertionError(f"{where}.plaintext: expected {step['plaintext']}")
    if not (init_rng.exhausted and resp_rng.exhausted):
        raise AssertionError("random: a party drew fewer values than recorded")


def _act(session: Session, step: dict[str, Any]) -> object:
    if step["action"] == "encrypt":
        return session.encrypt(bytes.fromhex(step["plaintext"]))
    return session.decrypt(bytes.fromhex(step["message"]))


def _expect_unchanged(where: str, session: Session, step: dict[str, Any]) -> None:
    before = session.snapshot()
    try:
        _act(session, step)
    except ProtocolError as exc:
        if exc.code != step["error"]:
            raise AssertionError(
                f"{where}.error: expected {step['error']}, got {exc.code}"
            ) from None
    else:
        raise AssertionError(f"{where}.error: expected {step['error']}, got success")
    if session.snapshot() != before:
        raise AssertionError(f"{where}: the failed step changed the session")
