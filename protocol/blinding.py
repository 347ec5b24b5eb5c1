"""Spec §8.2–§8.4 and §8.7: identifier blinding on the client.

* **Normalisation** (§8.2): :func:`normalize_phone_number` turns what a user typed or an address
  book holds into one E.164 number (:class:`PhoneNumber`), standard library only, or rejects it
  with ``decode.phone_chars``, ``decode.phone_length`` or ``decode.phone_country``.
* **Derivations** (§8.3): the OPRF input of a number (:meth:`PhoneNumber.oprf_input`); from the
  64-byte VOPRF output, the :func:`discovery_token`, the per-epoch :func:`routing_scalar`, and
  the :func:`routing_id` of a registered mailbox key for an epoch; the owner's matching
  per-epoch mailbox secret (:meth:`MailboxKeyPair.epoch_secret`).
* **Epochs** (§8.4): :func:`epoch_of` and :func:`epoch_start`, 7-day epochs from the Unix epoch.
* **Client flow** (§8.7): :func:`request_evaluation` blinds up to 64 numbers for a pinned
  :class:`~protocol.evaluator.PublishedKey`; :meth:`PendingEvaluation.finish` checks the
  evaluator's response (decode → key id → proof, ``auth.failed`` for a proof that does not
  verify against the pinned key, e.g. a per-user key) and returns one :class:`IdentifierOutput`
  per number.

Nothing here touches the network, a clock or a global random source: ``now`` and ``rng`` are
parameters. Phone numbers, OPRF outputs and blinds never leave the device (§8.8); their objects
have redacted ``repr``s, and the secret ones refuse pickling and copying. Python cannot wipe
memory: their bytes live until the garbage collector frees them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from . import labels, oprf
from ._secret import Secret
from .errors import DecodeError, StateError, UsageError
from .evaluator import (
    MAX_EVALUATION_BATCH,
    MODE,
    EvaluationRequest,
    EvaluationResponse,
    PublishedKey,
)
from .primitives import Element, Rng, Scalar, labeled_kdf

__all__ = [
    "COUNTRY_CALLING_CODES",
    "DEFAULT_INTERNATIONAL_PREFIX",
    "DEFAULT_TRUNK_PREFIX",
    "DISCOVERY_TOKEN_SIZE",
    "E164_MAX_DIGITS",
    "EPOCH_LENGTH",
    "FIXED_NATIONAL_LENGTH",
    "MAX_PHONE_TEXT_LENGTH",
    "MIN_NATIONAL_DIGITS",
    "OUTPUT_SIZE",
    "ROUTING_ID_SIZE",
    "IdentifierOutput",
    "MailboxKeyPair",
    "PendingEvaluation",
    "PhoneNumber",
    "discovery_token",
    "epoch_of",
    "epoch_start",
    "normalize_phone_number",
    "request_evaluation",
    "routing_id",
    "routing_scalar",
]

# --- spec §8.2: E.164 normalisation ----------------------------------------------------------

#: Spec §8.2: the country calling codes assigned by ITU-T (E.164 and its list of assigned
#: codes, as carried by libphonenumber's metadata), geographic and global-service codes
#: alike. The set is prefix-free, so at most one of a number's first 1, 2 or 3 digits matches.
COUNTRY_CALLING_CODES: Final[frozenset[int]] = frozenset(
    {
        *(1, 7),
        *(20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49),
        *(51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66),
        *(81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98),
        *(211, 212, 213, 216, 218),
        *range(220, 259),  # 220-258
        *range(260, 270),  # 260-269
        *(290, 291, 297, 298, 299),
        *range(350, 360),  # 350-359
        *range(370, 379),  # 370-378
        *(380, 381, 382, 383, 385, 386, 387, 389, 420, 421, 423),
        *range(500, 510),  # 500-509
        *range(590, 600),  # 590-599
        *(670, 672, 673, 674, 675, 676, 677, 678, 679, 680, 681, 682, 683),
        *(685, 686, 687, 688, 689, 690, 691, 692),
        *(800, 808, 850, 852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888),
        *(960, 961, 962, 963, 964, 965, 966, 967, 968, 970, 971, 972, 973, 974, 975, 976, 977),
        *(979, 992, 993, 994, 995, 996, 998),
    }
)
#: Spec §8.2: E.164 §6: at most 15 digits, country code included.
E164_MAX_DIGITS: Final = 15
#: Spec §8.2: the shortest national significant number (Niue and Tokelau use 4 digits).
MIN_NATIONAL_DIGITS: Final = 4
#: Spec §8.2: plans whose national significant numbers have one fixed length.
FIXED_NATIONAL_LENGTH: Final[dict[int, int]] = {1: 10, 7: 10}
#: Spec §8.2: longest accepted input, in characters (code points).
MAX_PHONE_TEXT_LENGTH: Final = 64
#: Spec §8.2: defaults of the caller-supplied dialling conventions.
DEFAULT_INTERNATIONAL_PREFIX: Final = "00"
DEFAULT_TRUNK_PREFIX: Final = "0"

#: Spec §8.2: the first code point (digit zero) of each accepted run of ten decimal digits:
#: ASCII, Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali, Thai, Myanmar, Fullwidth.
_DIGIT_ZEROS: Final = (0x30, 0x660, 0x6F0, 0x966, 0x9E6, 0xE50, 0x1040, 0xFF10)
_PLUS: Final = frozenset("+\uff0b")
_OPEN: Final = frozenset("(\uff08")
_CLOSE: Final = frozenset(")\uff09")
#: Spec §8.2: separators and invisible marks, ignored wherever they occur.
_IGNORED: Final = frozenset(
    " \u00a0\u202f\u205f\u3000"  # spaces
    + "".join(chr(c) for c in range(0x2000, 0x200B))  # en quad .. hair space
    + "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d"  # hyphens, dashes, minus
    + ".\uff0e"  # full stops
    + "/\uff0f"  # solidus
    + "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"  # marks
)
_DIGIT_VALUE: Final[dict[str, int]] = {
    chr(zero + value): value for zero in _DIGIT_ZEROS for value in range(10)
}

# Token kinds of the first pass.
_T_PLUS, _T_OPEN, _T_CLOSE = "+", "(", ")"


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """Spec §8.2: a valid E.164 number — country calling code and national significant number.

    Its ``repr`` is redacted: a phone number is personal data and must not reach logs. Use
    :attr:`e164` explicitly.
    """

    country_code: int
    national_number: str

    def __post_init__(self) -> None:
        cc, nsn = self.country_code, self.national_number
        if type(cc) is not int or cc not in COUNTRY_CALLING_CODES:
            raise UsageError("usage.bad_argument", "country_code is not an assigned code")
        if type(nsn) is not str or not (nsn.isascii() and nsn.isdigit()):
            raise UsageError("usage.bad_argument", "national_number is ASCII digits")
        if _length_error(cc, len(nsn)) is not None:
            raise UsageError("usage.bad_argument", "national_number has the wrong length")

    @property
    def e164(self) -> str:
        """``"+" || country code || national significant number`` (ASCII digits)."""
        return f"+{self.country_code}{self.national_number}"

    def oprf_input(self) -> bytes:
        """Spec §8.3: ``LABEL_PHONE_IDENTIFIER || 0x00 || ASCII(e164)``."""
        return labels.LABEL_PHONE_IDENTIFIER + b"\x00" + self.e164.encode("ascii")

    def __repr__(self) -> str:
        return "PhoneNumber(<redacted>)"


def _length_error(country_code: int, nsn_length: int) -> str | None:
    fixed = FIXED_NATIONAL_LENGTH.get(country_code)
    if fixed is not None and nsn_length != fixed:
        return f"this plan's national numbers have {fixed} digits"
    if nsn_length < MIN_NATIONAL_DIGITS:
        return "national number too short"
    if len(str(country_code)) + nsn_length > E164_MAX_DIGITS:
        return "more than 15 digits"
    return None


def _check_prefix(name: str, value: str, low: int, high: int) -> None:
    if type(value) is not str or not ((value.isascii() and value.isdigit()) or value == ""):
        raise UsageError("usage.bad_argument", f"{name} is a string of ASCII digits")
    if not low <= len(value) <= high:
        raise UsageError("usage.bad_argument", f"{name} has {low} to {high} digits")


def _tokens(text: str) -> tuple[list[tuple[str, int]], bool]:
    """Spec §8.2 steps 1–2: map characters to tokens; return them and whether '+' was seen."""
    tokens: list[tuple[str, int]] = []
    plus = False
    seen_digit = False
    for ch in text:
        value = _DIGIT_VALUE.get(ch)
        if value is not None:
            tokens.append(("d", value))
            seen_digit = True
        elif ch in _IGNORED:
            continue
        elif ch in _PLUS:
            if plus or seen_digit:
                raise DecodeError("decode.phone_chars", "'+' must come before the digits, once")
            plus = True
            tokens.append((_T_PLUS, 0))
        elif ch in _OPEN:
            tokens.append((_T_OPEN, 0))
        elif ch in _CLOSE:
            tokens.append((_T_CLOSE, 0))
        else:
            raise DecodeError("decode.phone_chars", f"character U+{ord(ch):04X} not allowed")
    return tokens, plus


def _digits(tokens: list[tuple[str, int]]) -> list[tuple[str, bool]]:
    """Spec §8.2 step 3: the digits, each marked if it is the ``0`` of a ``(0)`` group."""
    out: list[tuple[str, bool]] = []
    for i, (kind, value) in enumerate(tokens):
        if kind != "d":
            continue
        marked = (
            value == 0
            and 0 < i < len(tokens) - 1
            and tokens[i - 1][0] == _T_OPEN
            and tokens[i + 1][0] == _T_CLOSE
        )
        out.append((str(value), marked))
    return out


def normalize_phone_number(
    text: str,
    *,
    default_country: int | None = None,
    trunk_prefix: str = DEFAULT_TRUNK_PREFIX,
    international_prefix: str = DEFAULT_INTERNATIONAL_PREFIX,
) -> PhoneNumber:
    """Spec §8.2: normalise ``text`` to an E.164 :class:`PhoneNumber`.

    ``default_country`` is the caller's own country calling code (for national numbers);
    ``trunk_prefix`` (0–2 digits, ``"0"`` in most plans, ``"1"`` in NANP, ``""`` in plans such
    as Italy's that keep the leading zero) and ``international_prefix`` (2–4 digits, ``"00"``
    in most plans, ``"011"`` in NANP) are the caller's dialling conventions.

    Rejects, in this order: more than 64 characters → ``decode.phone_length``; a character
    outside the allowed set, or a ``+`` after a digit or twice → ``decode.phone_chars``; no
    digit → ``decode.phone_length``; a national number without ``default_country``, or an
    international number whose first 1–3 digits are no assigned country calling code →
    ``decode.phone_country``; a national significant number outside its length bounds →
    ``decode.phone_length``.
    """
    if type(text) is not str:
        raise UsageError("usage.bad_argument", "text must be a str")
    if default_country is not None and (
        type(default_country) is not int or default_country not in COUNTRY_CALLING_CODES
    ):
        raise UsageError("usage.bad_argument", "default_country is not an assigned code")
    _check_prefix("trunk_prefix", trunk_prefix, 0, 2)
    _check_prefix("international_prefix", international_prefix, 2, 4)

    if len(text) > MAX_PHONE_TEXT_LENGTH:
        raise DecodeError("decode.phone_length", "input longer than 64 characters")
    tokens, plus = _tokens(text)
    digits = _digits(tokens)
    if not digits:
        raise DecodeError("decode.phone_length", "no digits")
    plain = "".join(d for d, _ in digits)

    if plus:
        international: str | None = "".join(d for d, marked in digits if not marked)
    elif plain.startswith(international_prefix):
        rest = digits[len(international_prefix) :]
        international = "".join(d for d, marked in rest if not marked)
    else:
        international = None

    if international is None:
        if default_country is None:
            raise DecodeError("decode.phone_country", "national number without a country")
        national = plain[len(trunk_prefix) :] if plain.startswith(trunk_prefix) else plain
        country_code = default_country
    else:
        for width in (1, 2, 3):
            head = international[:width]
            if len(head) == width and head[0] != "0" and int(head) in COUNTRY_CALLING_CODES:
                country_code = int(head)
                national = international[width:]
                break
        else:
            raise DecodeError("decode.phone_country", "no assigned country calling code")

    problem = _length_error(country_code, len(national))
    if problem is not None:
        raise DecodeError("decode.phone_length", problem)
    return PhoneNumber(country_code, national)


# --- spec §8.3: derivations ------------------------------------------------------------------

#: Spec §8.1: the VOPRF output (Finalize) is one SHA-512 hash.
OUTPUT_SIZE: Final = oprf.OUTPUT_SIZE
#: Spec §8.3: sizes of a discovery token and of a routing ID.
DISCOVERY_TOKEN_SIZE: Final = 32
ROUTING_ID_SIZE: Final = 32
_MAX_EPOCH: Final = 2**64 - 1


def _check_output(output: bytes) -> None:
    if type(output) is not bytes or len(output) != OUTPUT_SIZE:
        raise UsageError("usage.bad_argument", "an OPRF output is 64 bytes")


def _check_epoch(epoch: int) -> None:
    if type(epoch) is not int or not 0 <= epoch <= _MAX_EPOCH:
        raise UsageError("usage.bad_argument", "an epoch is a uint64")


def discovery_token(output: bytes) -> bytes:
    """Spec §8.3: ``KDF(LABEL_DISCOVERY_TOKEN, output, "", "", 32)``."""
    _check_output(output)
    return labeled_kdf(labels.LABEL_DISCOVERY_TOKEN, output, b"", b"", DISCOVERY_TOKEN_SIZE)


def routing_scalar(output: bytes, epoch: int) -> Scalar:
    """Spec §8.3: ``h_e = KDF(LABEL_ROUTING_SCALAR, output, "", u64be(e), 64) mod L``."""
    _check_output(output)
    _check_epoch(epoch)
    wide = labeled_kdf(labels.LABEL_ROUTING_SCALAR, output, b"", epoch.to_bytes(8, "big"), 64)
    return Scalar.from_wide(wide)


def routing_id(output: bytes, mailbox_key: bytes, epoch: int) -> bytes:
    """Spec §8.3: ``routing_id(e) = h_e · M``, the 32-byte encoding of an element.

    ``mailbox_key`` is the owner's registered mailbox public key ``M`` (spec §8.6.1). The owner
    holds the matching secret ``h_e · m`` (:meth:`MailboxKeyPair.epoch_secret`).
    """
    return Element(mailbox_key).mul(routing_scalar(output, epoch)).to_bytes()


# --- spec §8.4: epochs -----------------------------------------------------------------------

#: Spec §8.4: routing IDs change every 7 days, counted from the Unix epoch.
EPOCH_LENGTH: Final = 7 * 86_400


def epoch_of(now: int) -> int:
    """Spec §8.4: ``floor(now / EPOCH_LENGTH)``."""
    if type(now) is not int or now < 0:
        raise UsageError("usage.bad_argument", "now is a non-negative int")
    return now // EPOCH_LENGTH


def epoch_start(epoch: int) -> int:
    """Spec §8.4: the first second of ``epoch``."""
    _check_epoch(epoch)
    return epoch * EPOCH_LENGTH


# --- secrets ---------------------------------------------------------------------------------


class MailboxKeyPair(Secret):
    """Spec §8.3: the owner's mailbox key ``m`` (a scalar) and ``M = m · B``.

    ``M`` is registered in the directory (spec §8.6.1); for epoch ``e`` the owner proves
    possession of ``routing_id(e) = h_e · M`` with the secret ``h_e · m``. Export:
    ``private_bytes()`` is the 32-byte scalar.
    """

    __slots__ = ("_m", "_public")
    _m: Scalar
    _public: bytes

    def __init__(self, secret: Scalar) -> None:
        if not isinstance(secret, Scalar) or secret.is_zero():
            raise UsageError("usage.bad_argument", "a mailbox key is a non-zero Scalar")
        self._set("_m", secret)
        self._set("_public", Element.base_mul(secret).to_bytes())

    @classmethod
    def generate(cls, rng: Rng) -> MailboxKeyPair:
        """A uniformly random non-zero scalar from 64 bytes of ``rng`` (reduced mod L)."""
        return cls(Scalar.random(rng))

    @classmethod
    def from_private_bytes(cls, data: bytes) -> MailboxKeyPair:
        """Re-import the 32-byte scalar (``usage.bad_argument`` if not a reduced scalar)."""
        if type(data) is not bytes or len(data) != 32:
            raise UsageError("usage.bad_argument", "a mailbox private key is 32 bytes")
        try:
            return cls(Scalar(data))
        except DecodeError:
            raise UsageError("usage.bad_argument", "not a reduced scalar") from None

    def private_bytes(self) -> bytes:
        return self._m.to_bytes()

    @property
    def secret(self) -> Scalar:
        """``m`` as an opaque scalar (its ``repr`` is redacted): the key of an owner proof for
        a conversation mailbox (spec §10.2); a routing ID's is :meth:`epoch_secret`."""
        return self._m

    @property
    def public_key(self) -> bytes:
        """``M``, the 32-byte element registered in the directory."""
        return self._public

    def epoch_secret(self, output: bytes, epoch: int) -> Scalar:
        """Spec §8.3: ``h_e · m``, whose public key is ``routing_id(output, M, e)``."""
        return routing_scalar(output, epoch) * self._m

    def __repr__(self) -> str:
        return f"MailboxKeyPair(public={self._public[:8].hex()}…, private=<redacted>)"


