"""Spec vectors.md §11, suite ``sms``: SMS fallback of spec §11.

Parameters
    Byte strings, keys and draws come from ``SeededRng.for_suite("sms", <label>)`` and are
    recorded in the cases.

Kinds
    ``split-binary`` (valid) — ``envelope`` (or null) → its session form ``data`` → the binary
        ``segments`` for ``reference``; they reassemble to ``data`` in order and reversed.
    ``split-text`` (valid) — ``data`` → ``text`` → the text ``segments`` for ``reference``.
    ``binary-segment`` — decode ``segment`` → ``wide``, ``reference``, ``count``, ``number``,
        ``payload``, or ``error``.
    ``text-segment`` — decode ``udh`` and ``text`` likewise.
    ``text`` — decode ``text`` → ``data``, or ``error``.
    ``compact`` — decode ``data`` → ``form``, or ``error``.
    ``reassembly`` — a reassembler with ``limits`` runs ``steps`` (``receive``, ``expire``,
        ``held``); each step's outcome is pinned, and the case's result is its last step's.
    ``session`` — two sessions from the recorded handshake output run ``steps`` (seal for SMS
        or as an envelope; open either); seals are pinned byte for byte; a failed open leaves
        the session unchanged.
    ``first-contact`` — an SMS first contact sealed from recorded keys and draws, then opened
        by the recipient in ``steps`` (a failure leaves its stores unchanged).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ..envelope import (
    Content,
    ConversationMailbox,
    Envelope,
    open_session,
    pad,
    seal_session,
)
from ..errors import ProtocolError
from ..keys import IdentityKeyPair, OneTimePrekeyPair, SignedPrekeyPair
from ..primitives import X25519KeyPair, x25519_public_key
from ..ratchet import MESSAGE_OVERHEAD, Session
from ..sms import (
    MAX_BINARY_SIZE,
    CompactSession,
    Profile,
    Reassembler,
    ReassemblyLimits,
    TextSegment,
    _seal_sms_first_contact_with,
    decode_compact,
    decode_text,
    encode_text,
    fill_size,
    open_sms_first_contact,
    open_sms_session,
    parse_binary_segment,
    parse_text_segment,
    seal_sms_session,
    session_form_of_envelope,
    split_binary,
    split_text,
)
from . import Case, RecordingRng, ReplayRng, SeededRng, check_outcome, expect_error
from ._mlkem import encapsulate_deterministic
from .envelope import _EPOCH, _NOW, _Recipient, _recipient_from
from .envelope import _first_contact_key as _envelope_first_contact_key

SUITE: Final = "sms"
_TTL: Final = 86_400
_PORT: Final = "05043f583f58"


def _check(field: str, expected: str, got: bytes) -> None:
    if expected != got.hex():
        raise AssertionError(f"{field}: expected {expected}, got {got.hex()}")


def _case(case_id: str, comment: str, flags: list[str], error: str | None, **fields: Any) -> Case:
    return {
        "id": case_id,
        "comment": comment,
        "flags": flags,
        "result": "valid" if error is None else "invalid",
        "error": error,
        **fields,
    }


def _encode_segment(segment: bytes | TextSegment) -> Any:
    if isinstance(segment, TextSegment):
        return {"udh": segment.udh.hex(), "text": segment.text}
    return segment.hex()


def _decode_segment(value: Any) -> bytes | TextSegment:
    if isinstance(value, dict):
        return TextSegment(bytes.fromhex(value["udh"]), value["text"])
    return bytes.fromhex(value)


# --- segmentation ---------------------------------------------------------------------------


def _envelope(label: str, body_size: int) -> bytes:
    rng = SeededRng.for_suite(SUITE, label)
    return Envelope(rng(32), _TTL, rng(body_size)).to_bytes()


def _split_cases() -> list[Case]:
    cases: list[Case] = []
    raw = [(1, 0), (133, 1), (134, 2), (262, 3), (263, 4), (MAX_BINARY_SIZE, 255)]
    for size, reference in raw:
        data = SeededRng.for_suite(SUITE, f"bytes-{size}")(size)
        cases.append(
            _case(
                f"split-binary-{size}",
                f"{size} bytes in {len(split_binary(data, reference))} segment(s)",
                ["binary"],
                None,
                kind="split-binary",
                envelope=None,
                data=data.hex(),
                reference=reference,
                segments=[s.hex() for s in split_binary(data, reference)],
            )
        )
    for body in (256, 1024):
        envelope = _envelope(f"envelope-{body}", body)
        data = session_form_of_envelope(envelope)
        cases.append(
            _case(
                f"split-binary-envelope-{body}",
                f"the session form of an envelope with a {body}-byte body (a deposit that fell "
                "back)",
                ["binary", "envelope"],
                None,
                kind="split-binary",
                envelope=envelope.hex(),
                data=data.hex(),
                reference=0x5A,
                segments=[s.hex() for s in split_binary(data, 0x5A)],
            )
        )
    texts: list[tuple[str, bytes | None, bytes]] = []
    for size in (1, 117, 118):
        texts.append((f"split-text-{size}", None, SeededRng.for_suite(SUITE, f"text-{size}")(size)))
    for body in (256, 1024):
        envelope = _envelope(f"envelope-{body}", body)
        texts.append((f"split-text-envelope-{body}", envelope, session_form_of_envelope(envelope)))
    for case_id, envelope_or_none, data in texts:
        text = encode_text(data)
        cases.append(
            _case(
                case_id,
                f"{len(data)} bytes as {len(text)} characters"
                + ("" if envelope_or_none is None else ": the session form of an envelope"),
                ["text"] if envelope_or_none is None else ["text", "envelope"],
                None,
                kind="split-text",
                envelope=None if envelope_or_none is None else envelope_or_none.hex(),
                data=data.hex(),
                text=text,
                reference=0xC3,
                segments=[_encode_segment(s) for s in split_text(text, 0xC3)],
            )
        )
    return cases


def _segment_cases() -> list[Case]:
    later = "050003"
    full = "00" * 134
    binary: list[tuple[str, str, str, str | None]] = [
        ("segment-single", "an unconcatenated segment", "06" + _PORT + "0102", None),
        ("segment-first", "segment 1 of 2", "0b0003070201" + _PORT + "ab" * 128, None),
        ("segment-16-bit-reference", "IEI 08: accepted on input",
         "0c080412340202" + _PORT + "cd", None),
        ("segment-port-repeated", "a port element in a later segment is accepted",
         "0b0003070202" + _PORT + "ef", None),
        ("segment-too-large", "141 octets", later + "070202" + "00" * 135, "decode.too_large"),
        ("segment-empty", "no octet at all", "", "decode.truncated"),
        ("segment-udhl-past-end", "UDHL 11, 3 octets", "0b0003", "decode.truncated"),
        ("segment-element-cut", "an element whose data passes the header's end",
         "040003070201", "decode.truncated"),
        ("segment-unknown-element", "IEI 0x24 (national language shift)",
         "03240101" + "00", "decode.unknown_field"),
        ("segment-two-concatenations", "an 8-bit and a 16-bit concatenation element",
         "0b000307020208040007020200", "decode.duplicate_key"),
        ("segment-two-ports", "two port elements", "0c" + _PORT + _PORT + "00",
         "decode.duplicate_key"),
        ("segment-concatenation-length", "IEDL 2", "0400020702" + "00", "decode.length"),
        ("segment-foreign-port", "destination port 2948 (WAP push)",
         "0605040b843f58" + "00", "decode.range"),
        ("segment-number-zero", "segment number 0", later + "070200" + "00", "decode.range"),
        ("segment-count-zero", "count 0", later + "070000" + "00", "decode.range"),
        ("segment-number-above-count", "number 3 of 2", later + "070203" + "00",
         "decode.range"),
        ("segment-first-without-port", "segment 1 with no port element",
         later + "070201" + full, "decode.missing_field"),
        ("segment-no-payload", "a header and nothing else", "06" + _PORT, "decode.length"),
        ("segment-short-before-last", "segment 2 of 3 with 133 bytes",
         later + "070302" + "00" * 133, "decode.length"),
        ("segment-precedence", "an unknown element, then number 0: elements are read first",
         "082401010003070200" + "00", "decode.unknown_field"),
    ]  # fmt: skip
    cases: list[Case] = []
    for case_id, comment, hex_value, error in binary:
        fields: dict[str, Any] = {"kind": "binary-segment", "segment": hex_value}
        if error is None:
            wide, reference, count, number, payload = parse_binary_segment(bytes.fromhex(hex_value))
            fields.update(
                wide=wide, reference=reference, count=count, number=number, payload=payload.hex()
            )
        cases.append(_case(case_id, comment, ["segment", "binary"], error, **fields))
    texts: list[tuple[str, str, str, str, str | None]] = [
        ("text-segment-single", "160 characters", "", "?BP1" + "A" * 156, None),
        ("text-segment-later", "segment 2 of 2", "050003090202", "QUJD", None),
        ("text-segment-too-long", "161 characters", "", "?BP1" + "A" * 157, "decode.too_large"),
        ("text-segment-concatenated-too-long", "154 characters", "050003090201", "A" * 154,
         "decode.too_large"),
        ("text-segment-escape", "'[' is an escape in GSM 03.38", "", "?BP1[AAA",
         "decode.alphabet"),
        ("text-segment-not-basic-ascii", "'é' is in the basic set, not in the alphabet", "",
         "?BP1AAé", "decode.alphabet"),
        ("text-segment-short-before-last", "152 characters in segment 1 of 2", "050003090201",
         "A" * 152, "decode.length"),
        ("text-segment-udhl-disagrees", "UDHL 6 over 6 octets", "060003090202", "A",
         "decode.length"),
        ("text-segment-port", "a port element: text-only gateways set none", "06" + _PORT, "A",
         "decode.unknown_field"),
    ]  # fmt: skip
    for case_id, comment, udh, text, error in texts:
        fields = {"kind": "text-segment", "udh": udh, "text": text}
        if error is None:
            wide, reference, count, number, payload = parse_text_segment(
                TextSegment(bytes.fromhex(udh), text)
            )
            fields.update(
                wide=wide, reference=reference, count=count, number=number, payload=payload.hex()
            )
        cases.append(_case(case_id, comment, ["segment", "text"], error, **fields))
    whole: list[tuple[str, str, str, str | None]] = [
        ("text-one-byte", "one zero byte", "?BP1AA", None),
        ("text-ordinary-message", "an ordinary text", "See you at 8?", "decode.version"),
        ("text-version-2", "a later version", "?BP2AAAA", "decode.version"),
        ("text-length", "5 characters of base64", "?BP1AAAAA", "decode.alphabet"),
        ("text-unused-bits", "'AB': the second character's low bits are set", "?BP1AB",
         "decode.alphabet"),
        ("text-padding", "'=' padding is not written", "?BP1AA==", "decode.alphabet"),
        ("text-url-safe", "'-' is base64url, not base64", "?BP1-A", "decode.alphabet"),
    ]  # fmt: skip
    for case_id, comment, text, error in whole:
        fields = {"kind": "text", "text": text}
        if error is None:
            fields["data"] = decode_text(text).hex()
        cases.append(_case(case_id, comment, ["text"], error, **fields))
    compact: list[tuple[str, str, str, str | None]] = [
        ("compact-session", "form 1 and an 88-byte ratchet message", "01" + "00" * 88, None),
        ("compact-empty", "no byte", "", "decode.length"),
        ("compact-form-3", "an unknown form", "03" + "00" * 88, "decode.version"),
        ("compact-session-short", "87 bytes cannot be a ratchet message", "01" + "00" * 87,
         "decode.length"),
        ("compact-first-contact-not-cbor", "form 2 and a CBOR array", "0280",
         "decode.type"),
        ("compact-too-large", "34 165 bytes", "01" + "00" * MAX_BINARY_SIZE, "decode.too_large"),
    ]  # fmt: skip
    for case_id, comment, hex_value, error in compact:
        fields = {"kind": "compact", "data": hex_value}
        if error is None:
            fields["form"] = 1
        cases.append(_case(case_id, comment, ["compact"], error, **fields))
    return cases


# --- reassembly -------------------------------------------------------------------------------

_SMALL: Final = {
    "timeout": 600,
    "max_sender_partials": 2,
    "max_sender_bytes": 40_000,
    "max_partials": 3,
    "max_bytes": 60_000,
}


def _limits(record: dict[str, int]) -> ReassemblyLimits:
    return ReassemblyLimits(**record)


def _run_steps(limits: ReassemblyLimits, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run reassembly steps, filling in each step's outcome (generation)."""
    reassembler = Reassembler(limits)
    out = []
    for step in steps:
        step = dict(step)
        if step["action"] == "receive":
            try:
                done = reassembler.receive(
                    bytes.fromhex(step["sender"]), _decode_segment(step["segment"]), now=step["now"]
                )
            except ProtocolError as exc:
                step.update(result="invalid", error=exc.code)
            else:
                step.update(
                    result="valid",
                    error=None,
                    outcome="pending" if done is None else "complete",
                    data=None if done is None else done.data.hex(),
                )
        elif step["action"] == "expire":
            dropped = reassembler.expire(step["now"])
            step.update(
                result="valid", error=None, expired=[[p.sender.hex(), p.reference] for p in dropped]
            )
        else:  # held
            step.update(result="valid", error=None, partials=_held(reassembler))
        out.append(step)
    return out


