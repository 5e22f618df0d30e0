"""The trade escrow output: per-trade keys, the terms every party agrees on, and the taproot output
they all derive from those terms alone.

The escrow is `tr(H,{multi_a(2,B,S,A),and_v(v:pk(S),older(T1))})` (2-of-2 mode without arbitrator:
`tr(H,{multi_a(2,B,S),and_v(v:pk(S),older(T1))})`), where H is BIP341's provably unspendable NUMS
point, so only the two script paths exist:

* the `multi_a` leaf: buyer + seller (normal release, cooperative cancel, split), or the arbitrator
  with either trader (a dispute ruling);
* the refund leaf: the seller alone once the deposit is T1 blocks deep (BIP68 relative lock, so T1
  counts from the deposit's confirmation whenever that happens).

The descriptor text is the single source: it is parsed by `core.wallet.descriptors` to get the
output script and leaves, and the leaves are checked byte for byte against the scripts BIP387 and
Miniscript define, so every party (and any descriptor-aware wallet, for recovery) derives the same
address. Trade keys come from the wallet seed at m/86'/coin'/1000'/0/index, so they are recoverable
from the words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING

from coincurve import PublicKeyXOnly

from core.consensus.network import Network
from core.crypto.errors import InvalidKey
from core.crypto.schnorr import xonly_pubkey_from_privkey
from core.crypto.taproot import LeafInfo, TaprootInfo
from core.script.address import script_to_address
from core.script.opcodes import Opcode
from core.script.script import push_data, push_int
from core.trade.errors import EscrowError
from core.wallet.bip32 import HARDENED
from core.wallet.descriptors import Descriptor
from core.wallet.errors import DescriptorError
from core.wallet.keychain import coin_type
from core.wallet.psbt import KeyOrigin
from core.wallet.storage.secrets import Secret

if TYPE_CHECKING:
    from core.wallet.wallet import Wallet

#: BIP341's NUMS point H (x-only): nobody knows its discrete log, so the key path cannot be used.
NUMS_H = bytes.fromhex("50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0")
#: Account level of the trade keys: m/86'/coin'/1000'/0/index (far from the BIP86 accounts in use).
TRADE_KEY_ACCOUNT = 1000
#: Highest block count a BIP68 relative lock can express (16 bits; above is the time-lock form).
MAX_T1_BLOCKS = 0xFFFF
#: multi_a threshold of the cooperative / arbitrated leaf.
ESCROW_THRESHOLD = 2


class EscrowRole(Enum):
    """Who holds a key of the escrow."""

    BUYER = "buyer"
    SELLER = "seller"
    ARBITRATOR = "arbitrator"


# -- per-trade keys --------------------------------------------------------------------------------------


def trade_key_path(network: Network, index: int) -> tuple[int, ...]:
    """The BIP32 path m/86'/coin'/1000'/0/index of trade key `index` (coin 0 on mainnet, else 1)."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < HARDENED:
        raise EscrowError(f"trade key index {index!r} out of range [0, 2^31)")
    return (86 | HARDENED, coin_type(network) | HARDENED, TRADE_KEY_ACCOUNT | HARDENED, 0, index)


@dataclass(frozen=True)
class TradeKey:
    """A trader's (or arbitrator's) key for one trade. The secret never appears in repr/str; store
    `xonly` and `origin` (public) when the key is first derived, since deriving needs the password."""

    index: int
    xonly: bytes
    origin: KeyOrigin
    secret: Secret = field(repr=False)

    def __post_init__(self) -> None:
        try:
            matches = xonly_pubkey_from_privkey(bytes(self.secret)) == self.xonly
        except InvalidKey:
            matches = False
        if not matches:
            raise EscrowError("trade key secret does not match its public key")

    @classmethod
    def from_secret(cls, secret: bytes, index: int = 0, origin: KeyOrigin | None = None) -> TradeKey:
        """A trade key from a raw 32-byte secret (tests, bots); origin defaults to none known."""
        try:
            xonly = xonly_pubkey_from_privkey(bytes(secret))
        except InvalidKey:
            raise EscrowError("trade key secret out of range") from None
        return cls(index, xonly, origin or KeyOrigin(bytes(4), ()), Secret(bytes(secret)))


async def derive_trade_key(wallet: Wallet, index: int, password: str | None) -> TradeKey:
    """Trade key `index` from `wallet`'s seed, derived off the loop (WrongPassword if the password
    is wrong, WalletError for a watch-only wallet)."""
    path = trade_key_path(wallet.network, index)
    fingerprint, secret = await wallet.derive_secret(path, password)
    xonly = xonly_pubkey_from_privkey(bytes(secret))
    return TradeKey(index, xonly, KeyOrigin(fingerprint, path), secret)


# -- terms and scripts -----------------------------------------------------------------------------------


def _check_xonly(key: bytes, what: str) -> bytes:
    if not isinstance(key, bytes) or len(key) != 32:
        raise EscrowError(f"{what} key must be a 32-byte x-only public key")
    try:
        PublicKeyXOnly(bytes(key))
    except ValueError:
        raise EscrowError(f"{what} key {key.hex()} is not a valid x-only public key") from None
    return bytes(key)


