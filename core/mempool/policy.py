"""Standardness: Bitcoin Core's relay policy (src/policy/policy.{h,cpp}), as of Core master.

Constants carry Core master's names and values: version 3 (TRUC) is standard, the relay floors are
100 sat/kvB, OP_RETURN outputs share one 100,000-byte budget per transaction, one dust output is
tolerated by IsStandardTx (ephemeral dust, which PreChecks then restricts to zero-fee transactions),
and the BIP54 cap of 2,500 potentially executed legacy sigops applies.

Functions return a reject reason string (Core's) or None, or a bool where Core's function is a
predicate and the caller supplies the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.consensus.serialize import ser_var_bytes
from core.consensus.tx import WITNESS_SCALE_FACTOR, Transaction, TxOut
from core.mempool.feerate import FeeRate
from core.script.interpreter import ANNEX_TAG
from core.script.opcodes import MAX_SCRIPT_ELEMENT_SIZE
from core.script.script import (
    OP_0,
    OP_1,
    OP_1NEGATE,
    OP_16,
    count_p2sh_sigops,
    count_sigops,
    get_op,
    is_p2sh,
    is_push_only,
    is_unspendable,
    witness_program,
)
from core.script.standard import TxoutType, solve
from core.validation.utxo import Coin

# --- Core master's policy.h ------------------------------------------------------------------------
TX_MIN_STANDARD_VERSION = 1
TX_MAX_STANDARD_VERSION = 3
MAX_STANDARD_TX_WEIGHT = 400_000
#: One larger than 64: a 64-byte transaction could pass for an inner merkle node (CVE-2017-12842).
MIN_STANDARD_TX_NONWITNESS_SIZE = 65
MAX_P2SH_SIGOPS = 15
MAX_STANDARD_TX_SIGOPS_COST = 80_000 // 5
MAX_TX_LEGACY_SIGOPS = 2_500
DEFAULT_INCREMENTAL_RELAY_FEE = 100  # sat/kvB
DEFAULT_BYTES_PER_SIGOP = 20
DEFAULT_PERMIT_BAREMULTISIG = True
MAX_STANDARD_P2WSH_STACK_ITEMS = 100
MAX_STANDARD_P2WSH_STACK_ITEM_SIZE = 80
MAX_STANDARD_TAPSCRIPT_STACK_ITEM_SIZE = 80
MAX_STANDARD_P2WSH_SCRIPT_SIZE = 3600
MAX_STANDARD_SCRIPTSIG_SIZE = 1650
DUST_RELAY_TX_FEE = 3000  # sat/kvB: 3 sat/vB
DEFAULT_MIN_RELAY_TX_FEE = 100  # sat/kvB: 0.1 sat/vB
DEFAULT_ANCESTOR_LIMIT = 25
DEFAULT_ANCESTOR_SIZE_LIMIT_KVB = 101
DEFAULT_DESCENDANT_LIMIT = 25
DEFAULT_DESCENDANT_SIZE_LIMIT_KVB = 101
MAX_OP_RETURN_RELAY = MAX_STANDARD_TX_WEIGHT // WITNESS_SCALE_FACTOR
MAX_DUST_OUTPUTS_PER_TX = 1
DEFAULT_BLOCK_MIN_TX_FEE = 1  # sat/kvB: the miner's floor (-blockmintxfee)

MIN_RELAY_FEE_RATE = FeeRate.per_kvb(DEFAULT_MIN_RELAY_TX_FEE)
INCREMENTAL_RELAY_FEE_RATE = FeeRate.per_kvb(DEFAULT_INCREMENTAL_RELAY_FEE)
DUST_RELAY_FEE_RATE = FeeRate.per_kvb(DUST_RELAY_TX_FEE)
BLOCK_MIN_FEE_RATE = FeeRate.per_kvb(DEFAULT_BLOCK_MIN_TX_FEE)

_TAPROOT_LEAF_MASK = 0xFE
_TAPROOT_LEAF_TAPSCRIPT = 0xC0
_P2A_SCRIPT = bytes((OP_1, 2, 0x4E, 0x73))


def virtual_size(weight: int, sigop_cost: int = 0, bytes_per_sigop: int = DEFAULT_BYTES_PER_SIGOP) -> int:
    """Core's GetVirtualTransactionSize: weight (or sigops x bytes_per_sigop if larger) / 4, rounded up."""
    return (max(weight, sigop_cost * bytes_per_sigop) + WITNESS_SCALE_FACTOR - 1) // WITNESS_SCALE_FACTOR


