"""Spending the trade escrow with embit alone (recoverability without this app).

From nothing but the exported descriptor text and the traders' BIP39 words, embit parses the
descriptor, derives the output script, the leaf scripts and their control blocks, derives the trade
keys at m/86'/coin'/1000'/0/index, builds the spending transaction, signs the script path with its
own BIP341/342 sighash code (`PSBT.sign_input_with_tapkey`) and we only lay out the witness stack
(embit's finalizer does not know multi_a). No code of this project is used here.
"""

from __future__ import annotations

from embit import bip32, bip39
from embit.descriptor import Descriptor
from embit.descriptor.taptree import _tweak_helper
from embit.ec import PrivateKey
from embit.hashes import tagged_hash
from embit.psbt import PSBT
from embit.script import Script, Witness
from embit.transaction import Transaction, TransactionInput, TransactionOutput
from embit.util import secp256k1

LEAF_VERSION = 0xC0


def trade_key(words: str, index: int, coin: int = 1) -> PrivateKey:
    """The trade key at m/86'/coin'/1000'/0/index of a BIP39 mnemonic (no passphrase)."""
    root = bip32.HDKey.from_seed(bip39.mnemonic_to_seed(words))
    return root.derive(f"m/86h/{coin}h/1000h/0/{index}").key


def escrow_leaves(descriptor: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """(output script, [(leaf script, control block)] in tree order) computed by embit."""
    desc = Descriptor.from_string(descriptor)
    internal = desc.key.get_public_key().xonly()
    leaves, root = _tweak_helper(desc.taptree)
    tweak = tagged_hash("TapTweak", internal + root)
    output = secp256k1.ec_pubkey_serialize(secp256k1.ec_pubkey_add(secp256k1.ec_pubkey_parse(b"\x02" + internal), tweak))
    parity = output[0] & 1
    out = []
    for leaf, path in leaves:
        script = leaf.miniscript.compile()
        out.append((script, bytes([LEAF_VERSION | parity]) + internal + path))
    return desc.script_pubkey().data, out


def spend_escrow(
    descriptor: str,
    txid_hex: str,
    vout: int,
    value: int,
    dest_spk: bytes,
    fee: int,
    keys: list[PrivateKey],
    leaf: int,
    sequence: int,
) -> bytes:
    """A signed raw transaction spending the escrow output (`txid_hex`:`vout` of `value` sats) to
    `dest_spk` along leaf `leaf` (0 = multi_a, 1 = the refund leaf), signed by `keys`."""
    spk, leaves = escrow_leaves(descriptor)
    script, control = leaves[leaf]
    tx = Transaction(
        version=2,
        vin=[TransactionInput(bytes.fromhex(txid_hex), vout, sequence=sequence)],
        vout=[TransactionOutput(value - fee, Script(dest_spk))],
        locktime=0,
    )
    psbt = PSBT(tx)
    psbt.inputs[0].witness_utxo = TransactionOutput(value, Script(spk))
    psbt.inputs[0].taproot_scripts[control] = script + bytes([LEAF_VERSION])
    for key in keys:
        assert psbt.sign_input_with_tapkey(key, 0) == 1
    sigs = {pub.xonly(): sig for (pub, _leaf), sig in psbt.inputs[0].taproot_sigs.items()}
    if leaf == 0:
        # multi_a: one element per key, last key first; empty for keys that do not sign.
        xonlys = [script[i + 1 : i + 33] for i in range(0, len(script) - 2, 34)]
        stack = [sigs.get(x, b"") for x in reversed(xonlys)]
    else:
        stack = list(sigs.values())
    signed = psbt.tx
    signed.vin[0].witness = Witness([*stack, script, control])
    return signed.serialize()
