"""Spec vectors.md, suite ``cbor``: strict deterministic CBOR decoding (spec §2.1–§2.3).

Every case is an input byte string (``encoded``) with the limits to decode it under
(``max_size``, ``max_depth``: always present, the defaults are spec §2.3's 69632 and 16) and
the expected outcome: ``result: "valid"`` with the decoded ``value`` rendered as below, or
``result: "invalid"`` with the ``error`` code of the first violation (spec §2.3 precedence).
The cases are written out by hand here — inputs and expectations come from RFC 8949 (Appendix A
examples, Appendix C well-formedness, §4.2.1 deterministic encoding) and the rules of spec §2,
not from running the implementation.

Value rendering (language-neutral JSON): every CBOR value is an object with one member,

* ``{"uint": "<decimal>"}`` (major type 0) and ``{"nint": "<decimal>"}`` (major type 1, the
  negative value itself): decimal *strings*, because ±2**64 does not fit in a JSON number that
  every parser reads exactly;
* ``{"bytes": "<lowercase hex>"}``, ``{"text": "<JSON string>"}``, ``{"bool": true|false}``;
* ``{"array": [<value>, ...]}`` and ``{"map": [[<key>, <value>], ...]}`` with the pairs in
  encoding order (which, for a valid case, is the deterministic order).

Verification: decode ``encoded`` under the case's limits. A valid case must decode, its rendering
must equal ``value``, and encoding the value parsed back from ``value`` must give ``encoded``.
An invalid case must fail with exactly ``error``.
"""

from __future__ import annotations

from typing import Final

from ..codec import MAX_DEPTH, MAX_SIZE, CborValue, decode, encode
from ..errors import DecodeError
from . import expect_error

__all__ = ["SUITE", "generate", "parse_value", "render_value", "verify"]

SUITE: Final = "cbor"

#: Flags used by this suite (a case may carry several).
#: ``rfc8949-appendix-a``: an RFC 8949 Appendix A example; ``boundary``: an argument at the edge
#: of an encoding width; ``key-order``: map key ordering; ``length-first-trap``: the RFC 7049
#: length-first ("canonical") order differs from RFC 8949 bytewise order here;
#: ``well-formedness``: not well-formed CBOR (RFC 8949 Appendix C); ``determinism``: well-formed
#: but not deterministically encoded; ``data-model``: well-formed and deterministic, outside the
#: spec §2.1 data model; ``utf8``; ``limits``: uses ``max_size``/``max_depth``; ``precedence``:
#: several violations, the first one in spec §2.3 order wins.
FLAGS: Final = (
    "rfc8949-appendix-a",
    "boundary",
    "key-order",
    "length-first-trap",
    "well-formedness",
    "determinism",
    "data-model",
    "utf8",
    "limits",
    "precedence",
)


def render_value(value: CborValue) -> object:
    """The JSON rendering of a decoded value (see the module docstring)."""
    if type(value) is bool:
        return {"bool": value}
    if type(value) is int:
        return {"uint": str(value)} if value >= 0 else {"nint": str(value)}
    if type(value) is bytes:
        return {"bytes": value.hex()}
    if type(value) is str:
        return {"text": value}
    if type(value) is list:
        return {"array": [render_value(item) for item in value]}
    if type(value) is dict:
        return {"map": [[render_value(k), render_value(v)] for k, v in value.items()]}
    raise AssertionError(f"value: {type(value).__name__} is outside the data model")


