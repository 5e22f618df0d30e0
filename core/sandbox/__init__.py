"""The sandbox network: a local, full-validating regtest node with a miner, a faucet and traffic."""
