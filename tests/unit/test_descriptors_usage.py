"""Descriptors in use: checksums, printing and ranges, addresses, the escrow leaf, BIP84/86 wallets, BIP389."""

from __future__ import annotations

import re

import pytest

from core.consensus.network import MAINNET, TESTNET
from core.wallet.descriptors.checksum import (
    add_checksum,
    descriptor_checksum,
    split_checksum,
    verify_checksum,
)
from core.wallet.descriptors.descriptor import Descriptor
from core.wallet.errors import DescriptorError
from tests.unit.test_descriptors import (
    MULTI16_KEYS,
    MULTI20_WIFS,
    NUMS,
    PUB,
    WIF,
    XONLY,
    XPRV,
    XPRV_B,
    XPRV_ROOT,
    XPUB,
    XPUB_B,
    XPUB_C,
)

# --- BIP380 checksum vectors -------------------------------------------------------------------------

CHECKSUM_INVALID = [
    ("missing-checksum", "raw(deadbeef)#", "8 character checksum"),
    ("too-long", "raw(deadbeef)#89f8spxmx", "8 character checksum"),
    ("too-short", "raw(deadbeef)#89f8spx", "8 character checksum"),
    ("error-in-payload", "raw(deedbeef)#89f8spxm", "expected 'xj8ljs75'"),
    ("error-in-checksum", "raw(deedbeef)##9f8spxm", "'#'"),
    ("invalid-character", "raw(Ü)#00000000", "invalid character"),
]


def test_checksum_valid() -> None:
    assert descriptor_checksum("raw(deadbeef)") == "89f8spxm"
    verify_checksum("raw(deadbeef)#89f8spxm")
    assert split_checksum("raw(deadbeef)#89f8spxm") == ("raw(deadbeef)", "89f8spxm")
    assert Descriptor.parse("raw(deadbeef)#89f8spxm").script_pubkey() == bytes.fromhex("deadbeef")


def test_no_checksum_is_optional_unless_required() -> None:
    assert split_checksum("raw(deadbeef)") == ("raw(deadbeef)", None)
    assert Descriptor.parse("raw(deadbeef)").to_string() == "raw(deadbeef)#89f8spxm"
    with pytest.raises(DescriptorError, match="missing checksum: append '#89f8spxm'"):
        Descriptor.parse("raw(deadbeef)", require_checksum=True)


@pytest.mark.parametrize(
    ("text", "message"), [v[1:] for v in CHECKSUM_INVALID], ids=[v[0] for v in CHECKSUM_INVALID]
)
def test_checksum_invalid(text: str, message: str) -> None:
    with pytest.raises(DescriptorError, match=re.escape(message)):
        Descriptor.parse(text)


# --- printing, ranges, addresses -----------------------------------------------------------------------


def test_hardened_markers_round_trip_as_written() -> None:
    for marker in ("h", "'"):
        text = f"wpkh([d34db33f/84{marker}/0{marker}/0{marker}]{XPUB}/0/*)"
        assert Descriptor.parse(text).to_string() == add_checksum(text)


def test_public_string_hides_private_keys() -> None:
    desc = Descriptor.parse(f"wpkh({XPRV}/0/*)")
    assert desc.has_private_keys()
    assert desc.to_string() == add_checksum(f"wpkh({XPUB}/0/*)")
    assert XPRV not in str(desc) and XPRV not in repr(desc)
    assert desc.to_string(private=True) == add_checksum(f"wpkh({XPRV}/0/*)")
    wif = Descriptor.parse(f"tr({WIF})")
    assert wif.to_string() == add_checksum(f"tr({XONLY})")


def test_range_needs_index() -> None:
    desc = Descriptor.parse(f"wpkh({XPUB}/0/*)")
    assert desc.is_range()
    with pytest.raises(DescriptorError, match="index"):
        desc.script_pubkey()
    with pytest.raises(DescriptorError, match="out of range"):
        desc.script_pubkey(2**31)
    assert desc.script_pubkey_range(3, 5) == [desc.script_pubkey(3), desc.script_pubkey(4)]
    fixed = Descriptor.parse(f"wpkh({PUB})")
    assert not fixed.is_range()
    assert fixed.script_pubkey_range(0, 2) == [fixed.script_pubkey()] * 2
    assert fixed.script_pubkeys() == [fixed.script_pubkey()]


