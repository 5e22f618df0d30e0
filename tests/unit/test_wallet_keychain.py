"""Keychain: BIP84/BIP86 template addresses for "abandon ... about", watch-only forms, gap window growth."""

from __future__ import annotations

import pytest

from core.consensus.network import MAINNET, REGTEST
from core.wallet.errors import DescriptorError
from core.wallet.keychain import Keychain, KeychainKind

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
R, C = KeychainKind.RECEIVE, KeychainKind.CHANGE

# First receive and change addresses from the BIP84 and BIP86 texts.
BIP_ADDRESSES = {
    "bip84": (
        ["bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g"],
        "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el",
    ),
    "bip86": (
        [
            "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
            "bc1p4qhjn9zdvkux4e44uhx8tc55attvtyu358kutcqkudyccelu0was9fqzwh",
        ],
        "bc1p3qkhfews2uk44qtvauqyr2ttdsw7svhkl9nkm9s9c3x4ax5h60wqwruhk7",
    ),
}


@pytest.mark.parametrize("template", sorted(BIP_ADDRESSES))
def test_template_addresses_match_bip_vectors(template: str) -> None:
    kc = Keychain.from_mnemonic(MNEMONIC, template, MAINNET)
    receive, change = BIP_ADDRESSES[template]
    assert [kc.address(R, i) for i in range(len(receive))] == receive
    assert kc.address(C, 0) == change
    purpose = template[3:]
    assert f"[73c5da0a/{purpose}h/0h/0h]xpub" in str(kc.descriptor(R))
    assert str(kc.descriptor(R)).split("#")[0].endswith("/0/*)")
    assert str(kc.descriptor(C)).split("#")[0].endswith("/1/*)")


def test_test_networks_use_coin_type_one() -> None:
    kc = Keychain.from_mnemonic(MNEMONIC, "bip84", REGTEST)
    assert "/84h/1h/0h]tpub" in str(kc.descriptor(R))
    assert kc.address(R, 0).startswith("bcrt1q")


def test_watch_only_xpub_and_descriptor_forms_agree() -> None:
    full = Keychain.from_mnemonic(MNEMONIC, "bip84", MAINNET)
    xpub = str(full.descriptor(R)).split("]")[1].split("/")[0]
    watch = Keychain.from_xpub(xpub, "bip84", MAINNET)
    assert list(watch.scripts()) == list(full.scripts())
    again = Keychain.from_descriptors(str(full.descriptor(R)), str(full.descriptor(C)), MAINNET)
    assert again.scripts() == full.scripts()


def test_passphrase_changes_keys() -> None:
    a = Keychain.from_mnemonic(MNEMONIC, "bip84", MAINNET)
    b = Keychain.from_mnemonic(MNEMONIC, "bip84", MAINNET, passphrase="TREZOR")
    assert a.script_pubkey(R, 0) != b.script_pubkey(R, 0)


def test_gap_window_grows_with_use() -> None:
    kc = Keychain.from_mnemonic(MNEMONIC, "bip84", MAINNET, gap_limit=20)
    assert kc.derived(R) == kc.derived(C) == 20 and len(kc.scripts()) == 40
    beyond = kc.script_pubkey(R, 25)
    assert kc.index_of(beyond) is None
    assert kc.index_of(kc.script_pubkey(C, 19)) == (C, 19)
    assert kc.mark_used(kc.script_pubkey(R, 5)) is True
    assert kc.derived(R) == 26 and kc.last_used(R) == 5 and kc.derived(C) == 20
    assert kc.index_of(beyond) == (R, 25)
    # Using an earlier index, or an unknown script, changes nothing.
    before = kc.scripts()
    assert kc.mark_used(kc.script_pubkey(R, 2)) is False
    assert kc.mark_used(b"\x00\x14" + bytes(20)) is False
    assert kc.scripts() is before
    assert kc.mark_used(beyond) is True and kc.derived(R) == 46 and len(kc.scripts()) == 66


def test_bad_inputs_raise_descriptor_error() -> None:
    with pytest.raises(DescriptorError):
        Keychain.from_mnemonic(MNEMONIC, "bip49", MAINNET)
    kc = Keychain.from_mnemonic(MNEMONIC, "bip84", MAINNET)
    with pytest.raises(DescriptorError):
        Keychain(kc.descriptor(R), kc.descriptor(C), MAINNET, gap_limit=0)
    with pytest.raises(DescriptorError):
        Keychain.from_descriptors("wpkh(0330d54fd0dd420a6e5f8d3624f5f3482cae350f79d5f0753bf5beef9c2d91af3c)", str(kc.descriptor(C)), MAINNET)
