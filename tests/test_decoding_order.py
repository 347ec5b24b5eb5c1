"""Spec §2.4 step 6 and §4.6 (issue 11, items 2 and 4): which fault decides the code.

A second implementer could read "then array elements in order and nested messages, each by
steps 2–7" three ways. This file writes a small §2.4 validator from the spec text alone (the
field tables of §4, the small-order list of §4.4 and the FIPS 203 modulus check written out
here, nothing from ``protocol.keys``), runs it under each reading on the ``precedence``
vectors of the ``keys`` suite, and checks that

* the vectors discriminate: at least two readings give different codes for each of them
  (or, for the cases inside one step 7, the vector pins the order the spec states);
* the normative reading, depth-first with each nested message finished through its own step 7
  before the next field, gives the vector's code;
* the implementation gives that code too.

Readings:

``depth-first`` (normative)
    each field in key order: its shallow checks, then its elements / nested message through
    steps 2–7; the structure's own step 7 after all its fields.
``semantics-last``
    the same structural walk, but every step 7 deferred until the whole item has passed its
    structural checks (then the step 7s run, children before parents).
``shallow-first``
    a structure's fields all get their shallow checks (type, length, range, count) first;
    only then are elements and nested messages decoded, in order; then the structure's step 7.

and, for §4.6 (item 4), two misplacements of the upload's own checks:

``flag-in-kem-prekey``
    the ``last_resort`` flag checked as part of decoding each KEM prekey of the upload (before
    that prekey's modulus check), instead of in the upload's step 7;
``ids-before-flags``
    the upload's step 7 checking the distinct ids before the flags.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from protocol.codec import decode
from protocol.errors import ProtocolError
from protocol.keys import PrekeyBundle, PrekeyUpload
from tests.external import REPO


class Fault(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# --- the spec's structures, written out (§4.1-§4.6, wire.cddl) -----------------------------------

#: §4.4: the small-order X25519 encodings (compared after clearing bit 255).
_SMALL_ORDER = {
    bytes.fromhex(h)
    for h in (
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    )
}


def _x25519(key: bytes) -> None:
    if key[:31] + bytes([key[31] & 0x7F]) in _SMALL_ORDER:
        raise Fault("decode.low_order")


def _mlkem_modulus(key: bytes) -> None:
    """FIPS 203 §7.2: every 12-bit coefficient of the first 1152 bytes is below q = 3329."""
    for i in range(0, 1152, 3):
        a, b, c = key[i], key[i + 1], key[i + 2]
        if a | (b & 0x0F) << 8 >= 3329 or b >> 4 | c << 4 >= 3329:
            raise Fault("decode.bad_key")


@dataclass(frozen=True)
class Kind:
    """A field kind of §2.4: ``bytes`` (lo, hi), ``uint`` (hi), ``bool``, ``msg``, ``list``."""

    name: str
    lo: int = 0
    hi: int = 0
    schema: Schema | None = None
    item: Kind | None = None


@dataclass(frozen=True)
class Schema:
    version: int
    fields: dict[int, tuple[Kind, bool]]  # key -> (kind, optional)
    check: Callable[[dict[Any, Any]], None]


def _fixed(n: int) -> Kind:
    return Kind("bytes", n, n)


_U32, _U64 = Kind("uint", hi=2**32 - 1), Kind("uint", hi=2**64 - 1)
_NONE: Callable[[dict[Any, Any]], None] = lambda m: None  # noqa: E731

IDENTITY = Schema(
    1, {1: (_fixed(32), False), 2: (_fixed(32), False), 3: (_fixed(64), False)},
    lambda m: _x25519(m[2]),
)
SIGNED = Schema(
    1,
    {1: (_U32, False), 2: (_U64, False), 3: (_fixed(32), False), 4: (_fixed(64), False)},
    lambda m: _x25519(m[3]),
)
ONE_TIME = Schema(1, {1: (_U32, False), 2: (_fixed(32), False)}, lambda m: _x25519(m[2]))
KEM = Schema(
    1,
    {
        1: (_U32, False),
        2: (_U64, False),
        3: (Kind("bool"), False),
        4: (_fixed(1184), False),
        5: (_fixed(64), False),
    },
    lambda m: _mlkem_modulus(m[4]),
)
BUNDLE = Schema(
    1,
    {
        1: (Kind("msg", schema=IDENTITY), False),
        2: (Kind("msg", schema=SIGNED), False),
        3: (Kind("msg", schema=ONE_TIME), True),
        4: (Kind("msg", schema=KEM), False),
    },
    _NONE,
)


def _upload_flags(m: dict[Any, Any]) -> None:
    if m[4][3] is not True or any(k[3] is not False for k in m[5]):
        raise Fault("decode.range")


def _upload_ids(m: dict[Any, Any]) -> None:
    x_ids = [m[2][1], *(p[1] for p in m[3])]
    kem_ids = [m[4][1], *(k[1] for k in m[5])]
    if len(set(x_ids)) != len(x_ids) or len(set(kem_ids)) != len(kem_ids):
        raise Fault("decode.duplicate_id")


def _upload_check(m: dict[Any, Any]) -> None:
    """§4.6: the flags (decode.range), then distinct ids per kind (decode.duplicate_id)."""
    _upload_flags(m)
    _upload_ids(m)


UPLOAD = Schema(
    1,
    {
        1: (Kind("msg", schema=IDENTITY), False),
        2: (Kind("msg", schema=SIGNED), False),
        3: (Kind("list", 0, 100, item=Kind("msg", schema=ONE_TIME)), False),
        4: (Kind("msg", schema=KEM), False),
        5: (Kind("list", 0, 100, item=Kind("msg", schema=KEM)), False),
    },
    _upload_check,
)
SCHEMAS = {"prekey-bundle": BUNDLE, "prekey-upload": UPLOAD}


# --- §2.4 under each reading ----------------------------------------------------------------------


def _shallow(value: Any, kind: Kind) -> None:
    """§2.4 step 6's checks of one value that need no recursion."""
    expected = {"bytes": bytes, "uint": int, "bool": bool, "msg": dict, "list": list}[kind.name]
    if type(value) is not expected:
        raise Fault("decode.type")
    if kind.name == "bytes" and not kind.lo <= len(value) <= kind.hi:
        raise Fault("decode.length")
    if kind.name == "uint" and not 0 <= value <= kind.hi:
        raise Fault("decode.range")
    if kind.name == "list" and not kind.lo <= len(value) <= kind.hi:
        raise Fault("decode.count")