def _held(reassembler: Reassembler) -> list[list[Any]]:
    return [
        [p.sender.hex(), p.profile.value, p.reference, list(p.numbers), p.size]
        for p in reassembler.snapshot().partials
    ]


def _reassembly_cases() -> list[Case]:
    rng = SeededRng.for_suite(SUITE, "reassembly")
    alice, bob, carol = (b"+447700900123".hex(), b"+15555550100".hex(), b"+33612345678".hex())
    message = rng(500)  # 4 binary segments
    segments = [s.hex() for s in split_binary(message, 42)]
    text_message = rng(200)
    text_segments = [_encode_segment(s) for s in split_text(encode_text(text_message), 42)]
    other = [s.hex() for s in split_binary(rng(500), 43)]

    def rx(sender: str, segment: Any, now: int) -> dict[str, Any]:
        return {"actor": "reassembler", "action": "receive", "sender": sender,
                "segment": segment, "now": now}  # fmt: skip

    def held(now: int = 0) -> dict[str, Any]:
        return {"actor": "reassembler", "action": "held", "now": now}

    def expire(now: int) -> dict[str, Any]:
        return {"actor": "reassembler", "action": "expire", "now": now}

    s = segments
    conflicting = s[1][:-2] + ("00" if s[1][-2:] != "00" else "01")
    other_count = s[1][:8] + "05" + s[1][10:]
    scenarios: list[tuple[str, str, dict[str, int] | None, list[dict[str, Any]]]] = [
        ("reassembly-in-order", "four segments in order", None,
         [rx(alice, x, 10) for x in s]),
        ("reassembly-any-order-with-duplicates", "3, 1, 3, 4, 1, 2: duplicates are ignored",
         None, [rx(alice, s[i], 10 + i) for i in (2, 0, 2, 3, 0, 1)]),
        ("reassembly-text", "a text in two segments, last first", None,
         [rx(bob, text_segments[1], 5), rx(bob, text_segments[0], 6)]),
        ("reassembly-senders-apart", "one reference from two senders: two messages", None,
         [rx(alice, s[0], 1), rx(bob, s[1], 2), held(), rx(bob, s[0], 3), rx(alice, s[1], 4),
          rx(alice, s[2], 5), rx(alice, s[3], 6), held()]),
        ("reassembly-conflict", "segment 2 again with another last byte", None,
         [rx(alice, s[0], 1), rx(alice, s[1], 2), rx(alice, conflicting, 3)]),
        ("reassembly-conflict-dropped", "after a conflict the partial message is gone", None,
         [rx(alice, s[0], 1), rx(alice, s[1], 2), rx(alice, conflicting, 3), held(),
          rx(alice, s[2], 4), held()]),
        ("reassembly-count-conflict", "segment 2 claiming 5 segments", None,
         [rx(alice, s[0], 1), rx(alice, other_count, 2)]),
        ("reassembly-timeout", "the first segment at 0, the timeout 600: gone at 600", _SMALL,
         [rx(alice, s[0], 0), rx(alice, s[1], 599), expire(599), expire(600), held(),
          rx(alice, s[2], 601), rx(alice, s[3], 602), held()]),
        ("reassembly-timeout-on-receive", "a segment at the deadline expires the old ones",
         _SMALL, [rx(alice, s[0], 0), rx(bob, other[0], 300), rx(carol, s[0], 600), held()]),
        ("reassembly-evict-sender", "a third partial message of one sender evicts its oldest",
         _SMALL, [rx(alice, s[0], 1), rx(alice, other[0], 2), rx(alice, text_segments[0], 3),
                  held()]),
        ("reassembly-evict-total", "a fourth partial message evicts the oldest of all",
         _SMALL, [rx(alice, s[0], 1), rx(bob, s[0], 2), rx(carol, s[0], 3),
                  rx(bob, other[0], 4), held()]),
        ("reassembly-bad-sender", "an originating address of 33 bytes", None,
         [rx("30" * 33, s[0], 1)]),
        ("reassembly-bad-segment", "a segment that does not decode changes nothing", None,
         [rx(alice, s[0], 1), rx(alice, "050003", 2)]),
    ]  # fmt: skip
    cases = []
    for case_id, comment, limits, steps in scenarios:
        record = limits or {
            "timeout": 86_400, "max_sender_partials": 8, "max_sender_bytes": 65_536,
            "max_partials": 1_024, "max_bytes": 1_048_576,
        }  # fmt: skip
        done = _run_steps(_limits(record), steps)
        last = done[-1]
        cases.append(
            _case(
                case_id,
                comment,
                ["reassembly"],
                last["error"],
                kind="reassembly",
                limits=record,
                steps=done,
            )
        )
    return cases