@dataclass(frozen=True)
class EscrowTerms:
    """What fixes the escrow output: the three (or two) x-only keys, the refund delay T1 in blocks
    and the network. Validated on construction (EscrowError)."""

    buyer_xonly: bytes
    seller_xonly: bytes
    arbitrator_xonly: bytes | None
    t1_blocks: int
    network: Network

    def __post_init__(self) -> None:
        keys = [_check_xonly(self.buyer_xonly, "buyer"), _check_xonly(self.seller_xonly, "seller")]
        if self.arbitrator_xonly is not None:
            keys.append(_check_xonly(self.arbitrator_xonly, "arbitrator"))
        if len(set(keys)) != len(keys):
            raise EscrowError("buyer, seller and arbitrator keys must all differ")
        if NUMS_H in keys:
            raise EscrowError("the NUMS point cannot be a trader's key")
        t1 = self.t1_blocks
        if isinstance(t1, bool) or not isinstance(t1, int) or not 1 <= t1 <= MAX_T1_BLOCKS:
            raise EscrowError(f"T1 must be 1..{MAX_T1_BLOCKS} blocks, not {t1!r}")

    @property
    def has_arbitrator(self) -> bool:
        """False in the 2-of-2 mode (deposits only, no dispute ruling possible)."""
        return self.arbitrator_xonly is not None

    @property
    def multi_keys(self) -> tuple[bytes, ...]:
        """Keys of the multi_a leaf in script order: buyer, seller[, arbitrator]."""
        keys = (self.buyer_xonly, self.seller_xonly)
        return keys if self.arbitrator_xonly is None else (*keys, self.arbitrator_xonly)

    def key_of(self, role: EscrowRole) -> bytes:
        """The x-only key of `role` (EscrowError for the arbitrator in the 2-of-2 mode)."""
        key = {
            EscrowRole.BUYER: self.buyer_xonly,
            EscrowRole.SELLER: self.seller_xonly,
            EscrowRole.ARBITRATOR: self.arbitrator_xonly,
        }[role]
        if key is None:
            raise EscrowError("this escrow has no arbitrator")
        return key


def escrow_descriptor(terms: EscrowTerms) -> str:
    """The escrow's descriptor text with its BIP380 checksum (the same for every party)."""
    return _scripts(terms).descriptor


@dataclass(frozen=True)
class EscrowScripts:
    """Everything derived from the terms: descriptor, output script, address and the two leaves."""

    descriptor: str
    script_pubkey: bytes
    address: str
    taproot: TaprootInfo
    multi_leaf: LeafInfo
    refund_leaf: LeafInfo

    def control_block(self, leaf: LeafInfo) -> bytes:
        """The BIP341 control block for spending `leaf`."""
        return self.taproot.control_block(leaf)


def expected_multi_script(terms: EscrowTerms) -> bytes:
    """BIP387 multi_a: `<K1> CHECKSIG <K2> CHECKSIGADD ... <2> NUMEQUAL`."""
    keys = terms.multi_keys
    out = push_data(keys[0]) + bytes((Opcode.OP_CHECKSIG,))
    for key in keys[1:]:
        out += push_data(key) + bytes((Opcode.OP_CHECKSIGADD,))
    return out + push_int(ESCROW_THRESHOLD) + bytes((Opcode.OP_NUMEQUAL,))


def expected_refund_script(terms: EscrowTerms) -> bytes:
    """Miniscript and_v(v:pk(S),older(T1)): `<S> CHECKSIGVERIFY <T1> CHECKSEQUENCEVERIFY`."""
    return (
        push_data(terms.seller_xonly)
        + bytes((Opcode.OP_CHECKSIGVERIFY,))
        + push_int(terms.t1_blocks)
        + bytes((Opcode.OP_CHECKSEQUENCEVERIFY,))
    )


@lru_cache(maxsize=256)
def _scripts(terms: EscrowTerms) -> EscrowScripts:
    keys = ",".join(k.hex() for k in terms.multi_keys)
    text = (
        f"tr({NUMS_H.hex()},{{multi_a({ESCROW_THRESHOLD},{keys}),"
        f"and_v(v:pk({terms.seller_xonly.hex()}),older({terms.t1_blocks}))}})"
    )
    try:
        desc = Descriptor.parse(text, terms.network)
        expansion = desc.expand()
    except DescriptorError as err:
        raise EscrowError(f"cannot build the escrow descriptor: {err}") from None
    info = expansion.taproot
    if info is None or len(info.leaves) != 2:
        raise EscrowError("the escrow descriptor did not give a two-leaf taproot output")
    multi, refund = info.leaves
    # Two independent constructions must agree: the descriptor code and the scripts as specified.
    if multi.leaf.script != expected_multi_script(terms) or refund.leaf.script != expected_refund_script(terms):
        raise EscrowError("internal: the escrow leaves differ from their BIP387/Miniscript scripts")
    address = script_to_address(info.script_pubkey, terms.network)
    if address is None:
        raise EscrowError("internal: the escrow output has no address")
    return EscrowScripts(desc.to_string(), info.script_pubkey, address, info, multi, refund)


def escrow_scripts(terms: EscrowTerms) -> EscrowScripts:
    """Descriptor, output script, address and leaves of the escrow (cached per terms)."""
    return _scripts(terms)


def escrow_spk(terms: EscrowTerms) -> bytes:
    """The escrow's output script, `OP_1 <32-byte output key>`."""
    return _scripts(terms).script_pubkey


def escrow_address(terms: EscrowTerms) -> str:
    """The escrow's bech32m address on the terms' network."""
    return _scripts(terms).address