def _steps_2_to_5(value: Any, schema: Schema) -> None:
    if type(value) is not dict:
        raise Fault("decode.type")
    if value.get(0) != schema.version or type(value.get(0)) is not int:
        raise Fault("decode.version")
    if any(type(k) is not int or (k != 0 and k not in schema.fields) for k in value):
        raise Fault("decode.unknown_field")
    if any(not optional and k not in value for k, (_kind, optional) in schema.fields.items()):
        raise Fault("decode.missing_field")


def _children(value: Any, kind: Kind) -> list[tuple[Any, Schema]]:
    if kind.name == "msg":
        assert kind.schema is not None
        return [(value, kind.schema)]
    if kind.name == "list":
        assert kind.item is not None and kind.item.schema is not None
        return [(element, kind.item.schema) for element in value]
    return []


def _semantic(value: Any, schema: Schema, reading: str, flag: bool | None) -> None:
    """Step 7 of ``value``; ``flag`` is the last_resort value its place in an upload needs."""
    if reading == "flag-in-kem-prekey" and flag is not None and value[3] is not flag:
        raise Fault("decode.range")
    if reading == "ids-before-flags" and schema is UPLOAD:
        _upload_ids(value)
    schema.check(value)


def validate(
    value: Any,
    schema: Schema,
    reading: str,
    deferred: list[Callable[[], None]],
    flag: bool | None = None,
) -> None:
    """Raise the first :class:`Fault` of ``value`` under ``reading``."""
    _steps_2_to_5(value, schema)
    table = sorted(schema.fields.items())
    present = [(k, value[k], kind) for k, (kind, _optional) in table if k in value]

    def flag_of(key: int) -> bool | None:  # §4.6: what an upload's KEM prekeys must say
        return {4: True, 5: False}.get(key) if schema is UPLOAD else None

    if reading == "shallow-first":
        for _k, field, kind in present:
            _shallow(field, kind)
        for k, field, kind in present:
            for child, child_schema in _children(field, kind):
                validate(child, child_schema, reading, deferred, flag_of(k))
    else:
        for k, field, kind in present:
            _shallow(field, kind)
            if kind.name == "list":  # elements, each through steps 2-7 in order
                assert kind.item is not None
                for element in field:
                    _shallow(element, kind.item)
            for child, child_schema in _children(field, kind):
                validate(child, child_schema, reading, deferred, flag_of(k))
    if reading == "semantics-last":
        deferred.append(lambda: _semantic(value, schema, reading, flag))
    else:
        _semantic(value, schema, reading, flag)


