"""Spec §2: strict deterministic CBOR (codec) and the typed message layer (§2.4)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import ClassVar

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.codec import (
    MAX_DEPTH,
    MAX_SIZE,
    Bool,
    Bytes,
    CborValue,
    Field,
    FixedBytes,
    ListOf,
    Message,
    Nested,
    Text,
    UInt,
    decode,
    encode,
)
from protocol.errors import CODES, DecodeError, UsageError
from protocol.kat import cbor as kat_cbor
from protocol.kat import generate_suite, verify_suite

# --- helpers --------------------------------------------------------------------------------


def same(a: object, b: object) -> bool:
    """Type-strict equality (``True`` is not ``1``); map order is not compared."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


def code_of(data: bytes, **limits: int) -> str | None:
    try:
        decode(data, **limits)
    except DecodeError as exc:
        return exc.code
    return None


# --- known answers: RFC 8949 Appendix A, the examples inside the spec §2.1 data model ----------

RFC8949_APPENDIX_A: list[tuple[CborValue, str]] = [
    (0, "00"),
    (1, "01"),
    (10, "0a"),
    (23, "17"),
    (24, "1818"),
    (25, "1819"),
    (100, "1864"),
    (1000, "1903e8"),
    (1000000, "1a000f4240"),
    (1000000000000, "1b000000e8d4a51000"),
    (18446744073709551615, "1bffffffffffffffff"),
    (-18446744073709551616, "3bffffffffffffffff"),
    (-1, "20"),
    (-10, "29"),
    (-100, "3863"),
    (-1000, "3903e7"),
    (False, "f4"),
    (True, "f5"),
    (b"", "40"),
    (b"\x01\x02\x03\x04", "4401020304"),
    ("", "60"),
    ("a", "6161"),
    ("IETF", "6449455446"),
    ('"\\', "62225c"),
    ("\u00fc", "62c3bc"),
    ("\u6c34", "63e6b0b4"),
    ("\U00010151", "64f0908591"),
    ([], "80"),
    ([1, 2, 3], "83010203"),
    ([1, [2, 3], [4, 5]], "8301820203820405"),
    (list(range(1, 26)), "98190102030405060708090a0b0c0d0e0f101112131415161718181819"),
    ({}, "a0"),
    ({1: 2, 3: 4}, "a201020304"),
    ({"a": 1, "b": [2, 3]}, "a26161016162820203"),
    (["a", {"b": "c"}], "826161a161626163"),
    (
        {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"},
        "a56161614161626142616361436164614461656145",
    ),
]


@pytest.mark.parametrize(("value", "hex_"), RFC8949_APPENDIX_A)
def test_rfc8949_appendix_a(value: CborValue, hex_: str) -> None:
    assert encode(value).hex() == hex_
    assert same(decode(bytes.fromhex(hex_)), value)


def test_encode_sorts_keys_bytewise_not_length_first() -> None:
    value: CborValue = {"aa": 5, "z": 4, -1: 3, 256: 2, 100: 1, 10: 0}
    assert encode(value).hex() == "a60a00186401190100022003617a0462616105"
    # cbor2's own canonical mode is RFC 7049 length-first, which differs here:
    assert cbor2.dumps({256: 1, "a": 2}, canonical=True).hex() == "a261610219010001"
    assert encode({256: 1, "a": 2}).hex() == "a219010001616102"


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        None,
        (1, 2),
        bytearray(b"x"),
        2**64,
        -(2**64) - 1,
        {b"k": 1},
        {True: 1},
        {(1,): 1},
        {1.5: 1},
        "\ud800",
        {"\udfff": 1},
        [object()],
        {1: None},
        frozenset(),
    ],
)
def test_encode_rejects_values_outside_the_data_model(value: object) -> None:
    with pytest.raises(UsageError) as info:
        encode(value)  # type: ignore[arg-type]
    assert info.value.code == "usage.bad_argument"


def test_encode_rejects_subclasses_and_excess_depth() -> None:
    class MyInt(int):
        pass

    with pytest.raises(UsageError):
        encode(MyInt(3))
    nested: CborValue = []
    for _ in range(MAX_DEPTH):
        nested = [nested]
    with pytest.raises(UsageError):
        encode(nested)  # 17 levels
    assert encode(nested, max_depth=MAX_DEPTH + 1) == b"\x81" * MAX_DEPTH + b"\x80"
    cyclic: list[CborValue] = []
    cyclic.append(cyclic)
    with pytest.raises(UsageError):
        encode(cyclic)
    with pytest.raises(UsageError):
        encode(1, max_depth=-1)


