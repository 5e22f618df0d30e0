"""Taproot helpers: key/secret tweak agreement, VerifyTaprootCommitment's rejections, tree parsing."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.crypto.errors import InvalidKey, TaprootError
from core.crypto.schnorr import schnorr_sign, schnorr_verify, xonly_pubkey_from_privkey
from core.crypto.taproot import (
    TAPROOT_CONTROL_MAX_SIZE,
    TapBranch,
    TapLeaf,
    is_valid_control_block_size,
    tapbranch_hash,
    taproot_info,
    taproot_tweak_pubkey,
    taproot_tweak_seckey,
    tree_from_json,
    verify_taproot_commitment,
)

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECRET = hashlib.sha256(b"internal").digest()
INTERNAL = xonly_pubkey_from_privkey(SECRET)
TREE = TapBranch(TapLeaf(b"\x51", id=0), TapBranch(TapLeaf(b"\x52", id=1), TapLeaf(b"\x53", 0xC2, id=2)))


def test_tweaked_secret_signs_for_output_key() -> None:
    info = taproot_info(INTERNAL, TREE)
    tweaked = taproot_tweak_seckey(SECRET, info.merkle_root)
    assert xonly_pubkey_from_privkey(tweaked) == info.output_key
    sig = schnorr_sign(tweaked, b"\x00" * 32, bytes(32))
    assert schnorr_verify(info.output_key, b"\x00" * 32, sig)


def test_key_path_only_output() -> None:
    info = taproot_info(INTERNAL, None)
    assert info.merkle_root is None and info.leaves == ()
    assert xonly_pubkey_from_privkey(taproot_tweak_seckey(SECRET, None)) == info.output_key


def test_tapbranch_is_order_independent() -> None:
    a, b = bytes(32), b"\x01" * 32
    assert tapbranch_hash(a, b) == tapbranch_hash(b, a)


def test_control_blocks_verify_and_mutations_fail() -> None:
    info = taproot_info(INTERNAL, TREE)
    for leaf, cb in info.control_blocks():
        assert verify_taproot_commitment(cb, info.output_key, leaf.leaf_hash)
        flipped_parity = bytes((cb[0] ^ 1,)) + cb[1:]
        assert not verify_taproot_commitment(flipped_parity, info.output_key, leaf.leaf_hash)
        bad_path = cb[:-1] + bytes((cb[-1] ^ 1,))
        assert not verify_taproot_commitment(bad_path, info.output_key, leaf.leaf_hash)
        assert not verify_taproot_commitment(cb, bytes(32), leaf.leaf_hash)
        assert not verify_taproot_commitment(cb + bytes(1), info.output_key, leaf.leaf_hash)
        assert not verify_taproot_commitment(cb[:32], info.output_key, leaf.leaf_hash)


def test_control_block_sizes() -> None:
    assert is_valid_control_block_size(33) and is_valid_control_block_size(TAPROOT_CONTROL_MAX_SIZE)
    assert not is_valid_control_block_size(32)
    assert not is_valid_control_block_size(34)
    assert not is_valid_control_block_size(TAPROOT_CONTROL_MAX_SIZE + 32)
    assert not verify_taproot_commitment(bytes(TAPROOT_CONTROL_MAX_SIZE + 32), bytes(32), bytes(32))


def test_internal_key_not_on_curve() -> None:
    not_x = b"\xff" * 32  # larger than the field size
    assert not verify_taproot_commitment(b"\xc0" + not_x, bytes(32), bytes(32))
    with pytest.raises(InvalidKey):
        taproot_tweak_pubkey(not_x, None)


@pytest.mark.parametrize("secret", [bytes(32), N.to_bytes(32, "big"), bytes(31)])
def test_tweak_seckey_rejects_bad_secrets(secret: bytes) -> None:
    with pytest.raises(InvalidKey):
        taproot_tweak_seckey(secret, None)


@pytest.mark.parametrize(
    "obj",
    [None, 5, [], [{"script": "51", "leafVersion": 192}], {"script": "zz", "leafVersion": 192},
     {"script": "51", "leafVersion": 193}, {"script": "51", "leafVersion": 256}, {"leafVersion": 192},
     {"script": "51", "leafVersion": 192, "id": "x"}, [{"script": "51"}, {"script": "51"}, {"script": "51"}]],
)  # fmt: skip
def test_tree_from_json_rejects(obj: object) -> None:
    with pytest.raises(TaprootError):
        tree_from_json(obj)


def test_tree_from_json_depth_limit() -> None:
    leaf = {"script": "51", "leafVersion": 192}
    deep: object = leaf
    for _ in range(129):
        deep = [deep, leaf]
    with pytest.raises(TaprootError):
        tree_from_json(deep)


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.one_of(st.none(), st.binary(min_size=32, max_size=32)))
def test_fuzz_tweak_agreement(secret: bytes, root: bytes | None) -> None:
    try:
        tweaked = taproot_tweak_seckey(secret, root)
    except InvalidKey:
        return
    out, _parity = taproot_tweak_pubkey(xonly_pubkey_from_privkey(secret), root)
    assert xonly_pubkey_from_privkey(tweaked) == out


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.binary(max_size=40), st.binary(max_size=40))
def test_fuzz_verify_commitment_never_raises(cb: bytes, program: bytes, leaf_hash: bytes) -> None:
    assert verify_taproot_commitment(cb, program, leaf_hash) in (True, False)
