"""Spec vectors.md §12, suite ``relay``: the relay of spec §10, as scripts of requests and
responses, and the client's side of its proofs.

Parameters
    The relay's id is ``relay_id``; its store starts empty; ``limits`` lists the
    :class:`~protocol.relay.RelayLimits` fields that differ from the defaults. Owner secrets,
    envelopes and draws come from ``SeededRng.for_suite("relay", <label>)``.

Kinds
    ``owner-proof`` (valid) — ``owner_request(secret, relay_id, op, body, time)`` with the
        recorded 64-byte draw for ``r`` gives ``request``.
    ``pow`` — ``pow_value(seed, address, envelope_id, nonce)`` is ``value`` and passes at
        ``effort`` iff ``result`` is valid (invalid: ``state.pow_insufficient``).
    ``deposit-signature`` (valid) — ``sign_deposit(deposit_seed, relay_id, address,
        envelope_id, time)`` is ``signature`` (Ed25519 is deterministic).
    ``script`` — a relay with a fresh store runs ``steps`` in order: ``maintain`` (with
        ``rng``), ``owner``, ``bundle`` and ``deposit`` (each with ``request``), all at ``now``;
        each step's ``response`` (hex) or ``error`` must match; a failed step changes nothing.
        The case's ``result``/``error`` are its last step's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, Final

from ..codec import Message
from ..envelope import Envelope, FirstContactBundle, FirstContactKeyPair, envelope_id
from ..errors import ProtocolError
from ..keys import IdentityKeyPair, OneTimePrekeyPair, SignedPrekeyPair
from ..primitives import Ed25519KeyPair, Element, Scalar
from ..relay import (
    ACK_OP,
    DELETE_OP,
    FETCH_OP,
    KIND_CONVERSATION,
    KIND_FIRST_CONTACT,
    MIN_EFFORT,
    OPEN_OP,
    PROOF_WINDOW,
    PUBLISH_OP,
    SEED_LIFETIME,
    AckBody,
    BundleRequest,
    BundleResponse,
    DeleteBody,
    Deposit,
    FetchBody,
    MemoryStore,
    OpenBody,
    OwnerRequest,
    PublishBody,
    Relay,
    RelayLimits,
    owner_request,
    pow_valid,
    pow_value,
    sign_deposit,
    solve_pow,
)
from ..relay._messages import BODIES
from . import Case, RecordingRng, SeededRng, expect_error, replay_rng

SUITE: Final = "relay"
RELAY_ID: Final = bytes(range(0xA0, 0xC0))
_NOW: Final = 1_780_531_200
_TTL: Final = 86_400


def _rng(label: str) -> SeededRng:
    return SeededRng.for_suite(SUITE, label)


def _case(case_id: str, comment: str, kind: str, error: str | None, **fields_: Any) -> Case:
    return {
        "id": case_id,
        "comment": comment,
        "flags": [kind],
        "result": "valid" if error is None else "invalid",
        "error": error,
        "kind": kind,
        **fields_,
    }


# --- the client's proofs --------------------------------------------------------------------


def _proof_cases() -> list[Case]:
    rng = _rng("owner-proof")
    secret = Scalar.random(rng)
    cases = []
    for op, body in ((OPEN_OP, OpenBody(KIND_FIRST_CONTACT, 2**16)), (FETCH_OP, FetchBody(10))):
        recording = RecordingRng(rng)
        request = owner_request(
            secret, relay_id=RELAY_ID, op=op, body=body, time=_NOW, rng=recording
        )
        cases.append(
            _case(
                f"owner-proof-op-{op}",
                "an owner request with its Schnorr proof (spec §10.2)",
                "owner-proof",
                None,
                secret=secret.to_bytes().hex(),
                relay_id=RELAY_ID.hex(),
                op=op,
                body=body.to_bytes().hex(),
                time=_NOW,
                rng=[v.hex() for v in recording.drawn],
                request=request.hex(),
                cddl={"request": "relay-owner-request"},
            )
        )
    return cases


def _pow_cases() -> list[Case]:
    rng = _rng("pow")
    seed, address, identifier = rng(32), rng(32), rng(16)
    nonce = solve_pow(seed, address, identifier, 2**12, rng=rng)
    value = pow_value(seed, address, identifier, nonce)
    cases = []
    for effort in (MIN_EFFORT, 2**12):
        cases.append(
            _case(
                f"pow-effort-{effort}",
                "a solution found for effort 2^12 passes at every lower effort",
                "pow",
                None,
                seed=seed.hex(),
                address=address.hex(),
                envelope_id=identifier.hex(),
                nonce=nonce.hex(),
                value=value,
                effort=effort,
            )
        )
    # The smallest power of two the solution does not meet.
    effort = 2**12
    while pow_valid(value, effort):
        effort *= 2
    cases.append(
        _case(
            "pow-insufficient",
            "the same solution at the first effort it does not meet: v · effort > 2^32 − 1",
            "pow",
            "state.pow_insufficient",
            seed=seed.hex(),
            address=address.hex(),
            envelope_id=identifier.hex(),
            nonce=nonce.hex(),
            value=value,
            effort=effort,
        )
    )
    return cases


def _signature_case() -> Case:
    rng = _rng("deposit-signature")
    seed, address, identifier = rng(32), rng(32), rng(16)
    signature = sign_deposit(
        seed, relay_id=RELAY_ID, address=address, envelope_id=identifier, time=_NOW
    )
    return _case(
        "deposit-signature",
        "the deposit key's signature over LABEL_DEPOSIT || relay_id || address || id || time",
        "deposit-signature",
        None,
        deposit_seed=seed.hex(),
        relay_id=RELAY_ID.hex(),
        address=address.hex(),
        envelope_id=identifier.hex(),
        time=_NOW,
        signature=signature.hex(),
    )


# --- scripts ------------------------------------------------------------------------------------


class _Script:
    """Runs a relay and records each step as a vector step (request, response or error)."""

    def __init__(self, label: str, limits: RelayLimits | None = None) -> None:
        self.rng = _rng(label)
        self.limits = limits
        self.relay = Relay(MemoryStore(), RELAY_ID, limits)
        self.steps: list[dict[str, Any]] = []
        self.bob = Scalar.random(self.rng)
        self.routing_id = Element.base_mul(self.bob).to_bytes()

    def _record(self, action: str, now: int, request: bytes, run: Callable[[], bytes]) -> bytes:
        step: dict[str, Any] = {"action": action, "now": now, "request": request.hex()}
        try:
            response = run()
        except ProtocolError as exc:
            step.update(response=None, result="invalid", error=exc.code)
            self.steps.append(step)
            return b""
        step.update(response=response.hex(), result="valid", error=None)
        self.steps.append(step)
        return response

    def maintain(self, now: int) -> None:
        recording = RecordingRng(self.rng)
        self.relay.maintain(now=now, rng=recording)
        self.steps.append(
            {
                "action": "maintain",
                "now": now,
                "rng": [v.hex() for v in recording.drawn],
                "result": "valid",
                "error": None,
            }
        )

    def owner(self, op: int, body: Message, now: int = _NOW, *, secret: Scalar | None = None,
              time: int | None = None) -> bytes:  # fmt: skip
        request = owner_request(
            secret or self.bob,
            relay_id=RELAY_ID,
            op=op,
            body=body,
            time=now if time is None else time,
            rng=self.rng,
        )
        return self._record("owner", now, request, lambda: self.relay.owner(request, now=now))

    def raw_owner(self, request: bytes, now: int = _NOW) -> bytes:
        return self._record("owner", now, request, lambda: self.relay.owner(request, now=now))

    def bundle(self, now: int = _NOW, address: bytes | None = None) -> bytes:
        request = BundleRequest(address or self.routing_id).to_bytes()
        return self._record("bundle", now, request, lambda: self.relay.bundle(request, now=now))

    def deposit(self, request: bytes, now: int = _NOW) -> bytes:
        return self._record(
            "deposit", now, request, lambda: self.relay.deposit(request, now=now)
        )

    def envelope(self, address: bytes | None = None, size: int = 256) -> bytes:
        return Envelope(address or self.routing_id, _TTL, self.rng(size)).to_bytes()

    def conversation(self) -> tuple[Scalar, bytes, bytes]:
        """Open a conversation mailbox: its owner key, its address and its deposit seed."""
        owner = Scalar.random(self.rng)
        address = Element.base_mul(owner).to_bytes()
        deposit_seed = self.rng(32)
        key = Ed25519KeyPair(deposit_seed).public_key
        self.owner(OPEN_OP, OpenBody(KIND_CONVERSATION, deposit_key=key), secret=owner)
        return owner, address, deposit_seed

    def capability_deposit(self, envelope: bytes, deposit_seed: bytes, time: int) -> bytes:
        signature = sign_deposit(deposit_seed, relay_id=RELAY_ID, address=envelope[1:33],
                                 envelope_id=envelope_id(envelope), time=time)  # fmt: skip
        return Deposit(envelope, time=time, signature=signature).to_bytes()

    def pow_deposit(self, envelope: bytes, seed: bytes, effort: int = MIN_EFFORT) -> bytes:
        address = envelope[1:33]
        nonce = solve_pow(seed, address, envelope_id(envelope), effort, rng=self.rng)
        return Deposit(envelope, seed, nonce).to_bytes()

    def case(self, case_id: str, comment: str) -> Case:
        last = self.steps[-1]
        limits = {}
        if self.limits is not None:
            default = RelayLimits()
            limits = {
                f.name: getattr(self.limits, f.name)
                for f in fields(RelayLimits)
                if getattr(self.limits, f.name) != getattr(default, f.name)
            }
        return _case(
            case_id,
            comment,
            "script",
            last["error"],
            relay_id=RELAY_ID.hex(),
            limits=limits,
            steps=self.steps,
        )


def _hosted_bundle(label: str, one_time: int) -> tuple[FirstContactBundle, tuple[Any, ...]]:
    rng = _rng(label)
    identity = IdentityKeyPair.generate(rng)
    signed = SignedPrekeyPair.generate(identity, prekey_id=1, now=_NOW, rng=rng)
    key = FirstContactKeyPair.generate(identity, epoch=_NOW // 604_800, now=_NOW, rng=rng)
    prekeys = tuple(
        OneTimePrekeyPair.generate(prekey_id=10 + i, rng=rng).public for i in range(one_time)
    )
    return FirstContactBundle(identity.public, signed.public, None, key.public), prekeys


def _opened(label: str, limits: RelayLimits | None = None, one_time: int = 2) -> _Script:
    """A relay with Bob's first-contact mailbox open and its bundle published."""
    script = _Script(label, limits)
    script.maintain(_NOW)
    script.owner(OPEN_OP, OpenBody(KIND_FIRST_CONTACT, MIN_EFFORT))
    bundle, prekeys = _hosted_bundle(f"{label}/bundle", one_time)
    script.owner(PUBLISH_OP, PublishBody(bundle, prekeys))
    return script


