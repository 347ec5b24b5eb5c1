"""Spec §8.2–§8.4, §8.7: normalisation, derivations, epochs and the client's VOPRF flow.

Expected values come from literals, an independent HKDF written here with ``hmac``, the
official RFC 9497 vectors, or properties; never from the code under test.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from protocol import oprf
from protocol.blinding import (
    COUNTRY_CALLING_CODES,
    EPOCH_LENGTH,
    FIXED_NATIONAL_LENGTH,
    IdentifierOutput,
    MailboxKeyPair,
    PendingEvaluation,
    PhoneNumber,
    discovery_token,
    epoch_of,
    epoch_start,
    normalize_phone_number,
    request_evaluation,
    routing_id,
    routing_scalar,
)
from protocol.codec import decode, encode
from protocol.errors import DecodeError, ProtocolError
from protocol.evaluator import EvaluationResponse, Evaluator, OprfKeyPair
from protocol.kat import SeededRng, generate_suite, verify_suite
from protocol.primitives import Element, Scalar
from tests.external import load_json

NOW = 1_767_225_600
L = 2**252 + 27742317777372353535851937790883648493
E164 = "+442079460958"
UK: dict[str, Any] = {"default_country": 44, "trunk_prefix": "0", "international_prefix": "00"}


def code(action: Callable[[], object]) -> str:
    with pytest.raises(ProtocolError) as info:
        action()
    return info.value.code


# --- spec §8.2: normalisation ---------------------------------------------------------------

#: Twenty spellings of one London number (Ofcom's drama range 020 7946 0xxx).
SPELLINGS = [
    "+442079460958",
    "+44 20 7946 0958",
    "+44-20-7946-0958",
    "+44.20.7946.0958",
    "+44 (0)20 7946 0958",
    "(+44) 20 7946 0958",
    "0044 20 7946 0958",
    "00442079460958",
    "0044 (0)20 7946 0958",
    "020 7946 0958",
    "02079460958",
    "(020) 7946-0958",
    "020.7946.0958",
    "020/7946 0958",
    "2079460958",
    "  +44 20 7946 0958  ",
    "＋４４ ２０ ７９４６ ０９５８",
    "+44\u00a020\u00a07946\u00a00958",
    "+44\u201320\u20137946\u20130958",
    "+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨",
    "\u200e+44 20 7946 0958\u200e",
    "+44 20 79 46 09 58",
]


def test_many_spellings_give_one_number_and_one_oprf_input() -> None:
    numbers = {normalize_phone_number(s, **UK) for s in SPELLINGS}
    assert len(SPELLINGS) >= 15
    assert numbers == {PhoneNumber(44, "2079460958")}
    (number,) = numbers
    assert number.e164 == E164
    assert number.oprf_input() == b"Blindpost-v1 phone-identifier\x00+442079460958"


def test_many_spellings_give_one_discovery_token_through_a_real_evaluator() -> None:
    key = OprfKeyPair.derive(bytes(32), 1)
    evaluator = Evaluator(key, now=NOW)
    rng = SeededRng(b"test_blinding/spellings")
    tokens = set()
    for start in range(0, len(SPELLINGS), 8):
        numbers = [normalize_phone_number(s, **UK) for s in SPELLINGS[start : start + 8]]
        pending = request_evaluation(numbers, key.published(NOW + 1), now=NOW, rng=rng)
        response = evaluator.evaluate(b"c", pending.request.to_bytes(), now=NOW, rng=rng)
        tokens |= {o.discovery_token() for o in pending.finish(response)}
    assert len(tokens) == 1


def test_other_dialling_conventions() -> None:
    us: dict[str, Any] = {"default_country": 1, "trunk_prefix": "1", "international_prefix": "011"}
    assert normalize_phone_number("011 44 20 7946 0958", **us).e164 == E164
    assert normalize_phone_number("(415) 555-2671", **us).e164 == "+14155552671"
    assert normalize_phone_number("1 415 555 2671", **us).e164 == "+14155552671"
    italy: dict[str, Any] = {"default_country": 39, "trunk_prefix": ""}
    assert normalize_phone_number("06 6982 1234", **italy).e164 == "+390669821234"
    assert normalize_phone_number("+354 551 2345").e164 == "+3545512345"
    assert normalize_phone_number("+683 4002").e164 == "+6834002"
    assert normalize_phone_number("+49 1234 5678 90123").e164 == "+491234567890123"
    # A 0 written after the country code (without parentheses) is part of the number.
    assert normalize_phone_number("+44 020 7946 0958").e164 == "+4402079460958"


@pytest.mark.parametrize(
    ("text", "params", "expected"),
    [
        ("+44 20 7946 CALL", UK, "decode.phone_chars"),
        ("+44 20 7946 0958 ext. 12", UK, "decode.phone_chars"),
        ("44+20 7946 0958", UK, "decode.phone_chars"),
        ("++44 20 7946 0958", UK, "decode.phone_chars"),
        ("tel:+442079460958", UK, "decode.phone_chars"),
        ("+44 2⁰ 7946 0958", UK, "decode.phone_chars"),
        ("+44\t20 7946 0958", UK, "decode.phone_chars"),
        ("+44 20 7946 0958\n", UK, "decode.phone_chars"),
        ("", UK, "decode.phone_length"),
        (" - . ( ) ", UK, "decode.phone_length"),
        ("+" + "1" * 64, UK, "decode.phone_length"),
        ("+49 1234 5678 901234", {}, "decode.phone_length"),
        ("+683 400", {}, "decode.phone_length"),
        ("+1 415 555 26710", {}, "decode.phone_length"),
        ("+1 415 555 267", {}, "decode.phone_length"),
        ("+7 912 345 678", {}, "decode.phone_length"),
        ("+999 1234 5678", {}, "decode.phone_country"),
        ("+28 1234 5678", {}, "decode.phone_country"),
        ("+0 1234 5678", {}, "decode.phone_country"),
        ("000 1234 5678", {}, "decode.phone_country"),
        ("020 7946 0958", {}, "decode.phone_country"),
        ("+", UK, "decode.phone_length"),
    ],
)
def test_invalid_numbers(text: str, params: dict[str, Any], expected: str) -> None:
    assert code(lambda: normalize_phone_number(text, **params)) == expected


def test_checks_run_in_the_specified_order() -> None:
    # Too long wins over bad characters; characters over country; country over length.
    assert code(lambda: normalize_phone_number("x" * 65)) == "decode.phone_length"
    assert code(lambda: normalize_phone_number("+999 x")) == "decode.phone_chars"
    assert code(lambda: normalize_phone_number("+999 1")) == "decode.phone_country"


def test_caller_contract() -> None:
    for bad in (
        lambda: normalize_phone_number(b"+442079460958"),  # type: ignore[arg-type]
        lambda: normalize_phone_number("1", default_country=999),
        # Spec §8.2: default_country is an integer, never a digit string.
        lambda: normalize_phone_number("2079460958", default_country="44"),  # type: ignore[arg-type]
        lambda: normalize_phone_number("2079460958", default_country="+44"),  # type: ignore[arg-type]
        lambda: normalize_phone_number("2079460958", default_country=True),
        lambda: normalize_phone_number("1", trunk_prefix="00x"),
        lambda: normalize_phone_number("1", international_prefix="0"),
        lambda: PhoneNumber(44, "12"),
        lambda: PhoneNumber(999, "12345678"),
        lambda: PhoneNumber(44, "２０７９４６０９５８"),
    ):
        assert code(bad) == "usage.bad_argument"


def test_country_code_table_is_prefix_free_and_has_the_itu_codes() -> None:
    codes = [str(c) for c in COUNTRY_CALLING_CODES]
    assert not [(a, b) for a in codes for b in codes if a != b and b.startswith(a)]
    assert {1, 7, 44, 49, 86, 91, 354, 683, 690, 882, 998} <= COUNTRY_CALLING_CODES
    assert not {0, 28, 259, 379, 384, 422, 671, 684, 999} & COUNTRY_CALLING_CODES
    assert len(COUNTRY_CALLING_CODES) == 215


def test_phone_number_repr_is_redacted() -> None:
    number = normalize_phone_number(E164)
    assert "2079460958" not in repr(number) and "redacted" in repr(number)


_DIGIT_SCRIPTS = [0x30, 0x660, 0x6F0, 0x966, 0x9E6, 0xE50, 0x1040, 0xFF10]
_SEPARATORS = [" ", "-", ".", "/", "\u00a0", "\u2013", "\u3000", "\u200e", ""]


@st.composite
def valid_numbers(draw: st.DrawFn) -> PhoneNumber:
    cc = draw(st.sampled_from(sorted(COUNTRY_CALLING_CODES)))
    fixed = FIXED_NATIONAL_LENGTH.get(cc)
    length = fixed if fixed else draw(st.integers(4, 15 - len(str(cc))))
    nsn = draw(st.text(alphabet="0123456789", min_size=length, max_size=length))
    return PhoneNumber(cc, nsn)


@st.composite
def spellings(draw: st.DrawFn, digits: str) -> str:
    script = draw(st.sampled_from(_DIGIT_SCRIPTS))
    out = []
    for d in digits:
        out.append(chr(script + int(d)))
        out.append(draw(st.sampled_from(_SEPARATORS)))
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_property_decorated_spellings_normalise_back(data: st.DataObject) -> None:
    number = data.draw(valid_numbers())
    digits = f"{number.country_code}{number.national_number}"
    body = data.draw(spellings(digits))
    international = data.draw(st.sampled_from(["+", "00", "\uff0b"]))
    assert normalize_phone_number(international + body) == number
    # The national form, for a caller in the same country without a trunk prefix (a national
    # number that starts with the international prefix 00 reads as international: §8.2).
    assume(not number.national_number.startswith("00"))
    national = data.draw(spellings(number.national_number))
    assert (
        normalize_phone_number(national, default_country=number.country_code, trunk_prefix="")
        == number
    )
    assert normalize_phone_number(number.e164) == number


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=80), cc=st.sampled_from([None, 1, 44, 39]))
def test_property_any_text_is_a_number_or_a_decode_error(text: str, cc: int | None) -> None:
    try:
        number = normalize_phone_number(text, default_country=cc)
    except DecodeError as exc:
        assert exc.code.startswith("decode.phone_")
        return
    assert len(number.e164) <= 16 and normalize_phone_number(number.e164) == number


# --- spec §8.3: derivations (independent HKDF) -------------------------------------------------


def _hkdf(label: bytes, ikm: bytes, context: bytes, length: int) -> bytes:
    prk = hmac.new(bytes(32), ikm, hashlib.sha256).digest()
    info = label + b"\x00" + context
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


OUTPUTS = [hashlib.sha512(b"test output %d" % i).digest() for i in range(4)]


def test_discovery_token_is_the_labelled_kdf_of_the_output() -> None:
    for output in OUTPUTS:
        assert discovery_token(output) == _hkdf(b"Blindpost-v1 discovery-token", output, b"", 32)


def test_routing_scalar_and_routing_id() -> None:
    mailbox = MailboxKeyPair.generate(SeededRng(b"test_blinding/mailbox"))
    for output in OUTPUTS:
        for epoch in (0, 1, 2920, 2**64 - 1):
            wide = _hkdf(b"Blindpost-v1 routing-scalar", output, epoch.to_bytes(8, "big"), 64)
            h = int.from_bytes(wide, "little") % L
            assert routing_scalar(output, epoch).to_bytes() == h.to_bytes(32, "little")
            rid = routing_id(output, mailbox.public_key, epoch)
            assert (
                rid == Element(mailbox.public_key).mul(Scalar(h.to_bytes(32, "little"))).to_bytes()
            )
            # The owner's epoch secret is the discrete log of the routing ID.
            assert Element.base_mul(mailbox.epoch_secret(output, epoch)).to_bytes() == rid


def _hamming(a: bytes, b: bytes) -> int:
    return sum(bin(x ^ y).count("1") for x, y in zip(a, b, strict=True))


def test_routing_ids_of_different_epochs_are_unlinkable() -> None:
    rng = SeededRng(b"test_blinding/unlinkable")
    users = [(rng(64), MailboxKeyPair.generate(rng).public_key) for _ in range(4)]
    epochs = range(2900, 2932)
    ids = {u: [routing_id(out, mk, e) for e in epochs] for u, (out, mk) in enumerate(users)}
    everything = [r for rs in ids.values() for r in rs]
    assert len(set(everything)) == len(everything)  # all distinct, across epochs and users
    for rs in ids.values():
        # About half of 256 bits change between any two epochs (binomial: mean 128, sd 8).
        for a in range(len(rs)):
            for b in range(a + 1, len(rs)):
                assert 80 <= _hamming(rs[a], rs[b]) <= 176
        # No simple relation between consecutive epochs: neither the XOR nor the group
        # difference repeats, within a user or across users.
    xor_steps = {
        bytes(x ^ y for x, y in zip(rs[i], rs[i + 1], strict=True))
        for rs in ids.values()
        for i in range(len(rs) - 1)
    }
    group_steps = {
        (Element(rs[i + 1]) - Element(rs[i])).to_bytes()
        for rs in ids.values()
        for i in range(len(rs) - 1)
    }
    steps = sum(len(rs) - 1 for rs in ids.values())
    assert len(xor_steps) == steps and len(group_steps) == steps
    # Nor is an epoch's routing ID a small multiple of the previous one.
    for rs in ids.values():
        for i in range(len(rs) - 1):
            multiples = {
                Element(rs[i]).mul(Scalar(k.to_bytes(32, "little"))).to_bytes()
                for k in range(1, 64)
            }
            assert rs[i + 1] not in multiples


def test_routing_ids_differ_between_mailbox_keys_and_tokens_do_not_depend_on_them() -> None:
    rng = SeededRng(b"test_blinding/mailboxes")
    output = rng(64)
    a, b = MailboxKeyPair.generate(rng), MailboxKeyPair.generate(rng)
    assert routing_id(output, a.public_key, 7) != routing_id(output, b.public_key, 7)
    assert discovery_token(output) not in (
        routing_id(output, a.public_key, 7),
        routing_scalar(output, 7).to_bytes(),
    )


def test_derivations_refuse_bad_arguments() -> None:
    assert code(lambda: discovery_token(bytes(63))) == "usage.bad_argument"
    assert code(lambda: routing_scalar(bytes(64), -1)) == "usage.bad_argument"
    assert code(lambda: routing_scalar(bytes(64), 2**64)) == "usage.bad_argument"
    assert code(lambda: routing_id(bytes(64), bytes(32), 1)) == "decode.bad_element"


# --- spec §8.4: epochs ------------------------------------------------------------------------


def test_epochs() -> None:
    assert EPOCH_LENGTH == 604_800
    # 2026-01-01 00:00 UTC is a Thursday, like 1970-01-01: an epoch starts exactly then.
    assert [epoch_of(t) for t in (0, 604_799, 604_800, NOW - 1, NOW)] == [0, 0, 1, 2921, 2922]
    assert epoch_start(2922) == NOW == 2922 * 7 * 86_400
    assert code(lambda: epoch_of(-1)) == "usage.bad_argument"


# --- spec §8.7: the client's flow -------------------------------------------------------------


def _rfc9497_voprf() -> dict[str, Any]:
    suites = load_json("oprf", "rfc9497-allVectors.json")
    (suite,) = [s for s in suites if s["identifier"] == "ristretto255-SHA512" and s["mode"] == 1]
    return suite  # type: ignore[no-any-return]


def _split(value: str) -> list[bytes]:
    return [bytes.fromhex(v) for v in value.split(",")]


def test_roles_reproduce_the_official_rfc9497_voprf_vectors() -> None:
    """The evaluator and client objects, driven with the RFC's key, blinds and r, give the
    RFC's blinded elements, evaluations, proofs and outputs (single and batched)."""
    suite = _rfc9497_voprf()
    key = OprfKeyPair(7, Scalar(bytes.fromhex(suite["skSm"])))
    published = key.published(NOW + 86_400)
    assert published.public_key == bytes.fromhex(suite["pkSm"])
    for vector in suite["vectors"]:
        inputs, blinds = _split(vector["Input"]), [Scalar(b) for b in _split(vector["Blind"])]
        blinded = [
            oprf._blind_with(x, b, oprf.Mode.VOPRF) for x, b in zip(inputs, blinds, strict=True)
        ]
        pending = PendingEvaluation(published, inputs, blinds, blinded)
        assert list(pending.request.blinded) == _split(vector["BlindedElement"])
        r = bytes.fromhex(vector["Proof"]["r"])
        evaluator = Evaluator(key, now=NOW)
        response = evaluator.evaluate(
            b"rfc", pending.request.to_bytes(), now=NOW, rng=lambda n, r=r: r + bytes(n - 32)
        )
        message = EvaluationResponse.from_bytes(response)
        assert list(message.evaluated) == _split(vector["EvaluationElement"])
        assert message.proof == bytes.fromhex(vector["Proof"]["proof"])
        outputs = [o.output_bytes() for o in pending.finish(response)]
        assert outputs == _split(vector["Output"])


