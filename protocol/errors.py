"""Spec §1.4: the error hierarchy and its stable codes.

Every failure the library reports on hostile input, on authentication, on protocol state or on
misuse of the API is a :class:`ProtocolError` carrying a stable string ``code``. Codes are part of
the wire contract: invalid test vectors name the code they expect and other implementations
compare against it, so a code is never renamed; new ones are added to :data:`CODES` and to
``spec/errors.md`` together (a test keeps the two equal).

Check order is normative (decode → authenticate → state), so that every invalid input has
exactly one expected code:

* :class:`DecodeError` — the bytes do not parse into a valid structure. Raised before any
  cryptographic operation runs on them.
* :class:`AuthenticationError` — a tag, MAC, signature or proof does not verify. One code,
  ``auth.failed``, for all of them, deliberately uninformative (no oracle).
* :class:`StateError` — authentic, but not acceptable now (replay, exhausted counter, …).
* :class:`UsageError` — the caller broke the API contract (wrong key length, bad argument).

Messages (``detail``) are for humans and never contain secret material; tests assert codes.
"""

from __future__ import annotations

from typing import ClassVar, Final

__all__ = [
    "CODES",
    "AuthenticationError",
    "DecodeError",
    "ProtocolError",
    "StateError",
    "UsageError",
]


class ProtocolError(Exception):
    """Base class of every error the library raises on purpose; ``code`` is stable."""

    prefix: ClassVar[str] = ""
    code: str
    detail: str

    def __init__(self, code: str, detail: str = "") -> None:
        owner = CODES.get(code)
        if owner is None or owner[0] is not type(self):
            # A programming error inside the library: an unregistered code, or one raised
            # through the wrong class. Fail loudly so tests catch it.
            raise TypeError(f"{type(self).__name__} cannot carry unregistered code {code!r}")
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.code, self.detail))


class DecodeError(ProtocolError):
    """Spec §1.4: bytes that do not parse; raised before any cryptography runs on them."""

    prefix = "decode."


class AuthenticationError(ProtocolError):
    """Spec §1.4: a tag, MAC, signature or proof did not verify (always ``auth.failed``)."""

    prefix = "auth."

    def __init__(self, code: str = "auth.failed", detail: str = "") -> None:
        super().__init__(code, detail)


class StateError(ProtocolError):
    """Spec §1.4: authentic input that is not acceptable in the current state."""

    prefix = "state."


class UsageError(ProtocolError):
    """Spec §1.4: the caller broke the API contract."""

    prefix = "usage."


