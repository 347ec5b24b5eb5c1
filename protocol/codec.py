"""Spec §2: the codec — strict deterministic CBOR, and (Spec §2.4) the typed message layer.

Every Blindpost wire structure is one CBOR data item (RFC 8949) in the *deterministic encoding*
of RFC 8949 §4.2.1, restricted to a small data model. The encoder emits only that encoding; the
decoder accepts only that encoding and rejects everything else with one stable
:class:`~protocol.errors.DecodeError` code, so that every invalid input has exactly one expected
code and no two implementations can disagree about which byte strings are valid.

Data model (Spec §2.1)
    integers in ``[-2**64, 2**64 - 1]`` (major types 0 and 1: the whole range CBOR can express
    without tags), byte strings, UTF-8 text strings, ``false``, ``true``, definite-length arrays
    and definite-length maps whose keys are integers or text strings. Nothing else: no floats,
    no ``null``/``undefined``/other simple values, no tags (so no bignums), no indefinite
    lengths. In Python: ``int``, ``bytes``, ``str``, ``bool``, ``list``, ``dict`` (exact types).

Deterministic encoding (Spec §2.2)
    every argument (integer value, string length, array and map count) is in its shortest form;
    map keys are sorted by the bytewise lexicographic order of their *encodings* and unique.
    This is RFC 8949 §4.2.1 ("core deterministic encoding"), **not** the length-first order of
    RFC 7049 §3.9 that ``cbor2.dumps(..., canonical=True)`` implements: for example the key
    ``256`` (``19 01 00``) sorts before ``"a"`` (``61 61``) and ``100`` (``18 64``) before
    ``-1`` (``20``). :func:`encode` therefore orders every map itself and lets cbor2 write the
    items in that order (cbor2 always writes arguments in shortest form).

Strict decoding (Spec §2.3)
    :func:`decode` runs, in this order:

    1. size: an input longer than ``max_size`` is ``decode.too_large``, before anything else;
    2. a well-formedness and determinism *scan* of the raw bytes, in the manner of RFC 8949
       Appendix C, that walks the data items in encoding order (pre-order, left to right) and
       stops at the first violation. For each data item it checks, in this order:

       a. the initial byte alone: additional information 28–30 in any major type, or 31 in
          major type 0, 1, 6 or 7 (``0xff``, "break", is never valid because no indefinite
          item is ever accepted) → ``decode.reserved``; 31 in major type 2–5 →
          ``decode.indefinite``; major type 6 → ``decode.tag``; ``0xf9``–``0xfb`` →
          ``decode.float``; any other major-7 byte except ``0xf4``/``0xf5`` (including
          ``null``, ``undefined`` and the two-byte form ``0xf8``) → ``decode.simple``;
       b. in map-key position, a major type other than 0, 1 or 3 → ``decode.key_type``;
       c. the argument bytes missing → ``decode.truncated``;
       d. the argument not in shortest form → ``decode.non_minimal``;
       e. a string's content missing → ``decode.truncated``; a text string that is not UTF-8
          (RFC 3629: no overlong forms, surrogates or code points above U+10FFFF) →
          ``decode.invalid_utf8``;
       f. an array or map opening nesting level ``max_depth + 1`` → ``decode.too_deep``;
       g. for a complete map key: its encoding equal to the previous key's →
          ``decode.duplicate_key``; sorting before it → ``decode.unsorted_keys``.

       The input ending where a data item is expected is ``decode.truncated``; bytes after
       the top-level item are ``decode.trailing``.
    3. decoding by cbor2 (``allow_indefinite=False, allow_duplicate_keys=False`` and a depth
       limit at least as loose as the scan's); and, as defence in depth, re-encoding the
       value with :func:`encode` and requiring identical bytes. Any disagreement of either
       step with the scan is ``decode.noncanonical`` (unreachable unless the scan has a bug).

    Every integer that major types 0 and 1 can encode is accepted, so there is no integer range
    error at this level (structures bound their fields, §2.4). Declared lengths and counts
    never cause an allocation: the scan checks a string's length against the remaining input
    before touching it, and counts only ever decrement, so a huge declared count ends in
    ``decode.truncated``. No exception other than :class:`~protocol.errors.DecodeError`
    leaves :func:`decode` for any byte string.

Limits
    :data:`MAX_SIZE` is 69 632 bytes (64 KiB for the largest padded envelope plus 4 KiB of
    framing); :data:`MAX_DEPTH` is 16 nested arrays or maps (a top-level array is at depth 1;
    scalars do not count). Structures pass smaller limits where they can.

Typed messages (Spec §2.4)
    A wire structure is a frozen, slotted dataclass deriving from :class:`Message`. It is encoded
    as a CBOR map with unsigned integer keys: key 0 carries the structure's ``VERSION``, keys
    1… carry the fields listed in ``FIELDS`` (an optional field whose value is ``None`` is
    absent). A nested message is encoded inline as a map with its own key 0. Decoding order is
    normative: codec strictness (with the class's ``MAX_SIZE``) → the item is a map
    (``decode.type``) → key 0 present, an integer, equal to ``VERSION`` (``decode.version``)
    → no unknown key (``decode.unknown_field``) → no required key missing
    (``decode.missing_field``) → each field in key order: CBOR type (``decode.type``), length
    (``decode.length``), integer range (``decode.range``), array count (``decode.count``),
    elements and nested messages recursively in the same order → the class's semantic check
    :meth:`Message._check` (a nested message's own check runs when that field is decoded).
    Construction validates the same bounds and runs the same check (``usage.bad_argument``),
    so a :class:`Message` that could not be decoded cannot exist and cannot be encoded.
"""

from __future__ import annotations

import dataclasses
import keyword
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from types import MemberDescriptorType
from typing import ClassVar, Final, Self, TypeAlias

import cbor2

from .errors import DecodeError, UsageError

__all__ = [
    "MAX_DEPTH",
    "MAX_SIZE",
    "Bool",
    "Bytes",
    "CborValue",
    "Field",
    "FixedBytes",
    "Kind",
    "ListOf",
    "Message",
    "Nested",
    "Text",
    "UInt",
    "decode",
    "encode",
]

CborValue: TypeAlias = int | bytes | str | bool | list["CborValue"] | dict[int | str, "CborValue"]

#: Spec §2.3: default input limit in bytes (a 64 KiB padded envelope plus 4 KiB of framing).
MAX_SIZE: Final = 65_536 + 4096
#: Spec §2.3: default limit on nested arrays and maps (a top-level array is at depth 1).
MAX_DEPTH: Final = 16
#: Largest ``max_depth`` a caller may ask for: keeps cbor2 and :func:`encode` far from any
#: recursion limit whatever the input.
_DEPTH_CEILING: Final = 256

_UINT_MAX: Final = 2**64 - 1
_NINT_MIN: Final = -(2**64)


# --------------------------------------------------------------------------------------------
# Spec §2.3: the well-formedness and determinism scan
# --------------------------------------------------------------------------------------------


def _initial_byte_error(ib: int) -> str | None:
    """Spec §2.3 step 2a: the code an initial byte earns on its own, or ``None``."""
    major, ai = ib >> 5, ib & 0x1F
    if 28 <= ai <= 30 or (ai == 31 and major in (0, 1, 6, 7)):
        return "decode.reserved"
    if ai == 31:
        return "decode.indefinite"
    if major == 6:
        return "decode.tag"
    if major == 7:
        if 25 <= ai <= 27:
            return "decode.float"
        if ai not in (20, 21):  # 0xf4 false, 0xf5 true
            return "decode.simple"
    return None


