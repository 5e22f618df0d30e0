"""`peerwallet --selftest`: does this installation work, from the Qt libraries to the light node?

It starts the embedded sandbox in a temporary data directory (a fresh funded wallet, no block timer),
opens the main window, checks that the icon and the compiled filter kernel load, waits until the
light node is synced and the wallet holds the faucet's coins, waits until the sandbox's trading is
ready (its local Nostr relay is a child process: from the bundle, `peerwallet --nostr-relay`) and
publishes one event to that relay and reads it back, then shows every page of `app.pages.PAGES` in
turn and grabs it: each grab must be non-empty and more than one colour, and
nothing may raise meanwhile (loop exceptions, errors of the context's tasks, Python errors in Qt
slots, ERROR log records). It prints one line per step and exits 0, or ends with the reason (after
any traceback) and exits 1. Without a display the entry point sets `QT_QPA_PLATFORM=offscreen`
(unless the environment chose a platform), so it works on machines such as CI."""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO, TypeVar

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget

from app.bridge import CoreBridge
from app.context import FAUCET_AMOUNT, FAUCET_PAYMENTS, AppContext, SandboxOptions
from app.icon import app_icon
from app.main_window import MainWindow
from core.filters.kernel import get_kernel
from core.settings import Settings
from core.trade.nostr.event import Event
from core.trade.nostr.keys import NostrKey
from core.trade.nostr.outbox import OutboxStore
from core.trade.nostr.pool import RelayPool
from core.trade.session import SessionState

T = TypeVar("T")

#: Upper bound for each wait (sandbox start, sync, funds); a healthy run needs a few seconds.
STEP_TIMEOUT = 120.0
#: Time a freshly shown page gets to lay out and paint before it is grabbed.
PAGE_SETTLE = 0.2
#: A grab is sampled on a SAMPLE_GRID x SAMPLE_GRID grid when counting its colours.
SAMPLE_GRID = 48
#: Bound of the relay round trip (a loopback relay answers in milliseconds).
RELAY_TIMEOUT = 10.0
#: Trade states the sandbox's runtime settles in; STARTING (and OFF before it begins) are passing.
SETTLED_TRADE_STATES = frozenset(SessionState) - {SessionState.OFF, SessionState.STARTING}


class SelftestFailure(Exception):
    """One check failed; the message is the reason printed to the user."""


@dataclass(frozen=True)
class PageResult:
    """What one page's grab looked like."""

    key: str
    width: int
    height: int
    colours: int


