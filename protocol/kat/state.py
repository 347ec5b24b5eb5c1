"""Spec vectors.md, suite ``state``: golden exported sessions (spec §7.8).

These blobs are the compatibility contract for saved sessions: a change that can no longer
load them fails CI, both when the published file is verified and when it is regenerated.

Parameters
    Each case runs a short conversation of the ``ratchet`` suite's kind from
    ``SeededRng.for_suite("state", <case id>)`` (inputs first, then per party
    ``<case id>/initiator`` and ``<case id>/responder``) and exports one party. The
    ``storage_key`` and the blob's 24-byte ``nonce`` come from
    ``SeededRng.for_suite("state", <case id> + "/storage")``, in that order.

Format
    ``storage_key``, ``nonce``, ``blob`` (``nonce || XChaCha20-Poly1305(...)``), and for valid
    cases ``state`` (the ``session-state`` CBOR the blob must decrypt and migrate to),
    ``state_version`` (the version inside the blob), for version 0 also ``state_v0`` (the
    ``session-state-v0`` CBOR inside the blob), ``rng`` (the values the restored session
    draws), ``next_message`` (the peer's next message) and ``next_plaintext``.

Verification
    Load the blob with ``storage_key``. A valid case MUST give exactly ``state``; for version 1
    re-exporting it with ``nonce`` MUST give ``blob`` again; restoring it MUST decrypt
    ``next_message`` to ``next_plaintext`` (drawing ``rng``). An invalid case MUST fail to load
    with ``error``: ``auth.failed`` for a wrong key or any change to the blob, a ``decode.*``
    code for an authentic blob whose content is not a valid state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from .. import labels
from ..codec import CborValue, decode, encode
from ..errors import ProtocolError
from ..primitives import labeled_kdf, x25519_public_key, xchacha20_poly1305_seal
from ..ratchet import Limits, Session, SessionSnapshot
from ..ratchet._state import BLOB_FORMAT
from . import Case, RecordingRng, ReplayRng, SeededRng, expect_error

__all__ = ["SUITE", "generate", "verify"]

SUITE: Final = "state"


def _pair(case_id: str, limits: Limits) -> tuple[Session, Session, RecordingRng, RecordingRng]:
    rng = SeededRng.for_suite(SUITE, case_id)
    root_key, hka, nhkb, spk, ad = rng(32), rng(32), rng(32), rng(32), rng(32)
    init_rng = RecordingRng(SeededRng.for_suite(SUITE, case_id + "/initiator"))
    resp_rng = RecordingRng(SeededRng.for_suite(SUITE, case_id + "/responder"))
    initiator = Session.initiator(
        root_key=root_key,
        header_key=hka,
        next_header_key=nhkb,
        remote_ratchet_key=x25519_public_key(spk),
        associated_data=ad,
        rng=init_rng,
        limits=limits,
    )
    responder = Session.responder(
        root_key=root_key,
        header_key=hka,
        next_header_key=nhkb,
        ratchet_private_key=spk,
        associated_data=ad,
        rng=resp_rng,
        limits=limits,
    )
    return initiator, responder, init_rng, resp_rng


def _seal_raw(storage_key: bytes, nonce: bytes, plaintext: bytes) -> bytes:
    """Test mutator: encrypt arbitrary bytes as a blob (for authentic-but-invalid cases)."""
    key = labeled_kdf(
        labels.LABEL_SESSION_STATE, storage_key, b"", BLOB_FORMAT.to_bytes(2, "big"), 32
    )
    return nonce + xchacha20_poly1305_seal(key, nonce, plaintext, b"")


def _to_v0(state_cbor: bytes) -> bytes:
    """Test-only writer of the version-0 draft layout (spec §7.8.3) from a version-1 state.

    Only for states with default limits whose previous chains are numbered 1..k and whose
    current chain is k + 1 (what version 0 could express).
    """
    value = decode(state_cbor, max_size=len(state_cbor))
    assert isinstance(value, dict)
    old: dict[int | str, CborValue] = {k: v for k, v in value.items() if k not in (2, 15, 17)}
    old[0] = 0
    chains = value[17]
    assert isinstance(chains, list)
    v0_chains: list[CborValue] = []
    for chain in chains:
        assert isinstance(chain, dict)
        v0_chains.append({0: 0, 1: chain[1], 2: chain[3]})
    old[17] = v0_chains
    return encode(old)


def _case(case_id: str, comment: str, flags: list[str], error: str | None, **fields: Any) -> Case:
    return {
        "id": case_id,
        "comment": comment,
        "flags": flags,
        "result": "valid" if error is None else "invalid",
        "error": error,
        **fields,
    }


def _storage(case_id: str) -> tuple[bytes, bytes]:
    rng = SeededRng.for_suite(SUITE, case_id + "/storage")
    return rng(32), rng(24)


def _golden(
    case_id: str,
    comment: str,
    session: Session,
    make_next: Callable[[], tuple[bytes, bytes]],
    session_rng: RecordingRng,
    version: int = 1,
) -> Case:
    """Export ``session``, then ``make_next()`` the peer's next ``(message, plaintext)``."""
    storage_key, nonce = _storage(case_id)
    snapshot = session.snapshot()
    state = snapshot.state.to_bytes()
    fields: dict[str, Any] = {}
    if version == 1:
        blob = snapshot.to_bytes(storage_key, ReplayRng([nonce]))
    else:
        state_v0 = _to_v0(state)
        blob = _seal_raw(storage_key, nonce, state_v0)
        fields["state_v0"] = state_v0.hex()
    next_message, next_plaintext = make_next()
    before = len(session_rng.drawn)
    restored = Session.restore(SessionSnapshot.from_bytes(blob, storage_key), rng=session_rng)
    if restored.decrypt(next_message) != next_plaintext:
        raise AssertionError("generator: the restored session does not decrypt")
    cddl = {"state": "session-state"}
    if version == 0:
        cddl["state_v0"] = "session-state-v0"
    return _case(
        case_id,
        comment,
        ["golden", f"version-{version}"],
        None,
        storage_key=storage_key.hex(),
        nonce=nonce.hex(),
        blob=blob.hex(),
        state_version=version,
        state=state.hex(),
        **fields,
        rng=[v.hex() for v in session_rng.drawn[before:]],
        next_message=next_message.hex(),
        next_plaintext=next_plaintext.hex(),
        cddl=cddl,
    )


