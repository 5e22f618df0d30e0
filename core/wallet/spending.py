"""Spending from a Wallet: drafts (PSBTs), signing, broadcasting, fee bumps (RBF) and CPFP children.

A `Draft` is an unsigned PSBT plus what the user must review: inputs, outputs (ours marked, change
marked), fee and estimated signed size. Any signer can complete it: `Wallet.sign` (the seed, decrypted
off the loop), a hardware wallet or an air-gapped one through PSBT files; `finalize` then checks every
input's scripts before `broadcast` records the transaction (so the balance shows it at once) and hands
it to the light node.

The change address is only peeked while drafting and is handed out when the transaction is broadcast,
so abandoned drafts do not burn addresses (as Core's ReserveDestination/KeepDestination).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.consensus.hashes import Txid
from core.consensus.tx import OutPoint, Transaction, TxOut
from core.mempool.feerate import FeeRate
from core.script.address import address_to_script, script_to_address
from core.wallet.bip32 import ExtendedKey
from core.wallet.bip39 import mnemonic_to_seed
from core.wallet.coin_selection import Candidate, Recipient
from core.wallet.descriptors.keys import ExtKey
from core.wallet.errors import TxBuilderError, WalletError
from core.wallet.keychain import KeychainKind
from core.wallet.psbt import Psbt, create_psbt, extract_transaction, finalize_psbt, sign_psbt
from core.wallet.snapshot import query_unspent, read_off_loop
from core.wallet.storage.secrets import Secret
from core.wallet.tx_builder import (
    annotate_psbt,
    build_psbt,
    bump_fee,
    cpfp,
    input_weight,
)

if TYPE_CHECKING:
    from core.wallet.wallet import Wallet


@dataclass(frozen=True)
class Payment:
    """Pay `amount` satoshis to `address` (with send-max, the amount is ignored)."""

    address: str
    amount: int
    subtract_fee: bool = False


@dataclass(frozen=True)
class DraftInput:
    """A coin the draft spends."""

    outpoint: OutPoint
    value: int
    address: str | None


@dataclass(frozen=True)
class DraftOutput:
    """An output of the draft; `is_mine` for our own scripts, `is_change` for the change output."""

    address: str | None
    amount: int
    is_mine: bool
    is_change: bool


@dataclass(frozen=True)
class Draft:
    """An unsigned transaction ready for review and signing."""

    psbt: Psbt
    fee: int
    vsize: int  # estimated once signed
    inputs: tuple[DraftInput, ...]
    outputs: tuple[DraftOutput, ...]
    replaces: Txid | None = None  # the transaction a fee bump replaces
    parent: Txid | None = None  # the transaction a CPFP child pays for
    package_rate: FeeRate | None = None  # CPFP: parent + child fee rate

    @property
    def fee_rate(self) -> FeeRate:
        return FeeRate.from_fee(self.fee, self.vsize)

    @property
    def sent(self) -> int:
        """What leaves the wallet: outputs to others plus the fee."""
        return sum(o.amount for o in self.outputs if not o.is_mine) + self.fee


class _Utxos(dict):
    """outpoint -> (value, script); `get` builds the TxOut only for the coins a draft actually spends."""

    def get(self, key: OutPoint, default: object = None) -> TxOut | None:  # type: ignore[override]
        found = dict.get(self, key)
        return None if found is None else TxOut(*found)


def candidates_from_rows(rows: Sequence[tuple], tip: int) -> tuple[list[Candidate], _Utxos]:
    """Coin-selection candidates from `query_unspent` rows (pure: runs in a worker thread too)."""
    cands: list[Candidate] = []
    utxos = _Utxos()
    weights: dict[tuple[int, bytes], int] = {}
    change = KeychainKind.CHANGE
    for txid, vout, value, spk, kind, _idx, height, frozen, immature in rows:
        if immature:
            continue
        weight = weights.get((len(spk), spk[:3]))
        if weight is None:
            try:
                weight = input_weight(spk)
            except TxBuilderError:
                continue  # a script we cannot size (and so cannot sign) is not spendable here
            weights[(len(spk), spk[:3])] = weight  # the script type is fixed by length and first bytes
        outpoint = OutPoint(Txid(txid), vout)
        depth = 0 if height is None else max(tip - height + 1, 0)
        cands.append(Candidate(outpoint, value, weight, depth, frozen, kind is change))
        utxos[outpoint] = (value, spk)
    return cands, utxos


class WalletSpending:
    """Spending operations of `Wallet` (mixed in; uses its db, keychain, tracker, network and node)."""

    def _w(self) -> Wallet:
        return self  # type: ignore[return-value]

    # -- helpers ----------------------------------------------------------------------------------------

    def _candidates(self) -> tuple[list[Candidate], _Utxos]:
        w = self._w()
        return candidates_from_rows(w.unspent_rows(), w.tip_height)

    def _peek_change(self) -> tuple[int, bytes]:
        """The next change index and script, without handing it out yet."""
        w = self._w()
        desc_id = w.tracker.descriptor_id(KeychainKind.CHANGE)
        row = w.db.conn.execute("SELECT next_index FROM descriptors WHERE id = ?", (desc_id,)).fetchone()
        index = row[0]
        # Skip handed-out and used indexes alike: a crash between recording a transaction and handing
        # out its change index must not make the next draft reuse that change address.
        while w.db.conn.execute(
            "SELECT 1 FROM addresses WHERE descriptor_id = ? AND idx = ? AND handed_out = 1"
            " UNION ALL SELECT 1 FROM outputs WHERE descriptor_id = ? AND idx = ?",
            (desc_id, index, desc_id, index),
        ).fetchone():
            index += 1
        return index, w.keychain.script_pubkey(KeychainKind.CHANGE, index)

    def _describe(self, psbt: Psbt, fee: int, weight: int, **extra: Any) -> Draft:
        w = self._w()
        inputs = []
        for i, txin in enumerate(psbt.tx.vin):
            utxo = psbt.spent_output(i)
            value = utxo.value if utxo is not None else 0
            address = script_to_address(utxo.script_pubkey, w.network) if utxo is not None else None
            inputs.append(DraftInput(txin.prevout, value, address))
        outputs = []
        for out in psbt.tx.vout:
            found = w.keychain.index_of(out.script_pubkey)
            outputs.append(
                DraftOutput(
                    script_to_address(out.script_pubkey, w.network), out.value, found is not None,
                    found is not None and found[0] is KeychainKind.CHANGE,
                )
            )
        return Draft(psbt, fee, -(-weight // 4), tuple(inputs), tuple(outputs), **extra)

    # -- drafting ---------------------------------------------------------------------------------------

    def draft(
        self,
        payments: Sequence[Payment],
        fee_rate: FeeRate,
        *,
        coins: Sequence[OutPoint] | None = None,
        send_max: bool = False,
        rbf: bool = True,
        rng: random.Random | None = None,
    ) -> Draft:
        """An unsigned payment to `payments` at `fee_rate` (sat/vB, exact).

        `coins` restricts the inputs to exactly those coins (coin control); `send_max` sends all of them
        (or every spendable coin) to the single payment, minus the fee. Errors: AddressError for a bad or
        wrong-network address, InsufficientFunds (with the shortfall), DustOutputError, TxBuilderError.
        """
        recipients = self._recipients(payments, send_max)
        cands, utxos = self._candidates()
        _, change_script = self._peek_change()
        tip = max(self._w().tip_height, 0)
        psbt, fee, weight = self._build(cands, utxos, recipients, fee_rate, change_script, tip, coins, send_max, rbf, rng)
        return self._describe(psbt, fee, weight)

    async def draft_async(
        self,
        payments: Sequence[Payment],
        fee_rate: FeeRate,
        *,
        coins: Sequence[OutPoint] | None = None,
        send_max: bool = False,
        rbf: bool = True,
    ) -> Draft:
        """`draft` with the coins read (a read-only snapshot of the file) and selected in a worker thread:
        a wallet with very many coins takes longer than the loop may block (10,000 coins: ~100 ms)."""
        w = self._w()
        recipients = self._recipients(payments, send_max)
        _, change_script = self._peek_change()
        height = w.tip_height
        tip = max(height, 0)

        def build(conn: Any) -> tuple[Psbt, int, int]:
            cands, utxos = candidates_from_rows(query_unspent(conn, height), height)
            return self._build(cands, utxos, recipients, fee_rate, change_script, tip, coins, send_max, rbf, None)

        psbt, fee, weight = await read_off_loop(w.db.path, build)
        return self._describe(psbt, fee, weight)

    def _recipients(self, payments: Sequence[Payment], send_max: bool) -> list[Recipient]:
        w = self._w()
        if not payments:
            raise WalletError("no recipients")
        recipients = []
        for p in payments:
            if isinstance(p.amount, bool) or not isinstance(p.amount, int):
                raise WalletError(f"amount {p.amount!r} must be a whole number of satoshis")
            if p.amount <= 0 and not send_max:
                raise WalletError(f"amount {p.amount} sat to {p.address} must be positive")
            recipients.append(Recipient(max(p.amount, 0), address_to_script(p.address.strip(), w.network), p.subtract_fee))
        return recipients

    def _build(
        self, cands: list[Candidate], utxos: _Utxos, recipients: list[Recipient], fee_rate: FeeRate, change_script: bytes,
        tip: int, coins: Sequence[OutPoint] | None, send_max: bool, rbf: bool, rng: random.Random | None,
    ) -> tuple[Psbt, int, int]:
        # No database access here: it runs in a worker thread for draft_async.
        required: list[Candidate] = []
        if coins is not None:
            chosen = {c.outpoint: c for c in cands}
            for op in coins:
                if op not in chosen:
                    raise WalletError(f"coin {op} is not a spendable coin of this wallet")
                required.append(chosen[op])
            if not required:
                raise WalletError("coin control selected no coins")
        psbt, built = build_psbt(
            cands, utxos, recipients, fee_rate, change_script, tip, self._w().keychain, rbf=rbf,
            rng=rng or random.Random(), required=required, allow_other_inputs=coins is None, sweep=send_max,
        )
        return psbt, built.fee, built.estimated_weight

    def bump_fee(self, txid: Txid, fee_rate: FeeRate) -> Draft:
        """A BIP125 replacement of our unconfirmed transaction `txid` paying `fee_rate`."""
        w = self._w()
        rec = w.db.get_transaction(bytes(txid))
        if rec is None:
            raise WalletError(f"transaction {txid} is not in this wallet")
        if rec.height is not None:
            raise WalletError(f"transaction {txid} is already confirmed; it cannot be replaced")
        tx = Transaction.parse(rec.raw)
        spent = []
        for txin in tx.vin:
            row = w.db.conn.execute(
                "SELECT value, script_pubkey FROM outputs WHERE txid = ? AND vout = ?",
                (bytes(txin.prevout.txid), txin.prevout.n),
            ).fetchone()
            if row is None:
                raise WalletError("only transactions spending this wallet's coins alone can be bumped; use CPFP")
            spent.append(TxOut(row[0], bytes(row[1])))
        change_index = next(
            (i for i, o in enumerate(tx.vout) if (f := w.keychain.index_of(o.script_pubkey)) and f[0] is KeychainKind.CHANGE),
            None,
        )
        cands, utxos = self._candidates()
        own_outputs = {OutPoint(tx.txid, i) for i in range(len(tx.vout))}
        pool = [(c, utxos.get(c.outpoint)) for c in cands if c.outpoint not in own_outputs and c.depth > 0 and not c.frozen]
        _, change_script = self._peek_change()
        result = bump_fee(tx, spent, fee_rate, change_index, pool, change_script=change_script)
        psbt = create_psbt(result.tx)
        annotate_psbt(psbt, result.spent_outputs, w.keychain)
        return self._describe(psbt, result.fee, result.estimated_weight, replaces=Txid(bytes(txid)))

    def cpfp(self, txid: Txid, fee_rate: FeeRate) -> Draft:
        """A child spending our largest output of unconfirmed `txid` so the pair pays `fee_rate`.

        The parent's fee is known for our own transactions; for an incoming one it usually is not (its
        inputs are not ours), and the child then pays for the whole package as if the parent paid nothing.
        """
        w = self._w()
        rec = w.db.get_transaction(bytes(txid))
        if rec is None:
            raise WalletError(f"transaction {txid} is not in this wallet")
        if rec.height is not None:
            raise WalletError(f"transaction {txid} is already confirmed")
        parent = Transaction.parse(rec.raw)
        row = w.db.conn.execute(
            "SELECT vout, value, script_pubkey FROM outputs WHERE txid = ? AND spent_by IS NULL AND frozen = 0"
            " ORDER BY value DESC LIMIT 1",
            (bytes(txid),),
        ).fetchone()
        if row is None:
            raise WalletError(f"transaction {txid} has no unspent output of this wallet to spend")
        vout, value, spk = row[0], row[1], bytes(row[2])
        _, change_script = self._peek_change()
        result = cpfp(parent, rec.fee or 0, vout, value, spk, fee_rate, change_script)
        psbt = create_psbt(result.tx)
        annotate_psbt(psbt, [TxOut(value, spk)], w.keychain)
        return self._describe(
            psbt, result.fee, result.estimated_weight, parent=Txid(bytes(txid)), package_rate=result.package_rate
        )

    # -- signing and broadcasting ------------------------------------------------------------------------

    def sign_blocking(self, psbt: Psbt, password: str | None) -> int:
        """Sign every input our seed can sign (in place); returns the signatures added. Blocking."""
        return self._sign_with(self._w()._seed_envelope(), self._account_keys(), psbt, password)

    def _account_keys(self) -> list[tuple[bytes, list[int], bytes]]:
        """(origin fingerprint, origin path, public key) of the extended keys in our descriptors."""
        w = self._w()
        return [
            (key.origin.fingerprint, key.origin.indexes, key.root.pubkey)
            for kind in KeychainKind
            for key in w.keychain.descriptor(kind).key_exprs()
            if isinstance(key, ExtKey) and key.origin is not None
        ]

    def _sign_with(
        self, envelope: bytes, accounts: list[tuple[bytes, list[int], bytes]], psbt: Psbt, password: str | None
    ) -> int:
        # Runs in a worker thread: everything it needs from the database was read beforehand.
        words, passphrase = self._w()._open_seed(envelope, password)
        root = ExtendedKey.from_seed(mnemonic_to_seed(words.decode(), passphrase.decode()))
        # A watch-only wallet made from the bare account xpub knows no key origin: its PSBTs name the
        # account key's own fingerprint and the path below it (as Electrum's do). Sign for those too.
        bases = {root.fingerprint: root}
        for fingerprint, path, pubkey in accounts:
            if fingerprint == root.fingerprint:
                account = root.derive_path(path)
                if account.pubkey == pubkey:
                    bases.setdefault(account.fingerprint, account)
        keys: dict[bytes, bytes] = {}
        for inp in psbt.inputs:
            origins = [(pk, o) for pk, o in inp.bip32_derivation.items()]
            origins += [(xonly, t.origin) for xonly, t in inp.tap_bip32_derivation.items()]
            for pubkey, origin in origins:
                base = bases.get(origin.fingerprint)
                if base is None or pubkey in keys:
                    continue
                child = base.derive_path(list(origin.path))
                if child.pubkey != pubkey and child.pubkey[1:] != pubkey:
                    raise WalletError("the PSBT's key origin does not derive to its public key")
                keys[pubkey] = child.secret
        return sign_psbt(psbt, keys)

    async def sign(self, psbt: Psbt, password: str | None) -> int:
        """`sign_blocking` off the loop (scrypt, key derivation and signing take a while)."""
        envelope = self._w()._seed_envelope()
        return await asyncio.to_thread(self._sign_with, envelope, self._account_keys(), psbt, password)

    def _derive_with(self, envelope: bytes, path: tuple[int, ...], password: str | None) -> tuple[bytes, Secret]:
        # Runs in a worker thread, like _sign_with.
        words, passphrase = self._w()._open_seed(envelope, password)
        root = ExtendedKey.from_seed(mnemonic_to_seed(words.decode(), passphrase.decode()))
        return root.fingerprint, Secret(root.derive_path(list(path)).secret)

    async def derive_secret(self, path: Sequence[int], password: str | None) -> tuple[bytes, Secret]:
        """(master key fingerprint, 32-byte secret at BIP32 `path` from the master key), derived off the
        loop: for keys the wallet's descriptors do not cover, such as the trade keys. WrongPassword if
        the password is wrong, WalletError for a watch-only wallet."""
        envelope = self._w()._seed_envelope()
        return await asyncio.to_thread(self._derive_with, envelope, tuple(path), password)

    @staticmethod
    def finalize(psbt: Psbt) -> Transaction:
        """Finalize every input and extract the signed transaction (scripts checked); WalletError if incomplete."""
        if not finalize_psbt(psbt):
            missing = [i for i, inp in enumerate(psbt.inputs) if not inp.is_finalized()]
            raise WalletError(f"the PSBT is not fully signed: input(s) {', '.join(map(str, missing))} lack signatures")
        return extract_transaction(psbt)

    def broadcast(self, tx: Transaction) -> Any:
        """Record `tx` as unconfirmed (replacing what it double-spends), hand out its change address and
        announce it through the attached node. Returns the node's BroadcastStatus."""
        w = self._w()
        if w.node is None:
            raise WalletError("not connected to the network: attach the wallet to a node first")
        desc_id = w.tracker.descriptor_id(KeychainKind.CHANGE)
        with w.db.transaction() as c:  # the change address first: if we crash next, it is merely skipped
            for out in tx.vout:
                found = w.keychain.index_of(out.script_pubkey)
                if found is not None and found[0] is KeychainKind.CHANGE:
                    c.execute(
                        "UPDATE addresses SET handed_out = 1 WHERE descriptor_id = ? AND idx = ?", (desc_id, found[1])
                    )
                    c.execute(
                        "UPDATE descriptors SET next_index = MAX(next_index, ?) WHERE id = ?", (found[1] + 1, desc_id)
                    )
        w.tracker.add_unconfirmed([tx])
        return w.node.broadcast(tx)

    async def send(
        self, payments: Sequence[Payment], fee_rate: FeeRate, password: str | None, **draft_options: Any
    ) -> Transaction:
        """Draft, sign, finalize and broadcast in one go; returns the transaction."""
        draft = self.draft(payments, fee_rate, **draft_options)
        await self.sign(draft.psbt, password)
        tx = self.finalize(draft.psbt)
        self.broadcast(tx)
        return tx
