"""BIP341 wallet vectors, `scriptPubKey` section, read in place; one test case per entry.

Checks leaf hashes, merkle root, tweak, tweaked key, scriptPubKey, BIP350 address and every
control block (which must also pass Core's VerifyTaprootCommitment).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.consensus.network import MAINNET
from core.crypto.taproot import taproot_info, tree_from_json, verify_taproot_commitment
from core.script.address import address_to_script, script_to_address

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
ENTRIES = json.loads((VECTORS / "bip341_wallet_vectors.json").read_text(encoding="utf-8"))["scriptPubKey"]


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"spk{i}" for i in range(len(ENTRIES))])
def test_bip341_script_pubkey(entry: dict[str, Any]) -> None:
    given, inter, expected = entry["given"], entry["intermediary"], entry["expected"]
    tree = None if given["scriptTree"] is None else tree_from_json(given["scriptTree"])
    info = taproot_info(bytes.fromhex(given["internalPubkey"]), tree)

    root = info.merkle_root.hex() if info.merkle_root is not None else None
    assert root == inter["merkleRoot"]
    assert info.tweak.hex() == inter["tweak"]
    assert info.output_key.hex() == inter["tweakedPubkey"]
    assert info.script_pubkey.hex() == expected["scriptPubKey"]
    assert script_to_address(info.script_pubkey, MAINNET) == expected["bip350Address"]
    assert address_to_script(expected["bip350Address"], MAINNET) == info.script_pubkey

    # Leaf hashes and control blocks are listed by leaf id.
    by_id = {leaf.leaf.id: (leaf, cb) for leaf, cb in info.control_blocks()}
    assert len(by_id) == len(info.leaves) == len(inter.get("leafHashes", []))
    for leaf_id, leaf_hash in enumerate(inter.get("leafHashes", [])):
        assert by_id[leaf_id][0].leaf_hash.hex() == leaf_hash
    for leaf_id, control in enumerate(expected.get("scriptPathControlBlocks", [])):
        leaf, cb = by_id[leaf_id]
        assert cb.hex() == control
        assert verify_taproot_commitment(cb, info.output_key, leaf.leaf_hash)
