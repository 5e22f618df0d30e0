"""Standard output script templates: Bitcoin Core's Solver and its TxoutType names."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.script.errors import ScriptDecodeError
from core.script.script import iter_ops, witness_program

_OP_0 = 0x00
_OP_PUSHDATA4 = 0x4E
_OP_1 = 0x51
_OP_16 = 0x60
_OP_RETURN = 0x6A
_OP_DUP = 0x76
_OP_EQUAL = 0x87
_OP_EQUALVERIFY = 0x88
_OP_HASH160 = 0xA9
_OP_CHECKSIG = 0xAC
_OP_CHECKMULTISIG = 0xAE
MAX_PUBKEYS_PER_MULTISIG = 20


class TxoutType(StrEnum):
    """Core's TxoutType, valued by the names RPCs print."""

    NONSTANDARD = "nonstandard"
    ANCHOR = "anchor"
    PUBKEY = "pubkey"
    PUBKEYHASH = "pubkeyhash"
    SCRIPTHASH = "scripthash"
    MULTISIG = "multisig"
    NULL_DATA = "nulldata"
    WITNESS_V0_KEYHASH = "witness_v0_keyhash"
    WITNESS_V0_SCRIPTHASH = "witness_v0_scripthash"
    WITNESS_V1_TAPROOT = "witness_v1_taproot"
    WITNESS_UNKNOWN = "witness_unknown"


@dataclass(frozen=True, slots=True)
class Solution:
    """A classified script and the data Core's Solver extracts from it."""

    type: TxoutType
    solutions: tuple[bytes, ...] = ()


def _ops(script: bytes) -> list[tuple[int, bytes | None]] | None:
    """Split into (opcode, push) pairs; None if a push runs past the end."""
    try:
        return [(op, data) for op, data, _pos in iter_ops(script)]
    except ScriptDecodeError:
        return None


def _valid_pubkey_size(b: bytes) -> bool:
    # CPubKey::ValidSize: length implied by the header byte
    if not b:
        return False
    if b[0] in (2, 3):
        return len(b) == 33
    if b[0] in (4, 6, 7):
        return len(b) == 65
    return False


def _script_number(op: int, data: bytes | None, lo: int, hi: int) -> int | None:
    if _OP_1 <= op <= _OP_16:
        v = op - _OP_1 + 1
    elif data is not None and op <= _OP_PUSHDATA4:
        # A minimally pushed number (Core's CScriptNum with fRequireMinimal)
        if len(data) > 4 or not data:
            return None
        if data[-1] & 0x7F == 0 and (len(data) == 1 or not data[-2] & 0x80):
            return None
        v = int.from_bytes(data, "little")
        if data[-1] & 0x80:
            return None  # negative
    else:
        return None
    return v if lo <= v <= hi else None


def _match_multisig(ops: list[tuple[int, bytes | None]]) -> Solution | None:
    if len(ops) < 4 or ops[-1][0] != _OP_CHECKMULTISIG:
        return None
    required = _script_number(*ops[0], 1, MAX_PUBKEYS_PER_MULTISIG)
    if required is None:
        return None
    keys = []
    for op, data in ops[1:-2]:
        if data is None or op > _OP_PUSHDATA4 or not _valid_pubkey_size(data):
            return None
        keys.append(data)
    total = _script_number(*ops[-2], required, MAX_PUBKEYS_PER_MULTISIG)
    if total is None or total != len(keys):
        return None
    return Solution(TxoutType.MULTISIG, (bytes([required]), *keys, bytes([total])))


def solve(spk: bytes) -> Solution:
    """Classify an output script as Core's Solver does."""
    n = len(spk)
    if n == 23 and spk[0] == _OP_HASH160 and spk[1] == 20 and spk[22] == _OP_EQUAL:
        return Solution(TxoutType.SCRIPTHASH, (spk[2:22],))
    wp = witness_program(spk)
    if wp is not None:
        version, program = wp
        if version == 0 and len(program) == 20:
            return Solution(TxoutType.WITNESS_V0_KEYHASH, (program,))
        if version == 0 and len(program) == 32:
            return Solution(TxoutType.WITNESS_V0_SCRIPTHASH, (program,))
        if version == 1 and len(program) == 32:
            return Solution(TxoutType.WITNESS_V1_TAPROOT, (program,))
        if version == 1 and program == b"\x4e\x73":
            return Solution(TxoutType.ANCHOR)
        if version != 0:
            return Solution(TxoutType.WITNESS_UNKNOWN, (bytes([version]), program))
        return Solution(TxoutType.NONSTANDARD)
    ops = _ops(spk)
    if n >= 1 and spk[0] == _OP_RETURN:
        rest = _ops(spk[1:])
        if rest is not None and all(op <= _OP_16 for op, _ in rest):
            return Solution(TxoutType.NULL_DATA)
    if ops is None:
        return Solution(TxoutType.NONSTANDARD)
    if len(ops) == 2 and ops[1][0] == _OP_CHECKSIG and ops[0][0] in (33, 65):
        key = ops[0][1]
        if key is not None and _valid_pubkey_size(key):
            return Solution(TxoutType.PUBKEY, (key,))
    if (
        n == 25
        and spk[:3] == bytes((_OP_DUP, _OP_HASH160, 20))
        and spk[23:] == bytes((_OP_EQUALVERIFY, _OP_CHECKSIG))
    ):
        return Solution(TxoutType.PUBKEYHASH, (spk[3:23],))
    ms = _match_multisig(ops)
    if ms is not None:
        return ms
    return Solution(TxoutType.NONSTANDARD)
