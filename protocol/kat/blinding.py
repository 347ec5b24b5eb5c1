"""Spec vectors.md, suite ``blinding``: normalisation, derivations, evaluator and directory.

Parameters
    Every case that draws randomness uses ``SeededRng.for_suite("blinding", <case id>)`` and
    records what it drew. Times are seconds since the Unix epoch; ``T0`` = 1767225600
    (2026-01-01). Integers are JSON numbers (the epochs above 2^53 are decimal strings).

Kinds (field ``kind``) and their verification
    ``normalize``
        ``text``, ``default_country`` (or ``null``), ``trunk_prefix``,
        ``international_prefix`` → ``e164``, ``country_code``, ``national_number`` and
        ``oprf_input`` (spec §8.2, §8.3). Invalid: ``error`` is one of the ``decode.phone_*``.
    ``epoch``
        ``now`` → ``epoch`` and ``epoch_start`` (spec §8.4).
    ``derive``
        ``output`` (a 64-byte VOPRF output, drawn), ``mailbox_private`` (the owner's scalar)
        → ``mailbox_key``, ``discovery_token``, and per entry of ``epochs``: ``routing_scalar``,
        ``routing_id`` and ``epoch_secret`` (spec §8.3). Check each and that
        ``epoch_secret · B = routing_id``.
    ``exchange``
        A complete VOPRF exchange through both roles: ``oprf_seed`` and ``key_id`` →
        ``oprf_private_key`` and ``published_key``; ``texts`` (normalised with
        ``default_country`` 44) → ``oprf_inputs``; ``blind_random`` (64 bytes per input; blind
        = it mod L) → ``blinds``, ``blinded``, ``request``; ``proof_random`` (64 bytes; r = it
        mod L) → ``evaluated``, ``proof``, ``response`` (evaluator at ``now`` for
        ``credential``) → ``outputs`` and ``discovery_tokens`` (client). Check each value and
        each encoding byte for byte.
    ``evaluate`` (invalid)
        The evaluator made from ``oprf_seed`` / ``key_id`` at ``now`` receives ``request``
        from ``credential``: the first failure must carry ``error``.
    ``finish`` (invalid)
        The client of the ``exchange`` case named by ``exchange`` receives ``response``
        instead of the real one: the first failure (decode → key id → proof) must carry
        ``error``.
    ``evaluator_script`` (invalid: the script ends in a refusal)
        An evaluator made from ``oprf_seed`` / ``key_id`` at ``start``, with the spec's rate
        limit (``capacity``, ``refill_interval``, recorded), runs ``steps`` in order: an
        ``evaluate`` step sends ``count`` copies of ``element`` from ``credential`` at ``now``;
        a ``rotate`` step makes the key of ``oprf_seed`` / ``key_id`` current at ``now``. Each
        step has ``error`` (``null`` for success); a refused step changes nothing.
    ``registration``, ``unregistration``
        ``identity_private``, ``token``, ``mailbox_private`` (registration) and the time →
        ``signature_payload``, ``signature`` and the encoding (spec §8.6.1, §8.6.2).
    ``directory_script``
        A fresh directory runs ``steps``: ``register`` (``credential``, ``request`` = a
        registration), ``unregister`` (``request``), ``parameters`` (``response``),
        ``lookup`` (``request``, ``response``), each at ``now`` with its expected ``error``
        (``null`` for success) and, where given, its exact ``response`` bytes. Valid scripts end
        in success; invalid ones end in the refusal named by the case's ``error``.
    ``lookup_client`` (invalid)
        The client that sent ``request`` for ``token`` receives ``responses`` (all pages):
        decode each (``decode.*``), check it answers the request (``state.mismatch``), then
        collect and verify the token's registrations (``auth.failed``).

Negative cases are edits of real structures (decoded, changed, re-encoded), never bytes
written by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ..blinding import (
    EPOCH_LENGTH,
    MailboxKeyPair,
    PhoneNumber,
    _pending_with,
    discovery_token,
    epoch_of,
    epoch_start,
    normalize_phone_number,
    request_evaluation,
    routing_id,
    routing_scalar,
)
from ..codec import CborValue, decode, encode
from ..directory import (
    REGISTRATION_LIFETIME,
    TARGET_LOAD,
    Directory,
    DirectoryParameters,
    LookupRequest,
    Registration,
    Unregistration,
    lookup_request,
    read_lookup_response,
    registrations_for,
    token_prefix,
)
from ..errors import ProtocolError
from ..evaluator import (
    DEFAULT_EVALUATION_RATE,
    KEY_LIFETIME,
    Evaluator,
    OprfKeyPair,
    PublishedKey,
)
from ..keys import IdentityKeyPair
from ..primitives import RISTRETTO255_ORDER, Element, Scalar, sha256
from ..ratelimit import RateLimit
from . import Case, SeededRng, expect_error, replay_rng

__all__ = ["SUITE", "generate", "verify"]

SUITE: Final = "blinding"
T0: Final = 1_767_225_600
_CREDENTIAL: Final = b"blindpost-kat credential"
_ORDER_BYTES: Final = RISTRETTO255_ORDER.to_bytes(32, "little")


def _rng(case_id: str) -> SeededRng:
    return SeededRng.for_suite(SUITE, case_id)


def _case(case_id: str, comment: str, kind: str, flags: list[str], **fields: Any) -> Case:
    return {
        "id": case_id,
        "comment": comment,
        "flags": [kind, *flags],
        "result": "valid",
        "error": None,
        "kind": kind,
        **fields,
    }


def _invalid(case: Case, error: str) -> Case:
    case["result"] = "invalid"
    case["error"] = error
    case["flags"] = [*case["flags"], error]
    return case


def _hexes(items: list[bytes]) -> list[str]:
    return [x.hex() for x in items]


def _mutate(encoded: bytes, edit: Callable[[dict[int | str, CborValue]], None]) -> bytes:
    """Decode a real structure, edit its top-level map, re-encode deterministically."""
    value = decode(encoded, max_size=1 << 20)
    assert isinstance(value, dict)
    edit(value)
    return encode(value)


def _setter(key: int, new: CborValue) -> Callable[[dict[int | str, CborValue]], None]:
    def edit(value: dict[int | str, CborValue]) -> None:
        value[key] = new

    return edit


# --- normalisation (spec §8.2) ----------------------------------------------------------------

_UK: Final[dict[str, Any]] = dict(default_country=44, trunk_prefix="0", international_prefix="00")
_US: Final[dict[str, Any]] = dict(default_country=1, trunk_prefix="1", international_prefix="011")
_IT: Final[dict[str, Any]] = dict(default_country=39, trunk_prefix="", international_prefix="00")
_NONE: Final[dict[str, Any]] = dict(
    default_country=None, trunk_prefix="0", international_prefix="00"
)

_NORMALIZE_VALID: Final[list[tuple[str, str, dict[str, Any], str]]] = [
    ("e164", "+442079460958", _UK, "E.164 as is"),
    ("e164-spaces", "+44 20 7946 0958", _UK, "E.164 with spaces"),
    ("international-00", "0044 20 7946 0958", _UK, "international prefix 00"),
    ("national-trunk", "020 7946 0958", _UK, "national with trunk prefix 0"),
    ("national-no-trunk", "2079460958", _UK, "national significant number alone"),
    ("national-parentheses", "(020) 7946-0958", _UK, "parentheses and a dash"),
    ("dots", "020.7946.0958", _UK, "dots"),
    ("paren-zero", "+44 (0)20 7946 0958", _UK, "the (0) of +44 (0)20 is dropped"),
    ("paren-zero-00", "0044 (0)20 7946 0958", _UK, "(0) after the international prefix 00"),
    ("fullwidth", "＋４４ ２０ ７９４６ ０９５８", _UK, "fullwidth plus and digits"),
    ("arabic-indic", "+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨", _UK, "Arabic-Indic digits"),
    ("nbsp-en-dash", "+44\u00a020\u20137946\u20130958", _UK, "no-break space and en dashes"),
    ("bidi-marks", "\u200e+44 20 7946 0958\u200e", _UK, "left-to-right marks"),
    ("plus-in-parentheses", "(+44) 20 7946 0958", _UK, "'+' inside parentheses is first"),
    ("slash", "020/7946 0958", _UK, "solidus as a separator"),
    ("us-011", "011 44 20 7946 0958", _US, "NANP caller: international prefix 011"),
    ("us-national", "(415) 555-2671", _US, "NANP national number"),
    ("us-trunk-1", "1 415 555 2671", _US, "NANP trunk prefix 1"),
    ("italy-keeps-zero", "06 6982 1234", _IT, "Italy: no trunk prefix, the 0 stays"),
    ("no-default-international", "+1 415 555 2671", _NONE, "international form needs no default"),
    ("three-digit-code", "+354 551 2345", _NONE, "three-digit country code (Iceland)"),
    ("shortest", "+683 4002", _NONE, "a 4-digit national number (Niue)"),
    ("longest", "+49 1234 5678 90123", _NONE, "15 digits in all"),
    (
        "trunk-after-code",
        "+44 020 7946 0958",
        _UK,
        "a 0 after the country code is kept (only '(0)' is dropped): another identifier",
    ),
]

_NORMALIZE_INVALID: Final[list[tuple[str, str, dict[str, Any], str, str]]] = [
    ("letters", "+44 20 7946 CALL", _UK, "decode.phone_chars", "letters"),
    ("extension", "+44 20 7946 0958 ext. 12", _UK, "decode.phone_chars", "an extension"),
    ("plus-late", "44+20 7946 0958", _UK, "decode.phone_chars", "'+' after a digit"),
    ("plus-twice", "++44 20 7946 0958", _UK, "decode.phone_chars", "two '+'"),
    ("tel-uri", "tel:+442079460958", _UK, "decode.phone_chars", "a tel: URI"),
    ("superscript", "+44 2⁰ 7946 0958", _UK, "decode.phone_chars", "superscript digit"),
    ("empty", "", _UK, "decode.phone_length", "no digits"),
    ("separators-only", " - . ( ) ", _UK, "decode.phone_length", "separators only"),
    ("too-long-text", "+44 " + " " * 60 + "2079460958", _UK, "decode.phone_length", "65 chars"),
    ("sixteen-digits", "+49 1234 5678 901234", _NONE, "decode.phone_length", "16 digits"),
    ("national-too-short", "+683 400", _NONE, "decode.phone_length", "3-digit national number"),
    ("nanp-eleven", "+1 415 555 26710", _NONE, "decode.phone_length", "NANP: 11 digits"),
    ("russia-nine", "+7 912 345 678", _NONE, "decode.phone_length", "+7: 9 digits"),
    ("unassigned-code", "+999 1234 5678", _NONE, "decode.phone_country", "+999 spare"),
    ("unassigned-two", "+28 1234 5678", _NONE, "decode.phone_country", "+28 spare"),
    ("zero-code", "+0 1234 5678", _NONE, "decode.phone_country", "no code starts with 0"),
    ("national-no-default", "020 7946 0958", _NONE, "decode.phone_country", "no default"),
]


def _normalize_cases() -> list[Case]:
    cases: list[Case] = []
    for case_id, text, params, comment in _NORMALIZE_VALID:
        number = normalize_phone_number(text, **params)
        cases.append(
            _case(
                f"normalize-{case_id}",
                comment,
                "normalize",
                [],
                text=text,
                **params,
                e164=number.e164,
                country_code=number.country_code,
                national_number=number.national_number,
                oprf_input=number.oprf_input().hex(),
            )
        )
    for case_id, text, params, error, comment in _NORMALIZE_INVALID:
        case = _case(f"normalize-{case_id}", comment, "normalize", [], text=text, **params)
        case.update(e164=None, country_code=None, national_number=None, oprf_input=None)
        cases.append(_invalid(case, error))
    return cases


# --- epochs and derivations (spec §8.3, §8.4) -------------------------------------------------

_EPOCHS: Final = [0, 1, epoch_of(T0), 2**32, 2**64 - 1]


def _num(value: int) -> int | str:
    """Integers at or above 2^53 are decimal strings (vectors.md §1.2)."""
    return value if value < 2**53 else str(value)


def _int(value: int | str) -> int:
    return int(value)


def _epoch_cases() -> list[Case]:
    times = [0, EPOCH_LENGTH - 1, EPOCH_LENGTH, T0, 2**63]
    return [
        _case(
            f"epoch-{i}",
            f"epoch of time {now}",
            "epoch",
            [],
            now=_num(now),
            epoch=_num(epoch_of(now)),
            epoch_start=_num(epoch_start(epoch_of(now))),
        )
        for i, now in enumerate(times)
    ]


def _derive_case(case_id: str) -> Case:
    """Draw order: output (64), mailbox key (64, reduced mod L)."""
    rng = _rng(case_id)
    output = rng(64)
    mailbox = MailboxKeyPair.generate(rng)
    return _case(
        case_id,
        "discovery token, routing scalars, routing IDs and epoch secrets of one OPRF output",
        "derive",
        [],
        output=output.hex(),
        mailbox_private=mailbox.private_bytes().hex(),
        mailbox_key=mailbox.public_key.hex(),
        discovery_token=discovery_token(output).hex(),
        epochs=[
            {
                "epoch": _num(e),
                "routing_scalar": routing_scalar(output, e).to_bytes().hex(),
                "routing_id": routing_id(output, mailbox.public_key, e).hex(),
                "epoch_secret": mailbox.epoch_secret(output, e).to_bytes().hex(),
            }
            for e in _EPOCHS
        ],
    )


# --- exchanges (spec §8.5, §8.7) --------------------------------------------------------------

_NOT_AFTER: Final = T0 + KEY_LIFETIME


def _exchange(case_id: str, comment: str, texts: list[str], key_id: int) -> Case:
    """Draw order: OPRF seed (32), one blind (64) per input, proof randomness (64)."""
    rng = _rng(case_id)
    seed = rng(32)
    key = OprfKeyPair.derive(seed, key_id)
    published = key.published(_NOT_AFTER)
    numbers = [normalize_phone_number(t, **_UK) for t in texts]
    blind_random = [rng(64) for _ in numbers]
    pending = request_evaluation(numbers, published, now=T0, rng=replay_rng(*blind_random))
    proof_random = rng(64)
    evaluator = Evaluator(key, now=T0)
    request = pending.request.to_bytes()
    response = evaluator.evaluate(_CREDENTIAL, request, now=T0, rng=replay_rng(proof_random))
    outputs = [o.output_bytes() for o in pending.finish(response)]
    decoded = decode(response)
    assert isinstance(decoded, dict)
    evaluated, proof = decoded[2], decoded[3]
    assert isinstance(evaluated, list) and isinstance(proof, bytes)
    return _case(
        case_id,
        comment,
        "exchange",
        [],
        oprf_seed=seed.hex(),
        key_id=key_id,
        not_after=_NOT_AFTER,
        oprf_private_key=key.private_bytes().hex(),
        published_key=published.to_bytes().hex(),
        texts=texts,
        **_UK,
        oprf_inputs=_hexes([n.oprf_input() for n in numbers]),
        blind_random=_hexes(blind_random),
        blinds=_hexes([Scalar.from_wide(b).to_bytes() for b in blind_random]),
        blinded=_hexes(list(pending.request.blinded)),
        request=request.hex(),
        credential=_CREDENTIAL.hex(),
        now=T0,
        proof_random=proof_random.hex(),
        r=Scalar.from_wide(proof_random).to_bytes().hex(),
        evaluated=[e.hex() for e in evaluated if isinstance(e, bytes)],
        proof=proof.hex(),
        response=response.hex(),
        outputs=_hexes(outputs),
        discovery_tokens=_hexes([discovery_token(o) for o in outputs]),
        cddl={
            "published_key": "oprf-published-key",
            "request": "oprf-evaluation-request",
            "response": "oprf-evaluation-response",
        },
    )


def _evaluate_invalid(exchange: Case) -> list[Case]:
    request = bytes.fromhex(exchange["request"])
    blinded = [bytes.fromhex(b) for b in exchange["blinded"]]

    def replace(index: int, element: bytes) -> Callable[[dict[int | str, CborValue]], None]:
        items: list[CborValue] = list(blinded)
        items[index] = element
        return _setter(2, items)

    specs: list[tuple[str, str, bytes, str, bool, bytes]] = [
        (
            "unknown-key-id",
            "key id 2: not held",
            _mutate(request, _setter(1, 2)),
            "state.unknown_key",
            False,
            _CREDENTIAL,
        ),
        (
            "identity-element",
            "the identity (32 zero bytes) as element 1",
            _mutate(request, replace(1, bytes(32))),
            "decode.bad_element",
            False,
            _CREDENTIAL,
        ),
        (
            "non-canonical-element",
            "2^255 - 1 (>= p) as element 0",
            _mutate(request, replace(0, b"\xff" * 31 + b"\x7f")),
            "decode.bad_element",
            False,
            _CREDENTIAL,
        ),
        (
            "negative-element",
            "s = 1 is negative: not a ristretto255 encoding",
            _mutate(request, replace(0, b"\x01" + bytes(31))),
            "decode.bad_element",
            False,
            _CREDENTIAL,
        ),
        (
            "short-element",
            "an element of 31 bytes",
            _mutate(request, replace(2, bytes(31))),
            "decode.length",
            True,
            _CREDENTIAL,
        ),
        (
            "empty-batch",
            "no elements",
            _mutate(request, _setter(2, [])),
            "decode.count",
            True,
            _CREDENTIAL,
        ),
        (
            "batch-65",
            "65 elements (at most 64)",
            _mutate(request, _setter(2, [blinded[i % len(blinded)] for i in range(65)])),
            "decode.count",
            True,
            _CREDENTIAL,
        ),
        (
            "key-id-range",
            "key id 2^32",
            _mutate(request, _setter(1, 2**32)),
            "decode.range",
            True,
            _CREDENTIAL,
        ),
        (
            "unknown-field",
            "key 3 in the request",
            _mutate(request, _setter(3, b"")),
            "decode.unknown_field",
            True,
            _CREDENTIAL,
        ),
        ("empty-credential", "a credential of 0 bytes", request, "decode.length", False, b""),
    ]
    cases = []
    for case_id, comment, data, error, cddl, credential in specs:
        case = _case(
            f"evaluate-{case_id}",
            comment,
            "evaluate",
            ["mutated"],
            oprf_seed=exchange["oprf_seed"],
            key_id=exchange["key_id"],
            now=T0,
            credential=credential.hex(),
            request=data.hex(),
        )
        if cddl:
            case["cddl"] = {"request": "oprf-evaluation-request"}
        cases.append(_invalid(case, error))
    return cases


def _finish_invalid(exchange: Case) -> list[Case]:
    response = bytes.fromhex(exchange["response"])
    evaluated: list[CborValue] = [bytes.fromhex(e) for e in exchange["evaluated"]]
    proof = bytes.fromhex(exchange["proof"])
    c = int.from_bytes(proof[:32], "little")
    bumped = ((c + 1) % RISTRETTO255_ORDER).to_bytes(32, "little") + proof[32:]
    rng = _rng("finish-per-user-key")
    other = OprfKeyPair.derive(rng(32), exchange["key_id"])
    per_user = Evaluator(other, now=T0).evaluate(
        _CREDENTIAL, bytes.fromhex(exchange["request"]), now=T0, rng=rng
    )
    specs: list[tuple[str, str, bytes, str, bool]] = [
        (
            "bad-proof",
            "proof challenge c + 1",
            _mutate(response, _setter(3, bumped)),
            "auth.failed",
            False,
        ),
        (
            "per-user-key",
            "the evaluator used another key under the same key id (a per-user"
            " key): the proof does not verify against the pinned key",
            per_user,
            "auth.failed",
            False,
        ),
        (
            "swapped-elements",
            "evaluations 0 and 1 swapped",
            _mutate(response, _setter(2, [evaluated[1], evaluated[0], *evaluated[2:]])),
            "auth.failed",
            False,
        ),
        (
            "other-key-id",
            "response names key id 2",
            _mutate(response, _setter(1, 2)),
            "state.mismatch",
            False,
        ),
        (
            "missing-element",
            "one evaluation fewer than blinded elements",
            _mutate(response, _setter(2, evaluated[:-1])),
            "decode.count",
            False,
        ),
        (
            "identity-element",
            "an evaluation is the identity",
            _mutate(response, _setter(2, [bytes(32), *evaluated[1:]])),
            "decode.bad_element",
            False,
        ),
        (
            "proof-scalar-not-reduced",
            "proof s = L",
            _mutate(response, _setter(3, proof[:32] + _ORDER_BYTES)),
            "decode.bad_element",
            False,
        ),
        (
            "proof-short",
            "a proof of 63 bytes",
            _mutate(response, _setter(3, proof[:63])),
            "decode.length",
            True,
        ),
    ]
    cases = []
    for case_id, comment, data, error, cddl in specs:
        case = _case(
            f"finish-{case_id}",
            comment,
            "finish",
            ["mutated"],
            exchange=exchange["id"],
            published_key=exchange["published_key"],
            texts=exchange["texts"],
            **_UK,
            blind_random=exchange["blind_random"],
            now=T0,
            response=data.hex(),
        )
        if cddl:
            case["cddl"] = {"response": "oprf-evaluation-response"}
        cases.append(_invalid(case, error))
    return cases


def _step(action: str, now: int, error: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"action": action, "now": now, **fields, "error": error}


def _evaluator_scripts(exchange: Case) -> list[Case]:
    element = exchange["blinded"][0]
    seed = exchange["oprf_seed"]
    cred_a, cred_b = b"credential A".hex(), b"credential B".hex()
    interval = DEFAULT_EVALUATION_RATE.refill_interval

    def ev(
        now: int, count: int, error: str | None = None, cred: str = cred_a, key_id: int = 1
    ) -> dict[str, Any]:
        return _step("evaluate", now, error, credential=cred, key_id=key_id, count=count)

    rate_steps = [
        *[ev(T0, 64) for _ in range(15)],
        ev(T0, 64, "state.rate_limited"),
        ev(T0, 40),
        ev(T0 + interval - 1, 1, "state.rate_limited"),
        ev(T0 + interval, 1),
        ev(T0 + interval, 64, cred=cred_b),
        ev(T0 + 2 * interval, 2, "state.rate_limited"),
    ]
    grace = 90 * 86_400
    rotated_at = T0 + 100
    second_seed = _rng("evaluator-rotation")(32).hex()
    rotation_steps = [
        ev(T0, 1),
        _step("rotate", rotated_at, oprf_seed=second_seed, key_id=2),
        ev(rotated_at + grace, 1, key_id=1),
        ev(rotated_at + grace, 1, key_id=2),
        ev(rotated_at + grace, 1, "state.unknown_key", key_id=3),
        ev(rotated_at + grace + 1, 1, "state.unknown_key", key_id=1),
    ]
    out = []
    for case_id, comment, steps, error in (
        (
            "evaluator-rate-limit",
            "token bucket: 1000 at once, then one per 1728 s, per"
            " credential; refusals change nothing",
            rate_steps,
            "state.rate_limited",
        ),
        (
            "evaluator-rotation",
            "after a rotation the previous key is served for the 90-day grace period, then refused",
            rotation_steps,
            "state.unknown_key",
        ),
    ):
        case = _case(
            case_id,
            comment,
            "evaluator_script",
            ["script"],
            oprf_seed=seed,
            key_id=1,
            start=T0,
            capacity=DEFAULT_EVALUATION_RATE.capacity,
            refill_interval=interval,
            element=element,
            steps=steps,
        )
        out.append(_invalid(case, error))
    return out


# --- directory (spec §8.6) --------------------------------------------------------------------


class _Party:
    """An identity and a mailbox key drawn from one rng (identity 64 bytes, mailbox 64)."""

    def __init__(self, rng: SeededRng) -> None:
        self.identity = IdentityKeyPair.generate(rng)
        self.mailbox = MailboxKeyPair.generate(rng)

    def register(self, token: bytes, now: int) -> bytes:
        return Registration.sign(self.identity, token, self.mailbox.public_key, now=now).to_bytes()

    def unregister(self, token: bytes, now: int) -> bytes:
        return Unregistration.sign(self.identity, token, now=now).to_bytes()


def _registration_cases(token: bytes) -> list[Case]:
    rng = _rng("registration-0")
    party = _Party(rng)
    registration = Registration.from_bytes(party.register(token, T0))
    unregistration = Unregistration.from_bytes(party.unregister(token, T0 + 60))
    return [
        _case(
            "registration-0",
            "a registration of the exchange's first discovery token, signed by the identity",
            "registration",
            [],
            identity_private=party.identity.private_bytes().hex(),
            mailbox_private=party.mailbox.private_bytes().hex(),
            mailbox_key=party.mailbox.public_key.hex(),
            token=token.hex(),
            registered_at=T0,
            signature_payload=registration.signature_payload().hex(),
            signature=registration.signature.hex(),
            registration=registration.to_bytes().hex(),
            cddl={"registration": "directory-registration"},
        ),
        _case(
            "unregistration-0",
            "the same identity unregisters the token a minute later",
            "unregistration",
            [],
            identity_private=party.identity.private_bytes().hex(),
            token=token.hex(),
            timestamp=T0 + 60,
            signature_payload=unregistration.signature_payload().hex(),
            signature=unregistration.signature.hex(),
            unregistration=unregistration.to_bytes().hex(),
            cddl={"unregistration": "directory-unregistration"},
        ),
    ]


def _script_case(case_id: str, comment: str, steps: list[dict[str, Any]]) -> Case:
    case = _case(case_id, comment, "directory_script", ["script"], steps=steps)
    error = steps[-1]["error"]
    return _invalid(case, error) if error else case


def _run_directory(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill in the responses and check the expected errors while generating."""
    directory = Directory()
    for step in steps:
        error = step["error"]
        try:
            response = _directory_step(directory, step)
        except ProtocolError as exc:
            if exc.code != error:
                raise AssertionError(f"generator: {exc.code} != {error}") from None
            continue
        if error is not None:
            raise AssertionError(f"generator: expected {error}")
        if step["action"] == "parameters":
            step["response"] = response.hex() if response is not None else None
        elif step["action"] == "lookup" and response is not None:
            # Lookup responses are 18 688 bytes, mostly zero padding: the script pins their
            # hash; the lookup_client cases carry whole responses.
            step["response_sha256"] = sha256(response).hex()
            _RAW_RESPONSES[step["request"], step["now"]] = response
    return steps


