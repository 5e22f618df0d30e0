"""Full block validation: block checks, the UTXO set with undo data, the active chain and the BIP158 index."""
