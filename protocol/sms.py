"""Spec §11: SMS fallback — the same end-to-end encryption when there is no IP connection.

Four layers, bottom up, all sans-I/O (the caller sends and receives the segments; ``now`` is a
parameter; nothing here reads a clock):

* **Segments** (§11.2, §11.3). The *binary profile* carries bytes in concatenated 8-bit SMS:
  each segment's user data is a TS 23.040 user data header (concatenation, 8-bit reference;
  16-bit application port addressing in the first segment) and up to 134 bytes.
  The *text profile*, for gateways that carry only text, writes the bytes as ``"?BP1"`` and
  unpadded base64, every character of which is in the GSM 03.38 basic set (no escapes), and
  splits it at 153 characters per concatenated segment.
* **Compact forms** (§11.4, §11.5). What the segments carry: ``u8(form) || payload``. A
  *session* form carries a ratchet message (§7.3) unchanged, so that one message sent both by
  the relay and by SMS is one ratchet message the recipient accepts once. A *first contact*
  carries the handshake's initial message (§6.6) to the recipient's first-contact key's KEM
  half, without the sealed-sender layer (the carrier sees both numbers anyway).
* **Reassembly** (§11.6): :class:`Reassembler` — any order, duplicates ignored, a conflicting
  duplicate refused, partial messages timed out and bounded per sender and in total.
* **Transport policy** (§11.7): :class:`TransportPolicy` — IP when reachable, SMS when not or
  when a deposit is not acknowledged before a deadline; on receipt, the second copy of a
  message that came both ways is a :class:`Duplicate`, never an error.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Final, NamedTuple

from .envelope import (
    ENVELOPE_HEADER_SIZE,
    MAX_FIRST_CONTACT_CONTENT,
    Envelope,
    FirstContactBundle,
    FirstContactKeys,
    envelope_id,
    open_session,
    pad,
    padded_size,
    seal_first_contact,
    seal_session,
    unpad,
)
from .errors import AuthenticationError, DecodeError, StateError, UsageError
from .handshake import InitialMessage, PrekeyStore, Responded, _initiate_with
from .keys import IdentityKey, IdentityKeyPair
from .primitives import (
    MLKEM768_CIPHERTEXT_SIZE,
    Rng,
    X25519KeyPair,
    mlkem768_encapsulate,
    sha256,
)
from .ratchet import MAX_MESSAGE_SIZE, MESSAGE_OVERHEAD, Session, SessionIndex

__all__ = [
    "BINARY_FIRST_PAYLOAD",
    "BINARY_NEXT_PAYLOAD",
    "BINARY_SINGLE_PAYLOAD",
    "DEFAULT_REASSEMBLY_LIMITS",
    "FALLBACK_DEADLINE",
    "FORM_FIRST_CONTACT",
    "FORM_SESSION",
    "MAX_BINARY_SIZE",
    "MAX_DELIVERED",
    "MAX_PARTIALS",
    "MAX_PARTIAL_BYTES",
    "MAX_PENDING_DEPOSITS",
    "MAX_SEGMENTS",
    "MAX_SENDER_BYTES",
    "MAX_SENDER_PARTIALS",
    "MAX_SENDER_SIZE",
    "MAX_TEXT_SIZE",
    "REASSEMBLY_TIMEOUT",
    "SMS_PORT",
    "TEXT_CONCAT_CHARS",
    "TEXT_PREFIX",
    "TEXT_SINGLE_CHARS",
    "USER_DATA_SIZE",
    "CompactFirstContact",
    "CompactSession",
    "Deposit",
    "Duplicate",
    "PartialInfo",
    "Profile",
    "Reassembled",
    "Reassembler",
    "ReassemblyLimits",
    "ReassemblySnapshot",
    "Received",
    "SealedSmsFirstContact",
    "SendSms",
    "TextSegment",
    "Transport",
    "TransportPolicy",
    "WaitForIp",
    "capacity",
    "decode_compact",
    "decode_text",
    "encode_text",
    "fill_size",
    "open_sms_first_contact",
    "open_sms_session",
    "parse_binary_segment",
    "parse_text_segment",
    "seal_sms_first_contact",
    "seal_sms_session",
    "segment",
    "segment_count",
    "session_form",
    "session_form_of_envelope",
    "sms_first_contact_size",
    "sms_session_size",
    "split_binary",
    "split_text",
    "text_length",
]


class Profile(enum.Enum):
    """Spec §11.1: how segments carry bytes — 8-bit data (binary) or GSM 7-bit text."""

    BINARY = "binary"
    TEXT = "text"


# --- constants (spec §11.1) -------------------------------------------------------------------

#: Spec §11.2: TS 23.040 TP-User-Data of one SMS, in octets (160 septets of 7-bit text).
USER_DATA_SIZE: Final = 140
#: Spec §11.2: the most segments one message may have (the concatenation counter is 8 bits).
MAX_SEGMENTS: Final = 255
#: Spec §11.2: the 16-bit application port of Blindpost, destination and originator alike:
#: in TS 23.040's range 16000–16999 "available for allocation by SMS applications".
SMS_PORT: Final = 16_216
#: Spec §11.2: an unconcatenated segment: 140 − UDHL − the port element (6).
BINARY_SINGLE_PAYLOAD: Final = USER_DATA_SIZE - 1 - 6
#: Spec §11.2: the first concatenated segment: 140 − UDHL − concatenation (5) − port (6).
BINARY_FIRST_PAYLOAD: Final = USER_DATA_SIZE - 1 - 5 - 6
#: Spec §11.2: every later segment: 140 − UDHL − concatenation (5).
BINARY_NEXT_PAYLOAD: Final = USER_DATA_SIZE - 1 - 5
#: Spec §11.2: the longest byte string the binary profile carries (255 segments).
MAX_BINARY_SIZE: Final = BINARY_FIRST_PAYLOAD + (MAX_SEGMENTS - 1) * BINARY_NEXT_PAYLOAD
#: Spec §11.3: the prefix of every Blindpost text: recognisable, and the version (1).
TEXT_PREFIX: Final = "?BP1"
_TEXT_MAGIC: Final = TEXT_PREFIX[:3]
#: Spec §11.3: characters of an unconcatenated 7-bit SMS.
TEXT_SINGLE_CHARS: Final = 160
#: Spec §11.3: characters of a concatenated 7-bit SMS (7 septets go to its header).
TEXT_CONCAT_CHARS: Final = 153
_MAX_TEXT_CHARS: Final = MAX_SEGMENTS * TEXT_CONCAT_CHARS
#: Spec §11.3: the longest byte string the text profile carries (255 segments).
MAX_TEXT_SIZE: Final = 3 * (_MAX_TEXT_CHARS - len(TEXT_PREFIX)) // 4
#: Spec §11.4: the first byte of a compact form: a session message ...
FORM_SESSION: Final = 0x01
#: ... and a first contact.
FORM_FIRST_CONTACT: Final = 0x02
#: Spec §11.6: the longest originating address a reassembler keys partial messages by.
MAX_SENDER_SIZE: Final = 32
#: Spec §11.6: a partial message's lifetime from its first segment (1 day).
REASSEMBLY_TIMEOUT: Final = 86_400
#: Spec §11.6: partial messages held per originating address ...
MAX_SENDER_PARTIALS: Final = 8
#: ... and their bytes.
MAX_SENDER_BYTES: Final = 65_536
#: Spec §11.6: partial messages held in total ...
MAX_PARTIALS: Final = 1_024
#: ... and their bytes.
MAX_PARTIAL_BYTES: Final = 1_048_576
#: Spec §11.7: seconds a deposit may go unacknowledged before the message goes by SMS.
FALLBACK_DEADLINE: Final = 60
#: Spec §11.7: unacknowledged deposits a policy tracks (beyond: the oldest falls back now).
MAX_PENDING_DEPOSITS: Final = 256
#: Spec §11.7: digests of delivered messages a policy remembers to recognise duplicates.
MAX_DELIVERED: Final = 1024

# TS 23.040 §9.2.3.24: information element identifiers.
_IEI_CONCAT_8: Final = 0x00
_IEI_CONCAT_16: Final = 0x08
_IEI_PORT_16: Final = 0x05
_PORT_BYTES: Final = SMS_PORT.to_bytes(2, "big")
_PORT_IE: Final = bytes([_IEI_PORT_16, 4]) + _PORT_BYTES + _PORT_BYTES
_SINGLE_HEADER: Final = bytes([len(_PORT_IE)]) + _PORT_IE
#: Spec §11.2: the header of a later segment up to its reference: UDHL 5, IEI 0, IEDL 3.
_NEXT_HEAD: Final = b"\x05\x00\x03"
_BYTE: Final = tuple(bytes([i]) for i in range(256))
_SESSION_BYTE: Final = _BYTE[FORM_SESSION]
_FIRST_CONTACT_BYTE: Final = _BYTE[FORM_FIRST_CONTACT]
#: Spec §11.4: form byte, the ratchet's overhead and the padding marker.
_SESSION_OVERHEAD: Final = 1 + MESSAGE_OVERHEAD + 1
_B64_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#: Spec §11.3: every character a text segment may hold (base64 and the prefix's ``?``).
_TEXT_CHARS: Final = frozenset(_B64_ALPHABET + TEXT_PREFIX)


def _bad(detail: str) -> UsageError:
    return UsageError("usage.bad_argument", detail)


def _as_bytes(data: object, what: str) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise _bad(f"{what} is bytes")


# --- sizes (spec §11.2, §11.3) ----------------------------------------------------------------


def capacity(profile: Profile, segments: int) -> int:
    """Spec §11.2, §11.3: the most bytes ``segments`` segments of ``profile`` carry."""
    if type(segments) is not int or not 1 <= segments <= MAX_SEGMENTS:
        raise _bad(f"1 to {MAX_SEGMENTS} segments")
    if profile is Profile.BINARY:
        if segments == 1:
            return BINARY_SINGLE_PAYLOAD
        return BINARY_FIRST_PAYLOAD + (segments - 1) * BINARY_NEXT_PAYLOAD
    chars = TEXT_SINGLE_CHARS if segments == 1 else segments * TEXT_CONCAT_CHARS
    return 3 * (chars - len(TEXT_PREFIX)) // 4


def text_length(size: int) -> int:
    """Spec §11.3: characters of the text of ``size`` bytes: the prefix and ``⌈4·size/3⌉``."""
    return len(TEXT_PREFIX) + (4 * size + 2) // 3


def segment_count(profile: Profile, size: int) -> int | None:
    """Spec §11.2, §11.3: segments for ``size`` bytes, or None beyond :data:`MAX_SEGMENTS`."""
    if profile is Profile.BINARY:
        if size <= BINARY_SINGLE_PAYLOAD:
            return 1
        count = -(-(size - BINARY_FIRST_PAYLOAD) // BINARY_NEXT_PAYLOAD) + 1
    else:
        chars = text_length(size)
        count = 1 if chars <= TEXT_SINGLE_CHARS else -(-chars // TEXT_CONCAT_CHARS)
    return count if count <= MAX_SEGMENTS else None


def fill_size(profile: Profile, size: int) -> int | None:
    """Spec §11.4: the capacity of the fewest segments that carry ``size`` bytes (the size an
    SMS-padded form has), or None when ``size`` needs more than :data:`MAX_SEGMENTS`."""
    count = segment_count(profile, size)
    return None if count is None else capacity(profile, count)


# --- binary profile (spec §11.2) --------------------------------------------------------------


def _check_reference(reference: object) -> int:
    if type(reference) is not int or not 0 <= reference <= 255:
        raise _bad("a concatenation reference is 0 to 255")
    return reference


def split_binary(data: bytes, reference: int) -> tuple[bytes, ...]:
    """Spec §11.2: the TP-User-Data of each segment that carries ``data``, in order.

    One segment: ``06 05 04 port port || data``. More: the first is
    ``0b 00 03 ref count 01 05 04 port port || 128 bytes``, each later one
    ``05 00 03 ref count n || 134 bytes``; every segment but the last is 140 octets.
    """
    if type(data) is not bytes:
        data = _as_bytes(data, "data")
    size = len(data)
    if size <= BINARY_SINGLE_PAYLOAD:
        if not size:
            raise _bad("nothing to send")
        return (_SINGLE_HEADER + data,)
    count = -(-(size - BINARY_FIRST_PAYLOAD) // BINARY_NEXT_PAYLOAD) + 1
    if count > MAX_SEGMENTS:
        raise _bad(f"{size} bytes need more than {MAX_SEGMENTS} segments")
    if type(reference) is not int or not 0 <= reference <= 255:
        _check_reference(reference)
    numbers = _BYTE
    ref_count = numbers[reference] + numbers[count]
    head = _NEXT_HEAD + ref_count
    out = [b"\x0b\x00\x03" + ref_count + b"\x01" + _PORT_IE + data[:BINARY_FIRST_PAYLOAD]]
    append = out.append
    position = BINARY_FIRST_PAYLOAD
    for number in range(2, count + 1):
        end = position + BINARY_NEXT_PAYLOAD
        append(head + numbers[number] + data[position:end])
        position = end
    return tuple(out)


def _parse_header(data: bytes, end: int, *, ports: bool) -> tuple[bool, int, int, int, bool]:
    """Spec §11.2 steps 2–4: the elements of a user data header in ``data[1:end]``.

    Returns ``(wide, reference, count, number, has_port)``; ``reference`` −1 when there is no
    concatenation element. ``ports``: whether the port element is allowed (binary profile).
    """
    wide = False
    reference = -1
    count = number = 1
    has_port = False
    i = 1
    while i < end:
        if i + 2 > end:
            raise DecodeError("decode.truncated", "an information element's header is cut off")
        iei = data[i]
        length = data[i + 1]
        body = i + 2
        if iei in (_IEI_CONCAT_8, _IEI_CONCAT_16):
            if reference >= 0:
                raise DecodeError("decode.duplicate_key", "two concatenation elements")
            if length != (3 if iei == _IEI_CONCAT_8 else 4):
                raise DecodeError("decode.length", "a concatenation element of the wrong length")
            if body + length > end:
                raise DecodeError("decode.truncated", "a concatenation element is cut off")
            if iei == _IEI_CONCAT_8:
                reference = data[body]
            else:
                wide = True
                reference = (data[body] << 8) | data[body + 1]
            count = data[body + length - 2]
            number = data[body + length - 1]
        elif iei == _IEI_PORT_16 and ports:
            if has_port:
                raise DecodeError("decode.duplicate_key", "two port elements")
            if length != 4:
                raise DecodeError("decode.length", "a port element of the wrong length")
            if body + length > end:
                raise DecodeError("decode.truncated", "a port element is cut off")
            if data[body : body + 2] != _PORT_BYTES:
                raise DecodeError("decode.range", "a destination port other than Blindpost's")
            has_port = True
        else:
            raise DecodeError("decode.unknown_field", f"information element {iei:#04x}")
        i = body + length
    if count == 0 or number == 0 or number > count:
        raise DecodeError("decode.range", "segment number 0, count 0, or number above count")
    return wide, reference, count, number, has_port


def parse_binary_segment(user_data: bytes) -> tuple[bool, int, int, int, bytes]:
    """Spec §11.2: decode one segment's TP-User-Data into ``(wide, reference, count, number,
    payload)`` (``reference`` −1 and count 1 for an unconcatenated segment).

    Order: more than 140 octets (``decode.too_large``), none (``decode.truncated``) → the
    header's elements in order (``decode.truncated``, ``.unknown_field``, ``.duplicate_key``,
    ``.length``, a foreign destination port ``.range``) → the concatenation values
    (``decode.range``) → no port element in segment 1 (``decode.missing_field``) → an empty
    payload, or a segment before the last that is not 140 octets (``decode.length``).
    """
    data = user_data if type(user_data) is bytes else _as_bytes(user_data, "user data")
    size = len(data)
    if size > USER_DATA_SIZE:
        raise DecodeError("decode.too_large", f"{size} octets > {USER_DATA_SIZE}")
    if not size:
        raise DecodeError("decode.truncated", "no user data header")
    end = data[0] + 1
    if end > size:
        raise DecodeError("decode.truncated", "the user data header is longer than the data")
    if end == 12 and data[1] == 0 and data[2] == 3 and data[6:12] == _PORT_IE:
        # The first segment as every Blindpost sender writes it (the fast path).
        reference, count, number = data[3], data[4], data[5]
        if count == 0 or number == 0 or number > count:
            raise DecodeError("decode.range", "segment number 0, count 0, or above count")
        wide, has_port = False, True
    elif end == 6 and data[1] == 0 and data[2] == 3:
        # A later segment (the fast path).
        reference, count, number = data[3], data[4], data[5]
        if count == 0 or number == 0 or number > count:
            raise DecodeError("decode.range", "segment number 0, count 0, or above count")
        wide, has_port = False, False
    else:
        wide, reference, count, number, has_port = _parse_header(data, end, ports=True)
    if number == 1 and not has_port:
        raise DecodeError("decode.missing_field", "no port element in the first segment")
    if end == size:
        raise DecodeError("decode.length", "a segment without payload")
    if number < count and size != USER_DATA_SIZE:
        raise DecodeError("decode.length", "a segment before the last is not full")
    return wide, reference, count, number, data[end:]


# --- text profile (spec §11.3) ----------------------------------------------------------------


def encode_text(data: bytes) -> str:
    """Spec §11.3: ``"?BP1" || base64(data)`` (RFC 4648 §4 alphabet, no ``=`` padding)."""
    data = _as_bytes(data, "data")
    return TEXT_PREFIX + base64.b64encode(data).decode("ascii").rstrip("=")


def decode_text(text: str) -> bytes:
    """Spec §11.3: the bytes of a Blindpost text.

    Order: more than 255 segments' worth of characters (``decode.too_large``) → no ``"?BP"``
    prefix, or a version other than ``1`` (``decode.version``: not a Blindpost text of this
    version) → anything but canonical unpadded base64 after it (``decode.alphabet``).
    """
    if type(text) is not str:
        raise _bad("a text is str")
    if len(text) > _MAX_TEXT_CHARS:
        raise DecodeError("decode.too_large", f"{len(text)} characters > {_MAX_TEXT_CHARS}")
    if not text.startswith(TEXT_PREFIX):
        raise DecodeError("decode.version", "not a Blindpost text of version 1")
    body = text[len(TEXT_PREFIX) :]
    if len(body) % 4 == 1:
        raise DecodeError("decode.alphabet", "a base64 length that no bytes have")
    try:
        data = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise DecodeError("decode.alphabet", "a character outside base64") from None
    if base64.b64encode(data).decode("ascii").rstrip("=") != body:
        raise DecodeError("decode.alphabet", "not the canonical base64 (unused bits set)")
    return data


@dataclass(frozen=True, slots=True)
class TextSegment:
    """Spec §11.3: one segment of the text profile: its user data header (the octets, length
    octet first; empty for an unconcatenated SMS) and its characters."""

    udh: bytes
    text: str

    def __post_init__(self) -> None:
        if type(self.udh) is not bytes or type(self.text) is not str:
            raise _bad("a text segment is (bytes, str)")


def split_text(text: str, reference: int) -> tuple[TextSegment, ...]:
    """Spec §11.3: the segments of a text: one of up to 160 characters, or segments of 153
    characters (the last shorter) each with the header ``05 00 03 ref count n``."""
    if type(text) is not str or not text:
        raise _bad("a non-empty text")
    if len(text) <= TEXT_SINGLE_CHARS:
        return (TextSegment(b"", text),)
    count = -(-len(text) // TEXT_CONCAT_CHARS)
    if count > MAX_SEGMENTS:
        raise _bad(f"{len(text)} characters need more than {MAX_SEGMENTS} segments")
    head = b"\x05\x00\x03" + _BYTE[_check_reference(reference)] + _BYTE[count]
    step = TEXT_CONCAT_CHARS
    return tuple(
        TextSegment(head + _BYTE[n + 1], text[n * step : (n + 1) * step]) for n in range(count)
    )


def parse_text_segment(segment: TextSegment) -> tuple[bool, int, int, int, bytes]:
    """Spec §11.3: decode a text segment into ``(wide, reference, count, number, payload)``,
    the payload being its characters as ASCII bytes.

    Order: the header (a length octet that disagrees with its size ``decode.length``; its
    elements as in the binary profile, where a port element is ``decode.unknown_field``) →
    more characters than the segment holds (``decode.too_large``) → a character outside the
    alphabet (``decode.alphabet``) → no character, or a segment before the last that does not
    have 153 (``decode.length``).
    """
    if type(segment) is not TextSegment:
        raise _bad("a TextSegment")
    udh, text = segment.udh, segment.text
    if udh:
        if udh[0] + 1 != len(udh):
            raise DecodeError("decode.length", "the header's length octet disagrees with it")
        wide, reference, count, number, _ = _parse_header(udh, len(udh), ports=False)
        limit = TEXT_CONCAT_CHARS
    else:
        wide, reference, count, number = False, -1, 1, 1
        limit = TEXT_SINGLE_CHARS
    if len(text) > limit:
        raise DecodeError("decode.too_large", f"{len(text)} characters > {limit}")
    if not _TEXT_CHARS.issuperset(text):
        raise DecodeError("decode.alphabet", "a character outside the text profile's alphabet")
    if not text or (number < count and len(text) != TEXT_CONCAT_CHARS):
        raise DecodeError("decode.length", "an empty segment, or one before the last not full")
    return wide, reference, count, number, text.encode("ascii")


def segment(profile: Profile, data: bytes, reference: int) -> tuple[bytes | TextSegment, ...]:
    """Spec §11.2, §11.3: the segments that carry ``data`` (a compact form) in ``profile``."""
    if profile is Profile.BINARY:
        return split_binary(data, reference)
    return split_text(encode_text(data), reference)


# --- compact forms (spec §11.4, §11.5) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompactSession:
    """Spec §11.4: a session message over SMS; ``message`` is a ratchet message (§7.3)."""

    message: bytes


@dataclass(frozen=True, slots=True)
class CompactFirstContact:
    """Spec §11.5: a first contact over SMS: the handshake's initial message (§6.6)."""

    message: InitialMessage