#: Initial byte → the code it earns on its own (step 2a), else ``None``.
_INITIAL_ERROR: Final[tuple[str | None, ...]] = tuple(_initial_byte_error(b) for b in range(256))
#: Initial byte → whether it may start a map key (major type 0, 1 or 3).
_KEY_OK: Final[tuple[bool, ...]] = tuple((b >> 5) in (0, 1, 3) for b in range(256))
#: Additional information 24..27 → number of argument bytes, and the smallest value that needs
#: that many bytes (anything below it is non-minimal).
_ARG_WIDTH: Final = {24: 1, 25: 2, 26: 4, 27: 8}
_ARG_MIN: Final = {24: 24, 25: 0x100, 26: 0x1_0000, 27: 0x1_0000_0000}


def _fail(code: str, offset: int) -> DecodeError:
    return DecodeError(code, f"at offset {offset}")


def _scan(data: bytes, max_depth: int) -> None:
    """Spec §2.3 step 2: raise the first violation in encoding order, or return.

    Iterative (no recursion), allocation-free apart from one small frame per open container
    and one slice per map key; it never trusts a declared length before comparing it with the
    remaining input.
    """
    end = len(data)
    pos = 0
    # One frame per open container, plus a virtual frame holding the single top-level item.
    # ``left``: items still expected (a map of n pairs expects 2n); ``in_map``: whether the
    # frame is a map (then an even ``left`` means a key comes next); ``prev``: the encoding of
    # the map's previous key.
    left: list[int] = [1]
    in_map: list[bool] = [False]
    prev: list[bytes | None] = [None]
    depth = 0
    while True:
        while left[-1] == 0:
            left.pop()
            in_map.pop()
            prev.pop()
            if not left:
                if pos != end:
                    raise _fail("decode.trailing", pos)
                return
            depth -= 1
        remaining = left[-1]
        left[-1] = remaining - 1
        is_key = in_map[-1] and remaining % 2 == 0

        if pos >= end:
            raise _fail("decode.truncated", pos)
        start = pos
        ib = data[pos]
        code = _INITIAL_ERROR[ib]
        if code is not None:
            raise _fail(code, pos)
        if is_key and not _KEY_OK[ib]:
            raise _fail("decode.key_type", pos)
        pos += 1
        ai = ib & 0x1F
        if ai < 24:
            arg = ai
        else:  # 24..27: every other value was rejected by the initial-byte table
            width = _ARG_WIDTH[ai]
            if end - pos < width:
                raise _fail("decode.truncated", end)
            arg = int.from_bytes(data[pos : pos + width], "big")
            if arg < _ARG_MIN[ai]:
                raise _fail("decode.non_minimal", start)
            pos += width

        major = ib >> 5
        if major == 2 or major == 3:
            if end - pos < arg:
                raise _fail("decode.truncated", end)
            if major == 3:
                try:
                    data[pos : pos + arg].decode("utf-8")
                except UnicodeDecodeError:
                    raise _fail("decode.invalid_utf8", start) from None
            pos += arg
        elif major == 4 or major == 5:
            depth += 1
            if depth > max_depth:
                raise _fail("decode.too_deep", start)
            left.append(arg if major == 4 else 2 * arg)
            in_map.append(major == 5)
            prev.append(None)
        # major 0, 1 and 7 (false, true) carry nothing after the head.

        if is_key:
            key = data[start:pos]
            before = prev[-1]
            if before is not None and key <= before:
                code = "decode.duplicate_key" if key == before else "decode.unsorted_keys"
                raise _fail(code, start)
            prev[-1] = key


# --------------------------------------------------------------------------------------------
# Spec §2.2 / §2.3: encode and decode
# --------------------------------------------------------------------------------------------


def _bad(detail: str) -> UsageError:
    return UsageError("usage.bad_argument", detail)


def _check_int(value: int) -> None:
    if not _NINT_MIN <= value <= _UINT_MAX:
        raise _bad("integer outside [-2**64, 2**64 - 1]")


def _prepare(value: object, depth_left: int) -> object:
    """Validate ``value`` against the data model; return it with every map in key order."""
    if type(value) is bool or type(value) is bytes or type(value) is str:
        return value
    if type(value) is int:
        _check_int(value)
        return value
    if type(value) is list:
        if depth_left == 0:
            raise _bad("arrays and maps nested deeper than max_depth")
        return [_prepare(item, depth_left - 1) for item in value]
    if type(value) is dict:
        if depth_left == 0:
            raise _bad("arrays and maps nested deeper than max_depth")
        keys: list[int | str] = []
        natural = True  # all keys non-negative ints: numeric order is the encodings' order
        for key in value:
            if type(key) is int:
                _check_int(key)
                natural = natural and key >= 0
            elif type(key) is str:
                natural = False
            else:
                raise _bad(f"map key of type {type(key).__name__}; only int and str")
            keys.append(key)
        if natural:
            keys.sort()  # all int here
        else:
            keys.sort(key=cbor2.dumps)
        return {key: _prepare(value[key], depth_left - 1) for key in keys}
    raise _bad(f"type {type(value).__name__} is not in the CBOR data model of spec §2.1")


def encode(value: CborValue, *, max_depth: int = MAX_DEPTH) -> bytes:
    """Spec §2.2: the deterministic encoding of ``value``.

    Accepts exactly ``int`` (in ``[-2**64, 2**64 - 1]``), ``bytes``, ``str``, ``bool``, ``list``
    and ``dict`` with ``int`` or ``str`` keys (subclasses, ``None``, floats, tuples, bytearrays
    are rejected), nested at most ``max_depth`` arrays/maps deep; anything else is
    ``UsageError("usage.bad_argument")``. Maps are written in bytewise order of their encoded
    keys, whatever the order of the ``dict``.
    """
    if type(max_depth) is not int or not 0 <= max_depth <= _DEPTH_CEILING:
        raise _bad(f"max_depth must be an int in [0, {_DEPTH_CEILING}]")
    try:
        return bytes(cbor2.dumps(_prepare(value, max_depth)))
    except UnicodeEncodeError:  # from sorting keys or from writing a text string
        raise _bad("text string is not encodable as UTF-8 (lone surrogate)") from None


def decode(
    data: bytes | bytearray | memoryview, *, max_size: int = MAX_SIZE, max_depth: int = MAX_DEPTH
) -> CborValue:
    """Spec §2.3: the value of ``data``, which must be one strictly deterministic CBOR item.

    Raises :class:`DecodeError` with the code of the first violation (see the module docstring
    for the order), and nothing else for any byte string. ``data`` may also be a ``bytearray``
    or ``memoryview``; the limits must be non-negative ints (``max_depth`` at most 256), else
    ``UsageError("usage.bad_argument")``.
    """
    if type(data) is bytes:
        raw = data
    elif isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
    else:
        raise _bad("data must be bytes")
    if type(max_size) is not int or max_size < 0:
        raise _bad("max_size must be a non-negative int")
    if type(max_depth) is not int or not 0 <= max_depth <= _DEPTH_CEILING:
        raise _bad(f"max_depth must be an int in [0, {_DEPTH_CEILING}]")
    if len(raw) > max_size:
        raise DecodeError("decode.too_large", f"{len(raw)} bytes > {max_size}")
    _scan(raw, max_depth)
    # Defence in depth: the scan has accepted the input, so cbor2 and the re-encoding must
    # agree with it. cbor2's max_depth bounds the nesting level of every item, scalars
    # included (the top-level item is at level 0): a scalar inside ``max_depth`` containers
    # is at level ``max_depth``, so the same number is the right bound.
    try:
        value: CborValue = cbor2.loads(
            raw,
            allow_indefinite=False,
            allow_duplicate_keys=False,
            max_depth=max_depth,
        )
    except Exception as exc:  # whatever cbor2 raises: the scan and cbor2 disagree
        raise DecodeError("decode.noncanonical", f"cbor2 rejected it: {exc}") from None
    try:
        again = encode(value, max_depth=max_depth)
    except Exception as exc:  # cbor2 produced a value outside the data model
        raise DecodeError("decode.noncanonical", f"value outside the model: {exc}") from None
    if again != raw:
        raise DecodeError("decode.noncanonical", "re-encoding gives different bytes")
    return value


