"""BIP84 and BIP86 test vectors, copied from the BIP texts (bip-0084.mediawiki, bip-0086.mediawiki):
from the "abandon ... about" mnemonic to root and account keys and the first addresses."""

from __future__ import annotations

import pytest

from core.consensus.hashes import hash160
from core.consensus.network import MAINNET
from core.crypto.taproot import taproot_tweak_pubkey
from core.crypto.wif import encode_wif
from core.script.address import script_to_address, witness_script
from core.wallet.bip32 import ExtendedKey, Slip132
from core.wallet.bip39 import mnemonic_to_seed

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"


@pytest.fixture(scope="module")
def root() -> ExtendedKey:
    return ExtendedKey.from_seed(mnemonic_to_seed(MNEMONIC))


# --- BIP84 ---------------------------------------------------------------------------------------

BIP84_ROOT = (
    "zprvAWgYBBk7JR8Gjrh4UJQ2uJdG1r3WNRRfURiABBE3RvMXYSrRJL62XuezvGdPvG6GFBZduosCc1YP5wixPox7zhZLfiUm8aunE96BBa4Kei5",
    "zpub6jftahH18ngZxLmXaKw3GSZzZsszmt9WqedkyZdezFtWRFBZqsQH5hyUmb4pCEeZGmVfQuP5bedXTB8is6fTv19U1GQRyQUKQGUTzyHACMF",
)
BIP84_ACCOUNT = (
    "zprvAdG4iTXWBoARxkkzNpNh8r6Qag3irQB8PzEMkAFeTRXxHpbF9z4QgEvBRmfvqWvGp42t42nvgGpNgYSJA9iefm1yYNZKEm7z6qUWCroSQnE",
    "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs",
)
# (path, WIF private key, public key, address)
BIP84_ADDRESSES = [
    (
        "m/84h/0h/0h/0/0",
        "KyZpNDKnfs94vbrwhJneDi77V6jF64PWPF8x5cdJb8ifgg2DUc9d",
        "0330d54fd0dd420a6e5f8d3624f5f3482cae350f79d5f0753bf5beef9c2d91af3c",
        "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
    ),
    (
        "m/84h/0h/0h/0/1",
        "Kxpf5b8p3qX56DKEe5NqWbNUP9MnqoRFzZwHRtsFqhzuvUJsYZCy",
        "03e775fd51f0dfb8cd865d9ff1cca2a158cf651fe997fdc9fee9c1d3b5e995ea77",
        "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g",
    ),
    (
        "m/84h/0h/0h/1/0",
        "KxuoxufJL5csa1Wieb2kp29VNdn92Us8CoaUG3aGtPtcF3AzeXvF",
        "03025324888e429ab8e3dbaf1f7802648b9cd01e9b418485c5fa4c1b9b5700e1a6",
        "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el",
    ),
]


def test_bip84_root(root: ExtendedKey) -> None:
    zprv, zpub = BIP84_ROOT
    assert root.to_string(MAINNET, Slip132.P2WPKH) == zprv
    assert root.neuter().to_string(MAINNET, Slip132.P2WPKH) == zpub


def test_bip84_account(root: ExtendedKey) -> None:
    zprv, zpub = BIP84_ACCOUNT
    account = root.derive_path("m/84'/0'/0'")
    assert account.to_string(MAINNET, Slip132.P2WPKH) == zprv
    assert account.neuter().to_string(MAINNET, Slip132.P2WPKH) == zpub
    parsed, version = ExtendedKey.parse(zpub)
    assert parsed == account.neuter() and version.slip132 is Slip132.P2WPKH


@pytest.mark.parametrize(("path", "wif", "pubkey", "address"), BIP84_ADDRESSES, ids=[a[0] for a in BIP84_ADDRESSES])
def test_bip84_address(root: ExtendedKey, path: str, wif: str, pubkey: str, address: str) -> None:
    key = root.derive_path(path)
    assert encode_wif(key.secret, MAINNET) == wif
    assert key.pubkey.hex() == pubkey
    # The watch-only path: account zpub, then public derivation of chain/index.
    account = ExtendedKey.parse(BIP84_ACCOUNT[1])[0]
    assert account.derive_path(path.split("/", 4)[4]).pubkey == key.pubkey
    assert script_to_address(witness_script(0, hash160(key.pubkey)), MAINNET) == address


# --- BIP86 ---------------------------------------------------------------------------------------

