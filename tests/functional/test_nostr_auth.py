"""NIP-42 authentication: a relay that serves a subscription or stores an event only after AUTH gets a
kind-22242 answer to its challenge, signed by our keys, and then the subscription and the event again;
a relay that never asks sees no AUTH at all (no key shown unasked); a refused AUTH ends in the relay's
refusal, not a loop. The stub relay below checks the AUTH event the way NIP-42 says a relay must."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from core.trade.nostr.event import Event
from core.trade.nostr.keys import NostrKey
from core.trade.nostr.outbox import OutboxStore
from core.trade.nostr.pool import RelayPool
from core.trade.nostr.relay import KIND_AUTH, Backoff
from core.trade.nostr.relay_process import LocalRelay, relay_config
from tests.functional.test_nostr_relay import WAIT, Inbox, note, run

pytestmark = pytest.mark.slow
FAST = Backoff(initial=0.05, maximum=0.3, factor=2.0, jitter=0.5)
CHALLENGE = "c0ffee" * 4


class AuthRelay:
    """A stub relay requiring AUTH (by `wanted`'s key) to read or write; `accept_auth=False` refuses it."""

    def __init__(self, wanted: NostrKey | None, accept_auth: bool = True) -> None:
        self.wanted, self.accept_auth = wanted, accept_auth
        self.url = ""
        self.auth_events: list[dict[str, Any]] = []
        self.stored: list[str] = []
        self.reqs = 0

    async def handler(self, ws: ServerConnection) -> None:
        authed: set[str] = set()
        await ws.send(json.dumps(["AUTH", CHALLENGE]))
        async for raw in ws:
            msg = json.loads(raw)
            if msg[0] == "AUTH":
                ev = Event.from_json(msg[1])  # verifies id and signature
                self.auth_events.append(msg[1])
                tags = {t[0]: t[1] for t in ev.tags}
                good = ev.kind == KIND_AUTH and tags.get("challenge") == CHALLENGE and tags.get("relay") == self.url
                if good and self.accept_auth:
                    authed.add(ev.pubkey)
                await ws.send(json.dumps(["OK", ev.id, good and self.accept_auth, "" if good else "invalid: bad auth"]))
            elif msg[0] == "REQ":
                self.reqs += 1
                if self.wanted is not None and self.wanted.xonly not in authed:
                    await ws.send(json.dumps(["CLOSED", msg[1], "auth-required: gift wraps go to their recipient only"]))
                    continue
                for ev_text in self.stored:
                    await ws.send(json.dumps(["EVENT", msg[1], json.loads(ev_text)]))
                await ws.send(json.dumps(["EOSE", msg[1]]))
            elif msg[0] == "EVENT":
                ev = Event.from_json(msg[1])
                if self.wanted is not None and ev.pubkey not in authed:
                    await ws.send(json.dumps(["OK", ev.id, False, "auth-required: sign in to publish"]))
                else:
                    self.stored.append(json.dumps(msg[1]))
                    await ws.send(json.dumps(["OK", ev.id, True, ""]))


def _pool(url: str, keys: list[NostrKey]) -> RelayPool:
    p = RelayPool([url], OutboxStore(":memory:"), ok_timeout=10.0, retry_delay=0.2, backoff=FAST, connect_timeout=5.0,
                  rng=random.Random(5))
    p.auth_keys = lambda: keys
    return p


async def _serve(relay: AuthRelay):
    server = await serve(relay.handler, "127.0.0.1", 0)
    relay.url = f"ws://127.0.0.1:{next(iter(server.sockets)).getsockname()[1]}"
    return server


def test_subscription_and_publish_after_auth_required() -> None:
    key = NostrKey.generate()
    relay = AuthRelay(key)

    async def scenario() -> None:
        server = await _serve(relay)
        try:
            async with _pool(relay.url, [key]) as pool:
                inbox = Inbox()
                sub = await pool.subscribe([{"kinds": [1], "#t": ["peerwallet-test"]}], inbox)
                await asyncio.wait_for(sub.eose.wait(), WAIT)  # CLOSED auth-required → AUTH → REQ again → EOSE
                assert [e["pubkey"] for e in relay.auth_events] == [key.xonly] and relay.reqs == 2
                event = note(key, "after auth")
                await pool.publish_and_wait(event, WAIT)
                assert relay.stored and json.loads(relay.stored[0])["id"] == event.id
                assert len(relay.auth_events) == 1  # authenticated once per connection
        finally:
            server.close()
            await server.wait_closed()

    run(scenario)


def test_no_auth_unless_asked_and_a_refused_auth_is_a_refusal() -> None:
    key = NostrKey.generate()
    open_relay, strict = AuthRelay(None), AuthRelay(key, accept_auth=False)

    async def scenario() -> None:
        s1, s2 = await _serve(open_relay), await _serve(strict)
        try:
            async with _pool(open_relay.url, [key]) as pool:
                sub = await pool.subscribe([{"kinds": [1]}], Inbox())
                await asyncio.wait_for(sub.eose.wait(), WAIT)
                await pool.publish_and_wait(note(key, "no auth needed"), WAIT)
                assert open_relay.auth_events == []  # challenged, never asked: no key shown
            async with _pool(strict.url, [key]) as pool:
                with pytest.raises(Exception, match="auth-required"):
                    await pool.publish_and_wait(note(key, "refused"), WAIT)
                assert len(strict.auth_events) == 1 and strict.stored == []
        finally:
            for s in (s1, s2):
                s.close()
                await s.wait_closed()

    run(scenario)


def test_real_relay_with_authentication_enabled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # nostr-relay with NIP-42 on: it challenges every connection; trading traffic goes on unchanged.
    def with_auth(datadir: Path, port: int) -> dict[str, object]:
        cfg = relay_config(datadir, port)
        cfg["authentication"] = {"enabled": True, "relay_urls": [f"ws://127.0.0.1:{port}"],
                                 "actions": {"save": "a", "query": "a"}}
        return cfg

    monkeypatch.setattr("core.trade.nostr.relay_process.relay_config", with_auth)
    key = NostrKey.generate()

    async def scenario() -> None:
        async with LocalRelay(tmp_path / "relay") as relay, _pool(relay.url, [key]) as a, _pool(relay.url, [key]) as b:
            inbox = Inbox()
            sub = await b.subscribe([{"kinds": [1], "#t": ["peerwallet-test"]}], inbox)
            await asyncio.wait_for(sub.eose.wait(), WAIT)
            event = note(key, "over an authenticating relay")
            await a.publish_and_wait(event, WAIT)
            assert (await inbox.next()).id == event.id
            clients = [*a.relays.values(), *b.relays.values()]
            assert all(c._challenge for c in clients)  # challenged...
            assert all(not c.authenticated for c in clients)  # ...but never required: nothing shown

    run(scenario)
