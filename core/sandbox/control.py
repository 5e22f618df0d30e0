"""Line commands that drive a running sandbox node from outside: fund an address, mine, wait for a height.

`peerwallet-sandbox --control` reads them from stdin, one per line, and answers each with one line on
stdout, so scripts and tests driving other processes (the CLI, the app) synchronise on that output:

    fund ADDRESS SATS      -> "funded TXID"            (a faucet payment, unconfirmed until mined)
    generate N             -> "generated HEIGHT HASH"  (N blocks on our tip, mempool included)
    waitheight H [SECONDS] -> "height H"               (once our tip reaches H: a peer synced us)

A command that fails answers "error: ..." and the node keeps running.
"""

from __future__ import annotations

from core.consensus.network import Network
from core.errors import PeerwalletError
from core.sandbox.node import SandboxNode
from core.script.address import address_to_script

MAX_GENERATE = 1000
DEFAULT_WAIT = 60.0


def _int(text: str, what: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{what} must be a whole number from {low} to {high}, not {text!r}")
    return int(text)


async def handle_command(node: SandboxNode, line: str, network: Network) -> str:
    """Run one command line against `node`; returns the one-line answer."""
    words = line.split()
    if not words:
        return "error: empty command (try fund, generate or waitheight)"
    name, rest = words[0].lower(), words[1:]
    try:
        if name == "fund" and len(rest) == 2:
            spk = address_to_script(rest[0], network)
            tx = await node.faucet(spk, _int(rest[1], "SATS", 1, 21_000_000 * 100_000_000))
            return f"funded {tx.txid}"
        if name == "generate" and len(rest) == 1:
            blocks = await node.generate(_int(rest[0], "N", 1, MAX_GENERATE))
            return f"generated {node.tip.height} {blocks[-1].hash}"
        if name == "waitheight" and len(rest) in (1, 2):
            height = _int(rest[0], "H", 0, 10_000_000)
            seconds = float(rest[1]) if len(rest) == 2 else DEFAULT_WAIT
            try:
                await node.wait_for(lambda: node.tip.height >= height, seconds)
            except TimeoutError:
                return f"error: height {height} not reached within {seconds:g} s (tip {node.tip.height})"
            return f"height {node.tip.height}"
    except (PeerwalletError, ValueError) as e:
        return f"error: {name}: {e}"
    return f"error: unknown command {line.strip()!r} (fund ADDRESS SATS | generate N | waitheight H [SECONDS])"
