"""Spec §8.6: the directory — registration, unregistration, k-anonymous fixed-size lookups."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.blinding import MailboxKeyPair
from protocol.codec import Message, decode, encode
from protocol.directory import (
    BUCKET_CAPACITY,
    FRESHNESS_WINDOW,
    LOOKUP_RESPONSE_SIZE,
    MAX_DIRECTORY_TIME,
    MAX_PAGES,
    MAX_REGISTRATIONS_PER_TOKEN,
    PAGE_SLOTS,
    REGISTRATION_LIFETIME,
    TARGET_LOAD,
    Directory,
    LookupRequest,
    LookupResponse,
    Registration,
    Unregistration,
    lookup_request,
    prefix_bits_for,
    read_lookup_response,
    registrations_for,
    token_prefix,
)
from protocol.errors import DecodeError, ProtocolError, StateError
from protocol.kat import SeededRng
from protocol.keys import IdentityKeyPair
from protocol.ratelimit import RateLimit

NOW = 1_767_225_600
RNG = SeededRng(b"test_directory")


def code(action: Callable[[], object]) -> str:
    with pytest.raises(ProtocolError) as info:
        action()
    return info.value.code


class Owner:
    def __init__(self, name: str) -> None:
        rng = SeededRng(b"test_directory/" + name.encode())
        self.identity = IdentityKeyPair.generate(rng)
        self.mailbox = MailboxKeyPair.generate(rng)

    def registration(self, token: bytes, at: int = NOW) -> bytes:
        return Registration.sign(self.identity, token, self.mailbox.public_key, now=at).to_bytes()

    def unregistration(self, token: bytes, at: int = NOW) -> bytes:
        return Unregistration.sign(self.identity, token, now=at).to_bytes()


ALICE, BOB, MALLORY = Owner("alice"), Owner("bob"), Owner("mallory")
TOKEN = hashlib.sha256(b"token").digest()


def token(i: int) -> bytes:
    return hashlib.sha256(b"token %d" % i).digest()


def edit(data: bytes, key: int, value: Any) -> bytes:
    item = decode(data, max_size=1 << 20)
    assert isinstance(item, dict)
    item[key] = value
    return encode(item)


def lookup(directory: Directory, tok: bytes, now: int = NOW) -> list[Registration]:
    """The client's whole lookup: parameters, every page, local filtering and verification."""
    bits = directory.parameters().prefix_bits
    first = lookup_request(tok, bits)
    pages = [read_lookup_response(first, directory.lookup(first.to_bytes(), now=now))]
    for page in range(1, pages[0].page_count):
        request = lookup_request(tok, bits, page)
        pages.append(read_lookup_response(request, directory.lookup(request.to_bytes(), now=now)))
    return registrations_for(tok, pages)


# --- registration structures ------------------------------------------------------------------


def test_registration_signature_payload_is_fixed_width() -> None:
    reg = Registration.from_bytes(ALICE.registration(TOKEN))
    assert reg.signature_payload() == (
        b"Blindpost-v1 directory-registration"
        + TOKEN
        + ALICE.mailbox.public_key
        + NOW.to_bytes(8, "big")
    )
    reg.verify()
    unreg = Unregistration.from_bytes(ALICE.unregistration(TOKEN))
    assert unreg.signature_payload() == (
        b"Blindpost-v1 directory-unregistration"
        + TOKEN
        + ALICE.identity.public.signing_key
        + NOW.to_bytes(8, "big")
    )
    unreg.verify()


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (1, bytes(31), "decode.length"),
        (3, bytes(32), "decode.bad_element"),
        (4, -1, "decode.range"),
        (5, bytes(63), "decode.length"),
        (6, 0, "decode.unknown_field"),
    ],
)
def test_registration_decoding_errors(key: int, value: Any, expected: str) -> None:
    data = edit(ALICE.registration(TOKEN), key, value)
    assert code(lambda: Registration.from_bytes(data)) == expected


