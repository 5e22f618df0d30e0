"""Entry point of `peerwallet-cli`: global options, sub-command registry and error reporting.

Every command lives in its own module and registers a sub-parser; user-facing failures raise
CliError (or any PeerwalletError) and become a one-line message and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from core.errors import PeerwalletError

#: User-facing network names → Core chain type names.
NETWORK_ALIASES = {
    "mainnet": "main",
    "main": "main",
    "bitcoin": "main",
    "testnet": "test",
    "test": "test",
    "testnet3": "test",
    "testnet4": "testnet4",
    "signet": "signet",
    "regtest": "regtest",
    "sandbox": "sandbox",
}


class CliError(PeerwalletError):
    """A command failed for a reason the user can act on; printed as one line."""


def parse_hostport(text: str) -> tuple[str, int]:
    """argparse type for HOST:PORT (IPv6 hosts may be bracketed)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def connect_peers(args: argparse.Namespace, *dests: str) -> tuple[tuple[str, int], ...]:
    """The --connect peers given before the command and in the namespace fields `dests`, in order, once each."""
    peers: list[tuple[str, int]] = []
    for dest in ("global_connect", *dests):
        for peer in getattr(args, dest, None) or ():
            if peer not in peers:
                peers.append(peer)
    return tuple(peers)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every registered command."""
    from core.cli import node_cmds, rawtx, trade_cmds, wallet_cmds

    ap = argparse.ArgumentParser(prog="peerwallet-cli", description="Peerwallet command line")
    ap.add_argument("--network", default="mainnet", choices=sorted(NETWORK_ALIASES), help="chain to use")
    ap.add_argument("--datadir", default=None, help="data directory")
    # Its own dest: a sub-command's --connect default would otherwise overwrite what was given here.
    ap.add_argument(
        "--connect", dest="global_connect", type=parse_hostport, action="append", default=[], metavar="HOST:PORT",
        help="peer HOST:PORT for commands that go online (repeatable)",
    )
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    rawtx.register(sub)
    node_cmds.register(sub)
    wallet_cmds.register(sub)
    trade_cmds.register(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    ap = build_parser()
    args, extra = ap.parse_known_args(argv)
    if extra:
        # Never echo stray words: a mnemonic typed without --mnemonic must not land in a log.
        shown = " ".join(a if a.startswith("-") else "WORD" for a in extra)
        ap.error(f"unrecognized arguments: {shown}")
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except PeerwalletError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
