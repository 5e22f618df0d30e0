"""The Nostr layer against a real relay process (nostr-relay on loopback) and a hostile stub relay.

Synchronisation waits on futures, queues and events with timeouts, never on sleeps. The seed of the
pools' reconnect jitter is printed (rerun with NOSTR_TEST_SEED=<seed>).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from core.trade.nostr import nip59
from core.trade.nostr.event import Event
from core.trade.nostr.keys import NostrKey
from core.trade.nostr.outbox import OutboxState, OutboxStore
from core.trade.nostr.pool import RelayPool
from core.trade.nostr.relay import Backoff, RelayClient
from core.trade.nostr.relay_messages import EventMessage, RelayMessage
from core.trade.nostr.relay_process import LocalRelay, free_port

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("NOSTR_TEST_SEED", random.randrange(2**32)))
print(f"nostr relay test seed: {SEED} (rerun with NOSTR_TEST_SEED={SEED})")
FAST = Backoff(initial=0.05, maximum=0.3, factor=2.0, jitter=0.5)
WAIT = 20.0


def run(make: Callable[[], Awaitable[None]], timeout: float = 120.0) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(make(), timeout)

    asyncio.run(bounded())


def pool(urls: list[str], outbox: OutboxStore | None = None, salt: int = 0) -> RelayPool:
    return RelayPool(urls, outbox or OutboxStore(":memory:"), ok_timeout=10.0, retry_delay=0.2, backoff=FAST,
                     connect_timeout=5.0, rng=random.Random(SEED + salt))


class Inbox:
    """A subscription callback that queues (event, relay) pairs."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[Event, str]] = asyncio.Queue()

    def __call__(self, event: Event, url: str) -> None:
        self.queue.put_nowait((event, url))

    async def next(self) -> Event:
        event, _url = await asyncio.wait_for(self.queue.get(), WAIT)
        return event

    def drained(self) -> list[Event]:
        out = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait()[0])
        return out


def note(key: NostrKey, text: str, topic: str = "peerwallet-test") -> Event:
    return Event.sign(key, 1, text, [["t", topic]])


def test_publish_subscribe_round_trip(tmp_path: Path) -> None:
    async def scenario() -> None:
        key = NostrKey.generate()
        async with LocalRelay(tmp_path / "relay") as relay, pool([relay.url]) as alice, pool([relay.url], salt=1) as bob:
            stored = note(key, "before the subscription")
            assert await alice.publish_and_wait(stored, WAIT) == relay.url
            assert alice.outbox.entry(stored.id).state is OutboxState.SENT  # type: ignore[union-attr]
            inbox = Inbox()
            sub = await bob.subscribe([{"kinds": [1], "#t": ["peerwallet-test"]}], inbox)
            assert await inbox.next() == stored
            await asyncio.wait_for(sub.eose.wait(), WAIT)
            live = note(key, "after EOSE")
            await alice.publish_and_wait(live, WAIT)
            assert await inbox.next() == live
            await bob.unsubscribe(sub)
            assert inbox.drained() == []

    run(scenario)


def test_gift_wrapped_dm_between_two_keys(tmp_path: Path) -> None:
    async def scenario() -> None:
        alice_key, bob_key = NostrKey.generate(), NostrKey.generate()
        async with LocalRelay(tmp_path / "relay") as relay, pool([relay.url]) as alice, pool([relay.url], salt=1) as bob:
            to_bob, to_alice = Inbox(), Inbox()
            sub_b = await bob.subscribe([{"kinds": [1059], "#p": [bob_key.xonly]}], to_bob)
            sub_a = await alice.subscribe([{"kinds": [1059], "#p": [alice_key.xonly]}], to_alice)
            await asyncio.wait_for(asyncio.gather(sub_a.eose.wait(), sub_b.eose.wait()), WAIT)
            text = "I sell 0.01 BTC for 500 EUR, SEPA only. ✓"
            await alice.publish_and_wait(nip59.gift_wrap(14, text, [["trade", "t-1"]], alice_key, bob_key.xonly), WAIT)
            rumor = nip59.unwrap(await to_bob.next(), bob_key)
            assert (rumor.sender_xonly, rumor.content, rumor.tags) == (alice_key.xonly, text, (("trade", "t-1"),))
            await bob.publish_and_wait(nip59.gift_wrap(14, "taken", [], bob_key, alice_key.xonly), WAIT)
            reply = nip59.unwrap(await to_alice.next(), alice_key)
            assert (reply.sender_xonly, reply.content) == (bob_key.xonly, "taken")

    run(scenario)


