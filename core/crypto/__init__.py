"""Keys, signatures, hashes and address encodings (secp256k1 via coincurve; base58, bech32, WIF)."""
