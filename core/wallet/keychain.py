"""The wallet's keychain: a receive and a change descriptor with a gap-limit look-ahead window.

A `Keychain` derives, on each chain, every script up to (last used index + gap limit), as BIP44's
address-gap rule asks: a restored wallet finds funds as long as no run of `gap_limit` unused
addresses separates them. `mark_used` grows the window as the chain scanner finds payments, so a
later block paying beyond the first window is still found.

Templates follow BIP84 (`wpkh`) and BIP86 (`tr`) with the account key's origin
`[fingerprint/purpose'/coin'/0']`; coin type 0 on mainnet and 1 on every test network (SLIP-44).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from core.consensus.network import Network
from core.wallet.bip32 import HARDENED, ExtendedKey
from core.wallet.bip39 import mnemonic_to_seed
from core.wallet.descriptors import Descriptor
from core.wallet.errors import DescriptorError

DEFAULT_GAP_LIMIT = 20

#: template name -> (descriptor function, BIP43 purpose)
TEMPLATES: dict[str, tuple[str, int]] = {"bip84": ("wpkh", 84), "bip86": ("tr", 86)}


class KeychainKind(enum.IntEnum):
    """The BIP44 `change` level: external (receive) or internal (change) chain."""

    RECEIVE = 0
    CHANGE = 1


def coin_type(network: Network) -> int:
    """SLIP-44 coin type: 0 for mainnet bitcoin, 1 for every test network."""
    return 1 if network.is_test else 0


def _template(template: str) -> tuple[str, int]:
    try:
        return TEMPLATES[template]
    except KeyError:
        raise DescriptorError(f"unknown template {template!r}; use one of {', '.join(TEMPLATES)}") from None


class _Chain:
    """Derived scripts of one descriptor, indexes 0..len-1, and the last index seen used."""

    def __init__(self, descriptor: Descriptor) -> None:
        if not descriptor.is_range():
            raise DescriptorError("keychain descriptors must be ranged (end in /*)")
        self.descriptor = descriptor
        self.scripts: list[bytes] = []
        self.last_used = -1


class Keychain:
    """Receive and change descriptors plus the look-ahead window of scripts the wallet watches."""

    def __init__(
        self, receive: Descriptor, change: Descriptor, network: Network, gap_limit: int = DEFAULT_GAP_LIMIT
    ) -> None:
        if gap_limit < 1:
            raise DescriptorError("gap limit must be at least 1")
        self.network = network
        self.gap_limit = gap_limit
        self._chains = {KeychainKind.RECEIVE: _Chain(receive), KeychainKind.CHANGE: _Chain(change)}
        self._index: dict[bytes, tuple[KeychainKind, int]] = {}
        self._scripts: tuple[bytes, ...] = ()
        for kind in KeychainKind:
            self._extend(kind)

    # -- construction -------------------------------------------------------------------------------

    @classmethod
    def from_mnemonic(
        cls,
        words: str,
        template: str,
        network: Network,
        passphrase: str = "",
        *,
        account: int = 0,
        gap_limit: int = DEFAULT_GAP_LIMIT,
    ) -> Keychain:
        """Keychain of BIP84 ("bip84") or BIP86 ("bip86") account `account` of a BIP39 mnemonic.

        The descriptors hold only the account xpub: the keychain watches, signing is elsewhere.
        """
        func, purpose = _template(template)
        root = ExtendedKey.from_seed(mnemonic_to_seed(words, passphrase))
        path = [purpose | HARDENED, coin_type(network) | HARDENED, account | HARDENED]
        xpub = root.derive_path(path).neuter().to_string(network)
        origin = f"{root.fingerprint.hex()}/{purpose}h/{coin_type(network)}h/{account}h"
        return cls.from_descriptors(
            f"{func}([{origin}]{xpub}/0/*)", f"{func}([{origin}]{xpub}/1/*)", network, gap_limit=gap_limit
        )

    @classmethod
    def from_xpub(
        cls, xpub: str, template: str, network: Network, *, gap_limit: int = DEFAULT_GAP_LIMIT
    ) -> Keychain:
        """Watch-only keychain of an account-level xpub (no key origin known)."""
        func, _ = _template(template)
        return cls.from_descriptors(f"{func}({xpub}/0/*)", f"{func}({xpub}/1/*)", network, gap_limit=gap_limit)

    @classmethod
    def from_descriptors(
        cls, receive: str, change: str, network: Network, *, gap_limit: int = DEFAULT_GAP_LIMIT
    ) -> Keychain:
        """Keychain of two ranged descriptor texts (checksums optional)."""
        return cls(Descriptor.parse(receive, network), Descriptor.parse(change, network), network, gap_limit)

    # -- queries ------------------------------------------------------------------------------------

    def descriptor(self, kind: KeychainKind) -> Descriptor:
        """The descriptor of a chain."""
        return self._chains[kind].descriptor

    def scripts(self) -> Sequence[bytes]:
        """Every script to watch: both chains up to last used index + gap limit (same tuple until it grows)."""
        return self._scripts

    def derived(self, kind: KeychainKind) -> int:
        """How many scripts of chain `kind` are derived (indexes 0..derived-1)."""
        return len(self._chains[kind].scripts)

    def last_used(self, kind: KeychainKind) -> int:
        """Highest index of chain `kind` seen used, -1 if none."""
        return self._chains[kind].last_used

    def index_of(self, script_pubkey: bytes) -> tuple[KeychainKind, int] | None:
        """(chain, index) of a watched script, or None."""
        return self._index.get(bytes(script_pubkey))

    def script_pubkey(self, kind: KeychainKind, index: int) -> bytes:
        """The output script at `index` of a chain (derived on demand; does not grow the window)."""
        chain = self._chains[kind]
        if index < len(chain.scripts):
            return chain.scripts[index]
        return chain.descriptor.script_pubkey(index)

    def address(self, kind: KeychainKind, index: int) -> str:
        """The address at `index` of a chain on the keychain's network."""
        return self._chains[kind].descriptor.address(index, self.network)

    # -- window -------------------------------------------------------------------------------------

    def mark_used(self, script_pubkey: bytes) -> bool:
        """Note that a watched script received funds; True if the window grew (new scripts to watch)."""
        found = self.index_of(script_pubkey)
        if found is None:
            return False
        kind, index = found
        return self.mark_index_used(kind, index)

    def mark_index_used(self, kind: KeychainKind, index: int) -> bool:
        """Note that `index` of chain `kind` is used; True if the window grew."""
        chain = self._chains[kind]
        if index <= chain.last_used:
            return False
        chain.last_used = index
        return self._extend(kind)

    def preload(self, kind: KeychainKind, scripts: Sequence[bytes]) -> None:
        """Adopt scripts derived in an earlier session (indexes 0..len-1, e.g. the wallet file's address
        rows) so opening a big wallet does not derive them all again. The first and last are derived
        anew as a check; a mismatch (a damaged or foreign file) raises DescriptorError."""
        chain = self._chains[kind]
        if len(scripts) <= len(chain.scripts):
            return
        for i in {0, len(scripts) - 1}:
            if chain.descriptor.script_pubkey(i) != scripts[i]:
                raise DescriptorError(f"stored script {i} of the {kind.name.lower()} chain does not match its descriptor")
        for i in range(len(chain.scripts), len(scripts)):
            spk = bytes(scripts[i])
            chain.scripts.append(spk)
            self._index.setdefault(spk, (kind, i))
        self._scripts = tuple(self._index)

    def _extend(self, kind: KeychainKind) -> bool:
        chain = self._chains[kind]
        start, end = len(chain.scripts), chain.last_used + 1 + self.gap_limit
        if end <= start:
            return False
        for i, spk in enumerate(chain.descriptor.script_pubkey_range(start, end), start):
            chain.scripts.append(spk)
            self._index.setdefault(spk, (kind, i))
        self._scripts = tuple(self._index)
        return True