def _verify_reassembly(case: Case) -> None:
    expected = case["steps"]
    got = _run_steps(_limits(case["limits"]), [
        {k: v for k, v in step.items() if k in ("actor", "action", "sender", "segment", "now")}
        for step in expected
    ])  # fmt: skip
    for i, (want, have) in enumerate(zip(expected, got, strict=True)):
        if want != have:
            raise AssertionError(f"steps[{i}]: expected {want}, got {have}")
    if expected[-1]["error"] != case["error"]:
        raise AssertionError("error: the case's error is not its last step's")


# --- sessions -------------------------------------------------------------------------------


def _session_record(label: str) -> dict[str, Any]:
    rng = SeededRng.for_suite(SUITE, label)
    return {
        "root_key": rng(32).hex(),
        "header_key": rng(32).hex(),
        "next_header_key": rng(32).hex(),
        "associated_data": rng(64).hex(),
        "bob_ratchet_private": rng(32).hex(),
    }


def _run_session_steps(
    record: dict[str, Any], steps: list[dict[str, Any]], alice_rng: Any, bob_rng: Any
) -> list[dict[str, Any]]:
    h = bytes.fromhex
    common: dict[str, Any] = {
        "root_key": h(record["root_key"]),
        "header_key": h(record["header_key"]),
        "next_header_key": h(record["next_header_key"]),
        "associated_data": h(record["associated_data"]),
    }
    bob_key = h(record["bob_ratchet_private"])
    sessions = {
        "alice": Session.initiator(
            remote_ratchet_key=x25519_public_key(bob_key), rng=alice_rng, **common
        ),
        "bob": Session.responder(ratchet_private_key=bob_key, rng=bob_rng, **common),
    }
    out: list[dict[str, Any]] = []
    for step in steps:
        step = dict(step)
        session = sessions[step["actor"]]
        action = step["action"]
        if action.startswith("seal"):
            content = h(step["content"])
            if action == "seal-envelope":
                sealed = seal_session(session, h(step["address"]), content, ttl=_TTL)
            elif action == "seal-sms":
                sealed = seal_sms_session(session, content, profile=Profile(step["profile"]))
            else:  # seal-sms-bad-padding: the test-only mutator, a padding ending in 0x01
                size = fill_size(Profile(step["profile"]), 1 + MESSAGE_OVERHEAD + len(content) + 1)
                assert size is not None
                padded = pad(content, size - 1 - MESSAGE_OVERHEAD)
                sealed = b"\x01" + session.encrypt(padded[:-1] + b"\x01")
            step.update(result="valid", error=None, sealed=sealed.hex())
        else:
            ref = step.pop("data_of", None)
            if ref is not None:  # generation: the bytes an earlier step sealed
                sealed_hex = out[ref]["sealed"]
                if action == "open-sms" and out[ref]["action"] == "seal-envelope":
                    sealed_hex = session_form_of_envelope(h(sealed_hex)).hex()
                step["data"] = sealed_hex
            data = h(step["data"])
            before = session.snapshot()
            try:
                if action == "open-envelope":
                    opened = open_session(data, session)
                else:
                    opened = open_sms_session(data, session, profile=Profile(step["profile"]))
            except ProtocolError as exc:
                if session.snapshot() != before:
                    raise AssertionError("a failed open changed the session") from None
                step.update(result="invalid", error=exc.code, content=None)
            else:
                step.update(result="valid", error=None, content=opened.hex())
        out.append(step)
    return out


