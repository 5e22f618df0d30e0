"""The trade protocol as data: per role a table (state, event kind) → Transition(guard, handler, next).

`step` is the whole machine: look the pair up (no row: ProtocolError), check the message's sender,
run the guard, run the handler; any refusal raises ProtocolError and, since contexts are immutable and
handlers pure, leaves nothing changed. The engine persists the returned state, context and effects in
one SQLite transaction before executing any effect.

Chain observations move a trade whatever the parties said: a payout seen on chain takes every
party to the state it implies, and a deposit seen after a trade was given up revives it (the coins are
locked, so the trade must be finished). The tables are built from small row groups below; tests walk
every row of every table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.errors import PeerwalletError
from core.trade import rules as r
from core.trade import rules_after as a
from core.trade.context import Role, TradeContext
from core.trade.contract import PayoutKind
from core.trade.errors import NotAllowedError, ProtocolError
from core.trade.protocol_types import Effect, Ev, Event, State
from core.trade.rules import Guard, Handler

S = State


@dataclass(frozen=True)
class Transition:
    """What an event does in a state: `guard` may refuse it, `handler` gives the new context and the
    effects, `next_state` None keeps the state."""

    handler: Handler
    next_state: State | None = None
    guard: Guard | None = None


Table = Mapping[tuple[State, Ev], Transition]


def _only_maker(ctx: TradeContext, ev: Event) -> None:
    if not ctx.maker:
        raise ProtocolError("only the offer's maker handles this")


def _only_taker(ctx: TradeContext, ev: Event) -> None:
    if ctx.maker:
        raise ProtocolError("only the taker handles this")


def _all(*guards: Guard | None) -> Guard:
    def guard(ctx: TradeContext, ev: Event) -> None:
        for g in guards:
            if g is not None:
                g(ctx, ev)

    return guard


def _rows(states: Iterable[State], kinds: Iterable[Ev], t: Transition) -> dict[tuple[State, Ev], Transition]:
    return {(s, k): t for s in states for k in kinds}


def _same(handler: Handler, guard: Guard | None = None) -> Transition:
    return Transition(handler, None, guard)


def _to(state: State, handler: Handler, guard: Guard | None = None) -> Transition:
    return Transition(handler, state, guard)


FUNDED = (S.DEPOSIT_BROADCAST, S.DEPOSIT_CONFIRMED, S.PAYMENT_SENT, S.PAYMENT_RECEIVED, S.DISPUTE_OPEN)
CONFIRMED = (S.DEPOSIT_CONFIRMED, S.PAYMENT_SENT, S.PAYMENT_RECEIVED, S.DISPUTE_OPEN)
SPENT = (S.COMPLETED, S.COOP_CANCELLED, S.ARBITRATED, S.REFUNDED_AFTER_T1)
CHAT_STATES = tuple(s for s in State if s is not S.OFFER_OPEN)
SPEND_EVENTS = {
    Ev.RELEASED: (PayoutKind.RELEASE, S.PAYOUT_BROADCAST),
    Ev.CANCEL_PAID: (PayoutKind.CANCEL, S.COOP_CANCELLED),
    Ev.RULING_PAID: (PayoutKind.RULING, S.ARBITRATED),
    Ev.REFUNDED: (PayoutKind.REFUND, S.REFUNDED_AFTER_T1),
}


def _trader_common() -> dict[tuple[State, Ev], Transition]:
    t: dict[tuple[State, Ev], Transition] = {
        (S.OFFER_OPEN, Ev.TAKE): _to(S.TAKE_REQUESTED, r.h_user_take, _only_taker),
        (S.OFFER_OPEN, Ev.M_TAKE): _to(S.TAKE_REQUESTED, r.h_take, _all(_only_maker, r.g_take)),
        (S.TAKE_REQUESTED, Ev.M_ACCEPT): _to(S.CONTRACT_SIGNED, r.h_accept, _all(_only_taker, r.g_accept)),
        (S.TAKE_REQUESTED, Ev.M_CONTRACT_SIG): _to(S.CONTRACT_SIGNED, r.h_contract_sig, _all(_only_maker, r.g_contract_sig)),
        (S.TAKE_REQUESTED, Ev.M_REJECT): _to(S.FAILED_BEFORE_DEPOSIT, r.h_reject, _only_taker),
        (S.FAILED_BEFORE_DEPOSIT, Ev.M_ABORT): _same(a.h_note),
        (S.FAILED_BEFORE_DEPOSIT, Ev.DEPOSIT_SEEN): _to(S.DEPOSIT_BROADCAST, r.h_deposit_seen, r.g_deposit_seen),
        (S.FAILED_BEFORE_DEPOSIT, Ev.DEPOSIT_CONFIRMED): _to(S.DEPOSIT_CONFIRMED, r.h_deposit_confirmed_first, r.g_deposit_seen),
        (S.CONTRACT_SIGNED, Ev.DEPOSIT_SEEN): _to(S.DEPOSIT_BROADCAST, r.h_deposit_seen, r.g_deposit_seen),
        (S.CONTRACT_SIGNED, Ev.DEPOSIT_CONFIRMED): _to(S.DEPOSIT_CONFIRMED, r.h_deposit_confirmed_first, r.g_deposit_seen),
        (S.DEPOSIT_BROADCAST, Ev.DEPOSIT_SEEN): _same(a.h_note),
        (S.DEPOSIT_BROADCAST, Ev.DEPOSIT_CONFIRMED): _to(S.DEPOSIT_CONFIRMED, r.h_deposit_confirmed, r.g_deposit_seen),
        (S.PAYOUT_BROADCAST, Ev.PAYOUT_CONFIRMED): _to(S.COMPLETED, a.h_completed, a.g_payout_confirmed),
        (S.PAYOUT_BROADCAST, Ev.RELEASED): _same(a.h_note),
        (S.COMPLETED, Ev.RATE): _same(a.h_rate, a.g_rate),
        (S.COMPLETED, Ev.PAYOUT_CONFIRMED): _same(a.h_payout_confirmed, a.g_payout_confirmed),
        (S.DISPUTE_OPEN, Ev.ACCEPT_RULING): _same(a.h_accept_ruling, a.g_accept_ruling),
    }
    pre = (S.TAKE_REQUESTED, S.CONTRACT_SIGNED)
    t |= _rows(pre, (Ev.M_ABORT,), _to(S.FAILED_BEFORE_DEPOSIT, r.h_reject))
    t |= _rows(pre, (Ev.CANCEL,), _to(S.FAILED_BEFORE_DEPOSIT, r.h_abort))
    t |= {(S.TAKE_REQUESTED, Ev.TAKE_TIMEOUT): _to(S.FAILED_BEFORE_DEPOSIT, r.h_abort)}
    t |= {(S.CONTRACT_SIGNED, Ev.DEPOSIT_TIMEOUT): _to(S.FAILED_BEFORE_DEPOSIT, r.h_abort)}
    t |= _rows(CONFIRMED, (Ev.DEPOSIT_CONFIRMED,), _same(r.h_deposit_reconfirmed, r.g_deposit_seen))
    # A reorganisation taking the deposit's block away: back to waiting for it (the buyer must not pay).
    t |= {(S.DEPOSIT_CONFIRMED, Ev.DEPOSIT_REORGED): _to(S.DEPOSIT_BROADCAST, r.h_deposit_reorged, r.g_deposit_reorged)}
    t |= _rows(CONFIRMED[1:], (Ev.DEPOSIT_REORGED,), _same(r.h_deposit_reorged, r.g_deposit_reorged))
    t |= _rows(SPENT, (Ev.PAYOUT_REORGED,), _same(a.h_payout_reorged, a.g_payout_reorged))
    for kind, (payout, target) in SPEND_EVENTS.items():
        t |= _rows((*FUNDED, S.PAYOUT_BROADCAST), (kind,), _to(target, a.spent(payout)))
        if target is not S.PAYOUT_BROADCAST:
            t |= {(target, kind): _same(a.h_note)}
            t |= {(target, Ev.PAYOUT_CONFIRMED): _same(a.h_payout_confirmed, a.g_payout_confirmed)}
    t |= _rows((S.PAYOUT_BROADCAST, S.COMPLETED), (Ev.M_RECEIPT_SIG,), _same(a.h_receipt_sig, a.g_receipt_sig))
    t |= _rows((*FUNDED, S.PAYOUT_BROADCAST, *SPENT), (Ev.M_PAYOUT_PUBLISHED,), _same(a.h_note))
    cancellable = (S.DEPOSIT_BROADCAST, S.DEPOSIT_CONFIRMED, S.PAYMENT_SENT, S.DISPUTE_OPEN)
    t |= _rows(cancellable, (Ev.CANCEL,), _same(a.h_cancel))
    t |= _rows(cancellable, (Ev.M_CANCEL_PROPOSE,), _same(a.h_cancel_propose, a.g_cancel_propose))
    t |= _rows(cancellable, (Ev.ACCEPT_CANCEL,), _same(a.h_accept_cancel, a.g_accept_cancel))
    t |= _rows(cancellable, (Ev.DECLINE_CANCEL,), _same(a.h_decline_cancel, a.g_accept_cancel))
    t |= _rows(cancellable, (Ev.M_CANCEL_DECLINE,), _same(a.h_cancel_decline))
    t |= _rows((S.DEPOSIT_CONFIRMED, S.PAYMENT_SENT), (Ev.DISPUTE,), _to(S.DISPUTE_OPEN, a.h_dispute, a.g_dispute))
    t |= _rows(CONFIRMED, (Ev.M_DISPUTE,), _to(S.DISPUTE_OPEN, a.h_peer_dispute))
    t |= _rows(CONFIRMED, (Ev.M_RULING,), _to(S.DISPUTE_OPEN, a.h_ruling, a.g_ruling))
    t |= _rows(CHAT_STATES, (Ev.CHAT,), _same(a.h_chat, a.g_chat))
    t |= _rows(CHAT_STATES, (Ev.M_CHAT,), _same(a.h_chat_in))
    return t


def _buyer_table() -> dict[tuple[State, Ev], Transition]:
    t = _trader_common()
    t |= {
        (S.CONTRACT_SIGNED, Ev.M_DEPOSIT_PSBT): _same(r.h_deposit_psbt, r.g_deposit_psbt),
        (S.CONTRACT_SIGNED, Ev.M_DEPOSIT_PUBLISHED): _to(S.DEPOSIT_BROADCAST, r.h_deposit_published_first, r.g_deposit_published),
        (S.FAILED_BEFORE_DEPOSIT, Ev.M_DEPOSIT_PUBLISHED): _to(
            S.DEPOSIT_BROADCAST, r.h_deposit_published_first, r.g_deposit_published
        ),
        (S.DEPOSIT_CONFIRMED, Ev.PAID): _to(S.PAYMENT_SENT, a.h_paid),
        (S.PAYMENT_SENT, Ev.PAID): _same(a.h_paid),
    }
    t |= _rows(FUNDED, (Ev.M_DEPOSIT_PUBLISHED,), _same(r.h_deposit_published, r.g_deposit_published))
    t |= _rows((S.DEPOSIT_CONFIRMED, S.PAYMENT_SENT, S.DISPUTE_OPEN), (Ev.M_RELEASE,), _same(a.h_release, a.g_release))
    t |= _rows((S.DEPOSIT_CONFIRMED, S.PAYMENT_SENT, S.DISPUTE_OPEN), (Ev.T1_WARNING,), _same(a.h_t1_warning))
    # The buyer never is in PAYMENT_RECEIVED (that is the seller's "I received it").
    return {key: v for key, v in t.items() if key[0] is not S.PAYMENT_RECEIVED}


def _seller_table() -> dict[tuple[State, Ev], Transition]:
    t = _trader_common()
    t |= {
        (S.CONTRACT_SIGNED, Ev.M_DEPOSIT_PART): _same(r.h_deposit_part, r.g_deposit_part),
        (S.CONTRACT_SIGNED, Ev.M_DEPOSIT_SIGNED): _same(r.h_deposit_signed, r.g_deposit_signed),
        (S.DEPOSIT_CONFIRMED, Ev.M_PAYMENT_SENT): _to(S.PAYMENT_SENT, a.h_payment_sent),
        (S.PAYMENT_SENT, Ev.M_PAYMENT_SENT): _same(a.h_payment_sent),
        (S.PAYMENT_RECEIVED, Ev.RECEIVED): _same(a.h_received, a.g_received),
    }
    t |= _rows((S.DEPOSIT_CONFIRMED, S.PAYMENT_SENT, S.DISPUTE_OPEN), (Ev.RECEIVED,), _to(S.PAYMENT_RECEIVED, a.h_received, a.g_received))
    t |= _rows(FUNDED, (Ev.M_PAYMENT_DETAILS,), _same(r.h_payment_details, r.g_payment_details))
    t |= _rows((S.DEPOSIT_CONFIRMED, S.PAYMENT_SENT, S.DISPUTE_OPEN), (Ev.T1,), _same(a.h_t1))
    t |= _rows((S.DEPOSIT_CONFIRMED, S.PAYMENT_SENT, S.DISPUTE_OPEN), (Ev.REFUND,), _same(a.h_refund, a.g_refund))
    return t


def _arbitrator_table() -> dict[tuple[State, Ev], Transition]:
    t: dict[tuple[State, Ev], Transition] = {
        (S.OFFER_OPEN, Ev.M_DISPUTE): _to(S.DISPUTE_OPEN, a.h_arb_dispute, a.g_arb_dispute),
        (S.DISPUTE_OPEN, Ev.M_DISPUTE): _same(a.h_note),
        (S.DISPUTE_OPEN, Ev.RULE): _to(S.ARBITRATED, a.h_rule, a.g_rule),
    }
    open_or_ruled = (S.DISPUTE_OPEN, S.ARBITRATED)
    t |= _rows(open_or_ruled, (Ev.M_EVIDENCE,), _same(a.h_evidence, a.g_evidence))
    t |= _rows(open_or_ruled, (Ev.DEPOSIT_SEEN,), _same(a.h_note))
    t |= _rows(open_or_ruled, (Ev.DEPOSIT_CONFIRMED,), _same(r.h_arb_deposit))
    t |= _rows(open_or_ruled, (Ev.DEPOSIT_REORGED,), _same(r.h_deposit_reorged, r.g_deposit_reorged))
    t |= _rows(SPENT, (Ev.PAYOUT_REORGED,), _same(a.h_payout_reorged, a.g_payout_reorged))
    targets = {Ev.RELEASED: S.COMPLETED, Ev.CANCEL_PAID: S.COOP_CANCELLED, Ev.RULING_PAID: S.ARBITRATED, Ev.REFUNDED: S.REFUNDED_AFTER_T1}
    for kind, (payout, _) in SPEND_EVENTS.items():
        t |= _rows(open_or_ruled, (kind,), _to(targets[kind], a.spent(payout)))
    for state in (S.COMPLETED, S.COOP_CANCELLED, S.ARBITRATED, S.REFUNDED_AFTER_T1):
        t |= {(state, Ev.PAYOUT_CONFIRMED): _same(a.h_payout_confirmed, a.g_payout_confirmed)}
    t |= _rows((*open_or_ruled, *SPENT), (Ev.CHAT,), _same(a.h_chat, a.g_chat))
    t |= _rows((*open_or_ruled, *SPENT), (Ev.M_CHAT,), _same(a.h_chat_in))
    return t


TABLES: dict[Role, Table] = {Role.BUYER: _buyer_table(), Role.SELLER: _seller_table(), Role.ARBITRATOR: _arbitrator_table()}


def allowed(role: Role, state: State) -> list[Ev]:
    """The event kinds `role` accepts in `state` (for the UI's "next action")."""
    return [k for (s, k) in TABLES[role] if s is state]


def step(role: Role, state: State, ctx: TradeContext, event: Event) -> tuple[State, TradeContext, list[Effect]]:
    """Apply `event`: (new state, new context, effects), or ProtocolError with nothing changed."""
    t = TABLES[role].get((state, event.kind))
    if t is None:
        raise NotAllowedError(f"{event.kind.value} is not allowed for the {role.value} in state {state.value}")
    if ctx.role is not role:
        raise ProtocolError("the context belongs to another role")
    try:
        r.check_sender(ctx, event)
        if t.guard is not None:
            t.guard(ctx, event)
        new_ctx, effects = t.handler(ctx, event)
    except ProtocolError:
        raise
    except PeerwalletError as e:  # a checking module refused (contract, PSBT, message, reputation, ...)
        raise ProtocolError(f"{event.kind.value} refused: {e}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as e:  # event data of the wrong shape
        raise ProtocolError(f"{event.kind.value} refused: malformed event data ({type(e).__name__})") from None
    return t.next_state or state, new_ctx, effects
