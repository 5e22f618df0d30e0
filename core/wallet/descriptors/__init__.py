"""Output script descriptors (BIP380-387, BIP389 multipath, and the Miniscript fragment
`and_v(v:pk(KEY),older(N))` used by the trade escrow).

Hand-written: no library in our dependency set parses descriptors. Modules: checksum (BIP380
checksum), keys (key expressions), nodes (script expressions), parser (text → nodes),
descriptor (the `Descriptor` users hold).
"""

from core.wallet.descriptors.checksum import add_checksum, descriptor_checksum, verify_checksum
from core.wallet.descriptors.descriptor import Descriptor, parse_descriptor

__all__ = ["Descriptor", "add_checksum", "descriptor_checksum", "parse_descriptor", "verify_checksum"]
