"""BIP39 mnemonic sentences (English wordlist): entropy ⇄ words, validation and seed derivation.

Written here because none of our dependencies implements BIP39; it is small. The hashing is the
standard library's (SHA256, PBKDF2-HMAC-SHA512). Only the English list is shipped (package data
core/wallet/data/bip39_english.txt); seeds can still be derived from any-language mnemonics with
`mnemonic_to_seed(..., check=False)`, since BIP39 seed derivation does not depend on the list.
"""

from __future__ import annotations

import difflib
import hashlib
import secrets
import unicodedata
from functools import cache
from importlib import resources

from core.wallet.errors import MnemonicError

#: Entropy sizes BIP39 allows, in bits (12, 15, 18, 21 or 24 words).
VALID_STRENGTHS = (128, 160, 192, 224, 256)
#: Word counts BIP39 allows.
VALID_WORD_COUNTS = (12, 15, 18, 21, 24)
PBKDF2_ROUNDS = 2048
_WORDLIST_SIZE = 2048


@cache
def wordlist() -> tuple[str, ...]:
    """The 2048 words of the BIP39 English list, in order (loaded once from package data)."""
    text = resources.files("core.wallet").joinpath("data/bip39_english.txt").read_text(encoding="utf-8")
    words = tuple(text.split())
    if len(words) != _WORDLIST_SIZE:  # a broken install; fail loudly rather than derive wrong keys
        raise MnemonicError(f"the packaged BIP39 wordlist has {len(words)} words, expected 2048")
    return words


@cache
def _word_index() -> dict[str, int]:
    return {w: i for i, w in enumerate(wordlist())}


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKD", text)


def _split_words(words: str) -> list[str]:
    if not isinstance(words, str):
        raise MnemonicError("a mnemonic must be text")
    # NFKD turns the ideographic space some wallets use into a plain one; lower-case for typing ease.
    return _normalize(words).lower().split()


def entropy_to_mnemonic(entropy: bytes) -> str:
    """The English mnemonic of `entropy` (16, 20, 24, 28 or 32 bytes): entropy bits followed by
    the first len/32 bits of SHA256(entropy), in 11-bit word indices."""
    entropy = bytes(entropy)
    bits = len(entropy) * 8
    if bits not in VALID_STRENGTHS:
        raise MnemonicError(f"entropy must be 16, 20, 24, 28 or 32 bytes, not {len(entropy)}")
    cs_bits = bits // 32
    checksum = hashlib.sha256(entropy).digest()[0] >> (8 - cs_bits)
    n = (int.from_bytes(entropy, "big") << cs_bits) | checksum
    count = (bits + cs_bits) // 11
    words = wordlist()
    return " ".join(words[(n >> (11 * (count - 1 - i))) & 0x7FF] for i in range(count))


def generate_mnemonic(strength_bits: int = 128, entropy: bytes | None = None) -> str:
    """A new English mnemonic of `strength_bits` of entropy from the OS CSPRNG, or of the given
    `entropy` (whose length then must match `strength_bits`)."""
    if strength_bits not in VALID_STRENGTHS:
        raise MnemonicError(f"strength must be one of {VALID_STRENGTHS} bits, not {strength_bits}")
    if entropy is None:
        entropy = secrets.token_bytes(strength_bits // 8)
    elif len(entropy) * 8 != strength_bits:
        raise MnemonicError(f"{len(entropy)} bytes of entropy given for a {strength_bits}-bit mnemonic")
    return entropy_to_mnemonic(entropy)


def _unknown_word_message(position: int, word: str) -> str:
    msg = f"word {position} {word!r} is not in the BIP39 English list"
    close = difflib.get_close_matches(word, wordlist(), n=1, cutoff=0.6)
    if not close:  # BIP39 words are unique in their first 4 letters: try the prefix too
        close = [w for w in wordlist() if len(word) >= 4 and w.startswith(word[:4])][:1]
    return f"{msg}; did you mean {close[0]!r}?" if close else msg


def mnemonic_to_entropy(words: str) -> bytes:
    """The entropy encoded by an English mnemonic. Raises MnemonicError naming the first unknown
    word (with a close match), a wrong word count, or a checksum mismatch."""
    parts = _split_words(words)
    if len(parts) not in VALID_WORD_COUNTS:
        raise MnemonicError(f"a mnemonic has 12, 15, 18, 21 or 24 words, not {len(parts)}")
    index = _word_index()
    n = 0
    for pos, word in enumerate(parts, start=1):
        i = index.get(word)
        if i is None:
            raise MnemonicError(_unknown_word_message(pos, word))
        n = (n << 11) | i
    total = len(parts) * 11
    cs_bits = total // 33
    ent_bits = total - cs_bits
    entropy = (n >> cs_bits).to_bytes(ent_bits // 8, "big")
    expected = hashlib.sha256(entropy).digest()[0] >> (8 - cs_bits)
    if n & ((1 << cs_bits) - 1) != expected:
        raise MnemonicError("checksum mismatch: the words are all valid but one is wrong or misplaced")
    return entropy


def validate_mnemonic(words: str) -> None:
    """Check an English mnemonic; raise MnemonicError explaining what is wrong."""
    mnemonic_to_entropy(words)


def mnemonic_to_seed(words: str, passphrase: str = "", *, check: bool = True) -> bytes:
    """The 64-byte BIP39 seed: PBKDF2-HMAC-SHA512(NFKD(mnemonic), "mnemonic" + NFKD(passphrase),
    2048 rounds). With `check` (default) the mnemonic must be a valid English one; `check=False`
    derives from any text, e.g. mnemonics in other languages' lists."""
    if not isinstance(passphrase, str):
        raise MnemonicError("a passphrase must be text")
    if check:
        validate_mnemonic(words)
        # Canonical form: single spaces, lower case, so stray whitespace cannot change the seed.
        sentence = " ".join(_split_words(words))
    else:
        if not isinstance(words, str):
            raise MnemonicError("a mnemonic must be text")
        sentence = _normalize(words)
    try:
        password = sentence.encode("utf-8")
        salt = ("mnemonic" + _normalize(passphrase)).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot be UTF-8: no seed derivation is defined
        raise MnemonicError("mnemonic or passphrase contains characters that are not valid Unicode") from None
    return hashlib.pbkdf2_hmac("sha512", password, salt, PBKDF2_ROUNDS)