class Exchange:
    """A client and an evaluator linked directly (no network)."""

    def __init__(self, seed: bytes = bytes(32)) -> None:
        self.key = OprfKeyPair.derive(seed, 1)
        self.evaluator = Evaluator(self.key, now=NOW)
        self.published = self.evaluator.current_key()
        self.rng = SeededRng(b"test_blinding/exchange")

    def pending(self, texts: list[str]) -> PendingEvaluation:
        numbers = [normalize_phone_number(t, **UK) for t in texts]
        return request_evaluation(numbers, self.published, now=NOW, rng=self.rng)

    def respond(self, pending: PendingEvaluation) -> bytes:
        return self.evaluator.evaluate(b"client", pending.request.to_bytes(), now=NOW, rng=self.rng)


def test_client_outputs_equal_the_evaluators_direct_evaluation() -> None:
    ex = Exchange()
    texts = ["020 7946 0958", "020 7946 0959", "+1 415 555 2671"]
    pending = ex.pending(texts)
    outputs = pending.finish(ex.respond(pending))
    direct = [ex.key.evaluate(normalize_phone_number(t, **UK).oprf_input()) for t in texts]
    assert [o.output_bytes() for o in outputs] == direct
    assert all(o.key_id == 1 for o in outputs)
    assert len({o.discovery_token() for o in outputs}) == 3


