"""Garbage collection that does not stall the window.

Python's full (generation-2) collection walks every object the collector tracks, on the thread that
triggered it: here the window's loop. After start the app holds ~100,000 such objects (modules, classes,
functions, the widgets' wrappers) and then the core's state; each full collection held the loop for ~40 ms
on the benchmark machine, several times over on a loaded one, while the loop's budget is 16 ms.
`gc.freeze()` moves every object alive at that moment into a permanent generation that collections
skip. The app does it twice, when nearly everything alive stays alive until exit: once the window is
built and once the core has started. The price is that a garbage cycle alive at those two moments is
never freed (a few kB at most).
"""

from __future__ import annotations

import gc


def tenure() -> None:
    """Exempt every object alive now from future garbage collections (see the module docstring)."""
    gc.freeze()