def test_hardened_step_from_xpub_fails_at_derivation() -> None:
    desc = Descriptor.parse(f"wpkh({XPUB}/1h/*)")
    with pytest.raises(DescriptorError, match="hardened"):
        desc.script_pubkey(0)


def test_addresses() -> None:
    desc = Descriptor.parse(f"wpkh({PUB})")
    assert desc.address(None, MAINNET) == "bc1qngw83fg8dz0k749cg7k3emc7v98wy0c74dlrkd"
    assert desc.address(None, TESTNET).startswith("tb1q")
    with pytest.raises(DescriptorError, match="no address"):
        Descriptor.parse(f"pk({PUB})").address(None, MAINNET)


def test_addr_with_network() -> None:
    addr = "3PUNyaW7M55oKWJ3kDukwk9bsKvryra15j"
    assert Descriptor.parse(f"addr({addr})", network=MAINNET).address(None, MAINNET) == addr
    with pytest.raises(DescriptorError, match="wrong network"):
        Descriptor.parse(f"addr({addr})", network=TESTNET)


def test_slip132_keys_rejected() -> None:
    zpub = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
    with pytest.raises(DescriptorError, match="zpub"):
        Descriptor.parse(f"wpkh({zpub}/0/*)")


@pytest.mark.parametrize(
    "text",
    [
        f"multi(1,{PUB},{PUB},{PUB},{PUB})",  # bare multisig: at most 3 keys
        f"wsh(multi(21,{MULTI20_WIFS},{WIF}))",  # more than 20 keys
        f"wpkh({XONLY})",  # x-only keys only inside tr()
        f"tr({XONLY},{{pk({XONLY})}})",  # a branch needs two children
        f"tr({XONLY},{{pk({XONLY}),pk({XONLY}),pk({XONLY})}})",
        f"tr({XONLY},pk({XONLY})",  # unbalanced
        f"pk({PUB}))",
        f"pk({PUB})x",
        f"tr({XONLY},and_v(v:pk({XONLY}),older(0)))",
        f"tr({XONLY},and_v(v:pk({XONLY}),older(2147483648)))",
        f"and_v(v:pk({PUB}),older(10))",  # Miniscript only inside wsh() or tr()
        f"wsh(and_v(pk({PUB}),older(10)))",
        f"combo({PUB})",
        f"foo({PUB})",
        "",
        f"wsh(multi(1,{PUB}/0))",  # derivation after a plain public key
        f"wpkh({XPUB}/0/*/1)",  # wildcard not last
        f"wpkh({XPUB}/<0;1>/<2;3>/*)",  # two multipath steps
        f"wpkh({XPUB}/<0;0>/*)",
        f"multi(1,{XPUB}/<0;1>/*,{XPUB}/<0;1;2>/*)",  # different multipath lengths
        "tr(" + XONLY + "," + "{" * 129 + f"pk({XONLY})" + f",pk({XONLY})}}" * 129 + ")",  # deeper than 128
    ],
)
def test_more_invalid(text: str) -> None:
    with pytest.raises(DescriptorError):
        Descriptor.parse(text)


def test_sh_multi_15_keys_allowed() -> None:
    keys = MULTI16_KEYS.split(",")[:15]
    desc = Descriptor.parse(f"sh(multi(15,{','.join(keys)}))")
    exp = desc.expand()
    assert exp.redeem_script is not None and len(exp.redeem_script) == 15 * 34 + 3
    assert desc.script_pubkey()[:2] == bytes.fromhex("a914")


# --- the escrow's tapscript leaf -------------------------------------------------------------------------


def test_and_v_older_tapscript() -> None:
    key = "669b8afcec803a0d323e9a17f3ea8e68e8abe5a278020a929adbec52421adbd0"
    text = f"tr({NUMS},{{multi_a(2,{XONLY},{key}),and_v(v:pk({key}),older(144))}})"
    desc = Descriptor.parse(text)
    assert desc.to_string() == add_checksum(text)
    info = desc.expand().taproot
    assert info is not None
    scripts = [leaf.leaf.script.hex() for leaf in info.leaves]
    # <KEY> OP_CHECKSIGVERIFY <144> OP_CHECKSEQUENCEVERIFY
    assert scripts[1] == f"20{key}ad029000b2"
    # <K1> OP_CHECKSIG <K2> OP_CHECKSIGADD OP_2 OP_NUMEQUAL
    assert scripts[0] == f"20{XONLY}ac20{key}ba529c"
    assert desc.script_pubkey() == info.script_pubkey
    assert len(info.leaves) == 2 and all(len(cb) == 65 for _, cb in info.control_blocks())