def _session_cases() -> list[Case]:
    hello = Content(b"Hello").to_bytes()
    text = Content(b"No signal here, sending this by SMS.").to_bytes()
    long = Content(bytes(range(256)) * 2).to_bytes()
    address = SeededRng.for_suite(SUITE, "mailbox")(32).hex()

    def seal(actor: str, action: str, content: bytes, profile: str | None = None) -> dict[str, Any]:
        step = {"actor": actor, "action": action, "content": content.hex()}
        if profile is not None:
            step["profile"] = profile
        if action == "seal-envelope":
            step["address"] = address
        return step

    def open_(actor: str, action: str, ref: int, profile: str | None = None) -> dict[str, Any]:
        step = {"actor": actor, "action": action, "data_of": ref}
        if profile is not None:
            step["profile"] = profile
        return step

    scripts: list[tuple[str, str, list[dict[str, Any]]]] = [
        ("session-binary", "messages both ways by SMS, binary profile", [
            seal("alice", "seal-sms", hello, "binary"), open_("bob", "open-sms", 0, "binary"),
            seal("bob", "seal-sms", text, "binary"), open_("alice", "open-sms", 2, "binary"),
            seal("alice", "seal-sms", long, "binary"), open_("bob", "open-sms", 4, "binary"),
        ]),
        ("session-text", "messages both ways by SMS, text profile", [
            seal("alice", "seal-sms", hello, "text"), open_("bob", "open-sms", 0, "text"),
            seal("bob", "seal-sms", text, "text"), open_("alice", "open-sms", 2, "text"),
        ]),
        ("session-fallback-duplicate", "a deposit that fell back: its SMS copy is accepted, "
         "the relay's copy is a replay", [
            seal("alice", "seal-envelope", text), open_("bob", "open-sms", 0, "binary"),
            open_("bob", "open-envelope", 0),
        ]),
        ("session-fallback-any-profile", "a PADMÉ-padded form is accepted in the text profile",
         [seal("alice", "seal-envelope", text), open_("bob", "open-sms", 0, "text")]),
        ("session-wrong-profile", "filled for the binary profile, arrived as text", [
            seal("alice", "seal-sms", text, "binary"), open_("bob", "open-sms", 0, "text"),
        ]),
        ("session-bad-padding", "authentic, but the padding ends in 0x01", [
            seal("alice", "seal-sms-bad-padding", text, "binary"),
            open_("bob", "open-sms", 0, "binary"),
        ]),
        ("session-sms-replay", "the same SMS message twice", [
            seal("alice", "seal-sms", hello, "binary"), open_("bob", "open-sms", 0, "binary"),
            open_("bob", "open-sms", 0, "binary"),
        ]),
    ]  # fmt: skip
    cases = []
    for case_id, comment, script in scripts:
        record = _session_record(case_id)
        alice_rng = RecordingRng(SeededRng.for_suite(SUITE, f"{case_id}/alice"))
        bob_rng = RecordingRng(SeededRng.for_suite(SUITE, f"{case_id}/bob"))
        done = _run_session_steps(record, script, alice_rng, bob_rng)
        cases.append(
            _case(
                case_id,
                comment,
                ["session"],
                done[-1]["error"],
                kind="session",
                **record,
                alice_rng=[v.hex() for v in alice_rng.drawn],
                bob_rng=[v.hex() for v in bob_rng.drawn],
                steps=done,
            )
        )
    return cases


