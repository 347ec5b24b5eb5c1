"""Spec §2.4: the schema-directed fast path of ``Message.from_bytes`` changes nothing.

``Message.from_bytes`` first tries a reader that only accepts the exact encoding a class can
have, and falls back to the generic pipeline (``decode`` then ``from_cbor``) for anything else.
These tests compare the two on valid and hostile inputs: same value, or same error code. The
reference is the generic pipeline, called directly here; the fast reader is also called on its
own to show that valid inputs really take the fast path.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

import cbor2
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
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
from protocol.errors import DecodeError, UsageError
from protocol.handshake import InitialMessage, PrekeyStore, initiate
from protocol.kat import SeededRng
from protocol.keys import IdentityKey, IdentityKeyPair, PrekeyBundle, PrekeyUpload
from protocol.primitives import mlkem768_public_key, x25519_public_key


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


def _nest(
    inner: type[Message], value: Message, levels: int, prefix: str
) -> list[tuple[type[Message], Message]]:
    """``value`` and ``levels`` messages wrapped around it, each of a new class with one nested
    field: ``[(class, message)]`` from ``value`` outwards."""
    out: list[tuple[type[Message], Message]] = [(inner, value)]
    for level in range(levels):
        cls = dataclasses.make_dataclass(
            f"{prefix}{level}",
            [("inner", object)],
            bases=(Message,),
            namespace={"VERSION": 1, "FIELDS": (Field(1, "inner", Nested(inner)),)},
            frozen=True,
            slots=True,
        )
        inner, value = cls, cls(value)
        out.append((inner, value))
    return out


def test_too_deep_schema_is_decided_by_the_generic_path() -> None:
    """A class nested deeper than MAX_DEPTH: the fast path must not accept its encoding."""
    inner, value = _nest(Leaf, Leaf(3), MAX_DEPTH, "Level")[-1]
    data = value.to_bytes()
    assert _assert_same(inner, data) == ("error", "decode.too_deep")
    one_less = value.inner  # type: ignore[attr-defined]
    assert _assert_same(type(one_less), one_less.to_bytes()) == ("ok", one_less)
    assert _fast_read(type(one_less), one_less.to_bytes()) == one_less


def test_too_deep_list_is_decided_by_the_generic_path() -> None:
    """A list opening nesting level MAX_DEPTH + 1 under nested messages: no fast path."""

    @dataclass(frozen=True, slots=True)
    class Bottom(Message):
        VERSION: ClassVar[int] = 1
        FIELDS: ClassVar[tuple[Field, ...]] = (Field(1, "items", ListOf(FixedBytes(2), 3)),)
        items: tuple[bytes, ...]

    levels = _nest(Bottom, Bottom((b"ab",)), MAX_DEPTH - 1, "ListLevel")
    inner, value = levels[-1]
    chain = [level_value for _cls, level_value in levels]
    # The top map is at depth 1, Bottom's map at MAX_DEPTH, its list at MAX_DEPTH + 1.
    data = value.to_bytes()
    assert _assert_same(inner, data) == ("error", "decode.too_deep")
    table = codec._table_reader(inner)
    assert _read_outcome(table, data) == _read_outcome(codec._plan(inner).read, data) == ("miss",)
    one_less = chain[-2]
    assert _assert_same(type(one_less), one_less.to_bytes()) == ("ok", one_less)


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


# --------------------------------------------------------------------------------------------
# The generated code (reader, to_cbor, construction check) against the table-driven reference,
# on every Message class of the package.
# --------------------------------------------------------------------------------------------


def _package_message_classes() -> list[type[Message]]:
    """Every concrete Message subclass defined in a ``protocol`` module (all imported)."""
    import protocol

    for info in pkgutil.walk_packages(protocol.__path__, "protocol."):
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional dependency missing: its messages are not reachable
            continue
    found: dict[str, type[Message]] = {}
    stack: list[type[Message]] = [Message]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if not sub.__module__.startswith("protocol."):
                continue
            holder: object = sys.modules[sub.__module__]
            for part in sub.__qualname__.split("."):
                holder = getattr(holder, part, None)
            if holder is sub:  # not the class dataclass(slots=True) replaced
                found[f"{sub.__module__}.{sub.__qualname__}"] = sub
    return [found[name] for name in sorted(found)]


PACKAGE_MESSAGES = _package_message_classes()
ALL_MESSAGES: list[type[Message]] = [*PACKAGE_MESSAGES, Leaf, Tree]
_IDS = [f"{cls.__module__.removeprefix('protocol.')}.{cls.__qualname__}" for cls in ALL_MESSAGES]


def test_every_package_message_class_is_found() -> None:
    names = {cls.__name__ for cls in PACKAGE_MESSAGES}
    assert len(PACKAGE_MESSAGES) >= 50
    assert {"FirstContactInner", "IdentityKey", "ClientState", "SessionState", "Done"} <= names


# Values that pass the semantic checks (_check) often enough for the readers to accept:
# a ristretto255 element (also a valid X25519 key), a real ML-KEM-768 public key, zeros.
_RISTRETTO_BASE = bytes.fromhex("e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76")
_POOL: dict[int, list[bytes]] = {
    16: [bytes(16)],
    32: [_RISTRETTO_BASE, x25519_public_key(bytes(range(32))), bytes(32)],
    64: [bytes(64)],
    1184: [mlkem768_public_key(bytes(range(64)))],
}
_LENGTH_EDGES = (0, 1, 23, 24, 255, 256, 65_535, 65_536)
_INT_EDGES = (0, 1, 23, 24, 255, 256, 65_535, 65_536, 2**32 - 1, 2**32, 2**64 - 1)
_STRATEGIES: dict[type[Message], st.SearchStrategy[Message]] = {}


def _byte_strings(low: int, high: int) -> st.SearchStrategy[bytes]:
    lengths = st.integers(low, min(high, low + 40)) | st.sampled_from(
        [n for n in (low, *_LENGTH_EDGES, high) if low <= n <= min(high, 70_000)]
    )
    return lengths.flatmap(_byte_string)


def _byte_string(n: int) -> st.SearchStrategy[bytes]:
    if n <= 2048:
        return st.just(bytes(n)) | st.binary(min_size=n, max_size=n)
    return st.just(bytes(n)) | st.binary(min_size=16, max_size=16).map(
        lambda b: (b * (n // 16 + 1))[:n]
    )


def _kind_values(kind: codec.Kind) -> st.SearchStrategy[Any]:
    """Attribute values within the kind's bounds (the semantic checks may still fail)."""
    if isinstance(kind, FixedBytes):
        exact = st.binary(min_size=kind.length, max_size=kind.length)
        pool = _POOL.get(kind.length)
        return st.sampled_from(pool) | exact if pool else exact
    if isinstance(kind, Bytes):
        return _byte_strings(kind.min_len, kind.max_len)
    if isinstance(kind, UInt):
        low, high = kind.min_value, kind.max_value
        edges = [n for n in (low, *_INT_EDGES, high) if low <= n <= high]
        # Mostly the lowest values: semantic checks that want two ids equal pass often.
        small = st.integers(low, min(high, low + 1))
        return small | small | st.sampled_from(edges) | st.integers(low, high)
    if isinstance(kind, Text):
        return st.text(st.sampled_from("ab+1é€😀"), max_size=kind.max_len).filter(
            lambda t: kind.min_len <= len(t.encode("utf-8")) <= kind.max_len
        )
    if isinstance(kind, Bool):
        return st.booleans()
    if isinstance(kind, Nested):
        return _raw_messages(kind.message)
    assert isinstance(kind, ListOf)
    low = kind.min_count
    lists = st.lists(_kind_values(kind.item), min_size=low, max_size=min(kind.max_count, low + 2))
    if isinstance(kind.item, FixedBytes | UInt) and low <= 24 <= kind.max_count:
        lists |= st.lists(_kind_values(kind.item), min_size=24, max_size=24)
    return lists.map(tuple)