def parse_value(rendered: object) -> CborValue:
    """The value a JSON rendering stands for (inverse of :func:`render_value`)."""
    if not isinstance(rendered, dict) or len(rendered) != 1:
        raise AssertionError("value: a rendering is an object with exactly one member")
    ((tag, body),) = rendered.items()
    if tag in ("uint", "nint") and isinstance(body, str):
        number = int(body)
        if (number >= 0) != (tag == "uint"):
            raise AssertionError(f"value: {tag} with the wrong sign")
        return number
    if tag == "bytes" and isinstance(body, str):
        return bytes.fromhex(body)
    if tag == "text" and isinstance(body, str):
        return body
    if tag == "bool" and isinstance(body, bool):
        return body
    if tag == "array" and isinstance(body, list):
        return [parse_value(item) for item in body]
    if tag == "map" and isinstance(body, list):
        out: dict[int | str, CborValue] = {}
        for pair in body:
            if not isinstance(pair, list) or len(pair) != 2:
                raise AssertionError("value: a map entry is a [key, value] pair")
            key = parse_value(pair[0])
            if type(key) is not int and type(key) is not str:
                raise AssertionError("value: a map key is uint, nint or text")
            out[key] = parse_value(pair[1])
        return out
    raise AssertionError(f"value: bad rendering member {tag!r}")


# --- the cases ---------------------------------------------------------------------------------

_BYTES_24: Final = bytes(range(24))
_TEXT_23: Final = "abcdefghijklmnopqrstuvw"
_TEXT_24: Final = "abcdefghijklmnopqrstuvwx"


def _nest(levels: int) -> CborValue:
    value: CborValue = []
    for _ in range(levels - 1):
        value = [value]
    return value


def _nest_scalar(levels: int, scalar: CborValue) -> CborValue:
    value = scalar
    for _ in range(levels):
        value = [value]
    return value


def _nest_map(levels: int) -> CborValue:
    value: CborValue = 0
    for _ in range(levels):
        value = {1: value}
    return value


