"""Spec §7: the Double Ratchet with header encryption, session lookup and exported state.

* :class:`Session` — one end of a session: ``Session.initiator(...)`` /
  ``Session.responder(...)`` from the handshake's output (§6), ``encrypt(plaintext) -> bytes``,
  ``decrypt(data) -> bytes``; every failure leaves it unchanged.
* :class:`SessionIndex` — which session an incoming message belongs to, by its tag, in O(1).
* :class:`Limits` — the named bounds of a session (jump, stored skipped keys, chain age, tag
  window); :data:`DEFAULT_LIMITS`.
* :class:`SessionSnapshot` — the export type: ``session.snapshot()``,
  ``snapshot.to_bytes(storage_key, rng)``, ``SessionSnapshot.from_bytes(blob, storage_key)``,
  ``Session.restore(snapshot, rng=rng)``.

The package is one layer: ``_core`` (the state machine), ``_index`` (lookup) and ``_state``
(limits and the exported state with its migrations) are private modules.
"""

from ._core import (
    ENCRYPTED_HEADER_SIZE,
    HEADER_SIZE,
    MAX_MESSAGE_SIZE,
    MAX_PLAINTEXT_SIZE,
    MESSAGE_OVERHEAD,
    TAG_SIZE,
    Session,
    kdf_ck,
    kdf_rk,
    parse_message,
    tag_key,
)
from ._index import SessionIndex
from ._state import (
    DEFAULT_LIMITS,
    MAX_ASSOCIATED_DATA_SIZE,
    MAX_STATE_SIZE,
    STATE_VERSION,
    STORAGE_KEY_SIZE,
    Limits,
    PreviousChain,
    PreviousChainV0,
    SessionSnapshot,
    SessionState,
    SessionStateV0,
    load_state,
)

__all__ = [
    "DEFAULT_LIMITS",
    "ENCRYPTED_HEADER_SIZE",
    "HEADER_SIZE",
    "MAX_ASSOCIATED_DATA_SIZE",
    "MAX_MESSAGE_SIZE",
    "MAX_PLAINTEXT_SIZE",
    "MAX_STATE_SIZE",
    "MESSAGE_OVERHEAD",
    "STATE_VERSION",
    "STORAGE_KEY_SIZE",
    "TAG_SIZE",
    "Limits",
    "PreviousChain",
    "PreviousChainV0",
    "Session",
    "SessionIndex",
    "SessionSnapshot",
    "SessionState",
    "SessionStateV0",
    "kdf_ck",
    "kdf_rk",
    "load_state",
    "parse_message",
    "tag_key",
]