def decode_compact(data: bytes) -> CompactSession | CompactFirstContact:
    """Spec §11.4: decode a compact form.

    Order: more than :data:`MAX_BINARY_SIZE` bytes (``decode.too_large``), none
    (``decode.length``) → a form byte other than 1 or 2 (``decode.version``) → a ratchet
    message shorter than 88 bytes (``decode.length``), or an initial message that does not
    decode (§6.6, ``decode.*``).
    """
    data = _as_bytes(data, "a compact form")
    size = len(data)
    if size > MAX_BINARY_SIZE:
        raise DecodeError("decode.too_large", f"{size} bytes > {MAX_BINARY_SIZE}")
    if not size:
        raise DecodeError("decode.length", "an empty compact form")
    form = data[0]
    if form == FORM_SESSION:
        if size - 1 < MESSAGE_OVERHEAD:
            raise DecodeError("decode.length", "shorter than a ratchet message")
        return CompactSession(data[1:])
    if form == FORM_FIRST_CONTACT:
        return CompactFirstContact(InitialMessage.from_bytes(data[1:]))
    raise DecodeError("decode.version", f"compact form {form:#04x}")


def session_form(message: bytes) -> bytes:
    """Spec §11.4: ``u8(1) || message`` — the SMS form of a ratchet message as it is."""
    message = _as_bytes(message, "a ratchet message")
    if not MESSAGE_OVERHEAD <= len(message) <= MAX_MESSAGE_SIZE:
        raise _bad("not a ratchet message's length")
    return _SESSION_BYTE + message


