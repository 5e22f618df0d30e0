"""What the trade page shows for one trade: ONE clear current state, the single next action (or who we
wait for), the secondary actions, deposit confirmations, whether the other trader's payment details may
be shown, and warnings (reversible payment method, a counterparty without verified receipts).

The safety rules of the trade brief decide the wording and the order: the buyer is asked to pay only
once the deposit has its confirmations; the seller's only way to a release is "I have received the
payment", asked for only after the buyer marked the trade paid (and then behind a checklist); payment
details appear only once the deposit is broadcast. A pending proposal from the other trader (a
cancellation, an arbitrator's ruling) comes first, since the trade waits on our answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.trade.context import Role, TradeContext
from core.trade.offer import payment_method
from core.trade.protocol_types import FINAL_STATES, State
from core.trade.reputation import Reputation, decode_receipts, reputation_of, trade_limit
from core.trade.store import TradeRow
from core.trade.views import TradeView, trade_view

#: States before the deposit is on the network: nothing is locked, payment details stay private.
BEFORE_DEPOSIT = frozenset({State.OFFER_OPEN, State.TAKE_REQUESTED, State.CONTRACT_SIGNED, State.FAILED_BEFORE_DEPOSIT})

#: Button labels of the actions.
ACTION_LABELS = {
    "paid": "I have paid",
    "received": "I have received the payment…",
    "accept_cancel": "Accept the cancellation",
    "decline_cancel": "Decline the cancellation",
    "accept_ruling": "Accept the ruling",
    "refund": "Take the escrow back (T1 passed)",
    "rate": "Rate the trade…",
    "rule": "Rule on the dispute…",
    "dispute": "Open a dispute…",
    "cancel": "Cancel the trade…",
}


@dataclass(frozen=True)
class TradeGuide:
    """The trade page's reading of one trade (see the module docstring)."""

    view: TradeView
    title: str
    explanation: str
    action: str  # the next action ("paid", "received", ...), "" while waiting on someone else
    secondary: tuple[str, ...]
    confirmations: int  # of the deposit so far; -1 before it is seen in a block
    confirmations_needed: int
    show_payment_details: bool
    peer_reputation: Reputation | None  # None for the arbitrator or before the other trader is known
    warnings: tuple[str, ...]

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, "")


def _title(role: Role, state: State, ctx: TradeContext, conf: int, needed: int) -> tuple[str, str]:
    """(the state in a few words, what happens now) for the user's role."""
    buyer = role is Role.BUYER
    if role is Role.ARBITRATOR:
        if state is State.DISPUTE_OPEN:
            if ctx.ruling is not None:
                return "Ruling sent", "Waiting for one of the traders to co-sign and broadcast your ruling."
            return "Dispute to rule on", "Read both sides' signed evidence, then split the escrow."
        return _FINAL_TEXT.get(state, ("Closed", ""))
    other = "seller" if buyer else "buyer"
    match state:
        case State.OFFER_OPEN | State.TAKE_REQUESTED:
            return "Waiting for the maker", "The offer's maker checks the take and signs the contract."
        case State.CONTRACT_SIGNED:
            return "Contract signed", "Both wallets are building the escrow deposit together; nothing is locked yet."
        case State.DEPOSIT_BROADCAST:
            shown = max(conf, 0)
            return (f"Deposit broadcast ({shown} of {needed} confirmations)",
                    "The bitcoin is locked in escrow once the deposit confirms." + (" Do not pay yet." if buyer else ""))
        case State.DEPOSIT_CONFIRMED:
            if buyer:
                return ("Deposit confirmed: pay the seller now",
                        "Send the payment to the seller's account below, then press \u201cI have paid\u201d. "
                        "The bitcoin stays in escrow until the seller confirms receipt.")
            return "Deposit confirmed: waiting for the buyer's payment", "The buyer has been asked to pay you now."
        case State.PAYMENT_SENT:
            if buyer:
                return ("Waiting for the seller to release",
                        "You marked the trade paid. If the seller does not release, open a dispute.")
            return ("The buyer says they paid: check your account",
                    "Release only once the money is credited to your account (not just a receipt or a screenshot), "
                    "the sender's name matches the buyer's account and the payment cannot be reversed.")
        case State.PAYMENT_RECEIVED:
            return "Payment confirmed: releasing", "Your release signature is on its way to the buyer."
        case State.PAYOUT_BROADCAST:
            return "Payout broadcast", "Waiting for the payout to confirm."
        case State.DISPUTE_OPEN:
            if ctx.ruling is not None and not ctx.payout_txid:
                return "The arbitrator ruled", "Accept the ruling to co-sign and broadcast its payout."
            return "Dispute open", f"The arbitrator reviews the signed evidence of both sides. The {other} may still settle with you."
    return _FINAL_TEXT.get(state, (state.value, ""))