def _seed(response: bytes) -> bytes:
    return BundleResponse.from_bytes(response).seed


def _scripts() -> list[Case]:
    cases = []
    # --- valid flows ---
    s = _opened("first-contact-flow")
    seed = _seed(s.bundle())
    s.bundle()
    s.bundle()  # the pool of two is empty now: a bundle without a one-time prekey
    envelope = s.envelope()
    deposit = s.pow_deposit(envelope, seed)
    s.deposit(deposit, _NOW + 1)
    s.deposit(deposit, _NOW + 2)  # a retry: the same answer, nothing added
    fetched = s.owner(FETCH_OP, FetchBody(10), _NOW + 3)
    s.owner(ACK_OP, AckBody((envelope_id(envelope),)), _NOW + 4)
    s.owner(ACK_OP, AckBody((envelope_id(envelope),)), _NOW + 5)  # deletes nothing more
    assert fetched
    s.maintain(_NOW + SEED_LIFETIME)
    later = s.envelope()
    s.deposit(s.pow_deposit(later, seed), _NOW + SEED_LIFETIME)  # the previous seed: accepted
    s.owner(FETCH_OP, FetchBody(10), _NOW + SEED_LIFETIME + 1)
    cases.append(s.case("script-first-contact", "open, publish, bundles, deposit, fetch, ack"))

    s = _Script("conversation-flow")
    s.maintain(_NOW)
    owner, address, deposit_seed = s.conversation()
    envelope = s.envelope(address)
    s.deposit(s.capability_deposit(envelope, deposit_seed, _NOW + 1), _NOW + 1)
    s.owner(FETCH_OP, FetchBody(10), _NOW + 2, secret=owner)
    s.owner(ACK_OP, AckBody((envelope_id(envelope),)), _NOW + 3, secret=owner)
    s.owner(DELETE_OP, DeleteBody(), _NOW + 4, secret=owner)
    cases.append(
        s.case("script-conversation", "open with a deposit key, deposit, fetch, ack, delete")
    )

    s = _opened("expiry")
    seed = _seed(s.bundle())
    s.deposit(s.pow_deposit(s.envelope(), seed))
    s.maintain(_NOW + _TTL)
    s.owner(FETCH_OP, FetchBody(10), _NOW + _TTL)
    cases.append(s.case("script-expiry", "an envelope past its TTL is gone after maintenance"))

    # --- one failure each ---
    def failing(case_id: str, comment: str, script: _Script) -> None:
        cases.append(script.case(case_id, comment))

    s = _opened("wrong-key")
    stranger = Scalar.random(s.rng)
    forged = owner_request(stranger, relay_id=RELAY_ID, op=FETCH_OP, body=FetchBody(1),
                           time=_NOW, rng=s.rng)  # fmt: skip
    proof = OwnerRequest.from_bytes(forged)
    s.raw_owner(OwnerRequest(s.routing_id, _NOW, FETCH_OP, proof.body, proof.commitment,
                             proof.response).to_bytes())  # fmt: skip
    failing("script-owner-wrong-key", "a proof by another key for Bob's mailbox", s)

    s = _opened("unknown-mailbox-forged")
    nobody = Element.base_mul(Scalar.random(s.rng)).to_bytes()
    s.raw_owner(OwnerRequest(nobody, _NOW, FETCH_OP, proof.body, proof.commitment,
                             proof.response).to_bytes())  # fmt: skip
    failing("script-owner-unknown-mailbox", "a mailbox nobody opened answers like a wrong key", s)

    s = _opened("own-unopened")
    s.owner(FETCH_OP, FetchBody(1), secret=Scalar.random(s.rng))
    failing("script-owner-not-open", "the owner of an unopened address learns it", s)

    s = _opened("replayed-proof")
    request = owner_request(s.bob, relay_id=RELAY_ID, op=FETCH_OP, body=FetchBody(1),
                            time=_NOW, rng=s.rng)  # fmt: skip
    s.raw_owner(request)
    s.raw_owner(request, _NOW + 1)
    failing("script-owner-replay", "the same owner request twice", s)

    s = _opened("stale-proof")
    s.owner(FETCH_OP, FetchBody(1), _NOW + PROOF_WINDOW + 1, time=_NOW)
    failing("script-owner-stale", "a proof older than PROOF_WINDOW", s)

    s = _opened("mismatch")
    s.owner(OPEN_OP, OpenBody(KIND_CONVERSATION, deposit_key=bytes(32)))
    failing("script-open-other-kind", "opening a first-contact mailbox as a conversation", s)

    s = _Script("publish-conversation")
    s.maintain(_NOW)
    s.owner(OPEN_OP, OpenBody(KIND_CONVERSATION, deposit_key=bytes(32)))
    bundle, prekeys = _hosted_bundle("publish-conversation/bundle", 1)
    s.owner(PUBLISH_OP, PublishBody(bundle, prekeys))
    failing("script-publish-conversation", "a bundle at a conversation mailbox", s)

    s = _opened("pool-bound", RelayLimits(max_one_time_prekeys=2), one_time=2)
    bundle, prekeys = _hosted_bundle("pool-bound/more", 1)
    s.owner(PUBLISH_OP, PublishBody(bundle, prekeys))
    failing("script-publish-pool-full", "one-time prekeys beyond the pool's bound", s)

    s = _opened("relay-full", RelayLimits(max_mailboxes=1))
    s.owner(OPEN_OP, OpenBody(KIND_CONVERSATION, deposit_key=bytes(32)),
            secret=Scalar.random(s.rng))  # fmt: skip
    failing("script-relay-full", "a new mailbox beyond max_mailboxes", s)

    s = _opened("no-bundle")
    s.bundle(address=Element.base_mul(Scalar.random(s.rng)).to_bytes())
    failing("script-bundle-unknown", "no bundle at this address", s)

    s = _opened("pow-required")
    s.bundle()
    s.deposit(Deposit(s.envelope()).to_bytes())
    failing("script-pow-required", "a first-contact deposit without proof of work", s)

    s = _opened("pow-stale")
    seed = _seed(s.bundle())
    envelope = s.envelope()
    s.maintain(_NOW + SEED_LIFETIME)
    s.maintain(_NOW + 2 * SEED_LIFETIME)
    s.deposit(s.pow_deposit(envelope, seed), _NOW + 2 * SEED_LIFETIME)
    failing("script-pow-stale", "a seed two rotations old", s)

    s = _opened("pow-insufficient")
    seed = _seed(s.bundle())
    envelope = s.envelope()
    identifier = envelope_id(envelope)
    nonce = next(
        n for n in (i.to_bytes(16, "big") for i in range(1 << 16))
        if not pow_valid(pow_value(seed, s.routing_id, identifier, n), MIN_EFFORT)
    )
    s.deposit(Deposit(envelope, seed, nonce).to_bytes())
    failing("script-pow-insufficient", "a nonce below the mailbox's effort", s)

    s = _opened("replay-after-ack")
    seed = _seed(s.bundle())
    envelope = s.envelope()
    deposit = s.pow_deposit(envelope, seed)
    s.deposit(deposit)
    s.owner(ACK_OP, AckBody((envelope_id(envelope),)), _NOW + 1)
    s.deposit(deposit, _NOW + 2)
    failing("script-deposit-replay", "an acknowledged deposit deposited again", s)

    s = _opened("unknown-deposit")
    seed = _seed(s.bundle())
    stray = s.envelope(Element.base_mul(Scalar.random(s.rng)).to_bytes())
    s.deposit(s.pow_deposit(stray, seed))
    failing("script-deposit-unknown", "a deposit to an address nobody opened", s)

    for case_id, limits, comment in (
        ("script-quota-count", RelayLimits(max_mailbox_envelopes=1), "a second envelope"),
        ("script-quota-bytes", RelayLimits(max_mailbox_bytes=500), "more than 500 bytes"),
        ("script-rate-limited", RelayLimits(inbound_capacity=500, inbound_refill=1),
         "an inbound bucket of 500 bytes"),
    ):  # fmt: skip
        s = _opened(case_id, limits)
        seed = _seed(s.bundle())
        s.deposit(s.pow_deposit(s.envelope(), seed))
        s.deposit(s.pow_deposit(s.envelope(), seed))
        failing(case_id, comment, s)

    s = _Script("capability")
    s.maintain(_NOW)
    _owner, address, _granted = s.conversation()
    envelope = s.envelope(address)
    s.deposit(s.capability_deposit(envelope, s.rng(32), _NOW))
    failing("script-capability-wrong-key", "a deposit signed by another key", s)

    s = _Script("capability-stale")
    s.maintain(_NOW)
    _owner, address, deposit_seed = s.conversation()
    envelope = s.envelope(address)
    s.deposit(s.capability_deposit(envelope, deposit_seed, _NOW - 301))
    failing("script-capability-stale", "a deposit signed 301 s ago", s)
    return cases


