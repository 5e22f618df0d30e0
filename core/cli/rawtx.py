"""Raw transaction and script commands: decodetx, decodescript, verifytx, validateaddress.

Output follows Bitcoin Core's RPCs of the same purpose (decoderawtransaction, decodescript,
validateaddress) so results can be compared field by field.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from core.cli.main import NETWORK_ALIASES, CliError
from core.consensus.amount import format_btc
from core.consensus.check import check_transaction
from core.consensus.errors import ValidationError
from core.consensus.hashes import Txid, hash160, sha256
from core.consensus.network import Network, network_by_name
from core.consensus.tx import Transaction, TxOut
from core.script.standard import TxoutType, solve

_BTC_MARK = re.compile(r'"__btc__(-?\d+\.\d{8})"')
_OP_CHECKSIGADD = 0xBA


def _hex_arg(value: str, what: str) -> bytes:
    try:
        return bytes.fromhex(value.strip())
    except ValueError:
        raise CliError(f"{what} is not valid hex") from None


def _network(args: argparse.Namespace) -> Network:
    return network_by_name(NETWORK_ALIASES[args.network])


def _dump(obj: Any) -> str:
    """JSON with BTC amounts printed as exact 8-decimal numbers, as Core does."""
    return _BTC_MARK.sub(r"\1", json.dumps(obj, indent=2))


def _address(spk: bytes, net: Network) -> str | None:
    from core.script.address import script_to_address

    return script_to_address(spk, net)


def script_pubkey_json(spk: bytes, net: Network) -> dict[str, Any]:
    """Core's ScriptToUniv for an output script: asm, hex, address (if any), type."""
    from core.script.script import script_to_asm

    out: dict[str, Any] = {"asm": script_to_asm(spk), "hex": spk.hex()}
    addr = _address(spk, net)
    if addr is not None:
        out["address"] = addr
    out["type"] = str(solve(spk).type)
    return out


def decode_tx_json(tx: Transaction, net: Network) -> dict[str, Any]:
    """The fields of Core's decoderawtransaction."""
    from core.script.script import script_to_asm

    vin = []
    for txin in tx.vin:
        entry: dict[str, Any] = {}
        if tx.is_coinbase():
            entry["coinbase"] = txin.script_sig.hex()
        else:
            entry["txid"] = str(txin.prevout.txid)
            entry["vout"] = txin.prevout.n
            entry["scriptSig"] = {
                "asm": script_to_asm(txin.script_sig, attempt_sighash_decode=True),
                "hex": txin.script_sig.hex(),
            }
        if txin.witness:
            entry["txinwitness"] = [w.hex() for w in txin.witness]
        entry["sequence"] = txin.sequence
        vin.append(entry)
    vout = [
        {"value": f"__btc__{format_btc(o.value)}", "n": n, "scriptPubKey": script_pubkey_json(o.script_pubkey, net)}
        for n, o in enumerate(tx.vout)
    ]
    return {
        "txid": str(tx.txid),
        "hash": str(tx.wtxid),
        "version": tx.version,
        "size": tx.size,
        "vsize": tx.vsize,
        "weight": tx.weight,
        "locktime": tx.locktime,
        "vin": vin,
        "vout": vout,
    }


def _can_wrap(script: bytes, kind: TxoutType) -> bool:
    if kind not in (
        TxoutType.MULTISIG,
        TxoutType.NONSTANDARD,
        TxoutType.PUBKEY,
        TxoutType.PUBKEYHASH,
        TxoutType.WITNESS_V0_KEYHASH,
        TxoutType.WITNESS_V0_SCRIPTHASH,
    ):
        return False
    from core.script.opcodes import is_op_success
    from core.script.script import has_valid_ops, is_unspendable, iter_ops

    if not has_valid_ops(script) or is_unspendable(script):
        return False
    return all(op != _OP_CHECKSIGADD and not is_op_success(op) for op, _data, _pos in iter_ops(script))


def decode_script_json(script: bytes, net: Network) -> dict[str, Any]:
    """The fields of Core's decodescript (without the inferred descriptor)."""
    from core.script.script import script_to_asm

    sol = solve(script)
    out: dict[str, Any] = {"asm": script_to_asm(script), "type": str(sol.type)}
    addr = _address(script, net)
    if addr is not None:
        out["address"] = addr
    if not _can_wrap(script, sol.type):
        return out
    p2sh = b"\xa9\x14" + hash160(script) + b"\x87"
    out["p2sh"] = _address(p2sh, net)
    if sol.type in (TxoutType.MULTISIG, TxoutType.PUBKEY):
        # Uncompressed keys cannot be used in segwit scripts
        keys = [s for s in sol.solutions if len(s) != 1]
        if any(len(k) != 33 for k in keys):
            return out
    elif sol.type not in (TxoutType.NONSTANDARD, TxoutType.PUBKEYHASH):
        return out
    if sol.type == TxoutType.PUBKEY:
        segwit = b"\x00\x14" + hash160(sol.solutions[0])
    elif sol.type == TxoutType.PUBKEYHASH:
        segwit = b"\x00\x14" + sol.solutions[0]
    else:
        segwit = b"\x00\x20" + sha256(script)
    seg = script_pubkey_json(segwit, net)
    seg["p2sh-segwit"] = _address(b"\xa9\x14" + hash160(segwit) + b"\x87", net)
    out["segwit"] = seg
    return out


