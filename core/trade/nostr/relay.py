"""An asyncio websocket client for one Nostr relay (NIP-01), built on `websockets`.

One owned task keeps the connection: connect, send REQ for every subscription, read messages; on any
loss it waits an exponential backoff with jitter and reconnects (subscriptions are re-sent). Incoming
events are verified and re-checked against the subscription's filters before they reach the listener;
malformed frames are counted and dropped, never raised into the loop. `publish` sends an event and
waits for the relay's OK for it (a Future per event id).

NIP-42: the relay's challenge is kept for the connection; only when the relay says it needs it (a
subscription CLOSED, or an event refused, with "auth-required:") do we answer with a kind-22242 event
signed by each of our keys (`auth_keys`), then send the subscription or the event again. No key is
shown to a relay that does not ask (the relay sees our subscriptions' keys anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from core.trade.errors import NostrError, RelayError
from core.trade.nostr.event import Event
from core.trade.nostr.keys import NostrKey
from core.trade.nostr.relay_messages import (
    MAX_MESSAGE_CHARS,
    AuthMessage,
    ClosedMessage,
    EventMessage,
    NoticeMessage,
    OkMessage,
    RelayMessage,
    auth_message,
    check_filter,
    close_message,
    event_message,
    filter_matches,
    parse_relay_message,
    req_message,
)

log = logging.getLogger(__name__)
KIND_AUTH = 22242
AUTH_REQUIRED = "auth-required:"


class RelayState(StrEnum):
    """Connection state of a RelayClient."""

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKOFF = "backoff"
    CLOSED = "closed"


@dataclass(frozen=True)
class Backoff:
    """Exponential reconnect delays with jitter: attempt n waits initial·factor^n (capped at maximum),
    less up to `jitter` of it at random, so many clients do not reconnect in lockstep."""

    initial: float = 0.5
    maximum: float = 60.0
    factor: float = 2.0
    jitter: float = 0.5

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before reconnect attempt number `attempt` (0-based)."""
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return base * (1.0 - self.jitter * rng.random())


@dataclass
class RelayStats:
    """Counters of what a relay sent that we dropped or noted."""

    connects: int = 0
    bad_messages: int = 0
    unmatched_events: int = 0
    notices: list[str] = field(default_factory=list)


Listener = Callable[["RelayClient", RelayMessage], None]


