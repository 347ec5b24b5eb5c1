"""Blindpost: end-to-end encrypted messaging whose servers are blind (spec/README.md).

The package is sans-I/O: no sockets, files, clocks or global randomness in protocol logic.
``rng`` and ``now`` are parameters. The stable API is re-exported here; the modules are the
layers of the spec (``codec`` §2, ``primitives`` and ``hpke`` §3, ``keys`` §4, ``safety`` §5).
"""

from .codec import Message, decode, encode
from .errors import AuthenticationError, DecodeError, ProtocolError, StateError, UsageError
from .keys import (
    IdentityKey,
    IdentityKeyPair,
    KemPrekey,
    KemPrekeyPair,
    OneTimePrekey,
    OneTimePrekeyPair,
    PrekeyBundle,
    PrekeyUpload,
    SignedPrekey,
    SignedPrekeyPair,
)
from .safety import SafetyNumber, compare_scanned

__all__ = [
    "AuthenticationError",
    "DecodeError",
    "IdentityKey",
    "IdentityKeyPair",
    "KemPrekey",
    "KemPrekeyPair",
    "Message",
    "OneTimePrekey",
    "OneTimePrekeyPair",
    "PrekeyBundle",
    "PrekeyUpload",
    "ProtocolError",
    "SafetyNumber",
    "SignedPrekey",
    "SignedPrekeyPair",
    "StateError",
    "UsageError",
    "compare_scanned",
    "decode",
    "encode",
]

__version__ = "0.1.0"