def _verify_session(case: Case) -> None:
    alice_rng = ReplayRng([bytes.fromhex(v) for v in case["alice_rng"]])
    bob_rng = ReplayRng([bytes.fromhex(v) for v in case["bob_rng"]])
    record = {k: case[k] for k in _session_record("x")}
    inputs = [
        {k: v for k, v in step.items()
         if k in ("actor", "action", "content", "profile", "address", "data")}
        for step in case["steps"]
    ]  # fmt: skip
    got = _run_session_steps(record, inputs, alice_rng, bob_rng)
    for i, (want, have) in enumerate(zip(case["steps"], got, strict=True)):
        if want != have:
            raise AssertionError(f"steps[{i}]: expected {want}, got {have}")
    if not (alice_rng.exhausted and bob_rng.exhausted):
        raise AssertionError("rng: recorded draws left over")
    if case["steps"][-1]["error"] != case["error"]:
        raise AssertionError("error: the case's error is not its last step's")


# --- first contact over SMS -------------------------------------------------------------------


def _new_recipient(label: str) -> _Recipient:
    rng = SeededRng.for_suite(SUITE, label)
    identity = IdentityKeyPair.generate(rng)
    signed = SignedPrekeyPair.generate(identity, prekey_id=1, now=_NOW, rng=rng)
    opk = OneTimePrekeyPair.generate(prekey_id=2, rng=rng)
    key = _envelope_first_contact_key(identity, _EPOCH, f"sms/{label}/fck")
    return _Recipient(identity, signed, opk, [key])


