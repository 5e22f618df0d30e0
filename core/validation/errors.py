"""Errors of the validation package.

Rule violations derive from `core.consensus.errors.ValidationError` and carry Bitcoin Core's reject
reason string in `reason`. Core distinguishes a *mutated* block (the transactions we got may not be
the ones the header commits to: bad merkle root, witness malleation) from a *consensus* failure (the
block the header commits to is invalid): only the latter may mark the header as permanently invalid,
or a peer could get a good block rejected by relaying a malleated copy of it.
"""

from __future__ import annotations

from core.consensus.errors import ConsensusError, ValidationError


class BlockValidationError(ValidationError):
    """A block breaks a consensus rule; `reason` is Core's reject string."""

    #: True for Core's BLOCK_MUTATED results: the header itself may still be valid.
    mutated: bool = False


class BlockMutatedError(BlockValidationError):
    """The block data does not match its header (Core's BLOCK_MUTATED): never marks the header invalid."""

    mutated = True


class BlockConsensusError(BlockValidationError):
    """The block committed to by the header is invalid (Core's BLOCK_CONSENSUS)."""


class TxInputsError(BlockConsensusError):
    """A transaction's inputs are missing, immature or out of range (Core's CheckTxInputs)."""


class BlockScriptError(BlockConsensusError):
    """An input script failed; `script_error` is the interpreter's ScriptError."""

    def __init__(self, reason: str, detail: str = "", script_error: object = None) -> None:
        super().__init__(reason, detail)
        self.script_error = script_error


class ChainStateError(ConsensusError):
    """The chain state or its database is inconsistent (missing undo data, unknown tip); not a rule violation."""


class UnknownBlockError(ChainStateError):
    """A block whose header the header tree does not know (accept the header first)."""
