"""The light node: peers, header and filter sync, mempool view, fee estimates and broadcast."""
