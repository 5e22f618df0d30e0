"""`peerwallet-cli wallet ...`: create, restore or import a wallet; addresses, balance, history, coins;
send, fee bumps (BIP125) and CPFP; BIP329 labels. PSBT commands are in `wallet_psbt_cmds`.

Scriptable and never interactive: results go to stdout (plain `key value` lines, one address or txid a
line, or JSON for lists), notes and warnings to stderr. Secrets never come from the command line except
`--mnemonic` (which `--mnemonic-env` avoids): passwords and BIP39 passphrases are read from environment
variables named by `--password-env` / `--passphrase-env`. Commands that need the chain (balance, send,
...) start a light node with the wallet as its scan target and sync before acting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from core.chain.header_store import HeaderStore
from core.cli.main import CliError
from core.cli.wallet_session import (
    UsageError,
    add_online_options,
    add_password_options,
    chain_dir,
    check_address,
    guard,
    network,
    online,
    open_wallet,
    parse_feerate,
    parse_sats,
    parse_txid,
    password,
    read_env,
    wallet_path,
)
from core.errors import PeerwalletError
from core.wallet.bip39 import generate_mnemonic
from core.wallet.descriptors import Descriptor
from core.wallet.errors import MnemonicError, StorageError
from core.wallet.keychain import KeychainKind
from core.wallet.spending import Draft, Payment
from core.wallet.wallet import Wallet

MAX_LIST = 100_000


def _birthday(value: int) -> int:
    if value < 0:
        raise CliError(f"birthday {value} must be a block height (0 or more)")
    return value


def _passphrase(args: argparse.Namespace) -> str:
    return read_env(args.passphrase_env, "BIP39 passphrase") if args.passphrase_env else ""


def _created(args: argparse.Namespace, wallet: Wallet) -> None:
    kind = "watch-only wallet" if wallet.info.watch_only else "wallet"
    lock = "encrypted" if wallet.info.encrypted else "not encrypted"
    extra = "" if wallet.info.watch_only else f", seed {lock}"
    print(f"{kind} {args.wallet!r} created at {wallet_path(args)}{extra}", file=sys.stderr)


# -- creating wallets ---------------------------------------------------------------------------------


def _new_wallet_birthday(args: argparse.Namespace) -> int | None:
    """A brand-new seed has no history: start scanning at the chain height this data dir has synced to."""
    if args.birthday is not None:
        return _birthday(args.birthday)
    store_path = chain_dir(args) / "node" / "headers.sqlite"
    height = None
    if store_path.exists():
        with HeaderStore(store_path) as store:
            height = store.max_height()
    return height  # None: nothing synced yet; the wallet starts near the first tip its node reaches


def _cmd_create(args: argparse.Namespace) -> int:
    pw = password(args)
    words = generate_mnemonic(128 if args.words == 12 else 256)
    wallet = Wallet.create(
        wallet_path(args), network(args), words, passphrase=_passphrase(args), template=args.template,
        password=pw, birthday=_new_wallet_birthday(args),
    )
    try:
        print(f"mnemonic {words}")
        print(f"descriptor {wallet.info.receive_descriptor}")
        _created(args, wallet)
        print("write the words down: they are the only backup and are not shown again", file=sys.stderr)
    finally:
        wallet.close()
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    words = args.mnemonic if args.mnemonic is not None else read_env(args.mnemonic_env, "mnemonic")
    pw = password(args)
    try:
        wallet = Wallet.create(
            wallet_path(args), network(args), words, passphrase=_passphrase(args), template=args.template,
            password=pw, birthday=_birthday(args.birthday),
        )
    except MnemonicError as e:
        raise CliError(f"bad mnemonic: {e}") from None
    try:
        print(f"descriptor {wallet.info.receive_descriptor}")
        _created(args, wallet)
    finally:
        wallet.close()
    return 0


def _cmd_importxpub(args: argparse.Namespace) -> int:
    net = network(args)
    if (args.xpub is None) == (not args.descriptor):
        raise UsageError("give an account XPUB or --descriptor RECEIVE --descriptor CHANGE")
    descriptors: tuple[str, str] | None = None
    if args.descriptor:
        if len(args.descriptor) != 2:
            raise UsageError("give --descriptor twice: the receive descriptor, then the change descriptor")
        for which, text in zip(("receive", "change"), args.descriptor, strict=True):
            try:
                Descriptor.parse(text.strip(), net)
            except PeerwalletError as e:
                raise CliError(f"bad {which} descriptor: {e}") from None
        descriptors = (args.descriptor[0].strip(), args.descriptor[1].strip())
        if descriptors[0] == descriptors[1]:
            raise CliError("the receive and change descriptors are the same; give two different chains")
    try:
        wallet = Wallet.create_watch_only(
            wallet_path(args), net, xpub=args.xpub, template=args.template, descriptors=descriptors,
            birthday=_birthday(args.birthday),
        )
    except StorageError:
        raise
    except PeerwalletError as e:
        raise CliError(f"bad {'xpub' if descriptors is None else 'descriptors'}: {e}") from None
    try:
        print(f"descriptor {wallet.info.receive_descriptor}")
        _created(args, wallet)
    finally:
        wallet.close()
    return 0


# -- reading ------------------------------------------------------------------------------------------


def _sync(args: argparse.Namespace, wallet: Wallet) -> None:
    """Bring the wallet up to the network's tip (skipped with --no-sync)."""
    if getattr(args, "no_sync", False):
        return

    async def body() -> None:
        async with online(args, wallet):
            pass

    asyncio.run(body())


