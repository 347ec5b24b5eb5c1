"""Spec §7: the Double Ratchet with header encryption — the live session state machine.

The algorithm is Signal's "Double Ratchet with header encryption" (Double Ratchet
specification, revision 1, §4: ``RatchetInitAliceHE``, ``RatchetInitBobHE``,
``RatchetEncryptHE``, ``RatchetDecryptHE``, ``DHRatchetHE``), with four changes that the spec
states and argues (§7.3.3–§7.7):

* every message starts with a 16-byte **tag**, ``AES-256(TK, 0^64 || u32be(n) || u32be(2))``
  under a tag key derived from the header key of its chain. A receiver compares a message's
  tag with the one it expects next on its current and on its next chain, and otherwise
  inverts it to find the chain and the number (no trial decryption; skipped keys are a dict
  keyed by tag); a :class:`~protocol.ratchet.SessionIndex` maps the expected tags of many
  sessions to their session in O(1);
* separate bounds for one jump within a chain, for the total number of stored skipped keys
  (oldest first eviction) and for the age of previous chains (:class:`Limits`);
* a message of a known chain is authenticated by its body AEAD alone (its associated data
  holds the tag and the encrypted header); the header is decrypted when its content is needed
  (a DH ratchet step) or to authenticate a message before a state error (§7.3.3);
* every failure leaves the session exactly as it was: decryption computes into locals and
  commits at the very end, after the body authenticated (vodozemac's find-then-commit). No
  state is copied for rollback.

Hot-path notes: a chain's tag key and its AES object (``Aes256Block``, cheap for a chain's
first tags, an ECB context for long chains) are set up on first use, once per chain; an
in-order message and the first message of the next chain are recognised by comparing tags,
so inversion (an AES decryption context) is needed only out of order; the sending header key
gets a ``ChaCha20Poly1305Key`` from the second message of its chain on (the first header, and
every header a receiver opens, use one-shot ChaCha20-Poly1305 without a key object); KDF_CK is
one ``hmac_sha256_pair``; KDF_RK uses ``labeled_kdf_keys3`` (same output as ``labeled_kdf``)
and TK ``labeled_expand``; the message layout is fixed (no CBOR on the per-message path,
§7.3). A DH ratchet step that skips nothing and has no index attached
takes a short path through the bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, NoReturn

from .. import labels
from ..errors import AuthenticationError, DecodeError, StateError, UsageError
from ..keys import check_x25519_public_key
from ..primitives import (
    Aes256Block,
    ChaCha20Poly1305Key,
    Rng,
    X25519KeyPair,
    chacha20_poly1305_open,
    chacha20_poly1305_open_single_use,
    chacha20_poly1305_seal,
    chacha20_poly1305_seal_single_use,
    ct_equal,
    hmac_sha256_pair,
    labeled_expand,
    labeled_kdf_keys3,
)
from ._state import (
    DEFAULT_LIMITS,
    MAX_ASSOCIATED_DATA_SIZE,
    MAX_MESSAGE_NUMBER,
    Limits,
    PreviousChain,
    SessionSnapshot,
    SessionState,
    pack_skipped,
    unpack_skipped,
)

__all__ = [
    "ENCRYPTED_HEADER_SIZE",
    "HEADER_SIZE",
    "MAX_MESSAGE_SIZE",
    "MAX_PLAINTEXT_SIZE",
    "MESSAGE_OVERHEAD",
    "TAG_SIZE",
    "Session",
    "parse_message",
]

#: Spec §7.3: the tag that starts every message.
TAG_SIZE: Final = 16
#: Spec §7.3: the header plaintext ``dh (32) || u32be(pn) || u32be(n)``.
HEADER_SIZE: Final = 40
#: Spec §7.3: the encrypted header (ChaCha20-Poly1305 adds a 16-byte tag).
ENCRYPTED_HEADER_SIZE: Final = HEADER_SIZE + 16
#: Spec §7.3: tag, encrypted header and the body's AEAD tag.
MESSAGE_OVERHEAD: Final = TAG_SIZE + ENCRYPTED_HEADER_SIZE + 16
#: Spec §7.3: the largest ratchet message (it fits a 64 KiB envelope payload, §6.6).
MAX_MESSAGE_SIZE: Final = 65_536
#: Spec §7.3: the largest plaintext of one message.
MAX_PLAINTEXT_SIZE: Final = MAX_MESSAGE_SIZE - MESSAGE_OVERHEAD
#: Spec §7.3: the last message number a sender may use, so that ``PN`` fits a uint32.
_LAST_SENDING_N: Final = MAX_MESSAGE_NUMBER - 1
#: Message numbers are below this bound (exclusive), so ``u32be(n)`` always exists.
_N_BOUND: Final = MAX_MESSAGE_NUMBER + 1

_PREFIX: Final = TAG_SIZE + ENCRYPTED_HEADER_SIZE  # tag || encrypted header
_Z8: Final = bytes(8)
#: Spec §7.5: the last four bytes of every tag block (AES-GCM's first counter value).
_CTR2: Final = b"\x00\x00\x00\x02"
#: Spec §7.5: the fixed bytes of an inverted tag, ``0^64`` and ``u32be(2)``.
_TAG_FIXED: Final = _Z8 + _CTR2
_CK_MESSAGE: Final = b"\x01"
_CK_NEXT: Final = b"\x02"


def parse_message(data: bytes) -> tuple[bytes, bytes, bytes]:
    """Spec §7.3: split a ratchet message into ``(tag, encrypted_header, body)``.

    Raises ``decode.length`` below :data:`MESSAGE_OVERHEAD` bytes and ``decode.too_large``
    above :data:`MAX_MESSAGE_SIZE`; any other byte string of a valid length parses (what it
    means is decided by authentication).
    """
    data = _message_bytes(data)
    return data[:TAG_SIZE], data[TAG_SIZE:_PREFIX], data[_PREFIX:]


def _body(data: bytes) -> bytes | memoryview:
    """The body of a message: a copy when small (cheaper), a view when large."""
    return data[_PREFIX:] if len(data) < 2048 else memoryview(data)[_PREFIX:]


def _message_bytes(data: object) -> bytes:
    if type(data) is not bytes:
        if not isinstance(data, bytearray | memoryview):
            raise UsageError("usage.bad_argument", "a ratchet message is bytes")
        data = bytes(data)
    size = len(data)
    if size < MESSAGE_OVERHEAD:
        raise DecodeError("decode.length", "ratchet message shorter than its fixed overhead")
    if size > MAX_MESSAGE_SIZE:
        raise DecodeError("decode.too_large", "ratchet message longer than 65536 bytes")
    return data


# --- Spec §7.2: the KDFs ------------------------------------------------------------------------


def kdf_rk(root_key: bytes, dh_out: bytes) -> tuple[bytes, bytes, bytes]:
    """Spec §7.2: ``KDF_RK_HE(rk, dh_out) -> (rk', ck, nhk)``.

    ``KDF(LABEL_RATCHET_ROOT, ikm = dh_out, salt = rk, context = "", L = 96)`` split into three
    32-byte keys: HKDF with the root key as salt, as Signal's spec recommends.
    """
    return labeled_kdf_keys3(labels.LABEL_RATCHET_ROOT, dh_out, root_key, b"")


def kdf_ck(chain_key: bytes) -> tuple[bytes, bytes]:
    """Spec §7.2: ``KDF_CK(ck) -> (ck', mk)``: ``mk = HMAC(ck, 0x01)``, ``ck' = HMAC(ck, 0x02)``."""
    message_key, next_chain_key = hmac_sha256_pair(chain_key, _CK_MESSAGE, _CK_NEXT)
    return next_chain_key, message_key


def tag_key(header_key: bytes) -> bytes:
    """Spec §7.2: ``TK(hk) = KDF_EXPAND(LABEL_RATCHET_TAG, hk, "", 32)`` (a header key is a
    uniformly random KDF output, so no Extract step, §3.2)."""
    return labeled_expand(labels.LABEL_RATCHET_TAG, header_key, b"", 32)


class _Chain:
    """One receiving header-key chain: its header key and its tag cipher (§7.5).

    ``index`` numbers the receiving chains of a session from 1 (§7.6); the pending *next*
    receiving chain already carries the index it will have. ``_prp`` (AES under the chain's
    tag key) is set up on first use: a chain may be created and deleted without ever being
    looked at. ``window`` caches, while the session is in a :class:`SessionIndex`, the tags of
    this chain's window that the index holds (message number → tag), so that moving a window
    recomputes no tag.
    """

    __slots__ = ("_prp", "header_key", "index", "window")

    def __init__(self, header_key: bytes, index: int) -> None:
        self.header_key = header_key
        self.index = index
        self._prp: Aes256Block | None = None
        self.window: dict[int, bytes] | None = None

    @property
    def prp(self) -> Aes256Block:
        """AES-256 under ``TK(header_key)`` (§7.5), set up once."""
        prp = self._prp
        if prp is None:
            prp = self._prp = Aes256Block(tag_key(self.header_key))
        return prp

    def tag(self, n: int) -> bytes:
        """Spec §7.5: the tag of message ``n`` of this chain."""
        return (self._prp or self.prp).counter_block(_Z8 + n.to_bytes(4, "big"))

    def known_tag(self, n: int) -> bytes:
        """The tag of message ``n``, from the window cache when it holds it."""
        window = self.window
        if window is not None:
            tag = window.get(n)
            if tag is not None:
                return tag
        return self.tag(n)

    def number(self, tag: bytes) -> int | None:
        """Spec §7.5: the message number whose tag is ``tag``, or ``None`` if not this chain's."""
        block = self.prp.decrypt(tag)
        if ct_equal(block[:8] + block[12:], _TAG_FIXED):
            return int.from_bytes(block[8:12], "big")
        return None

    def open_header(self, data: bytes, n: int) -> bytes:
        """Spec §7.3: authenticate and decrypt the header of message ``n``; ``auth.failed``.

        One-shot ChaCha20-Poly1305: a receiver opens a header only at a DH ratchet step or
        before a state error, so no key object is kept.
        """
        number = n.to_bytes(4, "big")
        header = chacha20_poly1305_open(self.header_key, _Z8 + number, data[TAG_SIZE:_PREFIX], b"")
        if not ct_equal(header[36:], number):
            raise AuthenticationError()
        return header

    def __repr__(self) -> str:
        return f"_Chain(index={self.index}, <redacted>)"


#: One stored skipped key: its chain, its message number and the message key (§7.6).
_Skipped = tuple[_Chain, int, bytes]
#: A window of expected tags: chain and the half-open range of message numbers (§7.5).
_Window = tuple[_Chain, int, int]
#: ``Session.decrypt``'s ``check``: plaintext in, the value to return out; raising aborts.
_Check = Callable[[bytes], bytes]
#: Index changes computed before a commit: tags to drop, tags to add, the chains whose
#: window caches end, and the new window caches.
_IndexChanges = tuple[
    list[bytes], list[bytes], tuple[_Chain, ...], list[tuple[_Chain, dict[int, bytes]]]
]


class _TagObserver:
    """What a :class:`SessionIndex` attaches to a session to follow its expected tags."""

    __slots__ = ()

    def replace(self, old: bytes, new: bytes | None) -> None:
        raise NotImplementedError

    def apply(self, removed: list[bytes], added: list[bytes]) -> None:
        raise NotImplementedError


def _bad_argument(detail: str) -> NoReturn:
    raise UsageError("usage.bad_argument", detail)


def _require_key(name: str, value: object) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        _bad_argument(f"{name} must be 32 bytes")
    return value


def _require_ad(value: object) -> bytes:
    if not isinstance(value, bytes) or len(value) > MAX_ASSOCIATED_DATA_SIZE:
        _bad_argument(f"associated_data must be bytes of at most {MAX_ASSOCIATED_DATA_SIZE}")
    return value


def _require_limits(limits: object) -> Limits:
    if limits is None:
        return DEFAULT_LIMITS
    if type(limits) is not Limits:
        _bad_argument("limits must be a Limits")
    return limits


class Session:
    """Spec §7: one end of a Double Ratchet session with header encryption (h11-style facade).

    Create it with :meth:`initiator` or :meth:`responder` from the handshake's output (§6), or
    with :meth:`restore` from a :class:`SessionSnapshot`. :meth:`encrypt` returns the bytes of
    one ratchet message; :meth:`decrypt` takes them and returns the plaintext. Both are
    transactional: on any error the session is exactly as it was (compare :meth:`snapshot`
    before and after). The session keeps ``rng`` for the DH ratchet key pairs it generates.

    A session is a secret: its ``repr`` is redacted and it cannot be pickled or copied. Export
    it with :meth:`snapshot`.
    """

    __slots__ = (
        "_ad",
        "_ckr",
        "_cks",
        "_dhr",
        "_dhs",
        "_header_prefix",
        "_hks",
        "_limits",
        "_next",
        "_nhks",
        "_nr",
        "_ns",
        "_observer",
        "_pn",
        "_previous",
        "_recv",
        "_rk",
        "_rng",
        "_send_aead",
        "_send_prp",
        "_skipped",
    )

    _ad: bytes
    _cks: bytes | None
    _ckr: bytes | None
    _dhr: bytes | None
    _dhs: X25519KeyPair
    _header_prefix: bytes
    _hks: bytes | None
    _limits: Limits
    _next: _Chain
    _nhks: bytes
    _nr: int
    _ns: int
    _observer: _TagObserver | None
    _pn: int
    _previous: tuple[_Chain, ...]
    _recv: _Chain | None
    _rk: bytes
    _rng: Rng
    _send_aead: ChaCha20Poly1305Key | None
    _send_prp: Aes256Block | None
    _skipped: dict[bytes, _Skipped]

    def __init__(self) -> None:
        raise TypeError("use Session.initiator, Session.responder or Session.restore")

    # --- construction (spec §7.2) ------------------------------------------------------------

    @classmethod
    def _blank(cls, associated_data: bytes, rng: Rng, limits: Limits) -> Session:
        self = object.__new__(cls)
        self._ad = associated_data
        self._rng = rng
        self._limits = limits
        self._observer = None
        self._skipped = {}
        self._previous = ()
        return self

    def _set_sending(self, header_key: bytes | None) -> None:
        self._hks = header_key
        self._send_aead = None  # set up by encrypt when needed
        self._send_prp = None
        self._header_prefix = self._dhs.public_key + self._pn.to_bytes(4, "big")

    @classmethod
    def initiator(
        cls,
        *,
        root_key: bytes,
        header_key: bytes,
        next_header_key: bytes,
        remote_ratchet_key: bytes,
        associated_data: bytes,
        rng: Rng,
        limits: Limits | None = None,
    ) -> Session:
        """Spec §7.2 ``RatchetInitAliceHE(SK, bob_dh_public_key, HKa, NHKb)``.

        ``root_key`` is SK, ``header_key`` HKa (this side's first sending header key),
        ``next_header_key`` NHKb and ``remote_ratchet_key`` the responder's signed prekey.
        Draws one X25519 private key from ``rng``.
        """
        sk = _require_key("root_key", root_key)
        hka = _require_key("header_key", header_key)
        nhkb = _require_key("next_header_key", next_header_key)
        remote = _require_key("remote_ratchet_key", remote_ratchet_key)
        check_x25519_public_key(remote)
        self = cls._blank(_require_ad(associated_data), rng, _require_limits(limits))
        self._dhs = X25519KeyPair.generate(rng)
        self._dhr = remote
        self._rk, self._cks, self._nhks = kdf_rk(sk, self._dhs.exchange(remote))
        self._ns = 0
        self._pn = 0
        self._set_sending(hka)
        self._ckr = None
        self._nr = 0
        self._recv = None
        self._next = _Chain(nhkb, 1)
        return self

    @classmethod
    def responder(
        cls,
        *,
        root_key: bytes,
        header_key: bytes,
        next_header_key: bytes,
        ratchet_private_key: bytes | X25519KeyPair,
        associated_data: bytes,
        rng: Rng,
        limits: Limits | None = None,
    ) -> Session:
        """Spec §7.2 ``RatchetInitBobHE(SK, bob_dh_key_pair, HKa, NHKb)``.

        ``ratchet_private_key`` is the private key of the signed prekey the initiator used, as
        32 bytes or as an already parsed :class:`~protocol.primitives.X25519KeyPair` (which
        the session shares, never changes, and replaces at its first DH ratchet step).
        The session cannot send until it has decrypted the initiator's first message
        (``usage.no_sending_chain``); that first :meth:`decrypt` may be its first operation.
        """
        sk = _require_key("root_key", root_key)
        hka = _require_key("header_key", header_key)
        nhkb = _require_key("next_header_key", next_header_key)
        if isinstance(ratchet_private_key, X25519KeyPair):
            key_pair = ratchet_private_key
        else:
            key_pair = X25519KeyPair(_require_key("ratchet_private_key", ratchet_private_key))
        self = cls._blank(_require_ad(associated_data), rng, _require_limits(limits))
        self._dhs = key_pair
        self._dhr = None
        self._rk = sk
        self._cks = None
        self._ns = 0
        self._pn = 0
        self._nhks = nhkb
        self._set_sending(None)
        self._ckr = None
        self._nr = 0
        self._recv = None
        self._next = _Chain(hka, 1)
        return self

    # --- sending (spec §7.3) -----------------------------------------------------------------

    def encrypt(self, plaintext: bytes) -> bytes:
        """Spec §7.3 ``RatchetEncryptHE``: the next message of the sending chain.

        ``tag || ENCRYPT(HKs, header) || ENCRYPT(mk, plaintext, AD || tag || enc_header)``.
        Errors: ``usage.no_sending_chain`` (a responder before its first message),
        ``usage.bad_argument`` (not bytes, or longer than :data:`MAX_PLAINTEXT_SIZE`),
        ``state.chain_exhausted``.
        """
        cks = self._cks
        if cks is None:
            raise UsageError("usage.no_sending_chain", "a responder sends after it received")
        if type(plaintext) is not bytes:
            if not isinstance(plaintext, bytearray | memoryview):
                _bad_argument("plaintext must be bytes")
            plaintext = bytes(plaintext)
        if len(plaintext) > MAX_PLAINTEXT_SIZE:
            _bad_argument(f"plaintext longer than {MAX_PLAINTEXT_SIZE} bytes")
        n = self._ns
        if n > _LAST_SENDING_N:
            raise StateError("state.chain_exhausted", "the sending chain used every number")
        message_key, next_chain_key = hmac_sha256_pair(cks, _CK_MESSAGE, _CK_NEXT)
        number = n.to_bytes(4, "big")
        header_key: bytes = self._hks  # type: ignore[assignment]  # present with CKs
        prp = self._send_prp
        if prp is None:
            prp = self._send_prp = Aes256Block(tag_key(header_key))
        nonce = _Z8 + number
        tag = prp.counter_block(nonce)  # the tag block's first 12 bytes are the header nonce
        aead = self._send_aead
        if aead is not None:
            header = aead.seal(nonce, self._header_prefix + number, b"")
        elif n == 0:  # a chain's first header: one-shot, a chain may carry only one message
            header = chacha20_poly1305_seal(header_key, nonce, self._header_prefix + number, b"")
        else:
            aead = self._send_aead = ChaCha20Poly1305Key(header_key)
            header = aead.seal(nonce, self._header_prefix + number, b"")
        prefix = tag + header
        body = chacha20_poly1305_seal_single_use(message_key, plaintext, self._ad + prefix)
        # commit
        self._cks = next_chain_key
        self._ns = n + 1
        return prefix + body

    # --- receiving (spec §7.3, §7.5, §7.6) ---------------------------------------------------

    def decrypt(self, data: bytes, *, check: _Check | None = None) -> bytes:
        """Spec §7.3 ``RatchetDecryptHE`` with tag lookup (§7.5): the plaintext of ``data``.

        Order (§1.4): length (``decode.length``, ``decode.too_large``) → the chain and number
        from the tag (none: ``auth.failed``) → authentication → state (``state.replay``,
        ``state.skip_limit``) → commit. On any error the session is unchanged.

        The tag gives the message number, so a message of the current chain or of a stored
        skipped key is authenticated by its body AEAD alone, whose associated data holds the
        tag and the encrypted header (§7.3); the header is decrypted when its content is needed
        (a DH ratchet step) or to authenticate a message before a state error.

        ``check``, if given, maps the authenticated plaintext to the value returned and runs
        before anything is committed (and before a DH step draws its key): an exception it raises
        leaves the session unchanged, as for any other failure. The handshake checks its replay
        cache this way (§6.7) and an envelope its padding (§9.5).
        """
        if type(data) is not bytes or not MESSAGE_OVERHEAD <= len(data) <= MAX_MESSAGE_SIZE:
            data = _message_bytes(data)
        tag = data[:TAG_SIZE]
        recv = self._recv
        following = self._next
        # The first message after the peer's DH ratchet step is likely when this side has sent
        # on its current chain (an alternating conversation): compare with it first. Either
        # order gives the same result (tags of different chains do not collide, §7.3.3).
        if self._ns and ct_equal(tag, following.known_tag(0)):
            return self._decrypt_next(data, following, 0, check)
        if recv is not None:
            nr = self._nr
            window = recv.window
            expected = None if window is None else window.get(nr)
            if expected is None and nr < _N_BOUND:
                expected = recv.tag(nr)
            if expected is not None and ct_equal(tag, expected):
                # In order: the hot path.
                message_key, chain_key = hmac_sha256_pair(
                    self._ckr,  # type: ignore[arg-type]  # present with a receiving chain
                    _CK_MESSAGE,
                    _CK_NEXT,
                )
                plaintext = chacha20_poly1305_open_single_use(
                    message_key, _body(data), self._ad + data[:_PREFIX]
                )
                if check is not None:
                    plaintext = check(plaintext)
                # commit
                self._ckr = chain_key
                self._nr = nr + 1
                observer = self._observer
                if observer is not None:
                    self._slide(observer, recv, tag, nr)
                return plaintext
        skipped = self._skipped
        if skipped:
            entry = skipped.get(tag)
            if entry is not None:
                return self._decrypt_skipped(data, tag, entry, check)
        if not self._ns and ct_equal(tag, following.known_tag(0)):
            return self._decrypt_next(data, following, 0, check)
        # Out of order: invert the tag on each chain the session holds (§7.5).
        if recv is not None:
            n = recv.number(tag)
            if n is not None:  # n != Nr: that tag was compared above
                return self._decrypt_current(data, tag, recv, n, self._nr, check)
        number = following.number(tag)
        if number is not None:
            return self._decrypt_next(data, following, number, check)
        for chain in self._previous:
            number = chain.number(tag)
            if number is not None:
                chain.open_header(data, number)
                raise StateError("state.replay", "message key already used or deleted")
        raise AuthenticationError()

    def _decrypt_skipped(
        self, data: bytes, tag: bytes, entry: _Skipped, check: _Check | None
    ) -> bytes:
        """Spec §7.6 ``TrySkippedMessageKeysHE``, found by tag instead of by trial."""
        message_key = entry[2]
        plaintext = chacha20_poly1305_open_single_use(
            message_key, _body(data), self._ad + data[:_PREFIX]
        )
        if check is not None:
            plaintext = check(plaintext)
        # commit
        del self._skipped[tag]
        observer = self._observer
        if observer is not None:
            observer.apply([tag], [])
        return plaintext

    def _decrypt_current(
        self, data: bytes, tag: bytes, recv: _Chain, n: int, nr: int, check: _Check | None
    ) -> bytes:
        """Spec §7.3: a message of the current receiving chain out of order.

        Below the counter: a stored skipped key, else a replay (authenticated by its header).
        Above it: ``SkipMessageKeysHE(n)`` within ``max_jump``.
        """
        if n < nr:
            entry = self._skipped.get(tag)
            if entry is not None:
                return self._decrypt_skipped(data, tag, entry, check)
            recv.open_header(data, n)
            raise StateError("state.replay", "message key already used or deleted")
        limits = self._limits
        if n - nr > limits.max_jump:
            recv.open_header(data, n)
            raise StateError("state.skip_limit", f"jump of {n - nr} > {limits.max_jump}")
        chain_key = self._ckr
        assert chain_key is not None
        keys: list[bytes] = []
        for _ in range(nr, n):
            message_key, chain_key = hmac_sha256_pair(chain_key, _CK_MESSAGE, _CK_NEXT)
            keys.append(message_key)
        message_key, chain_key = hmac_sha256_pair(chain_key, _CK_MESSAGE, _CK_NEXT)
        plaintext = chacha20_poly1305_open_single_use(
            message_key, _body(data), self._ad + data[:_PREFIX]
        )
        if check is not None:
            plaintext = check(plaintext)
        new = [(recv.known_tag(m), recv, m, key) for m, key in zip(range(nr, n), keys, strict=True)]
        removed, kept = self._plan_skipped(new, ())
        changes = None
        if self._observer is not None:
            after: list[_Window] = [(recv, n + 1, n + 1 + limits.tag_window)]
            changes = self._index_changes((recv,), after, new, kept, removed)
        # commit
        self._ckr = chain_key
        self._nr = n + 1
        self._commit_skipped(removed, kept)
        if changes is not None:
            self._commit_index(changes)
        return plaintext

    def _decrypt_next(
        self, data: bytes, following: _Chain, n: int, check: _Check | None
    ) -> bytes:
        """Spec §7.3 ``DHRatchetHE``: the first message seen on the next receiving chain."""
        header = following.open_header(data, n)
        remote = header[:32]
        pn = int.from_bytes(header[32:36], "big")
        check_x25519_public_key(remote)
        limits = self._limits
        recv = self._recv
        nr = self._nr
        chain_key = self._ckr
        if chain_key is not None and pn > nr and pn - nr > limits.max_jump:
            raise StateError("state.skip_limit", f"jump of {pn - nr} > {limits.max_jump}")
        if n > limits.max_jump:
            raise StateError("state.skip_limit", f"jump of {n} > {limits.max_jump}")
        # SkipMessageKeysHE(header.pn) on the current receiving chain
        old_keys: list[bytes] = []
        if chain_key is not None:
            for _ in range(nr, pn):
                message_key, chain_key = hmac_sha256_pair(chain_key, _CK_MESSAGE, _CK_NEXT)
                old_keys.append(message_key)
        # DHRatchetHE, receiving half
        root_key, receiving_key, next_receiving_header = kdf_rk(
            self._rk, self._dhs.exchange(remote)
        )
        # SkipMessageKeysHE(header.n) on the new chain, then its message key
        new_keys: list[bytes] = []
        for _ in range(n):
            message_key, receiving_key = hmac_sha256_pair(receiving_key, _CK_MESSAGE, _CK_NEXT)
            new_keys.append(message_key)
        message_key, receiving_key = hmac_sha256_pair(receiving_key, _CK_MESSAGE, _CK_NEXT)
        plaintext = chacha20_poly1305_open_single_use(
            message_key, _body(data), self._ad + data[:_PREFIX]
        )
        if check is not None:
            plaintext = check(plaintext)
        # Authentic. DHRatchetHE, sending half (draws randomness only now).
        ratchet = X25519KeyPair.generate(self._rng)
        root_key, sending_key, next_sending_header = kdf_rk(root_key, ratchet.exchange(remote))
        new_next = _Chain(next_receiving_header, following.index + 1)
        # The current chain becomes a previous chain; chains too old are deleted (§7.6).
        previous = self._previous if recv is None else (*self._previous, recv)
        dropped: tuple[_Chain, ...] = ()
        oldest = following.index - limits.max_chain_age
        if previous and previous[0].index < oldest:  # ordered by index, oldest first
            end = 1
            while end < len(previous) and previous[end].index < oldest:
                end += 1
            dropped, previous = previous[:end], previous[end:]
        removed: list[bytes] = []
        kept: list[tuple[bytes, _Chain, int, bytes]] = []
        changes = None
        observer = self._observer
        if old_keys or new_keys or observer is not None or (dropped and self._skipped):
            new: list[tuple[bytes, _Chain, int, bytes]] = []
            if old_keys:
                assert recv is not None
                new += [
                    (recv.known_tag(m), recv, m, k)
                    for m, k in zip(range(nr, pn), old_keys, strict=True)
                ]
            if new_keys:
                new += [(following.known_tag(m), following, m, k) for m, k in enumerate(new_keys)]
            kept = new
            if new or dropped:
                removed, kept = self._plan_skipped(new, dropped)
            if observer is not None:
                window = limits.tag_window
                before = (following,) if recv is None else (following, recv)
                after: list[_Window] = [(following, n + 1, n + 1 + window), (new_next, 0, window)]
                changes = self._index_changes(before, after, new, kept, removed)
        # commit
        previous_sending_n = self._ns
        self._dhr = remote
        self._rk = root_key
        self._dhs = ratchet
        self._pn = previous_sending_n
        self._ns = 0
        self._cks = sending_key
        self._hks = self._nhks
        self._send_aead = None  # set up by encrypt when needed
        self._send_prp = None
        self._header_prefix = ratchet.public_key + previous_sending_n.to_bytes(4, "big")
        self._nhks = next_sending_header
        self._ckr = receiving_key
        self._nr = n + 1
        self._previous = previous
        self._recv = following
        self._next = new_next
        if removed or kept:
            self._commit_skipped(removed, kept)
        if changes is not None:
            self._commit_index(changes)
        return plaintext

    # --- skipped keys (spec §7.6) ------------------------------------------------------------

    def _plan_skipped(
        self, new: list[tuple[bytes, _Chain, int, bytes]], dropped: tuple[_Chain, ...]
    ) -> tuple[list[bytes], list[tuple[bytes, _Chain, int, bytes]]]:
        """Spec §7.6 (age, store, evict): which stored keys go and which new ones stay.

        Pure: returns ``(removed stored tags, new entries kept)``; nothing is mutated.
        """
        store = self._skipped
        removed: list[bytes] = []
        if dropped:
            for tag, (chain, _n, _key) in store.items():
                if chain not in dropped:
                    break  # entries are ordered by chain, oldest first (§7.6)
                removed.append(tag)
        excess = len(store) - len(removed) + len(new) - self._limits.max_skipped_keys
        if excess <= 0:
            return removed, new
        if len(removed) < len(store):
            gone = set(removed)
            for tag in store:
                if excess == 0:
                    break
                if tag not in gone:
                    removed.append(tag)
                    excess -= 1
        return removed, new[excess:]

    def _commit_skipped(
        self, removed: list[bytes], kept: list[tuple[bytes, _Chain, int, bytes]]
    ) -> None:
        store = self._skipped
        for tag in removed:
            del store[tag]
        for tag, chain, n, key in kept:
            store[tag] = (chain, n, key)

    # --- session lookup (spec §7.5) ---------------------------------------------------------

    def _slide(self, observer: _TagObserver, recv: _Chain, tag: bytes, n: int) -> None:
        """Commit of an in-order message: the window of ``recv`` moves by one."""
        window = recv.window
        assert window is not None
        del window[n]
        end = n + self._limits.tag_window
        new = None
        if end < _N_BOUND:
            new = window[end] = recv.tag(end)
        observer.replace(tag, new)

    def _index_changes(
        self,
        before: tuple[_Chain, ...],
        after: list[_Window],
        new: list[tuple[bytes, _Chain, int, bytes]],
        kept: list[tuple[bytes, _Chain, int, bytes]],
        removed: list[bytes],
    ) -> _IndexChanges:
        """Spec §7.5: the index entries an operation removes and adds (computed, not applied).

        A session's expected tags are its windows' tags plus its stored skipped keys' tags.
        ``before`` are the chains whose windows the operation moves or ends (their cached
        windows are what the index holds), ``after`` the windows afterwards, ``new`` the keys
        it skipped, ``kept`` those of them that stay stored, ``removed`` the stored keys it
        deletes. Only tags the index does not hold yet are computed.
        """
        stays = {tag for tag, _chain, _m, _key in kept}
        fresh = {(id(chain), m): tag for tag, chain, m, _key in new}
        drop: list[bytes] = list(removed)
        add: list[bytes] = []
        windows: list[tuple[_Chain, dict[int, bytes]]] = []
        for chain, lo, hi in after:
            cached = chain.window if chain in before else None
            window: dict[int, bytes] = {}
            for m in range(lo, min(hi, _N_BOUND)):
                tag = None if cached is None else cached.get(m)
                if tag is None:
                    tag = fresh.get((id(chain), m)) or chain.tag(m)
                    add.append(tag)
                window[m] = tag
            windows.append((chain, window))
        for chain in before:
            cached = chain.window
            assert cached is not None
            still = next((w for c, w in windows if c is chain), {})
            drop += [tag for m, tag in cached.items() if m not in still and tag not in stays]
        for tag, chain, m, _key in kept:
            cached = chain.window if chain in before else None
            if cached is None or m not in cached:
                add.append(tag)
        return drop, add, before, windows

    def _commit_index(self, changes: _IndexChanges) -> None:
        drop, add, before, windows = changes
        for chain in before:
            chain.window = None
        for chain, window in windows:
            chain.window = window
        observer = self._observer
        assert observer is not None
        observer.apply(drop, add)

    def _attach(self, observer: _TagObserver) -> list[bytes]:
        """Start following an index: fill the window caches; return every expected tag."""
        window = self._limits.tag_window
        recv = self._recv
        tags = list(self._skipped)
        if recv is not None:
            nr = self._nr
            recv.window = {m: recv.tag(m) for m in range(nr, min(nr + window, _N_BOUND))}
            tags += recv.window.values()
        following = self._next
        following.window = {m: following.tag(m) for m in range(window)}
        tags += following.window.values()
        self._observer = observer
        return tags

    def _detach(self) -> list[bytes]:
        """Stop following an index; return the tags it held for this session."""
        tags = list(self._skipped)
        for chain in (self._recv, self._next):
            if chain is not None and chain.window is not None:
                tags += chain.window.values()
                chain.window = None
        self._observer = None
        return tags

    def _expected_tags(self) -> list[bytes]:
        """Spec §7.5: every tag this session expects, computed afresh (no cache)."""
        window = self._limits.tag_window
        tags = list(self._skipped)
        recv = self._recv
        if recv is not None:
            tags += [recv.tag(m) for m in range(self._nr, min(self._nr + window, _N_BOUND))]
        tags += [self._next.tag(m) for m in range(window)]
        return tags

    # --- introspection --------------------------------------------------------------------------

    @property
    def limits(self) -> Limits:
        """The session's bounds (§7.4)."""
        return self._limits

    @property
    def can_send(self) -> bool:
        """Whether :meth:`encrypt` may be called (a responder must receive first)."""
        return self._cks is not None

    @property
    def skipped_key_count(self) -> int:
        """How many skipped message keys are stored (at most ``limits.max_skipped_keys``)."""
        return len(self._skipped)

    # --- export and import (spec §7.8) -------------------------------------------------------

    def snapshot(self) -> SessionSnapshot:
        """Spec §7.8: an immutable copy of the complete state (the export type)."""
        groups: dict[int, list[tuple[int, bytes]]] = {}
        for chain, n, key in self._skipped.values():
            groups.setdefault(id(chain), []).append((n, key))
        recv = self._recv
        state = SessionState(
            associated_data=self._ad,
            limits=self._limits,
            root_key=self._rk,
            sending_ratchet_private=self._dhs.private_bytes(),
            receiving_ratchet_public=self._dhr,
            sending_chain_key=self._cks,
            sending_n=self._ns,
            previous_sending_n=self._pn,
            sending_header_key=self._hks,
            next_sending_header_key=self._nhks,
            receiving_chain_key=self._ckr,
            receiving_n=self._nr,
            receiving_header_key=None if recv is None else recv.header_key,
            next_receiving_header_key=self._next.header_key,
            receiving_chain_index=0 if recv is None else recv.index,
            receiving_skipped=b"" if recv is None else pack_skipped(groups.get(id(recv), [])),
            previous_chains=tuple(
                PreviousChain(
                    chain.header_key, chain.index, pack_skipped(groups.get(id(chain), []))
                )
                for chain in self._previous
            ),
        )
        return SessionSnapshot(state)

    @classmethod
    def restore(cls, snapshot: SessionSnapshot, *, rng: Rng) -> Session:
        """Spec §7.8: a live session from a snapshot (the snapshot is not consumed).

        Restoring an *older* snapshot of a session that has since sent messages and sending
        again reuses message keys; the application MUST NOT do that (§7.8.4).
        """
        if type(snapshot) is not SessionSnapshot:
            _bad_argument("snapshot must be a SessionSnapshot")
        state = snapshot.state
        self = cls._blank(state.associated_data, rng, state.limits)
        self._rk = state.root_key
        self._dhs = X25519KeyPair(state.sending_ratchet_private)
        self._dhr = state.receiving_ratchet_public
        self._cks = state.sending_chain_key
        self._ns = state.sending_n
        self._pn = state.previous_sending_n
        self._nhks = state.next_sending_header_key
        self._set_sending(state.sending_header_key)
        self._ckr = state.receiving_chain_key
        self._nr = state.receiving_n
        index = state.receiving_chain_index
        self._recv = None
        if state.receiving_header_key is not None:
            self._recv = _Chain(state.receiving_header_key, index)
        self._next = _Chain(state.next_receiving_header_key, index + 1)
        self._previous = tuple(_Chain(c.header_key, c.index) for c in state.previous_chains)
        store = self._skipped
        groups = [
            (c, p.skipped) for c, p in zip(self._previous, state.previous_chains, strict=True)
        ]
        if self._recv is not None:
            groups.append((self._recv, state.receiving_skipped))
        for chain, records in groups:
            for n, key in unpack_skipped(records):
                store[chain.tag(n)] = (chain, n, key)
        return self

    # --- secrets ----------------------------------------------------------------------------

    def __repr__(self) -> str:
        return "Session(<redacted>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("sessions cannot be pickled; use snapshot().to_bytes(storage_key, rng)")

    def __copy__(self) -> Session:
        raise TypeError("sessions cannot be copied; use snapshot() and Session.restore")

    def __deepcopy__(self, memo: object) -> Session:
        raise TypeError("sessions cannot be copied; use snapshot() and Session.restore")
