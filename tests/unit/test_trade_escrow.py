"""The trade escrow: terms, descriptor text and address (stable, the same for every party, the same in
embit), trade keys from the seed, and every spend path checked by our script interpreter with spends
built here by hand (sighash + BIP340), independently of the PSBT code: cooperative, arbitrated, the
seller's refund after T1 (CSV in the script, BIP68 at the transaction level), and what must fail."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from embit.descriptor import Descriptor as EmbitDescriptor
from embit.networks import NETWORKS

from core.consensus.hashes import Txid
from core.consensus.network import MAINNET, SANDBOX
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.crypto.schnorr import schnorr_sign
from core.crypto.taproot import taproot_tweak_pubkey
from core.script.errors import ScriptError
from core.script.flags import MANDATORY_SCRIPT_VERIFY_FLAGS, STANDARD_SCRIPT_VERIFY_FLAGS
from core.script.interpreter import verify_input
from core.script.sighash import SIGHASH_DEFAULT, PrecomputedTxData, taproot_sighash
from core.trade.errors import EscrowError
from core.trade.escrow import (
    NUMS_H,
    EscrowRole,
    EscrowTerms,
    TradeKey,
    derive_trade_key,
    escrow_address,
    escrow_descriptor,
    escrow_scripts,
    escrow_spk,
    trade_key_path,
)
from core.validation.deployments import LOCKTIME_VERIFY_SEQUENCE
from core.validation.tx_verify import calculate_sequence_locks, evaluate_sequence_locks
from core.wallet.bip32 import HARDENED, ExtendedKey
from core.wallet.bip39 import mnemonic_to_seed
from core.wallet.descriptors import Descriptor
from core.wallet.errors import WrongPassword
from core.wallet.storage.secrets import KdfParams
from core.wallet.wallet import Wallet

B, S, A = (TradeKey.from_secret(bytes([i]) * 32) for i in (1, 2, 3))
MALLORY = TradeKey.from_secret(bytes([9]) * 32)
T1 = 144
VALUE = 1_000_000
OUTPOINT = OutPoint(Txid(b"\x42" * 32), 1)
DEST = b"\x00\x14" + bytes(range(20))
FLAGS = int(STANDARD_SCRIPT_VERIFY_FLAGS)
MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"

GOLDEN_3 = (
    "tr(50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0,{multi_a(2,"
    "1b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f,"
    "4d4b6cd1361032ca9bd2aeb9d900aa4d45d9ead80ac9423374c451a7254d0766,"
    "531fe6068134503d2723133227c867ac8fa6c83c537e9a44c3c5bdbdcb1fe337),"
    "and_v(v:pk(4d4b6cd1361032ca9bd2aeb9d900aa4d45d9ead80ac9423374c451a7254d0766),older(144))})#5x4q8jnt"
)
GOLDEN_2 = (
    "tr(50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0,{multi_a(2,"
    "1b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f,"
    "4d4b6cd1361032ca9bd2aeb9d900aa4d45d9ead80ac9423374c451a7254d0766),"
    "and_v(v:pk(4d4b6cd1361032ca9bd2aeb9d900aa4d45d9ead80ac9423374c451a7254d0766),older(1008))})#cxzxhpjj"
)


def _terms(arbitrator: bool = True, t1: int = T1, network=SANDBOX) -> EscrowTerms:
    return EscrowTerms(B.xonly, S.xonly, A.xonly if arbitrator else None, t1, network)


# -- descriptor, address, terms ------------------------------------------------------------------------


def test_descriptor_text_and_address_are_stable() -> None:
    assert escrow_descriptor(_terms()) == GOLDEN_3
    assert escrow_address(_terms()) == "bcrt1ple0a85e253psp2tc3sju7aqwu6s0yvxlkatgpzhy929t89syj62sef9p47"
    assert escrow_address(_terms(network=MAINNET)) == "bc1ple0a85e253psp2tc3sju7aqwu6s0yvxlkatgpzhy929t89syj62srceg6t"
    two = _terms(arbitrator=False, t1=1008)
    assert escrow_descriptor(two) == GOLDEN_2
    assert escrow_address(two) == "bcrt1p3n7aen3a3775d3plp54p9texp9vahcvn9vk5ldh8pf7r7p3dvh9qvdjsdu"


def test_every_party_derives_the_same_escrow() -> None:
    # Each party builds the terms from the contract's keys on its own (fresh objects, bytes copies).
    parties = [EscrowTerms(bytes(B.xonly), bytes(S.xonly), bytes(A.xonly), T1, SANDBOX) for _ in range(3)]
    assert len({(escrow_descriptor(t), escrow_address(t), escrow_spk(t)) for t in parties}) == 1
    scripts = escrow_scripts(parties[0])
    # Our descriptor parser, from the exported text, gives the same output script.
    assert Descriptor.parse(scripts.descriptor, SANDBOX, require_checksum=True).script_pubkey() == scripts.script_pubkey
    assert scripts.taproot.internal_key == NUMS_H
    assert taproot_tweak_pubkey(NUMS_H, scripts.taproot.merkle_root)[0] == scripts.script_pubkey[2:]
    # Changing anything changes the address.
    variants = [
        EscrowTerms(S.xonly, B.xonly, A.xonly, T1, SANDBOX),
        EscrowTerms(B.xonly, S.xonly, MALLORY.xonly, T1, SANDBOX),
        _terms(t1=T1 + 1),
        _terms(arbitrator=False),
    ]
    assert len({escrow_spk(t) for t in [parties[0], *variants]}) == 5


@pytest.mark.parametrize("arbitrator", [True, False], ids=["3-party", "2-of-2"])
def test_embit_derives_the_same_address_from_the_descriptor_text(arbitrator: bool) -> None:
    terms = _terms(arbitrator=arbitrator)
    theirs = EmbitDescriptor.from_string(escrow_descriptor(terms))
    assert theirs.script_pubkey().data == escrow_spk(terms)
    assert theirs.address(NETWORKS["regtest"]) == escrow_address(terms)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"buyer_xonly": b"\x01" * 31}, "32-byte"),
        ({"seller_xonly": b"\xff" * 32}, "not a valid x-only"),
        ({"arbitrator_xonly": B.xonly}, "must all differ"),
        ({"seller_xonly": NUMS_H}, "NUMS"),
        ({"t1_blocks": 0}, "T1"),
        ({"t1_blocks": 0x10000}, "T1"),
        ({"t1_blocks": True}, "T1"),
    ],
    ids=["short-key", "off-curve", "duplicate", "nums", "t1-zero", "t1-too-big", "t1-bool"],
)
def test_terms_are_validated(kwargs: dict, message: str) -> None:
    fields = {"buyer_xonly": B.xonly, "seller_xonly": S.xonly, "arbitrator_xonly": A.xonly, "t1_blocks": T1}
    with pytest.raises(EscrowError, match=message):
        EscrowTerms(**{**fields, **kwargs}, network=SANDBOX)


def test_roles_and_keys() -> None:
    assert _terms().key_of(EscrowRole.ARBITRATOR) == A.xonly
    assert _terms().multi_keys == (B.xonly, S.xonly, A.xonly)
    with pytest.raises(EscrowError):
        _terms(arbitrator=False).key_of(EscrowRole.ARBITRATOR)


# -- trade keys --------------------------------------------------------------------------------------------


def test_trade_keys_come_from_the_seed_and_hide_their_secret(tmp_path: Path) -> None:
    wallet = Wallet.create(tmp_path / "w.sqlite", SANDBOX, MNEMONIC, password="pw", kdf=KdfParams(log2_n=10))
    try:
        key = asyncio.run(derive_trade_key(wallet, 7, "pw"))
        root = ExtendedKey.from_seed(mnemonic_to_seed(MNEMONIC, ""))
        expected = root.derive_path([86 | HARDENED, 1 | HARDENED, 1000 | HARDENED, 0, 7])
        assert key.xonly == expected.pubkey[1:] and bytes(key.secret) == expected.secret
        assert key.origin.fingerprint == root.fingerprint and key.origin.path == trade_key_path(SANDBOX, 7)
        assert key.secret.hex() not in repr(key) and "secret" not in repr(key)
        assert asyncio.run(derive_trade_key(wallet, 8, "pw")).xonly != key.xonly
        with pytest.raises(WrongPassword):
            asyncio.run(derive_trade_key(wallet, 7, "wrong"))
    finally:
        wallet.close()
    assert trade_key_path(MAINNET, 0)[1] == HARDENED  # coin type 0 on mainnet
    for bad in (-1, HARDENED, True):
        with pytest.raises(EscrowError):
            trade_key_path(SANDBOX, bad)
    with pytest.raises(EscrowError):
        TradeKey(0, B.xonly, B.origin, S.secret)  # secret of another key
    with pytest.raises(EscrowError):
        TradeKey.from_secret(bytes(32))


# -- spends checked by the interpreter ---------------------------------------------------------------------


def _spend(
    terms: EscrowTerms,
    refund: bool,
    signers: list[TradeKey],
    sequence: int,
    version: int = 2,
    flags: int = FLAGS,
    impostor: tuple[bytes, TradeKey] | None = None,
) -> tuple[ScriptError | None, Transaction]:
    """A spend of the escrow along one leaf, signed by `signers` with BIP340 directly (and, with
    `impostor` = (slot key, signer), a signature by someone else in that key's slot); verified."""
    scripts = escrow_scripts(terms)
    leaf = scripts.refund_leaf if refund else scripts.multi_leaf
    spent = [TxOut(VALUE, scripts.script_pubkey)]
    unsigned = Transaction(version, (TxIn(OUTPOINT, b"", sequence),), (TxOut(VALUE - 1_000, DEST),), 0)
    digest = taproot_sighash(
        unsigned, 0, SIGHASH_DEFAULT, PrecomputedTxData(unsigned, spent), ext_flag=1, leaf_hash=leaf.leaf_hash
    )
    assert digest is not None
    sigs = {k.xonly: schnorr_sign(bytes(k.secret), digest, bytes(32)) for k in signers}
    if impostor is not None:
        sigs[impostor[0]] = schnorr_sign(bytes(impostor[1].secret), digest, bytes(32))
    if refund:
        stack = [next(iter(sigs.values()), b"")]  # whoever signed, in the seller's place
    else:
        stack = [sigs.get(key, b"") for key in reversed(terms.multi_keys)]
    witness = (*stack, leaf.leaf.script, scripts.control_block(leaf))
    tx = Transaction(version, (TxIn(OUTPOINT, b"", sequence, witness),), unsigned.vout, 0)
    return verify_input(tx, 0, spent, flags), tx


@pytest.mark.parametrize(
    "signers",
    [[B, S], [A, B], [A, S]],
    ids=["cooperative", "arbitrated-for-buyer", "arbitrated-for-seller"],
)
def test_two_of_three_paths_verify(signers: list[TradeKey]) -> None:
    for flags in (FLAGS, int(MANDATORY_SCRIPT_VERIFY_FLAGS)):
        assert _spend(_terms(), False, signers, 0xFFFFFFFD, flags=flags)[0] is None


def test_two_of_two_mode_verifies_with_both_traders() -> None:
    assert _spend(_terms(arbitrator=False), False, [B, S], 0xFFFFFFFD)[0] is None
    assert _spend(_terms(arbitrator=False), False, [B], 0xFFFFFFFD)[0] is not None


@pytest.mark.parametrize(
    "signers",
    [[B], [S], [A], [], [B, S, A]],
    ids=["buyer-alone", "seller-alone", "arbitrator-alone", "nobody", "all-three"],
)
def test_multi_leaf_refuses_other_signer_sets(signers: list[TradeKey]) -> None:
    # Fewer or more than two valid signatures: NUMEQUAL leaves false on the stack.
    assert _spend(_terms(), False, signers, 0xFFFFFFFD)[0] == ScriptError.EVAL_FALSE


def test_outsider_signatures_are_refused() -> None:
    # A non-empty signature that does not verify fails the whole script (BIP342), in either leaf.
    assert _spend(_terms(), False, [B], 0xFFFFFFFD, impostor=(S.xonly, MALLORY))[0] == ScriptError.SCHNORR_SIG
    assert _spend(_terms(), True, [], T1, impostor=(S.xonly, MALLORY))[0] == ScriptError.SCHNORR_SIG


def test_refund_path_needs_t1_in_nsequence_and_version_2() -> None:
    assert _spend(_terms(), True, [S], T1)[0] is None
    assert _spend(_terms(), True, [S], T1 + 5)[0] is None
    assert _spend(_terms(), True, [S], T1 - 1)[0] == ScriptError.UNSATISFIED_LOCKTIME
    assert _spend(_terms(), True, [S], T1, version=1)[0] == ScriptError.UNSATISFIED_LOCKTIME
    assert _spend(_terms(), True, [S], 0xFFFFFFFD)[0] == ScriptError.UNSATISFIED_LOCKTIME  # disable flag set
    assert _spend(_terms(), True, [S], T1 | 1 << 22)[0] == ScriptError.UNSATISFIED_LOCKTIME  # time, not blocks
    assert _spend(_terms(), True, [B], T1)[0] == ScriptError.SCHNORR_SIG  # only the seller's key
    assert _spend(_terms(), True, [], T1)[0] == ScriptError.CHECKSIGVERIFY  # an empty signature
    assert _spend(_terms(arbitrator=False), True, [S], T1)[0] is None


def test_refund_is_bip68_final_only_t1_blocks_after_the_deposit_confirms() -> None:
    _, tx = _spend(_terms(), True, [S], T1)
    conf = 500  # the deposit's block
    lock = calculate_sequence_locks(tx, LOCKTIME_VERIFY_SEQUENCE, [conf], lambda h: 0)
    assert not evaluate_sequence_locks(conf + T1 - 1, 0, lock)  # before T1: not in a block yet
    assert evaluate_sequence_locks(conf + T1, 0, lock)  # at T1: may be mined
    # Version 1 would ignore BIP68, but its script check fails (see above), so no shortcut exists.
    _, v1 = _spend(_terms(), True, [S], T1, version=1)
    assert calculate_sequence_locks(v1, LOCKTIME_VERIFY_SEQUENCE, [conf], lambda h: 0) == (-1, -1)