class IdentifierOutput(Secret):
    """Spec §8.3: the VOPRF output of one identifier, under the key ``key_id``.

    Not secret from whoever knows the identifier (anyone can have it evaluated), but it must
    never reach a server (spec §8.8): the ``repr`` is redacted and the bytes come out only
    through :meth:`output_bytes`.
    """

    __slots__ = ("_key_id", "_output")
    _key_id: int
    _output: bytes

    def __init__(self, key_id: int, output: bytes) -> None:
        _check_output(output)
        self._set("_key_id", key_id)
        self._set("_output", output)

    @property
    def key_id(self) -> int:
        return self._key_id

    def output_bytes(self) -> bytes:
        """Explicit export of the 64-byte output."""
        return self._output

    def discovery_token(self) -> bytes:
        """Spec §8.3: the token the directory indexes registrations by."""
        return discovery_token(self._output)

    def routing_id(self, mailbox_key: bytes, epoch: int) -> bytes:
        """Spec §8.3: where first-contact messages go in ``epoch`` for this mailbox key."""
        return routing_id(self._output, mailbox_key, epoch)

    def __repr__(self) -> str:
        return f"IdentifierOutput(key_id={self._key_id}, output=<redacted>)"


# --- spec §8.7: the client's evaluation ------------------------------------------------------


