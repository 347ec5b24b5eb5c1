"""Spec §10.8–§10.9: what a relay stores, as an interface, and the in-memory store.

A store holds exactly the tables of spec §10.8 and nothing else. The relay (``_core``) calls it
inside :meth:`RelayStore.transaction`, does every check before its first write, and so leaves a
store unchanged when an operation fails. :class:`MemoryStore` is the reference; the SQLite store
lives in the I/O edge (``protocol.edge.sqlite_store``) and passes the same test suite
(``tests/test_relay_store.py``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import StateError, UsageError

__all__ = [
    "BUCKET_HANDOUT",
    "BUCKET_INBOUND",
    "STORED_FIELDS",
    "DepositView",
    "EnvelopeRecord",
    "MailboxRecord",
    "MemoryStore",
    "RelayStore",
    "bucket_fields",
    "read_deposit_view",
]

#: The two token buckets a mailbox has (spec §10.1).
BUCKET_INBOUND = "inbound"
BUCKET_HANDOUT = "handout"


def bucket_fields(which: str) -> tuple[str, str]:
    """The mailbox fields (§10.8) that hold bucket ``which``: ``(tokens, updated)``; an unknown
    bucket is ``usage.bad_argument``."""
    if which == BUCKET_INBOUND:
        return "inbound_tokens", "inbound_updated"
    if which == BUCKET_HANDOUT:
        return "handout_tokens", "handout_updated"
    raise UsageError("usage.bad_argument", "no such bucket")

#: Spec §10.8: every table and its fields; ``RelayStore.dump`` returns rows with exactly these.
#: A mailbox row carries what it holds (``held``, ``held_bytes``: the quotas of §10.4, kept with
#: every envelope written or deleted) and its two token buckets (``None`` while full).
STORED_FIELDS: dict[str, tuple[str, ...]] = {
    "mailbox": (
        "address",
        "kind",
        "effort",
        "deposit_key",
        "touched",
        "held",
        "held_bytes",
        "inbound_tokens",
        "inbound_updated",
        "handout_tokens",
        "handout_updated",
    ),
    "envelope": ("address", "id", "envelope", "arrival", "expires"),
    "bundle": ("address", "bundle"),
    "one_time_prekey": ("address", "prekey_id", "prekey"),
    "tombstone": ("address", "id", "until"),
    "owner_proof": ("address", "commitment", "until"),
    "pow": ("seed", "nonce"),
    "seed": ("seed", "created"),
}


@dataclass(frozen=True, slots=True)
class MailboxRecord:
    """Spec §10.8 ``mailbox``: ``effort`` for a first-contact mailbox, ``deposit_key`` for a
    conversation mailbox; ``touched`` is the time of the last owner operation."""

    address: bytes
    kind: int
    effort: int | None
    deposit_key: bytes | None
    touched: int


@dataclass(frozen=True, slots=True)
class EnvelopeRecord:
    """Spec §10.8 ``envelope``."""

    address: bytes
    id: bytes
    envelope: bytes
    arrival: int
    expires: int


@dataclass(frozen=True, slots=True)
class DepositView:
    """Spec §10.4: everything a deposit's checks read, in one store call (one query in the SQL
    stores): the mailbox (``None`` if unknown; the other fields are then false and zero),
    whether it holds this envelope id or a live tombstone of it, whether the request's seed is
    one of the kept seeds and its (seed, nonce) is recorded already (false without a seed),
    the mailbox's usage and its inbound bucket (``None``: full)."""

    mailbox: MailboxRecord | None
    stored: bool
    tombstoned: bool
    seed_kept: bool
    pow_used: bool
    held: int
    held_bytes: int
    inbound: tuple[int, int] | None