def test_decode_argument_checks() -> None:
    assert decode(bytearray(b"\x01")) == 1
    assert decode(memoryview(b"\x02")) == 2
    for bad in ("01", None, [1]):
        with pytest.raises(UsageError):
            decode(bad)  # type: ignore[arg-type]
    for limits in ({"max_size": -1}, {"max_depth": -1}, {"max_depth": 257}, {"max_size": 1.5}):
        with pytest.raises(UsageError):
            decode(b"\x00", **limits)


def test_limits() -> None:
    assert MAX_SIZE == 69632
    assert MAX_DEPTH == 16
    big = encode(b"\x00" * (MAX_SIZE - 4))  # 5-byte head: MAX_SIZE + 1 bytes in all
    assert len(big) == MAX_SIZE + 1
    assert code_of(big) == "decode.too_large"
    just = encode(b"\x00" * (MAX_SIZE - 5))
    assert len(just) == MAX_SIZE
    assert decode(just) == b"\x00" * (MAX_SIZE - 5)


def test_decoded_types_and_map_order() -> None:
    value = decode(bytes.fromhex("a30a41ff20806161a0"))
    assert value == {10: b"\xff", -1: [], "a": {}}
    assert isinstance(value, dict)
    assert list(value) == [10, -1, "a"]
    assert type(value[10]) is bytes
    assert type(value[-1]) is list


def test_decode_never_allocates_declared_lengths() -> None:
    for prefix in ("5b", "7b", "9b", "bb"):
        assert code_of(bytes.fromhex(prefix + "ff" * 8)) == "decode.truncated"
    assert code_of(bytes.fromhex("9bffffffffffffffff") + b"\x00" * 1000) == "decode.truncated"
    # A huge map count ends in truncation once the pairs run out, even with valid pairs.
    pairs = b"".join(encode(i) + b"\x00" for i in range(100))
    assert code_of(b"\xbb" + b"\xff" * 8 + pairs) == "decode.truncated"


def test_deep_inputs_only_decode_error() -> None:
    deep = b"\x81" * (MAX_SIZE - 1) + b"\x80"
    assert code_of(deep) == "decode.too_deep"
    assert code_of(deep, max_depth=256) == "decode.too_deep"
    assert code_of(b"\x9f" * 5000) == "decode.indefinite"
    assert code_of(b"\xa1\x01" * 5000 + b"\x00") == "decode.too_deep"


# --- the cbor KAT suite ---------------------------------------------------------------------

CASES = kat_cbor.generate()
#: The codes of spec §2.3 (decode.noncanonical is unreachable unless the scan has a bug).
CODEC_CODES = {
    "decode.truncated", "decode.trailing", "decode.too_large", "decode.too_deep",
    "decode.non_minimal", "decode.unsorted_keys", "decode.duplicate_key", "decode.indefinite",
    "decode.tag", "decode.float", "decode.simple", "decode.reserved", "decode.invalid_utf8",
    "decode.key_type", "decode.noncanonical",
}  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[str(c["id"]) for c in CASES])
def test_kat_case(case: dict[str, object]) -> None:
    kat_cbor.verify(case)


def test_kat_suite_shape() -> None:
    assert kat_cbor.generate() == CASES  # deterministic
    document = generate_suite("cbor")
    json.loads(json.dumps(document))  # JSON-able
    result = verify_suite(document)
    assert result.failures == []
    valid = [c for c in CASES if c["result"] == "valid"]
    invalid = [c for c in CASES if c["result"] == "invalid"]
    assert len(valid) >= 15 and len(invalid) >= 35
    # Every codec code the decoder can raise has at least one vector.
    assert set(CODES) >= CODEC_CODES
    assert {c["error"] for c in invalid} == CODEC_CODES - {"decode.noncanonical"}
    for case in CASES:
        assert set(case) == {
            "id", "comment", "flags", "result", "error", "encoded", "max_size", "max_depth",
            "value", *(["cddl"] if case["result"] == "valid" else []),
        }  # fmt: skip
        flags = case["flags"]
        assert isinstance(flags, list) and all(flag in kat_cbor.FLAGS for flag in flags)