def test_registration_authentication() -> None:
    data = ALICE.registration(TOKEN)
    for i in (0, 63):
        sig = Registration.from_bytes(data).signature
        forged = edit(data, 5, sig[:i] + bytes([sig[i] ^ 1]) + sig[i + 1 :])
        assert code(lambda f=forged: Registration.from_bytes(f).verify()) == "auth.failed"
    # The token, the mailbox key and the time are all signed.
    for key, value in ((1, token(1)), (3, BOB.mailbox.public_key), (4, NOW + 1)):
        changed = edit(data, key, value)
        assert code(lambda c=changed: Registration.from_bytes(c).verify()) == "auth.failed"
    other_identity = decode(BOB.identity.public.to_bytes())
    swapped = edit(data, 2, other_identity)
    assert code(lambda: Registration.from_bytes(swapped).verify()) == "auth.failed"


# --- register / unregister ----------------------------------------------------------------------


def test_register_lookup_unregister() -> None:
    directory = Directory()
    directory.register(b"a", ALICE.registration(TOKEN), now=NOW)
    directory.register(b"b", BOB.registration(token(1)), now=NOW)
    (found,) = lookup(directory, TOKEN)
    assert found.identity == ALICE.identity.public
    assert found.mailbox_key == ALICE.mailbox.public_key
    assert lookup(directory, token(2)) == []
    directory.unregister(ALICE.unregistration(TOKEN, NOW + 1), now=NOW + 1)
    assert lookup(directory, TOKEN, NOW + 1) == []
    assert len(directory) == 1


def test_a_newer_registration_replaces_the_older() -> None:
    directory = Directory()
    directory.register(b"a", ALICE.registration(TOKEN), now=NOW)
    directory.register(b"a", ALICE.registration(TOKEN, NOW + 5), now=NOW + 5)
    (found,) = lookup(directory, TOKEN, NOW + 5)
    assert found.registered_at == NOW + 5 and len(directory) == 1


def test_several_identities_per_token_up_to_the_limit() -> None:
    directory = Directory()
    owners = [Owner(f"claimant {i}") for i in range(MAX_REGISTRATIONS_PER_TOKEN + 1)]
    for i, owner in enumerate(owners[:-1]):
        directory.register(b"c%d" % i, owner.registration(TOKEN), now=NOW)
    assert len(lookup(directory, TOKEN)) == MAX_REGISTRATIONS_PER_TOKEN
    before = directory.snapshot()
    refused = owners[-1].registration(TOKEN)
    assert code(lambda: directory.register(b"z", refused, now=NOW)) == "state.token_full"
    assert directory.snapshot() == before
    # A holder may still renew its own registration.
    directory.register(b"c0", owners[0].registration(TOKEN, NOW + 1), now=NOW + 1)


def test_freshness_and_replay() -> None:
    directory = Directory()
    early = ALICE.registration(TOKEN, NOW - FRESHNESS_WINDOW - 1)
    late = ALICE.registration(TOKEN, NOW + FRESHNESS_WINDOW + 1)
    assert code(lambda: directory.register(b"a", early, now=NOW)) == "state.stale"
    assert code(lambda: directory.register(b"a", late, now=NOW)) == "state.stale"
    edge = ALICE.registration(TOKEN, NOW - FRESHNESS_WINDOW)
    directory.register(b"a", edge, now=NOW)
    assert code(lambda: directory.register(b"a", edge, now=NOW)) == "state.stale"  # replay
    unreg = ALICE.unregistration(TOKEN, NOW)
    directory.unregister(unreg, now=NOW)
    assert code(lambda: directory.unregister(unreg, now=NOW)) == "state.stale"
    # The registration signed before the unregistration cannot come back.
    assert code(lambda: directory.register(b"a", edge, now=NOW)) == "state.stale"
    directory.register(b"a", ALICE.registration(TOKEN, NOW + 1), now=NOW + 1)