def _valid_cases() -> list[Case]:
    cases: list[Case] = []
    initiator, responder, init_rng, _ = _pair("fresh-initiator", Limits())

    def reply() -> tuple[bytes, bytes]:
        responder.decrypt(initiator.encrypt(b"opening"))
        return responder.encrypt(b"reply"), b"reply"

    cases.append(
        _golden(
            "fresh-initiator",
            "an initiator right after the handshake; restored, it receives the reply",
            initiator,
            reply,
            init_rng,
        )
    )

    initiator, responder, _, resp_rng = _pair("fresh-responder", Limits())
    cases.append(
        _golden(
            "fresh-responder",
            "a responder before its first message; restored, it receives that message",
            responder,
            lambda: (initiator.encrypt(b"first message"), b"first message"),
            resp_rng,
        )
    )

    limits = Limits(max_jump=100, max_skipped_keys=50, max_chain_age=3, tag_window=8)
    initiator, responder, _, resp_rng = _established("established", limits)
    cases.append(
        _golden(
            "established",
            "a responder after three DH ratchet steps with skipped keys in its current and "
            "two previous chains (non-default limits)",
            responder,
            lambda: (initiator.encrypt(b"after restore"), b"after restore"),
            resp_rng,
        )
    )

    initiator, responder, _, resp_rng = _established("version-0", Limits())
    cases.append(
        _golden(
            "version-0",
            "a blob in the version-0 draft layout: it loads through the migration chain "
            "(default limits, chains numbered 1..k)",
            responder,
            lambda: (initiator.encrypt(b"after migration"), b"after migration"),
            resp_rng,
            version=0,
        )
    )
    return cases


def _established(
    case_id: str, limits: Limits
) -> tuple[Session, Session, RecordingRng, RecordingRng]:
    """A conversation that leaves the responder with skipped keys on three chains."""
    initiator, responder, init_rng, resp_rng = _pair(case_id, limits)
    for step in range(3):
        sent = [initiator.encrypt(f"chain {step} message {i}".encode()) for i in range(4)]
        responder.decrypt(sent[0])
        responder.decrypt(sent[3])  # 1 and 2 stay skipped on this chain
        initiator.decrypt(responder.encrypt(f"reply {step}".encode()))
    return initiator, responder, init_rng, resp_rng