# --------------------------------------------------------------------------------------------
# Spec §2.4: field kinds
# --------------------------------------------------------------------------------------------


class Kind:
    """Spec §2.4: how one field (or list element) is represented and bounded.

    ``decode`` turns a decoded CBOR value into the attribute value or raises
    :class:`DecodeError` (``decode.type`` first, then ``decode.length``/``range``/``count``);
    ``check`` validates an attribute value at construction (``usage.bad_argument``);
    ``encode`` turns a valid attribute value into its CBOR value.
    """

    __slots__ = ()

    def decode(self, raw: CborValue, where: str) -> object:
        raise NotImplementedError

    def check(self, value: object, where: str) -> None:
        raise NotImplementedError

    def encode(self, value: object) -> CborValue:
        return value  # type: ignore[return-value]  # scalars are their own CBOR value


def _type_error(where: str, expected: str) -> DecodeError:
    return DecodeError("decode.type", f"{where}: expected {expected}")


def _check_bounds(name: str, low: int, high: int) -> None:
    if type(low) is not int or type(high) is not int or not 0 <= low <= high:
        raise ValueError(f"{name}: bounds must be ints with 0 <= min <= max")


@dataclass(frozen=True, slots=True)
class FixedBytes(Kind):
    """A byte string of exactly ``length`` bytes (Python ``bytes``)."""

    length: int

    def __post_init__(self) -> None:
        _check_bounds("FixedBytes", self.length, self.length)

    def decode(self, raw: CborValue, where: str) -> object:
        if type(raw) is not bytes:
            raise _type_error(where, "a byte string")
        if len(raw) != self.length:
            raise DecodeError("decode.length", f"{where}: {len(raw)} bytes, not {self.length}")
        return raw

    def check(self, value: object, where: str) -> None:
        if type(value) is not bytes or len(value) != self.length:
            raise _bad(f"{where}: must be bytes of length {self.length}")


@dataclass(frozen=True, slots=True)
class Bytes(Kind):
    """A byte string of ``min_len`` to ``max_len`` bytes (Python ``bytes``)."""

    max_len: int
    min_len: int = 0

    def __post_init__(self) -> None:
        _check_bounds("Bytes", self.min_len, self.max_len)

    def decode(self, raw: CborValue, where: str) -> object:
        if type(raw) is not bytes:
            raise _type_error(where, "a byte string")
        if not self.min_len <= len(raw) <= self.max_len:
            raise DecodeError("decode.length", f"{where}: {len(raw)} bytes out of bounds")
        return raw

    def check(self, value: object, where: str) -> None:
        if type(value) is not bytes or not self.min_len <= len(value) <= self.max_len:
            raise _bad(f"{where}: must be bytes of length {self.min_len}..{self.max_len}")


@dataclass(frozen=True, slots=True)
class UInt(Kind):
    """An unsigned integer in ``[min_value, max_value]`` (Python ``int``).

    A negative integer is out of range (``decode.range``), not of the wrong type.
    """

    max_value: int
    min_value: int = 0

    def __post_init__(self) -> None:
        _check_bounds("UInt", self.min_value, self.max_value)
        if self.max_value > _UINT_MAX:
            raise ValueError("UInt: max_value above 2**64 - 1")

    def decode(self, raw: CborValue, where: str) -> object:
        if type(raw) is not int:
            raise _type_error(where, "an integer")
        if not self.min_value <= raw <= self.max_value:
            raise DecodeError("decode.range", f"{where}: out of range")
        return raw

    def check(self, value: object, where: str) -> None:
        if type(value) is not int or not self.min_value <= value <= self.max_value:
            raise _bad(f"{where}: must be an int in {self.min_value}..{self.max_value}")


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class Text(Kind):
    """A text string whose UTF-8 encoding is ``min_len`` to ``max_len`` bytes (Python ``str``)."""

    max_len: int
    min_len: int = 0

    def __post_init__(self) -> None:
        _check_bounds("Text", self.min_len, self.max_len)

    def decode(self, raw: CborValue, where: str) -> object:
        if type(raw) is not str:
            raise _type_error(where, "a text string")
        if not self.min_len <= _utf8_len(raw) <= self.max_len:
            raise DecodeError("decode.length", f"{where}: text length out of bounds")
        return raw

    def check(self, value: object, where: str) -> None:
        if type(value) is not str:
            raise _bad(f"{where}: must be str")
        try:
            size = _utf8_len(value)
        except UnicodeEncodeError:
            raise _bad(f"{where}: not encodable as UTF-8") from None
        if not self.min_len <= size <= self.max_len:
            raise _bad(f"{where}: UTF-8 length must be {self.min_len}..{self.max_len}")


@dataclass(frozen=True, slots=True)
class Bool(Kind):
    """``false`` or ``true`` (Python ``bool``)."""

    def decode(self, raw: CborValue, where: str) -> object:
        if type(raw) is not bool:
            raise _type_error(where, "a boolean")
        return raw

    def check(self, value: object, where: str) -> None:
        if type(value) is not bool:
            raise _bad(f"{where}: must be bool")


@dataclass(frozen=True, slots=True)
class Nested(Kind):
    """Another :class:`Message`, encoded inline as a map (with its own key 0)."""

    message: type[Message]

    def decode(self, raw: CborValue, where: str) -> object:
        return self.message.from_cbor(raw)

    def check(self, value: object, where: str) -> None:
        if type(value) is not self.message:
            raise _bad(f"{where}: must be a {self.message.__name__}")

    def encode(self, value: object) -> CborValue:
        return value.to_cbor()  # type: ignore[attr-defined, no-any-return]


@dataclass(frozen=True, slots=True)
class ListOf(Kind):
    """An array of ``min_count`` to ``max_count`` elements of one non-list kind (Python
    ``tuple``)."""

    item: Kind
    max_count: int
    min_count: int = 0

    def __post_init__(self) -> None:
        _check_bounds("ListOf", self.min_count, self.max_count)
        if isinstance(self.item, ListOf):
            raise TypeError("ListOf: the element kind cannot itself be a list")

    def decode(self, raw: CborValue, where: str) -> object:
        if type(raw) is not list:
            raise _type_error(where, "an array")
        if not self.min_count <= len(raw) <= self.max_count:
            raise DecodeError("decode.count", f"{where}: {len(raw)} elements out of bounds")
        item = self.item
        return tuple([item.decode(element, where) for element in raw])

    def check(self, value: object, where: str) -> None:
        if type(value) is not tuple or not self.min_count <= len(value) <= self.max_count:
            raise _bad(f"{where}: must be a tuple of {self.min_count}..{self.max_count} items")
        for element in value:
            self.item.check(element, where)

    def encode(self, value: object) -> CborValue:
        item = self.item
        return [item.encode(element) for element in value]  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Field:
    """Spec §2.4: map key ``key`` (1 or more) carries attribute ``name``, of kind ``kind``.

    An ``optional`` field is absent from the map when the attribute is ``None``.
    """

    key: int
    name: str
    kind: Kind
    optional: bool = False

    def __post_init__(self) -> None:
        if type(self.key) is not int or not 1 <= self.key <= _UINT_MAX:
            raise ValueError(f"Field {self.name!r}: key must be an int >= 1")
        if not isinstance(self.kind, Kind):
            raise TypeError(f"Field {self.name!r}: kind must be a Kind")