def image_colours(image: QImage, grid: int = SAMPLE_GRID) -> int:
    """Distinct pixel values among a grid x grid sample of `image` (0 for an empty image)."""
    w, h = image.width(), image.height()
    if image.isNull() or w == 0 or h == 0:
        return 0
    seen = {
        image.pixel(min(w - 1, (i * w) // grid), min(h - 1, (j * h) // grid))
        for i in range(grid)
        for j in range(grid)
    }
    return len(seen)


def check_grab(key: str, page: QWidget) -> PageResult:
    """Grab `page`; SelftestFailure unless the image is non-empty and shows more than one colour."""
    image = page.grab().toImage()
    if image.isNull() or image.width() == 0 or image.height() == 0:
        raise SelftestFailure(f"page {key!r} rendered an empty image")
    colours = image_colours(image)
    if colours < 2:
        raise SelftestFailure(f"page {key!r} rendered a single flat colour (nothing drawn)")
    return PageResult(key, image.width(), image.height(), colours)


class _Problems(logging.Handler):
    """Collects everything that must not happen during the self-test."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.items: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"log {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({record.exc_info[1]!r})"
        self.items.append(text)

    def add(self, text: str) -> None:
        self.items.append(text)

    def loop_handler(self, _loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        self.add(f"event loop: {context.get('message', '')}" + (f" ({exc!r})" if exc is not None else ""))

    def excepthook(self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        self.add("Qt callback raised: " + "".join(traceback.format_exception_only(kind, exc)).strip())


async def _step(out: TextIO, what: str, action: Callable[[], Awaitable[T]], timeout: float = STEP_TIMEOUT) -> T:
    """Run one awaited step with a bound, printing how long it took."""
    t0 = time.perf_counter()
    try:
        result = await asyncio.wait_for(action(), timeout)
    except TimeoutError:
        raise SelftestFailure(f"timed out after {timeout:.0f} s: {what}") from None
    print(f"selftest: {what}: ok ({time.perf_counter() - t0:.2f} s)", file=out, flush=True)
    return result


async def _until(predicate: Callable[[], bool]) -> None:
    while not predicate():
        await asyncio.sleep(0.05)


async def relay_round_trip(url: str, timeout: float = RELAY_TIMEOUT) -> Event:
    """Publish one signed note to the relay at `url` and read it back through a subscription by its id;
    returns the event read. RelayError (or TimeoutError) when the relay does not store or serve it."""
    event = Event.sign(NostrKey.generate(), 1, "peerwallet self-test", [["t", "peerwallet-selftest"]])
    outbox = OutboxStore(":memory:")
    got: asyncio.Future[Event] = asyncio.get_running_loop().create_future()

    def seen(ev: Event, _url: str) -> None:
        if ev.id == event.id and not got.done():
            got.set_result(ev)

    try:
        async with RelayPool([url], outbox, ok_timeout=timeout, retry_delay=0.2, connect_timeout=timeout) as pool:
            await pool.publish_and_wait(event, timeout)
            await pool.subscribe([{"ids": [event.id]}], seen)
            return await asyncio.wait_for(got, timeout)
    finally:
        outbox.close()


async def _check_trade_relay(ctx: AppContext, problems: _Problems, out: TextIO) -> None:
    """The sandbox's trading reaches READY over its local relay, which stores and serves an event."""
    trade = ctx.trade
    await _step(
        out, "sandbox trading ready over its local Nostr relay",
        lambda: _until(lambda: bool(problems.items) or trade.status.state in SETTLED_TRADE_STATES),
    )
    if problems.items:
        raise SelftestFailure(f"while the trade runtime started: {problems.items[0]}")
    if trade.status.state is not SessionState.READY or trade.relay is None:
        raise SelftestFailure(f"trading on the sandbox is {trade.status.state.value}: {trade.status.message}")
    url = trade.relay.url
    await _step(out, f"event published to and read back from the relay at {url}", lambda: relay_round_trip(url))


async def _check_window(window: MainWindow, ctx: AppContext, problems: _Problems, out: TextIO) -> None:
    """Start the core behind the window, then show and grab every page."""
    icon = QApplication.windowIcon()
    if icon.isNull():
        icon = app_icon()
    if icon.isNull() or not icon.availableSizes():
        raise SelftestFailure("the application icon did not load from the Qt resources")
    print(f"selftest: icon: ok ({len(icon.availableSizes())} sizes)", file=out, flush=True)
    # Without its compiled kernel the filter scan silently takes the ~1000x slower pure-Python path.
    if get_kernel() is None:
        raise SelftestFailure("the compiled compact-block-filter kernel (core.filters._gcs) did not load")
    print("selftest: compiled filter kernel: ok", file=out, flush=True)

    await _step(out, "sandbox, wallet and light node started", ctx.start)
    node = ctx.node
    if node is None or ctx.wallet is None:
        raise SelftestFailure("the sandbox started without a node or a wallet")
    await _step(out, "light node synced with the sandbox", lambda: node.wait_synced(STEP_TIMEOUT))
    wallet = ctx.wallet
    funds = FAUCET_PAYMENTS * FAUCET_AMOUNT
    await _step(
        out, f"wallet holds the faucet's {funds:,} sat at height {node.tip_height}",
        lambda: _until(lambda: wallet.balance().confirmed >= funds),
    )
    await _check_trade_relay(ctx, problems, out)
    window.bridge.flush()
    for spec in window.specs:
        try:
            page = window.show_page(spec.key)
            await asyncio.sleep(PAGE_SETTLE)  # layouts, charts and deferred reads settle
            if window.current_key() != spec.key:
                raise SelftestFailure(f"page {spec.key!r} could not be brought to the front")
            r = check_grab(spec.key, page)
        except SelftestFailure:
            raise
        except Exception as e:  # a page's own bug (PySide6 re-raises errors of Python paint overrides here)
            raise SelftestFailure(f"page {spec.key!r} raised {type(e).__name__}: {e}") from e
        if problems.items:
            raise SelftestFailure(f"while showing page {spec.key!r}: {problems.items[0]}")
        print(f"selftest: page {r.key}: ok ({r.width}x{r.height}, {r.colours} colours)", file=out, flush=True)


async def run_selftest(out: TextIO | None = None) -> int:
    """The whole self-test on the running qasync loop; 0 when every check passed, 1 otherwise."""
    out = out or sys.stdout
    t0 = time.perf_counter()
    QApplication.setQuitOnLastWindowClosed(False)
    problems = _Problems()
    loop = asyncio.get_running_loop()
    old_handler = loop.get_exception_handler()
    loop.set_exception_handler(problems.loop_handler)
    old_hook = sys.excepthook
    sys.excepthook = problems.excepthook
    logging.getLogger().addHandler(problems)
    ok = False
    try:
        with tempfile.TemporaryDirectory(prefix="peerwallet-selftest-") as tmp:
            # No block timer: the chain stays still while the pages are grabbed; traffic fills the mempool.
            options = SandboxOptions(block_interval=None, traffic_interval=0.2, traffic_seed=1)
            ctx = AppContext("sandbox", Path(tmp), settings=Settings(), sandbox=options)
            ctx.on_task_error = lambda exc, name: problems.add(f"task {name!r} failed: {exc!r}")
            bridge = CoreBridge(ctx)
            window = MainWindow(ctx, bridge)
            window.show()
            try:
                await _check_window(window, ctx, problems, out)
                ok = True
            except SelftestFailure as e:
                if e.__cause__ is not None:
                    traceback.print_exception(e.__cause__, file=out)
                print(f"selftest: FAILED: {e}", file=out, flush=True)
            except Exception as e:
                traceback.print_exc(file=out)
                print(f"selftest: FAILED: {type(e).__name__}: {e}", file=out, flush=True)
            finally:
                await ctx.close()
                window.close()
                # Delete the Qt objects now, on this thread: left to the cycle collector they may be
                # freed from a worker thread, whose deletion races this thread's timers.
                window.deleteLater()
                bridge.deleteLater()
        if ok and problems.items:
            print(f"selftest: FAILED: {problems.items[0]}", file=out, flush=True)
            ok = False
    finally:
        logging.getLogger().removeHandler(problems)
        sys.excepthook = old_hook
        loop.set_exception_handler(old_handler)
    if ok:
        print(f"selftest: passed ({len(window.specs)} pages, {time.perf_counter() - t0:.1f} s)", file=out, flush=True)
    return 0 if ok else 1