# --- dust --------------------------------------------------------------------------------------------
def dust_threshold(txout: TxOut, dust_relay_fee: FeeRate) -> int:
    """Core's GetDustThreshold: the fee, at `dust_relay_fee`, of the output plus the input spending it.

    546 sat for P2PKH and 294 sat for P2WPKH at the default 3 sat/vB; unspendable outputs are never dust.
    """
    spk = txout.script_pubkey
    if is_unspendable(spk):
        return 0
    size = 8 + len(ser_var_bytes(spk))
    if witness_program(spk) is not None:
        # outpoint, empty scriptSig, sequence and a P2WPKH witness (107 bytes) at a quarter
        size += 32 + 4 + 1 + 107 // WITNESS_SCALE_FACTOR + 4
    else:
        size += 32 + 4 + 1 + 107 + 4
    return dust_relay_fee.fee(size)


def is_dust(txout: TxOut, dust_relay_fee: FeeRate) -> bool:
    return txout.value < dust_threshold(txout, dust_relay_fee)


def get_dust(tx: Transaction, dust_relay_fee: FeeRate) -> list[int]:
    """Indices of the dust outputs of `tx` (Core's GetDust)."""
    return [i for i, out in enumerate(tx.vout) if is_dust(out, dust_relay_fee)]


# --- outputs -----------------------------------------------------------------------------------------
def is_standard(script_pubkey: bytes) -> tuple[bool, TxoutType]:
    """Core's IsStandard: a known template, and bare multisig only up to x-of-3."""
    sol = solve(script_pubkey)
    if sol.type is TxoutType.NONSTANDARD:
        return False, sol.type
    if sol.type is TxoutType.MULTISIG:
        m = sol.solutions[0][0]
        n = sol.solutions[-1][0]
        if not 1 <= n <= 3 or not 1 <= m <= n:
            return False, sol.type
    return True, sol.type


def is_standard_tx(
    tx: Transaction,
    max_datacarrier_bytes: int | None = MAX_OP_RETURN_RELAY,
    permit_bare_multisig: bool = DEFAULT_PERMIT_BAREMULTISIG,
    dust_relay_fee: FeeRate = DUST_RELAY_FEE_RATE,
) -> str | None:
    """Core's IsStandardTx: None if standard, else the reject reason ("version", "tx-size", ...)."""
    if not TX_MIN_STANDARD_VERSION <= tx.version <= TX_MAX_STANDARD_VERSION:
        return "version"
    # Signature hashing is O(inputs x size) for legacy inputs: the weight cap bounds that CPU cost.
    if tx.weight > MAX_STANDARD_TX_WEIGHT:
        return "tx-size"
    for txin in tx.vin:
        if len(txin.script_sig) > MAX_STANDARD_SCRIPTSIG_SIZE:
            return "scriptsig-size"
        if not is_push_only(txin.script_sig):
            return "scriptsig-not-pushonly"
    datacarrier_left = max_datacarrier_bytes or 0
    for out in tx.vout:
        ok, kind = is_standard(out.script_pubkey)
        if not ok:
            return "scriptpubkey"
        if kind is TxoutType.NULL_DATA:
            # All OP_RETURN outputs of a transaction draw on one byte budget.
            if len(out.script_pubkey) > datacarrier_left:
                return "datacarrier"
            datacarrier_left -= len(out.script_pubkey)
        elif kind is TxoutType.MULTISIG and not permit_bare_multisig:
            return "bare-multisig"
    if len(get_dust(tx, dust_relay_fee)) > MAX_DUST_OUTPUTS_PER_TX:
        return "dust"
    return None


