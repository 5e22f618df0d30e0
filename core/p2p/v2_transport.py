"""The BIP324 v2 encrypted transport, as a sans-I/O state machine.

Modelled on Bitcoin Core's `V2Transport` (src/net.cpp): the same receive states (KEY_MAYBE_V1,
KEY, GARB_GARBTERM, VERSION, APP, V1) and the same byte budgets per state, so that a peer
trickling bytes one at a time is handled exactly like one sending everything at once.

Handshake, as Core runs it (the garbage authentication packet of early BIP drafts is gone: the
first packet after the garbage terminator carries the garbage as associated data):
  initiator -> ellswift key + garbage
  responder -> ellswift key + garbage + terminator + version packet (aad = its garbage)
  initiator -> terminator + version packet (aad = its garbage)
A responder first checks the 16-byte v1 prefix (magic + "version\\0\\0\\0\\0\\0"); if a v1 peer
is talking, the transport turns into a V1Transport and says so with a FallbackToV1 event.
An initiator whose peer closes the connection before sending anything should redial with v1
when `should_reconnect_v1()` says so (Core's ShouldReconnectV1).

No I/O happens here: received bytes go into `feed`; bytes to write come out of `start`,
`frame`, `send_decoy` and `pending_output`, always in wire order.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from enum import Enum, auto

from coincurve import PrivateKey

from core.p2p.ellswift import ELLSWIFT_PUBKEY_SIZE, ellswift_create
from core.p2p.errors import BadCommand, HandshakeError, MessageTooLarge, P2PError, TransportError
from core.p2p.v1_transport import (
    COMMAND_SIZE,
    HEADER_SIZE,
    MAX_PROTOCOL_MESSAGE_LENGTH,
    NetMessage,
    V1Transport,
    decode_command,
    encode_command,
)
from core.p2p.v2_cipher import EXPANSION, GARBAGE_TERMINATOR_LEN, LENGTH_LEN, BIP324Cipher

MAX_GARBAGE_LEN = 4095
V1_PREFIX_LEN = 16
VERSION_CONTENTS = b""  # our transport version packet; BIP324 reserves other values
MAX_CONTENTS_LEN = 1 + COMMAND_SIZE + MAX_PROTOCOL_MESSAGE_LENGTH  # long id + largest payload
_V1_VERSION_COMMAND = b"version" + bytes(5)

V2_MESSAGE_IDS: tuple[str, ...] = (
    "",  # 0: a 12-byte message type follows
    "addr",
    "block",
    "blocktxn",
    "cmpctblock",
    "feefilter",
    "filteradd",
    "filterclear",
    "filterload",
    "getblocks",
    "getblocktxn",
    "getdata",
    "getheaders",
    "headers",
    "inv",
    "mempool",
    "merkleblock",
    "notfound",
    "ping",
    "pong",
    "sendcmpct",
    "tx",
    "getcfilters",
    "cfilter",
    "getcfheaders",
    "cfheaders",
    "getcfcheckpt",
    "cfcheckpt",
    "addrv2",
)
"""BIP324's one-byte message type ids 1..28, by index (29..32 are assigned to Erlay, unused here)."""

V2_MESSAGE_MAP: dict[str, int] = {name: i for i, name in enumerate(V2_MESSAGE_IDS) if i}


class RecvState(Enum):
    """Where the receiving side of the handshake / packet stream is (Core's RecvState)."""

    KEY_MAYBE_V1 = auto()  # responder: could still be a v1 peer
    KEY = auto()  # receiving the peer's 64-byte key
    GARB_GARBTERM = auto()  # skipping garbage until the terminator
    VERSION = auto()  # waiting for the peer's version packet
    APP = auto()  # application packets
    V1 = auto()  # fell back to v1; bytes go to the V1Transport


class SendState(Enum):
    """What we may send (Core's SendState)."""

    MAYBE_V1 = auto()  # responder: nothing until we know the peer speaks v2
    AWAITING_KEY = auto()  # our key + garbage are out; no ciphers yet
    READY = auto()  # ciphers initialized: packets can be sent
    V1 = auto()