class RelayStore(Protocol):
    """Spec §10.9: the operations the relay needs on the tables of §10.8.

    Reads return current values; writes take effect at once inside the transaction and become
    durable when :meth:`transaction` exits without an exception (rolled back otherwise).
    """

    def transaction(self) -> AbstractContextManager[None]: ...

    # mailbox
    def get_mailbox(self, address: bytes) -> MailboxRecord | None: ...
    def put_mailbox(self, mailbox: MailboxRecord) -> None: ...
    def delete_mailbox(self, address: bytes) -> None:
        """Delete the mailbox (with its usage and buckets) and its envelopes, bundle and one-time
        prekeys (not its tombstones or owner-proof replay entries, which run out by
        themselves)."""

    def mailbox_count(self) -> int: ...

    # envelope
    def mailbox_usage(self, address: bytes) -> tuple[int, int]:
        """``(count, bytes)`` of the envelopes the mailbox holds (expired ones included)."""

    def has_envelope(self, address: bytes, envelope_id: bytes) -> bool: ...
    def put_envelope(self, record: EnvelopeRecord) -> None: ...
    def envelopes(
        self, address: bytes, now: int, limit: int, max_bytes: int
    ) -> list[EnvelopeRecord]:
        """Unexpired envelopes (``expires > now``) in arrival order (ties: deposit order), at
        most ``limit``, stopping before their sizes would exceed ``max_bytes`` (at least one)."""

    def delete_envelopes(self, address: bytes, ids: Sequence[bytes]) -> list[bytes]:
        """Delete the named envelopes of the mailbox; return the ids that were deleted."""

    # a deposit (spec §10.4): its reads in one call, its writes in one call
    def deposit_view(
        self,
        address: bytes,
        envelope_id: bytes,
        now: int,
        seed: bytes | None,
        nonce: bytes | None,
        seeds_kept: int,
    ) -> DepositView:
        """What :func:`read_deposit_view` returns, read at once."""

    def put_deposit(
        self,
        record: EnvelopeRecord,
        inbound: tuple[int, int],
        pow_entry: tuple[bytes, bytes] | None,
    ) -> None:
        """:meth:`put_envelope`, the inbound bucket and (for a first contact) :meth:`put_pow`,
        with the latter's ``state.replay``."""

    # bundle and one-time prekeys
    def get_bundle(self, address: bytes) -> bytes | None: ...
    def put_bundle(self, address: bytes, bundle: bytes) -> None: ...
    def one_time_count(self, address: bytes) -> int: ...
    def add_one_time(self, address: bytes, prekeys: Sequence[tuple[int, bytes]]) -> None:
        """Add one-time prekeys (id, encoding); an id the pool holds already is skipped."""

    def take_one_time(self, address: bytes) -> bytes | None:
        """Remove and return the oldest one-time prekey of the pool, if any."""

    # buckets (held in the mailbox row)
    def get_bucket(self, address: bytes, which: str) -> tuple[int, int] | None:
        """``(tokens, updated)``; ``None`` when the bucket is full or the mailbox unknown."""

    def put_bucket(self, address: bytes, which: str, tokens: int, updated: int) -> None:
        """Set a bucket of a mailbox the store holds (of an unknown one: nothing happens)."""

    # replay records
    def has_tombstone(self, address: bytes, envelope_id: bytes, now: int) -> bool: ...
    def put_tombstone(self, address: bytes, envelope_id: bytes, until: int) -> None: ...
    def proof_count(self, address: bytes, now: int) -> int: ...
    def has_proof(self, address: bytes, commitment: bytes) -> bool: ...
    def put_proof(self, address: bytes, commitment: bytes, until: int) -> None:
        """Record an owner proof's ``R``; ``state.replay`` if the address has it already (a
        use that raced the relay's :meth:`has_proof` check in another process)."""

    def has_pow(self, seed: bytes, nonce: bytes) -> bool: ...
    def put_pow(self, seed: bytes, nonce: bytes) -> None:
        """Record a proof of work; ``state.replay`` if it is recorded already (as above)."""

    # seeds
    def seeds(self) -> list[tuple[bytes, int]]:
        """``(seed, created)``, newest first."""

    def put_seed(self, seed: bytes, created: int) -> None: ...

    # maintenance
    def expire(self, now: int, idle_before: int, tombstone_until: int, seeds_kept: int) -> None:
        """Spec §10.7: delete envelopes with ``expires ≤ now`` (leaving a tombstone until
        ``tombstone_until``), tombstones and owner-proof entries with ``until ≤ now``, mailboxes
        not touched since ``idle_before``, and all but the newest ``seeds_kept`` seeds with
        their proof-of-work entries."""

    def checkpoint(self) -> None:
        """Spec §10.9: after maintenance, let no journal keep the bytes of deleted rows (SQLite:
        ``wal_checkpoint(TRUNCATE)``); a store without a journal does nothing."""

    def dump(self) -> dict[str, list[dict[str, object]]]:
        """Every row of every table of §10.8, as ``{table: [{field: value}]}`` (tests)."""


@dataclass(slots=True)
class _Tables:
    mailboxes: dict[bytes, MailboxRecord] = field(default_factory=dict)
    envelopes: dict[bytes, OrderedDict[bytes, EnvelopeRecord]] = field(default_factory=dict)
    bundles: dict[bytes, bytes] = field(default_factory=dict)
    one_time: dict[bytes, OrderedDict[int, bytes]] = field(default_factory=dict)
    buckets: dict[tuple[bytes, str], tuple[int, int]] = field(default_factory=dict)
    tombstones: dict[tuple[bytes, bytes], int] = field(default_factory=dict)
    proofs: dict[bytes, dict[bytes, int]] = field(default_factory=dict)
    pow: set[tuple[bytes, bytes]] = field(default_factory=set)
    seeds: list[tuple[bytes, int]] = field(default_factory=list)