#: Whole lookup responses seen while generating, by (request hex, now).
_RAW_RESPONSES: dict[tuple[str, int], bytes] = {}


def _directory_step(directory: Directory, step: dict[str, Any]) -> bytes | None:
    action, now = step["action"], step["now"]
    if action == "register":
        directory.register(
            bytes.fromhex(step["credential"]), bytes.fromhex(step["request"]), now=now
        )
        return None
    if action == "unregister":
        directory.unregister(bytes.fromhex(step["request"]), now=now)
        return None
    if action == "parameters":
        return directory.parameters().to_bytes()
    if action == "lookup":
        return directory.lookup(bytes.fromhex(step["request"]), now=now)
    raise AssertionError(f"action: unknown {action!r}")


def _reg(party: _Party, token: bytes, now: int, cred: bytes, at: int | None = None) -> Any:
    request = party.register(token, now if at is None else at)
    return _step("register", now, credential=cred.hex(), request=request.hex())


def _directory_scripts(first_token: bytes) -> tuple[list[Case], dict[str, Any]]:
    rng = _rng("directory")
    a, b, c = _Party(rng), _Party(rng), _Party(rng)
    t_a, t_b = first_token, rng(32)
    lookup_a = lookup_request(t_a, 0).to_bytes().hex()
    basic = _run_directory(
        [
            _reg(a, t_a, T0, b"credential 1"),
            _reg(b, t_b, T0 + 1, b"credential 2"),
            _reg(c, t_a, T0 + 2, b"credential 3"),
            _step("parameters", T0 + 3),
            _step("lookup", T0 + 3, request=lookup_a),
            _step("unregister", T0 + 4, request=c.unregister(t_a, T0 + 4).hex()),
            _step("lookup", T0 + 5, request=lookup_a),
        ]
    )
    crowd = [_Party(rng) for _ in range(40)]
    tokens = [rng(32) for _ in crowd]
    steps = [
        _reg(p, tok, T0 + i, f"crowd {i // 10}".encode())
        for i, (p, tok) in enumerate(zip(crowd, tokens, strict=True))
    ]
    later = T0 + 100
    steps.append(_step("parameters", later))
    bucket_of_first = lookup_request(tokens[0], 1).to_bytes().hex()
    other_bucket = LookupRequest(1, 1 - token_prefix(tokens[0], 1), 0).to_bytes().hex()
    steps.append(_step("lookup", later, request=bucket_of_first))
    steps.append(_step("lookup", later, request=other_bucket))
    steps.append(_step("lookup", later, request=lookup_request(tokens[0], 1, 1).to_bytes().hex()))
    anonymity = _run_directory(steps)

    reg_a = a.register(t_a, T0)
    flipped = bytearray(reg_a)
    flipped[-1] ^= 1
    registration = decode(reg_a)
    assert isinstance(registration, dict)
    identity = registration[2]
    assert isinstance(identity, dict)
    bad_binding_identity = dict(identity)
    signature = bad_binding_identity[3]
    assert isinstance(signature, bytes)
    bad_binding_identity[3] = bytes([signature[0] ^ 1]) + signature[1:]

    def reg_bytes(data: bytes, now: int, cred: bytes = b"credential 1") -> dict[str, Any]:
        return _step("register", now, credential=cred.hex(), request=data.hex())

    def failing(
        case_id: str, comment: str, setup: list[dict[str, Any]], last: dict[str, Any], error: str
    ) -> Case:
        last["error"] = error
        return _script_case(case_id, comment, _run_directory([*setup, last]))

    four = [_Party(rng) for _ in range(5)]
    cases = [
        _script_case(
            "directory-basic",
            "register two tokens (one by two identities), look up the first token's bucket,"
            " unregister one identity, look up again: the response keeps its size",
            basic,
        ),
        _script_case(
            "directory-k-anonymity",
            "40 registrations grow the prefix to 1 bit; both buckets (one page each, and an"
            " empty page 1) answer with responses of the same size",
            anonymity,
        ),
        failing(
            "directory-bad-signature",
            "registration signature flipped",
            [],
            reg_bytes(bytes(flipped), T0),
            "auth.failed",
        ),
        failing(
            "directory-bad-binding",
            "identity binding signature flipped",
            [],
            reg_bytes(_mutate(reg_a, _setter(2, bad_binding_identity)), T0),
            "auth.failed",
        ),
        failing(
            "directory-stale",
            "registered 301 s before the directory's clock",
            [],
            _reg(a, t_a, T0 + 301, b"credential 1", at=T0),
            "state.stale",
        ),
        failing(
            "directory-future",
            "registered 301 s after the directory's clock",
            [],
            _reg(a, t_a, T0, b"credential 1", at=T0 + 301),
            "state.stale",
        ),
        failing(
            "directory-replayed-registration",
            "a registration replayed after its unregistration",
            [
                reg_bytes(reg_a, T0),
                _step("unregister", T0 + 10, request=a.unregister(t_a, T0 + 10).hex()),
            ],
            reg_bytes(reg_a, T0 + 20),
            "state.stale",
        ),
        failing(
            "directory-older-registration",
            "a registration older than the one held for the same token and identity",
            [_reg(a, t_a, T0 + 5, b"credential 1")],
            _reg(a, t_a, T0 + 6, b"credential 1", at=T0 + 4),
            "state.stale",
        ),
        failing(
            "directory-token-full",
            "a fifth identity for one token",
            [_reg(p, t_b, T0 + i, b"credential %d" % i) for i, p in enumerate(four[:4])],
            _reg(four[4], t_b, T0 + 5, b"credential 5"),
            "state.token_full",
        ),
        failing(
            "directory-rate-limited",
            "an 11th registration by one credential in a day",
            [_reg(a, rng(32), T0 + i, b"one credential") for i in range(10)],
            _reg(a, rng(32), T0 + 10, b"one credential"),
            "state.rate_limited",
        ),
        failing(
            "directory-unregister-unknown",
            "unregistration of a token never registered",
            [],
            _step("unregister", T0, request=a.unregister(t_b, T0).hex()),
            "state.not_registered",
        ),
        failing(
            "directory-unregister-forged",
            "unregistration naming A's signing key, signed by B",
            [reg_bytes(reg_a, T0)],
            _step(
                "unregister",
                T0 + 1,
                request=_mutate(
                    b.unregister(t_a, T0 + 1), _setter(2, a.identity.public.signing_key)
                ).hex(),
            ),
            "auth.failed",
        ),
        failing(
            "directory-unregister-replayed",
            "the same unregistration twice",
            [
                reg_bytes(reg_a, T0),
                _step("unregister", T0 + 1, request=a.unregister(t_a, T0 + 1).hex()),
            ],
            _step("unregister", T0 + 2, request=a.unregister(t_a, T0 + 1).hex()),
            "state.stale",
        ),
        failing(
            "directory-lookup-prefix-length",
            "a 1-bit prefix while the directory uses 0",
            [],
            _step("lookup", T0, request=lookup_request(t_a, 1).to_bytes().hex()),
            "state.prefix_length",
        ),
        failing(
            "directory-lookup-prefix-range",
            "prefix 1 with prefix_bits 0",
            [],
            _step(
                "lookup",
                T0,
                request=_mutate(lookup_request(t_a, 0).to_bytes(), _setter(2, 1)).hex(),
            ),
            "decode.range",
        ),
        failing(
            "directory-identity-mailbox-key",
            "mailbox key is the identity element",
            [],
            reg_bytes(_mutate(reg_a, _setter(3, bytes(32))), T0),
            "decode.bad_element",
        ),
        failing(
            "directory-short-token",
            "a token of 31 bytes",
            [],
            reg_bytes(_mutate(reg_a, _setter(1, t_a[:31])), T0),
            "decode.length",
        ),
        failing(
            "directory-unknown-field",
            "key 6 in a registration",
            [],
            reg_bytes(_mutate(reg_a, _setter(6, 0)), T0),
            "decode.unknown_field",
        ),
        failing(
            "directory-long-credential",
            "a credential of 65 bytes",
            [],
            reg_bytes(reg_a, T0, b"c" * 65),
            "decode.length",
        ),
        failing(
            "directory-time-beyond-uint32",
            "registered_at = 2**32: signed directory times are uint32 (spec §8.6.1)",
            [],
            reg_bytes(_mutate(reg_a, _setter(4, 2**32)), T0),
            "decode.range",
        ),
    ]
    cases += _lifetime_scripts()
    basic_lookup = next(s for s in basic if s["action"] == "lookup")
    context = {
        "token": t_a,
        "request": bytes.fromhex(basic_lookup["request"]),
        "response": _RAW_RESPONSES[basic_lookup["request"], basic_lookup["now"]],
        "parameters": bytes.fromhex(
            next(s for s in basic if s["action"] == "parameters")["response"]
        ),
    }
    return cases, context