def _invalid_cases(golden: Case) -> list[Case]:
    h = bytes.fromhex
    storage_key, nonce, blob = h(golden["storage_key"]), h(golden["nonce"]), h(golden["blob"])
    state = decode(h(golden["state"]), max_size=1 << 20)
    assert isinstance(state, dict)
    cases: list[Case] = []

    def add(case_id: str, comment: str, flags: list[str], error: str, data: bytes) -> None:
        key = storage_key
        if case_id == "wrong-key":
            key = bytes(32)
        fields = {"storage_key": key.hex(), "blob": data.hex()}
        case = _case(case_id, comment, flags, error, **fields)
        expect_error(case, lambda: SessionSnapshot.from_bytes(data, key))
        cases.append(case)

    add(
        "wrong-key",
        "the golden blob of case established under another key",
        ["auth"],
        "auth.failed",
        blob,
    )
    add(
        "tampered",
        "one bit of the golden blob's ciphertext flipped",
        ["auth"],
        "auth.failed",
        blob[:40] + bytes([blob[40] ^ 1]) + blob[41:],
    )
    add(
        "tampered-nonce",
        "one bit of the golden blob's nonce flipped",
        ["auth"],
        "auth.failed",
        bytes([blob[0] ^ 1]) + blob[1:],
    )
    add("truncated", "the golden blob without its last byte", ["auth"], "auth.failed", blob[:-1])
    add("too-short", "a blob shorter than a nonce", ["auth"], "auth.failed", blob[:20])

    def sealed(edit: Any) -> bytes:
        value = dict(state)
        edit(value)
        return _seal_raw(storage_key, nonce, encode(value))

    add(
        "unsupported-version",
        "an authentic blob whose state says version 2",
        ["decode"],
        "decode.version",
        sealed(lambda v: v.__setitem__(0, 2)),
    )
    add(
        "inconsistent",
        "an authentic blob whose state has a receiving chain key but no receiving header key",
        ["decode"],
        "decode.bad_state",
        sealed(lambda v: v.pop(13)),
    )
    add(
        "skipped-order",
        "an authentic blob whose current chain lists skipped keys out of order",
        ["decode"],
        "decode.bad_state",
        sealed(lambda v: v.__setitem__(16, _swap_records(v[16]))),
    )
    add(
        "not-cbor",
        "an authentic blob whose plaintext is not CBOR",
        ["decode"],
        "decode.reserved",
        _seal_raw(storage_key, nonce, b"\xff"),
    )
    return cases


def _swap_records(records: bytes) -> bytes:
    assert len(records) >= 72
    return records[36:72] + records[:36] + records[72:]


def generate() -> list[Case]:
    """All cases of the suite, deterministically."""
    cases = _valid_cases()
    golden = next(c for c in cases if c["id"] == "established")
    return cases + _invalid_cases(golden)


def verify(case: Case) -> None:
    """Check one case against this implementation (see the module docstring)."""
    h = bytes.fromhex
    storage_key, blob = h(case["storage_key"]), h(case["blob"])
    if case["result"] == "invalid":
        expect_error(case, lambda: SessionSnapshot.from_bytes(blob, storage_key))
        return
    snapshot = SessionSnapshot.from_bytes(blob, storage_key)
    got = snapshot.state.to_bytes()
    if got.hex() != case["state"]:
        raise AssertionError(f"state: expected {case['state']}, got {got.hex()}")
    if case["state_version"] == 1:
        again = snapshot.to_bytes(storage_key, ReplayRng([h(case["nonce"])]))
        if again != blob:
            raise AssertionError("blob: re-exporting with the recorded nonce differs")
    restored = Session.restore(snapshot, rng=ReplayRng([h(v) for v in case["rng"]]))
    try:
        plaintext = restored.decrypt(h(case["next_message"]))
    except ProtocolError as exc:
        raise AssertionError(f"next_message: the restored session fails with {exc.code}") from None
    if plaintext.hex() != case["next_plaintext"]:
        raise AssertionError("next_plaintext: mismatch")
