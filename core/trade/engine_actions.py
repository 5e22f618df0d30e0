"""What a user (or a bot, the CLI, the Qt trade page) can do through the TradeEngine: make and take
offers, mark paid, confirm receipt (the only way to a release signature), cancel, dispute, rule,
accept a ruling, refund after T1, chat, rate, bump a payout's fee; and the offer book.

Every action is a protocol event: a ProtocolError says why it is not possible now, and nothing changes.
"""

from __future__ import annotations

import os
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.consensus.hashes import Txid
from core.mempool.feerate import FeeRate
from core.trade.context import TradeContext, role_of
from core.trade.contract import PartyTerms, account_hash, new_salt, trade_id_for
from core.trade.errors import NostrError, OfferError, ProtocolError, TradeError
from core.trade.messages import identity_message
from core.trade.nostr.event import Event as NostrEvent
from core.trade.nostr.nip69 import OrderStatus, order_filter
from core.trade.offer import (
    DEFAULT_CONFIRMATIONS,
    DEFAULT_DEPOSIT_BP,
    DEFAULT_PAYOUT_FEE_CAP_SAT,
    DEFAULT_T1_BLOCKS,
    ArbitratorRef,
    Offer,
    Side,
)
from core.trade.offer_event import offer_event, read_offer_event
from core.trade.protocol_types import Ev, State

if TYPE_CHECKING:
    from core.trade.engine import TradeEngine

#: Default T1 per network: two weeks on mainnet; short on the test networks, very short in the sandbox.
DEFAULT_T1 = {"main": DEFAULT_T1_BLOCKS, "test": 288, "testnet4": 288, "signet": 288, "regtest": 6, "sandbox": 6}
_STATUS = {"open": OrderStatus.PENDING, "taken": OrderStatus.IN_PROGRESS, "done": OrderStatus.SUCCESS,
           "cancelled": OrderStatus.CANCELED}