def _lifetime_scripts() -> list[Case]:
    """Spec §8.6.1 (the last live second) and §8.6.5 (the prefix counts live registrations)."""
    rng = _rng("directory-lifetime")
    owner, token = _Party(rng), rng(32)
    end = T0 + REGISTRATION_LIFETIME
    request = lookup_request(token, 0).to_bytes().hex()
    boundary = _run_directory(
        [
            _reg(owner, token, T0, b"credential 1"),
            _step("lookup", end, request=request),
            _step("lookup", end + 1, request=request),
        ]
    )
    crowd = [_Party(rng) for _ in range(TARGET_LOAD)]
    steps = [
        _reg(p, rng(32), T0 + i, f"crowd {i // 10}".encode()) for i, p in enumerate(crowd)
    ]
    later = T0 + TARGET_LOAD + REGISTRATION_LIFETIME
    steps += [
        _step("parameters", T0 + TARGET_LOAD),
        _reg(owner, token, later, b"credential 1"),
        _step("parameters", later),
        _step("lookup", later, request=request),
    ]
    counts_live = _run_directory(steps)
    return [
        _script_case(
            "directory-lifetime-boundary",
            "a registration made at T0 is still served at T0 + 90 days (its last live second:"
            " now <= registered_at + REGISTRATION_LIFETIME) and no longer one second later",
            boundary,
        ),
        _script_case(
            "directory-prefix-counts-live",
            "32 registrations (prefix 0 bits); once all have expired, a 33rd makes one live"
            " registration, so the prefix stays 0 bits whether or not the directory deleted"
            " the expired ones (counting stored registrations would give 1 bit)",
            counts_live,
        ),
    ]


