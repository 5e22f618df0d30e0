"""Benchmark: deriving wallet addresses (BIP84 and BIP86 receive chains from an account xpub).

Each address is a BIP32 public child derivation, the output script, and its bech32/bech32m
encoding — what a restore or a gap-limit extension does for every new index.
"""

from __future__ import annotations

import time

from core.consensus.network import MAINNET
from core.wallet.keychain import Keychain, KeychainKind

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"


def run(count: int = 10_000) -> list[dict]:
    rows = []
    for template in ("bip84", "bip86"):
        chain = Keychain.from_mnemonic(MNEMONIC, template, MAINNET)
        t0 = time.perf_counter()
        addresses = [chain.address(KeychainKind.RECEIVE, i) for i in range(count)]
        elapsed = time.perf_counter() - t0
        assert len(set(addresses)) == count
        rows.append(
            {"metric": f"derive {count:,} {template} receive addresses", "value": round(count / elapsed),
             "unit": "addresses/s", "goal": None, "baseline": None, "ratio": None}
        )
    return rows