def test_and_v_older_small_and_in_wsh() -> None:
    desc = Descriptor.parse(f"wsh(and_v(v:pk({PUB}),older(1)))")
    assert desc.expand().witness_script == bytes.fromhex(f"21{PUB}ad51b2")


def test_rawtr_and_sortedmulti_a() -> None:
    assert Descriptor.parse(f"rawtr({XONLY})").script_pubkey().hex() == f"5120{XONLY}"
    key = "669b8afcec803a0d323e9a17f3ea8e68e8abe5a278020a929adbec52421adbd0"
    a = Descriptor.parse(f"tr({NUMS},sortedmulti_a(1,{XONLY},{key}))").expand().taproot
    assert a is not None
    assert a.leaves[0].leaf.script.hex() == f"20{key}ac20{XONLY}ba519c"


# --- BIP84 / BIP86 standard descriptors from the "abandon ... about" mnemonic -------------------------------

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"


def _master():
    from core.wallet.bip32 import ExtendedKey
    from core.wallet.bip39 import mnemonic_to_seed

    return ExtendedKey.from_seed(mnemonic_to_seed(MNEMONIC))


def test_bip84_first_addresses() -> None:
    master = _master()
    account = master.derive_path("m/84h/0h/0h").neuter().to_string(MAINNET)
    fp = master.fingerprint.hex()
    assert fp == "73c5da0a"
    desc = Descriptor.parse(f"wpkh([{fp}/84h/0h/0h]{account}/0/*)")
    assert desc.address(0, MAINNET) == "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"
    assert desc.address(1, MAINNET) == "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g"
    change = Descriptor.parse(f"wpkh([{fp}/84h/0h/0h]{account}/1/*)")
    assert change.address(0, MAINNET) == "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el"
    # The same from the master xprv with the hardened steps in the key path.
    root = Descriptor.parse(f"wpkh({master.to_string(MAINNET)}/84'/0'/0'/0/*)")
    assert root.script_pubkey(0) == desc.script_pubkey(0)
    derived = desc.expand(0).keys[0]
    assert derived.fingerprint == bytes.fromhex(fp)
    assert derived.path == (84 | 2**31, 2**31, 2**31, 0, 0)


def test_bip86_first_addresses() -> None:
    master = _master()
    account = master.derive_path("m/86h/0h/0h").neuter().to_string(MAINNET)
    desc = Descriptor.parse(f"tr([73c5da0a/86h/0h/0h]{account}/0/*)")
    assert desc.address(0, MAINNET) == "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr"
    assert desc.address(1, MAINNET) == "bc1p4qhjn9zdvkux4e44uhx8tc55attvtyu358kutcqkudyccelu0was9fqzwh"
    change = Descriptor.parse(f"tr([73c5da0a/86h/0h/0h]{account}/1/*)")
    assert change.address(0, MAINNET) == "bc1p3qkhfews2uk44qtvauqyr2ttdsw7svhkl9nkm9s9c3x4ax5h60wqwruhk7"


def test_multipath_receive_and_change() -> None:
    master = _master()
    account = master.derive_path("m/84h/0h/0h").neuter().to_string(MAINNET)
    text = f"wpkh([73c5da0a/84h/0h/0h]{account}/<0;1>/*)"
    desc = Descriptor.parse(text)
    assert desc.multipath_count == 2
    assert desc.to_string() == add_checksum(text)
    assert desc.address(0, MAINNET, multipath=0) == "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"
    assert desc.address(0, MAINNET, multipath=1) == "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el"
    with pytest.raises(DescriptorError):
        desc.script_pubkey(0, multipath=2)


# --- BIP389 multipath key expressions ---------------------------------------------------------------------