def _lookup_client_cases(context: dict[str, Any]) -> list[Case]:
    token, request, response = context["token"], context["request"], context["response"]
    found = registrations_for(
        token, [read_lookup_response(LookupRequest.from_bytes(request), response)]
    )

    def entries_edit(
        edit: Callable[[list[CborValue]], None],
    ) -> Callable[[dict[int | str, CborValue]], None]:
        def apply(value: dict[int | str, CborValue]) -> None:
            entries = value[5]
            assert isinstance(entries, list)
            edit(entries)

        return apply

    def forge(entries: list[CborValue]) -> None:
        first = entries[0]
        assert isinstance(first, dict)
        sig = first[5]
        assert isinstance(sig, bytes)
        first[5] = bytes([sig[0] ^ 1]) + sig[1:]

    padding = decode(response)
    assert isinstance(padding, dict)
    pad = padding[6]
    assert isinstance(pad, bytes)
    specs: list[tuple[str, str, bytes, str, bool]] = [
        (
            "nonzero-padding",
            "one padding byte is 1",
            _mutate(response, _setter(6, pad[:-1] + b"\x01")),
            "decode.padding",
            False,
        ),
        (
            "short",
            "one padding byte fewer than the fixed size",
            _mutate(response, _setter(6, pad[:-1])),
            "decode.padding",
            False,
        ),
        (
            "other-page",
            "answers page 1 to a request for page 0",
            _mutate(response, _setter(3, 1)),
            "state.mismatch",
            False,
        ),
        (
            "forged-entry",
            "the token's registration with a flipped signature",
            _mutate(response, entries_edit(forge)),
            "auth.failed",
            False,
        ),
    ]
    base = dict(
        token=token.hex(),
        parameters=context["parameters"].hex(),
        request=request.hex(),
    )
    cases = [
        _case(
            "lookup-client-0",
            "the client's view of directory-basic's first lookup: its token's registrations",
            "lookup_client",
            [],
            **base,
            response=response.hex(),
            registrations=[r.to_bytes().hex() for r in found],
            cddl={
                "parameters": "directory-parameters",
                "request": "directory-lookup-request",
                "response": "directory-lookup-response",
            },
        )
    ]
    for case_id, comment, data, error, cddl in specs:
        case = _case(
            f"lookup-client-{case_id}",
            comment,
            "lookup_client",
            ["mutated"],
            **base,
            response=data.hex(),
            registrations=None,
        )
        if cddl:
            case["cddl"] = {"response": "directory-lookup-response"}
        cases.append(_invalid(case, error))
    return cases