def _count(value: int, what: str) -> int:
    if not 0 <= value <= MAX_LIST:
        raise CliError(f"{what} {value} must be from 0 to {MAX_LIST}")
    return value


def _cmd_getnewaddress(args: argparse.Namespace) -> int:
    wallet = open_wallet(args)
    try:
        print(wallet.new_address(KeychainKind.RECEIVE, args.label or None).address)
    finally:
        wallet.close()
    return 0


def _cmd_listaddresses(args: argparse.Namespace) -> int:
    count = _count(args.count, "count")
    kind = KeychainKind.CHANGE if args.change else KeychainKind.RECEIVE
    wallet = open_wallet(args)
    try:
        print(wallet.keychain.descriptor(kind))
        for i in range(count):
            print(wallet.keychain.address(kind, i))
    finally:
        wallet.close()
    return 0


def _cmd_getbalance(args: argparse.Namespace) -> int:
    wallet = open_wallet(args)
    try:
        _sync(args, wallet)
        b = wallet.balance()
        print(f"confirmed {b.confirmed}\nunconfirmed {b.unconfirmed}\nimmature {b.immature}\nfrozen {b.frozen}")
    finally:
        wallet.close()
    return 0


def _dump(obj: Any) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


def _cmd_listtransactions(args: argparse.Namespace) -> int:
    count = _count(args.count, "count")
    wallet = open_wallet(args)
    try:
        _sync(args, wallet)
        rows, _ = wallet.history(count) if count else ([], None)
        _dump([
            {
                "txid": str(r.txid), "height": r.height, "confirmations": r.confirmations, "time": r.time,
                "received": r.received, "sent": r.sent, "net": r.net, "fee": r.fee, "label": r.label,
            }
            for r in rows
        ])
    finally:
        wallet.close()
    return 0


def _cmd_listunspent(args: argparse.Namespace) -> int:
    wallet = open_wallet(args)
    try:
        _sync(args, wallet)
        coins = sorted(wallet.coins(), key=lambda c: (-c.confirmations, str(c.outpoint.txid), c.outpoint.n))
        _dump([
            {
                "txid": str(c.outpoint.txid), "vout": c.outpoint.n, "address": c.address, "amount": c.value,
                "confirmations": c.confirmations, "height": c.height, "change": c.kind is KeychainKind.CHANGE,
                "frozen": c.frozen, "immature": c.immature, "label": c.label,
            }
            for c in coins
        ])
    finally:
        wallet.close()
    return 0


# -- spending -----------------------------------------------------------------------------------------


def _signing_wallet(args: argparse.Namespace) -> tuple[Wallet, str | None]:
    """The wallet and its checked password (checked before going online, so a typo fails fast)."""
    wallet = open_wallet(args)
    try:
        if wallet.info.watch_only:
            raise CliError(
                f"wallet {args.wallet!r} is watch-only: make a PSBT with `wallet psbt create` and sign it elsewhere"
            )
        pw = password(args, wallet)
        wallet.check_password(pw)
    except BaseException:
        wallet.close()
        raise
    return wallet, pw


