"""The sandbox's `--control` line commands (fund, generate, waitheight, inmempool, waitmempool) on an in-process sandbox node;
the CLI scenarios (test_cli_wallet) drive the same commands through a real process's stdin."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.consensus.hashes import Txid
from core.consensus.network import SANDBOX
from core.sandbox.control import handle_command
from tests.functional.sandbox_support import in_mempool, sandbox
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow
ADDRESS = "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"


def test_fund_generate_waitheight_and_errors(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path, "s", initial_blocks=101) as node:
            answer = await handle_command(node, f"fund {ADDRESS} 50000\n", SANDBOX)
            assert answer.startswith("funded ")
            funding = Txid.from_hex(answer.split()[1])
            assert in_mempool(node, bytes(funding))
            assert await handle_command(node, f"inmempool {funding}", SANDBOX) == f"inmempool {funding} yes"
            assert await handle_command(node, f"waitmempool {funding} 5", SANDBOX) == f"mempool {funding}"
            answer = await handle_command(node, "generate 2", SANDBOX)
            assert answer == f"generated 103 {node.tip.hash}"
            assert not in_mempool(node, bytes(funding))  # mined
            assert await handle_command(node, f"inmempool {funding}", SANDBOX) == f"inmempool {funding} no"
            assert await handle_command(node, f"waitmempool {funding} 0.05", SANDBOX) == (
                f"error: {funding} not in the mempool within 0.05 s"
            )
            assert await handle_command(node, "waitheight 103", SANDBOX) == "height 103"
            assert await handle_command(node, "waitheight 104 0.05", SANDBOX) == (
                "error: height 104 not reached within 0.05 s (tip 103)"
            )
            for line, needle in (
                ("", "empty command"),
                ("mine 1", "unknown command 'mine 1'"),
                ("generate 0", "N must be a whole number from 1"),
                ("generate x", "N must be"),
                (f"fund {ADDRESS} 1.5", "SATS must be"),
                (f"fund {ADDRESS}", "unknown command"),
                ("fund bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu 1000", "wrong network"),
                (f"fund {ADDRESS} 2100000000000000", "error: fund:"),
                ("waitheight 5 soon", "error: waitheight:"),
                ("waitheight 5 9999", "SECONDS must be from 0 to 3600"),
                ("inmempool xyz", "TXID must be 64 hex digits"),
                ("inmempool", "unknown command"),
                ("waitmempool " + "00" * 32 + " -1", "SECONDS must be from 0 to 3600"),
            ):
                answer = await handle_command(node, line, SANDBOX)
                assert answer.startswith("error: ") and needle in answer and "\n" not in answer, (line, answer)
            assert node.tip.height == 103  # no failed command changed anything

    run(scenario)