def generate() -> list[Case]:
    """All cases of the suite, deterministically."""
    return [*_proof_cases(), *_pow_cases(), _signature_case(), *_scripts()]


# --- verification -------------------------------------------------------------------------------


def _check(field: str, expected: str, got: bytes) -> None:
    if expected != got.hex():
        raise AssertionError(f"{field}: expected {expected}, got {got.hex()}")


def _run_script(case: Case) -> None:
    store = MemoryStore()
    relay = Relay(store, bytes.fromhex(case["relay_id"]), RelayLimits(**case["limits"]))
    actions: dict[str, Callable[[bytes, int], bytes]] = {
        "owner": lambda data, now: relay.owner(data, now=now),
        "bundle": lambda data, now: relay.bundle(data, now=now),
        "deposit": lambda data, now: relay.deposit(data, now=now),
    }
    for i, step in enumerate(case["steps"]):
        if step["action"] == "maintain":
            relay.maintain(now=step["now"], rng=replay_rng(*map(bytes.fromhex, step["rng"])))
            continue
        run = actions[step["action"]]
        data, now = bytes.fromhex(step["request"]), step["now"]
        if step["result"] == "valid":
            _check(f"steps[{i}].response", step["response"], run(data, now))
            continue
        before = store.dump()
        expect_error(step, lambda run=run, data=data, now=now: run(data, now))
        if store.dump() != before:
            raise AssertionError(f"steps[{i}]: a failed step changed the store")
    if case["steps"][-1]["error"] != case["error"]:
        raise AssertionError("error: the case's error is not its last step's")