def generate() -> list[Case]:
    """All cases of the suite, deterministically."""
    _RAW_RESPONSES.clear()
    cases = _normalize_cases()
    cases += _epoch_cases()
    cases += [_derive_case(f"derive-{i}") for i in range(2)]
    single = _exchange("exchange-1", "one number, evaluated and verified", ["+44 20 7946 0958"], 1)
    batch = _exchange(
        "exchange-batch",
        "three spellings of two numbers in one batch: equal numbers give equal outputs",
        ["020 7946 0958", "+44 (0)20 7946 0959", "0044 20 7946 0958"],
        1,
    )
    cases += [single, batch]
    cases += _evaluate_invalid(batch)
    cases += _finish_invalid(batch)
    cases += _evaluator_scripts(single)
    token = bytes.fromhex(single["discovery_tokens"][0])
    cases += _registration_cases(token)
    scripts, context = _directory_scripts(token)
    cases += scripts
    cases += _lookup_client_cases(context)
    return cases


# --- verification -----------------------------------------------------------------------------


def _eq(field: str, expected: object, got: object) -> None:
    if expected != got:
        raise AssertionError(f"{field}: expected {expected!r}, got {got!r}")


def _hex(field: str, expected: str, got: bytes) -> None:
    _eq(field, expected, got.hex())


