"""A watch-only wallet made from the seed wallet's account xpub (BIP84 and BIP86), on the sandbox network
through its own light node: it sees the same addresses, coins and balance as the seed wallet, drafts a
payment as a PSBT that travels as base64 and as a binary file to signers holding the seed (a `Wallet`
restored from the words, and bare BIP32 keys through `sign_psbt`, each signing one input), and broadcasts
the combined, finalized transaction itself. Signing on the watch-only wallet raises a clear WalletError."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.consensus.network import SANDBOX
from core.mempool.feerate import FeeRate
from core.wallet.bip32 import HARDENED, ExtendedKey
from core.wallet.bip39 import mnemonic_to_seed
from core.wallet.errors import WalletError
from core.wallet.keychain import TEMPLATES, KeychainKind
from core.wallet.psbt import (
    combine_psbts,
    parse_psbt,
    psbt_from_base64,
    psbt_to_base64,
    serialize_psbt,
    sign_psbt,
)
from core.wallet.spending import Payment
from core.wallet.storage.secrets import KdfParams
from core.wallet.wallet import Wallet
from tests.functional.sandbox_support import in_mempool, sandbox
from tests.functional.wallet_support import MNEMONIC, OTHER_MNEMONIC, EventLog, attached
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow
FAST_KDF = KdfParams(log2_n=10)
PASSWORD = "offline signer"
R, C = KeychainKind.RECEIVE, KeychainKind.CHANGE


def _account(template: str) -> ExtendedKey:
    """The BIP84/BIP86 account 0 private key of MNEMONIC on a test network (coin type 1)."""
    purpose = TEMPLATES[template][1]
    root = ExtendedKey.from_seed(mnemonic_to_seed(MNEMONIC, ""))
    return root.derive_path([purpose | HARDENED, 1 | HARDENED, 0 | HARDENED])


def _assert_same(watch: Wallet, seed: Wallet) -> None:
    """Both wallets agree on addresses (derived and used), coins, balance and history."""
    for k in KeychainKind:
        assert [(a.index, a.address, a.used) for a in watch.addresses(k)] == [
            (a.index, a.address, a.used) for a in seed.addresses(k)
        ]
    def coins(w: Wallet) -> list[tuple[object, ...]]:
        return sorted((str(c.outpoint), c.value, c.address, c.kind, c.index, c.height) for c in w.coins())

    assert coins(watch) == coins(seed)
    assert watch.balance() == seed.balance()
    assert [(r.txid, r.height, r.net, r.fee) for r in watch.history()[0]] == [
        (r.txid, r.height, r.net, r.fee) for r in seed.history()[0]
    ]


@pytest.mark.parametrize("template", ["bip84", "bip86"])
def test_watch_only_drafts_offline_signers_sign_it_broadcasts(tmp_path: Path, template: str) -> None:
    account = _account(template)
    xpub = account.neuter().to_string(SANDBOX)

    async def scenario() -> None:
        async with sandbox(tmp_path, "sbx", initial_blocks=110) as sbx:
            seed = Wallet.create(tmp_path / "seed.sqlite", SANDBOX, MNEMONIC, template=template, password=None)
            watch = Wallet.create_watch_only(tmp_path / "watch.sqlite", SANDBOX, xpub=xpub, template=template)
            other = Wallet.create(tmp_path / "other.sqlite", SANDBOX, OTHER_MNEMONIC, password=None)
            seed_log, watch_log = EventLog(seed), EventLog(watch)
            try:
                assert xpub in seed.info.receive_descriptor and xpub in seed.info.change_descriptor
                assert watch.info.watch_only and not seed.info.watch_only and watch.info.template == template
                async with attached(seed, sbx, tmp_path / "n-seed") as n1, attached(watch, sbx, tmp_path / "n-watch") as n2:
                    await n1.wait_synced(60)
                    await n2.wait_synced(60)
                    handed = [(seed.new_address(), watch.new_address()) for _ in range(3)]
                    assert all((s.index, s.address, s.script_pubkey) == (w.index, w.address, w.script_pubkey) for s, w in handed)
                    # Two payments to handed-out addresses, one to a change index (as a change output would be).
                    for (addr, _), amount in zip(handed[:2], (400_000, 250_000), strict=True):
                        await sbx.faucet(addr.script_pubkey, amount)
                    await sbx.faucet(seed.keychain.script_pubkey(C, 0), 120_000)
                    await watch_log.wait(lambda: watch.balance().unconfirmed == 770_000)
                    await sbx.generate(1)
                    for w, log in ((seed, seed_log), (watch, watch_log)):
                        await log.wait(lambda w=w: w.balance().confirmed == 770_000 and w.tip_height == 111)
                    _assert_same(watch, seed)

                    # The watch-only wallet drafts; it cannot sign.
                    dest = other.new_address().address
                    draft = watch.draft([Payment(dest, 500_000)], FeeRate.per_vb(3))
                    assert len(draft.inputs) >= 2 and draft.fee >= 3 * draft.vsize
                    assert [o.amount for o in draft.outputs if not o.is_mine] == [500_000]
                    with pytest.raises(WalletError, match="watch-only"):
                        await watch.sign(draft.psbt, None)
                    with pytest.raises(WalletError, match="watch-only"):
                        watch.sign_blocking(draft.psbt, None)
                    text = psbt_to_base64(draft.psbt)
                    (tmp_path / "unsigned.psbt").write_bytes(serialize_psbt(draft.psbt))

                    # Signer 1: a wallet restored from the words on an offline machine (never attached).
                    signer = Wallet.create(
                        tmp_path / "signer.sqlite", SANDBOX, MNEMONIC, template=template, password=PASSWORD, kdf=FAST_KDF
                    )
                    try:
                        from_text = psbt_from_base64(text)
                        assert await signer.sign(from_text, PASSWORD) == len(draft.inputs)
                    finally:
                        signer.close()
                    signed_text = psbt_to_base64(from_text)

                    # Signers 2 and 3: bare BIP32 keys, one input each, on copies of the binary file.
                    halves = []
                    for i in range(2):
                        part = parse_psbt((tmp_path / "unsigned.psbt").read_bytes())
                        inp = part.inputs[i]
                        paths = [o.path for o in inp.bip32_derivation.values()]
                        paths += [t.origin.path for t in inp.tap_bip32_derivation.values()]
                        assert len(paths) == 1 and len(paths[0]) == 2  # relative to the account xpub
                        assert sign_psbt(part, [account.derive_path(list(paths[0])).secret]) == 1
                        halves.append(part)
                    combined = combine_psbts(halves)
                    for j in range(2, len(draft.inputs)):  # any further inputs: the restored wallet's signatures
                        combined.inputs[j] = psbt_from_base64(signed_text).inputs[j]
                    by_keys = watch.finalize(combined)

                    # The watch-only wallet combines the returned PSBT with its own, finalizes and broadcasts.
                    tx = watch.finalize(combine_psbts([draft.psbt, psbt_from_base64(signed_text)]))
                    assert by_keys.txid == tx.txid
                    watch.broadcast(tx)
                    await sbx.wait_for(lambda: in_mempool(sbx, bytes(tx.txid)), 30)
                    left = 770_000 - 500_000 - draft.fee
                    await seed_log.wait(lambda: seed.balance().spendable == left)  # the seed wallet's node sees it
                    assert watch.balance().spendable == left
                    await sbx.generate(1)
                    for w, log in ((seed, seed_log), (watch, watch_log)):
                        await log.wait(lambda w=w: w.balance().confirmed == left and w.balance().unconfirmed == 0)
                    assert watch.transaction(tx.txid) is not None and seed.transaction(tx.txid) is not None
                    _assert_same(watch, seed)
                    assert [a.index for a in watch.addresses(C, handed_out_only=True)] == [1]  # its change
            finally:
                for w in (seed, watch, other):
                    w.close()

    run(scenario)
