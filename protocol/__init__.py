"""Blindpost: end-to-end encrypted messaging whose servers are blind (spec/README.md).

The package is sans-I/O: no sockets, files, clocks or global randomness in protocol logic.
``rng`` and ``now`` are parameters. The stable API is re-exported here; the modules are the
layers of the spec (``codec`` §2, ``primitives`` and ``hpke`` §3, ``keys`` §4, ``safety`` §5,
``handshake`` §6, ``ratchet`` §7, ``oprf``, ``blinding``, ``evaluator`` and ``directory`` §8,
``envelope`` §9, ``relay`` §10, ``sms`` §11, ``client`` §12).
"""

from .blinding import (
    IdentifierOutput,
    MailboxKeyPair,
    PhoneNumber,
    normalize_phone_number,
    request_evaluation,
)
from .client import Client, ClientSnapshot, Exchange, Outgoing, Received
from .codec import Message, decode, encode
from .directory import Directory, Registration, Unregistration
from .envelope import (
    Content,
    ConversationMailbox,
    Envelope,
    FirstContactBundle,
    FirstContactKey,
    FirstContactKeys,
    MailboxGrant,
    SealedFirstContact,
    open_first_contact,
    open_session,
    seal_first_contact,
    seal_session,
)
from .errors import AuthenticationError, DecodeError, ProtocolError, StateError, UsageError
from .evaluator import Evaluator, OprfKeyPair, PublishedKey
from .handshake import InitialMessage, Initiated, PrekeyStore, Responded, initiate
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
from .ratchet import Limits, Session, SessionIndex, SessionSnapshot
from .safety import SafetyNumber, compare_scanned
from .sms import (
    Profile,
    Reassembler,
    TextSegment,
    TransportPolicy,
    open_sms_first_contact,
    open_sms_session,
    seal_sms_first_contact,
    seal_sms_session,
)

__all__ = [
    "AuthenticationError",
    "Client",
    "ClientSnapshot",
    "Content",
    "ConversationMailbox",
    "DecodeError",
    "Directory",
    "Envelope",
    "Evaluator",
    "Exchange",
    "FirstContactBundle",
    "FirstContactKey",
    "FirstContactKeys",
    "IdentifierOutput",
    "IdentityKey",
    "IdentityKeyPair",
    "InitialMessage",
    "Initiated",
    "KemPrekey",
    "KemPrekeyPair",
    "Limits",
    "MailboxGrant",
    "MailboxKeyPair",
    "Message",
    "OneTimePrekey",
    "OneTimePrekeyPair",
    "OprfKeyPair",
    "Outgoing",
    "PhoneNumber",
    "PrekeyBundle",
    "PrekeyStore",
    "PrekeyUpload",
    "Profile",
    "ProtocolError",
    "PublishedKey",
    "Reassembler",
    "Received",
    "Registration",
    "Responded",
    "SafetyNumber",
    "SealedFirstContact",
    "Session",
    "SessionIndex",
    "SessionSnapshot",
    "SignedPrekey",
    "SignedPrekeyPair",
    "StateError",
    "TextSegment",
    "TransportPolicy",
    "Unregistration",
    "UsageError",
    "compare_scanned",
    "decode",
    "encode",
    "initiate",
    "normalize_phone_number",
    "open_first_contact",
    "open_session",
    "open_sms_first_contact",
    "open_sms_session",
    "request_evaluation",
    "seal_first_contact",
    "seal_session",
    "seal_sms_first_contact",
    "seal_sms_session",
]

__version__ = "0.1.0"