# (id, comment, flags, encoded hex, value, max_size, max_depth)
_VALID: Final[tuple[tuple[str, str, tuple[str, ...], str, CborValue, int, int], ...]] = (
    ("valid-uint-0", "smallest unsigned integer", ("rfc8949-appendix-a",), "00", 0,
     MAX_SIZE, MAX_DEPTH),
    ("valid-uint-23", "largest value in the initial byte", ("boundary", "rfc8949-appendix-a"),
     "17", 23, MAX_SIZE, MAX_DEPTH),
    ("valid-uint-24", "smallest value with a 1-byte argument", ("boundary", "rfc8949-appendix-a"),
     "1818", 24, MAX_SIZE, MAX_DEPTH),
    ("valid-uint-255", "largest 1-byte argument", ("boundary",), "18ff", 255,
     MAX_SIZE, MAX_DEPTH),
    ("valid-uint-256", "smallest 2-byte argument", ("boundary",), "190100", 256,
     MAX_SIZE, MAX_DEPTH),
    ("valid-uint-65535", "largest 2-byte argument", ("boundary",), "19ffff", 65535,
     MAX_SIZE, MAX_DEPTH),
    ("valid-uint-65536", "smallest 4-byte argument", ("boundary",), "1a00010000", 65536,
     MAX_SIZE, MAX_DEPTH),
    ("valid-uint-2p32m1", "largest 4-byte argument", ("boundary",), "1affffffff", 2**32 - 1,
     MAX_SIZE, MAX_DEPTH),
    ("valid-uint-2p32", "smallest 8-byte argument", ("boundary",), "1b0000000100000000", 2**32,
     MAX_SIZE, MAX_DEPTH),
    ("valid-uint-2p64m1", "largest unsigned integer", ("boundary", "rfc8949-appendix-a"),
     "1bffffffffffffffff", 2**64 - 1, MAX_SIZE, MAX_DEPTH),
    ("valid-nint-m1", "-1 is argument 0 of major type 1", ("boundary", "rfc8949-appendix-a"),
     "20", -1, MAX_SIZE, MAX_DEPTH),
    ("valid-nint-m24", "largest magnitude in the initial byte", ("boundary",), "37", -24,
     MAX_SIZE, MAX_DEPTH),
    ("valid-nint-m25", "smallest magnitude with a 1-byte argument", ("boundary",), "3818", -25,
     MAX_SIZE, MAX_DEPTH),
    ("valid-nint-m257", "smallest magnitude with a 2-byte argument", ("boundary",), "390100",
     -257, MAX_SIZE, MAX_DEPTH),
    ("valid-nint-m2p64", "most negative integer, -2**64: accepted (the full major type 1 range)",
     ("boundary", "rfc8949-appendix-a"), "3bffffffffffffffff", -(2**64), MAX_SIZE, MAX_DEPTH),
    ("valid-bytes-empty", "empty byte string", ("rfc8949-appendix-a",), "40", b"",
     MAX_SIZE, MAX_DEPTH),
    ("valid-bytes-4", "four bytes", ("rfc8949-appendix-a",), "4401020304", b"\x01\x02\x03\x04",
     MAX_SIZE, MAX_DEPTH),
    ("valid-bytes-24", "24 bytes need a 1-byte length", ("boundary",), "5818" + _BYTES_24.hex(),
     _BYTES_24, MAX_SIZE, MAX_DEPTH),
    ("valid-text-empty", "empty text string", ("rfc8949-appendix-a",), "60", "",
     MAX_SIZE, MAX_DEPTH),
    ("valid-text-ietf", "ASCII text", ("rfc8949-appendix-a",), "6449455446", "IETF",
     MAX_SIZE, MAX_DEPTH),
    ("valid-text-23", "23 bytes fit the initial byte", ("boundary",),
     "77" + _TEXT_23.encode().hex(), _TEXT_23, MAX_SIZE, MAX_DEPTH),
    ("valid-text-24", "24 bytes need a 1-byte length", ("boundary",),
     "7818" + _TEXT_24.encode().hex(), _TEXT_24, MAX_SIZE, MAX_DEPTH),
    ("valid-text-utf8-2", "U+00FC, two UTF-8 bytes", ("rfc8949-appendix-a", "utf8"), "62c3bc",
     "\u00fc", MAX_SIZE, MAX_DEPTH),
    ("valid-text-utf8-3", "U+6C34, three UTF-8 bytes", ("rfc8949-appendix-a", "utf8"),
     "63e6b0b4", "\u6c34", MAX_SIZE, MAX_DEPTH),
    ("valid-text-utf8-4", "U+10151, four UTF-8 bytes", ("rfc8949-appendix-a", "utf8"),
     "64f0908591", "\U00010151", MAX_SIZE, MAX_DEPTH),
    ("valid-false", "false", ("rfc8949-appendix-a",), "f4", False, MAX_SIZE, MAX_DEPTH),
    ("valid-true", "true", ("rfc8949-appendix-a",), "f5", True, MAX_SIZE, MAX_DEPTH),
    ("valid-array-empty", "empty array", ("rfc8949-appendix-a",), "80", [], MAX_SIZE, MAX_DEPTH),
    ("valid-array-nested", "[1, [2, 3], [4, 5]]", ("rfc8949-appendix-a",), "8301820203820405",
     [1, [2, 3], [4, 5]], MAX_SIZE, MAX_DEPTH),
    ("valid-array-25", "25 elements need a 1-byte count", ("rfc8949-appendix-a", "boundary"),
     "9819" + bytes(range(1, 24)).hex() + "18181819", list(range(1, 26)), MAX_SIZE, MAX_DEPTH),
    ("valid-map-empty", "empty map", ("rfc8949-appendix-a",), "a0", {}, MAX_SIZE, MAX_DEPTH),
    ("valid-map-int-keys", "{1: 2, 3: 4}", ("rfc8949-appendix-a",), "a201020304", {1: 2, 3: 4},
     MAX_SIZE, MAX_DEPTH),
    ("valid-map-text-keys", '{"a": 1, "b": [2, 3]}', ("rfc8949-appendix-a",),
     "a26161016162820203", {"a": 1, "b": [2, 3]}, MAX_SIZE, MAX_DEPTH),
    ("valid-map-mixed-keys",
     "keys 10, 100, 256, -1, \"z\", \"aa\": in encoding order every uint precedes every nint, "
     "which precedes every text string, and -1 follows 256",
     ("key-order", "length-first-trap"), "a60a00186401190100022003617a0462616105",
     {10: 0, 100: 1, 256: 2, -1: 3, "z": 4, "aa": 5}, MAX_SIZE, MAX_DEPTH),
    ("valid-map-uint-before-text", "256 (19 01 00) sorts before \"a\" (61 61) although longer",
     ("key-order", "length-first-trap"), "a219010001616102", {256: 1, "a": 2},
     MAX_SIZE, MAX_DEPTH),
    ("valid-map-nint-keys", "negative keys sort by magnitude: -1, -24, -25, -256, -257",
     ("key-order",), "a52000370138180238ff0339010004", {-1: 0, -24: 1, -25: 2, -256: 3, -257: 4},
     MAX_SIZE, MAX_DEPTH),
    ("valid-map-width-boundary-keys", "23 (17), 24 (18 18), -1 (20)", ("key-order", "boundary"),
     "a31700181801200f", {23: 0, 24: 1, -1: 15}, MAX_SIZE, MAX_DEPTH),
    ("valid-map-text-order", "\"b\" (61 62) sorts before \"aa\" (62 61 61)", ("key-order",),
     "a26162006261610f", {"b": 0, "aa": 15}, MAX_SIZE, MAX_DEPTH),
    ("valid-map-nested", '{"a": {"b": [true, false, h\'00\']}, "c": ["d", {}]}', (),
     "a26161a1616283f5f441006163826164a0", {"a": {"b": [True, False, b"\x00"]}, "c": ["d", {}]},
     MAX_SIZE, MAX_DEPTH),
    ("valid-depth-at-limit", "16 nested arrays: exactly the default depth limit",
     ("limits", "boundary"), "81" * 15 + "80", _nest(16), MAX_SIZE, MAX_DEPTH),
    ("valid-depth-at-limit-scalar", "a scalar inside 16 nested arrays", ("limits", "boundary"),
     "81" * 16 + "00", _nest_scalar(16, 0),
     MAX_SIZE, MAX_DEPTH),
    ("valid-depth-at-limit-maps", "16 nested maps {1: {1: ... {1: 0}}}", ("limits", "boundary"),
     "a101" * 16 + "00", _nest_map(16), MAX_SIZE, MAX_DEPTH),
    ("valid-depth-zero", "with max_depth 0 a scalar is still accepted", ("limits",), "01", 1,
     MAX_SIZE, 0),
    ("valid-size-at-limit", "input exactly max_size bytes long", ("limits", "boundary"),
     "4401020304", b"\x01\x02\x03\x04", 5, MAX_DEPTH),
)  # fmt: skip