async def _raw_publish(url: str, payload: str) -> list[Any]:
    # A separate connection per bad event: nostr-relay throttles a connection after each refusal.
    async with connect(url, proxy=None, compression=None) as ws:
        await ws.send(payload)
        return json.loads(await asyncio.wait_for(ws.recv(), WAIT))


def test_forged_replayed_and_garbage_events_are_rejected(tmp_path: Path) -> None:
    async def scenario() -> None:
        key, other = NostrKey.generate(), NostrKey.generate()
        async with LocalRelay(tmp_path / "relay") as relay, pool([relay.url]) as alice, pool([relay.url], salt=1) as bob:
            inbox = Inbox()
            sub = await bob.subscribe([{"kinds": [1], "#t": ["peerwallet-test"]}], inbox)
            await asyncio.wait_for(sub.eose.wait(), WAIT)
            genuine = note(key, "genuine")
            forged_sig = {**note(key, "forged").to_json(), "sig": note(other, "x").sig}
            tampered = {**genuine.to_json(), "content": "tampered"}
            async with connect(relay.url, proxy=None, compression=None) as ws:  # garbage is ignored, not fatal
                for junk in ("nonsense", "[]", '["EVENT", {}]', '["REQ"]', "\x00" * 100):
                    await ws.send(junk)
                await ws.send('["REQ","probe",{"ids":["' + "00" * 32 + '"]}]')
                answers_to_junk = []
                while (reply := json.loads(await asyncio.wait_for(ws.recv(), WAIT))) != ["EOSE", "probe"]:
                    answers_to_junk.append(reply)
                assert all(a[0] == "NOTICE" or (a[0] == "OK" and a[2] is False) for a in answers_to_junk)
            answers = await asyncio.gather(*(_raw_publish(relay.url, json.dumps(["EVENT", e]))
                                             for e in (forged_sig, tampered)))
            assert all(a[0] == "OK" and a[2] is False for a in answers)
            # Replay: the same event published twice (a second client) is stored and delivered once.
            await alice.publish_and_wait(genuine, WAIT)
            async with pool([relay.url], salt=2) as replayer:
                assert await replayer.publish_and_wait(genuine, WAIT) == relay.url
            sentinel = note(key, "sentinel")
            await alice.publish_and_wait(sentinel, WAIT)
            assert await inbox.next() == genuine
            assert await inbox.next() == sentinel
            assert inbox.drained() == []

    run(scenario)


def test_client_drops_what_a_hostile_relay_sends() -> None:
    key = NostrKey.generate()
    good = note(key, "good")
    unmatched = Event.sign(key, 1, "wrong topic", [["t", "elsewhere"]])
    forged = {**note(key, "forged").to_json(), "content": "changed"}

    async def handler(ws: ServerConnection) -> None:
        async for raw in ws:
            msg = json.loads(raw)
            if msg[0] == "REQ":
                sub = msg[1]
                for frame in ("not json", json.dumps(["EVENT", sub, forged]), json.dumps(["EVENT", sub, unmatched.to_json()]),
                              json.dumps(["EVENT", "nobody", good.to_json()]), json.dumps(["OK", "ab" * 32, True, ""]),
                              json.dumps(["EVENT", sub, good.to_json()]), json.dumps(["EVENT", sub, good.to_json()]),
                              json.dumps(["NOTICE", "hello"]), json.dumps(["EOSE", sub])):
                    await ws.send(frame)

    async def scenario() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            async with pool([f"ws://127.0.0.1:{port}"]) as client:
                inbox = Inbox()
                sub = await client.subscribe([{"kinds": [1], "#t": ["peerwallet-test"]}], inbox)
                await asyncio.wait_for(sub.eose.wait(), WAIT)
                assert inbox.drained() == [good]
                stats = next(iter(client.relays.values())).stats
                assert (stats.bad_messages, stats.unmatched_events, stats.notices) == (2, 2, ["hello"])

    run(scenario)