def code_under(reading: str, structure: str, data: bytes) -> str:
    deferred: list[Callable[[], None]] = []
    try:
        validate(decode(data, max_size=len(data)), SCHEMAS[structure], reading, deferred)
        for check in deferred:  # children were appended before their parents
            check()
    except Fault as fault:
        return fault.code
    return "valid"


# --- the vectors ---------------------------------------------------------------------------------

READINGS = (
    "depth-first",
    "semantics-last",
    "shallow-first",
    "flag-in-kem-prekey",
    "ids-before-flags",
)


def _precedence_cases() -> list[dict[str, Any]]:
    document = json.loads((REPO / "vectors" / "keys.json").read_text(encoding="utf-8"))
    cases = [c for c in document["cases"] if "precedence" in c["flags"]]
    assert len(cases) >= 6
    return cases


def _implementation_code(structure: str, data: bytes) -> str:
    decoder = {"prekey-bundle": PrekeyBundle, "prekey-upload": PrekeyUpload}[structure]
    try:
        decoder.from_bytes(data)
    except ProtocolError as exc:
        return exc.code
    return "valid"


@pytest.mark.parametrize("case", _precedence_cases(), ids=lambda c: c["id"])
def test_precedence_vector_follows_the_depth_first_reading(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["encoding"])
    codes = {r: code_under(r, case["structure"], data) for r in READINGS}
    assert codes["depth-first"] == case["error"]
    assert _implementation_code(case["structure"], data) == case["error"]
    assert len(set(codes.values())) > 1, f"{case['id']} tells no reading apart: {codes}"


def test_the_readings_disagree_where_the_issue_says_they_could() -> None:
    """What each reading answers, case by case (a record for the next implementer)."""
    by_id = {c["id"]: c for c in _precedence_cases()}

    def codes(case_id: str) -> tuple[str, ...]:
        case = by_id[case_id]
        data = bytes.fromhex(case["encoding"])
        return tuple(code_under(r, case["structure"], data) for r in READINGS)

    # (depth-first, semantics-last, shallow-first, flag-in-kem-prekey, ids-before-flags)
    assert codes("upload-precedence-nested-check-before-later-count") == (
        "decode.low_order",
        "decode.count",
        "decode.count",
        "decode.low_order",
        "decode.low_order",
    )
    assert codes("upload-precedence-nested-length-before-later-count") == (
        "decode.length",
        "decode.length",
        "decode.count",
        "decode.length",
        "decode.length",
    )
    assert codes("bundle-precedence-nested-check-before-later-range") == (
        "decode.low_order",
        "decode.range",
        "decode.low_order",
        "decode.low_order",
        "decode.low_order",
    )
    # Item 4: the modulus check is the KEM prekey's own step 7, the flag the upload's.
    assert codes("upload-precedence-kem-modulus-before-flag") == (
        "decode.bad_key",
        "decode.bad_key",
        "decode.bad_key",
        "decode.range",
        "decode.bad_key",
    )
    assert codes("upload-precedence-later-modulus-before-flag") == (
        "decode.bad_key",
        "decode.bad_key",
        "decode.bad_key",
        "decode.range",
        "decode.bad_key",
    )
    assert codes("upload-precedence-flag-before-duplicate-id") == (
        "decode.range",
        "decode.range",
        "decode.range",
        "decode.range",
        "decode.duplicate_id",
    )


def test_the_validator_accepts_the_valid_structures() -> None:
    document = json.loads((REPO / "vectors" / "keys.json").read_text(encoding="utf-8"))
    for case in document["cases"]:
        if case["kind"] in ("bundle", "upload"):
            structure = "prekey-bundle" if case["kind"] == "bundle" else "prekey-upload"
            data = bytes.fromhex(case[case["kind"]])
            assert {code_under(r, structure, data) for r in READINGS} == {"valid"}
