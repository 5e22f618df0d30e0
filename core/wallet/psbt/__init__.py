"""Partially signed bitcoin transactions: BIP174 version 0 with the BIP371 taproot fields.

`parse_psbt` / `psbt_from_base64` decode (raising only PsbtError), `serialize_psbt` /
`psbt_to_base64` encode; the roles are in `roles` (create, update, combine, finalize, extract)
and `signer` (sign).
"""

from core.wallet.psbt.codec import parse_psbt, psbt_from_base64, psbt_to_base64, serialize_psbt
from core.wallet.psbt.roles import (
    combine_psbts,
    create_psbt,
    extract_transaction,
    finalize_psbt,
    update_from_provider,
    update_input,
    update_output,
)
from core.wallet.psbt.signer import sign_psbt
from core.wallet.psbt.types import KeyOrigin, Psbt, PsbtInput, PsbtOutput, TapKeyOrigin, TapTreeLeaf

__all__ = [
    "KeyOrigin",
    "Psbt",
    "PsbtInput",
    "PsbtOutput",
    "TapKeyOrigin",
    "TapTreeLeaf",
    "combine_psbts",
    "create_psbt",
    "extract_transaction",
    "finalize_psbt",
    "parse_psbt",
    "psbt_from_base64",
    "psbt_to_base64",
    "serialize_psbt",
    "sign_psbt",
    "update_from_provider",
    "update_input",
    "update_output",
]
