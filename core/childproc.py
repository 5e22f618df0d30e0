"""Helpers for the child processes the app starts (the sandbox node, the sandbox's Nostr relay)."""

from __future__ import annotations

import signal
import sys


def die_with_parent() -> None:
    """In the child before exec (Linux): ask for SIGTERM when the parent dies, so a child never outlives
    an app or test that crashed or was killed before it could stop it. Elsewhere: nothing (the sandbox
    node also stops at the end of its stdin, which a dead parent closes)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
