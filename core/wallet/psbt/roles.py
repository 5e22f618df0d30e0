"""PSBT roles other than signing (BIP174): Creator, Updater, Combiner, Input Finalizer and
Transaction Extractor. Functions other than create/combine work on the PSBT in place."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import fields, replace

from core.consensus.hashes import hash160, sha256
from core.consensus.tx import Transaction, TxIn, TxOut
from core.crypto.taproot import TAPROOT_LEAF_TAPSCRIPT, tapleaf_hash
from core.script.errors import ScriptDecodeError, ScriptFailure
from core.script.flags import STANDARD_SCRIPT_VERIFY_FLAGS
from core.script.interpreter import verify_input
from core.script.opcodes import Opcode
from core.script.script import iter_ops, push_data
from core.script.scriptnum import decode_num
from core.script.sighash import PrecomputedTxData
from core.script.standard import TxoutType, solve
from core.wallet.errors import PsbtError
from core.wallet.psbt.scripts import SpendKind, ecdsa_keys_in, resolve_input
from core.wallet.psbt.types import KeyOrigin, Psbt, PsbtInput, PsbtOutput


def create_psbt(tx: Transaction) -> Psbt:
    """Creator: a PSBT with empty maps around an unsigned transaction."""
    if any(txin.script_sig or txin.witness for txin in tx.vin):
        raise PsbtError("the unsigned transaction must have empty scriptSigs and witnesses")
    return Psbt(tx, [PsbtInput() for _ in tx.vin], [PsbtOutput() for _ in tx.vout])


def _merge_into(target: object, source: object, where: str) -> None:
    """Add every field of `source` to `target`; a field set on both with different values raises."""
    for fld in fields(target):  # type: ignore[arg-type]
        mine, theirs = getattr(target, fld.name), getattr(source, fld.name)
        if isinstance(mine, dict):
            for k, v in theirs.items():
                if k in mine and mine[k] != v:
                    raise PsbtError(f"{where}: conflicting values for {fld.name} {k!r:.80}")
                mine[k] = v
        elif theirs is not None:
            if mine is not None and mine != theirs:
                raise PsbtError(f"{where}: conflicting values for {fld.name}")
            setattr(target, fld.name, theirs)


def update_input(psbt: Psbt, index: int, **values: object) -> None:
    """Updater: set fields of input `index` (PsbtInput attribute names); dicts are merged.

    A conflicting value raises PsbtError, as does a non-witness UTXO whose txid is wrong.
    """
    _merge_into(psbt.inputs[index], PsbtInput(**values), f"input {index}")  # type: ignore[arg-type]
    nwu = psbt.inputs[index].non_witness_utxo
    if nwu is not None and nwu.txid != psbt.tx.vin[index].prevout.txid:
        raise PsbtError(f"input {index}: non-witness UTXO does not match the outpoint hash")


def update_output(psbt: Psbt, index: int, **values: object) -> None:
    """Updater: set fields of output `index` (PsbtOutput attribute names); dicts are merged."""
    _merge_into(psbt.outputs[index], PsbtOutput(**values), f"output {index}")  # type: ignore[arg-type]


def _describe(spk: bytes, scripts: dict[bytes, bytes], origins: Mapping[bytes, KeyOrigin]) -> dict:
    """Redeem/witness scripts and key origins a provider knows for a scriptPubKey."""
    found: dict = {"bip32_derivation": {}}
    script = spk
    sol = solve(spk)
    if sol.type == TxoutType.SCRIPTHASH and sol.solutions[0] in scripts:
        script = found["redeem_script"] = scripts[sol.solutions[0]]
        sol = solve(script)
    if sol.type == TxoutType.WITNESS_V0_SCRIPTHASH and sol.solutions[0] in scripts:
        script = found["witness_script"] = scripts[sol.solutions[0]]
        sol = solve(script)
    if sol.type in (TxoutType.PUBKEYHASH, TxoutType.WITNESS_V0_KEYHASH):
        keys = [k for k in origins if hash160(k) == sol.solutions[0]]
    else:
        keys = [k for k in ecdsa_keys_in(script) if k in origins]
    found["bip32_derivation"] = {k: origins[k] for k in keys}
    found["witness"] = sol.type in (TxoutType.WITNESS_V0_KEYHASH, TxoutType.WITNESS_V0_SCRIPTHASH) or (
        "witness_script" in found
    ) or solve(script).type == TxoutType.WITNESS_V1_TAPROOT
    return found


def update_from_provider(
    psbt: Psbt,
    prev_txs: Iterable[Transaction] = (),
    scripts: Iterable[bytes] = (),
    key_origins: Mapping[bytes, KeyOrigin] | None = None,
) -> None:
    """Updater with a signing provider: previous transactions, scripts and key origins.

    Each input gets its UTXO (witness UTXO for segwit spends, the full previous transaction
    otherwise), the redeem/witness scripts whose hashes its output commits to, and the BIP32
    origins of the keys involved; outputs get their scripts and key origins likewise.
    """
    origins = dict(key_origins or {})
    by_hash: dict[bytes, bytes] = {}
    for s in scripts:
        by_hash[hash160(s)] = s
        by_hash[sha256(s)] = s
    txs = {tx.txid: tx for tx in prev_txs}
    for i, txin in enumerate(psbt.tx.vin):
        inp = psbt.inputs[i]
        prev = txs.get(txin.prevout.txid)
        utxo = psbt.spent_output(i)
        if utxo is None and prev is not None and txin.prevout.n < len(prev.vout):
            utxo = prev.vout[txin.prevout.n]
        if utxo is None:
            continue
        info = _describe(utxo.script_pubkey, by_hash, origins)
        if info.pop("witness"):
            update_input(psbt, i, witness_utxo=utxo)
        elif prev is not None and inp.non_witness_utxo is None:
            update_input(psbt, i, non_witness_utxo=prev)
        update_input(psbt, i, **info)
    for i, txout in enumerate(psbt.tx.vout):
        info = _describe(txout.script_pubkey, by_hash, origins)
        info.pop("witness")
        update_output(psbt, i, **info)


def combine_psbts(psbts: Iterable[Psbt]) -> Psbt:
    """Combiner: the union of PSBTs for the same transaction; conflicting values raise PsbtError."""
    items = list(psbts)
    if not items:
        raise PsbtError("nothing to combine")
    result = copy.deepcopy(items[0])
    for other in items[1:]:
        if other.tx.serialize_legacy() != result.tx.serialize_legacy():
            raise PsbtError("cannot combine PSBTs for different transactions")
        for mine, theirs in zip(result.inputs, other.inputs, strict=True):
            _merge_into(mine, copy.deepcopy(theirs), "input")
        for mine_o, theirs_o in zip(result.outputs, other.outputs, strict=True):
            _merge_into(mine_o, copy.deepcopy(theirs_o), "output")
        for attr in ("xpubs", "proprietary", "unknown"):
            _merge_dict(getattr(result, attr), getattr(other, attr), f"global {attr}")
        if other.version is not None:
            result.version = max(result.version or 0, other.version)
    return result


def _merge_dict(mine: dict, theirs: dict, where: str) -> None:
    for k, v in theirs.items():
        if k in mine and mine[k] != v:
            raise PsbtError(f"{where}: conflicting values for key {k!r:.80}")
        mine[k] = v


def _sig_type_ok(sig: bytes, sighash_type: int | None, schnorr: bool) -> bool:
    if sighash_type is None:
        return True
    if schnorr and len(sig) == 64:
        return sighash_type == 0
    return sig[-1] == sighash_type


def _multisig_sigs(inp: PsbtInput, script: bytes) -> list[bytes] | None:
    sol = solve(script)
    if sol.type != TxoutType.MULTISIG:
        return None
    required = sol.solutions[0][0]
    sigs = [inp.partial_sigs[k] for k in sol.solutions[1:-1] if k in inp.partial_sigs]
    return sigs[:required] if len(sigs) >= required else None


def _finalize_input(psbt: Psbt, i: int) -> bool:
    inp = psbt.inputs[i]
    res = resolve_input(psbt, i)
    if res is None:
        return False
    for sig in inp.partial_sigs.values():
        if not _sig_type_ok(sig, inp.sighash_type, False):
            raise PsbtError(f"input {i}: a signature does not use the input's sighash type")
    for sig in [*inp.tap_script_sigs.values(), *([inp.tap_key_sig] if inp.tap_key_sig else [])]:
        if not _sig_type_ok(sig, inp.sighash_type, True):
            raise PsbtError(f"input {i}: a taproot signature does not use the input's sighash type")
    script_sig, witness = b"", ()
    if res.kind == SpendKind.TAPROOT:
        if inp.tap_key_sig is not None:
            witness = (inp.tap_key_sig,)
        else:
            witness = _taproot_script_path(inp)
            if witness is None:
                return False
    else:
        sol = solve(res.script)
        if sol.type in (TxoutType.PUBKEYHASH, TxoutType.WITNESS_V0_KEYHASH):
            found = [(k, s) for k, s in inp.partial_sigs.items() if hash160(k) == sol.solutions[0]]
            if not found:
                return False
            stack = [found[0][1], found[0][0]]
        else:
            sigs = _multisig_sigs(inp, res.script)
            if sigs is None:
                return False
            stack = [b"", *sigs]  # b"" is CHECKMULTISIG's dummy element
            if (res.kind == SpendKind.LEGACY and res.nested) or res.kind == SpendKind.WITNESS_V0:
                stack.append(res.script)
        if res.kind == SpendKind.LEGACY:
            script_sig = b"".join(push_data(x) if x else b"\x00" for x in stack)
        else:
            witness = tuple(stack)
            if res.nested:
                script_sig = push_data(inp.redeem_script)  # type: ignore[arg-type]
    cleared = PsbtInput(
        non_witness_utxo=inp.non_witness_utxo,
        witness_utxo=inp.witness_utxo,
        final_script_sig=script_sig or None,
        final_script_witness=witness or None,
        proprietary=inp.proprietary,
        unknown=inp.unknown,
    )
    psbt.inputs[i] = cleared
    return True


def _small_int(op: tuple[int, bytes | None, int]) -> int | None:
    """The number an OP_1..OP_16 or a minimal CScriptNum push puts on the stack (None otherwise)."""
    opcode, data = op[0], op[1]
    if Opcode.OP_1 <= opcode <= Opcode.OP_16:
        return opcode - Opcode.OP_1 + 1
    if data is None or not data:
        return None
    try:
        return decode_num(data, require_minimal=True)
    except ScriptFailure:
        return None


def _leaf_witness(inp: PsbtInput, script: bytes, leaf_hash: bytes) -> list[bytes] | None:
    """Witness elements (before script and control block) satisfying one of the leaf templates
    `<K> CHECKSIG`, `<K> CHECKSIGVERIFY <N> CHECKSEQUENCEVERIFY` (Miniscript and_v(v:pk(K),older(N)))
    and BIP387 multi_a `<K1> CHECKSIG <K2> CHECKSIGADD ... <k> NUMEQUAL`; None if not enough signatures."""
    try:
        ops = list(iter_ops(script))
    except ScriptDecodeError:
        return None
    codes = [op[0] for op in ops]

    def key(n: int) -> bytes | None:
        data = ops[n][1]
        return data if data is not None and len(data) == 32 else None

    def sig(n: int) -> bytes | None:
        k = key(n)
        return None if k is None else inp.tap_script_sigs.get((k, leaf_hash))

    if codes[1:] == [Opcode.OP_CHECKSIG] or (
        len(ops) == 4 and codes[1] == Opcode.OP_CHECKSIGVERIFY and codes[3] == Opcode.OP_CHECKSEQUENCEVERIFY
    ):
        found = sig(0)
        return None if found is None else [found]
    n = (len(ops) - 2) // 2
    if len(ops) < 4 or len(ops) % 2 or codes[-1] != Opcode.OP_NUMEQUAL:
        return None
    checks = [Opcode.OP_CHECKSIG] + [Opcode.OP_CHECKSIGADD] * (n - 1)
    k = _small_int(ops[-2])
    if codes[1:-2:2] != checks or any(key(2 * j) is None for j in range(n)) or k is None or not 1 <= k <= n:
        return None
    # The first k signatures in key order; the others stay empty (a failed CHECKSIG must be empty).
    chosen: list[bytes] = []
    for j in range(n):
        found = sig(2 * j)
        chosen.append(found if found is not None and sum(map(bool, chosen)) < k else b"")
    if sum(map(bool, chosen)) < k:
        return None
    return chosen[::-1]  # the first key's CHECKSIG pops the top of the stack: the last element


def _taproot_script_path(inp: PsbtInput) -> tuple[bytes, ...] | None:
    """Witness for a script-path spend, smallest control block first, over the leaf templates
    `_leaf_witness` knows."""
    for cb, (script, ver) in sorted(inp.tap_leaf_scripts.items(), key=lambda kv: (len(kv[0]), kv[0])):
        if ver != TAPROOT_LEAF_TAPSCRIPT:
            continue
        stack = _leaf_witness(inp, script, tapleaf_hash(script, ver))
        if stack is not None:
            return (*stack, script, cb)
    return None


def finalize_psbt(psbt: Psbt) -> bool:
    """Input Finalizer: finalize every input it can (P2PKH, P2WPKH, P2SH-P2WPKH, multisig in P2SH,
    P2WSH or P2SH-P2WSH, taproot key path; taproot leaves `pk(K)`, `multi_a(k,...)` and
    `and_v(v:pk(K),older(N))`). True if all are final."""
    complete = True
    for i, inp in enumerate(psbt.inputs):
        if not inp.is_finalized():
            complete = _finalize_input(psbt, i) and complete
    return complete


def extract_transaction(psbt: Psbt, flags: int = STANDARD_SCRIPT_VERIFY_FLAGS) -> Transaction:
    """Transaction Extractor: the network transaction, after checking every input verifies."""
    vin: list[TxIn] = []
    spent: list[TxOut] = []
    for i, (txin, inp) in enumerate(zip(psbt.tx.vin, psbt.inputs, strict=True)):
        if not inp.is_finalized():
            raise PsbtError(f"input {i} is not finalized")
        utxo = psbt.spent_output(i)
        if utxo is None:
            raise PsbtError(f"input {i} has no UTXO to verify the transaction against")
        spent.append(utxo)
        vin.append(replace(txin, script_sig=inp.final_script_sig or b"", witness=inp.final_script_witness or ()))
    tx = Transaction(psbt.tx.version, tuple(vin), psbt.tx.vout, psbt.tx.locktime)
    txdata = PrecomputedTxData(tx, spent)
    for i in range(len(vin)):
        err = verify_input(tx, i, spent, flags, txdata)
        if err is not None:
            raise PsbtError(f"input {i} does not verify: {err.name}")
    return tx