def test_unregistration_needs_the_registered_identity() -> None:
    directory = Directory()
    directory.register(b"a", ALICE.registration(TOKEN), now=NOW)
    # Mallory names Alice's signing key but can only sign with her own.
    forged = edit(MALLORY.unregistration(TOKEN, NOW + 1), 2, ALICE.identity.public.signing_key)
    assert code(lambda: directory.unregister(forged, now=NOW + 1)) == "auth.failed"
    # Mallory's own, valid unregistration removes nothing of Alice's.
    own = MALLORY.unregistration(TOKEN, NOW + 1)
    assert code(lambda: directory.unregister(own, now=NOW + 1)) == "state.not_registered"
    assert len(lookup(directory, TOKEN, NOW + 1)) == 1


def test_registration_rate_limit() -> None:
    directory = Directory(rate=RateLimit(capacity=2, refill_interval=100))
    directory.register(b"one", ALICE.registration(token(1)), now=NOW)
    directory.register(b"one", ALICE.registration(token(2)), now=NOW)
    third = ALICE.registration(token(3))
    assert code(lambda: directory.register(b"one", third, now=NOW)) == "state.rate_limited"
    directory.register(b"two", third, now=NOW)


def test_every_refusal_leaves_the_directory_unchanged() -> None:
    directory = Directory(rate=RateLimit(capacity=3, refill_interval=100))
    good = MALLORY.registration(token(2))
    directory.register(b"a", ALICE.registration(TOKEN), now=NOW)
    directory.register(b"a", BOB.registration(token(1)), now=NOW)
    directory.register(b"a", good, now=NOW)  # the credential's last token
    before = directory.snapshot()
    attempts: list[tuple[Callable[[], object], str]] = [
        (lambda: directory.register(b"b", good[:-1], now=NOW), "decode.truncated"),
        (lambda: directory.register(b"", good, now=NOW), "decode.length"),
        (lambda: directory.register(b"b", edit(good, 4, NOW + 1), now=NOW), "auth.failed"),
        (lambda: directory.register(b"b", good, now=NOW), "state.stale"),
        (
            lambda: directory.register(b"a", ALICE.registration(token(3)), now=NOW),
            "state.rate_limited",
        ),
        (
            lambda: directory.unregister(MALLORY.unregistration(TOKEN), now=NOW),
            "state.not_registered",
        ),
        (
            lambda: directory.unregister(
                edit(MALLORY.unregistration(token(2), NOW + 1), 3, NOW + 2), now=NOW
            ),
            "auth.failed",
        ),
        (
            lambda: directory.lookup(lookup_request(TOKEN, 3).to_bytes(), now=NOW),
            "state.prefix_length",
        ),
        (lambda: directory.lookup(b"\xa0", now=NOW), "decode.version"),
    ]
    for attempt, expected in attempts:
        assert code(attempt) == expected
        assert directory.snapshot() == before


# --- lookups: fixed size, k-anonymity, pagination ---------------------------------------------


def test_prefix_length_grows_with_the_directory() -> None:
    """Spec §8.6.5: b = max(0, ceil(log2(N / 32))), checked against the formula and the table."""
    for n in [0, 1, 32, 33, 64, 65, 1000, 10**5, 10**6, 10**9, 32 * 2**32]:
        expected = 0 if n <= TARGET_LOAD else math.ceil(math.log2(n / TARGET_LOAD))
        assert prefix_bits_for(n) == expected
        if n:
            assert n / 2 ** prefix_bits_for(n) <= TARGET_LOAD
    assert prefix_bits_for(10**6) == 15 and pytest.approx(30.5, abs=0.1) == 10**6 / 2**15
    assert prefix_bits_for(10**9) == 25 and pytest.approx(29.8, abs=0.1) == 10**9 / 2**25
    assert prefix_bits_for(10**12) == 32  # capped