@dataclass(frozen=True, slots=True)
class HandshakeComplete:
    """The peer's version packet arrived; application messages follow."""

    session_id: bytes


@dataclass(frozen=True, slots=True)
class FallbackToV1:
    """The responder saw a v1 version message: from now on this transport speaks v1."""


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """A valid packet whose message type we cannot name; Core drops these and keeps the peer."""

    contents: bytes


V2Event = NetMessage | HandshakeComplete | FallbackToV1 | UnknownMessage


def decode_contents(contents: bytes) -> NetMessage | UnknownMessage:
    """Split packet contents into message type and payload (short 1-byte or 0x00 + 12-byte type)."""
    if not contents:
        return UnknownMessage(contents)
    first = contents[0]
    if first:
        if first < len(V2_MESSAGE_IDS):
            return NetMessage(V2_MESSAGE_IDS[first], contents[1:])
        return UnknownMessage(contents)
    if len(contents) < 1 + COMMAND_SIZE:
        return UnknownMessage(contents)
    try:
        command = decode_command(contents[1 : 1 + COMMAND_SIZE])
    except BadCommand:
        return UnknownMessage(contents)
    if not command:
        return UnknownMessage(contents)
    return NetMessage(command, contents[1 + COMMAND_SIZE :])


def encode_contents(command: str, payload: bytes) -> bytes:
    """Packet contents for a message: its short id when BIP324 assigns one, else the long form."""
    short_id = V2_MESSAGE_MAP.get(command)
    if short_id is not None:
        return bytes([short_id]) + payload
    return b"\x00" + encode_command(command) + payload