# --------------------------------------------------------------------------------------------
# Spec §2.4: the schema-directed fast path of typed messages
# --------------------------------------------------------------------------------------------
#
# Decoding a message through the generic pipeline (scan, cbor2, re-encoding, from_cbor) costs
# ~35 µs for a 1.3 KB initial message. A message class knows the only shape a valid encoding
# of it can have, so :meth:`Message.from_bytes` first reads the input directly: every head
# must be exactly the one :func:`encode` writes (shortest argument, the exact version,
# ascending unsigned keys from the class's table), every bound and semantic check runs, and
# the whole input must be consumed. The fast path only ever *accepts*: at the first byte it
# does not expect, or any failed check, it gives up and the generic pipeline decodes the input
# from the start, so every rejection keeps exactly the code and precedence of §2.3–§2.4. As
# defence in depth (the role of the re-encoding in :func:`decode`), an accepted message is
# re-encoded by cbor2 and must give back the input bytes.


class _Miss(Exception):
    """The fast path does not accept this input (the generic decoder decides).

    Always raised as the class (``raise _Miss``), so every miss gets a fresh instance that dies
    with its ``except`` clause. A shared, pre-allocated instance would be a leak: each raise
    prepends the raising frames to its ``__traceback__``, and those frames hold the hostile
    input, so every rejected message would stay in memory for the life of the process. The
    accepting path raises nothing, so this costs nothing on valid input.
    """

    __slots__ = ()


#: ``(data, pos, depth) -> (value, next_pos)``; raises :class:`_Miss` (or ``IndexError``).
#: ``depth`` is the nesting level a container at ``pos`` would have (spec §2.3).
_Reader: TypeAlias = Callable[[bytes, int, int], tuple[object, int]]
#: ``nested(cls)``: the reader of a nested message class (or ``None``).
_ReaderOf: TypeAlias = Callable[[type["Message"]], "_Reader | None"]
#: A class's ``to_cbor`` and construction check, as plain functions of the instance.
_ToCbor: TypeAlias = Callable[["Message"], dict[int | str, CborValue]]
_PostInit: TypeAlias = Callable[["Message"], None]


def _head(major: int, arg: int) -> bytes:
    """Spec §2.2: the shortest head of major type ``major`` with argument ``arg``."""
    if arg < 24:
        return bytes((major << 5 | arg,))
    for ai, width in _ARG_WIDTH.items():
        if arg < 1 << (8 * width):
            return bytes((major << 5 | ai,)) + arg.to_bytes(width, "big")
    raise ValueError("argument above 2**64 - 1")  # unreachable: kinds bound their values


def _read_arg(data: bytes, pos: int, major: int) -> tuple[int, int]:
    """The argument of the head at ``pos`` if it has major type ``major`` and shortest form."""
    ib = data[pos]
    if ib >> 5 != major:
        raise _Miss
    ai = ib & 0x1F
    if ai < 24:
        return ai, pos + 1
    width = _ARG_WIDTH.get(ai)
    if width is None:
        raise _Miss
    end = pos + 1 + width
    if end > len(data):
        raise _Miss
    arg = int.from_bytes(data[pos + 1 : end], "big")
    if arg < _ARG_MIN[ai]:
        raise _Miss
    return arg, end


def _bytes_reader(min_len: int, max_len: int) -> _Reader:
    def read(data: bytes, pos: int, depth: int) -> tuple[object, int]:
        length, pos = _read_arg(data, pos, 2)
        end = pos + length
        if end > len(data) or not min_len <= length <= max_len:
            raise _Miss
        return data[pos:end], end

    return read


def _uint_reader(min_value: int, max_value: int) -> _Reader:
    def read(data: bytes, pos: int, depth: int) -> tuple[object, int]:
        value, pos = _read_arg(data, pos, 0)
        if not min_value <= value <= max_value:
            raise _Miss
        return value, pos

    return read


def _text_reader(min_len: int, max_len: int) -> _Reader:
    def read(data: bytes, pos: int, depth: int) -> tuple[object, int]:
        length, pos = _read_arg(data, pos, 3)
        end = pos + length
        if end > len(data) or not min_len <= length <= max_len:
            raise _Miss
        try:
            return data[pos:end].decode("utf-8"), end
        except UnicodeDecodeError:
            raise _Miss from None

    return read


def _bool_reader(data: bytes, pos: int, depth: int) -> tuple[object, int]:
    ib = data[pos]
    if ib == 0xF5:
        return True, pos + 1
    if ib == 0xF4:
        return False, pos + 1
    raise _Miss


def _list_reader(item: Kind, min_count: int, max_count: int, nested: _ReaderOf) -> _Reader | None:
    read_item = _kind_reader(item, nested)
    if read_item is None:
        return None

    def read(data: bytes, pos: int, depth: int) -> tuple[object, int]:
        if depth > MAX_DEPTH:
            raise _Miss
        count, pos = _read_arg(data, pos, 4)
        if not min_count <= count <= max_count:
            raise _Miss
        items = []
        for _ in range(count):
            value, pos = read_item(data, pos, depth + 1)
            items.append(value)
        return tuple(items), pos

    return read


def _kind_reader(kind: Kind, nested: _ReaderOf) -> _Reader | None:
    """The fast reader of a field kind, or ``None`` (a kind without a fast path).

    Exact types only: a subclass may decode differently, so it keeps the generic path.
    ``nested(cls)`` gives the reader of a nested message class.
    """
    if type(kind) is FixedBytes:
        return _bytes_reader(kind.length, kind.length)
    if type(kind) is Bytes:
        return _bytes_reader(kind.min_len, kind.max_len)
    if type(kind) is UInt:
        return _uint_reader(kind.min_value, kind.max_value)
    if type(kind) is Text:
        return _text_reader(kind.min_len, kind.max_len)
    if type(kind) is Bool:
        return _bool_reader
    if type(kind) is Nested:
        return nested(kind.message)
    if type(kind) is ListOf:
        return _list_reader(kind.item, kind.min_count, kind.max_count, nested)
    return None


def _fast_reader_of(cls: type[Message]) -> _Reader | None:
    return _plan(cls).read


def _slot_setter(cls: type[Message], name: str) -> Callable[[object, object], None]:
    """``setter(instance, value)``: the slot's own ``__set__`` (a frozen dataclass forbids
    ``setattr``; the slot descriptor does not go through ``__setattr__``, and skips the
    attribute lookup of ``object.__setattr__``)."""
    for klass in cls.__mro__:
        slot = klass.__dict__.get(name)
        if slot is not None:
            if type(slot) is MemberDescriptorType:
                setter: Callable[[object, object], None] = slot.__set__
                return setter
            break
    set_attribute = object.__setattr__
    return lambda instance, value: set_attribute(instance, name, value)


def _openings(version: int, count: int) -> tuple[dict[bytes, int], int] | None:
    """The map's possible openings: its head (any count from 1 to all ``count`` fields plus
    key 0) followed by key 0 and the version, each mapped to the number of fields that follow;
    and their common size (``None`` if the sizes differ: more than 22 fields, none exists)."""
    openings = {_head(5, n) + b"\x00" + _head(0, version): n - 1 for n in range(1, count + 2)}
    sizes = {len(o) for o in openings}
    if len(sizes) != 1:
        return None
    return openings, sizes.pop()


