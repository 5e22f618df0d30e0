"""Light-node commands: sync, peers, getcfheader, mempool, estimatefee, broadcast.

Each command starts a light node in the data directory (resuming from what is on disk), does its
work, prints plain text and exits; `--connect HOST:PORT` (repeatable) limits it to those peers.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

import platformdirs

from core.chain.params import params_for
from core.cli.main import NETWORK_ALIASES, CliError, connect_peers, parse_hostport
from core.consensus.errors import DecodeError
from core.consensus.tx import Transaction
from core.node.events import PeerUp
from core.node.node import LightNode, LightNodeConfig
from core.node.tx_events import TxPropagated


def _node(args: argparse.Namespace) -> LightNode:
    chain = NETWORK_ALIASES[args.network]
    params = params_for(chain)
    base = Path(args.datadir) if args.datadir else Path(platformdirs.user_data_dir("peerwallet"))
    peers = connect_peers(args, "connect")
    cfg = LightNodeConfig(
        datadir=base / chain / "node",
        connect=peers,
        dns_seed=not peers,
        proxy=args.proxy,
    )
    return LightNode(params, cfg)


async def _synced(node: LightNode, timeout: float) -> None:
    try:
        await node.wait_synced(timeout)
    except TimeoutError:
        raise CliError(f"not synced after {timeout:.0f} s (height {node.tip_height}); is any peer reachable?") from None


def _run(args: argparse.Namespace, body: Any) -> int:
    async def main() -> int:
        node = _node(args)
        async with node:
            return await body(node)

    return asyncio.run(main())


def _cmd_sync(args: argparse.Namespace) -> int:
    async def body(node: LightNode) -> int:
        await _synced(node, args.timeout)
        height, tip_hash = await node.tip()
        fh = await node.filter_header_at(height)
        print(f"height {height}\ntip {tip_hash}\nfilter_header {fh if fh is not None else '-'}")
        return 0

    return _run(args, body)


def _cmd_peers(args: argparse.Namespace) -> int:
    async def body(node: LightNode) -> int:
        q = node.subscribe()
        want = len(connect_peers(args, "connect")) or 1
        deadline = time.monotonic() + args.timeout
        seen = 0
        while seen < want and time.monotonic() < deadline:
            try:
                ev = await asyncio.wait_for(q.get(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                break
            seen += isinstance(ev, PeerUp)
        print(f"{'address':<28} {'transport':<9} {'services':>10} {'height':>8} {'ping ms':>8}")
        for p in node.peer_infos():
            ping = f"{p.ping_ms:.1f}" if p.ping_ms is not None else "-"
            print(f"{p.address + ':' + str(p.port):<28} {p.transport:<9} {p.services:>10x} {p.height:>8} {ping:>8}")
        return 0

    return _run(args, body)


def _cmd_getcfheader(args: argparse.Namespace) -> int:
    async def body(node: LightNode) -> int:
        await _synced(node, args.timeout)
        fh = await node.filter_header_at(args.height)
        if fh is None:
            raise CliError(f"no verified filter header at height {args.height} (tip {node.tip_height})")
        print(fh)
        return 0

    return _run(args, body)


async def _observe(node: LightNode, seconds: float) -> None:
    """Let announcements arrive for `seconds` (the mempool view only knows what peers announce)."""
    await asyncio.sleep(seconds)


def _cmd_mempool(args: argparse.Namespace) -> int:
    async def body(node: LightNode) -> int:
        await _synced(node, args.timeout)
        await _observe(node, args.seconds)
        s = node.mempool.stats()
        print(f"transactions {s.count}\nvsize {s.vsize}\narrival_rate {s.arrival_rate:.2f} tx/s")
        print(f"fee_coverage {s.coverage:.0%} of tracked vsize\nreplacements {s.replacements}")
        print(f"{'sat/vB':>10} {'txs':>6} {'vsize':>9}")
        for b in s.histogram:
            span = f"{b.low}-{b.high}" if b.high is not None else f"{b.low}+"
            print(f"{span:>10} {b.count:>6} {b.vsize:>9}")
        return 0

    return _run(args, body)


def _cmd_estimatefee(args: argparse.Namespace) -> int:
    async def body(node: LightNode) -> int:
        await _synced(node, args.timeout)
        await _observe(node, args.seconds)
        targets = sorted({1, 3, 6, 24, args.target})
        est = next(e for e in await node.estimate_fees(targets) if e.target == args.target)
        print(f"{est.fee_rate} for {est.target} blocks\nbasis: {est.basis}")
        return 0

    return _run(args, body)


def _cmd_broadcast(args: argparse.Namespace) -> int:
    try:
        tx = Transaction.parse(bytes.fromhex(args.hex))
    except (ValueError, DecodeError) as e:
        raise CliError(f"not a transaction: {e}") from None

    async def body(node: LightNode) -> int:
        await _synced(node, args.timeout)
        q = node.subscribe()
        node.broadcast(tx)
        print(tx.txid)
        try:
            async with asyncio.timeout(args.timeout):
                while True:
                    ev = await q.get()
                    if isinstance(ev, TxPropagated) and ev.txid == tx.txid:
                        print("propagated")
                        return 0
        except TimeoutError:
            print("sent, not yet seen back from another peer")
            return 0

    return _run(args, body)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the light-node commands to the CLI."""

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--connect", type=parse_hostport, action="append", default=[], help="peer HOST:PORT (repeatable)")
        p.add_argument("--proxy", default=None, help="socks5://HOST:PORT for every connection (Tor)")
        p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for sync")

    p = sub.add_parser("sync", help="sync headers and filters, print tip height, hash and filter header")
    common(p)
    p.set_defaults(handler=_cmd_sync)
    p = sub.add_parser("peers", help="connect and list peers")
    common(p)
    p.set_defaults(handler=_cmd_peers)
    p = sub.add_parser("getcfheader", help="the verified BIP157 filter header at HEIGHT")
    common(p)
    p.add_argument("height", type=int)
    p.set_defaults(handler=_cmd_getcfheader)
    for name, fn, text in (("mempool", _cmd_mempool, "mempool stats and fee histogram"),
                           ("estimatefee", _cmd_estimatefee, "fee rate for TARGET blocks, with its basis")):
        p = sub.add_parser(name, help=text)
        common(p)
        p.add_argument("--seconds", type=float, default=10.0, help="how long to watch the mempool first")
        if name == "estimatefee":
            p.add_argument("target", type=int, choices=(1, 3, 6, 24))
        p.set_defaults(handler=fn)
    p = sub.add_parser("broadcast", help="announce a raw transaction to peers")
    common(p)
    p.add_argument("hex")
    p.set_defaults(handler=_cmd_broadcast)
