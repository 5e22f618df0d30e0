"""A parsed output script descriptor: print it, derive its output scripts and addresses."""

from __future__ import annotations

from dataclasses import dataclass

from core.consensus.network import Network
from core.crypto.errors import CryptoError
from core.script.address import script_to_address
from core.wallet.descriptors.checksum import add_checksum, split_checksum
from core.wallet.descriptors.keys import HARDENED, KeyContext, KeyExpr
from core.wallet.descriptors.nodes import Expansion, Node, expand
from core.wallet.descriptors.parser import parse_script
from core.wallet.errors import DescriptorError, WalletError

#: Longest descriptor text accepted; bounds parsing work on untrusted input.
MAX_DESCRIPTOR_LENGTH = 100_000


@dataclass(frozen=True, slots=True)
class Descriptor:
    """An output script descriptor. `network` is set when parsing was for a given network."""

    root: Node
    network: Network | None = None

    @classmethod
    def parse(cls, text: str, network: Network | None = None, require_checksum: bool = False) -> Descriptor:
        """Parse `SCRIPT` or `SCRIPT#CHECKSUM`. With `network`, addr() and keys must belong to it.
        Raises DescriptorError (and only WalletError subclasses) saying what is wrong."""
        if not isinstance(text, str):
            raise DescriptorError("descriptor must be text")
        if len(text) > MAX_DESCRIPTOR_LENGTH:
            raise DescriptorError(f"descriptor longer than {MAX_DESCRIPTOR_LENGTH} characters")
        body, _ = split_checksum(text, require=require_checksum)
        if not body:
            raise DescriptorError("empty descriptor")
        try:
            root = parse_script(body, KeyContext.TOP, network)
        except RecursionError:
            raise DescriptorError("descriptor nested too deeply") from None
        desc = cls(root, network)
        counts = {k.multipath_count for k in desc.key_exprs()} - {1}
        if len(counts) > 1:
            raise DescriptorError("multipath key expressions must all have the same number of alternatives")
        return desc

    def key_exprs(self) -> tuple[KeyExpr, ...]:
        """Every key expression, in order of appearance."""
        return self.root.keys()

    def is_range(self) -> bool:
        """True if any key ends in a wildcard, so scripts depend on an index."""
        return any(k.is_range() for k in self.key_exprs())

    @property
    def multipath_count(self) -> int:
        """Number of BIP389 alternatives (1 without `<a;b>` steps)."""
        return max((k.multipath_count for k in self.key_exprs()), default=1)

    def has_private_keys(self) -> bool:
        """True if any key was given as WIF or xprv."""
        return any(k.has_private for k in self.key_exprs())

    def to_string(self, private: bool = False) -> str:
        """Canonical text with checksum; private keys only when `private` (else their public forms)."""
        return add_checksum(self.root.to_string(private))

    def __str__(self) -> str:
        return self.to_string(private=False)

    def __repr__(self) -> str:
        return f"Descriptor({self.to_string(private=False)!r})"

    def _index(self, index: int | None) -> int | None:
        if not self.is_range():
            return None
        if index is None:
            raise DescriptorError("this descriptor is ranged: give a derivation index")
        if not isinstance(index, int) or not 0 <= index < HARDENED:
            raise DescriptorError(f"derivation index {index} out of range [0, 2^31)")
        return index

    def expand(self, index: int | None = None, multipath: int = 0) -> Expansion:
        """Output script, redeem/witness script, taproot data and derived keys at `index`."""
        if not 0 <= multipath < self.multipath_count:
            raise DescriptorError(f"multipath alternative {multipath} out of range")
        try:
            return expand(self.root, self._index(index), multipath)
        except (CryptoError, WalletError) as err:
            if isinstance(err, DescriptorError):
                raise
            raise DescriptorError(f"cannot derive scripts at index {index}: {err}") from None

    def script_pubkeys(self, index: int | None = None, multipath: int = 0) -> list[bytes]:
        """The output scripts at `index` (one for every supported descriptor type)."""
        return [self.expand(index, multipath).script_pubkey]

    def script_pubkey(self, index: int | None = None, multipath: int = 0) -> bytes:
        """The output script at `index`."""
        return self.expand(index, multipath).script_pubkey

    def script_pubkey_range(self, start: int, end: int, multipath: int = 0) -> list[bytes]:
        """Output scripts for indexes start..end-1 (a non-ranged descriptor repeats its one script)."""
        if not 0 <= start <= end <= HARDENED:
            raise DescriptorError(f"invalid index range [{start}, {end})")
        return [self.script_pubkey(i, multipath) for i in range(start, end)]

    def address(self, index: int | None, network: Network, multipath: int = 0) -> str:
        """The address at `index` on `network`. Raises DescriptorError for scripts without one."""
        spk = self.script_pubkey(index, multipath)
        addr = script_to_address(spk, network)
        if addr is None:
            raise DescriptorError("this descriptor's output script has no address form")
        return addr


def parse_descriptor(text: str, network: Network | None = None, require_checksum: bool = False) -> Descriptor:
    """Shorthand for Descriptor.parse."""
    return Descriptor.parse(text, network, require_checksum)
