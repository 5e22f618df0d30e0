"""The trade escrow on the sandbox network: buyer, seller and arbitrator wallets, each on its own light
node. Both traders fund the escrow (PSBTs exchanged as base64), it confirms; a cooperative release; an
arbitrated payout bumped by RBF and re-signed; the seller's refund refused before T1 (BIP68) and
accepted at T1; and spends made by embit alone from the exported descriptor and the words. Every
balance is checked to the satoshi."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from core.consensus.network import SANDBOX
from core.consensus.tx import OutPoint, Transaction
from core.mempool.feerate import FeeRate
from core.mempool.results import Accepted, Rejected
from core.sandbox.node import SandboxNode
from core.trade.deposit import (
    build_deposit_contribution,
    combine_deposit,
    escrow_outpoint,
    finalize_deposit,
    sign_deposit,
)
from core.trade.escrow import EscrowTerms, TradeKey, derive_trade_key, escrow_descriptor, escrow_spk
from core.trade.payout import (
    PayoutOutput,
    PayoutPath,
    PayoutSpec,
    decode_psbt,
    finalize_payout,
    payout_fee,
    sign_payout,
)
from core.wallet.psbt import combine_psbts, psbt_to_base64
from core.wallet.wallet import Wallet
from tests.functional.embit_support import spend_escrow, trade_key
from tests.functional.sandbox_support import in_mempool, sandbox
from tests.functional.wallet_support import MNEMONIC, OTHER_MNEMONIC, EventLog, attached
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow
SELLER_WORDS, BUYER_WORDS = MNEMONIC, OTHER_MNEMONIC
ARBITRATOR_WORDS = "letter advice cage absurd amount doctor acoustic avoid letter advice cage above"
AMOUNT, SELLER_DEPOSIT, BUYER_DEPOSIT = 1_000_000, 100_000, 50_000
SELLER_IN, ESCROW_VALUE = AMOUNT + SELLER_DEPOSIT, AMOUNT + SELLER_DEPOSIT + BUYER_DEPOSIT
T1 = 6
RATE = FeeRate.per_vb(2)
CAP = 20_000


@dataclass
class Party:
    wallet: Wallet
    log: EventLog

    def total(self) -> int:
        bal = self.wallet.balance()
        return bal.confirmed + bal.unconfirmed

    async def settled(self, amount: int, tip: int) -> None:
        """Wait until the whole balance is `amount`, confirmed, with the wallet at height `tip`."""
        w = self.wallet
        await self.log.wait(lambda: w.tip_height == tip and w.balance().confirmed == amount and w.balance().unconfirmed == 0)


async def _tip(sbx: SandboxNode) -> int:
    return sbx.chain.tip.height


async def _mine(sbx: SandboxNode, parties: list[Party], n: int = 1) -> int:
    await sbx.generate(n)
    tip = await _tip(sbx)
    for p in parties:
        await p.log.wait(lambda p=p: p.wallet.tip_height == tip)
    return tip


async def _fund_deposit(sbx: SandboxNode, seller: Party, buyer: Party, terms: EscrowTerms) -> tuple[Transaction, int, int]:
    """Both sides contribute, each checks and signs the combined PSBT, the seller broadcasts.
    Returns the deposit and the seller's and buyer's fees."""
    spk = escrow_spk(terms)
    s_part = build_deposit_contribution(seller.wallet, SELLER_IN, RATE)
    b_part = build_deposit_contribution(buyer.wallet, BUYER_DEPOSIT, RATE)
    combined = combine_deposit(s_part.psbt, decode_psbt(psbt_to_base64(b_part.psbt)), spk, ESCROW_VALUE)
    wire = psbt_to_base64(combined)  # the seller sends the combined PSBT to the buyer
    at_buyer = decode_psbt(wire)
    await sign_deposit(buyer.wallet, at_buyer, b_part, spk, ESCROW_VALUE, None, RATE)
    at_seller = decode_psbt(wire)
    await sign_deposit(seller.wallet, at_seller, s_part, spk, ESCROW_VALUE, None, RATE)
    tx = finalize_deposit([at_seller, decode_psbt(psbt_to_base64(at_buyer))])
    seller.wallet.broadcast(tx)
    await sbx.wait_for(lambda: in_mempool(sbx, bytes(tx.txid)), 30)
    return tx, s_part.fee, b_part.fee


async def _payout(
    spec: PayoutSpec, signers: list[TradeKey], rate: FeeRate, broadcaster: Party, sbx: SandboxNode, original=None
) -> tuple[Transaction, int]:
    """Build (or bump) the payout, each signer checks and signs its copy; combined, finalized, broadcast."""
    psbt = spec.build(rate) if original is None else spec.bump(original, rate)
    copies = []
    for key in signers:
        mine = decode_psbt(psbt_to_base64(psbt))
        assert sign_payout(mine, key, spec) == 1
        copies.append(decode_psbt(psbt_to_base64(mine)))
    tx = finalize_payout(combine_psbts(copies))
    broadcaster.wallet.broadcast(tx)
    await sbx.wait_for(lambda: in_mempool(sbx, bytes(tx.txid)), 30)
    return tx, payout_fee(psbt, spec.escrow_value)


async def _utxo(sbx: SandboxNode, op: OutPoint):
    return await sbx.run(sbx.chain.chain.get_coin, op)


def test_deposit_cooperative_and_arbitrated_payouts(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "sbx", initial_blocks=110) as sbx:
            wallets = [
                Wallet.create(tmp_path / f"{name}.sqlite", SANDBOX, words, template=template, password=None)
                for name, words, template in (
                    ("seller", SELLER_WORDS, "bip84"), ("buyer", BUYER_WORDS, "bip86"), ("arb", ARBITRATOR_WORDS, "bip84"),
                )
            ]
            seller, buyer, arbitrator = (Party(w, EventLog(w)) for w in wallets)
            everyone = [seller, buyer, arbitrator]
            try:
                async with (
                    attached(seller.wallet, sbx, tmp_path / "ns") as n1,
                    attached(buyer.wallet, sbx, tmp_path / "nb") as n2,
                    attached(arbitrator.wallet, sbx, tmp_path / "na") as n3,
                ):
                    for n in (n1, n2, n3):
                        await n.wait_synced(60)
                    for party, amounts in ((seller, (1_500_000, 1_500_000)), (buyer, (200_000, 200_000))):
                        for amount in amounts:
                            await sbx.faucet(party.wallet.new_address().script_pubkey, amount)
                    tip = await _mine(sbx, everyone)
                    await seller.settled(3_000_000, tip)
                    await buyer.settled(400_000, tip)
                    s_bal, b_bal = 3_000_000, 400_000

                    # -- trade 0: deposit, then the cooperative release ---------------------------------
                    keys = [await derive_trade_key(p.wallet, 0, None) for p in (buyer, seller, arbitrator)]
                    b_key, s_key, a_key = keys
                    terms = EscrowTerms(b_key.xonly, s_key.xonly, a_key.xonly, T1, SANDBOX)
                    deposit, s_fee, b_fee = await _fund_deposit(sbx, seller, buyer, terms)
                    tip = await _mine(sbx, everyone)
                    s_bal, b_bal = s_bal - SELLER_IN - s_fee, b_bal - BUYER_DEPOSIT - b_fee
                    await seller.settled(s_bal, tip)
                    await buyer.settled(b_bal, tip)
                    escrow = escrow_outpoint(deposit, escrow_spk(terms))
                    coin = await _utxo(sbx, escrow)
                    assert coin is not None and coin.height == tip and coin.txout.value == ESCROW_VALUE

                    release = (
                        PayoutOutput(buyer.wallet.new_address().script_pubkey, AMOUNT + BUYER_DEPOSIT, pays_fee=True),
                        PayoutOutput(seller.wallet.new_address().script_pubkey, SELLER_DEPOSIT),
                    )
                    spec = PayoutSpec(escrow, ESCROW_VALUE, terms, release, PayoutPath.COOPERATIVE, CAP)
                    payout, fee = await _payout(spec, [s_key, b_key], RATE, buyer, sbx)
                    tip = await _mine(sbx, everyone)
                    s_bal, b_bal = s_bal + SELLER_DEPOSIT, b_bal + AMOUNT + BUYER_DEPOSIT - fee
                    await seller.settled(s_bal, tip)
                    await buyer.settled(b_bal, tip)
                    assert await _utxo(sbx, escrow) is None
                    assert (await _utxo(sbx, OutPoint(payout.txid, 0))).height == tip

                    # -- trade 1: the buyer claims payment falsely; arbitrator + seller refund it -------
                    keys = [await derive_trade_key(p.wallet, 1, None) for p in (buyer, seller, arbitrator)]
                    b_key, s_key, a_key = keys
                    terms = EscrowTerms(b_key.xonly, s_key.xonly, a_key.xonly, T1, SANDBOX)
                    deposit, s_fee, b_fee = await _fund_deposit(sbx, seller, buyer, terms)
                    tip = await _mine(sbx, everyone)
                    s_bal, b_bal = s_bal - SELLER_IN - s_fee, b_bal - BUYER_DEPOSIT - b_fee
                    await seller.settled(s_bal, tip)
                    await buyer.settled(b_bal, tip)
                    ruling = (
                        PayoutOutput(seller.wallet.new_address().script_pubkey, SELLER_IN + BUYER_DEPOSIT, pays_fee=True),
                    )
                    spec = PayoutSpec(escrow_outpoint(deposit, escrow_spk(terms)), ESCROW_VALUE, terms, ruling,
                                      PayoutPath.ARBITRATED, CAP)
                    slow, slow_fee = await _payout(spec, [a_key, s_key], FeeRate.per_vb(1), seller, sbx)
                    # Stuck at 1 sat/vB: bumped by replacement, signed again by the same two.
                    fast, fee = await _payout(spec, [a_key, s_key], FeeRate.per_vb(6), seller, sbx,
                                              original=spec.build(FeeRate.per_vb(1)))
                    assert fee > slow_fee and not in_mempool(sbx, bytes(slow.txid))
                    tip = await _mine(sbx, everyone)
                    s_bal += SELLER_IN + BUYER_DEPOSIT - fee
                    await seller.settled(s_bal, tip)
                    await buyer.settled(b_bal, tip)  # the buyer lost its deposit
                    assert seller.wallet.transaction(fast.txid) is not None
                    assert seller.wallet.transaction(slow.txid) is None
                    await arbitrator.settled(0, tip)
            finally:
                for p in everyone:
                    p.wallet.close()

    run(scenario)


def test_refund_after_t1_and_independent_spends_with_embit(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "sbx", initial_blocks=110) as sbx:
            s_wallet = Wallet.create(tmp_path / "s.sqlite", SANDBOX, SELLER_WORDS, password=None)
            b_wallet = Wallet.create(tmp_path / "b.sqlite", SANDBOX, BUYER_WORDS, template="bip86", password=None)
            seller, buyer = Party(s_wallet, EventLog(s_wallet)), Party(b_wallet, EventLog(b_wallet))
            both = [seller, buyer]
            try:
                async with attached(s_wallet, sbx, tmp_path / "ns") as n1, attached(b_wallet, sbx, tmp_path / "nb") as n2:
                    await n1.wait_synced(60)
                    await n2.wait_synced(60)
                    await sbx.faucet(s_wallet.new_address().script_pubkey, 1_500_000)
                    await sbx.faucet(b_wallet.new_address().script_pubkey, 200_000)
                    tip = await _mine(sbx, both)
                    await seller.settled(1_500_000, tip)

                    # -- the buyer and the arbitrator vanish: the seller's refund after T1 ---------------
                    a_key = TradeKey.from_secret(b"\x0a" * 32)  # an arbitrator that never shows up
                    b_key = await derive_trade_key(b_wallet, 0, None)
                    s_key = await derive_trade_key(s_wallet, 0, None)
                    terms = EscrowTerms(b_key.xonly, s_key.xonly, a_key.xonly, T1, SANDBOX)
                    deposit, s_fee, b_fee = await _fund_deposit(sbx, seller, buyer, terms)
                    conf = await _mine(sbx, both)
                    s_bal, b_bal = 1_500_000 - SELLER_IN - s_fee, 200_000 - BUYER_DEPOSIT - b_fee
                    await seller.settled(s_bal, conf)
                    await buyer.settled(b_bal, conf)
                    refund = (PayoutOutput(s_wallet.new_address().script_pubkey, ESCROW_VALUE, pays_fee=True),)
                    spec = PayoutSpec(escrow_outpoint(deposit, escrow_spk(terms)), ESCROW_VALUE, terms, refund,
                                      PayoutPath.REFUND_AFTER_T1, CAP)
                    psbt = spec.build(RATE)
                    sign_payout(psbt, s_key, spec)
                    tx = finalize_payout(psbt)
                    # The next block is conf + 1: BIP68 lets the refund in only at block conf + T1.
                    await _mine(sbx, both, T1 - 2)
                    early = await sbx.submit_tx(tx)
                    assert isinstance(early, Rejected) and early.reason == "non-BIP68-final", early
                    await _mine(sbx, both, 1)  # the tip is conf + T1 - 1: the next block may hold it
                    s_wallet.broadcast(tx)
                    await sbx.wait_for(lambda: in_mempool(sbx, bytes(tx.txid)), 30)
                    tip = await _mine(sbx, both)
                    assert tip == conf + T1
                    s_bal += ESCROW_VALUE - payout_fee(psbt, ESCROW_VALUE)
                    await seller.settled(s_bal, tip)
                    await buyer.settled(b_bal, tip)

                    # -- recovery without this app: embit, the descriptor text and the words ---------------
                    e_buyer, e_seller = trade_key(BUYER_WORDS, 7), trade_key(SELLER_WORDS, 7)
                    assert e_buyer.xonly() == (await derive_trade_key(b_wallet, 7, None)).xonly
                    assert e_seller.xonly() == (await derive_trade_key(s_wallet, 7, None)).xonly
                    terms = EscrowTerms(e_buyer.xonly(), e_seller.xonly(), a_key.xonly, T1, SANDBOX)
                    exported = escrow_descriptor(terms)  # what a user backs up / exports
                    spk = escrow_spk(terms)
                    funding = [await sbx.faucet(spk, 400_000), await sbx.faucet(spk, 300_000)]
                    funded = await _mine(sbx, both)
                    ops = [OutPoint(f.txid, next(i for i, o in enumerate(f.vout) if o.script_pubkey == spk)) for f in funding]
                    fee = 1_000
                    # Cooperative: buyer + seller sign with embit; paid to the buyer's wallet.
                    dest = b_wallet.new_address().script_pubkey
                    raw = spend_escrow(exported, str(ops[0].txid), ops[0].n, 400_000, dest, fee, [e_buyer, e_seller], 0, 0xFFFFFFFD)
                    assert isinstance(await sbx.submit_tx(Transaction.parse(raw)), Accepted)
                    # Refund: the seller alone, nSequence T1, once T1 blocks have passed.
                    dest_s = s_wallet.new_address().script_pubkey
                    raw_r = spend_escrow(exported, str(ops[1].txid), ops[1].n, 300_000, dest_s, fee, [e_seller], 1, T1)
                    assert isinstance(await sbx.submit_tx(Transaction.parse(raw_r)), Rejected)
                    await _mine(sbx, both, T1 - 1)
                    assert isinstance(await sbx.submit_tx(Transaction.parse(raw_r)), Accepted)
                    tip = await _mine(sbx, both)
                    assert tip == funded + T1
                    for op in ops:
                        assert await _utxo(sbx, op) is None
                    await buyer.settled(b_bal + 400_000 - fee, tip)
                    await seller.settled(s_bal + 300_000 - fee, tip)
            finally:
                s_wallet.close()
                b_wallet.close()

    run(scenario)