#: Every code, its class and its trigger. ``spec/errors.md`` lists exactly these.
CODES: Final[dict[str, tuple[type[ProtocolError], str]]] = {
    # --- decode: codec (spec §2) ---
    "decode.truncated": (DecodeError, "input ends inside a data item"),
    "decode.trailing": (DecodeError, "bytes remain after the top-level data item"),
    "decode.too_large": (DecodeError, "input longer than the limit for this structure"),
    "decode.too_deep": (DecodeError, "arrays and maps nested deeper than the limit"),
    "decode.non_minimal": (DecodeError, "an integer, length or count not in its shortest form"),
    "decode.unsorted_keys": (
        DecodeError,
        "map keys not in bytewise lexicographic order of their encodings",
    ),
    "decode.duplicate_key": (DecodeError, "a map key appears twice"),
    "decode.indefinite": (DecodeError, "an indefinite-length string, array or map"),
    "decode.tag": (DecodeError, "a tag (major type 6)"),
    "decode.float": (DecodeError, "a floating-point number"),
    "decode.simple": (DecodeError, "a simple value other than false and true (null included)"),
    "decode.reserved": (DecodeError, "additional information 28, 29 or 30 (reserved)"),
    "decode.invalid_utf8": (DecodeError, "a text string that is not valid UTF-8"),
    "decode.key_type": (DecodeError, "a map key that is neither an integer nor a text string"),
    "decode.noncanonical": (
        DecodeError,
        "well-formed, but re-encoding it deterministically gives different bytes",
    ),
    # --- decode: typed message layer (spec §2.4) ---
    "decode.type": (DecodeError, "a value of the wrong CBOR type for its field or structure"),
    "decode.version": (DecodeError, "a structure version this implementation does not support"),
    "decode.missing_field": (DecodeError, "a required map key is absent"),
    "decode.unknown_field": (DecodeError, "a map key the structure does not define"),
    "decode.length": (DecodeError, "a byte or text string of the wrong length for its field"),
    "decode.range": (DecodeError, "an integer outside the range allowed for its field"),
    "decode.count": (DecodeError, "an array with more or fewer elements than its field allows"),
    "decode.duplicate_id": (DecodeError, "two prekeys of the same kind with one id in a structure"),
    # --- decode: key material (spec §3, §4) ---
    "decode.bad_key": (
        DecodeError,
        "a public key that is not a valid encoding (ML-KEM modulus check, non-canonical point)",
    ),
    "decode.low_order": (
        DecodeError,
        "an X25519 or Ed25519 public key of small order (X25519 result would be all zero)",
    ),
    "decode.bad_element": (
        DecodeError,
        "a ristretto255 element that is non-canonical or the identity, or a scalar >= L",
    ),
    # --- decode: identifiers and the directory (spec §8) ---
    "decode.phone_chars": (
        DecodeError,
        "a phone number with a character outside the allowed set, or a '+' that is not first",
    ),
    "decode.phone_length": (
        DecodeError,
        "a phone number too long as text, or whose digit count is outside the E.164 bounds",
    ),
    "decode.phone_country": (
        DecodeError,
        "a phone number whose country calling code is not assigned, or a national number"
        " without a default country",
    ),
    "decode.padding": (
        DecodeError,
        "padding that is not all zero bytes or does not give the structure its fixed size",
    ),
    # --- decode: exported session state (spec §7.8) ---
    "decode.bad_state": (
        DecodeError,
        "an exported session state whose fields contradict each other",
    ),
    # --- decode: SMS fallback (spec §11) ---
    "decode.conflict": (
        DecodeError,
        "two segments of one SMS message that disagree (same reference and number, other bytes;"
        " or another segment count)",
    ),
    "decode.alphabet": (
        DecodeError,
        "SMS text that is not the canonical base64 of any bytes (a character outside the"
        " alphabet, a bad length, unused bits set)",
    ),
    # --- auth ---
    "auth.failed": (
        AuthenticationError,
        "an AEAD tag, MAC, signature or proof did not verify",
    ),
    # --- state ---
    "state.sequence_overflow": (
        StateError,
        "an HPKE context's sequence number would exceed its maximum",
    ),
    "state.replay": (
        StateError,
        "a message that was already accepted (an initial message or a ratchet message)",
    ),
    "state.unknown_prekey": (
        StateError,
        "an initial message names a prekey id the responder does not hold (used or expired)",
    ),
    # --- state: ratchet (spec §7) ---
    "state.skip_limit": (
        StateError,
        "a ratchet message that would skip more message keys than the session's jump limit",
    ),
    "state.chain_exhausted": (
        StateError,
        "a ratchet sending chain that has used every message number",
    ),
    "state.unknown_session": (
        StateError,
        "a ratchet message whose tag no session in the index expects",
    ),
    # --- state: blinding, evaluator and directory (spec §8) ---
    "state.unknown_key": (
        StateError,
        "an OPRF key id that the evaluator does not hold (never or no longer) or the client"
        " does not know",
    ),
    "state.rate_limited": (
        StateError,
        "a credential asked for more than its token bucket allows at this time",
    ),
    "state.mismatch": (
        StateError,
        "a response that does not answer its request (another key id, prefix or page)",
    ),
    "state.stale": (
        StateError,
        "a signed operation whose time is outside its freshness window (directory, relay owner"
        " proof, deposit capability), or a directory operation not later than the last accepted",
    ),
    "state.not_registered": (
        StateError,
        "an unregistration for a token and identity that have no registration",
    ),
    "state.token_full": (
        StateError,
        "a registration by a new identity for a token that already has the most registrations",
    ),
    "state.bucket_full": (
        StateError,
        "a registration for a directory bucket whose pages are all full",
    ),
    "state.prefix_length": (
        StateError,
        "a directory lookup with a prefix length other than the directory's current one",
    ),
    "state.directory_full": (
        StateError,
        "a registration of a new identity for a token when the directory holds its most "
        "registrations or replay records",
    ),
    # --- state: relay (spec §10) ---
    "state.unknown_mailbox": (
        StateError,
        "an owner operation on a mailbox the relay does not hold, or a bundle request for an"
        " address that hosts none, or an envelope a client received for no address of its own",
    ),
    "state.relay_full": (StateError, "a new mailbox at a relay that holds its most mailboxes"),
    "state.quota_count": (
        StateError,
        "a deposit to a mailbox that holds its most envelopes, or one-time prekeys beyond the"
        " pool's bound",
    ),
    "state.quota_bytes": (StateError, "a deposit to a mailbox that holds its most bytes"),
    "state.pow_required": (
        StateError,
        "a deposit to a first-contact mailbox without proof of work",
    ),
    "state.pow_stale": (
        StateError,
        "a proof of work under a seed that is neither the relay's current nor its previous one",
    ),
    "state.pow_insufficient": (
        StateError,
        "a proof of work whose hash does not meet the mailbox's effort",
    ),
    # --- usage ---
    "usage.bad_argument": (UsageError, "an argument of the wrong length, type or range"),
    "usage.bad_state": (
        UsageError,
        "a call the object's state does not allow now (a client exchange already done, a "
        "client not registered yet)",
    ),
    "usage.export_only": (UsageError, "seal or open on an HPKE export-only context"),
    "usage.rng": (UsageError, "the injected rng returned the wrong number of bytes"),
    "usage.no_sending_chain": (
        UsageError,
        "encrypt on a ratchet session that has not received its first message",
    ),
}

for _code, (_cls, _trigger) in CODES.items():
    assert _code.startswith(_cls.prefix), _code
