"""Line commands that drive a running sandbox node from outside: fund an address, mine, wait for a height.

`peerwallet-sandbox --control` reads them from stdin, one per line, and answers each with one line on
stdout, so scripts and tests driving other processes (the CLI, the app) synchronise on that output:

    fund ADDRESS SATS      -> "funded TXID"            (a faucet payment, unconfirmed until mined)
    generate N             -> "generated HEIGHT HASH"  (N blocks on our tip, mempool included)
    waitheight H [SECONDS] -> "height H"               (once our tip reaches H: a peer synced us)
    inmempool TXID         -> "inmempool TXID yes|no"  (is it in our mempool now)
    waitmempool TXID [S]   -> "mempool TXID"           (once it is in our mempool)

Lines the node prints on its own start with "tip " (core.sandbox.cli) or "event " (the trade bots'
commands, core.trade.sandbox_bots_control), never with an answer's first word.

A command that fails answers "error: ..." and the node keeps running.
"""

from __future__ import annotations

from core.consensus.hashes import Txid
from core.consensus.network import Network
from core.errors import PeerwalletError
from core.sandbox.node import SandboxNode
from core.script.address import address_to_script

USAGE = "fund ADDRESS SATS | generate N | waitheight H [SECONDS] | inmempool TXID | waitmempool TXID [SECONDS]"
MAX_GENERATE = 1000
DEFAULT_WAIT = 60.0


def _txid(text: str) -> Txid:
    try:
        return Txid.from_hex(text)
    except ValueError:
        raise ValueError(f"TXID must be 64 hex digits, not {text[:80]!r}") from None


def _seconds(words: list[str], index: int) -> float:
    if len(words) <= index:
        return DEFAULT_WAIT
    try:
        seconds = float(words[index])
    except ValueError:
        raise ValueError(f"SECONDS must be a number, not {words[index][:80]!r}") from None
    if not 0 <= seconds <= 3600:
        raise ValueError(f"SECONDS must be from 0 to 3600, not {words[index][:80]!r}")
    return seconds


def _int(text: str, what: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{what} must be a whole number from {low} to {high}, not {text!r}")
    return int(text)


async def handle_command(node: SandboxNode, line: str, network: Network) -> str:
    """Run one command line against `node`; returns the one-line answer."""
    words = line.split()
    if not words:
        return "error: empty command (try fund, generate, waitheight, inmempool or waitmempool)"
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
            seconds = _seconds(rest, 1)
            try:
                await node.wait_for(lambda: node.tip.height >= height, seconds)
            except TimeoutError:
                return f"error: height {height} not reached within {seconds:g} s (tip {node.tip.height})"
            return f"height {node.tip.height}"
        if name == "inmempool" and len(rest) == 1:
            txid = _txid(rest[0])
            return f"inmempool {txid} {'yes' if await node.has_tx(bytes(txid)) else 'no'}"
        if name == "waitmempool" and len(rest) in (1, 2):
            txid, seconds = _txid(rest[0]), _seconds(rest, 1)
            try:
                await node.wait_for(lambda: node.chain.mempool.get(bytes(txid)) is not None, seconds)
            except TimeoutError:
                return f"error: {txid} not in the mempool within {seconds:g} s"
            return f"mempool {txid}"
    except (PeerwalletError, ValueError) as e:
        return f"error: {name}: {e}"
    return f"error: unknown command {line.strip()[:80]!r} ({USAGE})"