def _first_contact(
    recipient: _Recipient,
    sender: IdentityKeyPair,
    mailbox: ConversationMailbox,
    m: bytes,
    profile: Profile,
    draw: Callable[[int], bytes],
) -> tuple[bytes, bytes, RecordingRng]:
    bundle = recipient.bundle(recipient.first_contact[0])
    content = Content(b"No data here. Hello by SMS!", mailbox.grant(1)).to_bytes()
    shared, ciphertext = encapsulate_deterministic(bundle.kem_prekey.public_key, m)
    sending = RecordingRng(draw)
    ephemeral = X25519KeyPair.generate(sending)
    sealed = _seal_sms_first_contact_with(
        sender, bundle, content, profile, ephemeral, shared, ciphertext, sending
    )
    return content, sealed.data, sending


def _first_contact_cases() -> list[Case]:
    cases = []
    for profile in Profile:
        label = f"first-contact-{profile.value}"
        recipient = _new_recipient(f"{label}/recipient")
        rng = SeededRng.for_suite(SUITE, label)
        sender = IdentityKeyPair.generate(rng)
        mailbox = ConversationMailbox.generate(rng)
        m = rng(32)
        content, data, sending = _first_contact(recipient, sender, mailbox, m, profile, rng)
        other = Profile.TEXT if profile is Profile.BINARY else Profile.BINARY
        steps: list[dict[str, Any]] = [
            {"profile": other.value, "result": "invalid", "error": "decode.padding"},
            {"profile": profile.value, "result": "valid", "error": None},
        ]
        keys, store = recipient.stores()
        recipient_rng = RecordingRng(SeededRng.for_suite(SUITE, f"{label}/open"))
        for step in steps:
            try:
                open_sms_first_contact(
                    data, keys=keys, prekeys=store, profile=Profile(step["profile"]),
                    rng=recipient_rng,
                )  # fmt: skip
            except ProtocolError as exc:
                if exc.code != step["error"]:
                    raise AssertionError(f"generation: {exc.code}, not {step['error']}") from None
        segments = split_binary(data, 1) if profile is Profile.BINARY else split_text(
            encode_text(data), 1
        )  # fmt: skip
        cases.append(
            _case(
                label,
                f"a first contact over SMS, {profile.value} profile; opened in the other profile "
                "(refused: its padding fills the other profile's segments), then in its own",
                ["first-contact", profile.value],
                None,
                kind="first-contact",
                profile=profile.value,
                **recipient.record(),
                epoch=_EPOCH,
                sender_identity_private=sender.private_bytes().hex(),
                sender_mailbox_private=mailbox.private_bytes().hex(),
                kem_m=m.hex(),
                sender_rng=[v.hex() for v in sending.drawn],
                recipient_rng=[v.hex() for v in recipient_rng.drawn],
                content=content.hex(),
                data=data.hex(),
                initial_message=data[1:].hex(),
                peer=sender.public.to_bytes().hex(),
                segments=[_encode_segment(s) for s in segments],
                steps=steps,
                cddl={"initial_message": "initial-message", "content": "content"},
            )
        )
    return cases


