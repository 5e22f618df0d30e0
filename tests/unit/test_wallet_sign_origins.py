"""Which PSBT key origins a seed wallet signs for: its master fingerprint with the full path, and (regression)
the account key's own fingerprint with the path below it — what a watch-only wallet made from the bare
account xpub writes, since it knows no origin. A wrong path under a known fingerprint is refused."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core.consensus.hashes import Txid
from core.consensus.network import REGTEST
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.wallet.bip32 import HARDENED, ExtendedKey
from core.wallet.bip39 import mnemonic_to_seed
from core.wallet.errors import WalletError
from core.wallet.keychain import TEMPLATES, KeychainKind
from core.wallet.psbt import KeyOrigin, Psbt, TapKeyOrigin, create_psbt
from core.wallet.tx_builder import annotate_psbt
from core.wallet.wallet import Wallet

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
OTHER = b"\x00\x14" + bytes(range(20))


def _psbt_for(wallet: Wallet, index: int) -> Psbt:
    """A one-input PSBT spending a coin at `wallet`'s receive `index`, annotated by `wallet`'s keychain."""
    spk = wallet.keychain.script_pubkey(KeychainKind.RECEIVE, index)
    tx = Transaction(vin=(TxIn(OutPoint(Txid(b"\x07" * 32), 1), sequence=0xFFFFFFFD),), vout=(TxOut(40_000, OTHER),))
    psbt = create_psbt(tx)
    annotate_psbt(psbt, [TxOut(50_000, spk)], wallet.keychain)
    return psbt


def _origins(psbt: Psbt) -> list[tuple[bytes, tuple[int, ...]]]:
    inp = psbt.inputs[0]
    found = [(o.fingerprint, tuple(o.path)) for o in inp.bip32_derivation.values()]
    return found + [(t.origin.fingerprint, tuple(t.origin.path)) for t in inp.tap_bip32_derivation.values()]


@pytest.mark.parametrize("template", ["bip84", "bip86"])
def test_seed_wallet_signs_for_master_and_bare_account_origins(tmp_path: Path, template: str) -> None:
    root = ExtendedKey.from_seed(mnemonic_to_seed(MNEMONIC, ""))
    account_path = (TEMPLATES[template][1] | HARDENED, 1 | HARDENED, HARDENED)  # BIP84/86 account 0, test coin
    account = root.derive_path(list(account_path))
    seed = Wallet.create(tmp_path / "s.sqlite", REGTEST, MNEMONIC, template=template, password=None)
    bare = Wallet.create_watch_only(tmp_path / "b.sqlite", REGTEST, xpub=account.neuter().to_string(REGTEST), template=template)
    try:
        own = _psbt_for(seed, 4)
        assert _origins(own) == [(root.fingerprint, (*account_path, 0, 4))]
        assert seed.sign_blocking(own, None) == 1
        from_bare = _psbt_for(bare, 4)
        assert _origins(from_bare) == [(account.fingerprint, (0, 4))]  # no origin known: the xpub's own
        assert seed.sign_blocking(from_bare, None) == 1
        assert seed.finalize(from_bare).txid == seed.finalize(own).txid
        with pytest.raises(WalletError, match="watch-only"):
            bare.sign_blocking(_psbt_for(bare, 4), None)
        # A known fingerprint with a path that does not lead to the input's key is refused.
        lying = _psbt_for(bare, 4)
        inp = lying.inputs[0]
        for table in (inp.bip32_derivation, inp.tap_bip32_derivation):
            for key, origin in list(table.items()):
                table[key] = _with_path(origin, (0, 5))
        with pytest.raises(WalletError, match="does not derive"):
            seed.sign_blocking(lying, None)
    finally:
        seed.close()
        bare.close()


def _with_path(origin: KeyOrigin | TapKeyOrigin, path: tuple[int, ...]) -> KeyOrigin | TapKeyOrigin:
    """The same origin (plain or taproot) with another derivation path."""
    if isinstance(origin, TapKeyOrigin):
        return dataclasses.replace(origin, origin=dataclasses.replace(origin.origin, path=path))
    return dataclasses.replace(origin, path=path)