def _params(case: Case) -> dict[str, Any]:
    return {
        "default_country": case["default_country"],
        "trunk_prefix": case["trunk_prefix"],
        "international_prefix": case["international_prefix"],
    }


def _verify_normalize(case: Case) -> None:
    if case["result"] == "invalid":
        expect_error(case, lambda: normalize_phone_number(case["text"], **_params(case)))
        return
    number = normalize_phone_number(case["text"], **_params(case))
    _eq("e164", case["e164"], number.e164)
    _eq("country_code", case["country_code"], number.country_code)
    _eq("national_number", case["national_number"], number.national_number)
    _hex("oprf_input", case["oprf_input"], number.oprf_input())


def _verify_epoch(case: Case) -> None:
    now = _int(case["now"])
    _eq("epoch", _int(case["epoch"]), epoch_of(now))
    _eq("epoch_start", _int(case["epoch_start"]), epoch_start(epoch_of(now)))


def _verify_derive(case: Case) -> None:
    output = bytes.fromhex(case["output"])
    mailbox = MailboxKeyPair.from_private_bytes(bytes.fromhex(case["mailbox_private"]))
    _hex("mailbox_key", case["mailbox_key"], mailbox.public_key)
    _hex("discovery_token", case["discovery_token"], discovery_token(output))
    for entry in case["epochs"]:
        e = _int(entry["epoch"])
        _hex("routing_scalar", entry["routing_scalar"], routing_scalar(output, e).to_bytes())
        rid = routing_id(output, mailbox.public_key, e)
        _hex("routing_id", entry["routing_id"], rid)
        secret = mailbox.epoch_secret(output, e)
        _hex("epoch_secret", entry["epoch_secret"], secret.to_bytes())
        _hex("routing_id", entry["routing_id"], Element.base_mul(secret).to_bytes())


