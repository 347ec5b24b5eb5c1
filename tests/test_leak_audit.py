"""Spec §8.8: the leak audit — what the servers receive contains no identifier in any form.

Registration, discovery and a first message run through an instrumented in-memory network that
records every byte each server role receives (the request bytes and the transport credential).
The audit then searches all of it for the phone numbers of the device and of its contacts in
many spellings and encodings, the device's IMEI and IMSI, and SHA-1, SHA-256, SHA-512 and MD5
digests (raw, hex and base64) of every one of them; and for the values each role must never
learn (design brief §2). Negative controls plant realistic leaks and check the audit finds them.

The relay here is a stand-in: sealed envelopes are a later issue (spec §9), so a first message
is ``{0: 1, 1: routing_id, 2: enc || ct}`` with ``enc || ct`` an HPKE base-mode seal (spec §3.8)
to the recipient's identity DH key, as the envelope's first-contact form will be.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from protocol import hpke
from protocol.blinding import (
    IdentifierOutput,
    MailboxKeyPair,
    PhoneNumber,
    epoch_of,
    normalize_phone_number,
    request_evaluation,
)
from protocol.codec import decode, encode
from protocol.directory import (
    Directory,
    Registration,
    lookup_request,
    read_lookup_response,
    registrations_for,
)
from protocol.evaluator import Evaluator, OprfKeyPair, PublishedKey
from protocol.kat import SeededRng
from protocol.keys import IdentityKeyPair

NOW = 1_767_225_600
HPKE_SUITE = hpke.Suite(aead=hpke.AeadId.CHACHA20_POLY1305)
FIRST_CONTACT_INFO = b"Blindpost-v1 test stand-in first contact"


# --- the instrumented network -----------------------------------------------------------------


class Relay:
    """Stand-in relay: stores first-contact deposits by routing ID (spec §10 comes later)."""

    def __init__(self) -> None:
        self.boxes: dict[bytes, list[bytes]] = {}

    def deposit(self, data: bytes) -> None:
        item = decode(data)
        assert isinstance(item, dict)
        routing_id, sealed = item[1], item[2]
        assert isinstance(routing_id, bytes) and isinstance(sealed, bytes)
        self.boxes.setdefault(routing_id, []).append(sealed)

    def fetch(self, routing_id: bytes) -> list[bytes]:
        return self.boxes.pop(routing_id, [])


@dataclass
class Network:
    """Every byte a server role receives is recorded under its role."""

    evaluator: Evaluator
    directory: Directory
    relay: Relay
    captured: dict[str, list[bytes]] = field(
        default_factory=lambda: {"evaluator": [], "directory": [], "relay": []}
    )

    def evaluate(self, credential: bytes, request: bytes, rng: SeededRng) -> bytes:
        self.captured["evaluator"] += [credential, request]
        return self.evaluator.evaluate(credential, request, now=NOW, rng=rng)

    def register(self, credential: bytes, request: bytes) -> None:
        self.captured["directory"] += [credential, request]
        self.directory.register(credential, request, now=NOW)

    def parameters(self) -> int:
        self.captured["directory"].append(b"parameters?")
        return self.directory.parameters().prefix_bits

    def lookup(self, request: bytes) -> bytes:
        self.captured["directory"].append(request)
        return self.directory.lookup(request, now=NOW)

    def deposit(self, message: bytes) -> None:
        self.captured["relay"].append(message)
        self.relay.deposit(message)

    def fetch(self, routing_id: bytes) -> list[bytes]:
        self.captured["relay"].append(routing_id)
        return self.relay.fetch(routing_id)


# --- devices ----------------------------------------------------------------------------------


@dataclass
class Device:
    name: str
    phone: str  # as the user typed it
    imei: str
    imsi: str
    contacts: list[str]
    credential: bytes
    rng: SeededRng = field(init=False)
    identity: IdentityKeyPair = field(init=False)
    mailbox: MailboxKeyPair = field(init=False)

    def __post_init__(self) -> None:
        self.rng = SeededRng(b"test_leak_audit/" + self.name.encode())
        self.identity = IdentityKeyPair.generate(self.rng)
        self.mailbox = MailboxKeyPair.generate(self.rng)

    def number(self, text: str) -> PhoneNumber:
        return normalize_phone_number(text, default_country=44)

    def evaluate(self, net: Network, key: PublishedKey, texts: list[str]) -> list[IdentifierOutput]:
        pending = request_evaluation([self.number(t) for t in texts], key, now=NOW, rng=self.rng)
        return pending.finish(net.evaluate(self.credential, pending.request.to_bytes(), self.rng))


ALICE_PHONE, BOB_PHONE, CAROL_PHONE, DAVE_PHONE = (
    "07700 900123",
    "020 7946 0958",
    "+44 20 7946 0959",
    "0161 496 0000",
)


def devices(credential: Callable[[str, str], bytes]) -> tuple[Device, Device, Device]:
    alice = Device(
        "alice",
        ALICE_PHONE,
        "356938035643809",
        "234150123456789",
        [BOB_PHONE, CAROL_PHONE, DAVE_PHONE],
        credential("alice", ALICE_PHONE),
    )
    bob = Device(
        "bob",
        BOB_PHONE,
        "490154203237518",
        "234159876543210",
        [ALICE_PHONE],
        credential("bob", BOB_PHONE),
    )
    carol = Device(
        "carol",
        CAROL_PHONE,
        "353918051234567",
        "234101112131415",
        [],
        credential("carol", CAROL_PHONE),
    )
    return alice, bob, carol


def opaque_credential(name: str, phone: str) -> bytes:
    """What a correct client presents: a random-looking token unrelated to the number."""
    return hashlib.sha256(b"issued credential for " + name.encode()).digest()


@dataclass
class Run:
    net: Network
    alice: Device
    bob: Device
    carol: Device
    outputs: list[bytes]
    tokens: list[bytes]
    routing_ids: list[bytes]
    first_message: bytes


def run_scenario(
    credential: Callable[[str, str], bytes] = opaque_credential, encrypt: bool = True
) -> Run:
    alice, bob, carol = devices(credential)
    key = OprfKeyPair.derive(b"\x42" * 32, 1)
    net = Network(Evaluator(key, now=NOW), Directory(), Relay())
    pinned = key.published(NOW + 86_400)  # distributed with the app, not by the evaluator
    outputs, tokens, routing_ids = [], [], []

    # 1. Registration (opt-in): Bob and Carol register their own numbers.
    owned: dict[str, IdentifierOutput] = {}
    for device in (bob, carol):
        (own,) = device.evaluate(net, pinned, [device.phone])
        owned[device.name] = own
        token = own.discovery_token()
        registration = Registration.sign(device.identity, token, device.mailbox.public_key, now=NOW)
        net.register(device.credential, registration.to_bytes())
        outputs.append(own.output_bytes())
        tokens.append(token)

    # 2. Discovery: Alice looks up all her contacts (Dave has not registered).
    found: dict[str, list[Registration]] = {}
    for text, out in zip(alice.contacts, alice.evaluate(net, pinned, alice.contacts), strict=True):
        token = out.discovery_token()
        outputs.append(out.output_bytes())
        tokens.append(token)
        bits = net.parameters()
        request = lookup_request(token, bits)
        page = read_lookup_response(request, net.lookup(request.to_bytes()))
        found[text] = registrations_for(token, [page])
        if text == BOB_PHONE:
            bob_output = out
    assert [len(found[t]) for t in alice.contacts] == [1, 1, 0]
    (bob_entry,) = found[BOB_PHONE]
    assert bob_entry.identity == bob.identity.public

    # 3. First message: HPKE to Bob's identity DH key, addressed by this epoch's routing ID.
    epoch = epoch_of(NOW)
    routing = bob_output.routing_id(bob_entry.mailbox_key, epoch)
    routing_ids.append(routing)
    plaintext = encode(
        {
            0: 1,
            1: alice.identity.public.to_cbor(),
            2: "Hi Bob, it's Alice. My number is " + alice.number(alice.phone).e164,
        }
    )
    if encrypt:
        enc, ct = hpke.seal_base(
            HPKE_SUITE,
            bob_entry.identity.dh_key,
            FIRST_CONTACT_INFO,
            routing,
            plaintext,
            rng=alice.rng,
        )
        sealed = enc + ct
    else:  # a bug the audit must catch (negative control)
        sealed = plaintext
    net.deposit(encode({0: 1, 1: routing, 2: sealed}))

    # 4. Bob fetches his first-contact mailbox of this epoch and reads the message.
    own_routing = owned["bob"].routing_id(bob.mailbox.public_key, epoch)
    assert own_routing == routing
    (received,) = net.fetch(own_routing)
    if encrypt:
        opened = hpke.open_base(
            HPKE_SUITE,
            received[:32],
            bob.identity.private_bytes()[32:],
            FIRST_CONTACT_INFO,
            routing,
            received[32:],
        )
        assert opened == plaintext
    return Run(net, alice, bob, carol, outputs, tokens, routing_ids, sealed)


# --- the audit --------------------------------------------------------------------------------


def _number_spellings(text: str) -> list[str]:
    """At least ten spellings of one number, derived by hand (not by the normaliser)."""
    digits = "".join(ch for ch in text if ch.isdigit())
    national = digits if digits.startswith("0") else None
    if text.startswith("+"):
        international = digits  # 44...
        national = "0" + digits[2:]
    else:
        assert national is not None
        international = "44" + national[1:]
    nsn = international[2:]
    area, rest = nsn[:2], nsn[2:]
    return [
        text,
        international,  # digits only, with the country code
        "+" + international,  # E.164
        "00" + international,
        national,  # national, with the trunk prefix
        nsn,  # national significant number
        f"+44 {area} {rest[:4]} {rest[4:]}",
        f"0{area} {rest[:4]} {rest[4:]}",
        f"(0{area}) {rest[:4]}-{rest[4:]}",
        f"0{area}-{rest[:4]}-{rest[4:]}",
        f"0{area}.{rest[:4]}.{rest[4:]}",
        f"+44-{area}-{rest[:4]}-{rest[4:]}",
        f"+44 (0){area} {rest}",
        f"tel:+{international}",
    ]


def _bcd(digits: str, swapped: bool) -> bytes:
    if len(digits) % 2:
        digits += "F"
    pairs = [digits[i : i + 2] for i in range(0, len(digits), 2)]
    return bytes(int(p[::-1] if swapped else p, 16) for p in pairs)


def _patterns(label: str, spellings: list[str]) -> dict[bytes, str]:
    out: dict[bytes, str] = {}
    for spelling in spellings:
        for encoding in ("ascii", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
            raw = spelling.encode(encoding)
            out[raw] = f"{label} {spelling!r} {encoding}"
            for algorithm in ("sha1", "sha256", "sha512", "md5"):
                digest = hashlib.new(algorithm, raw).digest()
                name = f"{label} {algorithm}({spelling!r} {encoding})"
                out[digest] = name + " raw"
                out[digest.hex().encode()] = name + " hex"
                out[digest.hex().upper().encode()] = name + " HEX"
                out[digest.hex().encode("utf-16-le")] = name + " hex utf-16"
                out[base64.b64encode(digest)] = name + " base64"
        digits = "".join(ch for ch in spelling if ch.isdigit())
        if digits and spelling.isascii():
            out[_bcd(digits, False)] = f"{label} BCD {digits}"
            out[_bcd(digits, True)] = f"{label} TBCD {digits}"
            value = int(digits)
            out[value.to_bytes(8, "big")] = f"{label} u64be {digits}"
            out[value.to_bytes(8, "little")] = f"{label} u64le {digits}"
    return out


def sensitive_patterns(run: Run) -> dict[bytes, str]:
    patterns: dict[bytes, str] = {}
    everyone = {ALICE_PHONE, BOB_PHONE, CAROL_PHONE, DAVE_PHONE, *run.alice.contacts}
    for phone in sorted(everyone):
        patterns |= _patterns(f"number {phone}", _number_spellings(phone))
    for device in (run.alice, run.bob, run.carol):
        for label, value in (("IMEI", device.imei), ("IMSI", device.imsi)):
            spelled = [value, f"{value[:2]}-{value[2:8]}-{value[8:14]}-{value[14:]}"]
            patterns |= _patterns(f"{device.name} {label}", spelled)
    return patterns


def audit(captured: dict[str, list[bytes]], patterns: dict[bytes, str]) -> list[tuple[str, str]]:
    """Every (role, pattern) such that a captured blob of that role contains the pattern."""
    findings = []
    for role, blobs in captured.items():
        for pattern, label in patterns.items():
            if any(pattern in blob for blob in blobs):
                findings.append((role, label))
    return findings


def role_secrets(run: Run) -> dict[str, dict[bytes, str]]:
    """Design brief §2: what each role must never learn, beyond identifiers."""
    outputs = {o: "an OPRF output" for o in run.outputs}
    tokens = {t: "a discovery token" for t in run.tokens}
    prefixes = {t[:8]: "8 bytes of a discovery token" for t in run.tokens}
    routing = {r: "a routing ID" for r in run.routing_ids}
    alice_keys = {
        run.alice.identity.public.signing_key: "the sender's signing key",
        run.alice.identity.public.dh_key: "the sender's DH key",
    }
    mailbox_keys = {d.mailbox.public_key: "a mailbox key" for d in (run.bob, run.carol)}
    content = {b"Hi Bob": "message content"}
    return {
        "evaluator": outputs | tokens | prefixes | routing | alice_keys | mailbox_keys,
        "directory": outputs | routing,
        "relay": outputs | tokens | prefixes | alice_keys | mailbox_keys | content,
    }


# --- tests ------------------------------------------------------------------------------------


def test_servers_receive_no_identifier_in_any_form() -> None:
    run = run_scenario()
    patterns = sensitive_patterns(run)
    assert len(patterns) > 5000  # the audit looks for many forms, not a handful
    assert sum(len(b) for blobs in run.net.captured.values() for b in blobs) > 1000
    assert all(run.net.captured[role] for role in ("evaluator", "directory", "relay"))
    assert audit(run.net.captured, patterns) == []


def test_each_role_learns_only_what_the_brief_allows() -> None:
    run = run_scenario()
    for role, secrets in role_secrets(run).items():
        assert audit({role: run.net.captured[role]}, secrets) == [], role


def test_lookups_do_not_name_the_token_looked_up() -> None:
    run = run_scenario()
    lookups = [b for b in run.net.captured["directory"] if len(b) < 16 and b != b"parameters?"]
    assert len(lookups) == 3
    contact_tokens = run.tokens[2:]
    for request in lookups:
        for token in contact_tokens:
            assert token[:4] not in request


def test_the_first_message_reaches_bob_and_only_he_can_read_it() -> None:
    run = run_scenario()
    assert run.first_message[:32] != b"\x00" * 32
    assert b"Alice" not in run.first_message


# --- negative controls: the audit can fail ------------------------------------------------------


def _sha256_hex_of_number(name: str, phone: str) -> bytes:
    """Bug: the client uses a hash of its own number as its credential."""
    return (
        hashlib.sha256(normalize_phone_number(phone, default_country=44).e164.encode())
        .hexdigest()
        .encode()
    )


def _md5_of_national(name: str, phone: str) -> bytes:
    digits = "".join(ch for ch in phone if ch.isdigit())
    national = "0" + digits[2:] if phone.startswith("+") else digits
    return hashlib.md5(national.encode()).digest()


def _imei_as_credential(name: str, phone: str) -> bytes:
    return {"alice": "356938035643809", "bob": "490154203237518", "carol": "353918051234567"}[
        name
    ].encode()


def _utf16_number(name: str, phone: str) -> bytes:
    return ("+44" + "".join(ch for ch in phone if ch.isdigit())[1:]).encode("utf-16-be")


@pytest.mark.parametrize(
    ("credential", "expected"),
    [
        (_sha256_hex_of_number, "sha256('+447700900123' ascii) hex"),
        (_md5_of_national, "md5('07700900123' ascii) raw"),
        (_imei_as_credential, "alice IMEI '356938035643809' ascii"),
        (_utf16_number, "'+447700900123' utf-16-be"),
    ],
)
def test_audit_catches_a_planted_credential_leak(
    credential: Callable[[str, str], bytes], expected: str
) -> None:
    run = run_scenario(credential=credential)
    findings = audit(run.net.captured, sensitive_patterns(run))
    assert any(role == "evaluator" and expected in label for role, label in findings), findings
    assert any(role == "directory" for role, _ in findings)


def test_audit_catches_an_unencrypted_first_message() -> None:
    run = run_scenario(encrypt=False)
    findings = audit(run.net.captured, sensitive_patterns(run))
    assert ("relay", "number 07700 900123 '+447700900123' ascii") in findings
    roles = role_secrets(run)
    relay_findings = audit({"relay": run.net.captured["relay"]}, roles["relay"])
    assert ("relay", "the sender's signing key") in relay_findings
    assert ("relay", "message content") in relay_findings