def test_prefix_length_integer_form() -> None:
    """Spec §8.6.5: the smallest b with 32 · 2^b >= N, in integers, at every power of two."""
    for b in range(33):
        edge = TARGET_LOAD << b
        assert prefix_bits_for(edge) == b
        assert prefix_bits_for(edge + 1) == min(b + 1, 32)


def test_token_prefix() -> None:
    tok = bytes.fromhex("a5") + bytes(31)
    assert [token_prefix(tok, b) for b in (0, 1, 4, 8, 12)] == [0, 1, 0xA, 0xA5, 0xA50]


#: Times whose uint encodings have every width a uint32 can have (1, 2, 3 and 5 bytes).
_TIMES = [0, 23, 24, 255, 256, 65_535, 65_536, NOW, MAX_DIRECTORY_TIME]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entries=st.integers(0, PAGE_SLOTS),
    split=st.integers(0, PAGE_SLOTS),
    bits=st.integers(0, 32),
    page=st.integers(0, MAX_PAGES - 1),
    when=st.sampled_from(_TIMES),
    other=st.sampled_from(_TIMES),
)
def test_property_every_response_has_the_fixed_size(
    entries: int, split: int, bits: int, page: int, when: int, other: int
) -> None:
    one = Registration.sign(ALICE.identity, TOKEN, ALICE.mailbox.public_key, now=when)
    two = Registration.sign(ALICE.identity, TOKEN, ALICE.mailbox.public_key, now=other)
    prefix = token_prefix(TOKEN, bits)
    page_entries = (one,) * min(split, entries) + (two,) * (entries - min(split, entries))
    response = LookupResponse.build(bits, prefix, page, MAX_PAGES, page_entries)
    data = response.to_bytes()
    assert len(data) == LOOKUP_RESPONSE_SIZE
    assert LookupResponse.from_bytes(data) == response


def test_every_page_can_be_padded() -> None:
    """Spec §8.6.4 (issue 11, item 8): the padding length always exists.

    ``L`` zero bytes take ``L + h(L)`` bytes with their head; that sum takes every value but
    25 and 258. The widest page (64 entries, every field at its widest, uint32 times) leaves
    300, and every other page leaves more, so no page ever needs 25 or 258.
    """

    def head(n: int) -> int:
        return 1 if n < 24 else 2 if n < 256 else 3 if n < 65_536 else 5

    reachable = {n + head(n) for n in range(LOOKUP_RESPONSE_SIZE)}
    assert set(range(1, LOOKUP_RESPONSE_SIZE)) - reachable == {25, 258}
    widest = Registration.sign(
        ALICE.identity, TOKEN, ALICE.mailbox.public_key, now=MAX_DIRECTORY_TIME
    )
    bare = LookupResponse(32, 2**32 - 1, MAX_PAGES - 1, MAX_PAGES, (widest,) * PAGE_SLOTS, b"")
    empty_padding_size = len(Message.to_bytes(bare))
    assert empty_padding_size == 18_389
    # 1 byte of key 6, then L + h(L): at least 300 on the widest page.
    assert LOOKUP_RESPONSE_SIZE - (empty_padding_size - 2) - 1 == 300


def test_signed_directory_times_are_uint32() -> None:
    """Spec §8.6.1, §8.6.2: registered_at and timestamp above 2^32 - 1 are decode.range."""
    reg = ALICE.registration(TOKEN)
    unreg = ALICE.unregistration(TOKEN)
    assert code(lambda: Registration.from_bytes(_edit(reg, 4, 2**32))) == "decode.range"
    assert code(lambda: Unregistration.from_bytes(_edit(unreg, 3, 2**32))) == "decode.range"
    assert Registration.from_bytes(_edit(reg, 4, MAX_DIRECTORY_TIME)).registered_at == 2**32 - 1
    assert code(lambda: ALICE.registration(TOKEN, at=2**32)) == "usage.bad_argument"


def _edit(data: bytes, key: int, value: int) -> bytes:
    item = decode(data)
    assert isinstance(item, dict)
    item[key] = value
    return encode(item)