def _table_reader(cls: type[Message]) -> _Reader | None:
    """The table-driven fast reader of a message class (nested classes read the same way).

    The reference for the generated reader of :func:`_generate_reader`, kept for the tests
    that compare the two; :meth:`Message.from_bytes` never uses it.
    """
    plan = _plan(cls)
    return _message_reader(cls, plan.version, plan.fields, _table_reader)


def _message_reader(
    cls: type[Message],
    version: int,
    fields: tuple[tuple[int, str, Kind, bool, str], ...],
    nested: _ReaderOf,
) -> _Reader | None:
    """The table-driven fast reader of a message class, or ``None`` if one of its kinds has
    none.

    A fixed-length byte string is read inline: its key and its header form one expected
    prefix. Every other kind goes through its reader.
    """
    # (prefix, len(prefix), slot setter, fixed length or -1, reader or None, optional)
    table: list[tuple[bytes, int, Callable[[object, object], None], int, _Reader | None, bool]]
    table = []
    for key, name, kind, optional, _where in fields:
        setter = _slot_setter(cls, name)
        if type(kind) is FixedBytes:
            length = kind.length
            prefix = _head(0, key) + _head(2, length)
            table.append((prefix, len(prefix), setter, length, None, optional))
            continue
        reader = _kind_reader(kind, nested)
        if reader is None:
            return None
        prefix = _head(0, key)
        table.append((prefix, len(prefix), setter, -1, reader, optional))
    opened = _openings(version, len(table))
    if opened is None:
        return None
    openings, skip = opened
    new = object.__new__
    opening = openings.get

    def read(data: bytes, pos: int, depth: int) -> tuple[object, int]:
        left = opening(data[pos : pos + skip])
        if left is None or depth > MAX_DEPTH:
            raise _Miss
        pos += skip
        instance = new(cls)
        value: object
        for prefix, size, set_attribute, length, reader, optional in table:
            if left and data.startswith(prefix, pos):
                pos += size
                if reader is None:
                    end = pos + length
                    if end > len(data):
                        raise _Miss
                    value = data[pos:end]
                    pos = end
                else:
                    value, pos = reader(data, pos, depth + 1)
                left -= 1
            elif optional:
                value = None
            else:
                raise _Miss
            set_attribute(instance, value)
        if left:
            raise _Miss
        instance._check()
        return instance, pos

    return read


# --------------------------------------------------------------------------------------------
# Spec §2.4: the typed message layer, generated per class
# --------------------------------------------------------------------------------------------
#
# A message class's three hot paths — the fast reader of ``from_bytes``, ``to_cbor`` and the
# construction check ``__post_init__`` — are each written out, once per class and lazily when
# its ``_Plan`` is built, as straight-line Python compiled with ``exec``: one block per field
# of ``FIELDS``, with the field's key, head and bounds as constants. This is the precedent of
# :mod:`dataclasses`, which generates ``__init__`` and ``__eq__`` the same way, and for the
# same reason: speed. A table-driven loop pays, for every field, the loop, the unpacking of
# its table row and a call through the kind; the generated code pays none of these, reads a
# one-byte key by index and a run of required fixed-length byte strings with one regular
# expression (measured on a 425-byte first-contact inner message, best of 7: reading
# 3.6 → 1.7 µs, ``to_cbor`` 0.85 → 0.29 µs, construction 1.5 → 1.0 µs, ``from_bytes`` with its
# re-encoding check 6.4 → 4.0 µs).
#
# Behaviour is exactly that of the table-driven code, which stays as the reference
# (``_table_reader``, ``_table_to_cbor``, ``_table_post_init``; tests/test_codec_fast_path.py
# compares them on every message class): the reader only ever accepts, and gives up with
# ``_Miss`` (or ``IndexError``) at the first unexpected byte so that the generic pipeline of
# spec §2.3–§2.4 chooses the code; the construction check raises the kind's own error (the
# generated test only decides whether to call ``kind.check``).
#
# The source is built from the schema only: ints of the schema (keys, the version, bounds,
# lengths — exact ``int``, so their text is their digits) and attribute names that are plain
# identifiers (as ``dataclasses`` requires). Everything else — head bytes, slot setters,
# nested readers, kinds, error texts — is passed in the ``exec`` namespace, never written
# into the source.

_IND: Final = "    "


def _int_source(value: int) -> str:
    """A schema int as source text: exact ``int`` only, so the text is its digits."""
    if type(value) is not int:
        raise TypeError("schema value is not an int")
    return int.__repr__(value)


def _name_source(name: str) -> str:
    """An attribute name as source text: a plain identifier only."""
    if type(name) is not str or not name.isidentifier() or keyword.iskeyword(name):
        raise TypeError(f"field name {name!r} is not an identifier")
    return name


def _arg_source(var: str, major: int, low: int, high: int) -> list[str]:
    """Lines that read, at ``pos``, the head of major type ``major`` whose argument is in
    shortest form and in ``[low, high]``, into ``var``, and move ``pos`` past it; anything
    else raises ``_Miss`` (or ``IndexError``). One branch per argument width that can hold a
    value of ``[low, high]``, as :func:`_read_arg` followed by the bounds check accepts."""
    base = major << 5
    branches: list[tuple[str, list[str]]] = []
    lo, hi = max(low, 0), min(high, 23)
    if lo <= hi:
        value = "ib" if base == 0 else f"ib - {base}"
        condition = f"ib <= {hi}" if base + lo == 0 else f"{base + lo} <= ib <= {base + hi}"
        branches.append((condition, [f"{var} = {value}", "pos += 1"]))
    for ai, width in _ARG_WIDTH.items():
        top = (1 << (8 * width)) - 1
        lo, hi = max(low, _ARG_MIN[ai]), min(high, top)
        if lo > hi:
            continue
        body: list[str] = []
        if width == 1:
            body.append(f"{var} = data[pos + 1]")
        elif width == 2:
            body.append(f"{var} = data[pos + 1] << 8 | data[pos + 2]")
        else:
            body += [
                f"end = pos + {1 + width}",
                "if end > len(data):",
                f"{_IND}raise _Miss",
                f'{var} = int.from_bytes(data[pos + 1 : end], "big")',
            ]
        out_of_range = f"{var} < {_int_source(lo)}"
        if hi < top:
            out_of_range += f" or {var} > {_int_source(hi)}"
        body += [f"if {out_of_range}:", f"{_IND}raise _Miss", f"pos += {1 + width}"]
        branches.append((f"ib == {base + ai}", body))
    if not branches:
        return ["raise _Miss"]
    lines = ["ib = data[pos]"]
    for index, (condition, body) in enumerate(branches):
        lines.append(f"{'if' if index == 0 else 'elif'} {condition}:")
        lines += [_IND + line for line in body]
    lines += ["else:", f"{_IND}raise _Miss"]
    return lines


def _bytes_value_source(var: str, length: str) -> list[str]:
    """Lines that take the next ``length`` bytes at ``pos`` as ``var`` (``_Miss`` if short)."""
    return [
        f"end = pos + {length}",
        "if end > len(data):",
        f"{_IND}raise _Miss",
        f"{var} = data[pos:end]",
        "pos = end",
    ]


def _compile(
    source: list[str], name: str, cls: type[Message], namespace: dict[str, object]
) -> object:
    code = compile("\n".join(source) + "\n", f"<blindpost.codec {cls.__qualname__}.{name}>", "exec")
    exec(code, namespace)  # schema-built source: see the comment above _IND
    function = namespace[name]
    function.__qualname__ = f"{cls.__qualname__}.{name}"  # type: ignore[attr-defined]
    function.__module__ = cls.__module__
    function.__doc__ = getattr(Message, name, None).__doc__ if name != "read" else None
    return function