def session_form_of_envelope(envelope: bytes) -> bytes:
    """Spec §11.4 case 1: the SMS form of a session envelope's ratchet message (its body),
    for a deposit that was not acknowledged; the same bytes the relay holds."""
    return session_form(Envelope.from_bytes(envelope).body)


def sms_session_size(profile: Profile, content_size: int) -> int | None:
    """Spec §11.4 case 2: the size of the SMS-padded session form of a ``content_size``-byte
    content, or None when it needs more than :data:`MAX_SEGMENTS` segments."""
    if type(content_size) is not int or content_size < 0:
        raise _bad("a content size")
    return fill_size(profile, _SESSION_OVERHEAD + content_size)


def seal_sms_session(session: Session, content: bytes, *, profile: Profile) -> bytes:
    """Spec §11.4 case 2: the next message of ``session`` for SMS when there is no IP.

    The plaintext (an encoded :class:`~protocol.envelope.Content`) is padded (§9.3's marker
    and zeros) so that the compact form exactly fills its last segment in ``profile``.
    """
    content = _as_bytes(content, "content")
    size = sms_session_size(_check_profile(profile), len(content))
    if size is None:
        raise _bad(f"too long for {MAX_SEGMENTS} segments")
    return _SESSION_BYTE + session.encrypt(pad(content, size - 1 - MESSAGE_OVERHEAD))