@pytest.mark.parametrize(
    ("field", "edit"),
    [
        ("error", {"error": "decode.float"}),
        ("value", {"value": {"uint": "1"}}),
        ("encoded", {"encoded": "XX"}),
        ("result", {"result": "acceptable"}),
        ("max_size", {"max_size": -1}),
    ],
)
def test_kat_verify_names_the_mismatched_field(field: str, edit: dict[str, object]) -> None:
    case_id = "invalid-simple-null" if field == "error" else "valid-uint-0"
    base = next(c for c in CASES if c["id"] == case_id)
    with pytest.raises(AssertionError, match=f"^{field}:"):
        kat_cbor.verify({**base, **edit})


def test_kat_rendering_round_trip() -> None:
    value: CborValue = {1: [True, b"\x00", "x"], "k": {-(2**64): 2**64 - 1}}
    rendered = kat_cbor.render_value(value)
    assert same(kat_cbor.parse_value(json.loads(json.dumps(rendered))), value)
    assert kat_cbor.render_value(-3) == {"nint": "-3"}


# --- properties -----------------------------------------------------------------------------

INTS = st.integers(min_value=-(2**64), max_value=2**64 - 1)
SCALARS = INTS | st.binary(max_size=40) | st.text(max_size=20) | st.booleans()
KEYS = INTS | st.text(max_size=6)
VALUES: st.SearchStrategy[CborValue] = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=20,
).filter(lambda v: depth(v) <= MAX_DEPTH)


@settings(max_examples=600, deadline=None)
@given(VALUES)
def test_round_trip(value: CborValue) -> None:
    data = encode(value)
    decoded = decode(data)
    assert same(decoded, value)
    assert encode(decoded) == data
    if isinstance(decoded, dict):
        assert list(decoded) == sorted(decoded, key=cbor2.dumps)


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=48))
def test_arbitrary_bytes_only_decode_error(data: bytes) -> None:
    try:
        value = decode(data)
    except DecodeError:
        return
    assert encode(value) == data


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(encode(draw(VALUES)))
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "set"]))
        index = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[index] ^= 1 << draw(st.integers(0, 7))
        elif action == "truncate":
            del data[index:]
        elif action == "insert":
            data[index:index] = draw(st.binary(min_size=1, max_size=3))
        elif action == "delete" and data:
            del data[index]
        elif action == "set" and data:
            data[index] = draw(st.integers(0, 255))
    return bytes(data)


@settings(max_examples=1000, deadline=None)
@given(mutated())
def test_mutated_encodings(data: bytes) -> None:
    try:
        value = decode(data)
    except DecodeError:
        return
    assert encode(value) == data


# An independent oracle: cbor2 decodes the input (strict flags), the value lies in the data
# model, and re-encoding it with cbor2 in RFC 8949 key order gives back the input.


def _in_model(value: object) -> bool:
    if type(value) in (int, bytes, str, bool):
        return True
    if type(value) is list:
        return all(_in_model(v) for v in value)
    if type(value) is dict:
        return all(type(k) in (int, str) and _in_model(v) for k, v in value.items())
    return False


def _oracle_order(value: object) -> object:
    if type(value) is list:
        return [_oracle_order(v) for v in value]
    if type(value) is dict:
        items = sorted(value.items(), key=lambda kv: cbor2.dumps(kv[0]))
        return {k: _oracle_order(v) for k, v in items}
    return value


def oracle(data: bytes) -> tuple[bool, object]:
    if len(data) > MAX_SIZE:
        return False, None
    try:
        value = cbor2.loads(data, allow_indefinite=False, allow_duplicate_keys=False)
    except Exception:
        return False, None
    if not _in_model(value) or depth(value) > MAX_DEPTH:
        return False, None
    # Not canonical=True: that re-sorts maps in RFC 7049 length-first order. cbor2 always writes
    # arguments in shortest form and keeps the dict order _oracle_order has set.
    if int_out_of_range(value) or cbor2.dumps(_oracle_order(value)) != data:
        return False, None
    return True, value


