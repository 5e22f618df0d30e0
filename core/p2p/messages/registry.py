"""Command → message type registry (Core test framework's MESSAGEMAP) and the decode/encode entry points.

Unknown commands decode to `UnknownMessage` rather than raising: Core ignores message types it does not
know, and a peer running newer software must not be disconnected for sending one.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.p2p.errors import MessageDecodeError, MessageError
from core.p2p.messages.addr import MsgAddr, MsgAddrV2, MsgGetAddr
from core.p2p.messages.base import Message
from core.p2p.messages.constants import MAX_PROTOCOL_MESSAGE_LENGTH
from core.p2p.messages.control import (
    MsgFeeFilter,
    MsgPing,
    MsgPong,
    MsgSendAddrV2,
    MsgSendCmpct,
    MsgSendHeaders,
    MsgVerack,
    MsgVersion,
    MsgWtxidRelay,
)
from core.p2p.messages.data import MsgBlock, MsgGetBlocks, MsgGetHeaders, MsgHeaders, MsgTx
from core.p2p.messages.filters import (
    MsgCFCheckpt,
    MsgCFHeaders,
    MsgCFilter,
    MsgGetCFCheckpt,
    MsgGetCFHeaders,
    MsgGetCFilters,
)
from core.p2p.messages.inventory import MsgGetData, MsgInv, MsgMempool, MsgNotFound

#: Longest command a v1 frame can carry (12 NUL-padded bytes).
COMMAND_SIZE = 12

_ALL: tuple[type[Message], ...] = (
    MsgVersion,
    MsgVerack,
    MsgWtxidRelay,
    MsgSendAddrV2,
    MsgSendHeaders,
    MsgSendCmpct,
    MsgPing,
    MsgPong,
    MsgFeeFilter,
    MsgGetAddr,
    MsgAddr,
    MsgAddrV2,
    MsgInv,
    MsgGetData,
    MsgNotFound,
    MsgMempool,
    MsgGetHeaders,
    MsgGetBlocks,
    MsgHeaders,
    MsgBlock,
    MsgTx,
    MsgGetCFilters,
    MsgCFilter,
    MsgGetCFHeaders,
    MsgCFHeaders,
    MsgGetCFCheckpt,
    MsgCFCheckpt,
)

#: Every message type we decode, by command.
MESSAGE_TYPES: dict[str, type[Message]] = {cls.COMMAND: cls for cls in _ALL}


def _check_command(command: str) -> None:
    if not 0 < len(command) <= COMMAND_SIZE or not all(" " <= c <= "~" for c in command):
        raise MessageError(f"invalid command {command!r}")


@dataclass(frozen=True, slots=True, repr=False)
class UnknownMessage(Message):
    """A message whose command we do not know, kept with its raw payload so the caller can log or ignore it."""

    command: str  # type: ignore[assignment]  # an instance field here, a property on known messages
    payload: bytes = b""

    COMMAND = ""

    def __post_init__(self) -> None:
        _check_command(self.command)
        object.__setattr__(self, "payload", bytes(self.payload))

    def serialize(self) -> bytes:
        return self.payload

    def __str__(self) -> str:
        return f"{self.command}(unknown, {len(self.payload)} bytes)"


def decode_message(command: str, payload: bytes) -> Message:
    """Decode `payload` as the message `command` names; unknown commands give an UnknownMessage.

    Raises MessageDecodeError (with the command and the reason) for any malformed payload.
    """
    if len(payload) > MAX_PROTOCOL_MESSAGE_LENGTH:
        raise MessageDecodeError(command, f"payload of {len(payload)} bytes exceeds limit")
    cls = MESSAGE_TYPES.get(command)
    if cls is not None:
        return cls.parse(bytes(payload))
    try:
        return UnknownMessage(command, payload)
    except MessageError as e:
        raise MessageDecodeError(command, str(e)) from None


def encode_message(msg: Message) -> tuple[str, bytes]:
    """The (command, payload) pair to frame for `msg`; raises MessageError if it exceeds the size limit."""
    payload = msg.serialize()
    if len(payload) > MAX_PROTOCOL_MESSAGE_LENGTH:
        raise MessageError(f"{msg.command}: payload of {len(payload)} bytes exceeds limit")
    return msg.command, payload
