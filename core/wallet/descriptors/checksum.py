"""BIP380 descriptor checksums: an 8-character BCH code over the descriptor text.

Written by hand because no library in our dependency set implements it. The polymod follows
BIP380's specification (Core's DescriptorChecksum in script/descriptor.cpp).
"""

from __future__ import annotations

from core.wallet.errors import DescriptorError

#: Characters allowed in descriptors, in 3 groups of 32 (the group order matters for error detection).
INPUT_CHARSET = "0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#\"\\ "
#: The checksum's alphabet (bech32's).
CHECKSUM_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
CHECKSUM_LENGTH = 8

_GENERATOR = (0xF5DEE51989, 0xA9FDCA3312, 0x1BAB10E32D, 0x3706B1677A, 0x644D626FFD)
_INPUT_INDEX = {c: i for i, c in enumerate(INPUT_CHARSET)}
_CHECKSUM_INDEX = {c: i for i, c in enumerate(CHECKSUM_CHARSET)}


def _polymod(symbols: list[int]) -> int:
    chk = 1
    for value in symbols:
        top = chk >> 35
        chk = ((chk & 0x7FFFFFFFF) << 5) ^ value
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GENERATOR[i]
    return chk


def _expand(text: str) -> list[int]:
    """Map characters to symbols: position within the group, plus one symbol per 3 group numbers."""
    symbols: list[int] = []
    groups: list[int] = []
    for pos, ch in enumerate(text):
        v = _INPUT_INDEX.get(ch)
        if v is None:
            raise DescriptorError(f"invalid character {ch!r} at position {pos} in descriptor")
        symbols.append(v & 31)
        groups.append(v >> 5)
        if len(groups) == 3:
            symbols.append(groups[0] * 9 + groups[1] * 3 + groups[2])
            groups = []
    if len(groups) == 1:
        symbols.append(groups[0])
    elif len(groups) == 2:
        symbols.append(groups[0] * 3 + groups[1])
    return symbols


def descriptor_checksum(desc: str) -> str:
    """The 8-character checksum of a descriptor (text without '#...'). Raises DescriptorError for a
    character outside INPUT_CHARSET."""
    if not isinstance(desc, str):
        raise DescriptorError("descriptor must be text")
    c = _polymod([*_expand(desc), 0, 0, 0, 0, 0, 0, 0, 0]) ^ 1
    return "".join(CHECKSUM_CHARSET[(c >> (5 * (7 - i))) & 31] for i in range(CHECKSUM_LENGTH))


def add_checksum(desc: str) -> str:
    """`desc#checksum`."""
    return f"{desc}#{descriptor_checksum(desc)}"


def split_checksum(text: str, require: bool = False) -> tuple[str, str | None]:
    """Split `SCRIPT#CHECKSUM` and verify the checksum if present (Core's CheckChecksum).

    Returns (script text, checksum or None). Raises DescriptorError saying what is wrong: a
    missing checksum when `require`, a '#' with a checksum of the wrong length, or a wrong
    checksum (naming the expected one)."""
    if not isinstance(text, str):
        raise DescriptorError("descriptor must be text")
    body, sep, checksum = text.partition("#")
    # Characters are checked first so "invalid character" wins over a checksum complaint.
    expected = descriptor_checksum(body)
    if not sep:
        if require:
            raise DescriptorError(f"missing checksum: append '#{expected}'")
        return body, None
    if "#" in checksum:
        raise DescriptorError("multiple '#' symbols in descriptor")
    if len(checksum) != CHECKSUM_LENGTH:
        raise DescriptorError(
            f"expected {CHECKSUM_LENGTH} character checksum after '#', not {len(checksum)} characters"
        )
    bad = [ch for ch in checksum if ch not in _CHECKSUM_INDEX]
    if bad:
        raise DescriptorError(f"checksum contains invalid character {bad[0]!r}; expected '#{expected}'")
    if checksum != expected:
        raise DescriptorError(f"wrong checksum '{checksum}', expected '{expected}'")
    return body, checksum


def verify_checksum(text: str) -> None:
    """Require `text` to end in a correct '#checksum'; raises DescriptorError otherwise."""
    split_checksum(text, require=True)