def _field_prefix(key: int, kind: Kind) -> bytes:
    """The bytes a present field starts with: its key, and for a fixed-length byte string
    also its head (as in :func:`_message_reader`)."""
    if type(kind) is FixedBytes:
        return _head(0, key) + _head(2, kind.length)
    return _head(0, key)


def _fixed_runs(fields: tuple[tuple[int, str, Kind, bool, str], ...]) -> dict[int, int]:
    """``start -> end`` of each maximal run of two or more consecutive required fields of
    exact kind :class:`FixedBytes` (of a length a pattern's repeat count can hold)."""
    runs: dict[int, int] = {}
    start = 0
    while start < len(fields):
        end = start
        while end < len(fields) and not fields[end][3]:
            kind = fields[end][2]
            if type(kind) is not FixedBytes or kind.length > 65_535:
                break
            end += 1
        if end - start >= 2:
            runs[start] = end
        start = max(end, start + 1)
    return runs


def _generate_reader(
    cls: type[Message], version: int, fields: tuple[tuple[int, str, Kind, bool, str], ...]
) -> _Reader | None:
    """The generated fast reader of a message class: the same contract and the same accepted
    inputs as :func:`_message_reader` (``None`` exactly when it is ``None``)."""
    opened = _openings(version, len(fields))
    if opened is None:
        return None
    openings, skip = opened
    has_optional = any(optional for _key, _name, _kind, optional, _where in fields)
    namespace: dict[str, object] = {"_Miss": _Miss, "_cls": cls, "_new": object.__new__}
    depth_limit = _int_source(MAX_DEPTH)
    runs = _fixed_runs(fields)
    lines = ["def read(data, pos, depth):"]
    if has_optional:
        namespace["_opening"] = openings.get
        lines += [
            f"left = _opening(data[pos : pos + {skip}])",
            f"if left is None or depth > {depth_limit}:",
            f"{_IND}raise _Miss",
            f"pos += {skip}",
        ]
    elif 0 in runs:  # the opening is the start of the first run's pattern
        lines += [f"if depth > {depth_limit}:", f"{_IND}raise _Miss"]
    else:
        # Every field is required: only the head counting all of them can be accepted, and
        # the first field's key (with its head, for a fixed-length byte string) follows it.
        opening = _head(5, len(fields) + 1) + b"\x00" + _head(0, version)
        if fields:
            opening += _field_prefix(fields[0][0], fields[0][2])
        namespace["_OPEN"] = opening
        lines += [
            f"if depth > {depth_limit} or not data.startswith(_OPEN, pos):",
            f"{_IND}raise _Miss",
            f"pos += {skip}",
        ]
    covered: set[int] = set()
    for index, (key, _name, kind, optional, _where) in enumerate(fields):
        if index in covered:
            continue
        if index in runs:
            # Consecutive required fixed-length byte strings: one regular expression of
            # literal prefixes and fixed-size groups, so one C call checks and cuts them all.
            end = runs[index]
            covered.update(range(index, end))
            pattern = b""
            if index == 0 and not has_optional:
                pattern += re.escape(_head(5, len(fields) + 1) + b"\x00" + _head(0, version))
            for run_key, _n, run_kind, _o, _w in fields[index:end]:
                assert type(run_kind) is FixedBytes
                pattern += re.escape(_field_prefix(run_key, run_kind))
                pattern += b"(.{" + _int_source(run_kind.length).encode() + b"})"
            namespace[f"_RE{index}"] = re.compile(pattern, re.DOTALL).match
            if has_optional:
                lines += [f"if left < {end - index}:", f"{_IND}raise _Miss"]
            lines += [
                f"match = _RE{index}(data, pos)",
                "if match is None:",
                f"{_IND}raise _Miss",
                ", ".join(f"v{i}" for i in range(index, end)) + " = match.groups()",
                "pos = match.end()",
            ]
            if has_optional:
                lines.append(f"left -= {end - index}")
            continue
        var = f"v{index}"
        prefix = _field_prefix(key, kind)
        body: list[str]
        if type(kind) is FixedBytes:
            body = _bytes_value_source(var, _int_source(kind.length))
        else:
            if type(kind) is Bytes:
                body = _arg_source("n", 2, kind.min_len, kind.max_len)
                body += _bytes_value_source(var, "n")
            elif type(kind) is UInt:
                body = _arg_source(var, 0, kind.min_value, kind.max_value)
            elif type(kind) is Bool:
                body = [
                    "ib = data[pos]",
                    "if ib == 0xF5:",
                    f"{_IND}{var} = True",
                    "elif ib == 0xF4:",
                    f"{_IND}{var} = False",
                    "else:",
                    f"{_IND}raise _Miss",
                    "pos += 1",
                ]
            elif type(kind) is Nested:
                nested = _plan(kind.message).read
                if nested is None:
                    return None
                namespace[f"_R{index}"] = nested
                body = [f"{var}, pos = _R{index}(data, pos, depth + 1)"]
            elif type(kind) is ListOf and type(kind.item) in (FixedBytes, Nested):
                item = kind.item
                # The list's own reader would check (depth + 1) > MAX_DEPTH.
                body = [f"if depth >= {depth_limit}:", f"{_IND}raise _Miss"]
                body += _arg_source("n", 4, kind.min_count, kind.max_count)
                body += ["items = []", "for _ in range(n):"]
                if type(item) is FixedBytes:
                    head = _head(2, item.length)
                    namespace[f"_H{index}"] = head
                    loop = [
                        f"if not data.startswith(_H{index}, pos):",
                        f"{_IND}raise _Miss",
                        f"pos += {len(head)}",
                        *_bytes_value_source("element", _int_source(item.length)),
                        "items.append(element)",
                    ]
                else:
                    assert type(item) is Nested
                    nested = _plan(item.message).read
                    if nested is None:
                        return None
                    namespace[f"_R{index}"] = nested
                    loop = [
                        f"element, pos = _R{index}(data, pos, depth + 2)",
                        "items.append(element)",
                    ]
                body += [_IND + line for line in loop]
                body.append(f"{var} = tuple(items)")
            else:
                reader = _kind_reader(kind, _fast_reader_of)
                if reader is None:
                    return None
                namespace[f"_R{index}"] = reader
                body = [f"{var}, pos = _R{index}(data, pos, depth + 1)"]
        if index == 0 and not has_optional:  # its prefix was part of _OPEN
            lines.append(f"pos += {len(prefix)}")
            lines += body
            continue
        if len(prefix) == 1:
            # A one-byte key: an index is cheaper than startswith. At the end of the input
            # it raises IndexError where startswith is false; either way the reader misses
            # (a field of the map's count is missing), so the accepted inputs are the same.
            present = f"data[pos] == {prefix[0]}"
        else:
            namespace[f"_P{index}"] = prefix
            present = f"data.startswith(_P{index}, pos)"
        lines.append(f"if left and {present}:" if has_optional else f"if {present}:")
        lines.append(f"{_IND}pos += {len(prefix)}")
        lines += [_IND + line for line in body]
        if has_optional:
            lines.append(f"{_IND}left -= 1")
        lines += ["else:", f"{_IND}{var} = None" if optional else f"{_IND}raise _Miss"]
    if has_optional:
        lines += ["if left:", f"{_IND}raise _Miss"]
    lines.append("self = _new(_cls)")
    for index, (_key, name, _kind, _optional, _where) in enumerate(fields):
        namespace[f"_S{index}"] = _slot_setter(cls, name)
        lines.append(f"_S{index}(self, v{index})")
    lines += ["self._check()", "return self, pos"]
    source = [lines[0]] + [_IND + line for line in lines[1:]]
    generated: _Reader = _compile(source, "read", cls, namespace)  # type: ignore[assignment]
    return generated