_FINAL_TEXT = {
    State.COMPLETED: ("Completed", "The payout is confirmed."),
    State.FAILED_BEFORE_DEPOSIT: ("Ended before the deposit", "Nothing was locked; reserved coins are free again."),
    State.COOP_CANCELLED: ("Cancelled", "The escrow went back to both traders."),
    State.ARBITRATED: ("Settled by the arbitrator", "The ruling's payout was broadcast."),
    State.REFUNDED_AFTER_T1: ("Refunded after T1", "The seller took the escrow back alone after the timeout."),
}


def _action(role: Role, state: State, ctx: TradeContext, actions: tuple[str, ...]) -> str:
    final = state in FINAL_STATES
    if role is Role.ARBITRATOR:
        return "rule" if "rule" in actions and ctx.ruling is None else ""
    if ctx.cancel_psbt and ctx.cancel_by == role.other.value and not final and "accept_cancel" in actions:
        return "accept_cancel"
    if state is State.DISPUTE_OPEN and ctx.ruling is not None and not ctx.payout_txid and "accept_ruling" in actions:
        return "accept_ruling"
    if role is Role.SELLER and ctx.refund_available and not ctx.payout_txid and "refund" in actions:
        return "refund"
    if role is Role.BUYER and state is State.DEPOSIT_CONFIRMED and "paid" in actions:
        return "paid"
    if role is Role.SELLER and state is State.PAYMENT_SENT and "received" in actions:
        return "received"
    if state is State.COMPLETED and not ctx.my_rating and "rate" in actions:
        return "rate"
    return ""


def _secondary(role: Role, state: State, ctx: TradeContext, actions: tuple[str, ...], primary: str) -> tuple[str, ...]:
    if role is Role.ARBITRATOR or state in FINAL_STATES:
        return ()
    out = []
    if primary == "accept_cancel":
        out.append("decline_cancel")
    has_arbitrator = ctx.contract is not None and ctx.contract_obj().arbitrator is not None
    if "dispute" in actions and has_arbitrator and not ctx.dispute_by and state in (State.DEPOSIT_CONFIRMED, State.PAYMENT_SENT):
        out.append("dispute")
    if "cancel" in actions and not ctx.cancel_psbt and state is not State.DISPUTE_OPEN:
        out.append("cancel")
    return tuple(a for a in out if a != primary)


def peer_reputation(ctx: TradeContext) -> Reputation | None:
    """The other trader's reputation from the receipts it presented (None before its terms are known)."""
    if ctx.role is Role.ARBITRATOR or not ctx.peer_party:
        return None
    identity = str(ctx.peer_party.get("identity", ""))
    return reputation_of(identity, decode_receipts(list(ctx.peer_receipts))) if identity else None


def guide(row: TradeRow, tip: int) -> TradeGuide:
    """The guide to `row` with the chain at height `tip`."""
    ctx, role, state = row.ctx, row.role, row.state
    view = trade_view(row.trade_id, role, state, ctx)
    needed = ctx.contract_obj().confirmations if ctx.contract is not None else 0
    conf = tip - ctx.deposit_height + 1 if ctx.deposit_height >= 0 and tip >= ctx.deposit_height else -1
    title, explanation = _title(role, state, ctx, conf, needed)
    action = _action(role, state, ctx, view.actions)
    rep = peer_reputation(ctx)
    warnings = []
    if role is not Role.ARBITRATOR and view.method:
        method = payment_method(view.method)
        if method.reversible:
            warnings.append(f"Payments by this method can be reversed after the release: {method.note}.")
        if rep is not None and rep.is_new and state not in FINAL_STATES:
            limit = trade_limit(rep, view.method)
            warnings.append(f"First trade with this counterparty: no verified receipts. Start small (limit {limit:,} sat).")
    return TradeGuide(
        view, title, explanation, action, _secondary(role, state, ctx, view.actions, action), conf, needed,
        role is not Role.ARBITRATOR and state not in BEFORE_DEPOSIT and bool(ctx.peer_account), rep, tuple(warnings),
    )