class RelayClient:
    """One relay connection with reconnects. `listener` receives EventMessage (verified, matching the
    subscription), EoseMessage, ClosedMessage and NoticeMessage; `on_connect` runs after every
    (re)connect once subscriptions have been re-sent."""

    def __init__(
        self,
        url: str,
        listener: Listener,
        *,
        on_connect: Callable[[RelayClient], None] | None = None,
        backoff: Backoff | None = None,
        connect_timeout: float = 10.0,
        proxy: str | None = None,
        rng: random.Random | None = None,
        auth_keys: Callable[[], Sequence[NostrKey]] | None = None,
    ) -> None:
        self.url = url
        self.auth_keys = auth_keys  # the keys to authenticate with when the relay requires it (NIP-42)
        self.stats = RelayStats()
        self._listener = listener
        self._on_connect = on_connect
        self._backoff = backoff or Backoff()
        self._connect_timeout = connect_timeout
        self._proxy = proxy
        self._rng = rng or random.Random()
        self._subs: dict[str, list[dict[str, Any]]] = {}
        self._pending_ok: dict[str, asyncio.Future[OkMessage]] = {}
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self.connected = asyncio.Event()
        self.state = RelayState.IDLE
        self._challenge: str | None = None  # this connection's NIP-42 challenge
        self.authenticated: set[str] = set()  # keys (x-only hex) authenticated on this connection
        self._auth_lock = asyncio.Lock()
        self._auth_tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the connection task (idempotent)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"relay {self.url}")

    async def close(self) -> None:
        """Stop reconnecting, close the socket and fail pending publishes; waits for the task to end."""
        self._closing.set()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.state = RelayState.CLOSED
        await self._cancel_auth_tasks()
        self._fail_pending("relay client closed")

    async def wait_connected(self, timeout: float) -> None:
        """Wait until connected; RelayError after `timeout` seconds."""
        try:
            await asyncio.wait_for(self.connected.wait(), timeout)
        except TimeoutError as exc:
            raise RelayError(f"{self.url}: not connected after {timeout}s") from exc

    # -- subscriptions and publishing --------------------------------------------------------------
    async def subscribe(self, sub_id: str, filters: list[dict[str, Any]]) -> None:
        """Subscribe (or replace subscription `sub_id`); remembered and re-sent after reconnects."""
        checked = [check_filter(f) for f in filters]
        if not checked:
            raise NostrError("a subscription needs at least one filter")
        text = req_message(sub_id, checked)
        self._subs[sub_id] = checked
        await self._send_if_connected(text)

    async def unsubscribe(self, sub_id: str) -> None:
        """Forget subscription `sub_id` and send CLOSE if connected."""
        if self._subs.pop(sub_id, None) is not None:
            await self._send_if_connected(close_message(sub_id))

    async def publish(self, event: Event, timeout: float) -> OkMessage:
        """Send `event` and wait for the relay's OK; RelayError if not connected, lost or timed out. An
        event refused with "auth-required:" is sent once more after authenticating (NIP-42)."""
        ok = await self._send_for_ok(event_message(event), event.id, timeout)
        if not ok.accepted and ok.message.startswith(AUTH_REQUIRED) and await self.authenticate(timeout):
            ok = await self._send_for_ok(event_message(event), event.id, timeout)
        return ok

    async def authenticate(self, timeout: float = 10.0) -> bool:
        """Answer this connection's challenge with every `auth_keys` key not authenticated yet; True if
        one more key is authenticated now (False without a challenge, keys, or the relay's consent)."""
        async with self._auth_lock:
            challenge, keys = self._challenge, self.auth_keys() if self.auth_keys is not None else []
            if challenge is None:
                return False
            added = False
            for key in keys:
                if key.xonly in self.authenticated:
                    continue
                event = Event.sign(key, KIND_AUTH, "", [["relay", self.url], ["challenge", challenge]])
                ok = await self._send_for_ok(auth_message(event), event.id, timeout)
                if ok.accepted:
                    self.authenticated.add(key.xonly)
                    added = True
                else:
                    log.info("relay %s refused our authentication: %s", self.url, ok.message)
            return added

    async def _send_for_ok(self, text: str, event_id: str, timeout: float) -> OkMessage:
        ws = self._ws
        if ws is None or not self.connected.is_set():
            raise RelayError(f"{self.url}: not connected")
        fut = self._pending_ok.get(event_id)
        if fut is None or fut.done():
            fut = asyncio.get_running_loop().create_future()
            self._pending_ok[event_id] = fut
        try:
            await ws.send(text)
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError as exc:
            raise RelayError(f"{self.url}: no OK for {event_id[:16]} within {timeout}s") from exc
        except ConnectionClosed as exc:
            raise RelayError(f"{self.url}: connection lost while sending") from exc
        finally:
            if self._pending_ok.get(event_id) is fut and fut.done():
                del self._pending_ok[event_id]

    async def _resubscribe_after_auth(self, sub_id: str) -> None:
        try:
            if await self.authenticate():
                filters = self._subs.get(sub_id)
                if filters is not None:
                    await self._send_if_connected(req_message(sub_id, filters))
        except RelayError as exc:
            log.info("relay %s: authentication failed (%s)", self.url, exc)

    # -- internals -------------------------------------------------------------------------------
    async def _send_if_connected(self, text: str) -> None:
        ws = self._ws
        if ws is not None and self.connected.is_set():
            with contextlib.suppress(ConnectionClosed):  # the reconnect re-sends subscriptions
                await ws.send(text)

    async def _cancel_auth_tasks(self) -> None:
        tasks, self._auth_tasks = self._auth_tasks, set()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _fail_pending(self, reason: str) -> None:
        for fut in self._pending_ok.values():
            if not fut.done():
                fut.set_exception(RelayError(f"{self.url}: {reason}"))
                fut.exception()  # mark retrieved: a publish may have given up waiting already
        self._pending_ok.clear()

    async def _run(self) -> None:
        attempt = 0
        while not self._closing.is_set():
            self.state = RelayState.CONNECTING
            try:
                ws = await connect(
                    self.url,
                    open_timeout=self._connect_timeout,
                    max_size=MAX_MESSAGE_CHARS * 4,
                    proxy=self._proxy,
                    compression=None,
                )
            except (OSError, TimeoutError, WebSocketException) as exc:
                log.info("relay %s: connect failed (%s)", self.url, exc)
            else:
                attempt = 0
                await self._session(ws)
            if self._closing.is_set():
                break
            self.state = RelayState.BACKOFF
            delay = self._backoff.delay(attempt, self._rng)
            attempt += 1
            with contextlib.suppress(TimeoutError):  # waiting for close() or the delay, whichever first
                await asyncio.wait_for(self._closing.wait(), delay)

    async def _session(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._challenge, self.authenticated = None, set()
        try:
            for sub_id, filters in list(self._subs.items()):
                await ws.send(req_message(sub_id, filters))
            self.stats.connects += 1
            self.state = RelayState.CONNECTED
            self.connected.set()
            if self._on_connect is not None:
                self._on_connect(self)
            async for raw in ws:
                self._handle(raw)
        except ConnectionClosed as exc:
            log.info("relay %s: connection closed (%s)", self.url, exc)
        finally:
            self.connected.clear()
            self._ws = None
            self._fail_pending("connection lost")
            await self._cancel_auth_tasks()
            with contextlib.suppress(Exception):
                await ws.close()

    def _handle(self, raw: str | bytes) -> None:
        try:
            msg = parse_relay_message(raw)
        except NostrError as exc:
            self.stats.bad_messages += 1
            log.info("relay %s: dropped a bad message (%s)", self.url, exc)
            return
        if isinstance(msg, OkMessage):
            self._resolve_ok(msg)
            return
        if isinstance(msg, EventMessage):
            filters = self._subs.get(msg.sub_id)
            if filters is None or not any(filter_matches(f, msg.event) for f in filters):
                self.stats.unmatched_events += 1
                return
        elif isinstance(msg, NoticeMessage):
            self.stats.notices.append(msg.message)
            del self.stats.notices[:-20]
        elif isinstance(msg, AuthMessage):
            self._challenge = msg.challenge
        elif isinstance(msg, ClosedMessage) and msg.message.startswith(AUTH_REQUIRED) and msg.sub_id in self._subs:
            task = asyncio.get_running_loop().create_task(self._resubscribe_after_auth(msg.sub_id))
            self._auth_tasks.add(task)
            task.add_done_callback(self._auth_tasks.discard)
        try:
            self._listener(self, msg)
        except Exception:  # a listener bug must not kill the connection
            log.exception("relay %s: listener failed", self.url)

    def _resolve_ok(self, msg: OkMessage) -> None:
        fut = self._pending_ok.get(msg.event_id)
        if fut is None and msg.event_id == "" and self._pending_ok:
            # nostr-relay 1.14 rejects with an empty id; it answers in order, so it is the oldest.
            fut = next((f for f in self._pending_ok.values() if not f.done()), None)
        if fut is not None and not fut.done():
            fut.set_result(msg)
