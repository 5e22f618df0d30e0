"""Chain parameters per network (Core's CChainParams), passed explicitly, never held globally.

For now a `Network` carries what keys and addresses need: base58 prefixes, the bech32 HRP and
the BIP32 extended-key version bytes. Magic bytes, ports and genesis data belong here too and
will be added as further fields of the same frozen dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.consensus.errors import ConsensusError


@dataclass(frozen=True, slots=True)
class Network:
    """One chain's parameters. `name` is Core's chain type string ("main", "test", ...)."""

    name: str
    #: Core's Base58Prefix(PUBKEY_ADDRESS): version byte of P2PKH addresses.
    pubkey_address_prefix: bytes
    #: Core's Base58Prefix(SCRIPT_ADDRESS): version byte of P2SH addresses.
    script_address_prefix: bytes
    #: Core's Base58Prefix(SECRET_KEY): version byte of WIF private keys.
    secret_key_prefix: bytes
    #: Core's Bech32HRP(): human-readable part of segwit addresses.
    bech32_hrp: str
    #: Core's Base58Prefix(EXT_PUBLIC_KEY): BIP32 xpub/tpub version bytes.
    ext_public_key_prefix: bytes
    #: Core's Base58Prefix(EXT_SECRET_KEY): BIP32 xprv/tprv version bytes.
    ext_secret_key_prefix: bytes
    #: True for every network whose coins have no value (shares the testnet base58 prefixes).
    is_test: bool = True

    def __str__(self) -> str:
        return self.name


_TEST_EXT_PUB = bytes.fromhex("043587cf")
_TEST_EXT_PRV = bytes.fromhex("04358394")

MAINNET = Network(
    name="main",
    pubkey_address_prefix=b"\x00",
    script_address_prefix=b"\x05",
    secret_key_prefix=b"\x80",
    bech32_hrp="bc",
    ext_public_key_prefix=bytes.fromhex("0488b21e"),
    ext_secret_key_prefix=bytes.fromhex("0488ade4"),
    is_test=False,
)


def _test_network(name: str, hrp: str) -> Network:
    # Every test network shares testnet's base58 prefixes and extended-key versions.
    return Network(
        name=name,
        pubkey_address_prefix=b"\x6f",
        script_address_prefix=b"\xc4",
        secret_key_prefix=b"\xef",
        bech32_hrp=hrp,
        ext_public_key_prefix=_TEST_EXT_PUB,
        ext_secret_key_prefix=_TEST_EXT_PRV,
    )


TESTNET = _test_network("test", "tb")
TESTNET4 = _test_network("testnet4", "tb")
SIGNET = _test_network("signet", "tb")
REGTEST = _test_network("regtest", "bcrt")
#: Peerwallet's local sandbox chain; uses regtest's address prefixes.
SANDBOX = _test_network("sandbox", "bcrt")

#: Every known network, in the order lookups that try them all use.
ALL_NETWORKS: tuple[Network, ...] = (MAINNET, TESTNET, TESTNET4, SIGNET, REGTEST, SANDBOX)

_BY_NAME = {n.name: n for n in ALL_NETWORKS}


def network_by_name(name: str) -> Network:
    """The network with Core's chain type string `name` ("main", "test", "testnet4", "signet", "regtest")
    or "sandbox". Raises ConsensusError for an unknown name."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConsensusError(f"unknown network {name!r}") from None
