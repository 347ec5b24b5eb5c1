"""Spec §7.5: session lookup by tag — which session an incoming message belongs to, in O(1).

A :class:`SessionIndex` holds one dict from expected tag to session id for every session added
to it. Each session keeps its entries current on every commit (a small observer the index
attaches to it), so a lookup is one dict access: no trial decryption, whatever the number of
sessions or of stored skipped keys.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator

from ..errors import StateError, UsageError
from ._core import TAG_SIZE, Session, _message_bytes, _TagObserver

__all__ = ["SessionIndex"]


class _IndexLink(_TagObserver):
    """The observer a :class:`SessionIndex` attaches to one of its sessions."""

    __slots__ = ("_owners", "_session_id")

    def __init__(self, owners: dict[bytes, Hashable], session_id: Hashable) -> None:
        self._owners = owners
        self._session_id = session_id

    def replace(self, old: bytes, new: bytes | None) -> None:
        owners = self._owners
        if owners.get(old) == self._session_id:
            del owners[old]
        if new is not None:
            owners[new] = self._session_id

    def apply(self, removed: list[bytes], added: list[bytes]) -> None:
        owners = self._owners
        session_id = self._session_id
        for tag in removed:
            if owners.get(tag) == session_id:
                del owners[tag]
        for tag in added:
            owners[tag] = session_id


class SessionIndex:
    """Spec §7.5: expected tag → session id for many sessions (sans-I/O, in memory).

    ``add(session_id, session)`` registers a session's expected tags (its windows on the
    current and the next receiving chain and one tag per stored skipped key); from then on the
    session updates the index whenever it commits. ``lookup(data)`` returns the id of the
    session that expects the message's tag, or raises ``state.unknown_session``;
    ``decrypt(data)`` looks up and decrypts. Session ids are any hashable values except
    ``None``. A session belongs to at most one index.

    Memory: about ``2 × tag_window + stored skipped keys`` entries per session (§7.5).
    """

    __slots__ = ("_owners", "_sessions")

    def __init__(self) -> None:
        self._owners: dict[bytes, Hashable] = {}
        self._sessions: dict[Hashable, Session] = {}

    def add(self, session_id: Hashable, session: Session) -> None:
        """Index ``session`` under ``session_id`` (``usage.bad_argument`` if either is taken)."""
        if session_id is None or session_id in self._sessions:
            raise UsageError("usage.bad_argument", "session id is None or already indexed")
        if not isinstance(session, Session) or session._observer is not None:
            raise UsageError("usage.bad_argument", "not a Session, or already in an index")
        owners = self._owners
        for tag in session._attach(_IndexLink(owners, session_id)):
            owners[tag] = session_id
        self._sessions[session_id] = session

    def remove(self, session_id: Hashable) -> Session:
        """Drop a session and its expected tags; returns the session (no longer indexed)."""
        session = self._sessions.pop(session_id, None)
        if session is None:
            raise UsageError("usage.bad_argument", "no session with this id")
        owners = self._owners
        for tag in session._detach():
            if owners.get(tag) == session_id:
                del owners[tag]
        return session

    def lookup(self, data: bytes) -> Hashable:
        """Spec §7.5: the id of the session expecting this message's tag.

        ``decode.length``/``decode.too_large`` for a message of impossible length;
        ``state.unknown_session`` when no session expects the tag (a forgery, a replay, a
        message for another recipient, or one further ahead than the tag window).
        """
        session_id = self._owners.get(_message_bytes(data)[:TAG_SIZE])
        if session_id is None:
            raise StateError("state.unknown_session", "no session expects this tag")
        return session_id

    def decrypt(self, data: bytes) -> tuple[Hashable, bytes]:
        """Look the message up and decrypt it with its session: ``(session_id, plaintext)``."""
        session_id = self.lookup(data)
        return session_id, self._sessions[session_id].decrypt(data)

    def session(self, session_id: Hashable) -> Session:
        """The session indexed under ``session_id``."""
        try:
            return self._sessions[session_id]
        except KeyError:
            raise UsageError("usage.bad_argument", "no session with this id") from None

    @property
    def expected_tag_count(self) -> int:
        """How many tags the index holds (its memory is proportional to this)."""
        return len(self._owners)

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._sessions)

    def __repr__(self) -> str:
        return f"SessionIndex({len(self._sessions)} sessions, {len(self._owners)} tags)"
