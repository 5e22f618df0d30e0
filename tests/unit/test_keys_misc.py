"""WIF, base58check and network registry edge cases."""

from __future__ import annotations

import pytest

from core.consensus.errors import ConsensusError
from core.consensus.network import ALL_NETWORKS, MAINNET, REGTEST, SANDBOX, TESTNET, network_by_name
from core.crypto.base58 import b58check_decode, b58check_encode, b58decode
from core.crypto.errors import Base58Error, InvalidKey
from core.crypto.wif import decode_wif, encode_wif

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
KEY = bytes.fromhex("0c28fca386c7a227600b2fe50b7cae11ec86d3bf1fbe471be89827e19d72aa1d")


def test_wif_known_mainnet_key() -> None:
    """The widely documented WIF example key."""
    assert encode_wif(KEY, MAINNET, compressed=False) == "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ"
    key = decode_wif("5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ", MAINNET)
    assert key.secret == KEY and not key.compressed and key.network is MAINNET


def test_wif_wrong_network_message() -> None:
    wif = encode_wif(KEY, TESTNET)
    with pytest.raises(InvalidKey, match="wrong network: this is a testnet private key"):
        decode_wif(wif, MAINNET)
    with pytest.raises(InvalidKey, match="wrong network: this is a mainnet private key"):
        decode_wif(encode_wif(KEY, MAINNET), REGTEST)


@pytest.mark.parametrize(
    ("payload", "error"),
    [(b"\x80" + KEY + b"\x02", InvalidKey), (b"\x80" + KEY[:31], InvalidKey), (b"\x80" + KEY + b"\x01\x01", Base58Error),
     (b"\x80" + bytes(32), InvalidKey), (b"\x80" + N.to_bytes(32, "big") + b"\x01", InvalidKey), (b"\x42" + KEY, InvalidKey)],
    ids=["bad-flag", "short", "too-long-for-base58check", "zero", "order", "unknown-version"],
)  # fmt: skip
def test_wif_rejects(payload: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_wif(b58check_encode(payload), MAINNET)


def test_wif_encode_rejects_bad_secret() -> None:
    with pytest.raises(InvalidKey):
        encode_wif(bytes(32), MAINNET)


def test_base58check_errors() -> None:
    good = b58check_encode(b"\x00" + bytes(20))
    assert b58check_decode(good) == b"\x00" + bytes(20)
    with pytest.raises(Base58Error, match="checksum"):
        b58check_decode(good[:-1] + ("2" if good[-1] != "2" else "3"))
    with pytest.raises(Base58Error, match="character"):
        b58decode("0OIl")
    with pytest.raises(Base58Error):
        b58check_decode("1")
    with pytest.raises(Base58Error):
        b58check_decode(good, max_len=20)
    with pytest.raises(Base58Error):
        b58decode("z" * 1000, max_len=100)


def test_network_registry() -> None:
    assert [n.name for n in ALL_NETWORKS] == ["main", "test", "testnet4", "signet", "regtest", "sandbox"]
    assert network_by_name("testnet4").bech32_hrp == "tb"
    assert SANDBOX.bech32_hrp == REGTEST.bech32_hrp == "bcrt" and SANDBOX != REGTEST
    assert MAINNET.ext_public_key_prefix.hex() == "0488b21e" and TESTNET.ext_secret_key_prefix.hex() == "04358394"
    with pytest.raises(ConsensusError):
        network_by_name("litecoin")