def describe(draft: Draft) -> str:
    """One line about a draft for stderr."""
    to_others = sum(o.amount for o in draft.outputs if not o.is_mine)
    return (
        f"paying {to_others} sat to others, fee {draft.fee} sat at {draft.fee_rate.sat_vb_str()} "
        f"({len(draft.inputs)} input(s), {len(draft.outputs)} output(s))"
    )


def payment(args: argparse.Namespace) -> tuple[Payment, bool]:
    """(Payment, send_max) from ADDRESS [SATS] [--max]."""
    address = check_address(args.address, network(args))
    if args.max == (args.sats is not None):
        raise UsageError("give the amount in SATS or --max (send everything), not both or neither")
    return Payment(address, 0 if args.max else parse_sats(args.sats)), args.max


def _spend(args: argparse.Namespace, make: Any) -> int:
    """Sync, draft with `make(wallet, session)`, sign, finalize and broadcast; prints the txid."""
    wallet, pw = _signing_wallet(args)
    try:

        async def body() -> None:
            async with online(args, wallet) as session:
                draft: Draft = await make(wallet, session)
                await wallet.sign(draft.psbt, pw)
                tx = wallet.finalize(draft.psbt)
                print(describe(draft), file=sys.stderr)
                await session.broadcast(tx)

        asyncio.run(body())
    finally:
        wallet.close()
    return 0


def _cmd_send(args: argparse.Namespace) -> int:
    pay, send_max = payment(args)
    rate = parse_feerate(args.feerate) if args.feerate is not None else None

    async def make(wallet: Wallet, session: Any) -> Draft:
        return wallet.draft([pay], await session.fee_rate(rate), send_max=send_max, rbf=not args.no_rbf)

    return _spend(args, make)


def _cmd_bumpfee(args: argparse.Namespace) -> int:
    txid, rate = parse_txid(args.txid), parse_feerate(args.feerate)

    async def make(wallet: Wallet, session: Any) -> Draft:
        return wallet.bump_fee(txid, rate)

    return _spend(args, make)


def _cmd_cpfp(args: argparse.Namespace) -> int:
    txid, rate = parse_txid(args.txid), parse_feerate(args.feerate)

    async def make(wallet: Wallet, session: Any) -> Draft:
        draft = wallet.cpfp(txid, rate)
        if draft.package_rate is not None:
            print(f"package fee rate {draft.package_rate.sat_vb_str()}", file=sys.stderr)
        return draft

    return _spend(args, make)


# -- labels -------------------------------------------------------------------------------------------


def _cmd_labels_export(args: argparse.Namespace) -> int:
    wallet = open_wallet(args)
    try:
        text = wallet.export_labels()
    finally:
        wallet.close()
    if args.file is None or args.file == "-":
        sys.stdout.write(text)
        return 0
    try:
        Path(args.file).write_text(text, encoding="utf-8")
    except OSError as e:
        raise CliError(f"cannot write {args.file}: {e.strerror or e}") from None
    return 0


