"""BIP341/342 and legacy signature hashing: annex, script path, invalid hash types, legacy quirks, fuzz."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.consensus.hashes import Txid
from core.consensus.serialize import ByteReader, ser_var_bytes
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.crypto.taproot import tapleaf_hash
from core.script.sighash import (
    SIGHASH_ALL,
    SIGHASH_ANYONECANPAY,
    SIGHASH_NONE,
    SIGHASH_ONE,
    SIGHASH_SINGLE,
    PrecomputedTxData,
    _legacy_script_code,
    legacy_sighash,
    taproot_sighash,
    taproot_sigmsg,
)


class TaprootCase(NamedTuple):
    name: str
    tx_hex: str
    prevouts_hex: str  # compact-size count followed by the spent TxOuts
    hash_type: int
    annex_hex: str | None
    tapscript_hex: str | None  # when set: a tapscript (ext_flag 1) signature in this leaf
    sighash_hex: str


TAPROOT_CASES = [
    TaprootCase(
        "annex_single_acp",
        (
            "0200000001df8123752e8f37d132c4e9f1ff7e4f9b986ade9211267e9ebd5fd22a5e718dec6d01000000ce4023b903cb"
            "7b23000000000017a914a18b36ea7a094db2f4940fc09edf154e86de7bd787580200000000000017a914afd0d512a2c5"
            "c2b40e25669e9cc460303c325b8b87580200000000000017a914a18b36ea7a094db2f4940fc09edf154e86de7bd787f6"
            "020000"
        ),
        "01ea49260000000000225120ab5e9800806bf18cb246edcf5fe63441208fe955a4b5a35bbff65f5db622a010",
        0x83,
        (
            "507b979802e62d397acb29f56743a791894b99372872fc5af06a4f6e8d242d0615cda53062bb20e6ec79756fe39183f0"
            "c128adfe85559a8fa042b042c018aa8010143799e44f0893c40e1e"
        ),
        None,
        "3b003000add359a364a156e73e02846782a59d0d95ca8c4638aaad99f2ef915c",
    ),
    TaprootCase(
        "script_path_all",
        (
            "020000000189fc651483f9296b906455dd939813bf086b1bbe7c77635e157c8e14ae29062195010000004445b5c70445"
            "61320000000000160014331414dbdada7fb578f700f38fb69995fc9b5ab958020000000000001976a914268db0a8104c"
            "c6d8afd91233cc8b3d1ace8ac3ef88ac580200000000000017a914ec00dcb368d6a693e11986d265f659d2f59e8be287"
            "5802000000000000160014c715799a49a0bae3956df9c17cb4440a673ac0df6f010000"
        ),
        "011bec34000000000022512028055142ea437db73382e991861446040b61dd2185c4891d7daf6893d79f7182",
        0x01,
        None,
        "20cc4e1107aea1d170c5ff5b6817e1303010049724fb3caa7941792ea9d29b3e2bacab",
        "d66de5274a60400c7b08c86ba6b7f198f40660079edf53aca89d2a9501317f2e",
    ),
    TaprootCase(
        "annex_and_script_path_all",
        (
            "020000000132fb72cb8fba496755f027a9743e2d698c831fdb8304e4d1a346ac92cbf51acba50100000026bdc7df044a"
            "ad34000000000017a9144fa2554ed6174586854fa3bc01de58dcf33567d0875802000000000000160014950367e1e62c"
            "df240b35b883fc2f5e39f0eb9ab95802000000000000160014950367e1e62cdf240b35b883fc2f5e39f0eb9ab9580200"
            "00000000001600141b31217d48ccc8760dcc0710fade5866d628e733a02d5122"
        ),
        "011458360000000000225120a7baec3fb9f84614e3899fcc010c638f80f13539344120e1f4d8b68a9a011a13",
        0x01,
        (
            "50a6272b470e1460e3332ade7bb14b81671c564fb6245761bd5bd531394b28860e0b3808ab229fb51791fb6ae6fa82d9"
            "15b2efb8f6df83ae1f5ab3db13e30928875e2a22b749d89358de481f19286cd4caa792ce27f9559082d227a731c54868"
            "82cc707f83da361c51b7aadd9a0cf68fe7480c410fa137b454482d9a1ebf0f96d760b4d61426fc109c6e8e99a508372c"
            "45caa7b000a41f8251305da3f206c1849985ba03f3d9592832b4053afbd23ab25d0465df0bc25a36c223aacf8e04ec73"
            "6a418c72dc319e4da3e972e349713ca600965e7c665f2090d5a70e241ac164115a1f5639f28b1773327715ca307ace64"
            "a2de7f0e3df70a2ffee3857689f909c0dad46d8a20fa373a4cc6eed6d4c9806bf146f0d76baae1"
        ),
        (
            "7520ab9160dd8299dc1367659be3e8f66781fe440d52940c7f8d314a89b9f2698d406ead6ead6ead6ead6ead6ead6ead"
            "6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead"
            "6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead6ead"
            "6ead6ead6ead6ead6eadac"
        ),
        "a0042aa434f9a75904b64043f2a283f8b4c143c7f4f7f49a6cbe5b9f745f4c15",
    ),
]


# --- BIP341/342 ----------------------------------------------------------------------------------
def _spent_outputs(prevouts_hex: str) -> list[TxOut]:
    r = ByteReader(bytes.fromhex(prevouts_hex))
    outs = [TxOut.read(r) for _ in range(r.compact_size())]
    r.expect_end("prevouts")
    return outs


@pytest.mark.parametrize("case", TAPROOT_CASES, ids=[c.name for c in TAPROOT_CASES])
def test_taproot_annex_and_script_path(case: TaprootCase) -> None:
    tx = Transaction.from_hex(case.tx_hex)
    cache = PrecomputedTxData(tx, _spent_outputs(case.prevouts_hex))
    annex = bytes.fromhex(case.annex_hex) if case.annex_hex else None
    if case.tapscript_hex is None:
        got = taproot_sighash(tx, 0, case.hash_type, cache, annex=annex)
    else:
        leaf = tapleaf_hash(bytes.fromhex(case.tapscript_hex))
        got = taproot_sighash(tx, 0, case.hash_type, cache, ext_flag=1, annex=annex, leaf_hash=leaf)
    assert got is not None
    assert got.hex() == case.sighash_hex


def _two_in_one_out() -> tuple[Transaction, list[TxOut]]:
    tx = Transaction(
        version=2,
        vin=(
            TxIn(OutPoint(Txid(bytes([1]) * 32), 0), b"", 0xFFFFFFFD),
            TxIn(OutPoint(Txid(bytes([2]) * 32), 7), b"", 0xFFFFFFFE),
        ),
        vout=(TxOut(50_000, bytes.fromhex("5120") + bytes([9]) * 32),),
        locktime=800_000,
    )
    spent = [TxOut(30_000, bytes.fromhex("5120") + bytes([3]) * 32), TxOut(25_000, bytes.fromhex("0014") + bytes(20))]
    return tx, spent


@pytest.mark.parametrize("hash_type", [0x04, 0x05, 0x40, 0x80, 0x84, 0xC1, 0xFF, 0x100, -1])
def test_taproot_rejects_invalid_hash_type(hash_type: int) -> None:
    tx, spent = _two_in_one_out()
    assert taproot_sighash(tx, 0, hash_type, PrecomputedTxData(tx, spent)) is None


def test_taproot_single_without_matching_output_fails() -> None:
    tx, spent = _two_in_one_out()
    cache = PrecomputedTxData(tx, spent)
    assert taproot_sighash(tx, 0, SIGHASH_SINGLE, cache) is not None
    assert taproot_sighash(tx, 1, SIGHASH_SINGLE, cache) is None
    assert taproot_sighash(tx, 1, SIGHASH_SINGLE | SIGHASH_ANYONECANPAY, cache) is None
    assert taproot_sighash(tx, 1, SIGHASH_ALL, cache) is not None


def test_taproot_needs_spent_outputs() -> None:
    tx, _ = _two_in_one_out()
    assert taproot_sighash(tx, 0, SIGHASH_ALL, PrecomputedTxData(tx)) is None
    assert PrecomputedTxData(tx).sha_amounts is None


def test_taproot_default_differs_from_all_only_in_hash_type_byte() -> None:
    tx, spent = _two_in_one_out()
    cache = PrecomputedTxData(tx, spent)
    default = taproot_sigmsg(tx, 1, 0, cache)
    all_ = taproot_sigmsg(tx, 1, SIGHASH_ALL, cache)
    assert default is not None and all_ is not None
    assert default[0] == 0 and default[1] == 0 and all_[1] == 1
    assert default[2:] == all_[2:]


def test_tapscript_commits_to_leaf_key_version_and_codeseparator() -> None:
    tx, spent = _two_in_one_out()
    cache = PrecomputedTxData(tx, spent)
    leaf = bytes(range(32))
    base = taproot_sigmsg(tx, 0, SIGHASH_ALL, cache, ext_flag=1, leaf_hash=leaf)
    keypath = taproot_sigmsg(tx, 0, SIGHASH_ALL, cache)
    assert base is not None and keypath is not None
    # spend_type = ext_flag * 2 (+1 with annex); then leaf hash, key_version 0, codesep_pos 0xFFFFFFFF.
    assert base == keypath[:-5] + b"\x02" + keypath[-4:] + leaf + b"\x00" + b"\xff\xff\xff\xff"
    with_pos = taproot_sighash(tx, 0, SIGHASH_ALL, cache, ext_flag=1, leaf_hash=leaf, codesep_pos=3)
    assert with_pos != taproot_sighash(tx, 0, SIGHASH_ALL, cache, ext_flag=1, leaf_hash=leaf)
    with pytest.raises(ValueError):
        taproot_sighash(tx, 0, SIGHASH_ALL, cache, ext_flag=1)


def test_precomputed_rejects_wrong_spent_output_count() -> None:
    tx, spent = _two_in_one_out()
    with pytest.raises(ValueError):
        PrecomputedTxData(tx, spent[:1])


# --- legacy quirks -------------------------------------------------------------------------------
def test_legacy_sighash_single_bug_returns_one() -> None:
    tx, _ = _two_in_one_out()
    assert bytes(31) + b"\x01" == SIGHASH_ONE[::-1]
    assert legacy_sighash(tx, 1, b"\x51", SIGHASH_SINGLE) == SIGHASH_ONE
    assert legacy_sighash(tx, 1, b"\x51", SIGHASH_SINGLE | SIGHASH_ANYONECANPAY) == SIGHASH_ONE
    # Any hash type whose low five bits are 3 is SINGLE for Core.
    assert legacy_sighash(tx, 1, b"\x51", 0x43) == SIGHASH_ONE
    assert legacy_sighash(tx, 0, b"\x51", SIGHASH_SINGLE) != SIGHASH_ONE
    assert legacy_sighash(tx, 1, b"\x51", SIGHASH_NONE) != SIGHASH_ONE


def test_legacy_input_index_out_of_range_returns_one() -> None:
    tx, _ = _two_in_one_out()
    assert legacy_sighash(tx, 2, b"", SIGHASH_ALL) == SIGHASH_ONE


def test_legacy_script_code_strips_codeseparators() -> None:
    # OP_CODESEPARATOR bytes inside a push are data, not separators.
    script = bytes.fromhex("ab51ab02abab52ab")
    assert _legacy_script_code(script) == bytes.fromhex("05") + bytes.fromhex("5102abab52")


def test_legacy_script_code_truncated_push_quirk() -> None:
    # Core's serializer writes the length as size minus separators, but stops writing where
    # GetOp failed: after the opcode and the length bytes of a push that overruns the script.
    assert _legacy_script_code(bytes.fromhex("514c0501")) == bytes.fromhex("04514c05")
    assert _legacy_script_code(bytes.fromhex("ab514c0501")) == bytes.fromhex("04514c05")
    # PUSHDATA2 with a single length byte: only the opcode was consumed.
    assert _legacy_script_code(bytes.fromhex("514d01")) == bytes.fromhex("03514d")
    # A well-formed script is written whole.
    assert _legacy_script_code(bytes.fromhex("4c0201027c")) == bytes.fromhex("054c0201027c")


def test_legacy_cache_gives_same_hashes() -> None:
    tx, _ = _two_in_one_out()
    cache = PrecomputedTxData(tx)
    for index in range(2):
        for hash_type in (1, 2, 3, 0x81, 0x82, 0x83, 0, 0x7F, -5):
            assert legacy_sighash(tx, index, b"\x51\xab\x52", hash_type, cache) == legacy_sighash(
                tx, index, b"\x51\xab\x52", hash_type
            )


# --- fuzz: script codes are untrusted bytes --------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_legacy_sighash_any_script_code(script: bytes, hash_type: int) -> None:
    tx, _ = _two_in_one_out()
    out = _legacy_script_code(script)
    r = ByteReader(out)
    declared = r.compact_size()
    assert declared == len(script) - _parsed_separators(script)
    assert r.remaining <= declared
    if 0xAB not in script and r.remaining == declared:
        assert out == ser_var_bytes(script)
    assert len(legacy_sighash(tx, 0, script, hash_type)) == 32


def _parsed_separators(script: bytes) -> int:
    """Count OP_CODESEPARATORs up to the first truncated push (reference walk for the fuzz test)."""
    count, pc = 0, 0
    while pc < len(script):
        op = script[pc]
        pc += 1
        if op <= 0x4E:
            width = {0x4C: 1, 0x4D: 2, 0x4E: 4}.get(op, 0)
            if len(script) - pc < width:
                break
            size = int.from_bytes(script[pc : pc + width], "little") if width else op
            pc += width
            if len(script) - pc < size:
                break
            pc += size
        elif op == 0xAB:
            count += 1
    return count
