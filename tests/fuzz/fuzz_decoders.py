"""Spec §2.3: fuzz harness for every decoder of hostile bytes (atheris).

Run by hand (``pip install atheris`` first; it is not a project dependency)::

    .venv/bin/python tests/fuzz/fuzz_decoders.py tests/fuzz/corpus -max_total_time=600

Every callable in :data:`DECODERS` receives each input; only :class:`DecodeError` may escape.
Anything else (another exception, a hang, a crash) is a finding. The seeds in ``corpus/`` are
replayed as unit tests by ``tests/test_fuzz_corpus.py``; add a minimised reproducer there for
every bug the fuzzer finds.

Later modules register their wire structures by appending ``TheirMessage.from_bytes`` to
:data:`DECODERS` below (one line each), so the same harness and corpus cover them.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from protocol.codec import (
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
from protocol.directory import (
    DirectoryParameters,
    LookupRequest,
    LookupResponse,
    Registration,
    Unregistration,
)
from protocol.errors import DecodeError
from protocol.evaluator import EvaluationRequest, EvaluationResponse, PublishedKey
from protocol.handshake import InitialMessage
from protocol.keys import (
    IdentityKey,
    KemPrekey,
    OneTimePrekey,
    PrekeyBundle,
    PrekeyUpload,
    SignedPrekey,
)
from protocol.oprf import Proof
from protocol.ratchet import (
    Limits,
    PreviousChain,
    SessionState,
    SessionStateV0,
    load_state,
    parse_message,
)
from protocol.safety import ScannableSafetyNumber

CORPUS = Path(__file__).resolve().parent / "corpus"


@dataclass(frozen=True, slots=True)
class ToyHeader(Message):
    """Shaped like a ratchet header: fixed bytes and two bounded counters."""

    VERSION: ClassVar[int] = 1
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "dh", FixedBytes(32)),
        Field(2, "n", UInt(2**32 - 1)),
        Field(3, "pn", UInt(2**32 - 1)),
    )
    dh: bytes
    n: int
    pn: int


@dataclass(frozen=True, slots=True)
class ToyBundle(Message):
    """Every field kind: bounded bytes and text, bool, nested, lists, optional fields."""

    VERSION: ClassVar[int] = 2
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field(1, "identity", FixedBytes(32)),
        Field(2, "name", Text(max_len=64)),
        Field(3, "header", Nested(ToyHeader)),
        Field(4, "prekeys", ListOf(Bytes(max_len=40, min_len=32), max_count=8)),
        Field(5, "headers", ListOf(Nested(ToyHeader), max_count=4), optional=True),
        Field(6, "last_resort", Bool()),
        Field(7, "signature", Bytes(max_len=64, min_len=64), optional=True),
    )
    MAX_SIZE: ClassVar[int] = 4096
    identity: bytes
    name: str
    header: ToyHeader
    prekeys: tuple[bytes, ...]
    last_resort: bool
    headers: tuple[ToyHeader, ...] | None = None
    signature: bytes | None = None


#: Every decoder of hostile bytes. Register new ones here (``Message.from_bytes`` of each
#: wire structure, other parsers of peer input).
DECODERS: list[Callable[[bytes], object]] = [
    decode,
    ToyHeader.from_bytes,
    ToyBundle.from_bytes,
    # Spec §4 and §5: keys, bundles, uploads, safety numbers.
    IdentityKey.from_bytes,
    SignedPrekey.from_bytes,
    OneTimePrekey.from_bytes,
    KemPrekey.from_bytes,
    PrekeyBundle.from_bytes,
    PrekeyUpload.from_bytes,
    ScannableSafetyNumber.from_bytes,
    # Spec §6: the handshake's initial message.
    InitialMessage.from_bytes,
    # Spec §8.1: the RFC 9497 DLEQ proof (64 raw bytes).
    Proof.from_bytes,
    # Spec §8.5, §8.6: the evaluator's and the directory's wire structures.
    PublishedKey.from_bytes,
    EvaluationRequest.from_bytes,
    EvaluationResponse.from_bytes,
    Registration.from_bytes,
    Unregistration.from_bytes,
    DirectoryParameters.from_bytes,
    LookupRequest.from_bytes,
    LookupResponse.from_bytes,
    # Spec §7: ratchet messages and exported session states (any version, with migration).
    parse_message,
    Limits.from_bytes,
    PreviousChain.from_bytes,
    SessionState.from_bytes,
    SessionStateV0.from_bytes,
    load_state,
]


def check_one(data: bytes) -> None:
    """Feed ``data`` to every decoder; only :class:`DecodeError` may escape."""
    for decoder in DECODERS:
        with contextlib.suppress(DecodeError):
            decoder(data)


def replay(paths: list[Path]) -> int:
    """Run every file under ``paths`` (files or folders) through :func:`check_one`."""
    count = 0
    for path in paths:
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file():
                check_one(file.read_bytes())
                count += 1
    return count


def main(argv: list[str]) -> None:
    try:
        import atheris  # lazily: the module must import without it
    except ImportError:
        targets = [Path(a) for a in argv[1:] if not a.startswith("-")] or [CORPUS]
        count = replay(targets)
        print(f"atheris is not installed (pip install atheris); replayed {count} inputs: ok")
        return
    atheris.Setup(argv, check_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
