"""Peerwallet core: consensus, script, crypto, P2P, chain, wallet and trade logic. Never imports Qt."""