BIP86_ROOT = (
    "xprv9s21ZrQH143K3GJpoapnV8SFfukcVBSfeCficPSGfubmSFDxo1kuHnLisriDvSnRRuL2Qrg5ggqHKNVpxR86QEC8w35uxmGoggxtQTPvfUu",
    "xpub661MyMwAqRbcFkPHucMnrGNzDwb6teAX1RbKQmqtEF8kK3Z7LZ59qafCjB9eCRLiTVG3uxBxgKvRgbubRhqSKXnGGb1aoaqLrpMBDrVxga8",
)
BIP86_ACCOUNT = (
    "xprv9xgqHN7yz9MwCkxsBPN5qetuNdQSUttZNKw1dcYTV4mkaAFiBVGQziHs3NRSWMkCzvgjEe3n9xV8oYywvM8at9yRqyaZVz6TYYhX98VjsUk",
    "xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ",
)
# (path, xprv, xpub, internal key, output key, scriptPubKey, address)
BIP86_ADDRESSES = [
    (
        "m/86h/0h/0h/0/0",
        "xprvA449goEeU9okwCzzZaxiy475EQGQzBkc65su82nXEvcwzfSskb2hAt2WymrjyRL6kpbVTGL3cKtp9herYXSjjQ1j4stsXXiRF7kXkCacK3T",
        "xpub6H3W6JmYJXN49h5TfcVjLC3onS6uPeUTTJoVvRC8oG9vsTn2J8LwigLzq5tHbrwAzH9DGo6ThGUdWsqce8dGfwHVBxSbixjDADGGdzF7t2B",
        "cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115",
        "a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
        "5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
        "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
    ),
    (
        "m/86h/0h/0h/0/1",
        "xprvA449goEeU9okyiF1LmKiDaTgeXvmh87DVyRd35VPbsSop8n8uALpbtrUhUXByPFKK7C2yuqrB1FrhiDkEMC4RGmA5KTwsE1aB5jRu9zHsuQ",
        "xpub6H3W6JmYJXN4CCKUSnriaiQRCZmG6aq4sCMDqTu1ACyngw7HShf59hAxYjXgKDuuHThVEUzdHrc3aXCr9kfvQvZPit5dnD3K9xVRBzjK3rX",
        "83dfe85a3151d2517290da461fe2815591ef69f2b18a2ce63f01697a8b313145",
        "a82f29944d65b86ae6b5e5cc75e294ead6c59391a1edc5e016e3498c67fc7bbb",
        "5120a82f29944d65b86ae6b5e5cc75e294ead6c59391a1edc5e016e3498c67fc7bbb",
        "bc1p4qhjn9zdvkux4e44uhx8tc55attvtyu358kutcqkudyccelu0was9fqzwh",
    ),
    (
        "m/86h/0h/0h/1/0",
        "xprvA3Ln3Gt3aphvUgzgEDT8vE2cYqb4PjFfpmbiFKphxLg1FjXQpkAk5M1ZKDY15bmCAHA35jTiawbFuwGtbDZogKF1WfjwxML4gK7WfYW5JRP",
        "xpub6GL8SnQwRCGDhB59LEz9HMyM6sRYoByXBzXK3iEKWgCz8XrZNHUzd9L3AUBELW5NzA7dEFvMas1F84TuPH3xqdUA5tumaGWFgihJzWytXe3",
        "399f1b2f4393f29a18c937859c5dd8a77350103157eb880f02e8c08214277cef",
        "882d74e5d0572d5a816cef0041a96b6c1de832f6f9676d9605c44d5e9a97d3dc",
        "5120882d74e5d0572d5a816cef0041a96b6c1de832f6f9676d9605c44d5e9a97d3dc",
        "bc1p3qkhfews2uk44qtvauqyr2ttdsw7svhkl9nkm9s9c3x4ax5h60wqwruhk7",
    ),
]


def test_bip86_root(root: ExtendedKey) -> None:
    xprv, xpub = BIP86_ROOT
    assert root.to_string(MAINNET) == xprv
    assert root.neuter().to_string(MAINNET) == xpub


def test_bip86_account(root: ExtendedKey) -> None:
    xprv, xpub = BIP86_ACCOUNT
    account = root.derive_path("m/86'/0'/0'")
    assert account.to_string(MAINNET) == xprv
    assert account.neuter().to_string(MAINNET) == xpub


@pytest.mark.parametrize(
    ("path", "xprv", "xpub", "internal_key", "output_key", "script_pubkey", "address"),
    BIP86_ADDRESSES,
    ids=[a[0] for a in BIP86_ADDRESSES],
)
def test_bip86_address(
    root: ExtendedKey,
    path: str,
    xprv: str,
    xpub: str,
    internal_key: str,
    output_key: str,
    script_pubkey: str,
    address: str,
) -> None:
    key = root.derive_path(path)
    assert key.to_string(MAINNET) == xprv
    assert key.neuter().to_string(MAINNET) == xpub
    account = ExtendedKey.parse(BIP86_ACCOUNT[1])[0]
    assert account.derive_path(path.split("/", 4)[4]).pubkey == key.pubkey
    internal = key.pubkey[1:]  # x-only: drop the parity prefix
    assert internal.hex() == internal_key
    output, _parity = taproot_tweak_pubkey(internal, None)  # BIP86: no script tree
    assert output.hex() == output_key
    spk = witness_script(1, output)
    assert spk.hex() == script_pubkey
    assert script_to_address(spk, MAINNET) == address