class TradeActions:
    """The user-facing methods of TradeEngine (mixed in)."""

    def _e(self) -> TradeEngine:
        return self  # type: ignore[return-value]

    async def _user(self, trade_id: str, kind: Ev, data: dict[str, Any] | None = None) -> State:
        e = self._e()
        return await e.apply(trade_id, e.event(kind, data))

    async def _party(self, index: int, account: str, salt: bytes, label: str) -> PartyTerms:
        e = self._e()
        pair = await e.keys.pair(index)
        address = e.wallet.new_address(label=label)
        return PartyTerms(e.keys.identity.xonly, pair.nostr.xonly, pair.escrow_xonly, address.script_pubkey.hex(),
                          account_hash(account, salt))

    # -- offers ------------------------------------------------------------------------------------

    async def create_offer(
        self, side: Side, min_sat: int, max_sat: int, currency: str, methods: tuple[str, ...], account: str, *,
        price: Decimal | None = None, premium_pct: Decimal | None = None, deposit_bp: int = DEFAULT_DEPOSIT_BP,
        arbitrator: ArbitratorRef | None = None, t1_blocks: int | None = None, confirmations: int = DEFAULT_CONFIRMATIONS,
        payout_fee_cap_sat: int = DEFAULT_PAYOUT_FEE_CAP_SAT, lifetime: int = 7 * 24 * 3600, name: str | None = None,
    ) -> Offer:
        """Make an offer (our side `side`) and publish it. `account` is our payment account (its salted
        hash goes into contracts; the text is shown to the other trader only after the deposit)."""
        e = self._e()
        network = e.wallet.network.name
        index = e.store.next_key_index()
        pair = await e.keys.pair(index)
        now = int(e.clock())
        offer = Offer(
            id=os.urandom(16).hex(), maker_nostr=pair.nostr.xonly, side=side, min_sat=min_sat, max_sat=max_sat,
            currency=currency, methods=tuple(methods), network=network, price=price, premium_pct=premium_pct,
            deposit_bp=deposit_bp, arbitrator=arbitrator, t1_blocks=t1_blocks or DEFAULT_T1.get(network, DEFAULT_T1_BLOCKS),
            confirmations=confirmations, payout_fee_cap_sat=payout_fee_cap_sat, created_at=now, expires_at=now + lifetime,
            extra={"name": name} if name else {},
        ).validate(now)
        if arbitrator is not None and arbitrator.nostr == e.keys.identity.xonly:
            raise OfferError("you cannot be the arbitrator of your own offer")
        salt = new_salt()
        party = await self._party(index, account, salt, f"trade offer {offer.id[:8]}")
        local = {"key_index": index, "party": party.to_json(), "account": account, "salt": salt.hex()}
        e.store.put_offer(offer.to_json(), mine=True, status="open", local=local)
        await e._add_key(pair.nostr)
        await self.publish_offer(offer.id, "open")
        return offer

    async def publish_offer(self, offer_id: str, status: str) -> None:
        """Set our offer's status and (re)publish its NIP-69 event."""
        e = self._e()
        found = e.store.offer(offer_id)
        if found is None or not found[1]:
            raise OfferError(f"no offer {offer_id} of ours")
        offer = Offer.from_json(found[0])
        if status == "open" and e.clock() >= offer.expires_at:
            status = "done"
        pair = await e.keys.pair(found[3]["key_index"])
        event = offer_event(pair.nostr, offer, _STATUS[status], int(e.clock()))
        e.store.set_offer_status(offer_id, status, event.to_json())
        await e.pool.publish(event)
        e.emit(_update(offer_id, "offer", status=status))

    async def republish_offers(self) -> None:
        """Hand our open offers' events to the relay pool again (on start; a no-op for an event its
        outbox already has): an app killed while making an offer has it stored but maybe not published."""
        e = self._e()
        for offer, _mine, status in e.store.offers(mine=True):
            if status != "open":
                continue
            event = e.store.offer_event(offer["id"])
            if event is None or e.clock() >= offer["expires_at"]:
                await self.publish_offer(offer["id"], "open")  # signs it first (or marks it done)
            else:
                await e.pool.publish(NostrEvent.from_json(event))

    async def cancel_offer(self, offer_id: str) -> None:
        """Withdraw an open offer (a trade already taking it goes on)."""
        found = self._e().store.offer(offer_id)
        if found is None or found[2] != "open":
            raise OfferError("only an open offer of ours can be withdrawn")
        await self.publish_offer(offer_id, "cancelled")

    async def subscribe_book(self) -> None:
        """Follow every NIP-69 order on the relays (ours to take; others' read-only)."""
        e = self._e()
        e._subs["book"] = await e.pool.subscribe([order_filter(since=int(e.clock()) - 30 * 24 * 3600)], self._on_order)

    def _on_order(self, event: NostrEvent, relay: str) -> None:
        e = self._e()
        try:
            entry = read_offer_event(event)
        except (NostrError, OfferError, TradeError):
            return
        key = f"{event.kind}:{event.pubkey}:{entry.order.order_id}"
        old = e.book.get(key)
        if old is not None and old.event.created_at > event.created_at:
            return
        e.book[key] = entry
        if entry.offer is not None:
            mine = e.store.offer(entry.offer.id)
            if mine is None or not mine[1]:
                status = {OrderStatus.PENDING: "open", OrderStatus.IN_PROGRESS: "taken"}.get(entry.status, "done")
                if entry.order.is_expired(int(e.clock())):
                    status = "done"
                e.store.put_offer(entry.offer.to_json(), mine=False, status=status, event=event.to_json())
        e.emit(_update(entry.order.order_id, "book"))

    def offers(self, *, mine: bool | None = None, status: str | None = "open") -> list[Offer]:
        """Offers in the book (ours and others' of this app), open ones by default."""
        e = self._e()
        return [Offer.from_json(o) for o, m, s in e.store.offers(mine=mine) if status is None or s == status]

    # -- taking ------------------------------------------------------------------------------------

    async def take(self, offer_id: str, amount_sat: int, method: str, account: str) -> str:
        """Take an offer for `amount_sat` paid by `method`; returns the trade id."""
        e = self._e()
        found = e.store.offer(offer_id)
        if found is None or found[1]:
            raise OfferError("no such offer of another trader")
        if found[2] != "open":
            raise OfferError("the offer is not open")
        offer = Offer.from_json(found[0])
        now = int(e.clock())
        offer.check_take(amount_sat, method, now)
        if offer.network != e.wallet.network.name:
            raise OfferError(f"the offer is for {offer.network}, this wallet is on {e.wallet.network.name}")
        price = offer.price_for(e.market_price(offer.currency))
        index = e.store.next_key_index()
        pair = await e.keys.pair(index)
        salt = new_salt()
        party = await self._party(index, account, salt, f"trade {offer.id[:8]}")
        trade_id = trade_id_for(offer.id, pair.nostr.xonly)
        ctx = TradeContext(
            trade_id, role_of(offer, False), False, offer.to_json(), pair.nostr.xonly, key_index=index, created_at=now,
            peer_nostr=offer.maker_nostr, amount_sat=amount_sat, price=str(price), method=method,
            my_party=party.to_json(), my_account=account, my_salt=salt.hex(),
        )
        ident = e.keys.identity.sign_schnorr(identity_message(trade_id, pair.nostr.xonly, pair.escrow_xonly)).hex()
        await e._add_key(pair.nostr)
        receipts = e.store.receipts(e.keys.identity.xonly)[-10:]
        await e.apply(trade_id, e.event(Ev.TAKE, {"identity_sig": ident, "receipts": receipts}), create=ctx)
        return trade_id

    # -- the trade's steps -----------------------------------------------------------------------------

    async def paid(self, trade_id: str, note: str = "") -> State:
        """Buyer: "I have paid" (a message to the seller; nothing moves on chain)."""
        return await self._user(trade_id, Ev.PAID, {"note": note})

    async def received(self, trade_id: str, *, credited: bool, sender_matches: bool, not_reversible: bool) -> State:
        """Seller: "I have received the payment" — the only way to the release signature. Every checklist
        item must be confirmed: money credited (not just a receipt), the sender's name matches the
        buyer's account, and the payment cannot be reversed."""
        checklist = {"credited": credited, "sender_matches": sender_matches, "not_reversible": not_reversible}
        return await self._user(trade_id, Ev.RECEIVED, {"checklist": checklist})

    async def cancel(self, trade_id: str, reason: str = "") -> State:
        """Before the deposit: give up. After it: propose returning everything (the other must accept)."""
        return await self._user(trade_id, Ev.CANCEL, {"reason": reason})

    async def accept_cancel(self, trade_id: str) -> State:
        return await self._user(trade_id, Ev.ACCEPT_CANCEL)

    async def decline_cancel(self, trade_id: str, reason: str = "") -> State:
        return await self._user(trade_id, Ev.DECLINE_CANCEL, {"reason": reason})

    async def dispute(self, trade_id: str, reason: str, notes: str = "") -> State:
        """Open a dispute: the arbitrator gets the signed contract, the deposit and our signed transcript."""
        return await self._user(trade_id, Ev.DISPUTE, {"reason": reason, "notes": notes})

    async def rule(self, trade_id: str, buyer_sat: int, seller_sat: int, reason: str = "") -> State:
        """Arbitrator: split the escrow (before fees) and send both traders the signed payout."""
        return await self._user(trade_id, Ev.RULE, {"buyer_sat": buyer_sat, "seller_sat": seller_sat, "reason": reason})

    async def accept_ruling(self, trade_id: str) -> State:
        """Co-sign the arbitrator's ruling and broadcast it."""
        return await self._user(trade_id, Ev.ACCEPT_RULING)

    async def refund(self, trade_id: str) -> State:
        """Seller, once T1 has passed: take the escrow back alone."""
        return await self._user(trade_id, Ev.REFUND)

    async def chat(self, trade_id: str, text: str, to: str = "peer") -> State:
        """A signed, end-to-end encrypted chat message (to "peer"/"arbitrator"; the arbitrator: "buyer"/"seller")."""
        return await self._user(trade_id, Ev.CHAT, {"text": text, "to": to})

    async def rate(self, trade_id: str, rating: int) -> State:
        """Rate the other trader 1..5 on the trade's receipt."""
        return await self._user(trade_id, Ev.RATE, {"rating": rating})

    async def bump_payout(self, trade_id: str, fee_rate: FeeRate) -> Txid:
        """Speed up our unconfirmed payout: a CPFP child of our own output of it (no co-signer needed)."""
        e = self._e()
        row = e.store.trade(trade_id)
        if row is None or not row.ctx.payout_txid:
            raise ProtocolError("no payout to speed up")
        draft = e.wallet.cpfp(Txid.from_hex(row.ctx.payout_txid), fee_rate)
        await e.wallet.sign(draft.psbt, e.password)
        child = e.wallet.finalize(draft.psbt)
        e.wallet.broadcast(child)
        return child.txid


def _update(ref: str, what: str, **data: Any) -> Any:
    from core.trade.updates import TradeUpdate

    return TradeUpdate(ref, None, what, {**data, "at": time.time()})