def int_out_of_range(value: object) -> bool:
    if type(value) is int:
        return not -(2**64) <= value < 2**64
    if type(value) is list:
        return any(int_out_of_range(v) for v in value)
    if type(value) is dict:
        return any(int_out_of_range(k) or int_out_of_range(v) for k, v in value.items())
    return False


_BOUNDARY_ARGS = [0, 1, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1]


def _head(major: int, arg: int, width: int | None) -> bytes:
    """Head of ``major`` with ``arg`` in the given width (None: shortest)."""
    if width is None:
        width = 0 if arg < 24 else 1 if arg < 256 else 2 if arg < 65536 else 4 if arg < 2**32 else 8
    if width == 0:
        return bytes([major << 5 | arg])
    ai = {1: 24, 2: 25, 4: 26, 8: 27}[width]
    return bytes([major << 5 | ai]) + arg.to_bytes(width, "big")


#: Encoded keys whose RFC 8949 order differs from numeric and from length-first order.
SIMPLE_KEYS = st.builds(
    encode, st.integers(-300, 300) | st.sampled_from([2**32, -(2**64)]) | st.text(max_size=3)
)
#: Small valid items, so that whole inputs are often valid.
VALID = st.builds(encode, SCALARS | st.lists(SCALARS, max_size=3))


@st.composite
def cborish(draw: st.DrawFn, level: int = 0) -> bytes:
    """Mostly well-formed items with occasional violations of every kind."""
    choice = draw(st.integers(0, 99))
    width = draw(st.sampled_from([None] * 12 + [1, 2, 4, 8]))

    def fits(arg: int) -> int | None:
        if width is None or arg < 256**width:
            return width
        return None

    if choice < 20:  # integers
        arg = draw(st.sampled_from(_BOUNDARY_ARGS) | st.integers(0, 30))
        return _head(draw(st.sampled_from([0, 1])), arg, fits(arg))
    if choice < 32:  # byte strings
        payload = draw(st.binary(max_size=30))
        return _head(2, len(payload), fits(len(payload))) + payload
    if choice < 46:  # text strings, sometimes not UTF-8
        if draw(st.integers(0, 4)) == 0:
            payload = draw(st.binary(max_size=6))
        else:
            payload = draw(st.text(max_size=8)).encode("utf-8", "surrogatepass")
        return _head(3, len(payload), fits(len(payload))) + payload
    if choice < 56 and level < 3:  # arrays
        items = draw(st.lists(cborish(level + 1), max_size=4))
        count = len(items) + draw(st.sampled_from([0] * 8 + [-1, 1]))
        return _head(4, max(count, 0), fits(max(count, 0))) + b"".join(items)
    if choice < 70 and level < 3:  # maps
        keys = draw(st.lists(SIMPLE_KEYS | cborish(level + 1), max_size=4))
        if keys and draw(st.integers(0, 5)) == 0:
            keys.append(keys[-1])  # a duplicate
        if draw(st.integers(0, 3)) > 0:
            keys.sort()
        values = draw(st.lists(VALID | cborish(level + 1), min_size=len(keys), max_size=len(keys)))
        body = b"".join(k + v for k, v in zip(keys, values, strict=True))
        return _head(5, len(keys), fits(len(keys))) + body
    if choice < 76:  # deep nesting around the limit, around an empty array or another item
        n = draw(st.integers(MAX_DEPTH - 2, MAX_DEPTH + 1))
        opener = draw(st.sampled_from([b"\x81", b"\xa1\x01"]))
        return opener * n + draw(st.just(b"\x80") | VALID)
    if choice < 82:  # tags (including bignums) around an item
        return _head(6, draw(st.sampled_from([0, 1, 2, 3, 24, 55799])), None) + draw(
            cborish(level + 1)
        )
    if choice < 94:  # major type 7 and reserved/indefinite initial bytes
        return bytes([draw(st.sampled_from([0xF4, 0xF5, 0xF6, 0xF7, 0xF0, 0xFF, 0x1C, 0x5F]))]) + (
            draw(st.binary(max_size=8))
        )
    return draw(st.binary(min_size=1, max_size=6))


