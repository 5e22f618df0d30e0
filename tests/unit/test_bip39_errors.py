"""BIP39 error messages name what is wrong; generation and normalisation behave as BIP39 says."""

from __future__ import annotations

import pytest

from core.wallet.bip39 import (
    entropy_to_mnemonic,
    generate_mnemonic,
    mnemonic_to_entropy,
    mnemonic_to_seed,
    validate_mnemonic,
)
from core.wallet.errors import MnemonicError, WalletError

ABOUT = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"


def test_unknown_word_is_named_with_suggestion() -> None:
    words = ABOUT.split()
    words[6] = "abandn"
    with pytest.raises(MnemonicError, match=r"word 7 'abandn' is not in the BIP39 English list; did you mean 'abandon'\?"):
        validate_mnemonic(" ".join(words))


def test_unknown_word_without_close_match() -> None:
    with pytest.raises(MnemonicError, match=r"word 12 'qqqqqqq' is not in the BIP39 English list$"):
        validate_mnemonic(ABOUT.replace("about", "qqqqqqq"))


def test_checksum_failure() -> None:
    with pytest.raises(MnemonicError, match="checksum"):
        validate_mnemonic(ABOUT.replace("about", "abandon"))


@pytest.mark.parametrize("count", [0, 1, 11, 13, 25])
def test_wrong_word_count(count: int) -> None:
    with pytest.raises(MnemonicError, match=f"not {count}"):
        validate_mnemonic(" ".join(["abandon"] * count))


def test_case_and_whitespace_do_not_change_the_seed() -> None:
    messy = "  " + ABOUT.upper().replace(" ", " \t ") + "\n"
    assert mnemonic_to_seed(messy) == mnemonic_to_seed(ABOUT)


def test_passphrase_is_nfkd_normalised() -> None:
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    assert mnemonic_to_seed(ABOUT, composed) == mnemonic_to_seed(ABOUT, decomposed)
    assert mnemonic_to_seed(ABOUT, composed) != mnemonic_to_seed(ABOUT)


@pytest.mark.parametrize("bits", [128, 160, 192, 224, 256])
def test_generate_round_trips(bits: int) -> None:
    words = generate_mnemonic(bits)
    assert len(words.split()) == bits // 32 * 3
    assert len(mnemonic_to_entropy(words)) == bits // 8
    entropy = bytes(range(bits // 8))
    assert generate_mnemonic(bits, entropy) == entropy_to_mnemonic(entropy)


@pytest.mark.parametrize(("bits", "entropy"), [(100, None), (128, bytes(32)), (256, bytes(15))])
def test_generate_rejects_bad_arguments(bits: int, entropy: bytes | None) -> None:
    with pytest.raises(MnemonicError):
        generate_mnemonic(bits, entropy)


def test_non_text_rejected() -> None:
    with pytest.raises(WalletError):
        validate_mnemonic(b"abandon")  # type: ignore[arg-type]
    with pytest.raises(WalletError):
        mnemonic_to_seed(ABOUT, b"x")  # type: ignore[arg-type]