def _encode_source(index: int, kind: Kind, value: str, namespace: dict[str, object]) -> str:
    """The expression of a field's CBOR value, as ``kind.encode(value)`` would give it."""
    if type(kind) is Nested:
        return f"{value}.to_cbor()"
    if type(kind) is ListOf:
        if type(kind.item) is Nested:
            return f"[element.to_cbor() for element in {value}]"
        if type(kind.item).encode is Kind.encode:
            return f"list({value})"
    if type(kind).encode is Kind.encode:
        return value
    namespace[f"_E{index}"] = kind.encode
    return f"_E{index}({value})"


def _generate_to_cbor(
    cls: type[Message], version: int, fields: tuple[tuple[int, str, Kind, bool, str], ...]
) -> _ToCbor:
    """The generated ``to_cbor`` of a message class: the map :func:`_table_to_cbor` builds,
    in the same (ascending) key order. For an instance of another class (a subclass whose
    plan is not built yet) it defers to :meth:`Message.to_cbor`."""
    namespace: dict[str, object] = {"_cls": cls, "_dispatch": Message.to_cbor}
    lines = ["if type(self) is not _cls:", f"{_IND}return _dispatch(self)"]
    leading = [f"0: {_int_source(version)}"]
    index = 0
    while index < len(fields) and not fields[index][3]:
        key, name, kind, _optional, _where = fields[index]
        value = _encode_source(index, kind, f"self.{_name_source(name)}", namespace)
        leading.append(f"{_int_source(key)}: {value}")
        index += 1
    if index == len(fields):
        lines.append("return {" + ", ".join(leading) + "}")
    else:
        lines.append("out = {" + ", ".join(leading) + "}")
        for later in range(index, len(fields)):
            key, name, kind, optional, _where = fields[later]
            target = f"out[{_int_source(key)}]"
            if optional:
                lines += [
                    f"value = self.{_name_source(name)}",
                    "if value is not None:",
                    f"{_IND}{target} = {_encode_source(later, kind, 'value', namespace)}",
                ]
            else:
                value = _encode_source(later, kind, f"self.{_name_source(name)}", namespace)
                lines.append(f"{target} = {value}")
        lines.append("return out")
    source = ["def to_cbor(self):"] + [_IND + line for line in lines]
    function: _ToCbor = _compile(source, "to_cbor", cls, namespace)  # type: ignore[assignment]
    return function


def _invalid_source(index: int, kind: Kind, namespace: dict[str, object]) -> str | None:
    """A condition true exactly when ``kind.check(value, where)`` would raise for a non-None
    ``value`` (exact kinds only), or ``None``: then ``kind.check`` is always called."""
    if type(kind) is FixedBytes:
        return f"type(value) is not bytes or len(value) != {_int_source(kind.length)}"
    if type(kind) is Bytes:
        low, high = _int_source(kind.min_len), _int_source(kind.max_len)
        return f"type(value) is not bytes or not {low} <= len(value) <= {high}"
    if type(kind) is UInt:
        low, high = _int_source(kind.min_value), _int_source(kind.max_value)
        return f"type(value) is not int or not {low} <= value <= {high}"
    if type(kind) is Bool:
        return "type(value) is not bool"
    if type(kind) is Nested:
        namespace[f"_M{index}"] = kind.message
        return f"type(value) is not _M{index}"
    return None


def _generate_post_init(
    cls: type[Message], fields: tuple[tuple[int, str, Kind, bool, str], ...]
) -> _PostInit:
    """The generated construction check of a message class: :func:`_table_post_init` field
    by field. Each field's inline test only decides whether to call ``kind.check``, which
    raises its own error; a required ``None`` raises the same error as the table's."""
    namespace: dict[str, object] = {
        "_cls": cls,
        "_dispatch": Message.__post_init__,
        "_bad": _bad,
        "_DecodeError": DecodeError,
        "_CHECK": f"{cls.__name__}: ",
    }
    lines = ["if type(self) is not _cls:", f"{_IND}return _dispatch(self)"]
    for index, (_key, name, kind, optional, where) in enumerate(fields):
        namespace[f"_K{index}"] = kind
        namespace[f"_W{index}"] = where
        namespace[f"_REQUIRED{index}"] = f"{where} is required"
        check = f"_K{index}.check(value, _W{index})"
        lines.append(f"value = self.{_name_source(name)}")
        invalid = _invalid_source(index, kind, namespace)
        if optional:
            if invalid is None:
                lines += ["if value is not None:", f"{_IND}{check}"]
            else:
                lines += [f"if value is not None and ({invalid}):", f"{_IND}{check}"]
        elif invalid is None:
            lines += ["if value is None:", f"{_IND}raise _bad(_REQUIRED{index})", check]
        else:
            lines += [
                f"if {invalid}:",
                f"{_IND}if value is None:",
                f"{_IND * 2}raise _bad(_REQUIRED{index})",
                f"{_IND}{check}",
            ]
    lines += [
        "try:",
        f"{_IND}self._check()",
        "except _DecodeError as exc:",
        f"{_IND}raise _bad(_CHECK + exc.code) from exc",
    ]
    source = ["def __post_init__(self):"] + [_IND + line for line in lines]
    function: _PostInit = _compile(source, "__post_init__", cls, namespace)  # type: ignore[assignment]
    return function


def _table_to_cbor(message: Message) -> dict[int | str, CborValue]:
    """The table-driven ``to_cbor`` (the reference for :func:`_generate_to_cbor`)."""
    plan = _plan(type(message))
    out: dict[int | str, CborValue] = {0: plan.version}
    for key, name, encode in plan.encoders:
        value = getattr(message, name)
        if value is not None:
            out[key] = value if encode is None else encode(value)
    return out


def _table_post_init(message: Message) -> None:
    """The table-driven construction check (the reference for :func:`_generate_post_init`)."""
    plan = _plan(type(message))
    for _key, name, kind, optional, where in plan.fields:
        value = getattr(message, name)
        if value is None:
            if not optional:
                raise _bad(f"{where} is required")
        else:
            kind.check(value, where)
    try:
        message._check()
    except DecodeError as exc:
        raise _bad(f"{type(message).__name__}: {exc.code}") from exc


#: Every generated ``to_cbor`` and ``__post_init__`` (a class may inherit one from a parent
#: message class, and then gets its own).
_GENERATED: Final[weakref.WeakSet[object]] = weakref.WeakSet()


def _install(cls: type[Message], name: str, function: object) -> None:
    """Put a generated method on ``cls`` itself, unless a class between it and
    :class:`Message` defines its own (then :class:`Message`'s, which dispatches to the
    plan, stays reachable only through it)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            resolved = klass.__dict__[name]
            break
    else:  # pragma: no cover - Message defines both names
        return
    if resolved is Message.__dict__[name] or resolved in _GENERATED:
        _GENERATED.add(function)
        type.__setattr__(cls, name, function)


# --------------------------------------------------------------------------------------------
# Spec §2.4: messages
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """A message class's precomputed tables (built once per class, on first use)."""

    version: int
    #: ``(key, name, kind, optional, where)`` in ascending key order.
    fields: tuple[tuple[int, str, Kind, bool, str], ...]
    known: frozenset[int]
    required: tuple[int, ...]
    #: The schema-directed fast reader (``None``: a kind without a fast path).
    read: _Reader | None
    #: ``(key, name, kind.encode or None for a scalar kind)`` in ascending key order.
    encoders: tuple[tuple[int, str, Callable[[object], CborValue] | None], ...]
    #: The class's ``to_cbor`` and construction check (generated, or the table-driven ones).
    to_cbor: _ToCbor
    post_init: _PostInit