class PendingEvaluation(Secret):
    """Spec §8.7: the blinds of one request, kept on the device until the response arrives.

    :attr:`request` is what to send to the evaluator; :meth:`finish` consumes its response.
    """

    __slots__ = ("_blinded", "_blinds", "_inputs", "_key", "_request")
    _key: PublishedKey
    _inputs: tuple[bytes, ...]
    _blinds: tuple[Scalar, ...]
    _blinded: tuple[Element, ...]
    _request: EvaluationRequest

    def __init__(
        self,
        key: PublishedKey,
        inputs: Sequence[bytes],
        blinds: Sequence[Scalar],
        blinded: Sequence[Element],
    ) -> None:
        self._set("_key", key)
        self._set("_inputs", tuple(inputs))
        self._set("_blinds", tuple(blinds))
        self._set("_blinded", tuple(blinded))
        self._set("_request", EvaluationRequest(key.key_id, tuple(e.to_bytes() for e in blinded)))

    @property
    def request(self) -> EvaluationRequest:
        """The :class:`~protocol.evaluator.EvaluationRequest` to send (blinded elements only)."""
        return self._request

    @property
    def key(self) -> PublishedKey:
        return self._key

    def finish(self, response: bytes) -> list[IdentifierOutput]:
        """Spec §8.7: check the evaluator's response and finalise, all or nothing.

        Order: decode (``decode.*``); as many evaluations as blinded elements
        (``decode.count``); the response's key id is the request's (``state.mismatch``: the key
        id selects the key the proof is checked against); the batched DLEQ proof verifies
        against the *pinned* public key (``auth.failed`` — in particular when the evaluator
        used any other key, such as one kept for this user alone).
        """
        message = EvaluationResponse.from_bytes(response)
        if len(message.evaluated) != len(self._blinded):
            raise DecodeError("decode.count", "not one evaluation per blinded element")
        if message.key_id != self._key.key_id:
            raise StateError("state.mismatch", "response for another key id")
        outputs = oprf.finalize_verified(
            self._key.element(),
            self._inputs,
            self._blinds,
            self._blinded,
            message.elements(),
            message.dleq_proof(),
            MODE,
        )
        return [IdentifierOutput(self._key.key_id, out) for out in outputs]

    def __repr__(self) -> str:
        return f"PendingEvaluation(key_id={self._key.key_id}, count={len(self._inputs)})"


