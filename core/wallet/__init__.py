"""The wallet: BIP39 mnemonics, BIP32 keys, descriptors, PSBTs and coin selection (no Qt)."""