_D, _S = MAX_DEPTH, MAX_SIZE

# (id, comment, flags, encoded hex, error, max_size, max_depth)
_INVALID: Final[tuple[tuple[str, str, tuple[str, ...], str, str, int, int], ...]] = (
    # --- non-minimal arguments: every width, every major type that has an argument
    ("invalid-non-minimal-uint-1b", "23 with a 1-byte argument", ("determinism",), "1817",
     "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-uint-1b-zero", "0 with a 1-byte argument", ("determinism",), "1800",
     "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-uint-2b", "255 with a 2-byte argument", ("determinism",), "1900ff",
     "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-uint-4b", "65535 with a 4-byte argument", ("determinism",),
     "1a0000ffff", "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-uint-8b", "2**32-1 with an 8-byte argument", ("determinism",),
     "1b00000000ffffffff", "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-nint-1b", "-24 with a 1-byte argument", ("determinism",), "3817",
     "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-nint-2b", "-256 with a 2-byte argument", ("determinism",), "3900ff",
     "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-nint-4b", "-65536 with a 4-byte argument", ("determinism",),
     "3a0000ffff", "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-nint-8b", "-2**32 with an 8-byte argument", ("determinism",),
     "3b00000000ffffffff", "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-bytes-len-1b", "empty byte string with a 1-byte length",
     ("determinism",), "5800", "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-bytes-len-2b", "1-byte string with a 2-byte length", ("determinism",),
     "5900014f", "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-text-len-4b", "\"a\" with a 4-byte length", ("determinism",),
     "7a0000000161", "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-text-len-8b", "\"a\" with an 8-byte length", ("determinism",),
     "7b000000000000000161", "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-array-count-1b", "empty array with a 1-byte count", ("determinism",),
     "9800", "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-array-count-2b", "[1] with a 2-byte count", ("determinism",),
     "99000101", "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-map-count-1b", "{1: 2} with a 1-byte count", ("determinism",),
     "b8010102", "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-map-count-4b", "{1: 2} with a 4-byte count", ("determinism",),
     "ba000000010102", "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-map-key", "key 1 written 18 01", ("determinism",), "a1180102",
     "decode.non_minimal", _S, _D),
    ("invalid-non-minimal-in-array", "second element non-minimal", ("determinism",), "82011817",
     "decode.non_minimal", _S, _D),
    # --- map keys
    ("invalid-unsorted-keys-int", "{2: 0, 1: 0}", ("determinism", "key-order"), "a202000100",
     "decode.unsorted_keys", _S, _D),
    ("invalid-unsorted-keys-length-first", "\"a\" before 256: RFC 7049 length-first order",
     ("determinism", "key-order", "length-first-trap"), "a261610219010001",
     "decode.unsorted_keys", _S, _D),
    ("invalid-unsorted-keys-nint-first", "-1 (20) before 100 (18 64): numeric, not bytewise",
     ("determinism", "key-order", "length-first-trap"), "a22000186400",
     "decode.unsorted_keys", _S, _D),
    ("invalid-unsorted-keys-text", "\"aa\" before \"b\": string order, not encoding order",
     ("determinism", "key-order"), "a262616100616201",
     "decode.unsorted_keys", _S, _D),
    ("invalid-unsorted-keys-nonadjacent-duplicate", "keys 1, 2, 1: the third key sorts first",
     ("determinism", "key-order", "precedence"), "a3010002000100",
     "decode.unsorted_keys", _S, _D),
    ("invalid-duplicate-key-int", "{1: 0, 1: 1}", ("key-order",), "a201000101",
     "decode.duplicate_key", _S, _D),
    ("invalid-duplicate-key-text", "{\"a\": 0, \"a\": 1}", ("key-order",), "a2616100616101",
     "decode.duplicate_key", _S, _D),
    ("invalid-duplicate-key-nested", "duplicate inside a nested map", ("key-order",),
     "a100a201000100", "decode.duplicate_key", _S, _D),
    ("invalid-key-type-bytes", "byte string key", ("data-model",), "a1410000",
     "decode.key_type", _S, _D),
    ("invalid-key-type-array", "array key", ("data-model",), "a18000", "decode.key_type", _S, _D),
    ("invalid-key-type-map", "map key", ("data-model",), "a1a000", "decode.key_type", _S, _D),
    ("invalid-key-type-bool", "true as a key", ("data-model",), "a1f500",
     "decode.key_type", _S, _D),
    ("invalid-key-type-before-non-minimal", "byte string key with a non-minimal length",
     ("data-model", "precedence"), "a1580000", "decode.key_type", _S, _D),
    # --- indefinite lengths
    ("invalid-indefinite-bytes", "(_ h'00')", ("data-model",), "5f4100ff",
     "decode.indefinite", _S, _D),
    ("invalid-indefinite-text", "(_ \"a\")", ("data-model",), "7f6161ff",
     "decode.indefinite", _S, _D),
    ("invalid-indefinite-array", "[_ ]", ("data-model",), "9fff", "decode.indefinite", _S, _D),
    ("invalid-indefinite-map", "{_ }", ("data-model",), "bfff", "decode.indefinite", _S, _D),
    ("invalid-indefinite-nested", "[[_ 1]]", ("data-model",), "819f01ff",
     "decode.indefinite", _S, _D),
    # --- tags
    ("invalid-tag-0", "tag 0 date/time string", ("data-model", "rfc8949-appendix-a"),
     "c074323031332d30332d32315432303a30343a30305a", "decode.tag", _S, _D),
    ("invalid-tag-bignum-2", "tag 2 bignum 2**64", ("data-model", "rfc8949-appendix-a"),
     "c249010000000000000000", "decode.tag", _S, _D),
    ("invalid-tag-bignum-3", "tag 3 bignum -2**64-1", ("data-model", "rfc8949-appendix-a"),
     "c349010000000000000000", "decode.tag", _S, _D),
    ("invalid-tag-bignum-small", "tag 2 bignum 1 (an integer in range, still a tag)",
     ("data-model",), "c24101", "decode.tag", _S, _D),
    ("invalid-tag-self-described", "tag 55799 around 0", ("data-model",), "d9d9f700",
     "decode.tag", _S, _D),
    ("invalid-tag-24-in-map", "tag 24 as a map value", ("data-model",), "a101d8184100",
     "decode.tag", _S, _D),
    # --- floats
    ("invalid-float-half", "half-precision 1.0", ("data-model", "rfc8949-appendix-a"), "f93c00",
     "decode.float", _S, _D),
    ("invalid-float-half-zero", "half-precision 0.0", ("data-model",), "f90000",
     "decode.float", _S, _D),
    ("invalid-float-single", "single-precision 100000.0", ("data-model", "rfc8949-appendix-a"),
     "fa47c35000", "decode.float", _S, _D),
    ("invalid-float-double", "double-precision 1.1", ("data-model", "rfc8949-appendix-a"),
     "fb3ff199999999999a", "decode.float", _S, _D),
    ("invalid-float-truncated", "a float's initial byte alone", ("data-model", "precedence"),
     "fb", "decode.float", _S, _D),
    # --- simple values
    ("invalid-simple-null", "null", ("data-model", "rfc8949-appendix-a"), "f6",
     "decode.simple", _S, _D),
    ("invalid-simple-undefined", "undefined", ("data-model", "rfc8949-appendix-a"), "f7",
     "decode.simple", _S, _D),
    ("invalid-simple-16", "simple(16)", ("data-model", "rfc8949-appendix-a"), "f0",
     "decode.simple", _S, _D),
    ("invalid-simple-0", "simple(0)", ("data-model",), "e0", "decode.simple", _S, _D),
    ("invalid-simple-two-byte-255", "simple(255) via 0xf8", ("data-model", "rfc8949-appendix-a"),
     "f8ff", "decode.simple", _S, _D),
    ("invalid-simple-two-byte-false", "false via 0xf8 (not well-formed): still decode.simple",
     ("data-model", "well-formedness"), "f814", "decode.simple", _S, _D),
    ("invalid-simple-null-in-map", "{1: null}", ("data-model",), "a101f6",
     "decode.simple", _S, _D),
    # --- reserved initial bytes and break
    ("invalid-reserved-uint-ai28", "major 0, additional information 28", ("well-formedness",),
     "1c", "decode.reserved", _S, _D),
    ("invalid-reserved-bytes-ai29", "major 2, additional information 29", ("well-formedness",),
     "5d", "decode.reserved", _S, _D),
    ("invalid-reserved-major7-ai30", "major 7, additional information 30", ("well-formedness",),
     "fe", "decode.reserved", _S, _D),
    ("invalid-reserved-tag-ai28", "0xdc: reserved takes precedence over tag",
     ("well-formedness", "precedence"), "dc", "decode.reserved", _S, _D),
    ("invalid-reserved-uint-ai31", "major 0 with additional information 31",
     ("well-formedness",), "1f", "decode.reserved", _S, _D),
    ("invalid-reserved-nint-ai31", "major 1 with additional information 31",
     ("well-formedness",), "3f", "decode.reserved", _S, _D),
    ("invalid-reserved-lone-break", "a break (0xff) outside an indefinite item",
     ("well-formedness",), "ff", "decode.reserved", _S, _D),
    ("invalid-reserved-break-in-array", "a break where an array element is expected",
     ("well-formedness",), "81ff", "decode.reserved", _S, _D),
    ("invalid-reserved-key", "a reserved byte in key position: reserved, not key_type",
     ("well-formedness", "precedence"), "a11c00", "decode.reserved", _S, _D),
    # --- UTF-8
    ("invalid-utf8-overlong", "overlong encoding of \"/\" (c0 af)", ("utf8",), "62c0af",
     "decode.invalid_utf8", _S, _D),
    ("invalid-utf8-overlong-3", "overlong 3-byte encoding of \"/\"", ("utf8",), "63e080af",
     "decode.invalid_utf8", _S, _D),
    ("invalid-utf8-surrogate", "the surrogate U+D800 (ed a0 80)", ("utf8",), "63eda080",
     "decode.invalid_utf8", _S, _D),
    ("invalid-utf8-truncated-sequence", "first two bytes of U+20AC", ("utf8",), "62e282",
     "decode.invalid_utf8", _S, _D),
    ("invalid-utf8-above-max", "U+110000 (f4 90 80 80)", ("utf8",), "64f4908080",
     "decode.invalid_utf8", _S, _D),
    ("invalid-utf8-lone-continuation", "a lone continuation byte", ("utf8",), "6180",
     "decode.invalid_utf8", _S, _D),
    ("invalid-utf8-in-key", "a map key with byte 0xff", ("utf8",), "a161ff00",
     "decode.invalid_utf8", _S, _D),
    # --- truncation and trailing bytes
    ("invalid-truncated-empty", "empty input", ("well-formedness",), "",
     "decode.truncated", _S, _D),
    ("invalid-truncated-uint-1b", "1-byte argument missing", ("well-formedness",), "18",
     "decode.truncated", _S, _D),
    ("invalid-truncated-uint-8b", "7 of 8 argument bytes", ("well-formedness",),
     "1b00000000000000", "decode.truncated", _S, _D),
    ("invalid-truncated-bytes", "3-byte string with 2 bytes", ("well-formedness",), "430102",
     "decode.truncated", _S, _D),
    ("invalid-truncated-text", "2-byte text with 1 byte", ("well-formedness",), "6261",
     "decode.truncated", _S, _D),
    ("invalid-truncated-array", "second element missing", ("well-formedness",), "8201",
     "decode.truncated", _S, _D),
    ("invalid-truncated-map-value", "value missing", ("well-formedness",), "a101",
     "decode.truncated", _S, _D),
    ("invalid-truncated-map-pair", "second pair missing", ("well-formedness",), "a20100",
     "decode.truncated", _S, _D),
    ("invalid-truncated-nested", "[[1, _]]", ("well-formedness",), "818201",
     "decode.truncated", _S, _D),
    ("invalid-truncated-huge-count", "array declaring 2**64-1 elements, none present",
     ("well-formedness",), "9bffffffffffffffff", "decode.truncated", _S, _D),
    ("invalid-truncated-huge-length", "byte string declaring 2**64-1 bytes",
     ("well-formedness",), "5bffffffffffffffff00", "decode.truncated", _S, _D),
    ("invalid-trailing-uint", "0 then 0", ("well-formedness",), "0000",
     "decode.trailing", _S, _D),
    ("invalid-trailing-map", "two empty maps", ("well-formedness",), "a0a0",
     "decode.trailing", _S, _D),
    ("invalid-trailing-garbage", "trailing bytes are not scanned: trailing, not reserved",
     ("well-formedness", "precedence"), "00ff", "decode.trailing", _S, _D),
    # --- limits
    ("invalid-too-deep-arrays", "17 nested arrays, default limit 16", ("limits",),
     "81" * 16 + "80", "decode.too_deep", _S, _D),
    ("invalid-too-deep-maps", "3 nested maps with max_depth 2", ("limits",), "a101a101a0",
     "decode.too_deep", _S, 2),
    ("invalid-too-deep-scalar-inside", "17 nested arrays around a scalar", ("limits",),
     "81" * 17 + "00", "decode.too_deep", _S, _D),
    ("invalid-too-deep-zero", "an empty array with max_depth 0", ("limits",), "80",
     "decode.too_deep", _S, 0),
    ("invalid-too-large", "5 bytes with max_size 4", ("limits",), "4401020304",
     "decode.too_large", 4, _D),
    ("invalid-too-large-first", "the size check precedes the scan", ("limits", "precedence"),
     "ffffff", "decode.too_large", 2, _D),
    # --- precedence: the first violation in encoding order wins
    ("invalid-precedence-left-to-right", "[null, reserved]: null comes first", ("precedence",),
     "82f61c", "decode.simple", _S, _D),
    ("invalid-precedence-value-before-order", "{2: null, 1: 0}: the value precedes the key",
     ("precedence",), "a202f60100", "decode.simple", _S, _D),
    ("invalid-precedence-order-before-truncation", "{2: 0, 1: _}: the key is complete first",
     ("precedence",), "a2020001", "decode.unsorted_keys", _S, _D),
    ("invalid-precedence-non-minimal-before-trailing", "24 written 18 01, then a byte",
     ("precedence",), "180100", "decode.non_minimal", _S, _D),
    ("invalid-precedence-non-minimal-before-depth", "non-minimal count at a too-deep level",
     ("precedence", "limits"), "9800", "decode.non_minimal", _S, 0),
    ("invalid-precedence-simple-before-key-type", "null as a key", ("precedence",), "a1f600",
     "decode.simple", _S, _D),
)  # fmt: skip