def request_evaluation(
    numbers: Sequence[PhoneNumber], key: PublishedKey, *, now: int, rng: Rng
) -> PendingEvaluation:
    """Spec §8.7: blind 1 to 64 numbers for evaluation under the pinned ``key``.

    Draws one blind per number from ``rng`` (64 bytes each, RFC 9497 Blind). A key past its
    ``not_after`` is ``state.unknown_key``: the client must refresh its pinned keys first.
    """
    if not isinstance(key, PublishedKey):
        raise UsageError("usage.bad_argument", "key must be a PublishedKey")
    if not 1 <= len(numbers) <= MAX_EVALUATION_BATCH:
        raise UsageError("usage.bad_argument", "1 to 64 numbers per request")
    if not all(isinstance(n, PhoneNumber) for n in numbers):
        raise UsageError("usage.bad_argument", "numbers must be PhoneNumbers")
    if type(now) is not int or now < 0:
        raise UsageError("usage.bad_argument", "now is a non-negative int")
    if key.not_after < now:
        raise StateError("state.unknown_key", "the pinned key has expired")
    inputs = [n.oprf_input() for n in numbers]
    blinds: list[Scalar] = []
    blinded: list[Element] = []
    for x in inputs:
        r, element = oprf.blind(x, MODE, rng)
        blinds.append(r)
        blinded.append(element)
    return PendingEvaluation(key, inputs, blinds, blinded)


def _pending_with(
    numbers: Sequence[PhoneNumber], key: PublishedKey, blinds: Sequence[Scalar]
) -> PendingEvaluation:
    """Deterministic seam (vectors): :func:`request_evaluation` with the blinds given."""
    inputs = [n.oprf_input() for n in numbers]
    blinded = [oprf._blind_with(x, r, MODE) for x, r in zip(inputs, blinds, strict=True)]
    return PendingEvaluation(key, inputs, blinds, blinded)