def _build_raw(cls: type[Message], values: dict[str, Any]) -> Message:
    """An instance with these attribute values, without any validation (like a reader)."""
    instance = object.__new__(cls)
    for name, value in values.items():
        codec._slot_setter(cls, name)(instance, value)
    return instance


def _raw_messages(cls: type[Message]) -> st.SearchStrategy[Message]:
    """Instances whose fields are within their bounds; their ``_check`` may fail."""
    strategy = _STRATEGIES.get(cls)
    if strategy is None:
        fields = {}
        for field in cls.FIELDS:
            values = _kind_values(field.kind)
            fields[field.name] = st.none() | values if field.optional else values
        strategy = st.fixed_dictionaries(fields).map(lambda v: _build_raw(cls, v))
        _STRATEGIES[cls] = strategy
    return strategy


def _reference_value(kind: codec.Kind, value: Any) -> Any:
    if isinstance(kind, Nested):
        return _reference_cbor(value)
    if isinstance(kind, ListOf):
        return [_reference_value(kind.item, element) for element in value]
    return value


def _reference_cbor(message: Message) -> dict[Any, Any]:
    """Spec §2.4's map of a message, written here from the schema alone."""
    out: dict[Any, Any] = {0: message.VERSION}
    for field in sorted(message.FIELDS, key=lambda f: f.key):
        value = getattr(message, field.name)
        if value is not None:
            out[field.key] = _reference_value(field.kind, value)
    return out