XPUB_G = "xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB"
XPUB_H = "xpub661MyMwAqRbcGDZQUKLqmWodYLcoBQnQH33yYkkF3jjxeLvY8qr2wWGEWkiKFaaQfJCoi3HeEq3Dc5DptfbCyjD38fNhSqtKc1UHaP4ba3t"
XPUB_I = "xpub661MyMwAqRbcF3yVrV2KyYetLMYA5mCbv4BhrKwUrFE9LZM6JRR1AEt8Jq4V4C8LwtTke6YEEdCZqgXp85YRk2j74EfJKhe3QybQ9kcUjs4"
XPRV_J = "xprv9s21ZrQH143K3jUwNHoqQNrtzJnJmx4Yup8NkNLdVQCymYbPbJXnPhwkfTfxZfptcs3rLAPUXS39oDLgrNKQGwbGsEmJJ8BU3RzQuvShEG4"

# (id, multipath descriptor, the descriptors it expands into)
MULTIPATH_VALID = [
    ("pk-xpub", f"pk({XPUB_B}/<0;1>)", [f"pk({XPUB_B}/0)", f"pk({XPUB_B}/1)"]),
    (
        "pkh-xprv-hardened",
        f"pkh({XPRV_ROOT}/<2147483647h;0>/0)",
        [f"pkh({XPRV_ROOT}/2147483647h/0)", f"pkh({XPRV_ROOT}/0/0)"],
    ),
    # The BIP text lacks this vector's final ')'; it is added here.
    (
        "wpkh-origin-range",
        f"wpkh([ffffffff/13h]{XPUB_C}/<1;3>/2/*)",
        [f"wpkh([ffffffff/13h]{XPUB_C}/1/2/*)", f"wpkh([ffffffff/13h]{XPUB_C}/3/2/*)"],
    ),
    (
        "multi-two-multipath",
        f"multi(2,{XPUB}/<1;2>/*,{XPUB_B}/<3;4>/0/*)",
        [f"multi(2,{XPUB}/1/*,{XPUB_B}/3/0/*)", f"multi(2,{XPUB}/2/*,{XPUB_B}/4/0/*)"],
    ),
    ("pkh-three", f"pkh({XPUB_G}/<0;1;2>)", [f"pkh({XPUB_G}/0)", f"pkh({XPUB_G}/1)", f"pkh({XPUB_G}/2)"]),
    (
        "sh-multi-three",
        f"sh(multi(2,{XPUB}/<1;2;3>/0/*,{XPUB_B}/0/*,{XPUB_H}/0/0/<3;4;5>/*))",
        [f"sh(multi(2,{XPUB}/{i}/0/*,{XPUB_B}/0/*,{XPUB_H}/0/0/{j}/*))" for i, j in ((1, 3), (2, 4), (3, 5))],
    ),
]

MULTIPATH_INVALID = [
    ("multiple-specifiers", f"pkh({XPRV_ROOT}/<0;1>/<2;3>)"),
    ("in-origin", f"pkh([deadbeef/<0;1>]{XPUB_G}/0)"),
    (
        "mismatched-tr",
        f"tr({XPUB_I}/<6;7;8;9>/*,{{pk({XPUB}/<1;2;3>/0/*),pk({XPUB_H}/0/0/<3;4;5>/*)}})",
    ),
    ("mismatched-sh-multi", f"sh(multi(2,{XPRV}/<1;2;3>/0/*,{XPRV_B}/0/*,{XPRV_J}/0/0/<3;4>/*))"),
    ("empty", f"wpkh({XPUB_G}/<>/*)"),
    ("missing-start", f"wpkh({XPUB_G}/0>/*)"),
    ("missing-end", f"wpkh({XPUB_G}/<0/*)"),
    ("missing-index", f"wpkh({XPUB_G}/<0;>/*)"),
]


@pytest.mark.parametrize(
    ("text", "expanded"), [v[1:] for v in MULTIPATH_VALID], ids=[v[0] for v in MULTIPATH_VALID]
)
def test_multipath_vector(text: str, expanded: list[str]) -> None:
    desc = Descriptor.parse(text)
    assert desc.multipath_count == len(expanded)
    assert desc.to_string(private=True) == add_checksum(text)
    for alt, single_text in enumerate(expanded):
        single = Descriptor.parse(single_text)
        indexes = [0, 1, 2] if single.is_range() else [None]
        for i in indexes:
            assert desc.script_pubkey(i, multipath=alt) == single.script_pubkey(i)


@pytest.mark.parametrize("text", [v[1] for v in MULTIPATH_INVALID], ids=[v[0] for v in MULTIPATH_INVALID])
def test_multipath_invalid(text: str) -> None:
    with pytest.raises(DescriptorError):
        Descriptor.parse(text)