def test_blinded_elements_do_not_repeat_for_the_same_number() -> None:
    ex = Exchange()
    a, b = ex.pending([E164]), ex.pending([E164])
    assert a.request.blinded != b.request.blinded
    assert a.finish(ex.respond(a))[0].output_bytes() == b.finish(ex.respond(b))[0].output_bytes()


def test_per_user_key_is_detected() -> None:
    """Spec §8.7: an evaluator answering with another key (same key id) fails the proof."""
    ex = Exchange()
    pending = ex.pending([E164])
    rogue = Evaluator(OprfKeyPair.derive(b"\x01" * 32, 1), now=NOW)
    response = rogue.evaluate(b"victim", pending.request.to_bytes(), now=NOW, rng=ex.rng)
    assert code(lambda: pending.finish(response)) == "auth.failed"


def _edit(response: bytes, key: int, value: Any) -> bytes:
    item = decode(response)
    assert isinstance(item, dict)
    item[key] = value
    return encode(item)


def test_finish_errors_follow_the_specified_order() -> None:
    ex = Exchange()
    pending = ex.pending([E164, "020 7946 0959"])
    response = ex.respond(pending)
    evaluated = EvaluationResponse.from_bytes(response).evaluated
    assert code(lambda: pending.finish(response[:-1])) == "decode.truncated"
    assert code(lambda: pending.finish(_edit(response, 2, [evaluated[0]]))) == "decode.count"
    # A wrong count is reported before a wrong key id, and a wrong key id before the proof.
    assert (
        code(lambda: pending.finish(_edit(_edit(response, 1, 9), 2, [evaluated[0]])))
        == "decode.count"
    )
    assert code(lambda: pending.finish(_edit(response, 1, 9))) == "state.mismatch"
    swapped = _edit(response, 2, [evaluated[1], evaluated[0]])
    assert code(lambda: pending.finish(swapped)) == "auth.failed"
    proof = EvaluationResponse.from_bytes(response).proof
    for i in (0, 31, 32, 63):
        flipped = proof[:i] + bytes([proof[i] ^ 0x01]) + proof[i + 1 :]
        assert code(lambda f=flipped: pending.finish(_edit(response, 3, f))) in (
            "auth.failed",
            "decode.bad_element",
        )
    # The real response still works after every failure: pending is not consumed.
    assert len(pending.finish(response)) == 2


