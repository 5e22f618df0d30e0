"""A sandbox node facing a misbehaving peer: it rejects what is bad, drops the peer where Core would,
and keeps serving its other peers throughout."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import pytest

from core.consensus.block import BlockHeader
from core.consensus.hashes import sha256d
from core.consensus.tx import Transaction, TxIn
from core.mempool.results import Accepted
from core.p2p.messages import MsgBlock, MsgHeaders, MsgPing, MsgPong, MsgTx
from core.sandbox.events import BlockRejected, TxRejected
from core.sandbox.node import SandboxNode
from core.sandbox.signer import SandboxKey
from tests.functional.sandbox_support import in_mempool, payment, sandbox
from tests.unit.peer_harness import RawV1Peer, run
from tests.unit.validation_support import make_block

pytestmark = pytest.mark.slow
OTHER = SandboxKey.derive(b"bad-input", 1).script_pubkey
MAGIC = bytes.fromhex("fabfb5da")


def _frame(command: bytes, payload: bytes, *, length: int | None = None, checksum: bytes | None = None) -> bytes:
    n = len(payload) if length is None else length
    return MAGIC + command.ljust(12, b"\0") + struct.pack("<I", n) + (checksum or sha256d(payload)[:4]) + payload


async def _bad_peer(node: SandboxNode) -> RawV1Peer:
    raw = await RawV1Peer.open(node.port)
    await raw.handshake()
    return raw


async def _expect_dropped(raw: RawV1Peer) -> None:
    await raw.read_until_closed()
    await raw.close()


async def _still_serving(a: SandboxNode, b: SandboxNode) -> None:
    """B (connected all along) still gets A's new blocks."""
    height = a.tip.height + 1
    await a.generate(1)
    await b.wait_for(lambda: b.tip.height == height)


def test_malformed_frames_drop_only_that_peer(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "a", initial_blocks=101) as a, sandbox(
            tmp_path, "b", connect=(("127.0.0.1", a.port),)
        ) as b:
            await b.wait_for(lambda: b.tip.height == 101)
            ping = MsgPing(7).serialize()
            for frame in (
                _frame(b"ping", ping, checksum=b"\0\0\0\0"),  # bad checksum
                _frame(b"block", b"", length=4_000_001),  # oversized length
                _frame(b"ping", b"\x01\x02"),  # truncated payload for its type
            ):
                raw = await _bad_peer(a)
                raw.send_raw(frame)
                await _expect_dropped(raw)
                await _still_serving(a, b)
            # An unknown command is ignored, as Core does: the peer stays and still gets answers.
            raw = await _bad_peer(a)
            raw.send_raw(_frame(b"notacommand", b"xyz"))
            raw.send(MsgPing(99))
            pong = await raw.recv(MsgPong)
            assert isinstance(pong, MsgPong) and pong.nonce == 99
            await raw.close()
            # A frame cut off mid-payload, then the socket closed: nothing breaks.
            raw = await _bad_peer(a)
            raw.send_raw(_frame(b"ping", ping)[:-3])
            await raw.close()
            await _still_serving(a, b)

    run(scenario)


def test_invalid_pow_header_and_invalid_block_disconnect(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "a", initial_blocks=101) as a, sandbox(
            tmp_path, "b", connect=(("127.0.0.1", a.port),)
        ) as b:
            await b.wait_for(lambda: b.tip.height == 101)
            events = a.subscribe()
            tip = a.tip
            # A header whose hash does not meet the target it claims: "high-hash" (or "bad-diffbits").
            bad_header = BlockHeader(0x20000000, tip.hash, bytes(32), tip.header.time + 1, 0x1D00FFFF, 0)
            raw = await _bad_peer(a)
            raw.send(MsgHeaders((bad_header,)))
            await _expect_dropped(raw)
            await _still_serving(a, b)
            # A block with valid proof of work whose transaction's signature does not verify.
            tx = await payment(a, OTHER, 10**7, 2)
            sig = tx.vin[0].witness[0]
            forged = sig[:10] + bytes((sig[10] ^ 1,)) + sig[11:]
            bad_in = dataclasses.replace(tx.vin[0], witness=(forged, *tx.vin[0].witness[1:]))
            broken = Transaction(tx.version, (bad_in, *tx.vin[1:]), tx.vout, tx.locktime)
            tip = a.tip
            invalid = make_block(tip.hash, tip.height + 1, tip.header.time + 1, [broken])
            raw = await _bad_peer(a)
            raw.send(MsgBlock(invalid))
            await _expect_dropped(raw)
            reasons = []
            while not events.empty():
                ev = events.get_nowait()
                if isinstance(ev, BlockRejected):
                    reasons.append(ev.reason)
            assert any("script-verify-flag" in r for r in reasons), reasons
            assert a.tip.hash == tip.hash
            await _still_serving(a, b)

    run(scenario)


def test_double_spend_of_confirmed_output_rejected_without_disconnect(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "a", initial_blocks=101) as a:
            events = a.subscribe()
            tx = await a.faucet(OTHER, 10**8)
            await a.generate(1)
            # Spend the same coin again, now confirmed as spent: refused (missing inputs), peer kept.
            spent_coin_tx = await payment(a, OTHER, 10**7, 3)
            double = dataclasses.replace(spent_coin_tx, vin=(TxIn(tx.vin[0].prevout, b"", 0xFFFFFFFD, spent_coin_tx.vin[0].witness),))
            raw = await _bad_peer(a)
            raw.send(MsgTx(double))
            rejected = None
            while rejected is None:
                ev = await events.get()
                if isinstance(ev, TxRejected) and ev.txid == double.txid:
                    rejected = ev
            assert "missingorspent" in rejected.reason or "missing" in rejected.reason
            raw.send(MsgPing(5))
            assert (await raw.recv(MsgPong)).nonce == 5  # still connected
            await raw.close()
            assert not in_mempool(a, double.txid)
            assert isinstance(await a.submit_tx(spent_coin_tx), Accepted)

    run(scenario)
