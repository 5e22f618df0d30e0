"""The base class of wire messages, readable formatting and bounded read helpers shared by all of them.

Every message is a frozen dataclass with a `COMMAND`, `serialize()` and a `parse(payload)` that must
consume the whole payload. Decoding failures of any kind (truncation, over-long counts, trailing
bytes, bad field values) surface as `MessageDecodeError` naming the command.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import struct
from enum import Enum, IntFlag
from typing import ClassVar, Self, TypeVar

from core.consensus.block import Block, BlockHeader
from core.consensus.errors import DecodeError
from core.consensus.hashes import Hash256
from core.consensus.serialize import ByteReader, ser_compact_size
from core.consensus.tx import Transaction
from core.p2p.errors import MessageDecodeError, MessageError
from core.p2p.messages.constants import MAX_PROTOCOL_MESSAGE_LENGTH
from core.p2p.services import service_names

H = TypeVar("H", bound=Hash256)

_MAX_LIST_SHOWN = 4
_MAX_BYTES_SHOWN = 32


def fmt_value(v: object) -> str:
    """Short human-readable rendering of a message field (hashes in display order, long lists cut)."""
    if isinstance(v, IntFlag):
        return service_names(int(v))
    if isinstance(v, Enum):
        return v.name
    if isinstance(v, Hash256):
        return str(v)
    if isinstance(v, bytes):
        if len(v) > _MAX_BYTES_SHOWN:
            return f"{v[:_MAX_BYTES_SHOWN].hex()}...({len(v)} bytes)"
        return v.hex()
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, tuple | list):
        shown = [fmt_value(x) for x in v[:_MAX_LIST_SHOWN]]
        if len(v) > _MAX_LIST_SHOWN:
            shown.append(f"...({len(v)} total)")
        return "[" + ", ".join(shown) + "]"
    if isinstance(v, Transaction):
        return f"Transaction(txid={v.txid}, vin={len(v.vin)}, vout={len(v.vout)})"
    if isinstance(v, Block):
        return f"Block(hash={v.hash}, txs={len(v.txs)})"
    if isinstance(v, BlockHeader):
        return f"BlockHeader(hash={v.hash}, prev={v.prev_block}, time={v.time})"
    if isinstance(v, ipaddress.IPv4Address | ipaddress.IPv6Address | Readable):
        return str(v)  # entries (addresses, inv items) read best in their short text form
    return repr(v)


class Readable:
    """Mixin giving dataclasses a compact repr built with `fmt_value` (declare them with repr=False)."""

    __slots__ = ()

    def _field_text(self) -> str:
        return ", ".join(f"{f.name}={fmt_value(getattr(self, f.name))}" for f in dataclasses.fields(self))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._field_text()})"


class Message(Readable):
    """Base of all wire messages. Subclasses set COMMAND and implement `serialize` and `_read`."""

    __slots__ = ()

    COMMAND: ClassVar[str]
    #: False when a payload may carry optional or ignored bytes, so re-encoding a decoded message need not
    #: reproduce the input byte for byte (only `version`). Every other message has exactly one encoding.
    CANONICAL: ClassVar[bool] = True

    @property
    def command(self) -> str:
        """The message type sent in the frame header (Core's msg_type)."""
        return self.COMMAND

    def serialize(self) -> bytes:
        """The message payload."""
        raise NotImplementedError

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        raise NotImplementedError

    @classmethod
    def parse(cls, payload: bytes) -> Self:
        """Decode a whole payload; raise MessageDecodeError if it is malformed or has trailing bytes."""
        if len(payload) > MAX_PROTOCOL_MESSAGE_LENGTH:
            raise MessageDecodeError(cls.COMMAND, f"payload of {len(payload)} bytes exceeds limit")
        r = ByteReader(payload)
        try:
            msg = cls._read(r)
            if cls.CANONICAL:
                r.expect_end(f"{cls.COMMAND} payload")
        except MessageDecodeError:
            raise
        except (DecodeError, MessageError) as e:
            raise MessageDecodeError(cls.COMMAND, str(e)) from None
        return msg

    def __str__(self) -> str:
        return f"{self.COMMAND}({self._field_text()})"


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class EmptyMessage(Message):
    """A message with no payload (verack, getaddr, ...): any payload byte is an error."""

    def serialize(self) -> bytes:
        return b""

    @classmethod
    def _read(cls, r: ByteReader) -> Self:
        return cls()


# --- bounded read / write helpers ---------------------------------------------------------------------


def read_count(r: ByteReader, limit: int, min_item_size: int, what: str) -> int:
    """Read a compact-size element count, rejecting counts above `limit` or beyond the remaining bytes."""
    n = r.compact_size()
    if n > limit:
        raise MessageError(f"{what} count {n} exceeds {limit}")
    if n * min_item_size > r.remaining:
        raise MessageError(f"{what} count {n} cannot fit in {r.remaining} remaining bytes")
    return n


def check_count(what: str, n: int, limit: int) -> None:
    """Raise MessageError if a list built locally holds more than the protocol allows."""
    if n > limit:
        raise MessageError(f"{what} count {n} exceeds {limit}")


def read_hashes(r: ByteReader, cls: type[H], limit: int, what: str) -> tuple[H, ...]:
    """Read a compact-size counted vector of 32-byte hashes."""
    n = read_count(r, limit, 32, what)
    return tuple(cls(r.read(32)) for _ in range(n))


def ser_hashes(hashes: tuple[bytes, ...]) -> bytes:
    """Serialize a compact-size counted vector of 32-byte hashes."""
    return ser_compact_size(len(hashes)) + b"".join(hashes)


def read_bool(r: ByteReader, what: str) -> bool:
    """Read a one-byte boolean; only 0 and 1 are accepted so that re-encoding is exact."""
    b = r.u8()
    if b > 1:
        raise MessageError(f"{what} must be 0 or 1, got {b}")
    return b == 1


def check_hash(what: str, h: bytes) -> None:
    """Raise MessageError unless `h` is 32 bytes."""
    if len(h) != 32:
        raise MessageError(f"{what} must be 32 bytes, got {len(h)}")


def pack(st: struct.Struct, *values: int) -> bytes:
    """struct.pack that reports out-of-range fields as MessageError instead of struct.error."""
    try:
        return st.pack(*values)
    except struct.error as e:
        raise MessageError(f"field out of range: {e}") from None
