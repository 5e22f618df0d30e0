"""First-run wallet setup: what the user chose, the checks on those choices, and making the file.

The desktop wizard collects a `WalletPlan` step by step; the rules it enforces live here so they are the
same for every front end: which words the user must repeat to show a backup was written down, when an
empty password is acceptable (only on the sandbox network, whose coins are worthless), and how a
pasted watch-only key (an account xpub, one BIP389 multipath descriptor or a receive/change pair) is
read. `create_wallet_file` is blocking (key derivation, scrypt): run it off the event loop.
"""

from __future__ import annotations

import enum
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from core.consensus.network import network_by_name
from core.wallet.bip39 import validate_mnemonic
from core.wallet.descriptors.checksum import add_checksum
from core.wallet.errors import WalletError
from core.wallet.keychain import DEFAULT_GAP_LIMIT
from core.wallet.storage.secrets import KdfParams
from core.wallet.wallet import Wallet

#: Networks on which a wallet may be stored without a password (with a warning).
NO_PASSWORD_NETWORKS = frozenset({"sandbox"})
TEMPLATES = ("bip84", "bip86")
#: How many words the user repeats after writing a new mnemonic down.
CONFIRM_WORDS = 3

_MULTIPATH = re.compile(r"<(\d+);(\d+)>")


class SetupKind(enum.StrEnum):
    """How the wallet comes to be."""

    CREATE = "create"  # fresh words, shown once
    RESTORE = "restore"  # words the user already has
    WATCH_ONLY = "watch_only"  # public keys only


@dataclass(frozen=True)
class WalletPlan:
    """Everything needed to create a wallet file. Secrets are kept out of the repr (logs, tracebacks)."""

    network: str
    kind: SetupKind
    template: str = "bip84"
    mnemonic: str | None = field(default=None, repr=False)
    passphrase: str = field(default="", repr=False)
    password: str | None = field(default=None, repr=False)
    xpub: str | None = None
    descriptors: tuple[str, str] | None = None
    birthday: int | None = 0  # first height to scan; None = a fresh seed: start near the first synced tip


def confirmation_positions(word_count: int, count: int = CONFIRM_WORDS, rng: random.Random | None = None) -> tuple[int, ...]:
    """`count` distinct 1-based word positions to ask for, in ascending order."""
    if not 0 < count <= word_count:
        raise WalletError(f"cannot ask for {count} of {word_count} words")
    return tuple(sorted((rng or random.SystemRandom()).sample(range(1, word_count + 1), count)))


def check_confirmation(mnemonic: str, answers: dict[int, str]) -> None:
    """Raise WalletError naming the first position whose answer is not the mnemonic's word there."""
    words = mnemonic.split()
    for position in sorted(answers):
        if not 1 <= position <= len(words):
            raise WalletError(f"there is no word {position}")
        if answers[position].strip().lower() != words[position - 1]:
            raise WalletError(f"word {position} is not the one shown; check what you wrote down")


def check_password(network: str, password: str, confirm: str) -> str | None:
    """Validate a new password; returns a warning to show (or None). An empty password is accepted only
    on NO_PASSWORD_NETWORKS; WalletError says what is wrong otherwise."""
    if password != confirm:
        raise WalletError("the two passwords differ")
    if password:
        return None
    if network not in NO_PASSWORD_NETWORKS:
        raise WalletError("choose a password: it protects the words stored on this computer")
    return "Without a password anyone with access to this computer can spend from this wallet (fine for sandbox coins)."


def check_template(template: str) -> None:
    if template not in TEMPLATES:
        raise WalletError(f"unknown wallet type {template!r}; expected one of {', '.join(TEMPLATES)}")


def parse_watch_only(text: str) -> tuple[str | None, tuple[str, str] | None]:
    """A pasted watch-only key as (xpub, None) or (None, (receive, change)).

    Accepts an account xpub/tpub, one descriptor with a `<a;b>` multipath step (BIP389: first alternative
    receive, second change), or two descriptors on separate lines (receive first). The keys themselves are
    checked when the wallet is made (errors name the problem)."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        raise WalletError("paste an account xpub or a descriptor")
    if len(lines) == 2:
        return None, (lines[0], lines[1])
    if len(lines) > 2:
        raise WalletError(f"expected one descriptor or two (receive, change), got {len(lines)} lines")
    line = lines[0]
    if "(" not in line:
        if any(c.isspace() for c in line):
            raise WalletError("an xpub is one word without spaces")
        return line, None
    body = line.split("#", 1)[0]
    found = _MULTIPATH.findall(body)
    if not found:
        raise WalletError("a single descriptor needs a <0;1> step for receive and change; or paste two descriptors")
    if len(set(found)) != 1:
        raise WalletError("all multipath steps of the descriptor must be the same")
    pair = tuple(add_checksum(_MULTIPATH.sub(lambda m, i=i: m.group(i), body)) for i in (1, 2))
    return None, (pair[0], pair[1])


def validate_plan(plan: WalletPlan) -> None:
    """Check a plan before anything is written (WalletError / MnemonicError naming the problem)."""
    network_by_name(plan.network)
    check_template(plan.template)
    if plan.kind is SetupKind.WATCH_ONLY:
        if (plan.xpub is None) == (plan.descriptors is None):
            raise WalletError("a watch-only wallet needs an xpub or a pair of descriptors")
        return
    if plan.mnemonic is None:
        raise WalletError("no recovery words")
    validate_mnemonic(" ".join(plan.mnemonic.split()))
    if plan.password is None and plan.network not in NO_PASSWORD_NETWORKS:
        raise WalletError("a wallet on this network needs a password")


def create_wallet_file(
    path: Path, plan: WalletPlan, *, gap_limit: int = DEFAULT_GAP_LIMIT, kdf: KdfParams | None = None
) -> None:
    """Write the wallet file `plan` describes (and close it). Blocking: key derivation and scrypt."""
    validate_plan(plan)
    network = network_by_name(plan.network)
    if plan.kind is SetupKind.WATCH_ONLY:
        wallet = Wallet.create_watch_only(
            path, network, xpub=plan.xpub, descriptors=plan.descriptors, template=plan.template,
            birthday=plan.birthday, gap_limit=gap_limit,
        )
    else:
        assert plan.mnemonic is not None
        # Words generated just now have no history: never scan the chain from genesis for them.
        birthday = None if plan.kind is SetupKind.CREATE and not plan.birthday else plan.birthday
        wallet = Wallet.create(
            path, network, plan.mnemonic, passphrase=plan.passphrase, template=plan.template,
            password=plan.password, birthday=birthday, gap_limit=gap_limit, kdf=kdf,
        )
    wallet.close()