# --- inputs ------------------------------------------------------------------------------------------
def push_only_stack(script_sig: bytes) -> list[bytes] | None:
    """The stack a push-only scriptSig leaves (Core's EvalScript with no flags, as policy uses it).

    None where EvalScript would fail or the script is not push-only (then scripts fail later anyway).
    """
    stack: list[bytes] = []
    pc = 0
    while pc < len(script_sig):
        op = get_op(script_sig, pc)
        if op is None:
            return None
        opcode, data, pc = op
        if data is not None:
            if len(data) > MAX_SCRIPT_ELEMENT_SIZE:
                return None
            stack.append(data if opcode != OP_0 else b"")
        elif opcode == OP_1NEGATE:
            stack.append(b"\x81")
        elif OP_1 <= opcode <= OP_16:
            stack.append(bytes((opcode - OP_1 + 1,)))
        else:
            return None
    return stack


def _check_sigops_bip54(tx: Transaction, coins: Sequence[Coin]) -> bool:
    """Core's CheckSigopsBIP54: legacy sigops where they would execute (scriptSig and spent script)."""
    sigops = 0
    for txin, coin in zip(tx.vin, coins, strict=True):
        sigops += count_sigops(txin.script_sig, True)
        sigops += count_p2sh_sigops(coin.txout.script_pubkey, txin.script_sig)
        if sigops > MAX_TX_LEGACY_SIGOPS:
            return False
    return True


def are_inputs_standard(tx: Transaction, coins: Sequence[Coin]) -> bool:
    """Core's AreInputsStandard; `coins[i]` is the coin input i spends."""
    return nonstandard_inputs_reason(tx, coins) is None


def nonstandard_inputs_reason(tx: Transaction, coins: Sequence[Coin]) -> str | None:
    """Why the inputs are not standard (Core's ValidateInputsStandardness debug text), or None.

    The reject reason for any of these is "bad-txns-nonstandard-inputs".
    """
    if tx.is_coinbase():
        return None
    if not _check_sigops_bip54(tx, coins):
        return f"non-witness sigops exceed bip54 limit of {MAX_TX_LEGACY_SIGOPS}"
    for i, (txin, coin) in enumerate(zip(tx.vin, coins, strict=True)):
        kind = solve(coin.txout.script_pubkey).type
        if kind in (TxoutType.NONSTANDARD, TxoutType.WITNESS_UNKNOWN):
            return f"input {i}: script {kind.value}"
        if kind is TxoutType.SCRIPTHASH:
            stack = push_only_stack(txin.script_sig)
            if not stack:
                return f"input {i}: P2SH scriptSig without a redeem script"
            if count_sigops(stack[-1], True) > MAX_P2SH_SIGOPS:
                return f"input {i}: P2SH redeemscript sigops exceed limit"
    return None


def is_witness_standard(tx: Transaction, coins: Sequence[Coin]) -> bool:
    """Core's IsWitnessStandard: P2WSH script and stack limits, no annex, tapscript item sizes."""
    if tx.is_coinbase():
        return True
    for txin, coin in zip(tx.vin, coins, strict=True):
        witness = txin.witness
        if not witness:
            continue
        script = coin.txout.script_pubkey
        if script == _P2A_SCRIPT:
            return False  # witness stuffing on a pay-to-anchor
        p2sh = False
        if is_p2sh(script):
            stack = push_only_stack(txin.script_sig)
            if not stack:
                return False
            script = stack[-1]
            p2sh = True
        prog = witness_program(script)
        if prog is None:
            return False  # a witness for a non-witness input
        version, program = prog
        if version == 0 and len(program) == 32:
            if len(witness[-1]) > MAX_STANDARD_P2WSH_SCRIPT_SIZE:
                return False
            if len(witness) - 1 > MAX_STANDARD_P2WSH_STACK_ITEMS:
                return False
            if any(len(item) > MAX_STANDARD_P2WSH_STACK_ITEM_SIZE for item in witness[:-1]):
                return False
        if version == 1 and len(program) == 32 and not p2sh:
            items = list(witness)
            if len(items) >= 2 and items[-1] and items[-1][0] == ANNEX_TAG:
                return False  # annexes stay non-standard until they have a meaning
            if len(items) >= 2:
                control = items.pop()
                items.pop()  # the leaf script
                if not control:
                    return False
                if control[0] & _TAPROOT_LEAF_MASK == _TAPROOT_LEAF_TAPSCRIPT and any(
                    len(item) > MAX_STANDARD_TAPSCRIPT_STACK_ITEM_SIZE for item in items
                ):
                    return False
    return True
