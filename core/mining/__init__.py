"""Block assembly: coinbase transactions, witness commitments and block templates."""