def test_empty_and_full_buckets_answer_with_the_same_size() -> None:
    directory = Directory()
    empty = directory.lookup(lookup_request(TOKEN, 0).to_bytes(), now=NOW)
    fill = [
        Registration.sign(ALICE.identity, token(i), ALICE.mailbox.public_key, now=NOW)
        for i in range(PAGE_SLOTS)
    ]
    directory._insert_unchecked(fill)
    bits = directory.parameters().prefix_bits
    full = directory.lookup(lookup_request(token(0), bits).to_bytes(), now=NOW)
    assert len(empty) == len(full) == LOOKUP_RESPONSE_SIZE
    assert LookupResponse.from_bytes(empty).entries == ()
    assert len(LookupResponse.from_bytes(full).entries) > 0


def test_buckets_partition_the_directory_and_pages_cover_a_bucket() -> None:
    directory = Directory()
    regs = [
        Registration.sign(ALICE.identity, token(i), ALICE.mailbox.public_key, now=NOW)
        for i in range(300)
    ]
    directory._insert_unchecked(regs)
    bits = directory.parameters().prefix_bits
    assert bits == prefix_bits_for(300) == 4
    seen: list[bytes] = []
    for prefix in range(2**bits):
        first = LookupRequest(bits, prefix, 0)
        page0 = read_lookup_response(first, directory.lookup(first.to_bytes(), now=NOW))
        pages = [page0]
        for p in range(1, page0.page_count):
            req = LookupRequest(bits, prefix, p)
            pages.append(read_lookup_response(req, directory.lookup(req.to_bytes(), now=NOW)))
        bucket = [e.token for page in pages for e in page.entries]
        assert all(token_prefix(t, bits) == prefix for t in bucket)
        assert bucket == sorted(bucket)
        seen += bucket
    assert sorted(seen) == sorted(r.token for r in regs)


def test_overfull_bucket_is_paginated() -> None:
    directory = Directory()
    same_prefix = [
        b"\x00\x00\x00\x00" + hashlib.sha256(b"%d" % i).digest()[:28] for i in range(150)
    ]
    regs = [
        Registration.sign(ALICE.identity, t, ALICE.mailbox.public_key, now=NOW) for t in same_prefix
    ]
    directory._insert_unchecked(regs)
    bits = directory.parameters().prefix_bits
    assert bits == 3
    first = lookup_request(same_prefix[0], bits)
    page0 = read_lookup_response(first, directory.lookup(first.to_bytes(), now=NOW))
    assert page0.page_count == 3 and len(page0.entries) == PAGE_SLOTS
    assert len(lookup(directory, same_prefix[149])) == 1
    # A page beyond the last is answered, empty, at the same size.
    beyond = lookup_request(same_prefix[0], bits, 5)
    assert read_lookup_response(beyond, directory.lookup(beyond.to_bytes(), now=NOW)).entries == ()


def test_full_bucket_refuses_registrations() -> None:
    directory = Directory()
    crowd = [b"\x00" * 4 + hashlib.sha256(b"%d" % i).digest()[:28] for i in range(BUCKET_CAPACITY)]
    directory._insert_unchecked(
        [Registration.sign(ALICE.identity, t, ALICE.mailbox.public_key, now=NOW) for t in crowd]
    )
    before = directory.snapshot()
    late = BOB.registration(b"\x00" * 4 + b"\xff" * 28)
    assert code(lambda: directory.register(b"b", late, now=NOW)) == "state.bucket_full"
    assert directory.snapshot() == before
    directory.register(b"b", BOB.registration(b"\xff" * 32), now=NOW)  # another bucket


def test_expired_registrations_are_not_served_and_can_be_pruned() -> None:
    directory = Directory()
    directory.register(b"a", ALICE.registration(TOKEN), now=NOW)
    end = NOW + REGISTRATION_LIFETIME
    assert len(lookup(directory, TOKEN, end)) == 1
    assert lookup(directory, TOKEN, end + 1) == []
    assert directory.prune(end + 1) == 1 and len(directory) == 0


