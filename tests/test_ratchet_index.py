"""Spec §7.5: session lookup by tag (``SessionIndex``) — O(1), exact, kept current on commit."""

from __future__ import annotations

from collections.abc import Callable, Hashable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.errors import ProtocolError
from protocol.ratchet import Limits, Session, SessionIndex
from tests.test_ratchet import pair

LIMITS = Limits(max_jump=30, max_skipped_keys=6, max_chain_age=2, tag_window=4)


def code(action: Callable[[], object]) -> str:
    with pytest.raises(ProtocolError) as info:
        action()
    return info.value.code


def expected_entries(index: SessionIndex) -> dict[bytes, Hashable]:
    """What the index must hold: every session's windows and stored skipped keys (§7.5)."""
    out: dict[bytes, Hashable] = {}
    for session_id in index:
        session = index.session(session_id)
        tags = session._expected_tags()
        assert len(tags) == len(set(tags))
        for tag in tags:
            out[tag] = session_id
    return out


def test_lookup_finds_the_session_of_each_message() -> None:
    index = SessionIndex()
    peers = {}
    for i in range(20):
        alice, bob = pair(label=f"index-{i}")
        bob.decrypt(alice.encrypt(b"hello"))
        index.add(f"contact-{i}", bob)
        peers[f"contact-{i}"] = alice
    assert len(index) == 20
    assert index.expected_tag_count == 20 * 2 * 32  # two windows of 32 per session
    for session_id, alice in reversed(list(peers.items())):
        message = alice.encrypt(session_id.encode())
        assert index.lookup(message) == session_id
        assert index.decrypt(message) == (session_id, session_id.encode())
        assert code(lambda m=message: index.lookup(m)) == "state.unknown_session"


def test_unknown_and_malformed() -> None:
    index = SessionIndex()
    alice, bob = pair()
    index.add("bob", bob)
    message = alice.encrypt(b"x")
    assert index.lookup(message) == "bob"
    assert code(lambda: index.lookup(b"\x01" + message[1:])) == "state.unknown_session"
    assert code(lambda: index.lookup(message[:87])) == "decode.length"
    assert code(lambda: index.lookup(bytes(70_000))) == "decode.too_large"


def test_messages_beyond_the_window_are_not_found_but_still_decrypt() -> None:
    index = SessionIndex()
    alice, bob = pair(LIMITS)
    index.add("bob", bob)
    sent = [alice.encrypt(b"%d" % i) for i in range(6)]
    assert index.lookup(sent[3]) == "bob"  # window [0, 4) of the first chain
    assert code(lambda: index.lookup(sent[4])) == "state.unknown_session"
    assert bob.decrypt(sent[5]) == b"5"  # given directly, the session accepts the jump
    assert index._owners == expected_entries(index)
    for i in range(5):
        assert index.decrypt(sent[i]) == ("bob", b"%d" % i)  # now stored skipped keys
    assert index._owners == expected_entries(index)


def test_add_and_remove() -> None:
    index = SessionIndex()
    alice, bob = pair()
    index.add("bob", bob)
    assert code(lambda: index.add("bob", pair(label="other")[1])) == "usage.bad_argument"
    assert code(lambda: index.add("again", bob)) == "usage.bad_argument"
    assert code(lambda: index.add(None, pair(label="x")[1])) == "usage.bad_argument"
    assert "bob" in index and "carol" not in index
    assert index.remove("bob") is bob
    assert index.expected_tag_count == 0
    assert code(lambda: index.remove("bob")) == "usage.bad_argument"
    assert code(lambda: index.session("bob")) == "usage.bad_argument"
    message = alice.encrypt(b"x")
    assert bob.decrypt(message) == b"x"  # no longer indexed: nothing to update
    index.add("bob", bob)
    assert index._owners == expected_entries(index)
    assert "2 tags" not in repr(index) and "1 sessions" in repr(index)


_KINDS = ["send_a"] * 4 + ["send_b"] * 2 + ["deliver_a"] * 2 + ["deliver_b"] * 3 + ["direct_b"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    actions=st.lists(
        st.tuples(st.sampled_from(_KINDS), st.integers(0, 999)), min_size=40, max_size=100
    )
)
def test_index_holds_exactly_the_expected_tags(actions: list[tuple[str, int]]) -> None:
    """After every operation (in order, out of order, jumps, DH steps, evictions, chain
    deletion, failures) the index holds exactly the union of the sessions' expected tags,
    and every in-window message of an indexed session is found."""
    index = SessionIndex()
    sessions: dict[str, tuple[Session, Session]] = {}
    for name in ("x", "y"):
        alice, bob = pair(LIMITS, label=f"prop-{name}")
        sessions[name] = (alice, bob)
        index.add(f"bob-{name}", bob)
        index.add(f"alice-{name}", alice)
    in_flight: dict[str, list[bytes]] = {}
    for kind, k in actions:
        name = "xy"[k % 2]
        alice, bob = sessions[name]
        if kind == "send_a":
            in_flight.setdefault(f"bob-{name}", []).append(alice.encrypt(b"a"))
        elif kind == "send_b" and bob.can_send:
            in_flight.setdefault(f"alice-{name}", []).append(bob.encrypt(b"b"))
        elif kind.startswith(("deliver", "direct")):
            target = f"{'bob' if kind.endswith('b') else 'alice'}-{name}"
            queue = in_flight.get(target, [])
            if not queue:
                continue
            message = queue.pop(k % len(queue))
            try:
                if kind == "direct_b":
                    index.session(target).decrypt(message)
                else:
                    assert index.decrypt(message)[0] == target
            except ProtocolError as exc:
                assert exc.code in (
                    "state.unknown_session",
                    "state.skip_limit",
                    "state.replay",
                    "auth.failed",
                )
        assert index._owners == expected_entries(index)
