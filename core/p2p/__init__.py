"""Bitcoin P2P networking: wire framing (v1), the BIP324 encrypted transport (v2), and messages."""