def _verify_first_contact(case: Case) -> None:
    h = bytes.fromhex
    recipient = _recipient_from(case)
    sender = IdentityKeyPair.from_private_bytes(h(case["sender_identity_private"]))
    mailbox = ConversationMailbox.from_private_bytes(h(case["sender_mailbox_private"]))
    profile = Profile(case["profile"])
    replay = ReplayRng([h(v) for v in case["sender_rng"]])
    content, data, _ = _first_contact(recipient, sender, mailbox, h(case["kem_m"]), profile, replay)
    _check("content", case["content"], content)
    _check("data", case["data"], data)
    segments = split_binary(data, 1) if profile is Profile.BINARY else split_text(
        encode_text(data), 1
    )  # fmt: skip
    if [_encode_segment(s) for s in segments] != case["segments"]:
        raise AssertionError("segments: differ")
    keys, store = recipient.stores()
    rng = ReplayRng([h(v) for v in case["recipient_rng"]])
    for i, step in enumerate(case["steps"]):

        def run(step: dict[str, Any] = step) -> Any:
            return open_sms_first_contact(
                data, keys=keys, prekeys=store, profile=Profile(step["profile"]), rng=rng
            )

        if step["result"] == "valid":
            opened = run()
            _check(f"steps[{i}].content", case["content"], opened.plaintext)
            _check(f"steps[{i}].peer", case["peer"], opened.peer.to_bytes())
            continue
        before = (keys.epochs(), store.held_ids(), rng.remaining)
        expect_error(step, run)
        if (keys.epochs(), store.held_ids(), rng.remaining) != before:
            raise AssertionError(f"steps[{i}]: a refusal changed the recipient")


