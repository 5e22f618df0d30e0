"""Direct buyer-seller trades with a non-custodial on-chain escrow (no Qt here).

Escrow scripts and keys (escrow), the deposit both traders fund (deposit), payouts and their checks
(payout), the Nostr transport (nostr/) and the protocol engine.
"""
