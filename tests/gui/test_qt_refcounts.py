"""The Qt binding must keep Python's reference counts right.

PySide6 6.12.0 returns None from void methods without taking a reference to it. On Python < 3.12, where None
is not immortal, every such call (qasync makes one per event-loop callback: `killTimer`) takes one reference
from None for good; the app lost ~60 a second while idle on the sandbox and aborted with "Fatal Python error:
none_dealloc: deallocating None" after a few minutes. pyproject.toml keeps PySide6 below 6.12 for that.
"""

from __future__ import annotations

import asyncio
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def test_void_qt_calls_leave_none_its_references(qapp: QApplication) -> None:
    timer = QTimer()
    before = sys.getrefcount(None)
    for _ in range(2000):
        timer.stop()
        qapp.processEvents()
    # Other code may hold or drop a few references meanwhile; a leak shows as ~4,000 fewer.
    assert sys.getrefcount(None) >= before - 100


def test_a_qasync_loop_keeps_none_alive_across_callbacks(loop: asyncio.AbstractEventLoop) -> None:
    async def spin() -> int:
        before = sys.getrefcount(None)
        for _ in range(2000):
            await asyncio.sleep(0)
        return before - sys.getrefcount(None)

    lost = loop.run_until_complete(spin())
    assert lost < 100, f"{lost} references to None lost over 2,000 loop callbacks"