def _snapshot(value: Any) -> Any:
    """A comparable picture of a value (secret-holding messages compare by identity)."""
    if isinstance(value, Message):
        fields = tuple((f.name, _snapshot(getattr(value, f.name))) for f in value.FIELDS)
        return type(value), fields
    if type(value) is tuple:
        return "tuple", tuple(_snapshot(element) for element in value)
    return type(value), value


def _read_outcome(read: Any, data: bytes) -> tuple[object, ...]:
    try:
        value, end = read(data, 0, 1)
    except (codec._Miss, IndexError):
        return ("miss",)
    except DecodeError as exc:  # a semantic check of the message or of a nested one
        return ("error", exc.code)
    return ("ok", _snapshot(value), end)


def _pipeline_outcome(thunk: Any) -> tuple[object, ...]:
    try:
        return ("ok", _snapshot(thunk()))
    except DecodeError as exc:
        return ("error", exc.code)


_from_bytes = Message.from_bytes.__func__  # type: ignore[attr-defined]
_MUTATIONS = st.tuples(st.integers(0, 2**17), st.integers(0, 5), st.integers(0, 255))


@pytest.mark.parametrize("cls", ALL_MESSAGES, ids=_IDS)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_reader_agrees_with_the_table_reader(
    cls: type[Message], data: st.DataObject
) -> None:
    raw = data.draw(_raw_messages(cls))
    encoded = codec.encode(_reference_cbor(raw))
    position, op, byte = data.draw(_MUTATIONS)
    candidates = [encoded]
    if op < 5:
        candidates.append(_mutate(encoded, position, op, byte))
    generated, table = codec._plan(cls).read, codec._table_reader(cls)
    assert (generated is None) == (table is None)
    if generated is None:
        return
    for candidate in candidates:
        outcome = _read_outcome(generated, candidate)
        assert outcome == _read_outcome(table, candidate)
        # And Message.from_bytes (generated reader + re-encoding check) still says what the
        # generic pipeline says (a class may add to its own from_bytes: LookupResponse).
        expected = _pipeline_outcome(
            lambda c=candidate: cls.from_cbor(decode(c, max_size=cls.MAX_SIZE))
        )
        assert _pipeline_outcome(lambda c=candidate: _from_bytes(cls, c)) == expected
        if expected[0] == "ok":
            assert outcome[0] == "ok"


@pytest.mark.parametrize("cls", ALL_MESSAGES, ids=_IDS)
def test_generated_reader_accepts_some_valid_encoding(cls: type[Message]) -> None:
    """The strategies above do produce encodings the readers accept (else (a) proves little)."""
    read = codec._plan(cls).read
    assert read is not None
    assert read.__code__.co_filename.startswith("<blindpost.codec ")  # type: ignore[attr-defined]

    def accepted(message: Message) -> bool:
        encoded = codec.encode(_reference_cbor(message))
        return _read_outcome(read, encoded)[0] == "ok"

    found = find(
        _raw_messages(cls),
        accepted,
        settings=settings(
            max_examples=3000,
            database=None,
            derandomize=True,  # a fixed search: the outcome does not vary from run to run
            phases=[Phase.generate],  # the first one found will do: no shrinking
            suppress_health_check=list(HealthCheck),
        ),
    )
    encoded = codec.encode(_reference_cbor(found))
    assert _read_outcome(read, encoded) == _read_outcome(codec._table_reader(cls), encoded)


@pytest.mark.parametrize("cls", ALL_MESSAGES, ids=_IDS)
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_to_cbor_equals_the_table_loop(cls: type[Message], data: st.DataObject) -> None:
    raw = data.draw(_raw_messages(cls))
    generated = raw.to_cbor()
    assert "to_cbor" in cls.__dict__  # the generated method sits on the class itself
    expected = codec._table_to_cbor(raw)
    assert generated == expected == _reference_cbor(raw)
    assert list(generated) == list(expected) == sorted(expected)  # same (ascending) key order
    assert codec._plan(cls).to_cbor(raw) == expected
    assert Message.to_cbor(raw) == expected


class _Other:
    pass


_BAD_VALUES: list[object] = [
    None,
    0,
    -1,
    3,
    2**32,
    2**64,
    True,
    False,
    1.5,
    b"",
    bytes(16),
    bytes(31),
    bytes(32),
    bytes(33),
    bytes(64),
    bytes(89),
    bytearray(32),
    memoryview(bytes(32)),
    "",
    "ab",
    "\ud800",
    "é" * 9,
    (),
    (b"",),
    (bytes(32),) * 2,
    [bytes(32)],
    (3, 4),
    _Other(),
    Leaf(5),
]


