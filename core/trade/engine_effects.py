"""Executing the protocol's effects: signatures, deposit contributions and broadcasts, payouts, disputes,
rulings, receipts and offer status — each against the persisted trade, under its lock.

An effect's result (the new context and the messages it sends) is committed together with the effect's
"done" mark, so a crash either re-runs the whole effect or none of it; what an effect does outside
the store (freezing coins, broadcasting a transaction) is idempotent. Deterministic failures (a PSBT
that does not check, coins that do not suffice) are final and reported; others are retried with
backoff. Nothing here decides anything: the protocol tables did, including that SIGN_RELEASE exists
only after the seller's explicit "received" action.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.consensus.tx import OutPoint, Transaction
from core.mempool.feerate import FeeRate
from core.node.filter_check import block_problem
from core.trade.context import Role, TradeContext
from core.trade.contract import Contract, PayoutKind, SignedContract, parse_outpoint
from core.trade.deposit import build_deposit_contribution, check_deposit_psbt, finalize_deposit, sign_deposit
from core.trade.errors import ContractError, EscrowError, ProtocolError, PsbtCheckError, ReputationError
from core.trade.escrow import escrow_scripts
from core.trade.messages import MAX_TRANSCRIPT, MsgKind, identity_message
from core.trade.payout import decode_psbt, finalize_payout, payout_vsize, sign_payout
from core.trade.protocol_types import Effect, Ev, Event, Op
from core.trade.reputation import Receipt
from core.trade.rules import send
from core.trade.rules_after import receipt_core
from core.trade.store import PendingEffect, TradeRow
from core.wallet.errors import InsufficientFunds, WrongPassword
from core.wallet.psbt import Psbt, psbt_to_base64

if TYPE_CHECKING:
    from core.trade.engine import TradeEngine

log = logging.getLogger(__name__)
FINAL_ERRORS = (PsbtCheckError, EscrowError, ContractError, ProtocolError, ReputationError, InsufficientFunds, WrongPassword)
MAX_ATTEMPTS = 6
EVIDENCE_CHARS = 20_000
DEFAULT_FEE_RATE = FeeRate.per_vb(2)


@dataclass
class Outcome:
    """What an effect changed: the new context (None: unchanged), messages to send, and what to do once
    committed (freeze coins, feed our own broadcast to the chain watch, ...)."""

    ctx: TradeContext | None = None
    sends: list[Effect] = dataclasses.field(default_factory=list)
    after: Callable[[], None] | None = None


def _stripped(psbt: Psbt) -> Psbt:
    """A copy without our key origins (the peer needs none of them)."""
    out = copy.deepcopy(psbt)
    for m in (*out.inputs, *out.outputs):
        m.bip32_derivation.clear()
        m.tap_bip32_derivation.clear()
    return out


def classify_spend(contract: Contract, tx: Transaction, index: int) -> Ev:
    """Which payout a transaction spending the escrow is, from its witness and outputs."""
    witness = tx.vin[index].witness
    scripts = escrow_scripts(contract.escrow_terms())
    if len(witness) >= 2 and witness[-2] == scripts.refund_leaf.leaf.script:
        return Ev.REFUNDED
    sigs = witness[:-2]
    if contract.arbitrator is not None and len(sigs) == 3 and sigs[0]:  # multi_a: the last key's slot comes first
        return Ev.RULING_PAID
    to_buyer = sum(o.value for o in tx.vout if o.script_pubkey == bytes.fromhex(contract.buyer.payout_spk))
    return Ev.RELEASED if to_buyer > contract.buyer_deposit_sat else Ev.CANCEL_PAID


class EffectRunner:
    """Runs the effects of one engine (see the module docstring)."""

    def __init__(self, engine: TradeEngine) -> None:
        self.e = engine
        self.ops: dict[Op, Callable[[TradeRow, dict[str, Any]], Awaitable[Outcome]]] = {
            Op.SEND_ACCEPT: self._send_accept, Op.SEND_CONTRACT_SIG: self._send_contract_sig,
            Op.WATCH_ESCROW: self._watch_escrow, Op.SEND_DEPOSIT_PART: self._send_deposit_part,
            Op.SEND_DEPOSIT_PSBT: self._send_deposit_psbt, Op.SIGN_DEPOSIT: self._sign_deposit,
            Op.BROADCAST_DEPOSIT: self._broadcast_deposit, Op.SIGN_RELEASE: self._sign_release,
            Op.BROADCAST_PAYOUT: self._broadcast_payout, Op.PROPOSE_CANCEL: self._propose_cancel,
            Op.OPEN_DISPUTE: self._open_dispute, Op.SEND_EVIDENCE: self._send_evidence,
            Op.SIGN_RULING: self._sign_ruling, Op.REFUND_AFTER_T1: self._refund,
            Op.RELEASE_COINS: self._release_coins, Op.SIGN_RECEIPT: self._sign_receipt,
            Op.SAVE_RECEIPT: self._save_receipt, Op.OFFER_STATUS: self._offer_status,
            Op.CHECK_DEPOSIT: self._check_deposit,
        }

    # -- scheduling -------------------------------------------------------------------------------------

    def schedule(self, pending: PendingEffect, delay: float = 0.0) -> None:
        if self.e._closed:
            return
        if delay:
            asyncio.get_running_loop().call_later(delay, self.schedule, pending)
            return
        self.e._spawn(self.run(pending), f"trade effect {pending.effect.op.value}")

    async def run(self, p: PendingEffect) -> None:
        from core.trade.updates import TradeUpdate

        async with self.e.lock(p.trade_id):
            if all(q.id != p.id for q in self.e.store.pending_effects(p.trade_id)):
                return  # done meanwhile (a duplicate schedule)
            row = self.e.store.trade(p.trade_id)
            if row is None:
                self.e.store.effect_failed(p.id, "no such trade", give_up=True)
                return
            try:
                out = await self.ops[p.effect.op](row, dict(p.effect.args))
                ctx = out.ctx or row.ctx
                key = await self.e.signer_for(ctx)
                self.e.store.commit(
                    p.trade_id, state=row.state if out.ctx else None, ctx=out.ctx, effects=out.sends, done_effect=p.id,
                    sign_send=self.e.sign_send(ctx, key),
                )
            except asyncio.CancelledError:
                raise
            except Exception as err:
                final = isinstance(err, FINAL_ERRORS) or p.attempts + 1 >= MAX_ATTEMPTS
                self.e.store.effect_failed(p.id, f"{type(err).__name__}: {err}", give_up=final)
                log.warning("trade %s: %s failed (%s): %s", p.trade_id, p.effect.op.value, "final" if final else "retrying", err)
                self.e.emit(TradeUpdate(p.trade_id, row.state, "effect_failed", {"op": p.effect.op.value, "error": str(err), "final": final}))
                if not final:
                    self.schedule(dataclasses.replace(p, attempts=p.attempts + 1), delay=2.0 ** p.attempts)
                return
        if out.after is not None:
            out.after()
        if out.sends:
            self.e.kick_outbox()
        self.e.emit(TradeUpdate(p.trade_id, row.state, "effect_done", {"op": p.effect.op.value}))

    # -- helpers ----------------------------------------------------------------------------------------

    async def fee_rate(self) -> FeeRate:
        if self.e.fee_rate is not None:
            return self.e.fee_rate
        try:
            estimates = await self.e.node.estimate_fees((6,))
            return max(estimates[0].fee_rate, FeeRate.per_vb(1))
        except Exception:
            return DEFAULT_FEE_RATE

    async def payout_rate(self, contract: Contract, kind: PayoutKind, ruling: tuple[int, int] | None = None) -> FeeRate:
        """Our fee rate, lowered if needed so the payout's fee stays within the contract's cap."""
        spec = contract.payout_spec(kind, OutPoint(bytes(32), 0), ruling)  # type: ignore[arg-type]
        vsize = payout_vsize(spec.terms, spec.outputs, spec.path)
        return min(await self.fee_rate(), FeeRate.from_fee(contract.payout_fee_cap_sat, vsize))

    @staticmethod
    def outpoint(tx: Transaction, vout: int) -> OutPoint:
        return OutPoint(tx.txid, vout)

    def refreeze(self, ctx: TradeContext) -> None:
        """Freeze the coins reserved for a deposit again (after a restart, or a crash before freezing)."""
        for op in ctx.reserved:
            self.e.wallet.set_frozen(parse_outpoint(op), True)

    def _broadcast(self, tx: Transaction) -> Callable[[], None]:
        self.e.broadcasts.append(self.e.wallet.broadcast(tx))
        return lambda: self.e.watch.transactions_seen([tx])

    def rebroadcast(self, rows: list[TradeRow]) -> None:
        """Announce again the unconfirmed deposits and payouts of our trades (a payout spends no coin of
        the wallet, so the wallet's own rebroadcast does not cover it)."""
        for row in rows:
            ctx = row.ctx
            for raw, confirmed in ((ctx.deposit_tx, ctx.deposit_height >= 0), (ctx.payout_tx, ctx.payout_height >= 0)):
                if raw and not confirmed and ctx.role is not Role.ARBITRATOR:
                    self.e.broadcasts.append(self.e.wallet.broadcast(Transaction.parse(bytes.fromhex(raw))))

    # -- take and contract --------------------------------------------------------------------------------

    async def new_take(self, msg: Any) -> None:
        """Maker: a take of one of our offers creates the trade (or gets a REJECT)."""
        from core.trade.updates import TradeUpdate

        offer_id = msg.body.get("offer_id", "")
        async with self.e.lock("offer:" + offer_id):
            found = self.e.store.offer(offer_id)
            if found is None or not found[1]:
                return
            offer_json, _, status, local = found
            pair = await self.e.keys.pair(local["key_index"])
            if pair.nostr.xonly != msg.recipient or self.e.store.trade(msg.trade_id) is not None:
                return
            from core.trade.context import role_of
            from core.trade.offer import Offer

            offer = Offer.from_json(offer_json)
            now = int(self.e.clock())
            ctx = TradeContext(
                msg.trade_id, role_of(offer, True), True, offer_json, pair.nostr.xonly, key_index=local["key_index"],
                created_at=now, my_party=local["party"], my_account=local["account"], my_salt=local["salt"],
            )
            # A trade of this offer under way also means taken: a kill between its commit and the status
            # change below left the offer "open" (until its OFFER_STATUS effect runs again).
            busy = any(r.ctx.maker and r.ctx.offer.get("id") == offer_id for r in self.e.store.trades(open_only=True))
            event = Event.message(msg, now, self.e.tip, offer_open=status == "open" and not busy and now < offer.expires_at,
                                  market_price=self.e.market_price(offer.currency))
            try:
                await self.e.apply(msg.trade_id, event, create=ctx)
            except ProtocolError as err:
                reject_ctx = dataclasses.replace(ctx, peer_nostr=msg.sender)
                self.e.send_now(msg.trade_id, reject_ctx, pair.nostr, MsgKind.REJECT, {"reason": str(err)[:500]}, incoming=msg)
                self.e.emit(TradeUpdate(msg.trade_id, None, "rejected", {"reason": str(err), "kind": "take"}))
                return
            self.e.store.set_offer_status(offer_id, "taken")  # before the lock is released: one take at a time

    async def offer_key_for(self, xonly: str) -> Any:
        for offer, mine, _status in self.e.store.offers(mine=True):
            found = self.e.store.offer(offer["id"])
            if mine and found is not None and offer["maker_nostr"] == xonly:
                return (await self.e.keys.pair(found[3]["key_index"])).nostr
        raise ProtocolError("no key of ours sent this message")

    def _my_receipts(self) -> list[dict[str, Any]]:
        return self.e.store.receipts(self.e.keys.identity.xonly)[-10:]

    async def _send_accept(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        ctx = row.ctx
        c, pair = ctx.contract_obj(), await self.e.keys.pair(ctx.key_index)
        sig = c.sign(pair.escrow_signer)
        ident = self.e.keys.identity.sign_schnorr(identity_message(ctx.trade_id, pair.nostr.xonly, pair.escrow_xonly)).hex()
        field = "buyer_sig" if ctx.role is Role.BUYER else "seller_sig"
        body = {"contract": c.to_json(), "sig": sig, "identity_sig": ident, "receipts": self._my_receipts()}
        return Outcome(dataclasses.replace(ctx, **{field: sig}), [send(MsgKind.ACCEPT, body)])

    async def _send_contract_sig(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        ctx = row.ctx
        sig = ctx.contract_obj().sign((await self.e.keys.pair(ctx.key_index)).escrow_signer)
        field = "buyer_sig" if ctx.role is Role.BUYER else "seller_sig"
        return Outcome(dataclasses.replace(ctx, **{field: sig}), [send(MsgKind.CONTRACT_SIG, {"sig": sig})])

    async def _watch_escrow(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        ctx = row.ctx
        start = ctx.watch_from if ctx.watch_from >= 0 else max(self.e.tip, getattr(self.e.node, "tip_height", 0), 0)
        if ctx.role is Role.ARBITRATOR and args.get("height", -1) >= 0:
            start = min(start, args["height"])
        outpoint = ctx.deposit_outpoint() if ctx.deposit_txid else None
        self.e.watch.watch(ctx.trade_id, ctx.contract_obj().escrow_spk(), start, outpoint)
        return Outcome(dataclasses.replace(ctx, watch_from=start))

    # -- deposit ---------------------------------------------------------------------------------------

    async def _contribute(self, ctx: TradeContext, amount: int) -> tuple[Any, TradeContext]:
        part = build_deposit_contribution(self.e.wallet, amount, await self.fee_rate())
        reserved = tuple(f"{op.txid}:{op.n}" for op in part.outpoints)
        ctx = dataclasses.replace(
            ctx, my_part=psbt_to_base64(part.psbt), my_part_amount=part.amount, my_part_fee=part.fee, reserved=reserved
        )
        return part, ctx

    async def _send_deposit_part(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        part, ctx = await self._contribute(row.ctx, row.ctx.contract_obj().buyer_deposit_sat)
        return Outcome(ctx, [send(MsgKind.DEPOSIT_PART, {"psbt": psbt_to_base64(_stripped(part.psbt))})], lambda: self.refreeze(ctx))

    async def _send_deposit_psbt(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        c = row.ctx.contract_obj()
        own, ctx = await self._contribute(row.ctx, c.seller_funding)
        from core.trade.deposit import combine_deposit

        combined = combine_deposit(_stripped(own.psbt), decode_psbt(row.ctx.peer_part), c.escrow_spk(), c.escrow_value)
        check_deposit_psbt(combined, own, c.escrow_spk(), c.escrow_value)
        ctx = dataclasses.replace(ctx, deposit_psbt=psbt_to_base64(combined))
        return Outcome(ctx, [send(MsgKind.DEPOSIT_PSBT, {"psbt": ctx.deposit_psbt})], lambda: self.refreeze(ctx))

    def _own_part(self, ctx: TradeContext) -> Any:
        from core.trade.rules import own_contribution

        return own_contribution(ctx)

    async def _sign_deposit(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        ctx, c = row.ctx, row.ctx.contract_obj()
        psbt = decode_psbt(ctx.deposit_psbt)
        await sign_deposit(self.e.wallet, psbt, self._own_part(ctx), c.escrow_spk(), c.escrow_value, self.e.password)
        outpoint = OutPoint(psbt.tx.txid, next(n for n, o in enumerate(psbt.tx.vout) if o.script_pubkey == c.escrow_spk()))
        att = c.sign_deposit((await self.e.keys.pair(ctx.key_index)).escrow_signer, outpoint)
        ctx = dataclasses.replace(ctx, deposit_signed=True, buyer_attestation=att)
        return Outcome(ctx, [send(MsgKind.DEPOSIT_SIGNED, {"psbt": psbt_to_base64(psbt), "attestation": att})])

    async def _broadcast_deposit(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        ctx, c = row.ctx, row.ctx.contract_obj()
        psbt = decode_psbt(ctx.deposit_psbt)
        await sign_deposit(self.e.wallet, psbt, self._own_part(ctx), c.escrow_spk(), c.escrow_value, self.e.password)
        tx = finalize_deposit([psbt, decode_psbt(ctx.peer_part)])
        vout = next(n for n, o in enumerate(tx.vout) if o.script_pubkey == c.escrow_spk())
        att = c.sign_deposit((await self.e.keys.pair(ctx.key_index)).escrow_signer, OutPoint(tx.txid, vout))
        after = self._broadcast(tx)
        ctx = dataclasses.replace(
            ctx, deposit_signed=True, seller_attestation=att, deposit_tx=tx.serialize().hex(), deposit_txid=str(tx.txid),
            deposit_vout=vout,
        )
        body = {"tx": ctx.deposit_tx, "attestation": att, "account": ctx.my_account, "salt": ctx.my_salt}
        return Outcome(ctx, [send(MsgKind.DEPOSIT_PUBLISHED, body)], after)

    async def _release_coins(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        for op in row.ctx.reserved:
            self.e.wallet.set_frozen(parse_outpoint(op), False)
        return Outcome(dataclasses.replace(row.ctx, reserved=()))

    # -- payouts -----------------------------------------------------------------------------------------

    async def _signed_payout(self, ctx: TradeContext, kind: PayoutKind, ruling: tuple[int, int] | None = None) -> Psbt:
        c = ctx.contract_obj()
        spec = c.payout_spec(kind, ctx.deposit_outpoint(), ruling)
        psbt = spec.build(await self.payout_rate(c, kind, ruling))
        key = self.e.keys.arbitrator_escrow if ctx.role is Role.ARBITRATOR else (await self.e.keys.pair(ctx.key_index)).escrow
        sign_payout(psbt, key, spec)
        return psbt

    async def _sign_release(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        psbt = psbt_to_base64(await self._signed_payout(row.ctx, PayoutKind.RELEASE))
        return Outcome(dataclasses.replace(row.ctx, release_psbt=psbt), [send(MsgKind.RELEASE, {"psbt": psbt})])

    async def _broadcast_payout(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        ctx = row.ctx
        kind = PayoutKind(args["kind"])
        ruling = None
        if kind is PayoutKind.RELEASE:
            text = ctx.release_psbt
        elif kind is PayoutKind.CANCEL:
            text = ctx.cancel_psbt
        else:
            assert ctx.ruling is not None
            text, ruling = ctx.ruling["psbt"], (ctx.ruling["buyer_sat"], ctx.ruling["seller_sat"])
        spec = ctx.contract_obj().payout_spec(kind, ctx.deposit_outpoint(), ruling)
        psbt = decode_psbt(text)
        sign_payout(psbt, (await self.e.keys.pair(ctx.key_index)).escrow, spec)
        tx = finalize_payout(psbt)
        after = self._broadcast(tx)
        ctx = dataclasses.replace(ctx, payout_txid=str(tx.txid), payout_tx=tx.serialize().hex())
        return Outcome(ctx, [send(MsgKind.PAYOUT_PUBLISHED, {"txid": str(tx.txid)})], after)

    async def _propose_cancel(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        psbt = psbt_to_base64(await self._signed_payout(row.ctx, PayoutKind.CANCEL))
        ctx = dataclasses.replace(row.ctx, cancel_psbt=psbt, cancel_by=row.ctx.role.value)
        return Outcome(ctx, [send(MsgKind.CANCEL_PROPOSE, {"psbt": psbt, "reason": args.get("reason", "")[:500]})])

    async def _refund(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        tx = finalize_payout(await self._signed_payout(row.ctx, PayoutKind.REFUND))
        after = self._broadcast(tx)
        return Outcome(dataclasses.replace(row.ctx, payout_txid=str(tx.txid), payout_tx=tx.serialize().hex()), [], after)

    # -- disputes --------------------------------------------------------------------------------------

    def _evidence(self, ctx: TradeContext, notes: str) -> list[Effect]:
        kinds = ("chat", "payment_sent", "payment_details", "deposit_published", "cancel_propose", "cancel_decline")
        items = [json.loads(m.raw) for m in self.e.store.messages(ctx.trade_id, kinds) if m.status != "rejected"]
        parts: list[list[Any]] = [[]]
        size = 0
        for item in items:
            n = len(json.dumps(item))
            if parts[-1] and (len(parts[-1]) >= MAX_TRANSCRIPT or size + n > EVIDENCE_CHARS):
                parts.append([])
                size = 0
            parts[-1].append(item)
            size += n
        out = []
        for i, part in enumerate(parts[:99]):
            first = i == 0
            body = {"part": i, "transcript": part, "account": ctx.my_account if first else "",
                    "salt": ctx.my_salt if first else "", "notes": notes[:2000] if first else ""}
            out.append(send(MsgKind.EVIDENCE, body, to="arbitrator"))
        return out

    async def _open_dispute(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        ctx = row.ctx
        signed = SignedContract(ctx.contract_obj(), ctx.buyer_sig, ctx.seller_sig).to_json()
        reason = args.get("reason", "")[:500]
        to_peer = {"reason": reason, "contract": None, "deposit_tx": "", "deposit_height": -1}
        to_arb = {"reason": reason, "contract": signed, "deposit_tx": ctx.deposit_tx, "deposit_height": ctx.deposit_height}
        sends = [send(MsgKind.DISPUTE, to_peer), send(MsgKind.DISPUTE, to_arb, to="arbitrator")]
        return Outcome(None, sends + self._evidence(ctx, args.get("notes", "")))

    async def _send_evidence(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        return Outcome(None, self._evidence(row.ctx, args.get("notes", "")))

    async def _sign_ruling(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        split = (args["buyer_sat"], args["seller_sat"])
        psbt = psbt_to_base64(await self._signed_payout(row.ctx, PayoutKind.RULING, split))
        body = {"buyer_sat": split[0], "seller_sat": split[1], "psbt": psbt, "reason": args.get("reason", "")}
        ctx = dataclasses.replace(row.ctx, ruling=body)
        return Outcome(ctx, [send(MsgKind.RULING, body, to="buyer"), send(MsgKind.RULING, body, to="seller")])

    async def _check_deposit(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        """Arbitrator: find the deposit in the block at the height the trader gave (merkle-checked)."""
        height = int(args.get("height", -1))
        if height < 0:
            return Outcome()
        node = self.e.node
        await node.wait_synced(60.0)  # right after a start, peers are still busy syncing us
        entry = await node.run(node.headers.tree.at_height, height)
        peers = node.filter_peers() or node.peers()
        if entry is None or not peers:
            raise ConnectionError("the block of the deposit is not available yet")
        block = await node.filters.requests.block(peers[0], entry.hash)
        if block_problem(block, entry.hash):
            raise ConnectionError("a peer sent a bad block")
        ctx = row.ctx
        found = [tx for tx in block.txs if str(tx.txid) == ctx.deposit_txid]
        if not found:
            raise ProtocolError(f"the deposit is not in block {height}")
        data = {"txid": ctx.deposit_txid, "vout": ctx.deposit_vout, "tx": ctx.deposit_tx, "height": height}
        return Outcome(None, [], lambda: self.e._enqueue(lambda: self.e.try_apply(ctx.trade_id, self.e.event(Ev.DEPOSIT_CONFIRMED, data))))  # type: ignore[arg-type, return-value]

    # -- receipts and offers ---------------------------------------------------------------------------

    async def _sign_receipt(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        ctx = row.ctx
        r = Receipt(**ctx.receipt) if ctx.receipt else receipt_core(ctx)
        ident = self.e.keys.identity
        sig = r.signature_by(ident)
        rating_sig = r.rating_by(ident, ctx.my_rating) if ctx.my_rating else ""
        if ctx.role is Role.BUYER:
            r = dataclasses.replace(r, buyer_sig=sig, buyer_rating=ctx.my_rating, buyer_rating_sig=rating_sig)
        else:
            r = dataclasses.replace(r, seller_sig=sig, seller_rating=ctx.my_rating, seller_rating_sig=rating_sig)
        ctx = dataclasses.replace(ctx, receipt=r.to_json())
        if r.is_complete():  # before the commit: after it, a kill would lose it (a re-run replaces it)
            self.e.store.add_receipt(r.id, r.to_json())
        return Outcome(ctx, [send(MsgKind.RECEIPT_SIG, {"sig": sig, "rating": ctx.my_rating, "rating_sig": rating_sig})])

    async def _save_receipt(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        r = Receipt(**(row.ctx.receipt or {}))
        r.verify()
        self.e.store.add_receipt(r.id, r.to_json())
        return Outcome()

    async def _offer_status(self, row: TradeRow, args: dict[str, Any]) -> Outcome:
        status = args["status"]
        local = {"pending": "open", "in-progress": "taken"}.get(status, "done")
        await self.e.publish_offer(row.ctx.offer["id"], local)
        return Outcome()