def verify(case: Case) -> None:
    """Check one case against this implementation."""
    h = bytes.fromhex
    kind = case["kind"]
    if kind == "owner-proof":
        request = owner_request(
            Scalar(h(case["secret"])),
            relay_id=h(case["relay_id"]),
            op=case["op"],
            body=BODIES[case["op"]].from_bytes(h(case["body"])),
            time=case["time"],
            rng=replay_rng(*map(h, case["rng"])),
        )
        _check("request", case["request"], request)
    elif kind == "pow":
        value = pow_value(h(case["seed"]), h(case["address"]), h(case["envelope_id"]),
                          h(case["nonce"]))  # fmt: skip
        if value != case["value"]:
            raise AssertionError(f"value: expected {case['value']}, got {value}")
        if pow_valid(value, case["effort"]) != (case["result"] == "valid"):
            raise AssertionError("effort: the solution's verdict differs")
    elif kind == "deposit-signature":
        signature = sign_deposit(h(case["deposit_seed"]), relay_id=h(case["relay_id"]),
                                 address=h(case["address"]), envelope_id=h(case["envelope_id"]),
                                 time=case["time"])  # fmt: skip
        _check("signature", case["signature"], signature)
    elif kind == "script":
        _run_script(case)
    else:
        raise AssertionError(f"kind: unknown {kind!r}")