def _build_plan(cls: type[Message]) -> _Plan:
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:
        raise TypeError(f"{cls.__name__} must be a @dataclass(frozen=True, slots=True)")
    if "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} must be declared with slots=True")
    version = getattr(cls, "VERSION", None)
    table = getattr(cls, "FIELDS", None)
    if type(version) is not int or not 0 <= version <= _UINT_MAX:
        raise TypeError(f"{cls.__name__}.VERSION must be an unsigned int")
    if type(table) is not tuple or not all(isinstance(f, Field) for f in table):
        raise TypeError(f"{cls.__name__}.FIELDS must be a tuple of Field")
    ordered = sorted(table, key=lambda f: f.key)
    keys = [f.key for f in ordered]
    names = [f.name for f in ordered]
    if len(set(keys)) != len(keys) or len(set(names)) != len(names):
        raise TypeError(f"{cls.__name__}.FIELDS repeats a key or a name")
    attributes = {f.name for f in dataclasses.fields(cls)}
    if set(names) != attributes:
        raise TypeError(
            f"{cls.__name__}: FIELDS names {sorted(names)} differ from attributes "
            f"{sorted(attributes)}"
        )
    plan_fields = tuple(
        (f.key, f.name, f.kind, f.optional, f"{cls.__name__}.{f.name}") for f in ordered
    )
    to_cbor: _ToCbor = _table_to_cbor
    post_init: _PostInit = _table_post_init
    try:
        to_cbor = _generate_to_cbor(cls, version, plan_fields)
        post_init = _generate_post_init(cls, plan_fields)
    except TypeError:  # a field name that is not a plain identifier: the table-driven code
        to_cbor, post_init = _table_to_cbor, _table_post_init
    return _Plan(
        version=version,
        fields=plan_fields,
        known=frozenset([0, *keys]),
        required=tuple(f.key for f in ordered if not f.optional),
        read=_generate_reader(cls, version, plan_fields),
        encoders=tuple(
            (f.key, f.name, None if type(f.kind).encode is Kind.encode else f.kind.encode)
            for f in ordered
        ),
        to_cbor=to_cbor,
        post_init=post_init,
    )


def _plan(cls: type[Message]) -> _Plan:
    plan: _Plan | None = cls.__dict__.get("_plan_cache")
    if plan is None:
        plan = _build_plan(cls)
        type.__setattr__(cls, "_plan_cache", plan)
        if plan.to_cbor is not _table_to_cbor:
            _install(cls, "to_cbor", plan.to_cbor)
            _install(cls, "__post_init__", plan.post_init)
    return plan


class Message:
    """Spec §2.4: base class of every typed wire structure.

    Subclass it with ``@dataclass(frozen=True, slots=True)`` and set

    * ``VERSION: ClassVar[int]`` — the wire version, carried by map key 0;
    * ``FIELDS: ClassVar[tuple[Field, ...]]`` — one :class:`Field` per attribute, keys from 1;
    * optionally ``MAX_SIZE: ClassVar[int]`` — the input limit of :meth:`from_bytes`;
    * optionally :meth:`_check` — a semantic check that runs after structural decoding (and at
      construction), raising :class:`DecodeError` (e.g. ``decode.bad_key``).

    Attribute types: ``bytes`` (:class:`FixedBytes`, :class:`Bytes`), ``int`` (:class:`UInt`),
    ``str`` (:class:`Text`), ``bool`` (:class:`Bool`), the message class (:class:`Nested`),
    ``tuple`` (:class:`ListOf`); ``X | None`` for optional fields. Construction validates every
    field (``UsageError("usage.bad_argument")``) and runs :meth:`_check`; decoding builds the
    instance without calling ``__init__`` (it has validated already), so subclasses must not
    override ``__post_init__`` or hold attributes outside ``FIELDS``. Because ``slots=True``
    re-creates the class, a subclass method cannot use zero-argument ``super()``; call
    ``Parent._check(self)`` explicitly.

    When a class's plan is built, its ``to_cbor`` and ``__post_init__`` generated from
    ``FIELDS`` are set on the class itself (see the comment above ``_IND``); the methods
    below are the entry points until then, and for a subclass that overrides one of them.
    """

    __slots__ = ()

    VERSION: ClassVar[int]
    FIELDS: ClassVar[tuple[Field, ...]]
    MAX_SIZE: ClassVar[int] = MAX_SIZE

    def __post_init__(self) -> None:
        _plan(type(self)).post_init(self)

    def _check(self) -> None:
        """Semantic validity beyond the field bounds; raise :class:`DecodeError` if invalid."""

    def to_cbor(self) -> dict[int | str, CborValue]:
        """Spec §2.4: the map of this message (key 0 = ``VERSION``, then fields by key).

        Typed as a general CBOR map so that it is itself a :data:`CborValue` (``dict`` is
        invariant); the keys are always non-negative ints.
        """
        return _plan(type(self)).to_cbor(self)

    def to_bytes(self) -> bytes:
        """Spec §2.4: the deterministic encoding of :meth:`to_cbor`.

        The map is already in deterministic order (non-negative integer keys ascending) and
        every value was validated at construction, so cbor2 writes it directly.
        """
        data = bytes(cbor2.dumps(self.to_cbor()))
        if len(data) > self.MAX_SIZE:
            raise _bad(f"{type(self).__name__}: {len(data)} bytes > MAX_SIZE {self.MAX_SIZE}")
        return data

    @classmethod
    def from_cbor(cls, obj: CborValue) -> Self:
        """Spec §2.4: validate a decoded CBOR value and build the message from it."""
        plan = _plan(cls)
        if type(obj) is not dict:
            raise _type_error(cls.__name__, "a map")
        version = obj.get(0)
        if type(version) is not int or version != plan.version:
            raise DecodeError("decode.version", f"{cls.__name__}: expected {plan.version}")
        known = plan.known
        for key in obj:
            if key not in known or type(key) is not int:
                raise DecodeError("decode.unknown_field", f"{cls.__name__}: key {key!r}")
        for key in plan.required:
            if key not in obj:
                raise DecodeError("decode.missing_field", f"{cls.__name__}: key {key}")
        instance = object.__new__(cls)
        for key, name, kind, _optional, where in plan.fields:
            raw = obj.get(key)
            object.__setattr__(instance, name, None if raw is None else kind.decode(raw, where))
        instance._check()
        return instance

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Spec §2.4: strict decoding (limit ``cls.MAX_SIZE``), then :meth:`from_cbor`.

        A valid input is read directly by the class's fast path (see ``_generate_reader``);
        any other input goes through :func:`decode` and :meth:`from_cbor`, which choose its
        code.
        """
        read = _plan(cls).read
        if read is not None and type(data) is bytes and len(data) <= cls.MAX_SIZE:
            try:
                message, end = read(data, 0, 1)
            except (_Miss, IndexError, DecodeError):
                pass
            else:
                # Defence in depth, as in decode(): cbor2 re-encodes it to the same bytes.
                if end == len(data) and cbor2.dumps(message.to_cbor()) == data:  # type: ignore[attr-defined]
                    return message  # type: ignore[return-value]
        return cls.from_cbor(decode(data, max_size=cls.MAX_SIZE))
