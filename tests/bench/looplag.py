"""Event-loop lag probe for benchmarks: a 5 ms ticker records how late each tick runs.

The GUI and the node share one loop, so any step that holds the loop shows up here as lag; the
issues' goals are max ≤ 50 ms and p99 ≤ 16 ms while syncing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field


@dataclass
class LagProbe:
    """Start with `async with LagProbe() as probe:`; read `probe.max_ms` / `probe.p99_ms` after."""

    interval: float = 0.005
    lags_ms: list[float] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        expected = time.perf_counter() + self.interval
        while True:
            await asyncio.sleep(self.interval)
            now = time.perf_counter()
            self.lags_ms.append(max(0.0, (now - expected) * 1000))
            expected = now + self.interval

    async def __aenter__(self) -> LagProbe:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    @property
    def max_ms(self) -> float:
        return max(self.lags_ms, default=0.0)

    @property
    def p99_ms(self) -> float:
        if not self.lags_ms:
            return 0.0
        ordered = sorted(self.lags_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    def metrics(self, label: str) -> list[dict]:
        """The two lag figures as benchmark rows with the issues' goals."""
        return [
            {"metric": f"{label}: event-loop lag max", "value": round(self.max_ms, 2), "unit": "ms",
             "goal": "<= 50", "baseline": None, "ratio": None},
            {"metric": f"{label}: event-loop lag p99", "value": round(self.p99_ms, 2), "unit": "ms",
             "goal": "<= 16", "baseline": None, "ratio": None},
        ]
