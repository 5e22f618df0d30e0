"""Wallet storage: one SQLite file per wallet, with seeds and private keys encrypted at rest."""