def test_prefix_length_counts_live_registrations_only() -> None:
    """Spec §8.6.5 (issue 11, item 6): deleting expired registrations changes nothing visible.

    32 registrations keep the prefix at 0 bits. Once they have expired, a 33rd registration
    makes one live registration, so the prefix stays 0 whether or not the directory pruned
    the expired ones first (counting stored registrations would give 1 bit without pruning).
    """
    rate = RateLimit(capacity=1000, refill_interval=1)
    kept, pruned = Directory(rate=rate), Directory(rate=rate)
    for directory in (kept, pruned):
        for i in range(TARGET_LOAD):
            directory.register(b"c", ALICE.registration(token(i), at=NOW + i), now=NOW + i)
        assert directory.parameters().prefix_bits == 0
    later = NOW + TARGET_LOAD + REGISTRATION_LIFETIME
    assert pruned.prune(later) == TARGET_LOAD
    for directory in (kept, pruned):
        directory.register(b"c", BOB.registration(TOKEN, at=later), now=later)
        assert directory.parameters().prefix_bits == 0
    assert len(kept) == TARGET_LOAD + 1 and len(pruned) == 1
    # While they are live they count: the 33rd registration then grows the prefix to 1 bit.
    live = Directory(rate=rate)
    for i in range(TARGET_LOAD + 1):
        live.register(b"c", ALICE.registration(token(i), at=NOW), now=NOW)
    assert live.parameters().prefix_bits == 1


def test_renewal_of_a_live_registration_counts_once() -> None:
    rate = RateLimit(capacity=1000, refill_interval=1)
    directory = Directory(rate=rate)
    for i in range(TARGET_LOAD):
        directory.register(b"c", ALICE.registration(token(i), at=NOW), now=NOW)
    directory.register(b"c", ALICE.registration(token(0), at=NOW + 1), now=NOW + 1)
    assert len(directory) == TARGET_LOAD and directory.parameters().prefix_bits == 0


def test_directory_capacity_bounds_registrations_and_replay_records() -> None:
    # Spec §1.6, §8.6.1 step 7: a (token, identity) the directory holds nothing of is refused
    # at capacity, registrations and replay records alike; what it holds can be renewed.
    rate = RateLimit(capacity=100, refill_interval=1)
    directory = Directory(rate=rate, capacity=2)
    directory.register(b"c", ALICE.registration(token(1)), now=NOW)
    directory.register(b"c", ALICE.registration(token(2)), now=NOW)
    before = directory.snapshot()
    assert code(lambda: directory.register(b"c", ALICE.registration(token(3)), now=NOW)) == (
        "state.directory_full"
    )
    assert directory.snapshot() == before
    directory.register(b"c", ALICE.registration(token(1), NOW + 1), now=NOW + 1)  # a renewal
    # Unregistering keeps the replay record, so the freed slot is not yet free.
    directory.unregister(ALICE.unregistration(token(2), NOW + 2), now=NOW + 2)
    assert len(directory) == 1
    assert code(
        lambda: directory.register(b"c", BOB.registration(token(3), NOW + 2), now=NOW + 2)
    ) == ("state.directory_full")
    # Once the record is older than the freshness window, pruning forgets it.
    later = NOW + 2 + FRESHNESS_WINDOW + 1
    directory.prune(later)
    directory.register(b"c", BOB.registration(token(3), later), now=later)
    assert len(directory) == 2
    assert code(lambda: Directory(capacity=0)) == "usage.bad_argument"


def test_lookup_requests_never_carry_the_token() -> None:
    directory = Directory()
    directory._insert_unchecked(
        [
            Registration.sign(ALICE.identity, token(i), ALICE.mailbox.public_key, now=NOW)
            for i in range(10**3)
        ]
    )
    bits = directory.parameters().prefix_bits
    request = lookup_request(TOKEN, bits).to_bytes()
    assert bits == 5 and len(request) <= 9
    assert TOKEN[:4] not in request  # only the first 5 bits travel