def read_deposit_view(
    store: RelayStore,
    address: bytes,
    envelope_id: bytes,
    now: int,
    seed: bytes | None,
    nonce: bytes | None,
    seeds_kept: int,
) -> DepositView:
    """:meth:`RelayStore.deposit_view` from the store's single-table operations (the reference
    the SQL stores' one query is tested against)."""
    mailbox = store.get_mailbox(address)
    if mailbox is None:
        return DepositView(None, False, False, False, False, 0, 0, None)
    paid = seed is not None and nonce is not None
    held, held_bytes = store.mailbox_usage(address)
    return DepositView(
        mailbox,
        store.has_envelope(address, envelope_id),
        store.has_tombstone(address, envelope_id, now),
        paid and seed in [s for s, _created in store.seeds()[:seeds_kept]],
        paid and store.has_pow(seed, nonce),  # type: ignore[arg-type]
        held,
        held_bytes,
        store.get_bucket(address, BUCKET_INBOUND),
    )


class MemoryStore:
    """Spec §10.9: the tables in dictionaries. Not durable; for tests, the demo's servers and
    relays that keep nothing across restarts. Its transactions only mark the boundary: the relay
    makes every check before its first write, so a failed operation has written nothing."""

    __slots__ = ("_t",)

    def __init__(self) -> None:
        self._t = _Tables()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        yield

    # mailbox
    def get_mailbox(self, address: bytes) -> MailboxRecord | None:
        return self._t.mailboxes.get(address)

    def put_mailbox(self, mailbox: MailboxRecord) -> None:
        self._t.mailboxes[mailbox.address] = mailbox

    def delete_mailbox(self, address: bytes) -> None:
        t = self._t
        t.mailboxes.pop(address, None)
        t.envelopes.pop(address, None)
        t.bundles.pop(address, None)
        t.one_time.pop(address, None)
        for which in (BUCKET_INBOUND, BUCKET_HANDOUT):
            t.buckets.pop((address, which), None)

    def mailbox_count(self) -> int:
        return len(self._t.mailboxes)

    # envelope
    def mailbox_usage(self, address: bytes) -> tuple[int, int]:
        held = self._t.envelopes.get(address)
        if not held:
            return 0, 0
        return len(held), sum(len(r.envelope) for r in held.values())

    def has_envelope(self, address: bytes, envelope_id: bytes) -> bool:
        held = self._t.envelopes.get(address)
        return held is not None and envelope_id in held

    def put_envelope(self, record: EnvelopeRecord) -> None:
        self._t.envelopes.setdefault(record.address, OrderedDict())[record.id] = record

    def envelopes(
        self, address: bytes, now: int, limit: int, max_bytes: int
    ) -> list[EnvelopeRecord]:
        held = self._t.envelopes.get(address)
        out: list[EnvelopeRecord] = []
        size = 0
        for record in (held or {}).values():
            if record.expires <= now:
                continue
            if len(out) == limit or (out and size + len(record.envelope) > max_bytes):
                break
            out.append(record)
            size += len(record.envelope)
        return out

    def delete_envelopes(self, address: bytes, ids: Sequence[bytes]) -> list[bytes]:
        held = self._t.envelopes.get(address)
        if not held:
            return []
        deleted = [i for i in dict.fromkeys(ids) if held.pop(i, None) is not None]
        if not held:
            del self._t.envelopes[address]
        return deleted

    def deposit_view(
        self,
        address: bytes,
        envelope_id: bytes,
        now: int,
        seed: bytes | None,
        nonce: bytes | None,
        seeds_kept: int,
    ) -> DepositView:
        return read_deposit_view(self, address, envelope_id, now, seed, nonce, seeds_kept)

    def put_deposit(
        self,
        record: EnvelopeRecord,
        inbound: tuple[int, int],
        pow_entry: tuple[bytes, bytes] | None,
    ) -> None:
        if pow_entry is not None:
            self.put_pow(*pow_entry)  # first: it is the one that can refuse
        self.put_envelope(record)
        self.put_bucket(record.address, BUCKET_INBOUND, *inbound)

    # bundle and one-time prekeys
    def get_bundle(self, address: bytes) -> bytes | None:
        return self._t.bundles.get(address)

    def put_bundle(self, address: bytes, bundle: bytes) -> None:
        self._t.bundles[address] = bundle

    def one_time_count(self, address: bytes) -> int:
        return len(self._t.one_time.get(address, ()))

    def add_one_time(self, address: bytes, prekeys: Sequence[tuple[int, bytes]]) -> None:
        pool = self._t.one_time.setdefault(address, OrderedDict())
        for prekey_id, prekey in prekeys:
            pool.setdefault(prekey_id, prekey)

    def take_one_time(self, address: bytes) -> bytes | None:
        pool = self._t.one_time.get(address)
        if not pool:
            return None
        return pool.popitem(last=False)[1]

    # buckets
    def get_bucket(self, address: bytes, which: str) -> tuple[int, int] | None:
        bucket_fields(which)
        return self._t.buckets.get((address, which))

    def put_bucket(self, address: bytes, which: str, tokens: int, updated: int) -> None:
        bucket_fields(which)
        if address in self._t.mailboxes:
            self._t.buckets[(address, which)] = (tokens, updated)

    # replay records
    def has_tombstone(self, address: bytes, envelope_id: bytes, now: int) -> bool:
        until = self._t.tombstones.get((address, envelope_id))
        return until is not None and until > now

    def put_tombstone(self, address: bytes, envelope_id: bytes, until: int) -> None:
        key = (address, envelope_id)
        self._t.tombstones[key] = max(until, self._t.tombstones.get(key, 0))

    def proof_count(self, address: bytes, now: int) -> int:
        return sum(1 for until in self._t.proofs.get(address, {}).values() if until > now)

    def has_proof(self, address: bytes, commitment: bytes) -> bool:
        return commitment in self._t.proofs.get(address, {})

    def put_proof(self, address: bytes, commitment: bytes, until: int) -> None:
        entries = self._t.proofs.setdefault(address, {})
        if commitment in entries:
            raise StateError("state.replay", "this proof was used already")
        entries[commitment] = until

    def has_pow(self, seed: bytes, nonce: bytes) -> bool:
        return (seed, nonce) in self._t.pow

    def put_pow(self, seed: bytes, nonce: bytes) -> None:
        if (seed, nonce) in self._t.pow:
            raise StateError("state.replay", "this proof of work was used already")
        self._t.pow.add((seed, nonce))

    # seeds
    def seeds(self) -> list[tuple[bytes, int]]:
        return sorted(self._t.seeds, key=lambda s: s[1], reverse=True)

    def put_seed(self, seed: bytes, created: int) -> None:
        self._t.seeds.append((seed, created))

    # maintenance
    def expire(self, now: int, idle_before: int, tombstone_until: int, seeds_kept: int) -> None:
        t = self._t
        for address, held in list(t.envelopes.items()):
            for envelope_id in [i for i, r in held.items() if r.expires <= now]:
                del held[envelope_id]
                self.put_tombstone(address, envelope_id, tombstone_until)
            if not held:
                del t.envelopes[address]
        t.tombstones = {k: u for k, u in t.tombstones.items() if u > now}
        for address in list(t.proofs):
            kept = {c: u for c, u in t.proofs[address].items() if u > now}
            if kept:
                t.proofs[address] = kept
            else:
                del t.proofs[address]
        for address in [a for a, m in t.mailboxes.items() if m.touched < idle_before]:
            self.delete_mailbox(address)
        kept_seeds = self.seeds()[:seeds_kept]
        t.seeds = kept_seeds
        live = {seed for seed, _created in kept_seeds}
        t.pow = {entry for entry in t.pow if entry[0] in live}

    def checkpoint(self) -> None:
        """Nothing to do: no journal."""

    def dump(self) -> dict[str, list[dict[str, object]]]:
        t = self._t

        def mailbox_row(m: MailboxRecord) -> dict[str, object]:
            held, held_bytes = self.mailbox_usage(m.address)
            inbound = t.buckets.get((m.address, BUCKET_INBOUND), (None, None))
            handout = t.buckets.get((m.address, BUCKET_HANDOUT), (None, None))
            return {
                "address": m.address,
                "kind": m.kind,
                "effort": m.effort,
                "deposit_key": m.deposit_key,
                "touched": m.touched,
                "held": held,
                "held_bytes": held_bytes,
                "inbound_tokens": inbound[0],
                "inbound_updated": inbound[1],
                "handout_tokens": handout[0],
                "handout_updated": handout[1],
            }

        return {
            "mailbox": [mailbox_row(m) for m in t.mailboxes.values()],
            "envelope": [
                {
                    "address": r.address,
                    "id": r.id,
                    "envelope": r.envelope,
                    "arrival": r.arrival,
                    "expires": r.expires,
                }
                for held in t.envelopes.values()
                for r in held.values()
            ],
            "bundle": [{"address": a, "bundle": b} for a, b in t.bundles.items()],
            "one_time_prekey": [
                {"address": a, "prekey_id": i, "prekey": p}
                for a, pool in t.one_time.items()
                for i, p in pool.items()
            ],
            "tombstone": [
                {"address": a, "id": i, "until": u} for (a, i), u in t.tombstones.items()
            ],
            "owner_proof": [
                {"address": a, "commitment": c, "until": u}
                for a, entries in t.proofs.items()
                for c, u in entries.items()
            ],
            "pow": [{"seed": s, "nonce": n} for s, n in t.pow],
            "seed": [{"seed": s, "created": c} for s, c in t.seeds],
        }
