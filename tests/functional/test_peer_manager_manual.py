"""Peers added and disconnected at run time (Core's `addnode add` / `disconnectnode`), over loopback."""

from __future__ import annotations

from pathlib import Path

from core.node.events import PeerDown, PeerUp
from tests.functional.test_peer_manager import Recorder, manager, sandboxes
from tests.unit.peer_harness import run


def test_added_peer_is_dialled_and_disconnect_forgets_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandboxes(tmp_path, "a", "b") as (a, b):
            rec = Recorder()
            # Automatic mode with an empty book and no seeds: only added peers are dialled.
            pm = manager(rec, dns_seed=False)
            await pm.start()
            try:
                pm.add_peer("127.0.0.1", a.port)
                pm.add_peer("127.0.0.1", a.port)  # twice: still one connection
                up = await rec.expect(PeerUp)
                assert up.info.port == a.port and len(pm.peers()) == 1
                pm.add_peer("127.0.0.1", b.port)
                up = await rec.expect(PeerUp)
                assert up.info.port == b.port
                assert sorted(i.port for i in pm.peer_infos()) == sorted((a.port, b.port))
                assert pm.disconnect_peer("127.0.0.1", a.port)
                down = await rec.expect(PeerDown)
                assert down.address == f"127.0.0.1:{a.port}"
                assert [i.port for i in pm.peer_infos()] == [b.port]
                assert not pm.disconnect_peer("127.0.0.1", a.port)  # gone, and not redialled
                assert pm._added == [("127.0.0.1", b.port)]
            finally:
                await pm.close()

    run(scenario)


def test_disconnected_connect_peer_is_redialled(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandboxes(tmp_path, "a") as (a,):
            rec = Recorder()
            pm = manager(rec, connect=(("127.0.0.1", a.port),))
            await pm.start()
            try:
                await rec.expect(PeerUp)
                assert pm.disconnect_peer("127.0.0.1", a.port)
                await rec.expect(PeerDown)
                up = await rec.expect(PeerUp)  # -connect peers are the whole peer set: dialled again
                assert up.info.port == a.port
            finally:
                await pm.close()

    run(scenario)