def _numbers(case: Case) -> list[PhoneNumber]:
    return [normalize_phone_number(t, **_params(case)) for t in case["texts"]]


def _verify_exchange(case: Case) -> None:
    key = OprfKeyPair.derive(bytes.fromhex(case["oprf_seed"]), case["key_id"])
    _hex("oprf_private_key", case["oprf_private_key"], key.private_bytes())
    published = key.published(case["not_after"])
    _hex("published_key", case["published_key"], published.to_bytes())
    _eq("published_key", published, PublishedKey.from_bytes(published.to_bytes()))
    numbers = _numbers(case)
    _eq("oprf_inputs", case["oprf_inputs"], _hexes([n.oprf_input() for n in numbers]))
    blind_random = [bytes.fromhex(b) for b in case["blind_random"]]
    blinds = [Scalar.from_wide(b) for b in blind_random]
    _eq("blinds", case["blinds"], _hexes([b.to_bytes() for b in blinds]))
    now = case["now"]
    pending = request_evaluation(numbers, published, now=now, rng=replay_rng(*blind_random))
    _eq("blinded", case["blinded"], _hexes(list(pending.request.blinded)))
    _hex("request", case["request"], pending.request.to_bytes())
    _hex("request", case["request"], _pending_with(numbers, published, blinds).request.to_bytes())
    r = Scalar.from_wide(bytes.fromhex(case["proof_random"]))
    _hex("r", case["r"], r.to_bytes())
    evaluated, proof = key._evaluate_batch_with(pending.request.elements(), r)
    _eq("evaluated", case["evaluated"], _hexes([e.to_bytes() for e in evaluated]))
    _hex("proof", case["proof"], proof.to_bytes())
    evaluator = Evaluator(key, now=now)
    response = evaluator.evaluate(
        bytes.fromhex(case["credential"]),
        bytes.fromhex(case["request"]),
        now=now,
        rng=replay_rng(bytes.fromhex(case["proof_random"])),
    )
    _hex("response", case["response"], response)
    outputs = [o.output_bytes() for o in pending.finish(bytes.fromhex(case["response"]))]
    _eq("outputs", case["outputs"], _hexes(outputs))
    _eq("outputs", case["outputs"], _hexes([key.evaluate(n.oprf_input()) for n in numbers]))
    _eq("discovery_tokens", case["discovery_tokens"], _hexes([discovery_token(o) for o in outputs]))


