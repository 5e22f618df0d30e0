"""Bitcoin Core's key_io vectors: addresses ⇄ scriptPubKeys and WIF secrets, per chain.

Read in place from ../shared/vectors; one test case per entry. Mirrors Core's key_io_tests.cpp:
a valid address decodes to its script and re-encodes; its case-flipped form is valid exactly when
`tryCaseFlip` is set; an address is never a WIF and a WIF never an address. Invalid strings must
fail both ways on every network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.consensus.network import ALL_NETWORKS, Network, network_by_name
from core.crypto.errors import AddressError, CryptoError
from core.crypto.wif import decode_wif, encode_wif
from core.script.address import address_to_script, decode_address, script_to_address

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
VALID = json.loads((VECTORS / "core_key_io_valid.json").read_text(encoding="utf-8"))
INVALID = json.loads((VECTORS / "core_key_io_invalid.json").read_text(encoding="utf-8"))

#: Core's chain names as they appear in the files (and "test" = testnet3, should it appear).
CHAINS = {"main": "main", "test": "test", "testnet4": "testnet4", "signet": "signet", "regtest": "regtest"}


def _net(meta: dict[str, Any]) -> Network:
    return network_by_name(CHAINS[meta["chain"]])


def _flip_case(s: str) -> str:
    return s.swapcase()


def _fails_as_address(text: str, network: Network) -> bool:
    try:
        address_to_script(text, network)
    except AddressError:
        return True
    return False


def _fails_as_wif(text: str, network: Network) -> bool:
    try:
        decode_wif(text, network)
    except CryptoError:
        return True
    return False


@pytest.mark.parametrize("entry", VALID, ids=[f"valid{i}-{e[2]['chain']}" for i, e in enumerate(VALID)])
def test_valid(entry: list[Any]) -> None:
    text, payload_hex, meta = entry
    net = _net(meta)
    if meta["isPrivkey"]:
        key = decode_wif(text, net)
        assert key.secret.hex() == payload_hex
        assert key.compressed == meta["isCompressed"]
        assert encode_wif(key.secret, net, key.compressed) == text
        assert _fails_as_address(text, net)
        return
    spk = address_to_script(text, net)
    assert spk.hex() == payload_hex
    assert script_to_address(spk, net) == text
    found_net, found_spk = decode_address(text)
    # Test networks share base58 prefixes, so decode_address may name a sibling network.
    assert found_spk == spk and found_net.is_test == net.is_test
    assert _fails_as_wif(text, net)
    flipped = _flip_case(text)
    if meta.get("tryCaseFlip", False):
        assert address_to_script(flipped, net) == spk
    else:
        assert _fails_as_address(flipped, net)


@pytest.mark.parametrize("entry", INVALID, ids=[f"invalid{i}" for i in range(len(INVALID))])
def test_invalid(entry: list[str]) -> None:
    (text,) = entry
    for net in ALL_NETWORKS:
        assert _fails_as_address(text, net), net.name
        assert _fails_as_wif(text, net), net.name
    with pytest.raises(AddressError):
        decode_address(text)
