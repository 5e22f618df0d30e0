"""A pool of relays: subscriptions on every relay with events de-duplicated by id, and publishing
through a persisted outbox that retries until at least one relay has stored the event.

`publish` first writes the event to the OutboxStore, then a flusher task sends every pending event to
every connected relay that has not refused it; the first OK (or "duplicate:") marks it sent. A relay
that (re)connects triggers a flush, so events published while all relays were down, or before a
crash, go out as soon as one relay is reachable. Every task is owned by the pool and ended by `close`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.trade.errors import NostrError, RelayError
from core.trade.nostr.event import Event
from core.trade.nostr.keys import NostrKey
from core.trade.nostr.outbox import OutboxState, OutboxStore
from core.trade.nostr.relay import Backoff, RelayClient
from core.trade.nostr.relay_messages import (
    ClosedMessage,
    EoseMessage,
    EventMessage,
    RelayMessage,
    check_filter,
)

log = logging.getLogger(__name__)

EventCallback = Callable[[Event, str], None]
#: How many event ids a subscription remembers for de-duplication.
SEEN_CAP = 50_000


@dataclass
class PoolSubscription:
    """A subscription on every relay of the pool. `eose` is set when the first relay has sent its
    stored events; `eose_relays` lists which have."""

    sub_id: str
    filters: list[dict[str, Any]]
    callback: EventCallback
    eose: asyncio.Event = field(default_factory=asyncio.Event)
    eose_relays: set[str] = field(default_factory=set)
    all_eose: asyncio.Event = field(default_factory=asyncio.Event)  # every relay of the pool has
    closed_by: dict[str, str] = field(default_factory=dict)
    _seen: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def first_sighting(self, event_id: str) -> bool:
        """True the first time `event_id` is seen by this subscription (bounded memory)."""
        if event_id in self._seen:
            return False
        self._seen[event_id] = None
        if len(self._seen) > SEEN_CAP:
            self._seen.popitem(last=False)
        return True


class RelayPool:
    """Relays at `urls` with the outbox `outbox`. Use as `async with RelayPool(...) as pool:`."""

    def __init__(
        self,
        urls: Sequence[str],
        outbox: OutboxStore,
        *,
        ok_timeout: float = 10.0,
        retry_delay: float = 2.0,
        backoff: Backoff | None = None,
        connect_timeout: float = 10.0,
        proxy: str | None = None,
        rng: random.Random | None = None,
        auth_keys: Callable[[], Sequence[NostrKey]] | None = None,
    ) -> None:
        if not urls or len(set(urls)) != len(urls):
            raise RelayError("a pool needs one or more distinct relay URLs")
        self.outbox = outbox
        #: The keys a relay that requires NIP-42 authentication sees (the engine sets its own keys).
        self.auth_keys = auth_keys
        self._ok_timeout = ok_timeout
        self._retry_delay = retry_delay
        rng = rng or random.Random()
        self.relays: dict[str, RelayClient] = {
            url: RelayClient(
                url,
                self._on_message,
                on_connect=self._on_connect,
                backoff=backoff,
                connect_timeout=connect_timeout,
                proxy=proxy,
                rng=random.Random(rng.random()),
                auth_keys=self._auth_keys,
            )
            for url in urls
        }
        self._subs: dict[str, PoolSubscription] = {}
        self._kick = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._inflight: set[tuple[str, str]] = set()
        self._refused: dict[str, dict[str, str]] = {}
        self._waiters: dict[str, list[asyncio.Future[str]]] = {}
        self._retry_handle: asyncio.TimerHandle | None = None
        self._started = False
        self._closed = False

    def _auth_keys(self) -> Sequence[NostrKey]:
        return self.auth_keys() if self.auth_keys is not None else ()

    async def __aenter__(self) -> RelayPool:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def start(self) -> None:
        """Start every relay connection and the outbox flusher; pending outbox events are sent."""
        if self._started:
            return
        self._started = True
        for client in self.relays.values():
            client.start()
        self._spawn(self._flusher(), "outbox flusher")
        self._kick.set()

    async def close(self) -> None:
        """Stop all relays and tasks; waiters of unsent events get RelayError (the outbox keeps them)."""
        if self._closed:
            return
        self._closed = True
        if self._retry_handle is not None:
            self._retry_handle.cancel()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(*(c.close() for c in self.relays.values()))
        for event_id in list(self._waiters):
            self._resolve(event_id, error="pool closed")

    async def wait_connected(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until at least `count` relays are connected; RelayError after `timeout`."""

        async def enough() -> None:
            while sum(c.connected.is_set() for c in self.relays.values()) < count:
                waits = [asyncio.ensure_future(c.connected.wait()) for c in self.relays.values()
                         if not c.connected.is_set()]
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for w in waits:
                        w.cancel()

        try:
            await asyncio.wait_for(enough(), timeout)
        except TimeoutError as exc:
            raise RelayError(f"fewer than {count} relays connected after {timeout}s") from exc

    # -- publishing ------------------------------------------------------------------------------
    async def publish(self, event: Event) -> None:
        """Persist `event` to the outbox (it is verified first) and schedule its delivery."""
        event.verify()
        self.outbox.add(event)
        self._kick.set()

    async def wait_sent(self, event_id: str, timeout: float) -> str:
        """Wait until a relay has stored the event; returns that relay's URL. RelayError if every
        relay refused it, the pool closed, or `timeout` passed (it stays in the outbox then)."""
        entry = self.outbox.entry(event_id)
        if entry is None:
            raise RelayError("event is not in the outbox")
        if entry.state is OutboxState.SENT:
            return entry.relay or ""
        if entry.state is OutboxState.FAILED:
            raise RelayError(f"refused by every relay: {entry.error}")
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(event_id, []).append(fut)
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError as exc:
            raise RelayError(f"event {event_id[:16]} not stored by any relay within {timeout}s") from exc
        finally:
            waiters = self._waiters.get(event_id, [])
            if fut in waiters:
                waiters.remove(fut)

    async def publish_and_wait(self, event: Event, timeout: float) -> str:
        """`publish` then `wait_sent`."""
        await self.publish(event)
        return await self.wait_sent(event.id, timeout)

    # -- subscriptions ---------------------------------------------------------------------------
    async def subscribe(self, filters: list[dict[str, Any]], callback: EventCallback) -> PoolSubscription:
        """Subscribe on every relay; `callback(event, relay_url)` runs once per distinct event id."""
        checked = [check_filter(f) for f in filters]
        if not checked:
            raise NostrError("a subscription needs at least one filter")
        sub = PoolSubscription(secrets.token_hex(8), checked, callback)
        self._subs[sub.sub_id] = sub
        await asyncio.gather(*(c.subscribe(sub.sub_id, checked) for c in self.relays.values()))
        return sub

    async def unsubscribe(self, sub: PoolSubscription) -> None:
        """End a subscription on every relay."""
        if self._subs.pop(sub.sub_id, None) is not None:
            await asyncio.gather(*(c.unsubscribe(sub.sub_id) for c in self.relays.values()))

    # -- internals -------------------------------------------------------------------------------
    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("relay pool task %s failed", task.get_name(), exc_info=task.exception())

    def _on_connect(self, client: RelayClient) -> None:
        self._kick.set()

    def _on_message(self, client: RelayClient, msg: RelayMessage) -> None:
        if isinstance(msg, EventMessage):
            sub = self._subs.get(msg.sub_id)
            if sub is not None and sub.first_sighting(msg.event.id):
                try:
                    sub.callback(msg.event, client.url)
                except Exception:  # a subscriber bug must not stop delivery to others
                    log.exception("subscription callback failed")
        elif isinstance(msg, EoseMessage):
            sub = self._subs.get(msg.sub_id)
            if sub is not None:
                sub.eose_relays.add(client.url)
                sub.eose.set()
                if sub.eose_relays >= self.relays.keys():
                    sub.all_eose.set()
        elif isinstance(msg, ClosedMessage):
            sub = self._subs.get(msg.sub_id)
            if sub is not None:
                sub.closed_by[client.url] = msg.message

    async def _flusher(self) -> None:
        while True:
            await self._kick.wait()
            self._kick.clear()
            try:
                pending = self.outbox.pending()
            except Exception:  # e.g. a locked database: keep the flusher alive and try again later
                log.exception("reading the outbox failed")
                self._schedule_retry()
                continue
            for event in pending:
                refused = self._refused.get(event.id, {})
                for url, client in self.relays.items():
                    key = (event.id, url)
                    if client.connected.is_set() and key not in self._inflight and url not in refused:
                        self._inflight.add(key)
                        self._spawn(self._deliver(client, event), f"deliver {event.id[:8]} {url}")

    async def _deliver(self, client: RelayClient, event: Event) -> None:
        try:
            ok = await client.publish(event, self._ok_timeout)
        except RelayError as exc:
            log.info("publish to %s failed: %s; retrying later", client.url, exc)
            self._schedule_retry()
            return
        finally:
            self._inflight.discard((event.id, client.url))
        if ok.stored:
            self.outbox.mark_sent(event.id, client.url)
            self._resolve(event.id, relay=client.url)
            return
        refused = self._refused.setdefault(event.id, {})
        refused[client.url] = ok.message
        log.warning("relay %s refused %s: %s", client.url, event.id[:16], ok.message)
        if len(refused) == len(self.relays):
            reason = "; ".join(f"{u}: {m}" for u, m in refused.items())
            self.outbox.mark_failed(event.id, reason)
            self._resolve(event.id, error=reason)

    def _schedule_retry(self) -> None:
        if self._closed:
            return
        if self._retry_handle is not None:
            self._retry_handle.cancel()
        self._retry_handle = asyncio.get_running_loop().call_later(self._retry_delay, self._kick.set)

    def _resolve(self, event_id: str, *, relay: str | None = None, error: str | None = None) -> None:
        if relay is not None:
            self._refused.pop(event_id, None)
        for fut in self._waiters.pop(event_id, []):
            if fut.done():
                continue
            if error is None:
                fut.set_result(relay or "")
            else:
                fut.set_exception(RelayError(f"not stored: {error}"))