def _cmd_decodetx(args: argparse.Namespace) -> int:
    tx = Transaction.parse(_hex_arg(args.hex, "transaction"))
    print(_dump(decode_tx_json(tx, _network(args))))
    return 0


def _cmd_decodescript(args: argparse.Namespace) -> int:
    print(_dump(decode_script_json(_hex_arg(args.hex, "script"), _network(args))))
    return 0


def _parse_prevouts(text: str, tx: Transaction) -> list[TxOut]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as e:
        raise CliError(f"--prevouts is not valid JSON: {e}") from None
    if not isinstance(items, list) or len(items) != len(tx.vin):
        raise CliError(f"--prevouts must list exactly {len(tx.vin)} outputs, one per input in order")
    spent = []
    for i, (item, txin) in enumerate(zip(items, tx.vin, strict=True)):
        try:
            txid = Txid.from_hex(item["txid"])
            vout = int(item["vout"])
            spk = bytes.fromhex(item["scriptPubKey"])
            amount = item["amount"]
        except (KeyError, TypeError, ValueError) as e:
            raise CliError(f"prevout {i}: needs txid, vout, scriptPubKey (hex) and amount (sats): {e}") from None
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise CliError(f"prevout {i}: amount must be a non-negative integer number of satoshis")
        if txid != txin.prevout.txid or vout != txin.prevout.n:
            raise CliError(f"prevout {i} is {txid}:{vout} but input {i} spends {txin.prevout}")
        spent.append(TxOut(amount, spk))
    return spent


def verify_tx(tx: Transaction, spent: list[TxOut], flags_text: str | None) -> str | None:
    """Check context-free rules and every input's scripts; returns None if valid, else the reason."""
    from core.script.flags import STANDARD_SCRIPT_VERIFY_FLAGS, parse_flags
    from core.script.interpreter import verify_input
    from core.script.sighash import PrecomputedTxData

    flags = STANDARD_SCRIPT_VERIFY_FLAGS if flags_text is None else parse_flags(flags_text)
    try:
        check_transaction(tx)
    except ValidationError as e:
        return e.reason
    txdata = PrecomputedTxData(tx, spent)
    for i in range(len(tx.vin)):
        err = verify_input(tx, i, spent, flags, txdata)
        if err is not None:
            return f"input {i}: {err}"
    return None


def _cmd_verifytx(args: argparse.Namespace) -> int:
    tx = Transaction.parse(_hex_arg(args.hex, "transaction"))
    spent = _parse_prevouts(args.prevouts, tx)
    reason = verify_tx(tx, spent, args.flags)
    if reason is None:
        print("valid")
        return 0
    print(f"invalid: {reason}")
    return 1


def _cmd_validateaddress(args: argparse.Namespace) -> int:
    from core.crypto.errors import CryptoError
    from core.script.address import address_to_script
    from core.script.standard import witness_program

    net = _network(args)
    try:
        spk = address_to_script(args.address, net)
    except CryptoError as e:
        print(_dump({"isvalid": False, "error": str(e)}))
        return 1
    out: dict[str, Any] = {
        "isvalid": True,
        "address": args.address,
        "scriptPubKey": spk.hex(),
        "isscript": solve(spk).type in (TxoutType.SCRIPTHASH, TxoutType.WITNESS_V0_SCRIPTHASH),
        "iswitness": witness_program(spk) is not None,
    }
    wp = witness_program(spk)
    if wp is not None:
        out["witness_version"] = wp[0]
        out["witness_program"] = wp[1].hex()
    print(_dump(out))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's commands to the CLI."""
    p = sub.add_parser("decodetx", help="decode a raw transaction (like decoderawtransaction)")
    p.add_argument("hex")
    p.set_defaults(handler=_cmd_decodetx)
    p = sub.add_parser("decodescript", help="decode a script")
    p.add_argument("hex")
    p.set_defaults(handler=_cmd_decodescript)
    p = sub.add_parser("verifytx", help="check a transaction's rules and every input's scripts")
    p.add_argument("hex")
    p.add_argument("--prevouts", required=True, help='JSON [{"txid","vout","scriptPubKey","amount"}, ...]')
    p.add_argument("--flags", default=None, help="comma-separated Core flag names (default: standard)")
    p.set_defaults(handler=_cmd_verifytx)
    p = sub.add_parser("validateaddress", help="check an address for the selected network")
    p.add_argument("address")
    p.set_defaults(handler=_cmd_validateaddress)