def _check_profile(profile: object) -> Profile:
    if type(profile) is not Profile:
        raise _bad("profile is a Profile")
    return profile


def open_sms_session(data: bytes, session: Session, *, profile: Profile) -> bytes:
    """Spec §11.4: the content of a session form that arrived in ``profile``; transactional.

    Order: :func:`decode_compact` (a first contact is ``decode.type``) → the ratchet (§7.3.3)
    → the padding (``decode.padding``), checked before the session commits: the plaintext
    must unpad, and the ratchet message must have the PADMÉ size of its content (§9.5: a
    deposit that fell back) or the compact form the fill size of ``profile`` (§11.4).
    """
    form = decode_compact(data)
    if type(form) is not CompactSession:
        raise DecodeError("decode.type", "a first contact where a session message was expected")
    _check_profile(profile)
    size = len(form.message) + 1

    def check(padded: bytes) -> bytes:
        content = unpad(padded)
        n = len(content)
        if len(padded) + MESSAGE_OVERHEAD == padded_size(MESSAGE_OVERHEAD + n + 1):
            return content
        if size == fill_size(profile, _SESSION_OVERHEAD + n):
            return content
        raise DecodeError("decode.padding", "neither the PADMÉ size nor the SMS fill size")

    return session.decrypt(form.message, check=check)


# --- first contact over SMS (spec §11.5) ------------------------------------------------------

#: A valid X25519 public key (u = 9) for measuring an initial message's encoding.
_PROBE_KEY: Final = b"\x09" + bytes(31)


def _bstr_head(length: int) -> int:
    """Spec §2.2: the bytes of a byte string's head (its payloads are 88 to 65 535 bytes)."""
    return 2 if length < 256 else 3


def _initial_base(identity: IdentityKey, bundle: FirstContactBundle) -> int:
    """The bytes of an initial message (§6.6) to ``bundle`` other than its payload and the
    payload's head: the ids' encodings are the only part whose size varies."""
    opk = bundle.one_time_prekey
    probe = InitialMessage(
        identity=identity,
        ephemeral_key=_PROBE_KEY,
        signed_prekey_id=bundle.signed_prekey.id,
        kem_prekey_id=bundle.first_contact_key.epoch,
        kem_ciphertext=bytes(MLKEM768_CIPHERTEXT_SIZE),
        payload=bytes(MESSAGE_OVERHEAD),
        one_time_prekey_id=None if opk is None else opk.id,
    )
    return len(probe.to_bytes()) - MESSAGE_OVERHEAD - _bstr_head(MESSAGE_OVERHEAD)


def _first_contact_payload(profile: Profile, base: int, content_size: int) -> int | None:
    """Spec §11.5: the first ratchet message's size ``L`` in an SMS first contact whose
    initial message has ``base`` bytes besides the payload and its head: the largest ``L``
    for which ``1 + base + head(L) + L`` still fits the fewest segments that hold the
    unpadded content (``L ≥ 88 + content + 1``)."""
    least = MESSAGE_OVERHEAD + content_size + 1
    target = fill_size(profile, 1 + base + _bstr_head(least) + least)
    if target is None:
        return None
    wide = target - 1 - base - 3
    if wide >= 256:
        return wide
    return min(target - 1 - base - 2, 255)


