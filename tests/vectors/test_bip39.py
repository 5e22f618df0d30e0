"""BIP39 vectors (python-mnemonic's vectors.json, passphrase "TREZOR"), read in place; one test
case per entry. Only the English list ships with Peerwallet, so for other languages the test checks
what is language-independent: the seed from the (NFKD-normalised) sentence and its BIP32 master key."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from core.wallet.bip32 import ExtendedKey
from core.wallet.bip39 import entropy_to_mnemonic, mnemonic_to_entropy, mnemonic_to_seed, validate_mnemonic

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
_DATA = json.loads((VECTORS / "bip39_trezor_vectors.json").read_text(encoding="utf-8"))
PASSPHRASE = "TREZOR"
CASES = [(lang, *entry) for lang, entries in _DATA.items() for entry in entries]
IDS = [f"{lang}-{i}" for lang, entries in _DATA.items() for i in range(len(entries))]


@pytest.mark.parametrize(("lang", "entropy", "mnemonic", "seed", "xprv"), CASES, ids=IDS)
def test_bip39_vector(lang: str, entropy: str, mnemonic: str, seed: str, xprv: str) -> None:
    if lang == "english":
        assert entropy_to_mnemonic(bytes.fromhex(entropy)) == mnemonic
        validate_mnemonic(mnemonic)
        assert mnemonic_to_entropy(mnemonic).hex() == entropy
        derived = mnemonic_to_seed(mnemonic, PASSPHRASE)
    else:
        derived = mnemonic_to_seed(mnemonic, PASSPHRASE, check=False)
    assert derived.hex() == seed
    assert ExtendedKey.from_seed(derived).to_string() == xprv


def test_packaged_wordlist_matches_reference() -> None:
    # Read through importlib.resources, as the installed product does.
    packaged = resources.files("core.wallet").joinpath("data/bip39_english.txt").read_bytes()
    assert packaged == (VECTORS / "bip39_english.txt").read_bytes()
