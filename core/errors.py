"""Root of every error the core raises; each package derives its own tree from it."""


class PeerwalletError(Exception):
    """Base class of all errors raised by the core."""