def generate() -> list[dict[str, object]]:
    """The suite's cases (fixed data: no randomness), valid cases first."""
    cases: list[dict[str, object]] = []
    for case_id, comment, flags, encoded, value, max_size, max_depth in _VALID:
        cases.append(
            {
                "id": case_id,
                "comment": comment,
                "flags": list(flags),
                "result": "valid",
                "error": None,
                "encoded": encoded,
                "max_size": max_size,
                "max_depth": max_depth,
                "value": render_value(value),
                "cddl": {"encoded": "cbor-value"},
            }
        )
    for case_id, comment, flags, encoded, error, max_size, max_depth in _INVALID:
        cases.append(
            {
                "id": case_id,
                "comment": comment,
                "flags": list(flags),
                "result": "invalid",
                "error": error,
                "encoded": encoded,
                "max_size": max_size,
                "max_depth": max_depth,
                "value": None,
            }
        )
    return cases


def _int_field(case: dict[str, object], name: str) -> int:
    value = case.get(name)
    if type(value) is not int or value < 0:
        raise AssertionError(f"{name}: must be a non-negative integer")
    return value


def verify(case: dict[str, object]) -> None:
    """Check one case against this implementation; AssertionError names the mismatched field."""
    encoded_hex = case.get("encoded")
    if not isinstance(encoded_hex, str) or encoded_hex != encoded_hex.lower():
        raise AssertionError("encoded: must be a lowercase hex string")
    try:
        encoded = bytes.fromhex(encoded_hex)
    except ValueError:
        raise AssertionError("encoded: not hex") from None
    max_size = _int_field(case, "max_size")
    max_depth = _int_field(case, "max_depth")

    result = case.get("result")
    if result == "valid":
        if case.get("error") is not None:
            raise AssertionError("error: must be null for a valid case")
        try:
            value = decode(encoded, max_size=max_size, max_depth=max_depth)
        except DecodeError as exc:
            raise AssertionError(f"result: expected valid, got {exc.code}") from None
        if render_value(value) != case.get("value"):
            raise AssertionError(f"value: decoded {render_value(value)!r}")
        expected = parse_value(case.get("value"))
        if encode(expected, max_depth=max_depth) != encoded:
            raise AssertionError("encoded: encoding the case's value gives different bytes")
    elif result == "invalid":
        if case.get("value") is not None:
            raise AssertionError("value: must be null for an invalid case")
        if not isinstance(case.get("error"), str):
            raise AssertionError("error: an invalid case names its code")
        expect_error(case, lambda: decode(encoded, max_size=max_size, max_depth=max_depth))
    else:
        raise AssertionError(f"result: {result!r} is neither 'valid' nor 'invalid'")
