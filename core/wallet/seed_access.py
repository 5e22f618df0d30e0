"""Access to a wallet's encrypted seed record: decrypting it to sign, to check a password, to show the words.

The record (name "seed") holds the BIP39 words and passphrase as JSON, sealed by
core.wallet.storage.secrets with the wallet id in the associated data. Reading the envelope touches the
database (do it on the wallet's thread); opening it runs scrypt and touches nothing else, so it may run in a
worker thread. What comes out is wrapped in `Secret`, which never prints its bytes.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from core.wallet.errors import StorageError, WalletError
from core.wallet.storage.secrets import Secret, decrypt_secret, record_aad

if TYPE_CHECKING:
    from core.wallet.storage.db import WalletDB
    from core.wallet.wallet import WalletInfo

SEED_RECORD = "seed"


class SeedAccess:
    """Seed operations of `Wallet` (mixed in; uses its `db` and `info`)."""

    db: WalletDB
    info: WalletInfo

    @staticmethod
    def _decode_seed(secret: bytes) -> tuple[str, str]:
        try:
            data = json.loads(bytes(secret).decode())
            return str(data["mnemonic"]), str(data.get("passphrase", ""))
        except (ValueError, KeyError, TypeError):
            raise StorageError("the stored seed record is damaged") from None

    def _seed_envelope(self) -> bytes:
        """The encrypted seed record (read on the wallet's thread; decrypt it anywhere)."""
        if self.info.watch_only:
            raise WalletError("this wallet is watch-only: it has no keys")
        return self.db.get_secret(SEED_RECORD)

    def _open_seed(self, envelope: bytes, password: str | None) -> tuple[Secret, Secret]:
        """(mnemonic, passphrase) from the envelope; WrongPassword if the password is wrong. Blocking
        (scrypt) and thread-safe: it does not touch the database."""
        secret = decrypt_secret(envelope, password, record_aad(self.info.wallet_id, SEED_RECORD))
        words, passphrase = self._decode_seed(secret)
        return Secret(words.encode()), Secret(passphrase.encode())

    def check_password(self, password: str | None) -> None:
        """Raise WrongPassword unless `password` opens the seed record. Blocking (scrypt)."""
        self._open_seed(self._seed_envelope(), password)

    async def check_password_async(self, password: str | None) -> None:
        """`check_password` with the key derivation off the loop."""
        await asyncio.to_thread(self._open_seed, self._seed_envelope(), password)

    async def mnemonic(self, password: str | None) -> Secret:
        """The BIP39 words (UTF-8 bytes) for a backup display; decrypted off the loop."""
        words, _ = await asyncio.to_thread(self._open_seed, self._seed_envelope(), password)
        return words