# --- the suite ----------------------------------------------------------------------------------


def generate() -> list[Case]:
    """All cases of the suite, deterministically."""
    return (
        _split_cases()
        + _segment_cases()
        + _reassembly_cases()
        + _session_cases()
        + _first_contact_cases()
    )


def _verify_split(case: Case) -> None:
    data = bytes.fromhex(case["data"])
    if case["kind"] == "split-binary":
        if case["envelope"] is not None:
            _check("data", case["data"], session_form_of_envelope(bytes.fromhex(case["envelope"])))
        segments: list[Any] = list(split_binary(data, case["reference"]))
        if [s.hex() for s in segments] != case["segments"]:
            raise AssertionError("segments: differ")
    else:
        if case["envelope"] is not None:
            _check("data", case["data"], session_form_of_envelope(bytes.fromhex(case["envelope"])))
        if encode_text(data) != case["text"] or decode_text(case["text"]) != data:
            raise AssertionError("text: differs")
        segments = list(split_text(case["text"], case["reference"]))
        if [_encode_segment(s) for s in segments] != case["segments"]:
            raise AssertionError("segments: differ")
    for order in (segments, segments[::-1]):
        reassembler = Reassembler()
        results = [reassembler.receive(b"+1", s, now=0) for s in order]
        if results[-1] is None or results[-1].data != data or any(results[:-1]):
            raise AssertionError("segments: do not reassemble to data")


def _verify_decoding(case: Case) -> None:
    kind = case["kind"]
    if kind in ("binary-segment", "text-segment"):
        if kind == "binary-segment":
            segment = bytes.fromhex(case["segment"])
            parse: Callable[[], tuple[bool, int, int, int, bytes]] = lambda: (  # noqa: E731
                parse_binary_segment(segment)
            )
        else:
            text_segment = TextSegment(bytes.fromhex(case["udh"]), case["text"])
            parse = lambda: parse_text_segment(text_segment)  # noqa: E731
        if case["result"] == "invalid":
            expect_error(case, parse)
            return
        wide, reference, count, number, payload = parse()
        fields = [case["wide"], case["reference"], case["count"], case["number"]]
        if [wide, reference, count, number] != fields:
            raise AssertionError("wide/reference/count/number: differ")
        _check("payload", case["payload"], payload)
    elif kind == "text":
        if case["result"] == "invalid":
            expect_error(case, lambda: decode_text(case["text"]))
            return
        _check("data", case["data"], decode_text(case["text"]))
    else:
        data = bytes.fromhex(case["data"])
        if case["result"] == "invalid":
            expect_error(case, lambda: decode_compact(data))
            return
        if type(decode_compact(data)) is not CompactSession:
            raise AssertionError("form: differs")


def verify(case: Case) -> None:
    """Check one case against this implementation."""
    kind = case["kind"]
    if kind in ("reassembly", "session", "first-contact"):
        check_outcome(case, case.get("steps"))
    if kind in ("split-binary", "split-text"):
        _verify_split(case)
    elif kind in ("binary-segment", "text-segment", "text", "compact"):
        _verify_decoding(case)
    elif kind == "reassembly":
        _verify_reassembly(case)
    elif kind == "session":
        _verify_session(case)
    elif kind == "first-contact":
        _verify_first_contact(case)
    else:
        raise AssertionError(f"kind: unknown {kind!r}")
