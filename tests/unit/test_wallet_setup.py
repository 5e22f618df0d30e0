"""First-run setup rules (core.wallet.setup): word confirmation, password policy per network, reading a
pasted watch-only key, and creating wallet files from plans (new words, restored words, watch-only)."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.wallet.errors import MnemonicError, WalletError
from core.wallet.keychain import KeychainKind
from core.wallet.setup import (
    SetupKind,
    WalletPlan,
    check_confirmation,
    check_password,
    confirmation_positions,
    create_wallet_file,
    parse_watch_only,
    validate_plan,
)
from core.wallet.storage.secrets import KdfParams
from core.wallet.wallet import Wallet

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
# The m/84'/1'/0' account tpub of MNEMONIC (test networks use coin type 1).
BIP84_XPUB = "tpubDC8msFGeGuwnKG9Upg7DM2b4DaRqg3CUZa5g8v2SRQ6K4NSkxUgd7HsL2XVWbVm39yBA4LAxysQAm397zwQSQoQgewGiYZqrA9DsP4zbQ1M"
FIRST_ADDRESS = "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"  # m/84'/1'/0'/0/0 (tb1q6rz28mcf...pqcpvkl on testnet)
FAST_KDF = KdfParams(log2_n=10)


def test_confirmation_positions_are_distinct_sorted_and_in_range() -> None:
    rng = random.Random(7)
    for n in (12, 24):
        for _ in range(50):
            pos = confirmation_positions(n, 3, rng)
            assert len(set(pos)) == 3 and list(pos) == sorted(pos) and all(1 <= p <= n for p in pos)
    with pytest.raises(WalletError):
        confirmation_positions(2, 3)


def test_check_confirmation_names_the_wrong_position() -> None:
    check_confirmation(MNEMONIC, {1: "abandon", 12: " About "})
    with pytest.raises(WalletError, match="word 12"):
        check_confirmation(MNEMONIC, {1: "abandon", 12: "abandon"})
    with pytest.raises(WalletError, match="no word 13"):
        check_confirmation(MNEMONIC, {13: "about"})


def test_password_rules() -> None:
    assert check_password("main", "pw", "pw") is None
    with pytest.raises(WalletError, match="differ"):
        check_password("main", "pw", "pW")
    with pytest.raises(WalletError, match="choose a password"):
        check_password("testnet4", "", "")
    warning = check_password("sandbox", "", "")
    assert warning is not None and "password" in warning


def test_parse_watch_only_forms() -> None:
    assert parse_watch_only(f"  {BIP84_XPUB}\n") == (BIP84_XPUB, None)
    recv, change = f"wpkh({BIP84_XPUB}/0/*)", f"wpkh({BIP84_XPUB}/1/*)"
    assert parse_watch_only(f"{recv}\n\n{change}\n") == (None, (recv, change))
    xpub, pair = parse_watch_only(f"wpkh({BIP84_XPUB}/<0;1>/*)#abcdefgh")
    assert xpub is None and pair is not None
    assert pair[0].startswith(f"wpkh({BIP84_XPUB}/0/*)#") and pair[1].startswith(f"wpkh({BIP84_XPUB}/1/*)#")
    for bad in ("", "a b", f"wpkh({BIP84_XPUB}/0/*)", "1\n2\n3", f"wsh(multi(1,{BIP84_XPUB}/<0;1>/*,{BIP84_XPUB}/<1;2>/*))"):
        with pytest.raises(WalletError):
            parse_watch_only(bad)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_parse_watch_only_raises_only_wallet_errors(text: str) -> None:
    with contextlib.suppress(WalletError):
        parse_watch_only(text)


def test_validate_plan() -> None:
    validate_plan(WalletPlan("sandbox", SetupKind.RESTORE, mnemonic=MNEMONIC))
    with pytest.raises(WalletError, match="password"):
        validate_plan(WalletPlan("main", SetupKind.RESTORE, mnemonic=MNEMONIC))
    words = MNEMONIC.split()
    words[2] = "abandn"
    with pytest.raises(MnemonicError, match="word 3 'abandn'"):
        validate_plan(WalletPlan("sandbox", SetupKind.RESTORE, mnemonic=" ".join(words)))
    with pytest.raises(WalletError, match="wallet type"):
        validate_plan(WalletPlan("sandbox", SetupKind.RESTORE, template="bip44", mnemonic=MNEMONIC))
    with pytest.raises(WalletError):
        validate_plan(WalletPlan("sandbox", SetupKind.WATCH_ONLY))
    assert "abandon" not in repr(WalletPlan("sandbox", SetupKind.RESTORE, mnemonic=MNEMONIC, password="secret"))


def test_create_restore_and_watch_only_files(tmp_path: Path) -> None:
    plan = WalletPlan("sandbox", SetupKind.RESTORE, mnemonic=MNEMONIC, password="pw")
    create_wallet_file(tmp_path / "a.sqlite", plan, kdf=FAST_KDF)
    wallet = Wallet.open(tmp_path / "a.sqlite")
    try:
        assert wallet.info.encrypted and not wallet.info.watch_only and wallet.info.template == "bip84"
        assert wallet.addresses(KeychainKind.RECEIVE)[0].address == FIRST_ADDRESS
    finally:
        wallet.close()
    with pytest.raises(WalletError):  # never overwrites a wallet
        create_wallet_file(tmp_path / "a.sqlite", plan, kdf=FAST_KDF)

    create_wallet_file(tmp_path / "b.sqlite", WalletPlan("sandbox", SetupKind.CREATE, template="bip86", mnemonic=MNEMONIC))
    wallet = Wallet.open(tmp_path / "b.sqlite")
    try:
        assert not wallet.info.encrypted and wallet.info.template == "bip86"
        assert wallet.addresses(KeychainKind.RECEIVE)[0].address.startswith("bcrt1p")
    finally:
        wallet.close()

    create_wallet_file(tmp_path / "c.sqlite", WalletPlan("sandbox", SetupKind.WATCH_ONLY, xpub=BIP84_XPUB))
    wallet = Wallet.open(tmp_path / "c.sqlite")
    try:
        assert wallet.info.watch_only and wallet.addresses(KeychainKind.RECEIVE)[0].address == FIRST_ADDRESS
    finally:
        wallet.close()
