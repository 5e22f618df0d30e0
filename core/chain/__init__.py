"""Chain parameters, proof-of-work rules and the header tree (headers-first sync core)."""