class V2Transport:
    """One side of a BIP324 connection. After any raised P2PError the transport is dead."""

    __slots__ = (
        "_cipher",
        "_ellswift",
        "_failed",
        "_handed_out",
        "_out",
        "_privkey",
        "_recv_aad",
        "_recv_buf",
        "_recv_len",
        "_recv_state",
        "_send_garbage",
        "_send_state",
        "_v1",
        "initiator",
        "magic",
    )

    def __init__(
        self,
        magic: bytes,
        initiator: bool,
        *,
        privkey: bytes | None = None,
        aux_rand: bytes | None = None,
        garbage: bytes | None = None,
    ) -> None:
        """`privkey`, `aux_rand` and `garbage` are drawn at random unless a test injects them."""
        if len(magic) != 4:
            raise ValueError("network magic must be 4 bytes")
        if garbage is None:
            garbage = os.urandom(secrets.randbelow(MAX_GARBAGE_LEN + 1))
        if len(garbage) > MAX_GARBAGE_LEN:
            raise ValueError(f"garbage is at most {MAX_GARBAGE_LEN} bytes")
        self.magic = bytes(magic)
        self.initiator = initiator
        self._privkey = PrivateKey().secret if privkey is None else bytes(privkey)
        self._ellswift = ellswift_create(self._privkey, os.urandom(32) if aux_rand is None else aux_rand)
        self._send_garbage = bytes(garbage)
        self._cipher: BIP324Cipher | None = None
        self._v1 = V1Transport(magic)
        self._recv_state = RecvState.KEY if initiator else RecvState.KEY_MAYBE_V1
        self._send_state = SendState.AWAITING_KEY if initiator else SendState.MAYBE_V1
        self._recv_buf = bytearray()
        self._recv_len = 0
        self._recv_aad = b""
        self._out = bytearray()
        self._handed_out = 0
        self._failed = False
        if initiator:
            self._out += self._ellswift + self._send_garbage

    # --- state -------------------------------------------------------------------------------

    @property
    def ellswift(self) -> bytes:
        """Our 64-byte ElligatorSwift public key."""
        return self._ellswift

    @property
    def recv_state(self) -> RecvState:
        return self._recv_state

    @property
    def send_state(self) -> SendState:
        return self._send_state

    @property
    def is_v1(self) -> bool:
        """True after a responder detected a v1 peer."""
        return self._recv_state is RecvState.V1

    @property
    def failed(self) -> bool:
        return self._failed or self._v1.failed

    @property
    def session_id(self) -> bytes | None:
        """The 32-byte session id once the peer's key is known (show it for out-of-band checks)."""
        return None if self._cipher is None else self._cipher.session_id

    @property
    def handshake_complete(self) -> bool:
        """True once application messages can be received (v2 version packet seen, or v1)."""
        return self._recv_state in (RecvState.APP, RecvState.V1)

    @property
    def can_send(self) -> bool:
        """True once `frame` accepts messages."""
        return self._send_state in (SendState.READY, SendState.V1) and not self.failed

    def should_reconnect_v1(self) -> bool:
        """Whether a closed outbound connection should be retried with v1 (Core's ShouldReconnectV1).

        Only when we initiated, received nothing at all, and sent at least a v1 header's worth
        of bytes (so a v1 peer has had the chance to reject us).
        """
        return (
            self.initiator
            and self._recv_state is RecvState.KEY
            and not self._recv_buf
            and self._handed_out >= HEADER_SIZE
        )

    # --- sending -----------------------------------------------------------------------------

    def start(self) -> bytes:
        """The bytes to write when the connection opens: key + garbage for an initiator.

        A responder has nothing to say until it has seen a byte that rules out v1.
        """
        return self.pending_output()

    def pending_output(self) -> bytes:
        """All bytes queued for the peer (handshake replies) since the last call."""
        data = bytes(self._out)
        self._out.clear()
        self._handed_out += len(data)
        return data

    def _check_can_send(self) -> BIP324Cipher:
        if self.failed:
            raise TransportError("transport already failed")
        if self._send_state is SendState.V1:
            raise TransportError("v1 has no encrypted packets (decoys)")
        if self._send_state is not SendState.READY or self._cipher is None:
            raise TransportError("cannot send before the peer's key has arrived")
        return self._cipher

    def frame(self, command: str, payload: bytes) -> bytes:
        """Encrypt one message; returns any still-pending handshake bytes followed by its packet."""
        if self._send_state is SendState.V1:
            return self._v1.frame(command, payload)
        cipher = self._check_can_send()
        if len(payload) > MAX_PROTOCOL_MESSAGE_LENGTH:
            raise MessageTooLarge(f"payload of {len(payload)} bytes")
        self._out += cipher.encrypt(encode_contents(command, bytes(payload)))
        return self.pending_output()

    def send_decoy(self, n: int) -> bytes:
        """A decoy packet of `n` random bytes (the ignore bit set), after any pending bytes."""
        cipher = self._check_can_send()
        if not 0 <= n <= MAX_CONTENTS_LEN:
            raise MessageTooLarge(f"decoy of {n} bytes")
        self._out += cipher.encrypt(os.urandom(n), ignore=True)
        return self.pending_output()

    # --- receiving ---------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[V2Event]:
        """Take received bytes; return the events they complete, in order.

        Replies the handshake needs are queued for `pending_output`. Raises a P2PError
        (HandshakeError, DecryptError, MessageTooLarge, ...) when the peer must be dropped.
        """
        if self.failed:
            raise TransportError("transport already failed")
        if self._recv_state is RecvState.V1:
            return list(self._v1.feed(data))
        events: list[V2Event] = []
        view = memoryview(bytes(data))
        pos = 0
        try:
            while pos < len(view):
                state = self._recv_state
                if state is RecvState.V1:
                    events.extend(self._v1.feed(bytes(view[pos:])))
                    break
                take = min(self._max_bytes_to_process(), len(view) - pos)
                before = len(self._recv_buf)
                self._recv_buf += view[pos : pos + take]
                pos += take
                if state is RecvState.KEY_MAYBE_V1:
                    self._process_maybe_v1(events)
                elif state is RecvState.KEY:
                    self._process_key()
                elif state is RecvState.GARB_GARBTERM:
                    pos -= self._process_garbage(before)
                else:
                    self._process_packet(events)
        except P2PError:
            self._failed = True
            self._recv_buf.clear()
            raise
        return events

    def _max_bytes_to_process(self) -> int:
        """How many bytes the current state may take (Core's GetMaxBytesToProcess)."""
        have = len(self._recv_buf)
        state = self._recv_state
        if state is RecvState.KEY_MAYBE_V1:
            return V1_PREFIX_LEN - have
        if state is RecvState.KEY:
            return ELLSWIFT_PUBKEY_SIZE - have
        if state is RecvState.GARB_GARBTERM:
            return MAX_GARBAGE_LEN + GARBAGE_TERMINATOR_LEN - have
        if have < LENGTH_LEN:
            return LENGTH_LEN - have
        return EXPANSION + self._recv_len - have

    def _process_maybe_v1(self, events: list[V2Event]) -> None:
        buf = self._recv_buf
        prefix = self.magic + _V1_VERSION_COMMAND
        if buf != prefix[: len(buf)]:
            # Not v1: the bytes so far are the start of the initiator's key; answer with ours.
            self._recv_state = RecvState.KEY
            self._send_state = SendState.AWAITING_KEY
            self._out += self._ellswift + self._send_garbage
            self._process_key()
        elif len(buf) == V1_PREFIX_LEN:
            self._recv_state = RecvState.V1
            self._send_state = SendState.V1
            received = bytes(buf)
            buf.clear()
            events.append(FallbackToV1())
            events.extend(self._v1.feed(received))  # 16 < 24 header bytes: yields nothing yet

    def _process_key(self) -> None:
        buf = self._recv_buf
        # A v1 version header with another network's magic: name the problem instead of
        # failing later on a garbage terminator that never comes (Core does the same).
        if not self.initiator and len(buf) >= V1_PREFIX_LEN and buf[4:V1_PREFIX_LEN] == _V1_VERSION_COMMAND:
            raise HandshakeError(f"v1 peer with wrong network magic {bytes(buf[:4]).hex()}")
        if len(buf) < ELLSWIFT_PUBKEY_SIZE:
            return
        theirs = bytes(buf)
        buf.clear()
        cipher = BIP324Cipher.initialize(self._privkey, self._ellswift, theirs, self.initiator, self.magic)
        self._cipher = cipher
        self._recv_state = RecvState.GARB_GARBTERM
        self._send_state = SendState.READY
        self._out += cipher.send_garbage_terminator
        self._out += cipher.encrypt(VERSION_CONTENTS, aad=self._send_garbage)
        self._send_garbage = b""

    def _process_garbage(self, before: int) -> int:
        """Look for the terminator in the new bytes; returns how many taken bytes to give back."""
        assert self._cipher is not None
        buf = self._recv_buf
        # Only the new bytes (and the 15 before them) can complete a terminator not yet seen.
        at = buf.find(self._cipher.recv_garbage_terminator, max(0, before - GARBAGE_TERMINATOR_LEN + 1))
        if at >= 0:
            end = at + GARBAGE_TERMINATOR_LEN
            excess = len(buf) - end
            self._recv_aad = bytes(buf[:at])  # the garbage is authenticated by the next packet
            buf.clear()
            self._recv_state = RecvState.VERSION
            return excess
        if len(buf) >= MAX_GARBAGE_LEN + GARBAGE_TERMINATOR_LEN:
            raise HandshakeError("no garbage terminator within 4095 bytes of garbage")
        return 0

    def _process_packet(self, events: list[V2Event]) -> None:
        assert self._cipher is not None
        buf = self._recv_buf
        if len(buf) == LENGTH_LEN:
            self._recv_len = self._cipher.decrypt_length(bytes(buf))
            if self._recv_len > MAX_CONTENTS_LEN:
                raise MessageTooLarge(f"packet of {self._recv_len} bytes")
            return
        if len(buf) < EXPANSION + self._recv_len:
            return
        ignore, contents = self._cipher.decrypt(bytes(buf[LENGTH_LEN:]), self._recv_aad)
        self._recv_aad = b""  # only the first packet after the terminator authenticates garbage
        buf.clear()
        if ignore:
            return  # decoy
        if self._recv_state is RecvState.VERSION:
            # The contents is reserved for future transport versions; ignore it.
            self._recv_state = RecvState.APP
            events.append(HandshakeComplete(self._cipher.session_id))
        else:
            events.append(decode_contents(contents))
