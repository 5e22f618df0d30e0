"""Broadcasting our own transaction through real sandbox nodes over loopback.

Two sandboxes relay to each other and we connect to both: the broadcaster announces to one and
learns from the other's announcement that the network took the transaction; a sandbox that
restarts with an empty mempool gets it again from the rebroadcast; a block confirms it. A
transaction the network refuses is never announced back and earns a warning after the timeout.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from core.consensus.hashes import Txid
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.node.broadcast import Broadcaster, BroadcastState
from core.node.tx_events import TxBroadcast, TxConfirmed, TxNotPropagated, TxPropagated
from core.sandbox.node import SandboxConfig, SandboxNode
from core.sandbox.signer import SandboxKey, sign_transaction
from tests.functional.node_tx_support import EventLog, TinyPeerSet
from tests.functional.sandbox_support import in_mempool, sandbox
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow
KEY = SandboxKey.derive(b"broadcast-test", 0)
OTHER = SandboxKey.derive(b"broadcast-test", 1).script_pubkey
AMOUNT = 10_000_000
FEE = 3_000


async def _funded_spend(a: SandboxNode) -> Transaction:
    """A faucet payment to KEY, mined, and our signed transaction spending it to OTHER."""
    funding = await a.faucet(KEY.script_pubkey, AMOUNT)
    await a.generate(1)
    n = next(i for i, o in enumerate(funding.vout) if o.script_pubkey == KEY.script_pubkey)
    unsigned = Transaction(2, (TxIn(OutPoint(funding.txid, n), b"", 0xFFFFFFFD),), (TxOut(AMOUNT - FEE, OTHER),))
    return sign_transaction(unsigned, [funding.vout[n]], [KEY])


def test_broadcast_propagates_to_both_survives_restart_and_confirms(tmp_path: Path) -> None:
    async def scenario() -> None:
        log = EventLog()
        peers = TinyPeerSet()
        caster = Broadcaster(
            peers, emit=log.emit, rebroadcast_interval=1.0, propagation_timeout=30.0, rng=random.Random(3)
        )
        peers.routes.append(caster)
        caster.start()
        async with sandbox(tmp_path, "a", initial_blocks=101) as a:
            b_cfg = SandboxConfig(tmp_path / "b", connect=(("127.0.0.1", a.port),), ping_interval=None)
            b = SandboxNode(b_cfg)
            await b.start()
            try:
                tx = await _funded_spend(a)
                await b.wait_for(lambda: b.tip.height == a.tip.height)
                await peers.connect(a.port)
                await peers.connect(b.port)

                status = caster.broadcast(tx)
                first = await log.expect(TxBroadcast)
                assert first.attempt == 1 and first.peers == 1  # one of two held back to watch
                propagated = await log.expect(TxPropagated)
                assert propagated.txid == tx.txid and status.state == BroadcastState.PROPAGATED
                await a.wait_for(lambda: in_mempool(a, tx.txid))
                await b.wait_for(lambda: in_mempool(b, tx.txid))

                # B restarts with an empty mempool (it keeps none on disk): the rebroadcast refills it.
                b_port = b.port
                await b.stop()
                b = SandboxNode(SandboxConfig(tmp_path / "b", port=b_port, ping_interval=None))
                await b.start()
                assert not in_mempool(b, tx.txid)
                await peers.connect(b.port)
                await b.wait_for(lambda: in_mempool(b, tx.txid))
                assert any(isinstance(e, TxBroadcast) and e.attempt > 1 and e.peers >= 1 for e in log.events)

                (block,) = await a.generate(1)
                assert caster.on_block(block) == [status]
                confirmed = await log.expect(TxConfirmed)
                assert confirmed.block_hash == block.hash and status.state == BroadcastState.CONFIRMED
                assert caster.pending() == []
                assert not any(isinstance(e, TxNotPropagated) for e in log.events)
            finally:
                await peers.close()
                await b.stop()
        await caster.close()
        await log.settle()

    run(scenario)


def test_refused_transaction_is_not_propagated_and_warned(tmp_path: Path) -> None:
    async def scenario() -> None:
        log = EventLog()
        peers = TinyPeerSet()
        caster = Broadcaster(peers, emit=log.emit, rebroadcast_interval=0.3, propagation_timeout=1.5)
        peers.routes.append(caster)
        caster.start()
        async with sandbox(tmp_path, "a", initial_blocks=101) as a, sandbox(
            tmp_path, "b", connect=(("127.0.0.1", a.port),)
        ) as b:
            await b.wait_for(lambda: b.tip.height == a.tip.height)
            await peers.connect(a.port)
            await peers.connect(b.port)
            # Spends a coin that does not exist: every node refuses it, nobody announces it.
            bogus = Transaction(2, (TxIn(OutPoint(Txid(bytes(range(32))), 0)),), (TxOut(1_000, OTHER),))
            status = caster.broadcast(bogus)
            warning = await log.expect(TxNotPropagated)
            assert warning.txid == bogus.txid and "not seen" in warning.message
            assert status.state == BroadcastState.UNCONFIRMED and status.attempts >= 2
            assert not in_mempool(a, bogus.txid) and not in_mempool(b, bogus.txid)
            assert not any(isinstance(e, TxPropagated) for e in log.events)
            await peers.close()
        await caster.close()
        await log.settle()

    run(scenario)


def test_broadcast_before_any_peer_reaches_the_first_peer_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        log = EventLog()
        peers = TinyPeerSet()
        # The rebroadcast timer is far away: only the peer-up announcement can deliver it in time.
        caster = Broadcaster(peers, emit=log.emit, rebroadcast_interval=3600.0, propagation_timeout=3600.0)
        peers.routes.append(caster)
        caster.start()
        async with sandbox(tmp_path, "a", initial_blocks=101) as a:
            tx = await _funded_spend(a)
            status = caster.broadcast(tx)
            first = await log.expect(TxBroadcast)
            assert first.peers == 0 and status.announced_to == set()
            await peers.connect(a.port)
            await a.wait_for(lambda: in_mempool(a, tx.txid))
            assert status.attempts == 2
            await peers.close()
        await caster.close()
        await log.settle()

    run(scenario)