def sms_first_contact_size(
    profile: Profile, identity: IdentityKey, bundle: FirstContactBundle, content_size: int
) -> int | None:
    """Spec §11.5: the size of the SMS first contact of a ``content_size``-byte content from
    ``identity`` to ``bundle`` (None: more than :data:`MAX_SEGMENTS` segments)."""
    if type(content_size) is not int or not 0 <= content_size <= MAX_FIRST_CONTACT_CONTENT:
        raise _bad(f"a first contact carries 0 to {MAX_FIRST_CONTACT_CONTENT} bytes")
    base = _initial_base(identity, bundle)
    payload = _first_contact_payload(_check_profile(profile), base, content_size)
    return None if payload is None else 1 + base + _bstr_head(payload) + payload


@dataclass(frozen=True, slots=True)
class SealedSmsFirstContact:
    """What :func:`seal_sms_first_contact` returns: the compact form and the new session."""

    data: bytes
    session: Session


def seal_sms_first_contact(
    identity: IdentityKeyPair,
    bundle: FirstContactBundle,
    content: bytes,
    *,
    profile: Profile,
    rng: Rng,
) -> SealedSmsFirstContact:
    """Spec §11.5: start a session by SMS with the owner of ``bundle`` (obtained earlier over
    IP from the relay, §9.4.1): the handshake (§6.3) on the bundle, whose first-contact key's
    KEM half is ``PQPK_B``; the first plaintext (a :class:`~protocol.envelope.Content` with the
    reply-mailbox grant, at most 628 bytes) padded so that the form fills its last segment.

    Every signature of the bundle is verified first (``auth.failed``). Draws from ``rng``:
    ``EK_A`` (32), then the ratchet's first key (32).
    """
    content = _as_bytes(content, "content")
    if len(content) > MAX_FIRST_CONTACT_CONTENT:
        raise _bad(f"a first contact carries at most {MAX_FIRST_CONTACT_CONTENT} bytes")
    _check_profile(profile)
    bundle.verify()
    ephemeral = X25519KeyPair.generate(rng)
    kem_secret, kem_ciphertext = mlkem768_encapsulate(bundle.kem_prekey.public_key)
    return _seal_sms_first_contact_with(
        identity, bundle, content, profile, ephemeral, kem_secret, kem_ciphertext, rng
    )


def _seal_sms_first_contact_with(
    identity: IdentityKeyPair,
    bundle: FirstContactBundle,
    content: bytes,
    profile: Profile,
    ephemeral: X25519KeyPair,
    kem_secret: bytes,
    kem_ciphertext: bytes,
    rng: Rng,
) -> SealedSmsFirstContact:
    """Deterministic seam (vectors): the SMS first contact given ``EK_A`` and the ML-KEM
    encapsulation."""
    payload = _first_contact_payload(profile, _initial_base(identity.public, bundle), len(content))
    if payload is None:
        raise _bad(f"too long for {MAX_SEGMENTS} segments")
    padded = pad(content, payload - MESSAGE_OVERHEAD)
    initiated, _secrets, _ad = _initiate_with(
        identity, bundle.prekey_bundle(), padded, ephemeral, kem_secret, kem_ciphertext, rng
    )
    return SealedSmsFirstContact(_FIRST_CONTACT_BYTE + initiated.message, initiated.session)


def open_sms_first_contact(
    data: bytes,
    *,
    keys: FirstContactKeys,
    prekeys: PrekeyStore,
    profile: Profile,
    rng: Rng,
) -> Responded:
    """Spec §11.5: accept a first contact that arrived by SMS in ``profile``; transactional.

    Order: :func:`decode_compact` (a session form is ``decode.type``) → the first-contact key
    of the epoch the message names as ``kem_prekey_id`` (none: ``state.unknown_prekey``) →
    the handshake's responder (§6.7 steps 2–5: ``state.unknown_prekey``, ``auth.failed``, …)
    → the padding (``decode.padding``; a content over 628 bytes ``decode.length``) → the
    replay check (``state.replay``) → commit. A refusal changes nothing and draws nothing.
    """
    form = decode_compact(data)
    if type(form) is not CompactFirstContact:
        raise DecodeError("decode.type", "a session message where a first contact was expected")
    _check_profile(profile)
    message = form.message
    pair = keys.get(message.kem_prekey_id)
    if pair is None:
        raise StateError("state.unknown_prekey", "no first-contact key for this epoch")
    payload = len(message.payload)
    base = len(data) - 1 - _bstr_head(payload) - payload

    def check(padded: bytes) -> bytes:
        content = unpad(padded)
        if len(content) > MAX_FIRST_CONTACT_CONTENT:
            raise DecodeError("decode.length", "a first contact carries at most 628 bytes")
        if _first_contact_payload(profile, base, len(content)) != payload:
            raise DecodeError("decode.padding", "not the SMS fill size of its content")
        return content

    return prekeys._respond(message, rng, pair.kem, None, check)


# --- reassembly (spec §11.6) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReassemblyLimits:
    """Spec §11.6: the bounds of a :class:`Reassembler` (defaults in the spec's table).

    A single message (255 segments) must fit a sender's byte bound, so that eviction always
    makes room: ``max_sender_bytes`` ≥ 39 015 (what 255 text segments count for).
    """

    timeout: int = REASSEMBLY_TIMEOUT
    max_sender_partials: int = MAX_SENDER_PARTIALS
    max_sender_bytes: int = MAX_SENDER_BYTES
    max_partials: int = MAX_PARTIALS
    max_bytes: int = MAX_PARTIAL_BYTES

    def __post_init__(self) -> None:
        values = (
            self.timeout,
            self.max_sender_partials,
            self.max_sender_bytes,
            self.max_partials,
            self.max_bytes,
        )
        if any(type(v) is not int for v in values):
            raise _bad("limits are ints")
        if not (
            1 <= self.timeout <= 30 * 86_400
            and 1 <= self.max_sender_partials <= self.max_partials <= 1 << 20
            and _MAX_TEXT_CHARS <= self.max_sender_bytes <= self.max_bytes <= 1 << 30
        ):
            raise _bad("reassembly limits out of range")


#: Spec §11.6: the default bounds.
DEFAULT_REASSEMBLY_LIMITS: Final = ReassemblyLimits()

#: A partial message's key: sender, kind (binary 0, text 2; +1 for a 16-bit reference) and
#: reference. Ints, not the enum, so that hashing the key stays in C.
_Key = tuple[bytes, int, int]


class _Sender:
    """What one originating address holds: its partial messages, oldest first, and bytes."""

    __slots__ = ("keys", "size")

    def __init__(self) -> None:
        self.keys: list[_Key] = []
        self.size = 0


