"""Script helpers shared by the PSBT roles: output templates, keys in scripts, and the BIP174
"data signers check for" resolution of what an input spends."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from core.consensus.hashes import hash160, sha256
from core.consensus.tx import TxOut
from core.script.errors import ScriptDecodeError
from core.script.script import iter_ops, push_data
from core.script.standard import TxoutType, solve
from core.wallet.errors import PsbtError
from core.wallet.psbt.fields import is_valid_pubkey
from core.wallet.psbt.types import Psbt


def p2pkh(pubkey_hash: bytes) -> bytes:
    return b"\x76\xa9\x14" + pubkey_hash + b"\x88\xac"


def p2sh(script: bytes) -> bytes:
    return b"\xa9\x14" + hash160(script) + b"\x87"


def p2wpkh(pubkey: bytes) -> bytes:
    return b"\x00\x14" + hash160(pubkey)


def p2wsh(script: bytes) -> bytes:
    return b"\x00\x20" + sha256(script)


def p2tr(output_xonly: bytes) -> bytes:
    return b"\x51\x20" + output_xonly


def ecdsa_keys_in(script: bytes) -> list[bytes]:
    """Public keys pushed by `script` (33 or 65-byte pushes that are valid keys), in order."""
    try:
        return [d for _, d, _ in iter_ops(script) if d is not None and is_valid_pubkey(d)]
    except ScriptDecodeError:
        return []


def xonly_keys_in(script: bytes) -> list[bytes]:
    """32-byte pushes of a tapscript (candidate x-only keys), in order."""
    try:
        return [d for _, d, _ in iter_ops(script) if d is not None and len(d) == 32]
    except ScriptDecodeError:
        return []


def multisig_script(required: int, pubkeys: list[bytes]) -> bytes:
    """A bare `m <keys> n OP_CHECKMULTISIG` script (the keys in the given order)."""
    return (
        bytes((0x50 + required,))
        + b"".join(push_data(k) for k in pubkeys)
        + bytes((0x50 + len(pubkeys), 0xAE))
    )


class SpendKind(Enum):
    LEGACY = "legacy"
    WITNESS_V0 = "witness_v0"
    TAPROOT = "taproot"


@dataclass(frozen=True, slots=True)
class ResolvedInput:
    """What an input spends after the BIP174 signer checks.

    `script` is the innermost script that must be satisfied: the scriptPubKey, the redeemScript
    (P2SH) or the witnessScript (P2WSH); `script_code` is what ECDSA signatures commit to.
    """

    utxo: TxOut
    kind: SpendKind
    script: bytes
    script_code: bytes
    nested: bool  # P2SH-wrapped


def resolve_input(psbt: Psbt, index: int) -> ResolvedInput | None:
    """Apply BIP174's "data signers check for" to input `index`.

    Returns None when the input lacks its UTXO or a needed redeem/witness script (nothing can be
    signed or finalized yet); raises PsbtError when the
    data is inconsistent (wrong txid, scripts not matching their hashes, a witness UTXO for a
    non-witness spend).
    """
    inp = psbt.inputs[index]
    prevout = psbt.tx.vin[index].prevout
    if inp.non_witness_utxo is not None:
        if inp.non_witness_utxo.txid != prevout.txid:
            raise PsbtError(f"input {index}: non-witness UTXO does not match the outpoint hash")
        if prevout.n >= len(inp.non_witness_utxo.vout):
            raise PsbtError(f"input {index}: non-witness UTXO lacks output {prevout.n}")
    nwu, wu = inp.non_witness_utxo, inp.witness_utxo
    if wu is not None and nwu is not None and nwu.vout[prevout.n] != wu:
        raise PsbtError(f"input {index}: witness UTXO differs from the non-witness UTXO's output")
    utxo = psbt.spent_output(index)
    if utxo is None:
        return None
    spk = utxo.script_pubkey
    script = spk
    nested = False
    if inp.redeem_script is not None:
        if spk != p2sh(inp.redeem_script):
            raise PsbtError(f"input {index}: redeemScript does not match the scriptPubKey")
        script, nested = inp.redeem_script, True
    elif solve(spk).type == TxoutType.SCRIPTHASH:
        return None  # not enough data to sign or finalize (maybe another party's input)
    sol = solve(script)
    if inp.witness_script is not None and (
        sol.type != TxoutType.WITNESS_V0_SCRIPTHASH or script != p2wsh(inp.witness_script)
    ):
        raise PsbtError(f"input {index}: witnessScript does not match the scriptPubKey or redeemScript")
    if sol.type == TxoutType.WITNESS_V0_KEYHASH:
        kind, script_code = SpendKind.WITNESS_V0, p2pkh(sol.solutions[0])
    elif sol.type == TxoutType.WITNESS_V0_SCRIPTHASH:
        if inp.witness_script is None:
            return None
        kind, script, script_code = SpendKind.WITNESS_V0, inp.witness_script, inp.witness_script
    elif sol.type == TxoutType.WITNESS_V1_TAPROOT and not nested:
        kind, script_code = SpendKind.TAPROOT, b""
    else:
        if inp.non_witness_utxo is None:
            raise PsbtError(f"input {index}: a witness UTXO is provided for a non-witness input")
        kind, script_code = SpendKind.LEGACY, script
    return ResolvedInput(utxo, kind, script, script_code, nested)