def test_relay_restart_reconnects_and_the_persisted_outbox_delivers(tmp_path: Path) -> None:
    async def scenario() -> None:
        key = NostrKey.generate()
        relay = LocalRelay(tmp_path / "relay")
        await relay.start()
        try:
            async with pool([relay.url]) as alice, pool([relay.url], salt=1) as bob:
                inbox = Inbox()
                sub = await bob.subscribe([{"kinds": [1], "#t": ["peerwallet-test"]}], inbox)
                await asyncio.wait_for(sub.eose.wait(), WAIT)
                await relay.kill()
                while_down = note(key, "published while the relay was down")
                await alice.publish(while_down)
                # An app that exits with an unsent event: its outbox file keeps it.
                outbox_path = tmp_path / "crashed-app-outbox.sqlite"
                crashed = pool([relay.url], OutboxStore(outbox_path), salt=2)
                crashed.start()
                from_crashed = note(key, "published by an app that then exited")
                await crashed.publish(from_crashed)
                await crashed.close()
                crashed.outbox.close()
                assert alice.outbox.entry(while_down.id).state is OutboxState.PENDING  # type: ignore[union-attr]
                await relay.start()  # same port, same database
                assert await alice.wait_sent(while_down.id, WAIT) == relay.url
                async with pool([relay.url], OutboxStore(outbox_path), salt=3) as restarted:
                    assert await restarted.wait_sent(from_crashed.id, WAIT) == relay.url
                received = {(await inbox.next()).id, (await inbox.next()).id}
                assert received == {while_down.id, from_crashed.id}
                assert next(iter(bob.relays.values())).stats.connects == 2  # reconnected and re-subscribed
        finally:
            await relay.stop()

    run(scenario)


def test_two_relays_with_one_down(tmp_path: Path) -> None:
    async def scenario() -> None:
        key = NostrKey.generate()
        down = LocalRelay(tmp_path / "down", port=free_port())
        async with LocalRelay(tmp_path / "up") as up:
            urls = [down.url, up.url]
            async with pool(urls) as alice, pool(list(reversed(urls)), salt=1) as bob:
                inbox = Inbox()
                sub = await bob.subscribe([{"kinds": [1], "#t": ["peerwallet-test"]}], inbox)
                await asyncio.wait_for(sub.eose.wait(), WAIT)
                assert sub.eose_relays == {up.url}
                first = note(key, "through the only live relay")
                assert await alice.publish_and_wait(first, WAIT) == up.url
                assert await inbox.next() == first
                await down.start()  # the second relay comes up: both pools connect to it
                try:
                    await alice.wait_connected(2, WAIT)
                    await bob.wait_connected(2, WAIT)
                    second = note(key, "with both relays up")
                    assert await alice.publish_and_wait(second, WAIT) in urls
                    assert await inbox.next() == second
                    assert inbox.drained() == []
                finally:
                    await down.stop()

    run(scenario)


def test_relay_client_publish_needs_a_connection() -> None:
    async def scenario() -> None:
        from core.trade.errors import RelayError

        def listener(client: RelayClient, msg: RelayMessage) -> None:
            assert not isinstance(msg, EventMessage)

        client = RelayClient(f"ws://127.0.0.1:{free_port()}", listener, backoff=FAST, rng=random.Random(SEED))
        client.start()
        with pytest.raises(RelayError):
            await client.publish(note(NostrKey.generate(), "x"), 1.0)
        with pytest.raises(RelayError):
            await client.wait_connected(0.2)
        await client.close()

    run(scenario)
