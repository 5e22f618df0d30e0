"""PyInstaller's entry script: the bundle's `peerwallet` executable runs the installed command's main.

`peerwallet --nostr-relay ARGS...` runs nostr-relay's CLI with ARGS instead: a frozen program has no
`python -c`, so this is how core.trade.nostr.relay_process.LocalRelay starts the sandbox's relay from
the bundle (the flag is its RELAY_FLAG; spelled out here so `--version` stays quick: importing the
core module would load websockets). Only the relay branch imports nostr-relay. Likewise
`peerwallet --sandbox-node ARGS...` runs the sandbox node's CLI (core.sandbox.process starts the app's
embedded sandbox that way, in its own process).
"""

import sys
from collections.abc import Sequence

RELAY_FLAG = "--nostr-relay"
SANDBOX_FLAG = "--sandbox-node"  # core.sandbox.process.SANDBOX_FLAG


def dispatch(argv: Sequence[str]) -> int:
    """Run the relay's CLI when argv[1] is RELAY_FLAG, else the app's command line."""
    if len(argv) > 1 and argv[1] == SANDBOX_FLAG:
        from core.sandbox.cli import main as sandbox_main

        return sandbox_main(list(argv[2:]))
    if len(argv) > 1 and argv[1] == RELAY_FLAG:
        from nostr_relay.cli import main as relay_main

        # click exits through SystemExit on its own; the return covers standalone_mode=False callers.
        return int(relay_main(args=list(argv[2:]), prog_name="nostr-relay") or 0)
    from app.__main__ import main

    return main(list(argv[1:]))


if __name__ == "__main__":
    sys.exit(dispatch(sys.argv))
