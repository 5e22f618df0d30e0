"""`peerwallet-cli trade ...`: offers, takes and every step of a trade, scriptable between data dirs.

Each command opens the wallet, its trade database (`<datadir>/<chain>/trades/<wallet>.sqlite`), a light
node scanning for the wallet and the open escrows, and the relays given with `--relay`; it first
processes whatever the relays hold for it, then acts, then waits until every resulting message is
stored by a relay (`TradeEngine.settle`) before exiting. The other side acts when its next command
runs: `trade status TRADE --wait STATE` stays online until the trade gets there, so two parties can
run concurrently to go through the deposit. Results on stdout (ids, or JSON); errors as one line.

Release is never automatic: `trade received` needs all three checklist flags.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from decimal import Decimal, InvalidOperation
from typing import Any

from core.chain.params import params_for
from core.cli.main import CliError, connect_peers, parse_hostport
from core.cli.wallet_session import (
    add_password_options,
    chain,
    chain_dir,
    guard,
    open_wallet,
    parse_sats,
    password,
    wallet_name,
)
from core.node.broadcast import BroadcastState
from core.node.node import LightNode, LightNodeConfig
from core.node.tx_events import TxConfirmed, TxPropagated
from core.p2p.messages import MsgMempool
from core.trade.bots import BotArbitrator, BotTrader
from core.trade.chain_watch import TradeScanTarget, prepare_watch
from core.trade.engine import TradeEngine
from core.trade.nostr.outbox import OutboxStore
from core.trade.nostr.pool import RelayPool
from core.trade.offer import ArbitratorRef, Side, check_hex32
from core.trade.protocol_types import State
from core.trade.session import trade_files_name
from core.trade.store import TradeStore
from core.trade.trade_keys import TradeKeys
from core.trade.views import export_escrow, trade_view, trade_views, transcript

#: How long a one-shot command waits for a peer to take the transactions it broadcast.
PROPAGATION_WAIT = 30.0


@contextlib.asynccontextmanager
async def trading(args: argparse.Namespace) -> AsyncIterator[TradeEngine]:
    """A started engine for --wallet with its node synced and its relays connected; closed on exit."""
    wallet = open_wallet(args)
    trades_dir = chain_dir(args) / "trades"
    trades_dir.mkdir(parents=True, exist_ok=True)
    name = trade_files_name(wallet)  # the same files the app uses for this wallet
    store = TradeStore(trades_dir / f"{name}.sqlite")
    outbox = OutboxStore(trades_dir / f"{name}.nostr.sqlite")
    watch = prepare_watch(store)
    peers = connect_peers(args, "connect_trade")
    cfg = LightNodeConfig(datadir=chain_dir(args) / "node", connect=peers, dns_seed=not peers, min_filter_peers=1 if peers else 2)
    node = LightNode(params_for(chain(args)), cfg, scan_target=TradeScanTarget(wallet, watch))
    pool = RelayPool(args.relay, outbox)
    engine: TradeEngine | None = None
    try:
        await node.start()
        wallet.attach(node)
        pool.start()
        keys = await TradeKeys.load(wallet, password(args, wallet))
        engine = TradeEngine(wallet, node, pool, store, keys, watch, password=password(args, wallet))
        await engine.start()
        try:
            await node.wait_synced(args.timeout)
        except TimeoutError:
            raise CliError(f"not synced after {args.timeout:g} s; is any peer reachable?") from None
        await pool.wait_connected(1, args.timeout)
        await engine.settle(args.timeout)
        yield engine
        await engine.settle(args.timeout)
        await _propagated(node, engine, min(args.timeout, PROPAGATION_WAIT))
    finally:
        if engine is not None:
            await engine.close()
        await pool.close()
        wallet.detach()
        await node.close()
        wallet.close()
        store.close()
        outbox.close()


async def _propagated(node: LightNode, engine: TradeEngine, timeout: float) -> None:
    """Before a one-shot command exits, make sure a peer has what it broadcast: ask the peers for their
    mempool (BIP35) and wait for our transactions to be announced back (TxPropagated)."""
    pending = {st.tx.txid for st in engine.broadcasts if st.state is BroadcastState.UNCONFIRMED}
    if not pending:
        return
    events = node.subscribe()
    try:
        async with asyncio.timeout(timeout):
            while pending:
                pending = {st.tx.txid for st in engine.broadcasts if st.state is BroadcastState.UNCONFIRMED}
                for peer in node.peers():
                    peer.send(MsgMempool())
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2.0):  # the answer to this round, or ask again
                        while pending:
                            ev = await events.get()
                            if isinstance(ev, TxPropagated | TxConfirmed):
                                pending.discard(ev.txid)
    except TimeoutError:
        print(f"warning: {len(pending)} transaction(s) not seen back from a peer yet; they are announced again "
              "on the next run", file=sys.stderr)


def _run(args: argparse.Namespace, action: Callable[[TradeEngine], Awaitable[Any]]) -> int:
    async def main() -> Any:
        async with trading(args) as engine:
            return await action(engine)

    result = asyncio.run(main())
    if result is not None:
        print(result if isinstance(result, str) else json.dumps(result, indent=1, sort_keys=True, default=str))
    return 0


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CliError(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise CliError(f"{what} must be finite")
    return value


def _arbitrator(text: str | None) -> ArbitratorRef | None:
    if not text:
        return None
    nostr, _, escrow = text.partition(":")
    try:
        return ArbitratorRef(check_hex32(nostr, "arbitrator nostr key"), check_hex32(escrow, "arbitrator escrow key"))
    except Exception as e:  # OfferError: a typo in the key pair
        raise CliError(f"--arbitrator must be NOSTR:ESCROW (64 hex digits each): {e}") from None


def _row(engine: TradeEngine, trade_id: str) -> Any:
    row = engine.store.trade(trade_id)
    if row is None:
        raise CliError(f"no trade {trade_id} in this wallet's trades")
    return row


# -- commands --------------------------------------------------------------------------------------------


def _cmd_offer(args: argparse.Namespace) -> int:
    async def act(e: TradeEngine) -> str:
        price = _decimal(args.price, "price") if args.price else None
        premium = _decimal(args.premium, "premium") if args.premium else None
        offer = await e.create_offer(
            Side(args.side), parse_sats(args.min, "minimum"), parse_sats(args.max, "maximum"), args.currency.upper(),
            tuple(args.method), args.account, price=price, premium_pct=premium, deposit_bp=args.deposit_bp,
            arbitrator=_arbitrator(args.arbitrator), t1_blocks=args.t1, confirmations=args.confirmations,
            payout_fee_cap_sat=args.fee_cap,
        )
        return offer.id

    return _run(args, act)


def _cmd_offers(args: argparse.Namespace) -> int:
    async def act(e: TradeEngine) -> Any:
        out = [{**o, "mine": mine, "status": status} for o, mine, status in e.store.offers() if args.all or status == "open"]
        foreign = [{"platform": b.order.platform, "side": b.order.side.value, "currency": b.order.currency,
                    "read_only": True} for b in e.book.values() if b.read_only]
        return out + (foreign if args.all else [])

    return _run(args, act)


def _cmd_take(args: argparse.Namespace) -> int:
    async def act(e: TradeEngine) -> str:
        return await e.take(args.offer, parse_sats(args.amount), args.method, args.account)

    return _run(args, act)


def _cmd_status(args: argparse.Namespace) -> int:
    async def act(e: TradeEngine) -> Any:
        if args.trade is None:
            return [asdict(v) for v in trade_views(e.store, open_only=not args.all)]
        if args.wait:
            wanted = {State(s) for s in args.wait}
            try:
                await e.wait_until(lambda: _row(e, args.trade).state in wanted, args.timeout)
            except TimeoutError:
                raise CliError(f"trade {args.trade} did not reach {', '.join(args.wait)} in {args.timeout:g} s "
                               f"(it is {_row(e, args.trade).state.value})") from None
        row = _row(e, args.trade)
        return asdict(trade_view(row.trade_id, row.role, row.state, row.ctx))

    return _run(args, act)


def _simple(method: str, *fields: str) -> Callable[[argparse.Namespace], int]:
    def cmd(args: argparse.Namespace) -> int:
        async def act(e: TradeEngine) -> str:
            _row(e, args.trade)
            state = await getattr(e, method)(args.trade, *(getattr(args, f) for f in fields))
            return str(state.value)

        return _run(args, act)

    return cmd


def _cmd_received(args: argparse.Namespace) -> int:
    async def act(e: TradeEngine) -> str:
        _row(e, args.trade)
        state = await e.received(args.trade, credited=args.credited, sender_matches=args.sender_matches,
                                 not_reversible=args.not_reversible)
        return str(state.value)

    return _run(args, act)


def _cmd_cancel(args: argparse.Namespace) -> int:
    method = {"accept": "accept_cancel", "decline": "decline_cancel", "refund": "refund"}.get(args.mode or "", "cancel")
    fields = ("reason",) if method in ("cancel", "decline_cancel") else ()
    return _simple(method, *fields)(args)


def _cmd_rule(args: argparse.Namespace) -> int:
    if args.accept:
        return _simple("accept_ruling")(args)
    if args.buyer is None or args.seller is None:
        raise CliError("the arbitrator rules with --buyer SATS --seller SATS (a trader co-signs with --accept)")
    args.buyer_sat, args.seller_sat = int(args.buyer), int(args.seller)
    return _simple("rule", "buyer_sat", "seller_sat", "reason")(args)


def _cmd_chat(args: argparse.Namespace) -> int:
    if args.text is None:
        async def show(e: TradeEngine) -> Any:
            return transcript(e.store, _row(e, args.trade).trade_id)

        return _run(args, show)
    return _simple("chat", "text", "to")(args)


def _cmd_export(args: argparse.Namespace) -> int:
    async def act(e: TradeEngine) -> Any:
        return export_escrow(_row(e, args.trade).ctx)

    return _run(args, act)


def _cmd_arbitrator_key(args: argparse.Namespace) -> int:
    async def act(e: TradeEngine) -> str:
        ref = e.keys.arbitrator_ref
        return f"{ref.nostr}:{ref.escrow}"

    return _run(args, act)


def _cmd_bot(args: argparse.Namespace) -> int:
    """Stay online as a sandbox bot for --duration seconds (or until interrupted)."""

    async def act(e: TradeEngine) -> None:
        bot = BotArbitrator(e) if args.role == "arbitrator" else BotTrader(e)
        bot.start()
        try:
            if args.role == "trader" and args.make_offers:
                await bot.make_offers(_arbitrator(args.arbitrator))  # type: ignore[union-attr]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.Event().wait(), args.duration)
        finally:
            await bot.close()

    return _run(args, act)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `trade` and its sub-commands to the CLI."""
    p = sub.add_parser("trade", help="direct trades with escrow (trade -h lists the steps)")
    p.add_argument("--wallet", type=wallet_name, default="default", help="wallet name (default: default)")
    p.add_argument("--relay", action="append", required=True, metavar="URL", help="Nostr relay ws(s)://... (repeatable)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for sync, relays and messages")
    p.add_argument("--connect", dest="connect_trade", type=parse_hostport, action="append", default=[], metavar="HOST:PORT")
    add_password_options(p)
    t = p.add_subparsers(dest="trade_command", required=True, metavar="SUBCOMMAND")

    def leaf(name: str, fn: Callable[[argparse.Namespace], int], text: str, trade: bool = True) -> argparse.ArgumentParser:
        q = t.add_parser(name, help=text)
        if trade:
            q.add_argument("trade", help="trade id")
        q.set_defaults(handler=guard(fn))
        return q

    q = leaf("offer", _cmd_offer, "make an offer; prints its id", trade=False)
    q.add_argument("--side", choices=("buy", "sell"), required=True, help="our side")
    q.add_argument("--min", required=True, help="smallest trade (sat)")
    q.add_argument("--max", required=True, help="largest trade (sat)")
    q.add_argument("--currency", required=True)
    q.add_argument("--method", action="append", required=True, help="payment method (repeatable)")
    price = q.add_mutually_exclusive_group(required=True)
    price.add_argument("--price", help="fiat per BTC")
    price.add_argument("--premium", help="percent over the market price")
    q.add_argument("--account", required=True, help="our payment account details (shown only after the deposit)")
    q.add_argument("--arbitrator", help="NOSTR:ESCROW keys of the arbitrator (see `trade arbitrator-key`)")
    q.add_argument("--deposit-bp", type=int, default=1500, help="each trader's deposit in basis points")
    q.add_argument("--t1", type=int, default=None, help="seller refund delay in blocks")
    q.add_argument("--confirmations", type=int, default=2)
    q.add_argument("--fee-cap", type=int, default=5000, help="largest payout fee (sat)")
    q = leaf("offers", _cmd_offers, "the offer book (JSON)", trade=False)
    q.add_argument("--all", action="store_true", help="also taken, finished and other platforms' offers")
    q = leaf("take", _cmd_take, "take an offer; prints the trade id", trade=False)
    q.add_argument("offer")
    q.add_argument("--amount", required=True, help="sat")
    q.add_argument("--method", required=True)
    q.add_argument("--account", required=True, help="our payment account details")
    q = leaf("status", _cmd_status, "a trade (or all open trades) as JSON", trade=False)
    q.add_argument("trade", nargs="?")
    q.add_argument("--wait", action="append", choices=[s.value for s in State], help="stay online until this state")
    q.add_argument("--all", action="store_true", help="finished trades too")
    q = leaf("chat", _cmd_chat, "send a chat message (or, without text, print the signed transcript)")
    q.add_argument("text", nargs="?")
    q.add_argument("--to", default="peer", choices=("peer", "arbitrator", "buyer", "seller"))
    q = leaf("paid", _simple("paid", "note"), "buyer: I have paid")
    q.add_argument("--note", default="")
    q = leaf("received", _cmd_received, "seller: I have received the payment (releases)")
    q.add_argument("--credited", action="store_true", help="the money is credited, not just announced")
    q.add_argument("--sender-matches", action="store_true", help="the sender's name matches the buyer's account")
    q.add_argument("--not-reversible", action="store_true", help="the payment cannot be reversed")
    q = leaf("cancel", _cmd_cancel, "cancel (before the deposit) or propose/accept/decline a cooperative cancel")
    q.add_argument("--reason", default="")
    q.add_argument("--accept", dest="mode", action="store_const", const="accept")
    q.add_argument("--decline", dest="mode", action="store_const", const="decline")
    q.add_argument("--refund", dest="mode", action="store_const", const="refund", help="seller after T1: refund alone")
    q = leaf("dispute", _simple("dispute", "reason", "notes"), "open a dispute with the arbitrator")
    q.add_argument("--reason", required=True)
    q.add_argument("--notes", default="", help="payment proof notes for the arbitrator")
    q = leaf("rule", _cmd_rule, "arbitrator: rule a split; trader: --accept the ruling")
    q.add_argument("--buyer", help="sat to the buyer (before fees)")
    q.add_argument("--seller", help="sat to the seller (before fees)")
    q.add_argument("--reason", default="")
    q.add_argument("--accept", action="store_true", help="co-sign and broadcast the arbitrator's ruling")
    leaf("export-escrow", _cmd_export, "descriptor, outpoint and terms to spend the escrow elsewhere (JSON)")
    leaf("arbitrator-key", _cmd_arbitrator_key, "our NOSTR:ESCROW keys for offers naming us arbitrator", trade=False)
    q = leaf("bot", _cmd_bot, "run a sandbox bot", trade=False)
    q.add_argument("--role", choices=("trader", "arbitrator"), required=True)
    q.add_argument("--duration", type=float, default=3600.0)
    q.add_argument("--make-offers", action="store_true")
    q.add_argument("--arbitrator")