def test_request_evaluation_contract() -> None:
    ex = Exchange()
    number = normalize_phone_number(E164)
    expired = ex.key.published(NOW - 1)
    assert (
        code(lambda: request_evaluation([number], expired, now=NOW, rng=ex.rng))
        == "state.unknown_key"
    )
    assert (
        code(lambda: request_evaluation([], ex.published, now=NOW, rng=ex.rng))
        == "usage.bad_argument"
    )
    assert (
        code(lambda: request_evaluation([number] * 65, ex.published, now=NOW, rng=ex.rng))
        == "usage.bad_argument"
    )
    assert (
        code(lambda: request_evaluation([E164], ex.published, now=NOW, rng=ex.rng))
        == "usage.bad_argument"
    )  # type: ignore[list-item]
    assert (
        code(lambda: request_evaluation([number], ex.published, now=NOW, rng=lambda n: b""))
        == "usage.rng"
    )


def test_secrets_are_opaque() -> None:
    ex = Exchange()
    pending = ex.pending([E164])
    output = pending.finish(ex.respond(pending))[0]
    mailbox = MailboxKeyPair.generate(ex.rng)
    for secret in (pending, output, mailbox, ex.key):
        text = repr(secret)
        assert "redacted" in text or "count=" in text
        assert output.output_bytes().hex() not in text
        with pytest.raises(TypeError):
            pickle.dumps(secret)
        with pytest.raises(TypeError):
            copy.copy(secret)
        with pytest.raises(TypeError):
            copy.deepcopy(secret)
        with pytest.raises(AttributeError):
            secret._x = 1  # type: ignore[union-attr]
    assert isinstance(output, IdentifierOutput)
    assert (
        MailboxKeyPair.from_private_bytes(mailbox.private_bytes()).public_key == mailbox.public_key
    )
    assert code(lambda: MailboxKeyPair.from_private_bytes(b"\xff" * 32)) == "usage.bad_argument"


# --- the vector suite -------------------------------------------------------------------------


def test_blinding_suite_verifies_and_a_tampered_case_fails() -> None:
    document = generate_suite("blinding")
    result = verify_suite(document)
    assert result.failures == [] and result.valid > 20 and result.invalid > 40
    tampered = copy.deepcopy(document)
    case = next(c for c in tampered["cases"] if c["id"] == "exchange-batch")
    case["outputs"][1] = "00" + case["outputs"][1][2:]
    failed = verify_suite(tampered).failures
    assert [f[0] for f in failed] == ["exchange-batch"]
