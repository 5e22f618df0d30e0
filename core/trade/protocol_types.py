"""The vocabulary of the trade state machine: states, event kinds, events and effects.

Events are everything that can move a trade: wire messages ("msg.*", one per MsgKind), the user's
actions ("user.*"), what the light node saw on chain ("chain.*") and timers ("timer.*"). Handlers answer
with effects: messages to send, timers to start or cancel (both written in the same SQLite transaction
as the new state) and operations the engine executes after that commit (sign, broadcast, ...).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.trade.messages import MsgKind, WireMessage


class State(enum.StrEnum):
    """Trade states (TRADE.md). OFFER_OPEN: nothing agreed yet (for the arbitrator: not involved yet)."""

    OFFER_OPEN = "offer_open"
    TAKE_REQUESTED = "take_requested"
    CONTRACT_SIGNED = "contract_signed"
    DEPOSIT_BROADCAST = "deposit_broadcast"
    DEPOSIT_CONFIRMED = "deposit_confirmed"
    PAYMENT_SENT = "payment_sent"
    PAYMENT_RECEIVED = "payment_received"
    PAYOUT_BROADCAST = "payout_broadcast"
    COMPLETED = "completed"
    FAILED_BEFORE_DEPOSIT = "failed_before_deposit"
    COOP_CANCELLED = "coop_cancelled"
    DISPUTE_OPEN = "dispute_open"
    ARBITRATED = "arbitrated"
    REFUNDED_AFTER_T1 = "refunded_after_t1"


#: States after which nothing is expected of the user (the escrow is spent or was never funded).
FINAL_STATES = frozenset(
    {State.COMPLETED, State.FAILED_BEFORE_DEPOSIT, State.COOP_CANCELLED, State.ARBITRATED, State.REFUNDED_AFTER_T1}
)


class Ev(enum.StrEnum):
    """Event kinds."""

    # user actions
    TAKE = "user.take"
    PAID = "user.paid"
    RECEIVED = "user.received"
    CANCEL = "user.cancel"
    ACCEPT_CANCEL = "user.accept_cancel"
    DECLINE_CANCEL = "user.decline_cancel"
    DISPUTE = "user.dispute"
    RULE = "user.rule"
    ACCEPT_RULING = "user.accept_ruling"
    REFUND = "user.refund"
    CHAT = "user.chat"
    RATE = "user.rate"
    # chain observations
    DEPOSIT_SEEN = "chain.deposit_seen"
    DEPOSIT_CONFIRMED = "chain.deposit_confirmed"
    RELEASED = "chain.released"
    CANCEL_PAID = "chain.cancel_paid"
    RULING_PAID = "chain.ruling_paid"
    REFUNDED = "chain.refunded"
    PAYOUT_CONFIRMED = "chain.payout_confirmed"
    DEPOSIT_REORGED = "chain.deposit_reorged"  # the block holding the deposit was disconnected
    PAYOUT_REORGED = "chain.payout_reorged"  # the block holding the payout was disconnected
    # timers
    TAKE_TIMEOUT = "timer.take"
    DEPOSIT_TIMEOUT = "timer.deposit"
    T1 = "timer.t1"
    T1_WARNING = "timer.t1_warning"
    # wire messages
    M_TAKE = "msg.take"
    M_ACCEPT = "msg.accept"
    M_REJECT = "msg.reject"
    M_CONTRACT_SIG = "msg.contract_sig"
    M_DEPOSIT_PART = "msg.deposit_part"
    M_DEPOSIT_PSBT = "msg.deposit_psbt"
    M_DEPOSIT_SIGNED = "msg.deposit_signed"
    M_DEPOSIT_PUBLISHED = "msg.deposit_published"
    M_PAYMENT_DETAILS = "msg.payment_details"
    M_PAYMENT_SENT = "msg.payment_sent"
    M_RELEASE = "msg.release"
    M_PAYOUT_PUBLISHED = "msg.payout_published"
    M_CANCEL_PROPOSE = "msg.cancel_propose"
    M_CANCEL_DECLINE = "msg.cancel_decline"
    M_ABORT = "msg.abort"
    M_DISPUTE = "msg.dispute"
    M_EVIDENCE = "msg.evidence"
    M_RULING = "msg.ruling"
    M_CHAT = "msg.chat"
    M_RECEIPT_SIG = "msg.receipt_sig"

    @classmethod
    def of_message(cls, kind: MsgKind) -> Ev:
        """The event kind of a wire message kind."""
        return cls("msg." + kind.value)


#: Timer names → their event kinds.
TIMER_EVENTS = {"take": Ev.TAKE_TIMEOUT, "deposit": Ev.DEPOSIT_TIMEOUT, "t1": Ev.T1, "t1_warning": Ev.T1_WARNING}


@dataclass(frozen=True)
class Event:
    """One event. `now` (unix seconds) and `height` (the chain tip) are given by the engine, so guards
    and handlers never read a clock."""

    kind: Ev
    data: Mapping[str, Any] = field(default_factory=dict)
    msg: WireMessage | None = None
    now: int = 0
    height: int = -1

    @classmethod
    def message(cls, msg: WireMessage, now: int, height: int = -1, **data: Any) -> Event:
        return cls(Ev.of_message(msg.kind), data, msg, now, height)


class Op(enum.StrEnum):
    """Effects. SEND, START_TIMER and CANCEL_TIMER are written in the step's own transaction; NOTIFY is
    delivered after the commit; the others are persisted and then executed by the engine."""

    SEND = "send"
    START_TIMER = "start_timer"
    CANCEL_TIMER = "cancel_timer"
    NOTIFY = "notify"
    SEND_ACCEPT = "send_accept"  # maker: sign the contract, vouch for our keys, send ACCEPT
    SEND_CONTRACT_SIG = "send_contract_sig"  # taker: sign the contract
    WATCH_ESCROW = "watch_escrow"  # give the escrow script to the chain watcher
    SEND_DEPOSIT_PART = "send_deposit_part"  # buyer: contribute coins
    SEND_DEPOSIT_PSBT = "send_deposit_psbt"  # seller: contribute, combine, propose
    SIGN_DEPOSIT = "sign_deposit"  # buyer: sign our inputs, attest the outpoint
    BROADCAST_DEPOSIT = "broadcast_deposit"  # seller: sign, finalize, broadcast, reveal our account
    SIGN_RELEASE = "sign_release"  # seller, on the explicit "received" action only
    BROADCAST_PAYOUT = "broadcast_payout"  # co-sign a checked payout PSBT and broadcast it
    PROPOSE_CANCEL = "propose_cancel"  # build and sign a cooperative-cancel payout
    OPEN_DISPUTE = "open_dispute"  # tell the peer; contract, deposit and evidence to the arbitrator
    SEND_EVIDENCE = "send_evidence"  # our transcript and notes to the arbitrator
    SIGN_RULING = "sign_ruling"  # arbitrator: build and sign the ruling payout, send it to both
    REFUND_AFTER_T1 = "refund_after_t1"  # seller alone after T1
    RELEASE_COINS = "release_coins"  # unfreeze coins reserved for a deposit that never happened
    SIGN_RECEIPT = "sign_receipt"  # sign the trade receipt (and our rating) with our identity key
    SAVE_RECEIPT = "save_receipt"  # both signatures are in: keep it for our reputation
    OFFER_STATUS = "offer_status"  # maker: republish the offer with a new NIP-69 status
    CHECK_DEPOSIT = "check_deposit"  # arbitrator: find the deposit on chain


INLINE_OPS = frozenset({Op.SEND, Op.START_TIMER, Op.CANCEL_TIMER, Op.NOTIFY})


@dataclass(frozen=True)
class Effect:
    """An effect with its arguments (JSON values)."""

    op: Op
    args: Mapping[str, Any] = field(default_factory=dict)


class Timer:
    """Timer effects: by block height (`height`) or unix time (`at`)."""

    @staticmethod
    def start(name: str, *, height: int | None = None, at: int | None = None) -> Effect:
        if (height is None) == (at is None):
            raise ValueError("a timer fires at a height or at a time")
        return Effect(Op.START_TIMER, {"name": name, "height": height, "at": at})

    @staticmethod
    def cancel(name: str) -> Effect:
        return Effect(Op.CANCEL_TIMER, {"name": name})
