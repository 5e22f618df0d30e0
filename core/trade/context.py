"""What one party knows about one trade: the context the state machine reads and its handlers replace.

The context is an immutable dataclass of JSON values only (strings, ints, bools, JSON objects), so the
store can persist it in the same SQLite transaction as the state, and a handler returns a new context
(`dataclasses.replace`) instead of mutating one: a refused event cannot leave half an update behind.
Parsed views (`offer_obj`, `contract_obj`) decode on demand.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass, field
from typing import Any

from core.consensus.hashes import Txid
from core.consensus.tx import OutPoint
from core.trade.contract import Contract, PartyTerms
from core.trade.errors import ContractError, OfferError, TradeStoreError
from core.trade.offer import Offer, Side


class Role(enum.StrEnum):
    """A party's role in a trade."""

    BUYER = "buyer"
    SELLER = "seller"
    ARBITRATOR = "arbitrator"

    @property
    def side(self) -> Side:
        """The trader's side (ProtocolError-free: the arbitrator has none and gets BUY's opposite never)."""
        if self is Role.ARBITRATOR:
            raise ValueError("the arbitrator has no side")
        return Side.BUY if self is Role.BUYER else Side.SELL

    @property
    def other(self) -> Role:
        """The other trader."""
        return {Role.BUYER: Role.SELLER, Role.SELLER: Role.BUYER}[self]


def role_of(offer: Offer, maker: bool) -> Role:
    """The role of the maker (or the taker) of `offer`."""
    side = offer.side if maker else offer.taker_side
    return Role.BUYER if side is Side.BUY else Role.SELLER


@dataclass(frozen=True)
class TradeContext:
    """Everything one party records about one trade (all JSON values; see the module docstring)."""

    trade_id: str
    role: Role
    maker: bool
    offer: dict[str, Any]
    my_nostr: str
    key_index: int = -1  # per-trade key index (-1: the arbitrator's fixed keys)
    created_at: int = 0
    peer_nostr: str = ""  # the other trader's per-trade Nostr key
    # -- take and contract
    amount_sat: int = 0
    price: str = ""
    method: str = ""
    my_party: dict[str, Any] | None = None
    peer_party: dict[str, Any] | None = None
    peer_receipts: tuple[dict[str, Any], ...] = ()
    contract: dict[str, Any] | None = None
    buyer_sig: str = ""
    seller_sig: str = ""
    # -- payment accounts: ours in full (salted hash in the contract), the peer's once revealed
    my_account: str = ""
    my_salt: str = ""
    peer_account: str = ""
    peer_salt: str = ""
    # -- deposit
    my_part: str = ""  # our contribution PSBT (base64)
    my_part_amount: int = 0
    my_part_fee: int = 0
    peer_part: str = ""  # the buyer's contribution (seller side)
    deposit_psbt: str = ""  # the combined unsigned deposit
    deposit_signed: bool = False  # our deposit signatures have left this device
    deposit_txid: str = ""
    deposit_vout: int = -1
    deposit_tx: str = ""
    deposit_height: int = -1
    buyer_attestation: str = ""
    seller_attestation: str = ""
    reserved: tuple[str, ...] = ()  # our coins frozen for the deposit ("txid:vout")
    watch_from: int = -1  # first block height where the escrow can appear (rescanned on every start)
    # -- payment and payouts
    paid_note: str = ""
    release_psbt: str = ""
    cancel_psbt: str = ""  # a pending cooperative-cancel proposal, signed by its proposer
    cancel_by: str = ""  # the proposer's role
    cancel_declined: str = ""
    dispute_by: str = ""
    dispute_reason: str = ""
    ruling: dict[str, Any] | None = None  # {"buyer_sat", "seller_sat", "psbt", "reason"}
    ruling_accepted: bool = False  # we co-signed the ruling; its payout is broadcast (or about to be)
    payout_txid: str = ""
    payout_tx: str = ""  # the payout we broadcast (hex), to announce again until it confirms
    payout_kind: str = ""
    payout_height: int = -1
    refund_available: bool = False
    # -- after the trade
    receipt: dict[str, Any] | None = None
    my_rating: int = 0
    # -- arbitrator
    evidence: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = field(default=())  # user-facing notices, newest last

    # -- views -----------------------------------------------------------------------------------

    def offer_obj(self) -> Offer:
        """The offer, decoded."""
        try:
            return Offer.from_json(self.offer)
        except OfferError as e:
            raise TradeStoreError(f"trade {self.trade_id}: stored offer is damaged: {e}") from None

    def contract_obj(self) -> Contract:
        """The contract (ContractError if there is none yet)."""
        if self.contract is None:
            raise ContractError("no contract yet")
        return Contract.from_json(self.contract)

    def my_party_obj(self) -> PartyTerms:
        if self.my_party is None:
            raise ContractError("our trade terms are not set")
        return PartyTerms.from_json(self.my_party, "our terms")

    def deposit_outpoint(self) -> OutPoint:
        """The escrow outpoint (ContractError before the deposit is known)."""
        if not self.deposit_txid or self.deposit_vout < 0:
            raise ContractError("the deposit is not known yet")
        return OutPoint(Txid.from_hex(self.deposit_txid), self.deposit_vout)

    @property
    def is_trader(self) -> bool:
        return self.role is not Role.ARBITRATOR

    def note(self, text: str) -> TradeContext:
        """A copy with a notice for the user appended (the last 20 kept)."""
        return dataclasses.replace(self, notes=(*self.notes, text)[-20:])

    # -- persistence -----------------------------------------------------------------------------

    def to_text(self) -> str:
        """JSON text for the store."""
        obj = dataclasses.asdict(self)
        obj["role"] = self.role.value
        return json.dumps(obj, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_text(cls, text: str) -> TradeContext:
        """Read `to_text` output back (TradeStoreError if damaged)."""
        try:
            obj = json.loads(text)
            obj["role"] = Role(obj["role"])
            for f in dataclasses.fields(cls):
                if f.name in obj and isinstance(obj[f.name], list):
                    obj[f.name] = tuple(obj[f.name])
            return cls(**obj)
        except (ValueError, TypeError, KeyError) as e:
            raise TradeStoreError(f"a stored trade context is damaged: {e}") from None
