"""Consensus data types: hashes, serialization, transactions, blocks. Pure, no I/O."""
