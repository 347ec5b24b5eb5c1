"""Spec §2.4: the schema-directed fast path of ``Message.from_bytes`` changes nothing.

``Message.from_bytes`` first tries a reader that only accepts the exact encoding a class can
have, and falls back to the generic pipeline (``decode`` then ``from_cbor``) for anything else.
These tests compare the two on valid and hostile inputs: same value, or same error code. The
reference is the generic pipeline, called directly here; the fast reader is also called on its
own to show that valid inputs really take the fast path.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import codec
from protocol.codec import (
    MAX_DEPTH,
    Bool,
    Bytes,
    Field,
    FixedBytes,
    ListOf,
    Message,
    Nested,
    Text,
    UInt,
    decode,
)
from protocol.errors import DecodeError
from protocol.handshake import InitialMessage, PrekeyStore, initiate
from protocol.kat import SeededRng
from protocol.keys import IdentityKey, IdentityKeyPair, PrekeyBundle, PrekeyUpload


@dataclass(frozen=True, slots=True)
class Leaf(Message):
    VERSION: ClassVar[int] = 2
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "n", UInt(70_000, min_value=3)),
        Field(2, "label", Text(6), optional=True),
    )
    n: int
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Tree(Message):
    VERSION: ClassVar[int] = 300
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "key", FixedBytes(4)),
        Field(2, "blob", Bytes(max_len=300, min_len=1)),
        Field(3, "flag", Bool()),
        Field(4, "leaf", Nested(Leaf)),
        Field(5, "leaves", ListOf(Nested(Leaf), max_count=3)),
        Field(6, "tags", ListOf(Bytes(max_len=2), max_count=2, min_count=1), optional=True),
        Field(24, "big", UInt(2**64 - 1), optional=True),
        Field(300, "wide", FixedBytes(30), optional=True),
    )
    MAX_SIZE: ClassVar[int] = 2048
    key: bytes
    blob: bytes
    flag: bool
    leaf: Leaf
    leaves: tuple[Leaf, ...]
    tags: tuple[bytes, ...] | None = None
    big: int | None = None
    wide: bytes | None = None

    def _check(self) -> None:
        if self.key == bytes(4):
            raise DecodeError("decode.bad_key", "all-zero key")


def _outcome(thunk: Any) -> tuple[str, object]:
    try:
        return "ok", thunk()
    except DecodeError as exc:
        return "error", exc.code


def _generic(cls: type[Message], data: bytes) -> tuple[str, object]:
    return _outcome(lambda: cls.from_cbor(decode(data, max_size=cls.MAX_SIZE)))


def _fast_accepts(cls: type[Message], data: bytes) -> bool:
    """Whether the fast reader alone (without the re-encoding check) accepts ``data``."""
    read = codec._plan(cls).read
    assert read is not None
    try:
        _value, end = read(data, 0, 1)
    except (codec._Miss, IndexError, DecodeError):
        return False
    return end == len(data)


def _assert_same(cls: type[Message], data: bytes) -> tuple[str, object]:
    expected = _generic(cls, data)
    assert _outcome(lambda: cls.from_bytes(data)) == expected
    # The reader itself accepts exactly what the generic path accepts (the re-encoding
    # check in from_bytes is defence in depth, not what makes the fast path correct).
    assert _fast_accepts(cls, data) == (expected[0] == "ok")
    return expected


def _fast_read(cls: type[Message], data: bytes) -> object:
    read = codec._plan(cls).read
    assert read is not None
    value, end = read(data, 0, 1)
    assert end == len(data)
    return value


leaves = st.builds(
    Leaf,
    n=st.integers(3, 70_000),
    label=st.none()
    | st.text(st.characters(blacklist_categories=("Cs",)), max_size=6).filter(
        lambda t: len(t.encode("utf-8")) <= 6
    ),
)
trees = st.builds(
    Tree,
    key=st.binary(min_size=4, max_size=4).filter(lambda k: k != bytes(4)),
    blob=st.binary(min_size=1, max_size=300),
    flag=st.booleans(),
    leaf=leaves,
    leaves=st.lists(leaves, max_size=3).map(tuple),
    tags=st.none() | st.lists(st.binary(max_size=2), min_size=1, max_size=2).map(tuple),
    big=st.none() | st.integers(0, 2**64 - 1),
    wide=st.none() | st.binary(min_size=30, max_size=30),
)


@settings(max_examples=150, deadline=None)
@given(trees)
def test_valid_messages_take_the_fast_path(tree: Tree) -> None:
    data = tree.to_bytes()
    assert data == cbor2.dumps(tree.to_cbor())
    assert _fast_read(Tree, data) == tree
    assert _assert_same(Tree, data) == ("ok", tree)


def _mutate(data: bytes, position: int, op: int, byte: int) -> bytes:
    i = position % (len(data) + 1)
    if op == 0:
        return data[:i] + bytes([byte]) + data[i + 1 :]
    if op == 1:
        return data[:i] + bytes([byte]) + data[i:]
    if op == 2:
        return data[:i] + data[i + 1 :]
    if op == 3:
        return data[:i]
    return data + bytes([byte])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, st.integers(0, 2**16), st.integers(0, 4), st.integers(0, 255))
def test_mutated_messages_decode_as_the_generic_path_says(
    tree: Tree, position: int, op: int, byte: int
) -> None:
    _assert_same(Tree, _mutate(tree.to_bytes(), position, op, byte))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_as_the_generic_path_says(data: bytes) -> None:
    _assert_same(Tree, data)
    _assert_same(Leaf, data)


def _swap_entry(data: dict[Any, Any], key: Any, value: Any) -> dict[Any, Any]:
    out = dict(data)
    out[key] = value
    return out


def test_structural_variants_fall_back_with_their_codes() -> None:
    tree = Tree(b"\x01\x02\x03\x04", b"b", True, Leaf(5), (Leaf(7, "x"),), big=30)
    base = tree.to_bytes()
    head = base[0]
    # Non-minimal heads, each accepted by cbor2 but not by spec §2.2.
    non_minimal_map = bytes([0xB8, head & 0x1F]) + base[1:]
    assert _assert_same(Tree, non_minimal_map) == ("error", "decode.non_minimal")
    big_pos = base.index(b"\x18\x18\x18\x1e")  # key 24, value 30
    widened = base[: big_pos + 2] + b"\x19\x00\x1e" + base[big_pos + 4 :]
    assert _assert_same(Tree, widened) == ("error", "decode.non_minimal")
    # Keys out of order, duplicated, unknown; version wrong; trailing byte; size limit.
    mapping = tree.to_cbor()
    items = list(mapping.items())
    swapped = b"".join(
        [bytes([0xA0 | len(items)])]
        + [cbor2.dumps(k) + cbor2.dumps(v) for k, v in [items[0], items[2], items[1], *items[3:]]]
    )
    assert _assert_same(Tree, swapped) == ("error", "decode.unsorted_keys")
    duplicated = b"".join(
        [bytes([0xA0 | (len(items) + 1)])]
        + [cbor2.dumps(k) + cbor2.dumps(v) for k, v in [*items[:2], items[1], *items[2:]]]
    )
    assert _assert_same(Tree, duplicated) == ("error", "decode.duplicate_key")
    assert _assert_same(Tree, codec.encode(_swap_entry(mapping, 25, 1))) == (
        "error",
        "decode.unknown_field",
    )
    assert _assert_same(Tree, codec.encode(_swap_entry(mapping, 0, 301))) == (
        "error",
        "decode.version",
    )
    assert _assert_same(Tree, base + b"\x00") == ("error", "decode.trailing")
    padded = Tree(b"\x01\x02\x03\x04", b"b" * 300, True, Leaf(5), (Leaf(7, "x"),) * 3)
    assert len(padded.to_bytes()) <= Tree.MAX_SIZE
    assert _assert_same(Tree, padded.to_bytes())[0] == "ok"
    # Bounds and semantic checks.
    assert _assert_same(Tree, codec.encode(_swap_entry(mapping, 1, bytes(4)))) == (
        "error",
        "decode.bad_key",
    )
    low_leaf = _swap_entry(mapping, 4, {0: 2, 1: 2})
    assert _assert_same(Tree, codec.encode(low_leaf)) == ("error", "decode.range")
    bad_text = _swap_entry(mapping, 4, {0: 2, 1: 5, 2: "toolong"})
    assert _assert_same(Tree, codec.encode(bad_text)) == ("error", "decode.length")
    no_blob = dict(mapping)
    del no_blob[2]
    assert _assert_same(Tree, codec.encode(no_blob)) == ("error", "decode.missing_field")
    invalid_utf8 = codec.encode(_swap_entry(mapping, 4, {0: 2, 1: 5, 2: "ab"})).replace(
        b"\x62ab", b"\x62\xc3\x28"
    )
    assert _assert_same(Tree, invalid_utf8) == ("error", "decode.invalid_utf8")


def test_too_deep_schema_is_decided_by_the_generic_path() -> None:
    """A class nested deeper than MAX_DEPTH: the fast path must not accept its encoding."""
    inner: type[Message] = Leaf
    value: Message = Leaf(3)
    for level in range(MAX_DEPTH):
        cls = dataclasses.make_dataclass(
            f"Level{level}",
            [("inner", object)],
            bases=(Message,),
            namespace={"VERSION": 1, "FIELDS": (Field(1, "inner", Nested(inner)),)},
            frozen=True,
            slots=True,
        )
        inner, value = cls, cls(value)
    data = value.to_bytes()
    assert _assert_same(inner, data) == ("error", "decode.too_deep")
    one_less = value.inner  # type: ignore[attr-defined]
    assert _assert_same(type(one_less), one_less.to_bytes()) == ("ok", one_less)
    assert _fast_read(type(one_less), one_less.to_bytes()) == one_less


def _handshake_messages() -> list[tuple[type[Message], bytes]]:
    rng = SeededRng(b"codec-fast-path")
    alice, bob = IdentityKeyPair.generate(rng), IdentityKeyPair.generate(rng)
    store, upload = PrekeyStore.create(bob, now=1_767_225_600, rng=rng, batch=3)
    bundle = store.bundle()
    message = initiate(alice, bundle, b"hello", rng=rng).message
    no_opk = PrekeyBundle(bundle.identity, bundle.signed_prekey, None, bundle.kem_prekey)
    second = initiate(alice, no_opk, b"x" * 300, rng=rng).message
    return [
        (InitialMessage, message),
        (InitialMessage, second),
        (PrekeyBundle, bundle.to_bytes()),
        (PrekeyUpload, upload.to_bytes()),
        (IdentityKey, alice.public.to_bytes()),
    ]


HANDSHAKE_MESSAGES = _handshake_messages()


@pytest.mark.parametrize("index", range(len(HANDSHAKE_MESSAGES)))
def test_protocol_messages_take_the_fast_path(index: int) -> None:
    cls, data = HANDSHAKE_MESSAGES[index]
    assert _fast_read(cls, data) == cls.from_cbor(decode(data, max_size=cls.MAX_SIZE))
    assert _assert_same(cls, data)[0] == "ok"


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, len(HANDSHAKE_MESSAGES) - 2),
    st.integers(0, 2**17),
    st.integers(0, 4),
    st.integers(0, 255),
)
def test_mutated_protocol_messages_decode_as_the_generic_path_says(
    index: int, position: int, op: int, byte: int
) -> None:
    cls, data = HANDSHAKE_MESSAGES[index]
    _assert_same(cls, _mutate(data, position, op, byte))


def test_low_order_ephemeral_key_falls_back_with_its_code() -> None:
    cls, data = HANDSHAKE_MESSAGES[0]
    message = InitialMessage.from_bytes(data)
    bad = data.replace(message.ephemeral_key, bytes(32))
    assert _assert_same(cls, bad) == ("error", "decode.low_order")


def test_non_bytes_input_uses_the_generic_path() -> None:
    _cls, data = HANDSHAKE_MESSAGES[-1]
    assert IdentityKey.from_bytes(bytearray(data)) == IdentityKey.from_bytes(data)  # type: ignore[arg-type]
    assert IdentityKey.from_bytes(memoryview(data)) == IdentityKey.from_bytes(data)  # type: ignore[arg-type]
