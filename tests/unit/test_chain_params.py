"""Chain parameters: genesis blocks equal Bitcoin Core's constants (kernel/chainparams.cpp), magic,
ports, seeds, minimum chain work, and Core's chainparams sanity checks."""

import pytest

from core.chain.errors import ChainError, UnknownNetworkError
from core.chain.genesis import TIMES_HEADLINE
from core.chain.params import (
    DEFAULT_SIGNET_CHALLENGE,
    NETWORK_NAMES,
    params_for,
    regtest_params,
    signet_params,
)
from core.consensus.block import bits_to_target
from core.consensus.network import MAINNET, REGTEST, SANDBOX, SIGNET, TESTNET4

# network: (genesis hash, merkle root, magic, port) as asserted in Core's chainparams.cpp
CORE_CONSTANTS = {
    "main": (
        "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
        "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
        "f9beb4d9",
        8333,
    ),
    "test": (
        "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
        "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
        "0b110907",
        18333,
    ),
    "testnet4": (
        "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043",
        "7aa0a7ae1e223414cb807e40cd57e667b718e42aaf9306db9102fe28912b7b4e",
        "1c163f28",
        48333,
    ),
    "signet": (
        "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
        "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
        "0a03cf40",
        38333,
    ),
    "regtest": (
        "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
        "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
        "fabfb5da",
        18444,
    ),
    "sandbox": (
        "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
        "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
        "fabfb5da",
        18444,
    ),
}


@pytest.mark.parametrize("name", sorted(CORE_CONSTANTS))
def test_genesis_and_magic_match_core(name: str) -> None:
    genesis_hash, root, magic, port = CORE_CONSTANTS[name]
    p = params_for(name)
    assert str(p.genesis_hash) == genesis_hash
    assert str(p.genesis.hash) == genesis_hash
    assert p.genesis.header.merkle_root[::-1].hex() == root
    # The header's merkle root is really the root of its one transaction.
    assert p.genesis.computed_merkle_root == (p.genesis.header.merkle_root, False)
    assert p.magic.hex() == magic
    assert p.default_port == port
    assert p.genesis.header.prev_block.is_null()


def test_every_name_is_covered() -> None:
    assert set(NETWORK_NAMES) == set(CORE_CONSTANTS)


def test_mainnet_coinbase_is_core_byte_for_byte() -> None:
    # scriptSig from the comment above Core's CreateGenesisBlock
    cb = params_for("main").genesis.txs[0]
    assert cb.vin[0].script_sig.hex() == (
        "04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b"
        "206f66207365636f6e64206261696c6f757420666f722062616e6b73"
    )
    assert TIMES_HEADLINE in cb.vin[0].script_sig
    assert cb.vout[0].value == 50 * 100_000_000
    assert cb.is_coinbase()
    assert str(cb.txid) == "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"


def test_testnet4_coinbase_uses_its_own_message_and_key() -> None:
    cb = params_for("testnet4").genesis.txs[0]
    # 76-byte message: pushed with OP_PUSHDATA1
    assert cb.vin[0].script_sig[7:9] == bytes([0x4C, 76])
    assert cb.vin[0].script_sig.endswith(b"000000000000000000001ebd58c244970b3aa9d783bb001011fbe8ea8e98e00e")
    assert cb.vout[0].script_pubkey == bytes([33]) + bytes(33) + b"\xac"


@pytest.mark.parametrize("name", sorted(CORE_CONSTANTS))
def test_core_chainparams_sanity(name: str) -> None:
    """Core's sanity_check_chainparams."""
    p = params_for(name)
    assert p.pow_target_timespan % p.pow_target_spacing == 0
    target, negative, overflow = bits_to_target(p.genesis.header.bits)
    assert not negative and target != 0 and not overflow
    assert p.pow_limit >= target
    if not p.pow_no_retargeting:
        assert p.pow_limit < ((1 << 256) - 1) // (p.pow_target_timespan * 4)


def test_consensus_constants() -> None:
    main = params_for("main")
    assert main.network is MAINNET
    assert main.difficulty_adjustment_interval == 2016
    assert main.pow_limit_bits == 0x1D00FFFF
    assert (main.bip34_height, main.bip66_height, main.bip65_height) == (227931, 363725, 388381)
    assert (main.csv_height, main.segwit_height) == (419328, 481824)
    assert main.minimum_chain_work == 0xDEE8E2A309AD8A9820433C68
    assert "seed.bitcoin.sipa.be." in main.dns_seeds
    assert not main.pow_allow_min_difficulty_blocks and not main.enforce_bip94

    t4 = params_for("testnet4")
    assert t4.network is TESTNET4
    assert t4.enforce_bip94 and t4.pow_allow_min_difficulty_blocks
    assert t4.minimum_chain_work == 0x34A4690FE592DC49C7C
    assert t4.dns_seeds == ("seed.testnet4.bitcoin.sprovoost.nl.", "seed.testnet4.wiz.biz.")

    reg = params_for("regtest")
    assert reg.network is REGTEST
    assert reg.difficulty_adjustment_interval == 144
    assert reg.pow_no_retargeting and reg.pow_limit_bits == 0x207FFFFF
    assert reg.subsidy_halving_interval == 150
    assert reg.minimum_chain_work == 0 and reg.segwit_height == 0


def test_sandbox_is_regtest_consensus() -> None:
    reg, sandbox = params_for("regtest"), params_for("sandbox")
    assert sandbox.network is SANDBOX
    assert sandbox.magic == reg.magic and sandbox.default_port == reg.default_port
    assert sandbox.genesis_hash == reg.genesis_hash
    for field in ("pow_limit", "pow_target_timespan", "pow_no_retargeting", "subsidy_halving_interval", "bip34_height"):
        assert getattr(sandbox, field) == getattr(reg, field)


def test_signet_challenges() -> None:
    default = params_for("signet")
    assert default.network is SIGNET
    assert default.signet_challenge == DEFAULT_SIGNET_CHALLENGE
    assert default.minimum_chain_work == 0x67D328E681A
    assert signet_params(DEFAULT_SIGNET_CHALLENGE).magic == default.magic
    custom = signet_params(bytes.fromhex("51"))  # OP_TRUE
    assert custom.magic != default.magic
    assert custom.minimum_chain_work == 0 and custom.dns_seeds == ()
    assert custom.genesis_hash == default.genesis_hash


def test_regtest_bip94_option() -> None:
    assert regtest_params(enforce_bip94=True).enforce_bip94
    assert not params_for("regtest").enforce_bip94


def test_unknown_network() -> None:
    with pytest.raises(UnknownNetworkError):
        params_for("mainnet")
    assert issubclass(UnknownNetworkError, ChainError)
