"""Plumbing shared by the wallet commands: the wallet file, passwords, argument values, and a light-node
session that syncs the wallet and broadcasts for it.

Wallet files live at `<datadir>/<chain>/wallets/NAME.sqlite`, next to the light node's `<chain>/node`
directory, which every wallet of the chain shares (a wallet records its own scan progress). Values that
come from the user (amounts, fee rates, txids, addresses) are parsed here into exact types; a bad one
raises CliError naming it (exit code 1), a missing or contradictory option raises UsageError (exit 2).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from core.chain.params import params_for
from core.cli.main import NETWORK_ALIASES, CliError, connect_peers, parse_hostport
from core.consensus.amount import MAX_MONEY
from core.consensus.hashes import Txid
from core.consensus.network import Network, network_by_name
from core.consensus.tx import Transaction
from core.errors import PeerwalletError
from core.mempool.feerate import FeeRate
from core.node.events import PeerUp
from core.node.node import LightNode, LightNodeConfig
from core.node.tx_events import TxNotPropagated, TxPropagated
from core.script.address import address_to_script
from core.wallet.errors import WrongPassword
from core.wallet.wallet import Wallet

WALLET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
FEERATE = re.compile(r"([0-9]{1,9})(?:\.([0-9]{1,3}))?")
#: A fee rate above this is a typo (Core's -maxfeerate default is 0.1 BTC/kvB = 10,000 sat/vB).
MAX_FEERATE = FeeRate.per_vb(10_000)
MIN_FEERATE = FeeRate.per_vb(1)
ESTIMATE_TARGET = 6
PEER_WAIT = 15.0  # seconds to let every manual peer connect before a broadcast


class UsageError(CliError):
    """A missing or contradictory option: printed as one line, exit code 2 (as argparse's own errors)."""


def guard(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a wallet command, turning our errors into one line on stderr: 2 for usage, 1 for the rest."""

    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except UsageError as e:
            _error(e)
            return 2
        except WrongPassword:
            print(f"error: wrong password for wallet {args.wallet!r}", file=sys.stderr)
            return 1
        except PeerwalletError as e:
            _error(e)
            return 1

    return run


def _error(e: Exception) -> None:
    print("error: " + " ".join(str(e).split()), file=sys.stderr)


def warn(text: str) -> None:
    """A warning on stderr (the command still succeeds)."""
    print(f"warning: {text}", file=sys.stderr, flush=True)


# -- argument types -------------------------------------------------------------------------------------


def wallet_name(text: str) -> str:
    """argparse type for --wallet: a plain file name (no directories)."""
    if not WALLET_NAME.fullmatch(text) or text.endswith(".sqlite"):
        raise argparse.ArgumentTypeError(f"wallet name {text!r} must be letters, digits, '.', '_' or '-' (no path)")
    return text


def parse_sats(text: str, what: str = "amount") -> int:
    """A positive whole number of satoshis, at most 21 million BTC."""
    t = text.strip()
    if not t.isdigit() or not t.isascii():
        raise CliError(f"{what} {text!r} must be a whole number of satoshis")
    value = int(t)
    if not 0 < value <= MAX_MONEY:
        raise CliError(f"{what} {value} sat is out of range (1 to {MAX_MONEY})")
    return value


def parse_feerate(text: str) -> FeeRate:
    """A fee rate in sat/vB, exact to 0.001 ("2", "2.5", "0.105"), from 1 to 10,000 sat/vB."""
    m = FEERATE.fullmatch(text.strip())
    if m is None:
        raise CliError(f"fee rate {text!r} must be a number of sat/vB with at most 3 decimals, like 2 or 2.5")
    rate = FeeRate.per_kvb(int(m[1]) * 1000 + int((m[2] or "").ljust(3, "0")))
    if rate < MIN_FEERATE:
        raise CliError(f"fee rate {text} sat/vB is below the 1 sat/vB minimum relay fee rate")
    if rate > MAX_FEERATE:
        raise CliError(f"fee rate {text} sat/vB is absurdly high (over {MAX_FEERATE.sat_vb_str()})")
    return rate


def parse_txid(text: str) -> Txid:
    """A transaction id in display hex."""
    t = text.strip()
    if len(t) != 64:
        raise CliError(f"txid {text!r} must be 64 hex digits")
    try:
        return Txid.from_hex(t)
    except ValueError:
        raise CliError(f"txid {text!r} is not hex") from None


def check_address(text: str, network: Network) -> str:
    """`text` if it is an address of `network`; CliError naming it and the problem otherwise."""
    address = text.strip()
    try:
        address_to_script(address, network)
    except PeerwalletError as e:
        raise CliError(f"bad address {address!r}: {e}") from None
    return address


# -- wallet files and passwords --------------------------------------------------------------------------


def chain(args: argparse.Namespace) -> str:
    return NETWORK_ALIASES[args.network]


def network(args: argparse.Namespace) -> Network:
    return network_by_name(chain(args))


def chain_dir(args: argparse.Namespace) -> Path:
    base = Path(args.datadir) if args.datadir else Path(platformdirs.user_data_dir("peerwallet"))
    return base / chain(args)


def wallet_path(args: argparse.Namespace) -> Path:
    return chain_dir(args) / "wallets" / f"{args.wallet}.sqlite"


def open_wallet(args: argparse.Namespace) -> Wallet:
    """The wallet named by --wallet; CliError if there is none or it is of another network."""
    path = wallet_path(args)
    if not path.exists():
        raise CliError(f"no wallet {args.wallet!r} on {chain(args)} ({path}); create it with `wallet create`")
    wallet = Wallet.open(path)
    if wallet.network.name != network(args).name:
        wallet.close()
        raise CliError(f"wallet {args.wallet!r} is a {wallet.network.name} wallet, not {chain(args)}")
    return wallet


def read_env(var: str, what: str) -> str:
    """A secret from the environment variable `var` (never from the command line, which others can see)."""
    value = os.environ.get(var)
    if value is None:
        raise CliError(f"environment variable {var} (for the {what}) is not set")
    return value


def password(args: argparse.Namespace, wallet: Wallet | None = None) -> str | None:
    """The password from --password-env / --no-password. For a new wallet (`wallet` None) one of them is
    required; for signing, only when `wallet` is encrypted."""
    env = getattr(args, "password_env", None)
    if env is not None:
        value = read_env(env, "password")
        if wallet is None and not value:
            raise CliError(f"environment variable {env} holds an empty password; use --no-password for none")
        return value
    if getattr(args, "no_password", False):
        return None
    if wallet is None:
        raise UsageError("give --password-env VAR (the password is read from that variable) or --no-password")
    if wallet.info.encrypted:
        raise UsageError(f"wallet {args.wallet!r} is encrypted: give --password-env VAR to sign")
    return None


def add_password_options(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--password-env", metavar="VAR", help="read the wallet password from environment variable VAR")
    group.add_argument("--no-password", action="store_true", help="no password (the seed is stored without secrecy)")


# -- the light-node session ------------------------------------------------------------------------------


@dataclass
class Session:
    """A started light node scanning for the attached wallet; `events` holds every node event since start."""

    node: LightNode
    wallet: Wallet
    events: asyncio.Queue[object]
    peers: tuple[tuple[str, int], ...]
    timeout: float

    async def fee_rate(self, given: FeeRate | None) -> FeeRate:
        """`given`, or the node's estimate for confirmation within 6 blocks (at least 1 sat/vB)."""
        if given is not None:
            return given
        estimates = await self.node.estimate_fees((1, 3, ESTIMATE_TARGET, 24))
        rate = next(e.fee_rate for e in estimates if e.target == ESTIMATE_TARGET)
        return max(rate, MIN_FEERATE)

    async def _wait_peers(self) -> None:
        """Let every manual peer (or two seeded ones) connect, so one can be held back to see the
        transaction come back (core.node.broadcast); gives up after PEER_WAIT seconds."""
        want = len(self.peers) or 2
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(PEER_WAIT, self.timeout)):
                while len(self.node.peers()) < want:
                    while not isinstance(await self.events.get(), PeerUp):
                        pass

    async def broadcast(self, tx: Transaction) -> None:
        """Record `tx` in the wallet, announce it, print its txid, and wait until a peer announces it
        back (TxPropagated); a warning on stderr if none does in time (the wallet keeps rebroadcasting)."""
        await self._wait_peers()
        self.wallet.broadcast(tx)
        print(tx.txid, flush=True)
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    ev = await self.events.get()
                    if isinstance(ev, TxPropagated) and ev.txid == tx.txid:
                        return
                    if isinstance(ev, TxNotPropagated) and ev.txid == tx.txid:
                        warn(f"{ev.message}; the wallet keeps it and announces it again when next online")
                        return
        except TimeoutError:
            warn(f"transaction {tx.txid} was sent but not seen back from any peer within {self.timeout:g} s")


def add_online_options(p: argparse.ArgumentParser, *, leaf: bool) -> None:
    """--wallet, --timeout, --proxy and --connect, accepted both after `wallet` and after the sub-command."""
    d = argparse.SUPPRESS if leaf else None
    p.add_argument("--wallet", type=wallet_name, default=d if leaf else "default", help="wallet name (default: default)")
    p.add_argument("--timeout", type=float, default=d if leaf else 600.0, help="seconds to wait for sync")
    p.add_argument("--proxy", default=d, help="socks5://HOST:PORT for every connection (Tor)")
    p.add_argument(
        "--connect", dest="connect_leaf" if leaf else "connect_wallet", type=parse_hostport, action="append", metavar="HOST:PORT",
        default=[], help="peer HOST:PORT (repeatable)",
    )


@contextlib.asynccontextmanager
async def online(args: argparse.Namespace, wallet: Wallet) -> AsyncIterator[Session]:
    """A light node on the chain's shared node directory with `wallet` as its scan target, attached and
    synced (headers, filters and the wallet's scan); closed (and the wallet detached) on exit."""
    peers = connect_peers(args, "connect_wallet", "connect_leaf")
    cfg = LightNodeConfig(
        datadir=chain_dir(args) / "node", connect=peers, dns_seed=not peers, proxy=getattr(args, "proxy", None)
    )
    node = LightNode(params_for(chain(args)), cfg, scan_target=wallet)
    events = node.subscribe()  # before start: no PeerUp is missed
    try:
        await node.start()
        wallet.attach(node)
        try:
            await node.wait_synced(args.timeout)
        except TimeoutError:
            raise CliError(
                f"not synced after {args.timeout:g} s (height {node.tip_height}); is any peer reachable?"
            ) from None
        yield Session(node, wallet, events, peers, args.timeout)
    finally:
        wallet.detach()
        await node.close()