class _Partial:
    """A partial message: its segments so far (by number) and when its first one arrived."""

    __slots__ = ("count", "created", "key", "owner", "parts", "received", "size")

    def __init__(self, key: _Key, owner: _Sender, count: int, created: int) -> None:
        self.key = key
        self.owner = owner
        self.count = count
        self.created = created
        self.parts: list[bytes | None] = [None] * count
        self.received = 0
        self.size = 0


class Reassembled(NamedTuple):
    """Spec §11.6: a complete message: who sent it, how, and its compact form (§11.4).

    A named tuple (immutable, and cheap to make once per message)."""

    sender: bytes
    profile: Profile
    data: bytes


@dataclass(frozen=True, slots=True)
class PartialInfo:
    """Spec §11.6: what a reassembler holds of one partial message (for tests and metrics);
    ``size`` is the bytes it counts for: ``count`` · 134 (binary) or · 153 (text)."""

    sender: bytes
    profile: Profile
    wide: bool
    reference: int
    count: int
    numbers: tuple[int, ...]
    size: int
    created: int


@dataclass(frozen=True, slots=True)
class ReassemblySnapshot:
    """Spec §11.6: every partial message, oldest first, and the byte total."""

    partials: tuple[PartialInfo, ...]
    size: int

    def sender(self, sender: bytes) -> tuple[int, int]:
        """``(partial messages, bytes)`` held for ``sender``."""
        mine = [p for p in self.partials if p.sender == sender]
        return len(mine), sum(p.size for p in mine)


def _sender_key(sender: object) -> bytes:
    if type(sender) is str:
        sender = sender.encode("utf-8")
    elif type(sender) is not bytes:
        raise _bad("a sender is str or bytes")
    if not 0 < len(sender) <= MAX_SENDER_SIZE:
        raise DecodeError("decode.length", f"an originating address of 1 to {MAX_SENDER_SIZE}")
    return sender


class Reassembler:
    """Spec §11.6: segments in any order → complete messages, in bounded memory (sans-I/O).

    :meth:`receive` takes one segment (binary user data as ``bytes``, or a
    :class:`TextSegment`) from an originating address at ``now`` and returns the
    :class:`Reassembled` message it completes, or None. A duplicate segment is ignored; a
    conflicting one (same reference and number, other bytes; or another count) drops that
    partial message and raises ``decode.conflict``. A partial message expires
    ``limits.timeout`` seconds after its first segment arrived; the bounds on partial messages
    and bytes, per sender and in total, evict the oldest first. Every method does work bounded
    by the segments it touches (and :meth:`snapshot` by what is held).
    """

    __slots__ = ("_expiry", "_limits", "_partials", "_senders", "_size")

    def __init__(self, limits: ReassemblyLimits = DEFAULT_REASSEMBLY_LIMITS) -> None:
        if type(limits) is not ReassemblyLimits:
            raise _bad("limits is a ReassemblyLimits")
        self._limits = limits
        self._partials: OrderedDict[_Key, _Partial] = OrderedDict()
        self._senders: dict[bytes, _Sender] = {}
        self._size = 0
        #: A lower bound of when the oldest partial message expires (checked before work).
        self._expiry = 0

    @property
    def limits(self) -> ReassemblyLimits:
        return self._limits

    def receive(
        self, sender: str | bytes, segment: bytes | TextSegment, *, now: int
    ) -> Reassembled | None:
        """Spec §11.6: take one segment; the message it completes, or None.

        Order: the sender (``decode.length``) → the segment (§11.2, §11.3, ``decode.*``) →
        expiry at ``now`` → a conflict with the partial message (``decode.conflict``, which
        drops it) → store (a new partial message first evicts the oldest as the bounds
        require) → when complete, the message (a text is decoded, §11.3, ``decode.*`` after
        the partial is gone).
        """
        if type(sender) is not bytes or not 0 < len(sender) <= MAX_SENDER_SIZE:
            sender = _sender_key(sender)
        if (
            type(segment) is bytes
            and segment[:3] == _NEXT_HEAD
            and 6 < (size := len(segment)) <= USER_DATA_SIZE
            and type(now) is int
        ):
            # The hot path: a valid later segment exactly as senders write it, for a partial
            # message that expects it. Anything else, valid or not, takes the general path
            # below (parse_binary_segment), which gives the same result.
            count = segment[4]
            number = segment[5]
            if 2 <= number <= count and (number == count or size == USER_DATA_SIZE):
                if now >= self._expiry and self._partials:
                    self.expire(now)
                partial = self._partials.get((sender, 0, segment[3]))
                if partial is not None and partial.count == count:
                    parts = partial.parts
                    if parts[number - 1] is None:
                        parts[number - 1] = segment[6:]
                        received = partial.received + 1
                        if received < count:
                            partial.received = received
                            return None
                        self._drop(partial)
                        return Reassembled(sender, Profile.BINARY, b"".join(parts))  # type: ignore[arg-type]
        if isinstance(segment, TextSegment):
            wide, reference, count, number, payload = parse_text_segment(segment)
            kind = 3 if wide else 2
        else:
            wide, reference, count, number, payload = parse_binary_segment(segment)
            kind = 1 if wide else 0
        if type(now) is not int:
            raise _bad("now is an int")
        if now >= self._expiry and self._partials:
            self.expire(now)
        if reference < 0:  # unconcatenated: complete in itself
            return self._complete(sender, kind, payload)
        key = (sender, kind, reference)
        partial = self._partials.get(key)
        index = number - 1
        if partial is not None:
            if partial.count != count:
                self._drop(partial)
                raise DecodeError("decode.conflict", "another segment count for this reference")
            held = partial.parts[index]
            if held is not None:
                if held == payload:
                    return None  # a duplicate
                self._drop(partial)
                raise DecodeError("decode.conflict", "two segments with one number differ")
        elif count == 1:
            return self._complete(sender, kind, payload)
        else:
            partial = self._new_partial(key, count, now)
        parts = partial.parts
        parts[index] = payload
        received = partial.received + 1
        if received < count:
            partial.received = received
            return None
        self._drop(partial)
        return self._complete(sender, kind, b"".join(parts))  # type: ignore[arg-type]

    def _complete(self, sender: bytes, kind: int, payload: bytes) -> Reassembled:
        if kind >= 2:
            return Reassembled(sender, Profile.TEXT, decode_text(payload.decode("ascii")))
        return Reassembled(sender, Profile.BINARY, payload)

    def _new_partial(self, key: _Key, count: int, now: int) -> _Partial:
        """Spec §11.6 step 5: a new partial message, which counts for the most bytes its
        segments can hold (``count`` · 134, or · 153 for text). First the sender's oldest
        partial messages are evicted while it holds ``max_sender_partials`` or the new one's
        bytes would take it over ``max_sender_bytes``; then the oldest of all, while
        ``max_partials`` are held or the total would pass ``max_bytes``."""
        limits = self._limits
        size = count * (TEXT_CONCAT_CHARS if key[1] >= 2 else BINARY_NEXT_PAYLOAD)
        senders = self._senders
        partials = self._partials
        owner = senders.get(key[0])
        if owner is not None:
            while owner.keys and (
                len(owner.keys) >= limits.max_sender_partials
                or owner.size + size > limits.max_sender_bytes
            ):
                self._drop(partials[owner.keys[0]])
        while partials and (
            len(partials) >= limits.max_partials or self._size + size > limits.max_bytes
        ):
            self._drop(next(iter(partials.values())))
        owner = senders.get(key[0])
        if owner is None:
            owner = senders[key[0]] = _Sender()
        if not partials:
            self._expiry = now + limits.timeout
        partial = _Partial(key, owner, count, now)
        partial.size = size
        partials[key] = partial
        owner.keys.append(key)
        owner.size += size
        self._size += size
        return partial

    def _drop(self, partial: _Partial) -> None:
        key = partial.key
        del self._partials[key]
        owner = partial.owner
        owner.keys.remove(key)
        owner.size -= partial.size
        self._size -= partial.size
        if not owner.keys:
            del self._senders[key[0]]

    def expire(self, now: int) -> tuple[PartialInfo, ...]:
        """Spec §11.6: drop every partial message whose first segment arrived at least
        ``timeout`` seconds before ``now``, oldest first; returns what was dropped."""
        if type(now) is not int:
            raise _bad("now is an int")
        dropped = []
        timeout = self._limits.timeout
        partials = self._partials
        while partials:
            oldest = next(iter(partials.values()))
            if oldest.created + timeout > now:
                self._expiry = oldest.created + timeout
                break
            dropped.append(_info(oldest))
            self._drop(oldest)
        return tuple(dropped)

    def snapshot(self) -> ReassemblySnapshot:
        """Spec §11.6: what the reassembler holds, oldest first."""
        return ReassemblySnapshot(tuple(_info(p) for p in self._partials.values()), self._size)

    def __len__(self) -> int:
        return len(self._partials)

    def __repr__(self) -> str:
        return f"Reassembler({len(self._partials)} partial messages, {self._size} bytes)"