def _verify_evaluate(case: Case) -> None:
    key = OprfKeyPair.derive(bytes.fromhex(case["oprf_seed"]), case["key_id"])
    evaluator = Evaluator(key, now=case["now"])
    before = evaluator.snapshot()
    expect_error(
        case,
        lambda: evaluator.evaluate(
            bytes.fromhex(case["credential"]),
            bytes.fromhex(case["request"]),
            now=case["now"],
            rng=SeededRng(b"unused"),
        ),
    )
    _eq("state", before, evaluator.snapshot())


def _verify_finish(case: Case) -> None:
    published = PublishedKey.from_bytes(bytes.fromhex(case["published_key"]))
    blind_random = [bytes.fromhex(b) for b in case["blind_random"]]
    pending = request_evaluation(
        _numbers(case), published, now=case["now"], rng=replay_rng(*blind_random)
    )
    expect_error(case, lambda: pending.finish(bytes.fromhex(case["response"])))


def _verify_evaluator_script(case: Case) -> None:
    rate = RateLimit(case["capacity"], case["refill_interval"])
    _eq("capacity", DEFAULT_EVALUATION_RATE.capacity, rate.capacity)
    _eq("refill_interval", DEFAULT_EVALUATION_RATE.refill_interval, rate.refill_interval)
    key = OprfKeyPair.derive(bytes.fromhex(case["oprf_seed"]), case["key_id"])
    evaluator = Evaluator(key, now=case["start"], rate=rate)
    element = bytes.fromhex(case["element"])
    rng = SeededRng(b"blindpost-kat/blinding/script-proofs")
    last_error: str | None = None
    for i, step in enumerate(case["steps"]):
        if step["action"] == "rotate":
            evaluator.rotate(
                OprfKeyPair.derive(bytes.fromhex(step["oprf_seed"]), step["key_id"]),
                now=step["now"],
            )
            continue
        request = encode({0: 1, 1: step["key_id"], 2: [element] * step["count"]})
        before = evaluator.snapshot()
        try:
            evaluator.evaluate(bytes.fromhex(step["credential"]), request, now=step["now"], rng=rng)
        except ProtocolError as exc:
            _eq(f"steps[{i}].error", step["error"], exc.code)
            _eq(f"steps[{i}].state", before, evaluator.snapshot())
            last_error = exc.code
            continue
        _eq(f"steps[{i}].error", step["error"], None)
        last_error = None
    _eq("error", case["error"], last_error)


def _verify_registration(case: Case) -> None:
    identity = IdentityKeyPair.from_private_bytes(bytes.fromhex(case["identity_private"]))
    mailbox = MailboxKeyPair.from_private_bytes(bytes.fromhex(case["mailbox_private"]))
    _hex("mailbox_key", case["mailbox_key"], mailbox.public_key)
    token = bytes.fromhex(case["token"])
    registration = Registration.sign(identity, token, mailbox.public_key, now=case["registered_at"])
    _hex("signature_payload", case["signature_payload"], registration.signature_payload())
    _hex("signature", case["signature"], registration.signature)
    _hex("registration", case["registration"], registration.to_bytes())
    decoded = Registration.from_bytes(bytes.fromhex(case["registration"]))
    _eq("registration", registration, decoded)
    decoded.verify()


def _verify_unregistration(case: Case) -> None:
    identity = IdentityKeyPair.from_private_bytes(bytes.fromhex(case["identity_private"]))
    message = Unregistration.sign(identity, bytes.fromhex(case["token"]), now=case["timestamp"])
    _hex("signature_payload", case["signature_payload"], message.signature_payload())
    _hex("signature", case["signature"], message.signature)
    _hex("unregistration", case["unregistration"], message.to_bytes())
    Unregistration.from_bytes(bytes.fromhex(case["unregistration"])).verify()


def _verify_directory_script(case: Case) -> None:
    directory = Directory()
    last_error: str | None = None
    for i, step in enumerate(case["steps"]):
        before = directory.snapshot()
        try:
            response = _directory_step(directory, step)
        except ProtocolError as exc:
            _eq(f"steps[{i}].error", step["error"], exc.code)
            _eq(f"steps[{i}].state", before, directory.snapshot())
            last_error = exc.code
            continue
        _eq(f"steps[{i}].error", step["error"], None)
        last_error = None
        if step.get("response") is not None:
            _hex(f"steps[{i}].response", step["response"], response or b"")
        if step.get("response_sha256") is not None:
            _hex(f"steps[{i}].response_sha256", step["response_sha256"], sha256(response or b""))
    _eq("error", case["error"], last_error)


def _verify_lookup_client(case: Case) -> None:
    parameters = DirectoryParameters.from_bytes(bytes.fromhex(case["parameters"]))
    token = bytes.fromhex(case["token"])
    request = lookup_request(token, parameters.prefix_bits)
    _hex("request", case["request"], request.to_bytes())

    def client() -> list[Registration]:
        page = read_lookup_response(request, bytes.fromhex(case["response"]))
        return registrations_for(token, [page])

    if case["result"] == "invalid":
        expect_error(case, client)
        return
    _eq("registrations", case["registrations"], [r.to_bytes().hex() for r in client()])


_VERIFY: Final[dict[str, Callable[[Case], None]]] = {
    "normalize": _verify_normalize,
    "epoch": _verify_epoch,
    "derive": _verify_derive,
    "exchange": _verify_exchange,
    "evaluate": _verify_evaluate,
    "finish": _verify_finish,
    "evaluator_script": _verify_evaluator_script,
    "registration": _verify_registration,
    "unregistration": _verify_unregistration,
    "directory_script": _verify_directory_script,
    "lookup_client": _verify_lookup_client,
}


def verify(case: Case) -> None:
    """Check one case against this implementation (see the module docstring)."""
    kind = case.get("kind")
    if kind not in _VERIFY:
        raise AssertionError(f"kind: unknown {kind!r}")
    _VERIFY[kind](case)
