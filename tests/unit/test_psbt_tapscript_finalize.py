"""The PSBT finalizer on tapscript leaves: BIP387 multi_a k-of-n (signatures in reverse key order,
empty elements for keys that did not sign, never more than k), Miniscript and_v(v:pk(K),older(N)),
and the single-key leaf; every finalized spend is checked by the extractor's script verification."""

from __future__ import annotations

import pytest

from core.consensus.hashes import Txid
from core.consensus.network import REGTEST
from core.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from core.crypto.schnorr import xonly_pubkey_from_privkey
from core.crypto.taproot import TAPROOT_LEAF_TAPSCRIPT
from core.wallet.descriptors import Descriptor
from core.wallet.errors import PsbtError
from core.wallet.psbt import Psbt, create_psbt, extract_transaction, finalize_psbt, sign_psbt

NUMS = "50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0"
SECRETS = [bytes([i + 1]) * 32 for i in range(20)]
XONLY = [xonly_pubkey_from_privkey(s) for s in SECRETS]
DEST = b"\x00\x14" + bytes(range(20))


def _psbt(leaf: str, sequence: int = 0xFFFFFFFD) -> Psbt:
    """A PSBT spending `tr(NUMS,leaf)` with the leaf script and control block filled in."""
    info = Descriptor.parse(f"tr({NUMS},{leaf})", REGTEST).expand().taproot
    assert info is not None
    tx = Transaction(2, (TxIn(OutPoint(Txid(b"\x11" * 32), 0), b"", sequence),), (TxOut(90_000, DEST),), 0)
    psbt = create_psbt(tx)
    psbt.inputs[0].witness_utxo = TxOut(100_000, info.script_pubkey)
    for leaf_info, cb in info.control_blocks():
        psbt.inputs[0].tap_leaf_scripts[cb] = (leaf_info.leaf.script, TAPROOT_LEAF_TAPSCRIPT)
    return psbt


def _multi(k: int, n: int) -> str:
    return f"multi_a({k}," + ",".join(x.hex() for x in XONLY[:n]) + ")"


@pytest.mark.parametrize(
    "signers",
    [(0, 1), (0, 2), (1, 2), (0, 1, 2)],
    ids=["first-two", "first-and-last", "last-two", "all-three"],
)
def test_multi_a_two_of_three(signers: tuple[int, ...]) -> None:
    psbt = _psbt(_multi(2, 3))
    assert sign_psbt(psbt, [SECRETS[i] for i in signers]) == len(signers)
    assert finalize_psbt(psbt)
    stack = psbt.inputs[0].final_script_witness
    assert stack is not None and len(stack) == 5
    used = signers[:2]  # with three signatures, the first two in key order are used
    assert [bool(e) for e in stack[:3]] == [i in used for i in (2, 1, 0)]  # reverse key order
    extract_transaction(psbt)  # verifies under the standard flags


def test_multi_a_needs_k_signatures() -> None:
    psbt = _psbt(_multi(3, 5))
    sign_psbt(psbt, [SECRETS[1], SECRETS[4]])
    assert not finalize_psbt(psbt) and not psbt.inputs[0].is_finalized()
    sign_psbt(psbt, [SECRETS[3]])
    assert finalize_psbt(psbt)
    assert [bool(e) for e in psbt.inputs[0].final_script_witness[:5]] == [True, True, False, True, False]  # keys 4, 3, 1
    extract_transaction(psbt)


def test_multi_a_threshold_above_16_uses_a_number_push() -> None:
    psbt = _psbt(_multi(17, 18))
    sign_psbt(psbt, SECRETS[:17])
    assert finalize_psbt(psbt)
    extract_transaction(psbt)


def test_multi_a_one_of_one() -> None:
    psbt = _psbt(_multi(1, 1))
    sign_psbt(psbt, [SECRETS[0]])
    assert finalize_psbt(psbt)
    extract_transaction(psbt)


def test_and_v_older_leaf() -> None:
    leaf = f"and_v(v:pk({XONLY[0].hex()}),older(10))"
    psbt = _psbt(leaf, sequence=10)
    sign_psbt(psbt, [SECRETS[1]])
    assert not finalize_psbt(psbt)  # another key's signature does not satisfy it
    sign_psbt(psbt, [SECRETS[0]])
    assert finalize_psbt(psbt)
    assert len(psbt.inputs[0].final_script_witness) == 3
    extract_transaction(psbt)
    early = _psbt(leaf, sequence=9)
    sign_psbt(early, [SECRETS[0]])
    assert finalize_psbt(early)  # the finalizer does not judge time locks; the extractor's check does
    with pytest.raises(PsbtError, match="UNSATISFIED_LOCKTIME"):
        extract_transaction(early)


def test_tree_with_both_leaves_picks_a_satisfiable_one() -> None:
    tree = "{" + _multi(2, 2) + f",and_v(v:pk({XONLY[1].hex()}),older(5))" + "}"
    psbt = _psbt(tree, sequence=5)
    sign_psbt(psbt, [SECRETS[1]])  # signs both leaves; only the timeout leaf is complete
    assert finalize_psbt(psbt)
    assert len(psbt.inputs[0].final_script_witness) == 3
    extract_transaction(psbt)


def test_single_key_leaf_still_finalizes() -> None:
    psbt = _psbt(f"pk({XONLY[2].hex()})")
    sign_psbt(psbt, [SECRETS[2]])
    assert finalize_psbt(psbt)
    extract_transaction(psbt)


def test_unknown_leaf_shapes_are_left_alone() -> None:
    psbt = _psbt(_multi(2, 2))
    sign_psbt(psbt, SECRETS[:2])
    (cb, (script, ver)), = psbt.inputs[0].tap_leaf_scripts.items()
    # The same keys in a script that is not a template: k pushed non-minimally, or a stray opcode.
    for other in (script[:-2] + b"\x01\x02\x9c", script[:-1] + b"\x87", script + b"\x75"):
        psbt.inputs[0].tap_leaf_scripts = {cb: (other, ver)}
        assert not finalize_psbt(psbt)
