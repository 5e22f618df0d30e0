"""TradeEngine: runs the trade protocol for one wallet over a light node and a relay pool.

Every input — a gift-wrapped message from a relay, an escrow fact from the chain watch, a timer, a user
action — becomes a protocol event applied under the trade's lock: `step` gives the new state and
effects, the store commits them in one transaction, and only then is anything executed or sent
(effects by `EffectRunner`, messages by the outbox flusher, both idempotent so a restart simply
re-runs what was not marked done). Messages are checked strictly: authenticated by the NIP-59 seal and
the message's own signature, then sequence-checked per channel — duplicates are dropped, replays and
out-of-order ones rejected (later ones parked until the gap fills); one that does not apply in the
current state is rejected and kept to retry after the next state change (relays do not order
messages across channels). On start every open trade resumes: keys derived, reserved coins frozen
again, pending effects re-run, the outbox flushed, timers checked, and its escrow rescanned on chain.

The user-facing API (`create_offer`, `take`, `paid`, `received`, `cancel`, `dispute`, `rule`, ...) is in
`TradeActions`, which this class extends; views for the UI are in core.trade.views.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

from core.mempool.feerate import FeeRate
from core.trade.chain_watch import ChainWatch, prepare_watch
from core.trade.context import Role, TradeContext
from core.trade.engine_actions import TradeActions
from core.trade.engine_chain import ChainFacts
from core.trade.engine_effects import EffectRunner
from core.trade.errors import MessageError, NostrError, NotAllowedError, ProtocolError, TradeError
from core.trade.messages import Delivery, MsgKind, WireMessage, classify, decode_message
from core.trade.nostr.event import Event as NostrEvent
from core.trade.nostr.keys import NostrKey
from core.trade.nostr.nip59 import KIND_GIFT_WRAP, TWO_DAYS, gift_wrap, unwrap
from core.trade.offer_event import BookEntry
from core.trade.protocol import step
from core.trade.protocol_types import INLINE_OPS, Effect, Ev, Event, Op, State, Timer
from core.trade.rules import send
from core.trade.store import PendingEffect, TradeStore
from core.trade.trade_keys import TradeKeys
from core.trade.updates import TradeUpdate

log = logging.getLogger(__name__)

#: Kind of the rumor inside our gift wraps (a regular kind of our own; never published unwrapped).
RUMOR_KIND = 4383
#: Finished trades still listened to for this long (late receipts, chat).
RECENT = 7 * 24 * 3600
#: Meta key: the wall-clock time of the last start whose stored gift wraps were all processed.
WRAPS_CAUGHT_UP = "gift_wraps_caught_up"


class TradeEngine(TradeActions, ChainFacts):
    """See the module docstring. `await engine.start()` after the node started; `await engine.close()`."""

    def __init__(
        self, wallet: Any, node: Any, pool: Any, store: TradeStore, keys: TradeKeys, watch: ChainWatch, *,
        password: str | None = None, fee_rate: FeeRate | None = None,
        market_price: Callable[[str], Decimal | None] | None = None, clock: Callable[[], float] = time.time,
    ) -> None:
        self.wallet, self.node, self.pool, self.store, self.keys, self.watch = wallet, node, pool, store, keys, watch
        self.password = password
        self.fee_rate = fee_rate
        self.market_price = market_price or (lambda _currency: None)
        self.clock = clock
        self.book: dict[str, BookEntry] = {}
        self.effects = EffectRunner(self)
        self._listeners: list[Callable[[TradeUpdate], None]] = []
        self._changed = asyncio.Event()
        self._locks: dict[str, asyncio.Lock] = {}
        self._queue: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._job_failures = 0
        self._wrap_since: int | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._my_keys: dict[str, NostrKey] = {}
        self._subs: dict[str, Any] = {}
        self._flush_lock = asyncio.Lock()
        self._timer_handle: asyncio.TimerHandle | None = None
        self._deposit_heights: dict[str, tuple[str, int, str, int]] = {}  # trade → (txid, vout, tx hex, height)
        self._closed = False
        self.broadcasts: list[Any] = []  # the node's BroadcastStatus of what we announced this session
        self._unsent: set[str] = set()  # gift wraps handed to the pool this session (for `settle`)
        self._worker_task: asyncio.Task[Any] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Resume every trade and start listening (see the module docstring)."""
        # A relay that requires NIP-42 authentication sees the keys we subscribe with, and only those.
        self.pool.auth_keys = lambda: list(self._my_keys.values())
        # Gift wraps we processed at an earlier start are not asked for again: from the last start that
        # caught up, less NIP-59's two days of backdating (and an hour of clock skew).
        started = int(self.clock())
        caught_up = self.store.get_meta(WRAPS_CAUGHT_UP)
        self._wrap_since = int(caught_up) - TWO_DAYS - 3600 if caught_up and caught_up.isdigit() else None
        await self._add_key(self.keys.identity)
        recent = self.clock() - RECENT
        for row in self.store.trades():
            if row.ctx.key_index >= 0 and (not row.final or row.updated_at > recent):
                await self._add_key((await self.keys.pair(row.ctx.key_index)).nostr)
            if not row.final:
                self.effects.refreeze(row.ctx)
        for offer, _mine, status in self.store.offers(mine=True):
            found = self.store.offer(offer["id"])
            if found is not None and status == "open":
                await self._add_key((await self.keys.pair(found[3]["key_index"])).nostr)
        self.node.add_listener(self.watch.on_node_event)
        self.node.mempool.tx_listeners.append(self.watch.transactions_seen)
        self._worker_task = self._spawn(self._worker(), "trade engine")
        # The node may have scanned before we listened: start from its scanned tip.
        scanned = getattr(getattr(self.node, "filters", None), "scan_height", -1)
        if isinstance(scanned, int) and scanned > self.watch.tip_height:
            self.watch.tip_height = scanned
            self._enqueue(lambda: self._on_tip(scanned))
        self.watch.attach(self._on_chain)
        self._spawn(self._mark_caught_up(started, list(self._subs.values())), "gift wraps caught up")
        await self.subscribe_book()
        await self.republish_offers()
        for pending in self.store.pending_effects():
            self.effects.schedule(pending)
        self.effects.rebroadcast([r for r in self.store.trades() if r.ctx.contract is not None])
        self.kick_outbox()
        self._enqueue(self._check_timers)
        # A message refused in an earlier state is retried after the next state change; if the app was
        # killed right after that change committed, the retry never ran and the relay's copy is now a
        # duplicate: retry what is parked now.
        for row in self.store.trades():
            if self.store.parked(row.trade_id):
                self._enqueue(lambda trade_id=row.trade_id: self._retry_parked(trade_id))  # type: ignore[misc]

    async def close(self) -> None:
        """Stop listening and working (the store keeps everything for the next start)."""
        self._closed = True
        self.watch.detach()
        with contextlib.suppress(ValueError):
            self.node._listeners.remove(self.watch.on_node_event)
        with contextlib.suppress(ValueError):
            self.node.mempool.tx_listeners.remove(self.watch.transactions_seen)
        if self._timer_handle is not None:
            self._timer_handle.cancel()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for sub in list(self._subs.values()):
            with contextlib.suppress(Exception):
                await self.pool.unsubscribe(sub)
        self._subs.clear()

    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _enqueue(self, job: Callable[[], Awaitable[None]]) -> None:
        if not self._closed:
            self._queue.put_nowait(job)

    async def _worker(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad input must not stop the engine
                self._job_failures += 1
                log.exception("trade engine job failed")
            finally:
                self._queue.task_done()

    async def settle(self, timeout: float) -> None:
        """Wait until the relays sent what they stored for us, every input is processed, every effect
        has run and every message is stored by a relay (for the CLI: act, then exit only once done)."""
        async with asyncio.timeout(timeout):
            for sub in list(self._subs.values()):
                await sub.eose.wait()
            while True:
                await self._queue.join()
                busy = [t for t in self._tasks if t is not self._worker_task and not t.done()]
                if busy:
                    await asyncio.wait(busy)
                    continue
                if self._queue.empty() and not self.store.pending_out():
                    break
            for event_id in list(self._unsent):
                await self.pool.wait_sent(event_id, timeout)
                self._unsent.discard(event_id)

    def lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    # -- updates -------------------------------------------------------------------------------------

    def add_listener(self, fn: Callable[[TradeUpdate], None]) -> None:
        """Call `fn(update)` on the loop after every committed change."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[TradeUpdate], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def emit(self, update: TradeUpdate) -> None:
        for fn in list(self._listeners):
            fn(update)
        self._changed.set()

    def poke(self) -> None:
        """Wake `wait_until` waiters to re-check (e.g. after a wallet event)."""
        self._changed.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Wait until `predicate()` holds, re-checked after every update (TimeoutError after `timeout`)."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    # -- keys and subscriptions ------------------------------------------------------------------------

    async def _add_key(self, key: NostrKey) -> None:
        if key.xonly in self._my_keys:
            return
        self._my_keys[key.xonly] = key
        flt: dict[str, Any] = {"kinds": [KIND_GIFT_WRAP], "#p": [key.xonly]}
        if self._wrap_since is not None:
            flt["since"] = max(self._wrap_since, 0)
        self._subs[key.xonly] = await self.pool.subscribe([flt], self._on_wrap)

    async def _mark_caught_up(self, started: int, subs: list[Any]) -> None:
        """Once every relay has sent the stored gift wraps for our keys and each one is processed, the
        next start need not ask for what was stored before `started` (a failed job keeps them asked for)."""
        failures = self._job_failures
        for sub in subs:
            await sub.all_eose.wait()
        await self._queue.join()
        if self._job_failures == failures:
            self.store.set_meta(WRAPS_CAUGHT_UP, str(started))
            self.emit(TradeUpdate("", None, "caught_up", {"since": started}))

    def my_key(self, xonly: str) -> NostrKey:
        return self._my_keys[xonly]

    async def signer_for(self, ctx: TradeContext) -> NostrKey:
        """Our Nostr key on this trade (the identity key for the arbitrator)."""
        if ctx.role is Role.ARBITRATOR:
            return self.keys.identity
        return (await self.keys.pair(ctx.key_index)).nostr

    def sign_send(self, ctx: TradeContext, key: NostrKey) -> Callable[[Effect, Callable[[str], int]], WireMessage]:
        """The store's message builder for SEND effects of this trade."""

        def build(eff: Effect, seq_for: Callable[[str], int]) -> WireMessage:
            recipient = self._recipient(ctx, eff.args.get("to", "peer"))
            body = eff.args["body"]
            return WireMessage.create(key, ctx.trade_id, seq_for(recipient), recipient, MsgKind(eff.args["kind"]), body, int(self.clock()))

        return build

    @staticmethod
    def _recipient(ctx: TradeContext, to: str) -> str:
        if to == "peer":
            return ctx.peer_nostr
        c = ctx.contract_obj()
        if to == "arbitrator" and c.arbitrator is not None:
            return c.arbitrator.nostr
        if to in ("buyer", "seller"):
            return c.buyer.nostr if to == "buyer" else c.seller.nostr
        raise ProtocolError(f"no recipient {to!r} in this trade")

    # -- applying events -------------------------------------------------------------------------------

    @property
    def tip(self) -> int:
        return self.watch.tip_height

    def event(self, kind: Ev, data: Mapping[str, Any] | None = None) -> Event:
        return Event(kind, dict(data or {}), None, int(self.clock()), self.tip)

    async def apply(self, trade_id: str, event: Event, *, create: TradeContext | None = None, drop_timer: str | None = None) -> State:
        """Apply one event (ProtocolError with nothing changed if refused); returns the new state.
        `drop_timer` names the timer that fired it, dropped in the same commit."""
        async with self.lock(trade_id):
            row = self.store.trade(trade_id)
            if row is None and create is None:
                raise ProtocolError(f"no trade {trade_id}")
            role, state, ctx = (create.role, State.OFFER_OPEN, create) if row is None else (row.role, row.state, row.ctx)  # type: ignore[union-attr]
            new_state, new_ctx, effects = step(role, state, ctx, event)
            key = await self.signer_for(new_ctx)
            dropped = [Timer.cancel(drop_timer)] if drop_timer else []
            pending = self.store.commit(
                trade_id, state=new_state, ctx=new_ctx, effects=[*effects, *dropped], incoming=event.msg,
                sign_send=self.sign_send(new_ctx, key),
            )
        self._after(trade_id, state, new_state, effects, pending, created=row is None)
        return new_state

    def _after(self, trade_id: str, old: State, new: State, effects: list[Effect], pending: list[PendingEffect],
               *, created: bool = False) -> None:
        if created or new is not old:
            self.emit(TradeUpdate(trade_id, new, "state", {"from": old.value}))
        for eff in effects:
            if eff.op is Op.NOTIFY:
                self.emit(TradeUpdate(trade_id, new, str(eff.args.get("what", "")), dict(eff.args)))
        for p in pending:
            self.effects.schedule(p)
        if any(e.op is Op.SEND for e in effects):
            self.kick_outbox()
        if any(e.op in (Op.START_TIMER, Op.CANCEL_TIMER) for e in effects):
            self._enqueue(self._check_timers)
        if new is not old:
            self._enqueue(lambda: self._retry_parked(trade_id))

    async def try_apply(self, trade_id: str, event: Event, *, drop_timer: str | None = None) -> State | None:
        """`apply`, with a refusal only logged (chain facts and timers may repeat or come late)."""
        try:
            return await self.apply(trade_id, event, drop_timer=drop_timer)
        except ProtocolError as e:
            log.debug("trade %s: %s ignored: %s", trade_id, event.kind.value, e)
            return None

    # -- messages in -------------------------------------------------------------------------------------

    def _on_wrap(self, event: NostrEvent, relay: str) -> None:
        self._enqueue(lambda: self._handle_wrap(event))

    async def _handle_wrap(self, event: NostrEvent) -> None:
        for xonly in event.tag_values("p"):
            key = self._my_keys.get(xonly)
            if key is None:
                continue
            try:
                rumor = unwrap(event, key)
                if rumor.kind != RUMOR_KIND:
                    return
                msg = decode_message(rumor.content)
            except (NostrError, MessageError) as e:
                self.emit(TradeUpdate("", None, "rejected", {"reason": str(e)}))
                return
            if msg.sender != rumor.sender_xonly or msg.recipient != key.xonly:
                self.emit(TradeUpdate(msg.trade_id, None, "rejected", {"reason": "message not from its seal's signer"}))
                return
            await self.deliver(msg)
            return

    async def deliver(self, msg: WireMessage, *, retry: bool = False) -> bool:
        """Route a verified message to its trade; True if it was applied."""
        row = self.store.trade(msg.trade_id)
        if row is None:
            if msg.kind is MsgKind.TAKE:
                await self.effects.new_take(msg)
            elif msg.kind is MsgKind.DISPUTE and msg.recipient == self.keys.identity.xonly:
                await self._new_dispute(msg)
            else:
                self.store.park(msg.trade_id, msg.id, msg.to_text(), "unknown")
            return False
        if not retry:
            verdict = classify(msg, self.store.expected_seq(msg.trade_id, msg.sender, msg.recipient), self.store.seen)
            if verdict is Delivery.DUPLICATE:
                return False
            if verdict is not Delivery.ACCEPT:
                if verdict is Delivery.FUTURE:
                    self.store.park(msg.trade_id, msg.id, msg.to_text(), "future")
                self.emit(TradeUpdate(msg.trade_id, row.state, "rejected", {"reason": verdict.value, "kind": msg.kind.value}))
                return False
        try:
            await self.apply(msg.trade_id, Event.message(msg, int(self.clock()), self.tip))
            self._enqueue(lambda: self._retry_parked(msg.trade_id))  # it may fill a gap of parked ones
        except ProtocolError as e:
            if not retry:  # one transaction: seen and kept, or neither (a kill in between lost it)
                self.store.record_rejected(msg, str(e), park="deferred" if isinstance(e, NotAllowedError) else None)
                self.emit(TradeUpdate(msg.trade_id, row.state, "rejected", {"reason": str(e), "kind": msg.kind.value}))
            return False
        return True

    async def _retry_parked(self, trade_id: str) -> None:
        progress = True
        while progress:
            progress = False
            for msg_id, raw, reason in self.store.parked(trade_id):
                try:
                    msg = decode_message(raw)
                except MessageError:
                    self.store.unpark(msg_id)
                    continue
                if reason == "deferred":
                    progress |= await self.deliver(msg, retry=True)
                    continue
                if self.store.trade(trade_id) is None:
                    return
                verdict = classify(msg, self.store.expected_seq(trade_id, msg.sender, msg.recipient), self.store.seen)
                if verdict is Delivery.FUTURE:
                    continue
                self.store.unpark(msg_id)
                if verdict is Delivery.ACCEPT:
                    await self.deliver(msg)
                    progress = True

    async def _new_dispute(self, msg: WireMessage) -> None:
        ctx = TradeContext(msg.trade_id, Role.ARBITRATOR, False, {}, self.keys.identity.xonly, created_at=int(self.clock()))
        try:
            await self.apply(msg.trade_id, Event.message(msg, int(self.clock()), self.tip), create=ctx)
        except ProtocolError as e:
            self.emit(TradeUpdate(msg.trade_id, None, "rejected", {"reason": str(e), "kind": msg.kind.value}))

    # -- messages out ------------------------------------------------------------------------------------

    def kick_outbox(self) -> None:
        if not self._closed:
            self._spawn(self._flush_outbox(), "trade outbox")

    async def _flush_outbox(self) -> None:
        async with self._flush_lock:
            for stored in self.store.pending_out():
                msg = decode_message(stored.raw)
                key = self._my_keys.get(msg.sender)
                if key is None:
                    key = await self._key_for_sender(msg)
                wrapped = await asyncio.to_thread(gift_wrap, RUMOR_KIND, stored.raw, (), key, msg.recipient)
                await self.pool.publish(wrapped)  # the pool's own outbox persists it before we mark it sent
                self._unsent.add(wrapped.id)
                self.store.mark_sent(stored.id)

    async def _key_for_sender(self, msg: WireMessage) -> NostrKey:
        row = self.store.trade(msg.trade_id)
        if row is not None:
            key = await self.signer_for(row.ctx)
        else:  # a REJECT for a take we did not record: the offer's key
            key = await self.effects.offer_key_for(msg.sender)
        await self._add_key(key)
        return key

    def send_now(self, trade_id: str, ctx: TradeContext, key: NostrKey, kind: MsgKind, body: dict[str, Any],
                 incoming: WireMessage | None = None) -> None:
        """Send one message outside any state change (a REJECT for a take we refuse)."""
        self.store.commit(trade_id, effects=[send(kind, body)], incoming=incoming, incoming_status="rejected",
                          sign_send=self.sign_send(ctx, key))
        self.kick_outbox()


__all__ = ["INLINE_OPS", "RUMOR_KIND", "TradeEngine", "TradeError", "TradeUpdate", "prepare_watch"]
