"""The keys a trading wallet holds, all derived from its seed (so a restore from the words recovers them):

* per-trade escrow keys  m/86'/coin'/1000'/0/i  (core.trade.escrow: the tapscript leaves, contract signatures)
* per-trade Nostr keys   m/86'/coin'/1000'/1/i  (messages and chat; a maker's offer key is its trade key)
* the identity key       m/86'/coin'/1000'/2/0  (receipts, reputation; also the arbitrator's Nostr key)
* the arbitrator key     m/86'/coin'/1000'/3/0  (an arbitrator's escrow key, named in offers)

Deriving needs the seed, decrypted off the loop with the wallet password; keys are cached in memory for
the session and never written anywhere (only their public halves and indexes are).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.crypto.schnorr import xonly_pubkey_from_privkey
from core.trade.escrow import TRADE_KEY_ACCOUNT, TradeKey, derive_trade_key
from core.trade.nostr.keys import NostrKey
from core.trade.offer import ArbitratorRef
from core.wallet.bip32 import HARDENED
from core.wallet.keychain import coin_type
from core.wallet.psbt import KeyOrigin

if TYPE_CHECKING:
    from core.wallet.wallet import Wallet

NOSTR_BRANCH = 1
IDENTITY_BRANCH = 2
ARBITRATOR_BRANCH = 3


@dataclass(frozen=True)
class TradeKeyPair:
    """The two keys of one trade: escrow (a TradeKey) and Nostr."""

    index: int
    escrow: TradeKey
    nostr: NostrKey

    @property
    def escrow_signer(self) -> NostrKey:
        """The escrow key as a BIP340 signer (for contract and deposit signatures)."""
        return NostrKey(bytes(self.escrow.secret))

    @property
    def escrow_xonly(self) -> str:
        return self.escrow.xonly.hex()


class TradeKeys:
    """Key derivation for one wallet, unlocked once with its password (None for unencrypted wallets)."""

    def __init__(self, wallet: Wallet, password: str | None, identity: NostrKey, arbitrator: TradeKey) -> None:
        self._wallet = wallet
        self._password = password
        self.identity = identity
        self.arbitrator_escrow = arbitrator
        self._cache: dict[int, TradeKeyPair] = {}

    def __repr__(self) -> str:
        return f"TradeKeys(identity={self.identity.xonly})"

    @classmethod
    async def load(cls, wallet: Wallet, password: str | None) -> TradeKeys:
        """Unlock: derive the identity and arbitrator keys (WrongPassword if the password is wrong)."""
        _, ident = await wallet.derive_secret(cls._path(wallet, IDENTITY_BRANCH, 0), password)
        fingerprint, arb = await wallet.derive_secret(cls._path(wallet, ARBITRATOR_BRANCH, 0), password)
        path = cls._path(wallet, ARBITRATOR_BRANCH, 0)
        arbitrator = TradeKey(0, xonly_pubkey_from_privkey(bytes(arb)), KeyOrigin(fingerprint, path), arb)
        return cls(wallet, password, NostrKey(bytes(ident)), arbitrator)

    @staticmethod
    def _path(wallet: Wallet, branch: int, index: int) -> tuple[int, ...]:
        return (86 | HARDENED, coin_type(wallet.network) | HARDENED, TRADE_KEY_ACCOUNT | HARDENED, branch, index)

    @property
    def arbitrator_ref(self) -> ArbitratorRef:
        """How offers name this wallet as an arbitrator."""
        return ArbitratorRef(self.identity.xonly, self.arbitrator_escrow.xonly.hex())

    @property
    def arbitrator_signer(self) -> NostrKey:
        return NostrKey(bytes(self.arbitrator_escrow.secret))

    def cached(self, index: int) -> TradeKeyPair | None:
        return self._cache.get(index)

    async def pair(self, index: int) -> TradeKeyPair:
        """The keys of trade `index` (derived off the loop the first time)."""
        found = self._cache.get(index)
        if found is None:
            escrow = await derive_trade_key(self._wallet, index, self._password)
            _, secret = await self._wallet.derive_secret(self._path(self._wallet, NOSTR_BRANCH, index), self._password)
            found = TradeKeyPair(index, escrow, NostrKey(bytes(secret)))
            self._cache[index] = found
        return found