@st.composite
def oracle_inputs(draw: st.DrawFn) -> bytes:
    data = draw(cborish())
    tail = draw(st.sampled_from(["none"] * 8 + ["trailing", "truncate"]))
    if tail == "trailing":
        data += draw(st.binary(min_size=1, max_size=3))
    elif tail == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    return data


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(oracle_inputs())
def test_decoder_agrees_with_cbor2_oracle(data: bytes) -> None:
    accepted, expected = oracle(data)
    try:
        value = decode(data)
    except DecodeError as exc:
        assert not accepted, f"rejected ({exc.code}) what the oracle accepts"
        return
    assert accepted, "accepted what the oracle rejects"
    assert same(value, expected)


def test_oracle_generator_reaches_both_outcomes() -> None:
    seen: set[bool] = set()

    @settings(max_examples=100, deadline=None, database=None)
    @given(oracle_inputs())
    def probe(data: bytes) -> None:
        seen.add(oracle(data)[0])

    probe()
    assert seen == {True, False}


# --- typed messages (spec §2.4) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Point(Message):
    VERSION: ClassVar[int] = 1
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "x", UInt(1000)),
        Field(2, "label", Text(8), optional=True),
    )
    x: int
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Toy(Message):
    VERSION: ClassVar[int] = 3
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "key", FixedBytes(4)),
        Field(2, "blob", Bytes(max_len=8, min_len=1)),
        Field(3, "counter", UInt(max_value=2**32 - 1)),
        Field(4, "name", Text(max_len=5)),
        Field(5, "flag", Bool()),
        Field(6, "point", Nested(Point)),
        Field(7, "points", ListOf(Nested(Point), max_count=3)),
        Field(8, "tags", ListOf(Bytes(max_len=2), max_count=2, min_count=1), optional=True),
        Field(24, "note", Text(max_len=10), optional=True),
    )
    key: bytes
    blob: bytes
    counter: int
    name: str
    flag: bool
    point: Point
    points: tuple[Point, ...]
    tags: tuple[bytes, ...] | None = None
    note: str | None = None

    def _check(self) -> None:
        if self.key == b"\x00" * 4:
            raise DecodeError("decode.bad_key", "all-zero key")


@dataclass(frozen=True, slots=True)
class Point3(Point):
    """A subclass of a message subclass: new version, one more field."""

    VERSION: ClassVar[int] = 2
    FIELDS: ClassVar[tuple[Field, ...]] = (*Point.FIELDS, Field(3, "z", UInt(9)))
    z: int = 0


@dataclass(frozen=True, slots=True)
class Small(Message):
    VERSION: ClassVar[int] = 0
    FIELDS: ClassVar[tuple[Field, ...]] = (Field(1, "data", Bytes(max_len=100)),)
    MAX_SIZE: ClassVar[int] = 16
    data: bytes


def make_toy(**changes: object) -> Toy:
    fields: dict[str, object] = {
        "key": b"\x01\x02\x03\x04",
        "blob": b"b",
        "counter": 7,
        "name": "ab",
        "flag": True,
        "point": Point(5),
        "points": (Point(1, "one"), Point(2)),
    }
    fields.update(changes)
    return Toy(**fields)  # type: ignore[arg-type]


TOY_HEX = (
    "a8"  # 8 pairs: version and 7 required fields
    "0003"  # 0: version 3
    "014401020304"  # 1: key
    "024162"  # 2: blob
    "0307"  # 3: counter
    "04626162"  # 4: name
    "05f5"  # 5: flag
    "06a200010105"  # 6: point {0: 1, 1: 5}
    "0782a30001010102636f6e65a200010102"  # 7: points [{0: 1, 1: 1, 2: "one"}, {0: 1, 1: 2}]
)


def test_message_known_answer_and_round_trip() -> None:
    toy = make_toy()
    assert toy.to_bytes().hex() == TOY_HEX
    assert Toy.from_bytes(bytes.fromhex(TOY_HEX)) == toy
    full = make_toy(tags=(b"", b"xy"), note="n\u00e9")
    data = full.to_bytes()
    again = Toy.from_bytes(data)
    assert again == full
    assert again.tags == (b"", b"xy")
    assert type(again.points) is tuple
    assert decode(data)[24] == "n\u00e9"  # type: ignore[index]
    assert list(full.to_cbor()) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 24]
    assert Toy.from_cbor(full.to_cbor()) == full