# --- the client's checks ----------------------------------------------------------------------


def _one_page() -> tuple[LookupRequest, bytes]:
    directory = Directory()
    directory.register(b"a", ALICE.registration(TOKEN), now=NOW)
    request = lookup_request(TOKEN, 0)
    return request, directory.lookup(request.to_bytes(), now=NOW)


def test_client_rejects_responses_that_do_not_answer_or_are_forged() -> None:
    request, response = _one_page()
    item = decode(response)
    assert isinstance(item, dict)
    padding = item[6]
    assert isinstance(padding, bytes)
    assert (
        code(lambda: read_lookup_response(request, edit(response, 6, padding[:-1] + b"\x01")))
        == "decode.padding"
    )
    assert (
        code(lambda: read_lookup_response(request, edit(response, 6, padding[:-1])))
        == "decode.padding"
    )
    assert (
        code(lambda: read_lookup_response(request, edit(response, 6, padding + b"\x00")))
        == "decode.too_large"
    )
    assert code(lambda: read_lookup_response(request, edit(response, 3, 1))) == "state.mismatch"
    assert code(lambda: read_lookup_response(request, edit(response, 4, 0))) == "decode.range"
    wider = LookupRequest(1, token_prefix(TOKEN, 1), 0)
    assert code(lambda: read_lookup_response(wider, response)) == "state.mismatch"
    entries = item[5]
    assert isinstance(entries, list) and isinstance(entries[0], dict)
    sig = entries[0][5]
    assert isinstance(sig, bytes)
    entries[0][5] = bytes([sig[0] ^ 1]) + sig[1:]
    forged = read_lookup_response(request, encode(item))
    assert code(lambda: registrations_for(TOKEN, [forged])) == "auth.failed"
    # A forged entry for another token is not the client's business.
    assert registrations_for(token(9), [forged]) == []


def test_entries_outside_the_bucket_are_refused() -> None:
    directory = Directory()
    regs = [
        Registration.sign(ALICE.identity, token(i), ALICE.mailbox.public_key, now=NOW)
        for i in range(40)
    ]
    directory._insert_unchecked(regs)
    request = lookup_request(token(0), 1)
    response = directory.lookup(request.to_bytes(), now=NOW)
    item = decode(response)
    assert isinstance(item, dict)
    stranger = next(r for r in regs if token_prefix(r.token, 1) != request.prefix)
    entries = item[5]
    assert isinstance(entries, list)
    entries[0] = stranger.to_cbor()
    assert code(lambda: read_lookup_response(request, encode(item))) == "state.mismatch"


def test_pages_must_be_complete_and_consistent() -> None:
    request, response = _one_page()
    page = read_lookup_response(request, response)
    assert code(lambda: registrations_for(TOKEN, [])) == "usage.bad_argument"
    assert code(lambda: registrations_for(TOKEN, [page, page])) == "usage.bad_argument"
    two = LookupResponse.build(0, 0, 0, 2, ())
    assert code(lambda: registrations_for(TOKEN, [two])) == "usage.bad_argument"
    second = LookupResponse.build(0, 0, 1, 3, ())
    assert code(lambda: registrations_for(TOKEN, [two, second])) == "state.mismatch"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_mutated_registrations_fail_cleanly_and_change_nothing(
    data: st.DataObject,
) -> None:
    directory = Directory()
    directory.register(b"a", BOB.registration(token(1)), now=NOW)
    good = bytearray(ALICE.registration(TOKEN))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(good) - 1))
        good[i] ^= 1 << data.draw(st.integers(0, 7))
    before = directory.snapshot()
    try:
        directory.register(b"a", bytes(good), now=NOW)
    except (DecodeError, StateError) as exc:
        assert directory.snapshot() == before, exc.code
    except ProtocolError as exc:
        assert exc.code == "auth.failed"
        assert directory.snapshot() == before
