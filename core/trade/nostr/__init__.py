"""The Nostr layer of the trade panel: events (NIP-01), keys, NIP-44 v2 encryption, NIP-59 gift wraps,
NIP-69 order events, an asyncio relay client and pool with a persisted outbox, and a local relay process
for tests and the sandbox.

Why our own small layer instead of a library: the nostr-sdk Python bindings run their own Rust (tokio)
runtime with its threads, call back into Python through a process-global asyncio loop (which does not
fit several loops in a test process nor our qasync loop well), keep their own database, and are a large
native wheel; `aionostr` (installed with nostr-relay) has no NIP-44 v2 or NIP-59, matches relay OK
answers by arrival order, swallows errors with bare excepts and synchronises with sleeps. The protocol
we need is small, so it is written here on coincurve (BIP340, ECDH point), `cryptography` (ChaCha20,
HKDF) and `websockets`, with strict decoders that raise only core.trade.errors types.
"""