def test_message_subclass_of_subclass() -> None:
    p3 = Point3(4, "z", 9)
    assert p3.to_bytes().hex() == "a40002010402617a0309"
    assert Point3.from_bytes(p3.to_bytes()) == p3
    assert Point.from_bytes(Point(4).to_bytes()) == Point(4)
    assert code_of_message(Point, p3.to_bytes()) == "decode.version"
    with pytest.raises(UsageError):
        Point3(4, None, 10)


def test_message_is_frozen_and_slotted() -> None:
    toy = make_toy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        toy.counter = 8  # type: ignore[misc]
    assert not hasattr(toy, "__dict__")
    assert hash(Point(1)) == hash(Point(1))


def code_of_message(cls: type[Message], data: bytes) -> str | None:
    try:
        cls.from_bytes(data)
    except DecodeError as exc:
        return exc.code
    return None


def toy_map(**changes: object) -> dict[int | str, CborValue]:
    """The map of a valid Toy with keys replaced (value ``...`` deletes the key)."""
    base: dict[int | str, CborValue] = dict(make_toy().to_cbor())
    for name, value in changes.items():
        key: int | str = int(name[1:]) if name.startswith("k") else name
        if value is ...:
            del base[key]
        else:
            base[key] = value  # type: ignore[assignment]
    return base


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"k0": ...}, "decode.version"),
        ({"k0": 4}, "decode.version"),
        ({"k0": "3"}, "decode.version"),
        ({"k0": True}, "decode.version"),
        ({"k9": 1}, "decode.unknown_field"),
        ({"k25": 1}, "decode.unknown_field"),
        ({"x": 1}, "decode.unknown_field"),
        ({"k3": ...}, "decode.missing_field"),
        ({"k6": ...}, "decode.missing_field"),
        ({"k1": 1}, "decode.type"),
        ({"k1": "abcd"}, "decode.type"),
        ({"k3": True}, "decode.type"),
        ({"k3": b"\x07"}, "decode.type"),
        ({"k4": b"ab"}, "decode.type"),
        ({"k5": 1}, "decode.type"),
        ({"k6": [0, 1]}, "decode.type"),
        ({"k7": {}}, "decode.type"),
        ({"k7": [[]]}, "decode.type"),
        ({"k8": [1]}, "decode.type"),
        ({"k1": b"\x01\x02\x03"}, "decode.length"),
        ({"k1": b"\x01\x02\x03\x04\x05"}, "decode.length"),
        ({"k2": b""}, "decode.length"),
        ({"k2": b"123456789"}, "decode.length"),
        ({"k4": "abcdef"}, "decode.length"),
        ({"k4": "\u00e9\u00e9\u00e9"}, "decode.length"),  # 3 characters, 6 UTF-8 bytes
        ({"k8": [b"abc"]}, "decode.length"),
        ({"k24": "x" * 11}, "decode.length"),
        ({"k3": 2**32}, "decode.range"),
        ({"k3": -1}, "decode.range"),
        ({"k6": {0: 1, 1: 1001}}, "decode.range"),
        ({"k7": [{0: 1, 1: 1}] * 4}, "decode.count"),
        ({"k8": []}, "decode.count"),
        ({"k8": [b"", b"", b""]}, "decode.count"),
        ({"k6": {0: 2, 1: 1}}, "decode.version"),
        ({"k6": {0: 1}}, "decode.missing_field"),
        ({"k6": {0: 1, 1: 1, 3: 0}}, "decode.unknown_field"),
        ({"k7": [{0: 1, 1: 1, 2: 5}]}, "decode.type"),
        ({"k1": b"\x00" * 4}, "decode.bad_key"),  # the subclass's semantic check
        # precedence
        ({"k0": 4, "k9": 1}, "decode.version"),
        ({"k9": 1, "k3": ...}, "decode.unknown_field"),
        ({"k3": ..., "k1": 1}, "decode.missing_field"),
        ({"k1": 1, "k2": b""}, "decode.type"),
        ({"k1": b"", "k3": True}, "decode.length"),
        ({"k3": -1, "k4": 1}, "decode.range"),
        ({"k1": b"\x00" * 4, "k3": -1}, "decode.range"),  # structure before the semantic check
    ],
)
def test_message_decode_errors(changes: dict[str, object], code: str) -> None:
    data = encode(toy_map(**changes))
    assert code_of_message(Toy, data) == code
    with pytest.raises(DecodeError) as info:
        Toy.from_cbor(decode(data))
    assert info.value.code == code


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (encode([1]), "decode.type"),
        (encode(3), "decode.type"),
        (encode({}), "decode.version"),
        (bytes.fromhex("a201000003"), "decode.unsorted_keys"),
        (encode(toy_map()) + b"\x00", "decode.trailing"),
        (encode(toy_map())[:-1], "decode.truncated"),
        (bytes.fromhex("a20003f600"), "decode.simple"),
    ],
)
def test_message_codec_errors_come_first(data: bytes, code: str) -> None:
    assert code_of_message(Toy, data) == code