def _info(partial: _Partial) -> PartialInfo:
    sender, kind, reference = partial.key
    numbers = tuple(i + 1 for i, part in enumerate(partial.parts) if part is not None)
    profile = Profile.TEXT if kind >= 2 else Profile.BINARY
    return PartialInfo(
        sender,
        profile,
        kind & 1 == 1,
        reference,
        partial.count,
        numbers,
        partial.size,
        partial.created,
    )


# --- transport policy (spec §11.7) ------------------------------------------------------------


class Transport(enum.Enum):
    """Spec §11.7: the path a message travelled."""

    IP = "ip"
    SMS = "sms"


@dataclass(frozen=True, slots=True)
class Deposit:
    """Action: deposit ``envelope`` at the relay (§10); ``envelope_id`` names it (§9.2)."""

    envelope_id: bytes
    envelope: bytes


@dataclass(frozen=True, slots=True)
class SendSms:
    """Action: send ``segments`` (in order) to the peer's phone number. ``envelope_id`` names
    the deposit it replaces (None: no deposit was made)."""

    profile: Profile
    segments: tuple[bytes | TextSegment, ...]
    envelope_id: bytes | None


@dataclass(frozen=True, slots=True)
class WaitForIp:
    """Action: nothing was encrypted; send again once IP is reachable (§11.7, "when to wait
    for IP")."""

    reason: str


Action = Deposit | SendSms | WaitForIp