def _just_outside(kind: codec.Kind) -> list[object]:
    """Values one step outside the kind's bounds (and of the neighbouring types)."""
    if isinstance(kind, FixedBytes):
        return [bytes(kind.length + 1), bytes(max(kind.length - 1, 0)), bytearray(kind.length)]
    if isinstance(kind, Bytes):
        return [bytes(kind.max_len + 1), bytes(max(kind.min_len - 1, 0)), bytes(kind.min_len)]
    if isinstance(kind, UInt):
        low, high = kind.min_value, kind.max_value
        return [low - 1, high + 1, low, high, bool(low), float(low)]
    if isinstance(kind, Text):
        return ["a" * (kind.max_len + 1), "a" * max(kind.min_len - 1, 0), b"ab"]
    if isinstance(kind, ListOf):
        low, high = kind.min_count, kind.max_count
        return [(None,) * (high + 1), (None,) * max(low - 1, 0), [None] * low]
    return [0, 1, None]


@pytest.mark.parametrize("cls", ALL_MESSAGES, ids=_IDS)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_construction_fails_as_the_table_check_did(cls: type[Message], data: st.DataObject) -> None:
    raw = data.draw(_raw_messages(cls))
    values = {f.name: getattr(raw, f.name) for f in cls.FIELDS}
    if values and data.draw(st.booleans()):
        name = data.draw(st.sampled_from(sorted(values)))
        other_kinds = [f.kind for f in cls.FIELDS] + [Nested(Leaf), ListOf(UInt(9), 2)]
        kind = next(f.kind for f in cls.FIELDS if f.name == name)
        values[name] = data.draw(
            st.sampled_from(_BAD_VALUES)
            | st.sampled_from(_just_outside(kind))
            | st.sampled_from(other_kinds).flatmap(_kind_values)
            | _raw_messages(data.draw(st.sampled_from([Leaf, Tree, IdentityKey])))
        )

    def outcome(thunk: Any) -> tuple[object, ...]:
        try:
            thunk()
        except Exception as exc:  # the same exception, code, text and cause
            cause = exc.__cause__
            return (
                type(exc),
                getattr(exc, "code", None),
                str(exc),
                type(cause),
                getattr(cause, "code", None),
            )
        return ("ok",)

    expected = outcome(lambda: codec._table_post_init(_build_raw(cls, values)))
    assert outcome(lambda: cls(**values)) == expected
    assert outcome(lambda: codec._plan(cls).post_init(_build_raw(cls, values))) == expected


@dataclass(frozen=True, slots=True)
class LeafPlus(Leaf):
    """A subclass with a field more: it gets its own generated methods, not Leaf's."""

    FIELDS: ClassVar[tuple[Field, ...]] = (*Leaf.FIELDS, Field(3, "extra", Bool()))
    extra: bool = False


@dataclass(frozen=True, slots=True)
class LeafOwnEncoding(Leaf):
    """A subclass with its own to_cbor keeps it."""

    def to_cbor(self) -> dict[int | str, Any]:
        return {0: 2, 1: self.n + 1}


def test_subclasses_get_their_own_generated_methods() -> None:
    assert Leaf(4).to_cbor() == {0: 2, 1: 4}  # Leaf's plan (and methods) exist first
    plus = LeafPlus(4, "x", True)
    assert plus.to_cbor() == {0: 2, 1: 4, 2: "x", 3: True}
    assert LeafPlus.from_bytes(plus.to_bytes()).extra is True
    with pytest.raises(UsageError):
        LeafPlus(4, None, 1)  # type: ignore[arg-type]
    own = LeafOwnEncoding(4)
    assert own.to_cbor() == {0: 2, 1: 5}
    assert LeafOwnEncoding.__dict__["to_cbor"] is not codec._plan(LeafOwnEncoding).to_cbor
    assert Message.to_cbor(own) == {0: 2, 1: 4}
    with pytest.raises(UsageError):
        LeafOwnEncoding(2)


def test_generated_source_holds_no_value_of_the_schema_but_ints() -> None:
    """Bytes constants reach the generated code through its namespace, never its source."""
    sources: list[str] = []
    original = codec._compile

    def spy(source: list[str], name: str, cls: Any, namespace: dict[str, object]) -> object:
        sources.append("\n".join(source))
        return original(source, name, cls, namespace)

    @dataclass(frozen=True, slots=True)
    class Probe(Message):
        VERSION: ClassVar[int] = 7
        FIELDS: ClassVar[tuple[Field, ...]] = (
            Field(1, "a", FixedBytes(3)),
            Field(2, "b", Bytes(40, min_len=30), optional=True),
        )
        a: bytes
        b: bytes | None = None

    codec._compile = spy  # type: ignore[assignment]
    try:
        codec._plan(Probe)
    finally:
        codec._compile = original  # type: ignore[assignment]
    assert len(sources) == 3
    for source in sources:
        assert "b'" not in source and 'b"' not in source and "Probe" not in source
    probe = Probe(b"abc", bytes(30))
    assert Probe.from_bytes(probe.to_bytes()) == probe
