"""Errors of the wallet package: one tree rooted in WalletError."""

from core.errors import PeerwalletError


class WalletError(PeerwalletError):
    """Base of wallet-package errors."""


class DescriptorError(WalletError):
    """An output script descriptor (BIP380-386) that cannot be parsed or used; the message says why."""


class StorageError(WalletError):
    """The wallet file or an encrypted record in it cannot be read or written; the message says why."""


class WrongPassword(StorageError):
    """A secret failed authentication: the password is wrong or the record was altered."""


class MigrationError(StorageError):
    """The wallet file's schema cannot be brought to the version this code knows."""


class MnemonicError(WalletError):
    """A BIP39 mnemonic that is malformed: wrong length, an unknown word (named) or a bad checksum."""


class Bip32Error(WalletError):
    """A BIP32 extended key or derivation that is invalid: bad encoding, version, key or path, or an
    invalid child (the caller may skip to the next index, as BIP32 says)."""


class CoinSelectionError(WalletError):
    """Coin selection could not build a valid input set (weight limit, dust output, bad request)."""


class InsufficientFunds(CoinSelectionError):
    """The spendable coins do not cover the outputs plus fee; `shortfall` is the missing amount in sats."""

    def __init__(self, message: str, shortfall: int) -> None:
        super().__init__(message)
        self.shortfall = shortfall


class PsbtError(WalletError):
    """A PSBT (BIP174/BIP371) that is malformed or cannot be processed by the role asked of it;
    the message says which map, key and rule."""


class Bip21Error(WalletError):
    """A `bitcoin:` payment URI (BIP21) that is malformed or cannot be built; the message names the
    parameter and the problem."""


class TxBuilderError(WalletError):
    """A payment, fee bump or CPFP child that cannot be built as asked (the message says why)."""


class DustOutputError(TxBuilderError):
    """An output would be below the dust threshold of its script; `index`, `amount`, `threshold` in sats."""

    def __init__(self, message: str, index: int, amount: int, threshold: int) -> None:
        super().__init__(message)
        self.index = index
        self.amount = amount
        self.threshold = threshold
