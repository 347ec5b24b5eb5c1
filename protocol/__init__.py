"""Blindpost: end-to-end encrypted messaging whose servers are blind (spec/README.md).

The package is sans-I/O: no sockets, files, clocks or global randomness in protocol logic.
``rng`` and ``now`` are parameters. The stable API is re-exported here.
"""

from .errors import AuthenticationError, DecodeError, ProtocolError, StateError, UsageError

__all__ = [
    "AuthenticationError",
    "DecodeError",
    "ProtocolError",
    "StateError",
    "UsageError",
]

__version__ = "0.1.0"
