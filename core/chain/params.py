"""Chain parameters per network (Core's CChainParams + Consensus::Params), passed explicitly, never global.

Constants are Bitcoin Core's (kernel/chainparams.cpp). "sandbox" is Peerwallet's local chain: regtest
consensus with regtest's magic, port and genesis, so a stock Core `-regtest` node can connect to it; only
its address prefixes' network name differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from core.chain.errors import UnknownNetworkError
from core.chain.genesis import (
    SATOSHI_PUBKEY,
    TESTNET4_MESSAGE,
    TESTNET4_PUBKEY,
    TIMES_HEADLINE,
    create_genesis_block,
)
from core.consensus.block import Block, target_to_bits
from core.consensus.hashes import BlockHash, sha256d
from core.consensus.network import MAINNET, REGTEST, SANDBOX, SIGNET, TESTNET, TESTNET4, Network
from core.consensus.serialize import ser_var_bytes

#: Core's MAX_FUTURE_BLOCK_TIME: a header may be at most two hours ahead of our clock.
MAX_FUTURE_BLOCK_TIME = 2 * 60 * 60
#: Core's MAX_TIMEWARP (BIP94): the first block of a period may precede its parent by at most this.
MAX_TIMEWARP = 600
#: Blocks whose median is the median time past (Core's CBlockIndex::nMedianTimeSpan).
MEDIAN_TIME_SPAN = 11

_BTC_POW_LIMIT = 0x00000000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF
_TWO_WEEKS = 14 * 24 * 60 * 60

#: BIP325 default signet challenge (1-of-2 bare multisig).
DEFAULT_SIGNET_CHALLENGE = bytes.fromhex(
    "512103ad5e0edad18cb1f0fc0d28a3d4f1f3e445640337489abb10404f2d1e086be430210359ef5021964fe22d6f8e05b2463c9540ce96883fe3b278760f048f5189f2e6c452ae"
)


@dataclass(frozen=True, slots=True)
class ChainParams:
    """One network's consensus and networking parameters."""

    network: Network
    magic: bytes
    default_port: int
    genesis: Block
    pow_limit: int
    pow_target_timespan: int
    pow_target_spacing: int
    pow_allow_min_difficulty_blocks: bool
    pow_no_retargeting: bool
    enforce_bip94: bool
    subsidy_halving_interval: int
    bip34_height: int
    bip65_height: int
    bip66_height: int
    csv_height: int
    segwit_height: int
    minimum_chain_work: int
    dns_seeds: tuple[str, ...]
    signet_challenge: bytes | None = None
    # Derived once; the header tree reads them per header.
    pow_limit_bits: int = field(init=False)
    difficulty_adjustment_interval: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pow_limit_bits", target_to_bits(self.pow_limit))
        object.__setattr__(self, "difficulty_adjustment_interval", self.pow_target_timespan // self.pow_target_spacing)

    @property
    def name(self) -> str:
        """Core's chain type string ("main", "testnet4", ...) or "sandbox"."""
        return self.network.name

    @property
    def genesis_hash(self) -> BlockHash:
        return self.genesis.hash


def _mainnet() -> ChainParams:
    return ChainParams(
        network=MAINNET,
        magic=bytes.fromhex("f9beb4d9"),
        default_port=8333,
        genesis=create_genesis_block(TIMES_HEADLINE, SATOSHI_PUBKEY, 1231006505, 2083236893, 0x1D00FFFF),
        pow_limit=_BTC_POW_LIMIT,
        pow_target_timespan=_TWO_WEEKS,
        pow_target_spacing=600,
        pow_allow_min_difficulty_blocks=False,
        pow_no_retargeting=False,
        enforce_bip94=False,
        subsidy_halving_interval=210_000,
        bip34_height=227931,
        bip65_height=388381,
        bip66_height=363725,
        csv_height=419328,
        segwit_height=481824,
        minimum_chain_work=0x0000000000000000000000000000000000000000DEE8E2A309AD8A9820433C68,
        dns_seeds=(
            "seed.bitcoin.sipa.be.",
            "dnsseed.bluematt.me.",
            "seed.bitcoin.jonasschnelli.ch.",
            "seed.btc.petertodd.net.",
            "seed.bitcoin.sprovoost.nl.",
            "dnsseed.emzy.de.",
            "seed.bitcoin.wiz.biz.",
            "seed.mainnet.achownodes.xyz.",
        ),
    )


def _testnet3() -> ChainParams:
    return ChainParams(
        network=TESTNET,
        magic=bytes.fromhex("0b110907"),
        default_port=18333,
        genesis=create_genesis_block(TIMES_HEADLINE, SATOSHI_PUBKEY, 1296688602, 414098458, 0x1D00FFFF),
        pow_limit=_BTC_POW_LIMIT,
        pow_target_timespan=_TWO_WEEKS,
        pow_target_spacing=600,
        pow_allow_min_difficulty_blocks=True,
        pow_no_retargeting=False,
        enforce_bip94=False,
        subsidy_halving_interval=210_000,
        bip34_height=21111,
        bip65_height=581885,
        bip66_height=330776,
        csv_height=770112,
        segwit_height=834624,
        minimum_chain_work=0x0000000000000000000000000000000000000000000016DD270DD94FAC1D7632,
        dns_seeds=(
            "testnet-seed.bitcoin.jonasschnelli.ch.",
            "seed.tbtc.petertodd.net.",
            "seed.testnet.bitcoin.sprovoost.nl.",
            "testnet-seed.bluematt.me.",
            "seed.testnet.achownodes.xyz.",
        ),
    )


def _testnet4() -> ChainParams:
    return ChainParams(
        network=TESTNET4,
        magic=bytes.fromhex("1c163f28"),
        default_port=48333,
        genesis=create_genesis_block(TESTNET4_MESSAGE, TESTNET4_PUBKEY, 1714777860, 393743547, 0x1D00FFFF),
        pow_limit=_BTC_POW_LIMIT,
        pow_target_timespan=_TWO_WEEKS,
        pow_target_spacing=600,
        pow_allow_min_difficulty_blocks=True,
        pow_no_retargeting=False,
        enforce_bip94=True,
        subsidy_halving_interval=210_000,
        bip34_height=1,
        bip65_height=1,
        bip66_height=1,
        csv_height=1,
        segwit_height=1,
        minimum_chain_work=0x00000000000000000000000000000000000000000000034A4690FE592DC49C7C,
        dns_seeds=("seed.testnet4.bitcoin.sprovoost.nl.", "seed.testnet4.wiz.biz."),
    )


def signet_params(challenge: bytes | None = None) -> ChainParams:
    """Signet (BIP325). With no `challenge`, the default signet with its seeds and minimum chain work;
    a custom challenge gets its own magic (first 4 bytes of sha256d of the serialized challenge)."""
    default = challenge is None or challenge == DEFAULT_SIGNET_CHALLENGE
    script = DEFAULT_SIGNET_CHALLENGE if challenge is None else challenge
    return ChainParams(
        network=SIGNET,
        magic=sha256d(ser_var_bytes(script))[:4],
        default_port=38333,
        genesis=create_genesis_block(TIMES_HEADLINE, SATOSHI_PUBKEY, 1598918400, 52613770, 0x1E0377AE),
        pow_limit=0x00000377AE000000000000000000000000000000000000000000000000000000,
        pow_target_timespan=_TWO_WEEKS,
        pow_target_spacing=600,
        pow_allow_min_difficulty_blocks=False,
        pow_no_retargeting=False,
        enforce_bip94=False,
        subsidy_halving_interval=210_000,
        bip34_height=1,
        bip65_height=1,
        bip66_height=1,
        csv_height=1,
        segwit_height=1,
        minimum_chain_work=0x0000000000000000000000000000000000000000000000000000067D328E681A if default else 0,
        dns_seeds=("seed.signet.bitcoin.sprovoost.nl.", "seed.signet.achownodes.xyz.") if default else (),
        signet_challenge=script,
    )


def regtest_params(network: Network = REGTEST, *, enforce_bip94: bool = False) -> ChainParams:
    """Regtest (and the sandbox, which passes its own `network`). `enforce_bip94` is Core's -test=bip94."""
    return ChainParams(
        network=network,
        magic=bytes.fromhex("fabfb5da"),
        default_port=18444,
        genesis=create_genesis_block(TIMES_HEADLINE, SATOSHI_PUBKEY, 1296688602, 2, 0x207FFFFF),
        pow_limit=0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,
        pow_target_timespan=24 * 60 * 60,  # one day: 144-block periods
        pow_target_spacing=600,
        pow_allow_min_difficulty_blocks=True,
        pow_no_retargeting=True,
        enforce_bip94=enforce_bip94,
        subsidy_halving_interval=150,
        bip34_height=1,
        bip65_height=1,
        bip66_height=1,
        csv_height=1,
        segwit_height=0,
        minimum_chain_work=0,
        dns_seeds=(),  # Core lists only "dummySeed.invalid."
    )


_FACTORIES = {
    "main": _mainnet,
    "test": _testnet3,
    "testnet4": _testnet4,
    "signet": signet_params,
    "regtest": regtest_params,
    "sandbox": lambda: regtest_params(SANDBOX),
}

#: Names `params_for` accepts.
NETWORK_NAMES: tuple[str, ...] = tuple(_FACTORIES)


@cache
def params_for(name: str) -> ChainParams:
    """Parameters of network `name`: "main", "test" (testnet3), "testnet4", "signet", "regtest" or "sandbox".
    Raises UnknownNetworkError for any other name."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise UnknownNetworkError(f"unknown network {name!r}; expected one of {', '.join(NETWORK_NAMES)}") from None
    return factory()