def test_message_max_size() -> None:
    assert Small.from_bytes(Small(b"x" * 10).to_bytes()) == Small(b"x" * 10)
    with pytest.raises(UsageError):
        Small(b"x" * 20).to_bytes()
    assert code_of_message(Small, encode({0: 0, 1: b"x" * 20})) == "decode.too_large"


@pytest.mark.parametrize(
    "changes",
    [
        {"key": b"\x01\x02\x03"},
        {"key": bytearray(b"\x01\x02\x03\x04")},
        {"key": None},
        {"blob": b""},
        {"blob": "b"},
        {"counter": -1},
        {"counter": 2**32},
        {"counter": True},
        {"counter": 7.0},
        {"name": "abcdef"},
        {"name": "\u00e9\u00e9\u00e9"},
        {"name": b"ab"},
        {"name": "\ud800"},
        {"flag": 1},
        {"flag": None},
        {"point": {0: 1, 1: 5}},
        {"point": Point3(5)},
        {"points": [Point(1)]},
        {"points": (Point(1),) * 4},
        {"points": (Point(1), 2)},
        {"tags": ()},
        {"tags": (b"abc",)},
        {"tags": [b""]},
        {"note": "x" * 11},
        {"key": b"\x00" * 4},  # the semantic check also runs at construction
    ],
)
def test_message_construction_validates(changes: dict[str, object]) -> None:
    with pytest.raises(UsageError) as info:
        make_toy(**changes)
    assert info.value.code == "usage.bad_argument"


def test_misconfigured_message_classes_fail_loudly() -> None:
    @dataclass(frozen=True, slots=True)
    class WrongName(Message):
        VERSION: ClassVar[int] = 1
        FIELDS: ClassVar[tuple[Field, ...]] = (Field(1, "a", UInt(1)),)
        b: int

    with pytest.raises(TypeError):
        WrongName(1)

    @dataclass(frozen=True, slots=True)
    class DuplicateKey(Message):
        VERSION: ClassVar[int] = 1
        FIELDS: ClassVar[tuple[Field, ...]] = (Field(1, "a", UInt(1)), Field(1, "b", UInt(1)))
        a: int
        b: int

    with pytest.raises(TypeError):
        DuplicateKey.from_bytes(b"\xa0")

    @dataclass(slots=True)
    class NotFrozen(Message):
        VERSION: ClassVar[int] = 1
        FIELDS: ClassVar[tuple[Field, ...]] = ()

    with pytest.raises(TypeError):
        NotFrozen()

    with pytest.raises(ValueError):
        Field(0, "a", UInt(1))
    with pytest.raises(ValueError):
        Bytes(max_len=1, min_len=2)
    with pytest.raises(TypeError):
        ListOf(ListOf(Bool(), 1), 1)


def test_message_speed_smoke() -> None:
    """Not a benchmark: a header-sized message round trip stays far below a millisecond."""
    import time

    @dataclass(frozen=True, slots=True)
    class Header(Message):
        VERSION: ClassVar[int] = 1
        FIELDS: ClassVar[tuple[Field, ...]] = (
            Field(1, "dh", FixedBytes(32)),
            Field(2, "n", UInt(2**32 - 1)),
            Field(3, "pn", UInt(2**32 - 1)),
        )
        dh: bytes
        n: int
        pn: int

    header = Header(b"\x09" * 32, 1234, 56)
    start = time.perf_counter()
    for _ in range(200):
        assert Header.from_bytes(header.to_bytes()) == header
    assert (time.perf_counter() - start) / 200 < 1e-3
