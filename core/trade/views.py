"""Read-only views of trades for the UI, the CLI and bots: one clear state and the next actions, the
timeline, the chat transcript (signed messages, exportable as dispute evidence), the escrow export
for recovery without this app, and reputation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.trade.context import Role, TradeContext
from core.trade.contract import PayoutKind
from core.trade.escrow import escrow_scripts, trade_key_path
from core.trade.offer import payment_method
from core.trade.protocol import allowed
from core.trade.protocol_types import FINAL_STATES, State
from core.trade.reputation import Reputation, reputation_of
from core.trade.store import TradeStore

#: What the user is asked to do next, per (role, state); empty when waiting for someone else.
NEXT_ACTION = {
    (Role.BUYER, State.DEPOSIT_CONFIRMED): "pay the seller, then mark the trade paid",
    (Role.BUYER, State.PAYMENT_SENT): "wait for the seller to release (or open a dispute)",
    (Role.SELLER, State.PAYMENT_SENT): "check your account, then confirm receipt to release",
    (Role.SELLER, State.DEPOSIT_CONFIRMED): "wait for the buyer's payment",
    (Role.ARBITRATOR, State.DISPUTE_OPEN): "review the evidence and rule",
}


@dataclass(frozen=True)
class TradeView:
    """One trade as the UI shows it."""

    trade_id: str
    role: Role
    state: State
    maker: bool
    amount_sat: int
    fiat_amount: str
    currency: str
    method: str
    method_reversible: bool
    price: str
    peer_account: str  # the other trader's payment details (after the deposit only)
    actions: tuple[str, ...]  # user actions possible now ("paid", "received", "cancel", ...)
    next_step: str
    deposit_txid: str
    payout_txid: str
    payout_kind: str
    refund_available: bool
    cancel_proposed_by: str
    ruling: dict[str, Any] | None
    notes: tuple[str, ...]
    final: bool


def trade_view(trade_id: str, role: Role, state: State, ctx: TradeContext) -> TradeView:
    """The view of a stored trade."""
    contract = ctx.contract_obj() if ctx.contract is not None else None
    actions = tuple(k.value.removeprefix("user.") for k in allowed(role, state) if k.value.startswith("user."))
    return TradeView(
        trade_id, role, state, ctx.maker, contract.amount_sat if contract else ctx.amount_sat,
        str(contract.fiat_amount) if contract else "", contract.currency if contract else ctx.offer.get("currency", ""),
        contract.method if contract else ctx.method, payment_method(contract.method if contract else ctx.method or "x").reversible,
        str(contract.price) if contract else ctx.price, ctx.peer_account, actions, NEXT_ACTION.get((role, state), ""),
        ctx.deposit_txid, ctx.payout_txid, ctx.payout_kind, ctx.refund_available, ctx.cancel_by,
        None if ctx.ruling is None else {k: v for k, v in ctx.ruling.items() if k != "psbt"}, ctx.notes, state in FINAL_STATES,
    )


def trade_views(store: TradeStore, *, open_only: bool = False) -> list[TradeView]:
    return [trade_view(r.trade_id, r.role, r.state, r.ctx) for r in store.trades(open_only=open_only)]


def transcript(store: TradeStore, trade_id: str) -> list[dict[str, Any]]:
    """The trade's chat as signed wire messages (both directions), oldest first: each verifies on its own."""
    return [json.loads(m.raw) for m in store.messages(trade_id, ["chat"]) if m.status != "rejected"]


def timeline(store: TradeStore, trade_id: str) -> list[dict[str, Any]]:
    """Every message of the trade with its direction and fate (for the trade page's timeline)."""
    return [
        {"at": m.at, "direction": m.direction, "kind": m.kind, "status": m.status, "reason": m.reason}
        for m in store.messages(trade_id)
    ]


def export_escrow(ctx: TradeContext) -> dict[str, Any]:
    """Everything needed to spend the escrow with another wallet: descriptor, address, outpoint, value,
    T1, every key, our key's derivation path (recoverable from the seed) and the agreed payouts."""
    c = ctx.contract_obj()
    terms = c.escrow_terms()
    scripts = escrow_scripts(terms)
    out: dict[str, Any] = {
        "trade_id": ctx.trade_id, "role": ctx.role.value, "descriptor": scripts.descriptor, "address": scripts.address,
        "escrow_value": c.escrow_value, "t1_blocks": c.t1_blocks, "network": c.network,
        "buyer_key": c.buyer.escrow, "seller_key": c.seller.escrow,
        "arbitrator_key": None if c.arbitrator is None else c.arbitrator.escrow,
        "outpoint": f"{ctx.deposit_txid}:{ctx.deposit_vout}" if ctx.deposit_txid else None,
        "deposit_height": ctx.deposit_height, "payout_fee_cap_sat": c.payout_fee_cap_sat,
        "payouts": {k.value: dict(zip(("buyer", "seller"), c.payout_split(k), strict=True))
                    for k in (PayoutKind.RELEASE, PayoutKind.CANCEL, PayoutKind.REFUND)},
        "buyer_payout_script": c.buyer.payout_spk, "seller_payout_script": c.seller.payout_spk,
    }
    if ctx.key_index >= 0:
        out["our_key_path"] = "m/" + "/".join(
            f"{i & 0x7FFFFFFF}'" if i & 0x80000000 else str(i) for i in trade_key_path(_network(c.network), ctx.key_index)
        )
    return out


def _network(name: str) -> Any:
    from core.consensus.network import network_by_name

    return network_by_name(name)


def my_reputation(store: TradeStore, identity: str) -> Reputation:
    """Our reputation from the receipts we hold."""
    return reputation_of(identity, store.receipts(identity))
