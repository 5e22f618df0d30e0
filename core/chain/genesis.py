"""Genesis blocks, built the way Core's CreateGenesisBlock builds them (kernel/chainparams.cpp)."""

from __future__ import annotations

from core.consensus.block import Block, BlockHeader, merkle_root
from core.consensus.hashes import BlockHash
from core.consensus.tx import NULL_OUTPOINT, Transaction, TxIn, TxOut

COIN = 100_000_000

#: The headline Satoshi put in the first coinbase; reused by mainnet, testnet3, signet and regtest.
TIMES_HEADLINE = b"The Times 03/Jan/2009 Chancellor on brink of second bailout for banks"
#: The uncompressed public key the mainnet genesis output pays to.
SATOSHI_PUBKEY = bytes.fromhex(
    "04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f"
)
TESTNET4_MESSAGE = b"03/May/2024 000000000000000000001ebd58c244970b3aa9d783bb001011fbe8ea8e98e00e"
#: Testnet4's genesis output pays to 33 zero bytes (an unspendable "key").
TESTNET4_PUBKEY = bytes(33)

_OP_PUSHDATA1 = 0x4C
_OP_CHECKSIG = b"\xac"


def _push(data: bytes) -> bytes:
    # Minimal push as CScript's operator<< emits it (the genesis data never exceeds 255 bytes).
    if len(data) < _OP_PUSHDATA1:
        return bytes((len(data),)) + data
    return bytes((_OP_PUSHDATA1, len(data))) + data


def create_genesis_block(
    message: bytes, output_key: bytes, time: int, nonce: int, bits: int, version: int = 1, reward: int = 50 * COIN
) -> Block:
    """Core's CreateGenesisBlock: one coinbase whose scriptSig is
    `<486604799> <CScriptNum(4)> <message>` paying `reward` to `<output_key> OP_CHECKSIG`."""
    # 486604799 == 0x1d00ffff serializes as the 4-byte little-endian push ffff001d; CScriptNum(4) as 01 04.
    script_sig = _push((486604799).to_bytes(4, "little")) + _push(b"\x04") + _push(message)
    coinbase = Transaction(
        version=1,
        vin=(TxIn(NULL_OUTPOINT, script_sig),),
        vout=(TxOut(reward, _push(output_key) + _OP_CHECKSIG),),
        locktime=0,
    )
    root, _ = merkle_root([coinbase.txid])
    header = BlockHeader(version, BlockHash(), root, time, bits, nonce)
    return Block(header, (coinbase,))