def _cmd_labels_import(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CliError(f"cannot read labels from {args.file}: {getattr(e, 'strerror', None) or e}") from None
    wallet = open_wallet(args)
    try:
        count = wallet.import_labels(text)
    finally:
        wallet.close()
    print(f"imported {count} labels")
    return 0


# -- parser -------------------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    """Add `wallet` and its sub-commands to the CLI."""
    from core.cli import wallet_psbt_cmds

    p = sub.add_parser("wallet", help="wallet commands (wallet -h lists them)")
    add_online_options(p, leaf=False)
    wsub = p.add_subparsers(dest="wallet_command", required=True, metavar="SUBCOMMAND")

    def leaf(parent: Any, name: str, fn: Any, text: str) -> argparse.ArgumentParser:
        q = parent.add_parser(name, help=text)
        add_online_options(q, leaf=True)
        q.set_defaults(handler=guard(fn))
        return q

    def template(q: argparse.ArgumentParser) -> None:
        q.add_argument("--template", choices=("bip84", "bip86"), default="bip84", help="BIP84 wpkh or BIP86 tr")
        q.add_argument("--birthday", type=int, default=0, help="no transaction of the wallet is below this height")

    q = leaf(wsub, "create", _cmd_create, "new wallet: print its mnemonic (once) and receive descriptor")
    template(q)
    q.set_defaults(birthday=None)  # a new seed: default to the height this data dir has synced to
    q.add_argument("--words", type=int, choices=(12, 24), default=12)
    q.add_argument("--passphrase-env", metavar="VAR", help="BIP39 passphrase from environment variable VAR")
    add_password_options(q)
    q = leaf(wsub, "restore", _cmd_restore, "wallet from a BIP39 mnemonic")
    words = q.add_mutually_exclusive_group(required=True)
    words.add_argument("--mnemonic", metavar="WORDS")
    words.add_argument("--mnemonic-env", metavar="VAR", help="the mnemonic from environment variable VAR")
    q.add_argument("--passphrase-env", metavar="VAR", help="BIP39 passphrase from environment variable VAR")
    template(q)
    add_password_options(q)
    q = leaf(wsub, "importxpub", _cmd_importxpub, "watch-only wallet from an account xpub or two descriptors")
    q.add_argument("xpub", nargs="?", help="account xpub, optionally with its origin: [fingerprint/84h/1h/0h]tpub...")
    q.add_argument("--descriptor", action="append", default=[], metavar="DESC", help="receive, then change")
    template(q)

    q = leaf(wsub, "getnewaddress", _cmd_getnewaddress, "hand out the next unused receive address")
    q.add_argument("--label", default=None)
    q = leaf(wsub, "listaddresses", _cmd_listaddresses, "the descriptor, then addresses 0..N-1 (none handed out)")
    q.add_argument("--count", type=int, default=20)
    q.add_argument("--change", action="store_true", help="the change chain instead of the receive chain")
    for name, fn, text in (
        ("getbalance", _cmd_getbalance, "sync, then print confirmed/unconfirmed/immature/frozen satoshis"),
        ("listtransactions", _cmd_listtransactions, "sync, then the newest transactions as JSON"),
        ("listunspent", _cmd_listunspent, "sync, then the unspent coins as JSON"),
    ):
        q = leaf(wsub, name, fn, text)
        q.add_argument("--no-sync", action="store_true", help="show what the wallet file knows, offline")
        if name == "listtransactions":
            q.add_argument("--count", type=int, default=10)

    q = leaf(wsub, "send", _cmd_send, "sync, pay ADDRESS, sign, broadcast; prints the txid")
    add_payment_options(q)
    add_password_options(q)
    for name, fn, text in (
        ("bumpfee", _cmd_bumpfee, "replace an unconfirmed transaction of ours at a higher fee rate (BIP125)"),
        ("cpfp", _cmd_cpfp, "spend an unconfirmed transaction's output so both pay the fee rate"),
    ):
        q = leaf(wsub, name, fn, text)
        q.add_argument("txid")
        q.add_argument("--feerate", required=True, metavar="SAT_VB")
        add_password_options(q)

    labels = wsub.add_parser("labels", help="BIP329 label export and import").add_subparsers(
        dest="labels_command", required=True, metavar="ACTION"
    )
    q = leaf(labels, "export", _cmd_labels_export, "labels as BIP329 JSON Lines to FILE (default stdout)")
    q.add_argument("file", nargs="?")
    q = leaf(labels, "import", _cmd_labels_import, "import BIP329 JSON Lines from FILE ('-': stdin)")
    q.add_argument("file")

    wallet_psbt_cmds.register(wsub, leaf)


def add_payment_options(q: argparse.ArgumentParser) -> None:
    """ADDRESS [SATS] --feerate --no-rbf --max, for send and psbt create."""
    q.add_argument("address")
    q.add_argument("sats", nargs="?", help="amount in satoshis (omit with --max)")
    q.add_argument("--feerate", metavar="SAT_VB", help="sat/vB, e.g. 2.5 (default: the 6-block estimate)")
    q.add_argument("--no-rbf", action="store_true", help="do not signal BIP125 replaceability")
    q.add_argument("--max", action="store_true", help="send every spendable coin, minus the fee")