@dataclass(frozen=True, slots=True, repr=False)
class Received:
    """Outcome: a new message; ``session_id`` is the :class:`SessionIndex` id, if one was used.
    The plaintext is secret: the ``repr`` shows its size only."""

    plaintext: bytes
    transport: Transport
    session_id: Hashable | None = None

    def __repr__(self) -> str:
        return f"Received(<{len(self.plaintext)} bytes>, {self.transport.value})"


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Outcome: a message already received (the other path's copy, or a replay): nothing to
    show the user."""

    transport: Transport


@dataclass(slots=True)
class _Pending:
    body: bytes
    deadline: int


def _digest(message: bytes) -> bytes:
    return sha256(message)[:16]


class TransportPolicy:
    """Spec §11.7: which path each message takes, and duplicates on receipt (sans-I/O).

    One policy per conversation: events in (``send_*``, :meth:`acknowledged`,
    :meth:`set_ip_reachable`, :meth:`tick`, ``receive_*``), actions out (:class:`Deposit`,
    :class:`SendSms`, :class:`WaitForIp`) and outcomes (:class:`Received`,
    :class:`Duplicate`). Its tables are bounded: :data:`MAX_PENDING_DEPOSITS` unacknowledged
    deposits, :data:`MAX_DELIVERED` digests of delivered messages.
    """

    __slots__ = (
        "_deadline",
        "_delivered",
        "_ip",
        "_max_segments",
        "_pending",
        "_profile",
        "_reference",
        "_sms",
    )

    def __init__(
        self,
        *,
        profile: Profile = Profile.BINARY,
        reference: int = 0,
        deadline: int = FALLBACK_DEADLINE,
        ip_reachable: bool = True,
        sms: bool = True,
        max_segments: int = MAX_SEGMENTS,
    ) -> None:
        """``reference``: the first concatenation reference (draw it at random once);
        ``sms``: whether the peer's phone number is known; ``max_segments``: the most segments
        the application lets one message cost (at most :data:`MAX_SEGMENTS`)."""
        self._profile = _check_profile(profile)
        self._reference = _check_reference(reference)
        if type(deadline) is not int or not 1 <= deadline <= 86_400:
            raise _bad("deadline: 1 to 86 400 seconds")
        if type(max_segments) is not int or not 1 <= max_segments <= MAX_SEGMENTS:
            raise _bad(f"max_segments: 1 to {MAX_SEGMENTS}")
        self._deadline = deadline
        self._ip = bool(ip_reachable)
        self._sms = bool(sms)
        self._max_segments = max_segments
        self._pending: OrderedDict[bytes, _Pending] = OrderedDict()
        self._delivered: OrderedDict[bytes, None] = OrderedDict()

    @property
    def ip_reachable(self) -> bool:
        return self._ip

    @property
    def pending(self) -> tuple[bytes, ...]:
        """The envelope ids of unacknowledged deposits, oldest first."""
        return tuple(self._pending)

    # --- sending ---------------------------------------------------------------------------

    def _fits(self, size: int | None) -> bool:
        if not self._sms or size is None:
            return False
        count = segment_count(self._profile, size)
        return count is not None and count <= self._max_segments

    def _sms_action(self, data: bytes, envelope: bytes | None) -> SendSms:
        reference = self._reference
        self._reference = (reference + 1) & 0xFF
        return SendSms(self._profile, segment(self._profile, data, reference), envelope)

    def send_session(
        self, session: Session, address: bytes, content: bytes, *, ttl: int, now: int
    ) -> tuple[Action, ...]:
        """Spec §11.7: send ``content`` on ``session``: a :class:`Deposit` of its envelope
        (§9.5) when IP is reachable (tracked until acknowledged); else an SMS-padded
        :class:`SendSms` (§11.4 case 2); else (no phone number, too many segments)
        :class:`WaitForIp`, with nothing encrypted."""
        if self._ip:
            envelope = seal_session(session, address, content, ttl=ttl)
            eid = envelope_id(envelope)
            actions: list[Action] = [Deposit(eid, envelope)]
            self._pending[eid] = _Pending(envelope[ENVELOPE_HEADER_SIZE:], now + self._deadline)
            while len(self._pending) > MAX_PENDING_DEPOSITS:
                old_id, old = self._pending.popitem(last=False)
                if self._fits(len(old.body) + 1):
                    actions.append(self._sms_action(_SESSION_BYTE + old.body, old_id))
            return tuple(actions)
        content = _as_bytes(content, "content")
        if not self._fits(sms_session_size(self._profile, len(content))):
            return (WaitForIp("no IP, and SMS is impossible or too costly for this message"),)
        data = seal_sms_session(session, content, profile=self._profile)
        return (self._sms_action(data, None),)

    def send_first_contact(
        self,
        identity: IdentityKeyPair,
        bundle: FirstContactBundle | None,
        routing_id: bytes,
        content: bytes,
        *,
        ttl: int,
        rng: Rng,
    ) -> tuple[tuple[Action, ...], Session | None]:
        """Spec §11.7: a first contact: deposited (§9.4, not tracked: an unacknowledged one is
        deposited again unchanged, never sent by SMS) when IP is reachable; else by SMS
        (§11.5) when the client holds the recipient's first-contact ``bundle``; else
        :class:`WaitForIp`. Returns the actions and the new session (None when waiting)."""
        if self._ip:
            if bundle is None:
                raise _bad("a first contact needs the recipient's first-contact bundle")
            sealed = seal_first_contact(identity, bundle, routing_id, content, ttl=ttl, rng=rng)
            return (Deposit(envelope_id(sealed.envelope), sealed.envelope),), sealed.session
        content = _as_bytes(content, "content")
        if bundle is None:
            return (WaitForIp("no IP, and no first-contact bundle of the recipient"),), None
        if len(content) > MAX_FIRST_CONTACT_CONTENT:
            raise _bad(f"a first contact carries at most {MAX_FIRST_CONTACT_CONTENT} bytes")
        if not self._fits(
            sms_first_contact_size(self._profile, identity.public, bundle, len(content))
        ):
            return (WaitForIp("no IP, and SMS is impossible or too costly for this message"),), None
        sealed_sms = seal_sms_first_contact(
            identity, bundle, content, profile=self._profile, rng=rng
        )
        return (self._sms_action(sealed_sms.data, None),), sealed_sms.session

    def acknowledged(self, envelope_id: bytes) -> None:
        """Spec §11.7: the relay acknowledged a deposit; it will not fall back. An unknown id
        (already fallen back, or acknowledged twice) is ignored."""
        self._pending.pop(envelope_id, None)

    def set_ip_reachable(self, reachable: bool) -> tuple[Action, ...]:
        """Spec §11.7: IP came or went. Losing it sends every unacknowledged deposit by SMS at
        once (the acknowledgement cannot come any more); one too large for SMS is dropped
        from the table (its deposit may still have arrived)."""
        self._ip = bool(reachable)
        if self._ip:
            return ()
        return self._fall_back(lambda _pending: True)

    def tick(self, now: int) -> tuple[Action, ...]:
        """Spec §11.7: every deposit unacknowledged at its deadline goes by SMS with the same
        ratchet message (§11.4 case 1); one too large for SMS stops being tracked."""
        if type(now) is not int:
            raise _bad("now is an int")
        return self._fall_back(lambda pending: pending.deadline <= now)

    def _fall_back(self, due: Callable[[_Pending], bool]) -> tuple[Action, ...]:
        actions: list[Action] = []
        for eid in [e for e, p in self._pending.items() if due(p)]:
            body = self._pending.pop(eid).body
            if self._fits(len(body) + 1):
                actions.append(self._sms_action(_SESSION_BYTE + body, eid))
        return tuple(actions)

    # --- receiving -------------------------------------------------------------------------

    def _remember(self, digest: bytes) -> None:
        delivered = self._delivered
        delivered[digest] = None
        if len(delivered) > MAX_DELIVERED:
            delivered.popitem(last=False)

    def _open(
        self,
        message: bytes,
        opener: Session | SessionIndex,
        transport: Transport,
        open_with: Callable[[Session], bytes],
    ) -> Received | Duplicate:
        digest = _digest(message)
        session_id: Hashable | None = None
        try:
            if isinstance(opener, SessionIndex):
                session_id = opener.lookup(message)
                session = opener.session(session_id)
            else:
                session = opener
            plaintext = open_with(session)
        except StateError as exc:
            if exc.code == "state.replay" or digest in self._delivered:
                return Duplicate(transport)
            raise
        except AuthenticationError:
            if digest in self._delivered:  # its chain was deleted since (§7.6)
                return Duplicate(transport)
            raise
        self._remember(digest)
        return Received(plaintext, transport, session_id)

    def receive_envelope(self, data: bytes, opener: Session | SessionIndex) -> Received | Duplicate:
        """Spec §11.7: a session envelope from the relay (§9.5), by ``opener`` (a session, or
        an index that finds it by tag). A message already received — ``state.replay``, or a
        refusal (``state.unknown_session``, ``auth.failed``) of exactly the bytes of a
        message this policy delivered — is a :class:`Duplicate`; other errors propagate."""
        envelope = Envelope.from_bytes(data)
        return self._open(
            envelope.body, opener, Transport.IP, lambda session: open_session(data, session)
        )

    def receive_sms(
        self, message: Reassembled, opener: Session | SessionIndex
    ) -> Received | Duplicate:
        """Spec §11.7: a reassembled session form (§11.4), as :meth:`receive_envelope`."""
        if type(message) is not Reassembled:
            raise _bad("a Reassembled message")
        form = decode_compact(message.data)
        if type(form) is not CompactSession:
            raise DecodeError("decode.type", "a first contact where a session message was expected")
        return self._open(
            form.message,
            opener,
            Transport.SMS,
            lambda session: open_sms_session(message.data, session, profile=message.profile),
        )

    def receive_sms_first_contact(
        self,
        message: Reassembled,
        *,
        keys: FirstContactKeys,
        prekeys: PrekeyStore,
        rng: Rng,
    ) -> Responded | Duplicate:
        """Spec §11.7: a reassembled first contact (§11.5). Its second copy is refused by the
        handshake (``state.unknown_prekey`` or ``state.replay``, §6.7) and reported here as a
        :class:`Duplicate` when this policy delivered exactly these bytes."""
        if type(message) is not Reassembled:
            raise _bad("a Reassembled message")
        digest = _digest(message.data)
        try:
            responded = open_sms_first_contact(
                message.data, keys=keys, prekeys=prekeys, profile=message.profile, rng=rng
            )
        except StateError as exc:
            if exc.code == "state.replay" or digest in self._delivered:
                return Duplicate(Transport.SMS)
            raise
        self._remember(digest)
        return responded

    def __repr__(self) -> str:
        return (
            f"TransportPolicy(ip={self._ip}, profile={self._profile.value}, "
            f"pending={len(self._pending)}, delivered={len(self._delivered)})"
        )
