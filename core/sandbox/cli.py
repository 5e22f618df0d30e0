"""`peerwallet-sandbox`: run a sandbox node from the command line until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from core.cli.main import parse_hostport
from core.sandbox.control import handle_command
from core.sandbox.events import TipChanged
from core.sandbox.node import SandboxConfig, SandboxNode

#: The trade bots' line commands (core.trade.sandbox_bots_control.COMMANDS; named here so a plain
#: sandbox node does not import the trade package).
BOT_COMMANDS = ("startbots", "stopbots")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="peerwallet-sandbox", description="Run a local regtest sandbox node")
    ap.add_argument("--datadir", required=True, type=Path, help="where the chain and mempool data live")
    ap.add_argument("--port", type=int, default=18444, help="P2P port on 127.0.0.1 (0: any free port)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on")
    ap.add_argument("--blocks", type=int, default=101, help="mine up to this height at start (101: spendable coins)")
    ap.add_argument("--traffic", action="store_true", help="keep a lifelike mempool with generated transactions")
    ap.add_argument("--traffic-interval", type=float, default=0.5, help="seconds between traffic transactions")
    ap.add_argument("--block-interval", type=float, default=None, help="mine a block every S seconds")
    ap.add_argument("--connect", type=parse_hostport, action="append", default=[], help="peer to connect to (repeatable)")
    ap.add_argument("--v1-only", action="store_true", help="disable BIP324 v2 transport")
    ap.add_argument("--debug", action="store_true", help="log every message received")
    ap.add_argument("--seed", type=int, default=None, help="traffic random seed (printed when not given)")
    ap.add_argument(
        "--control", action="store_true",
        help="read commands from stdin (fund ADDRESS SATS, generate N, waitheight H, inmempool TXID, "
        "waitmempool TXID, startbots RELAY_URL FOLDER, stopbots); stop at end of input",
    )
    return ap


async def _control(node: SandboxNode, stop: asyncio.Event, bots: list[Any]) -> None:
    """Answer stdin commands (core.sandbox.control, and the trade bots' commands) one line each; end of
    input stops the node. `bots` receives the BotsControl once a bots command came (closed at stop)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    except (OSError, ValueError) as e:  # a regular file or a closed stdin: no commands can come
        print(f"error: --control needs stdin to be a pipe or a terminal ({e})", file=sys.stderr, flush=True)
        stop.set()
        return
    while line := await reader.readline():
        text = line.decode(errors="replace")
        words = text.split()
        if words and words[0].lower() in BOT_COMMANDS:
            if not bots:
                # Imported on first use: a plain sandbox node never loads the trade package.
                from core.trade.sandbox_bots_control import BotsControl

                bots.append(BotsControl(node, lambda s: print(s, flush=True)))
            answer = await bots[0].handle(text)
        else:
            answer = await handle_command(node, text, node.params.network)
        print(answer, flush=True)
    stop.set()


async def _serve(cfg: SandboxConfig, control: bool = False) -> None:
    # Signal handlers first: a stop request may come the moment we say we are listening.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    node = SandboxNode(cfg)
    await node.start()
    print(f"sandbox node listening on {cfg.host}:{node.port}, height {node.tip.height}, tip {node.tip.hash}", flush=True)
    events = node.subscribe()

    async def report() -> None:
        while True:
            ev = await events.get()
            if isinstance(ev, TipChanged):
                print(f"tip {ev.height} {ev.hash}", flush=True)

    tasks = [asyncio.create_task(report())]
    bots: list[Any] = []
    if control:
        tasks.append(asyncio.create_task(_control(node, stop, bots)))
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for b in bots:
            await b.close()
        await node.stop()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.debug:
        logging.getLogger("core.sandbox").setLevel(logging.DEBUG)
    cfg = SandboxConfig(
        datadir=args.datadir,
        host=args.host,
        port=args.port,
        v2_transport=not args.v1_only,
        connect=tuple(args.connect),
        initial_blocks=args.blocks,
        block_interval=args.block_interval,
        traffic_interval=args.traffic_interval if args.traffic else None,
        traffic_seed=args.seed,
    )
    asyncio.run(_serve(cfg, args.control))
    return 0


if __name__ == "__main__":
    sys.exit(main())
