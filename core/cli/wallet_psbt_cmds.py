"""`peerwallet-cli wallet psbt ...`: BIP174 round trips with other signers (hardware, air-gapped, a
watch-only wallet and its seed elsewhere).

`create` drafts a payment (any wallet, watch-only included) and writes the unsigned PSBT; `sign` adds
this wallet's signatures (offline: no network needed); `combine` merges signers' copies; `finalize`
prints the signed transaction's hex or broadcasts it; `decode` shows inputs, outputs, fee and which
inputs are signed, as JSON. A PSBT argument is a file (binary or base64 text), a base64 string, or
`-` for stdin; results are base64 on stdout, or binary to `--out FILE`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.cli.main import CliError
from core.cli.wallet_cmds import add_payment_options, describe, payment
from core.cli.wallet_session import (
    UsageError,
    add_password_options,
    network,
    online,
    open_wallet,
    parse_feerate,
    password,
)
from core.consensus.network import Network
from core.script.address import script_to_address
from core.wallet.errors import PsbtError
from core.wallet.psbt import Psbt, combine_psbts, parse_psbt, psbt_from_base64, psbt_to_base64, serialize_psbt
from core.wallet.psbt.types import PSBT_MAGIC
from core.wallet.wallet import Wallet

MAX_PSBT_BYTES = 100_000_000  # far above any standard transaction's PSBT: refuse to read a disk image


def load_psbt(arg: str) -> Psbt:
    """A PSBT from a file (binary or base64), a base64 argument, or `-` (stdin); CliError naming the problem."""
    where = "stdin" if arg == "-" else None
    if arg == "-":
        data = sys.stdin.buffer.read(MAX_PSBT_BYTES + 1)
    else:
        path = Path(arg)
        try:
            is_file = path.is_file()
        except (OSError, ValueError):  # a long base64 string is no file name
            is_file = False
        if is_file:
            where = f"file {arg}"
            try:
                with path.open("rb") as f:
                    data = f.read(MAX_PSBT_BYTES + 1)
            except OSError as e:
                raise CliError(f"cannot read {arg}: {e.strerror or e}") from None
        else:
            data = arg.encode("utf-8", "replace")
    if len(data) > MAX_PSBT_BYTES:
        raise CliError(f"PSBT in {where} is over {MAX_PSBT_BYTES} bytes")
    try:
        if data.startswith(PSBT_MAGIC):
            return parse_psbt(data)
        text = data.decode("ascii").strip()
        if where is None:
            base64.b64decode(text, validate=True)  # a file name that does not exist is not base64 either
        return psbt_from_base64(text)
    except (UnicodeDecodeError, binascii.Error, ValueError):
        if where is None:
            shown = arg if len(arg) <= 80 else arg[:77] + "..."
            raise CliError(f"{shown!r} is neither a PSBT file nor a base64 PSBT") from None
        raise CliError(f"{where} holds neither a binary nor a base64 PSBT") from None
    except PsbtError as e:
        raise CliError(f"bad PSBT{' in ' + where if where else ''}: {e}") from None


def emit_psbt(psbt: Psbt, out: str | None) -> None:
    """Base64 on stdout, or binary BIP174 to `out`."""
    if out is None or out == "-":
        print(psbt_to_base64(psbt))
        return
    try:
        Path(out).write_bytes(serialize_psbt(psbt))
    except OSError as e:
        raise CliError(f"cannot write {out}: {e.strerror or e}") from None


def _input_signed(psbt: Psbt, i: int) -> tuple[int, bool]:
    inp = psbt.inputs[i]
    sigs = len(inp.partial_sigs) + len(inp.tap_script_sigs) + (inp.tap_key_sig is not None)
    return sigs, inp.is_finalized() or sigs > 0


def decode(psbt: Psbt, net: Network) -> dict[str, Any]:
    """What a reviewer needs: inputs (with amounts when known and signature state), outputs, fee."""
    inputs: list[dict[str, Any]] = []
    total_in, known = 0, True
    for i, txin in enumerate(psbt.tx.vin):
        utxo = psbt.spent_output(i)
        sigs, signed = _input_signed(psbt, i)
        if utxo is None:
            known = False
        else:
            total_in += utxo.value
        inputs.append({
            "txid": str(txin.prevout.txid), "vout": txin.prevout.n, "sequence": txin.sequence,
            "amount": None if utxo is None else utxo.value,
            "address": None if utxo is None else script_to_address(utxo.script_pubkey, net),
            "signatures": sigs, "signed": signed, "finalized": psbt.inputs[i].is_finalized(),
        })
    outputs = [
        {"address": script_to_address(o.script_pubkey, net), "script_pubkey": o.script_pubkey.hex(), "amount": o.value}
        for o in psbt.tx.vout
    ]
    fee = total_in - psbt.tx.total_out() if known else None
    return {
        "txid": str(psbt.tx.txid), "version": psbt.tx.version, "locktime": psbt.tx.locktime,
        "inputs": inputs, "outputs": outputs, "fee": fee,
        "signed": all(i["signed"] for i in inputs), "finalized": all(i["finalized"] for i in inputs),
    }


# -- commands -----------------------------------------------------------------------------------------


def _cmd_create(args: argparse.Namespace) -> int:
    pay, send_max = payment(args)
    rate = parse_feerate(args.feerate) if args.feerate is not None else None
    wallet = open_wallet(args)
    try:

        async def body() -> Psbt:
            async with online(args, wallet) as session:
                fee_rate = await session.fee_rate(rate)
                draft = wallet.draft([pay], fee_rate, send_max=send_max, rbf=not args.no_rbf)
                print(describe(draft), file=sys.stderr)
                return draft.psbt

        psbt = asyncio.run(body())
    finally:
        wallet.close()
    emit_psbt(psbt, args.out)
    return 0


def _cmd_sign(args: argparse.Namespace) -> int:
    psbt = load_psbt(args.psbt)
    wallet = open_wallet(args)
    try:
        if wallet.info.watch_only:
            raise CliError(f"wallet {args.wallet!r} is watch-only: it has no keys to sign with")
        added = wallet.sign_blocking(psbt, password(args, wallet))
    finally:
        wallet.close()
    if added == 0:
        raise CliError(f"wallet {args.wallet!r} could not sign any input of this PSBT (not its keys, or signed already)")
    print(f"added {added} signature(s)", file=sys.stderr)
    emit_psbt(psbt, args.out)
    return 0


def _cmd_combine(args: argparse.Namespace) -> int:
    if len(args.psbts) < 2:
        raise UsageError("combine needs two or more PSBTs")
    parts = [load_psbt(a) for a in args.psbts]
    try:
        combined = combine_psbts(parts)
    except PsbtError as e:
        raise CliError(f"cannot combine: {e}") from None
    emit_psbt(combined, args.out)
    return 0


def _cmd_finalize(args: argparse.Namespace) -> int:
    psbt = load_psbt(args.psbt)
    tx = Wallet.finalize(psbt)
    if not args.broadcast:
        print(tx.serialize().hex())
        return 0
    wallet = open_wallet(args)
    try:

        async def body() -> None:
            async with online(args, wallet) as session:
                await session.broadcast(tx)

        asyncio.run(body())
    finally:
        wallet.close()
    return 0


def _cmd_decode(args: argparse.Namespace) -> int:
    print(json.dumps(decode(load_psbt(args.psbt), network(args)), indent=2))
    return 0


def register(wsub: argparse._SubParsersAction, leaf: Callable[..., argparse.ArgumentParser]) -> None:
    """Add `wallet psbt ...` (leaf adds the shared options and error handling to each command)."""
    psub = wsub.add_parser("psbt", help="PSBT (BIP174) create, sign, combine, finalize, decode").add_subparsers(
        dest="psbt_command", required=True, metavar="ACTION"
    )
    q = leaf(psub, "create", _cmd_create, "sync and draft a payment as an unsigned PSBT")
    add_payment_options(q)
    q.add_argument("--out", metavar="FILE", help="write binary BIP174 to FILE instead of base64 to stdout")
    q = leaf(psub, "sign", _cmd_sign, "add this wallet's signatures (offline)")
    q.add_argument("psbt", help="FILE, base64, or - for stdin")
    q.add_argument("--out", metavar="FILE")
    add_password_options(q)
    q = leaf(psub, "combine", _cmd_combine, "merge the signatures of several copies of one PSBT")
    q.add_argument("psbts", nargs="+", metavar="PSBT")
    q.add_argument("--out", metavar="FILE")
    q = leaf(psub, "finalize", _cmd_finalize, "print the signed transaction's hex, or --broadcast it")
    q.add_argument("psbt")
    q.add_argument("--broadcast", action="store_true", help="sync and broadcast through this wallet; prints the txid")
    q = leaf(psub, "decode", _cmd_decode, "inputs, outputs, fee and signature state as JSON")
    q.add_argument("psbt")
