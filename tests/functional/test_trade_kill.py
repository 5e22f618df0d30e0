"""A trader's app SIGKILLed at every step of a trade, and started again on its files each time.

One trader (the seller, or the buyer) runs as its own process (tests/functional/trade_kill_worker.py: the
same Party set-up as the in-process tests, pressing the next action its trade page shows); the other
trader and the arbitrator run in this process, with a real sandbox node and a real local relay. The
test reads the worker's lines and SIGKILLs it at each step — right after each state change it commits,
its offer, its take and each user action it presses (the worker holds there until told to go on), or now
and then a little later, while the step's effects and messages are under way — and at a random moment
after some starts (seeded; the seed is printed; timing still varies between runs). After each kill, on the dead worker's trade database:
SQLite's integrity check passes and every trade is in the state the worker last printed or further
along the scenario's path (never earlier, never another branch); states printed later never go back
either. A start that reached "synced" must have found the escrow's deposit on chain again (the rescan
of every open escrow). The trade completes — happy path, and through a dispute the worker opens and an
arbitrator's ruling it co-signs — with every balance exact to the satoshi less the two transactions'
fees, no coin lost, no step's effect or single-shot message produced twice, and (happy path) both
halves of the receipt exchanged.

Below them, in-process regression tests for what kills exposed (or what a kill at the same kind of
point would break): each puts an app into the state a kill leaves at one precise point — or makes it
die there — starts it again, and checks that it goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from core.trade.contract import PayoutKind
from core.trade.messages import decode_message
from core.trade.offer import Side
from core.trade.protocol_types import FINAL_STATES, Op, State
from core.trade.store import TradeRow, TradeStore
from tests.functional.cli_support import ENV, REPO
from tests.functional.trade_kill_worker import BUYER_ACCOUNT, SELLER_ACCOUNT, T1_BLOCKS
from tests.functional.trade_support import (
    AMOUNT,
    BUYER_FUNDS,
    SELLER_FUNDS,
    TIMEOUT,
    OpenTrade,
    Party,
    World,
    check_final,
    deposit_fee,
    world,
)
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow
SEED_ENV = "TRADE_KILL_SEED"
#: After a printed step: kill at once, or (this share of the time) a little later, effects running.
LATE_KILL, LATE_DELAY = 0.4, (0.0, 0.1)
#: Share of starts also killed at a random moment after "boot" (start-up, rescan, resumed effects).
RANDOM_KILL, RANDOM_DELAY = 0.4, (0.0, 0.3)
MAX_LIVES = 40
LIFE_TIMEOUT = 90.0  # a life waits on the other side at most this long (a hang, not a step)

S = State
PATHS = {
    ("happy", "seller"): (S.TAKE_REQUESTED, S.CONTRACT_SIGNED, S.DEPOSIT_BROADCAST, S.DEPOSIT_CONFIRMED, S.PAYMENT_SENT,
                          S.PAYMENT_RECEIVED, S.PAYOUT_BROADCAST, S.COMPLETED),
    ("happy", "buyer"): (S.TAKE_REQUESTED, S.CONTRACT_SIGNED, S.DEPOSIT_BROADCAST, S.DEPOSIT_CONFIRMED, S.PAYMENT_SENT,
                         S.PAYOUT_BROADCAST, S.COMPLETED),
}
DISPUTE_PATH = (S.TAKE_REQUESTED, S.CONTRACT_SIGNED, S.DEPOSIT_BROADCAST, S.DEPOSIT_CONFIRMED, S.PAYMENT_SENT,
                S.DISPUTE_OPEN, S.ARBITRATED)
PATHS |= {("dispute", "seller"): DISPUTE_PATH, ("dispute", "buyer"): DISPUTE_PATH}
#: Effects a trader runs at most once per trade, and messages it sends at most once to each recipient.
ONCE_OPS = (Op.SEND_ACCEPT, Op.SEND_CONTRACT_SIG, Op.SEND_DEPOSIT_PART, Op.SEND_DEPOSIT_PSBT, Op.SIGN_DEPOSIT,
            Op.BROADCAST_DEPOSIT, Op.SIGN_RELEASE, Op.BROADCAST_PAYOUT, Op.OPEN_DISPUTE)
ONCE_KINDS = ("take", "accept", "contract_sig", "deposit_part", "deposit_psbt", "deposit_signed", "deposit_published",
              "payment_details", "payment_sent", "release", "payout_published", "dispute")


@dataclass
class Life:
    """One run of the worker process."""

    n: int
    need: set[tuple[str, str, int]]  # (trade, deposit txid, height) its start must find on chain again
    random_delay: float | None
    proc: subprocess.Popen[bytes] | None = None
    reason: str = ""  # why it was killed ("" while alive)
    ready: bool = False
    facts: set[tuple[str, ...]] = field(default_factory=set)
    t0: float = field(default_factory=time.monotonic)


class Worker:
    """Runs the worker's lives one after the other until `stop`, checking its files after each kill.

    A thread reads each life's output and kills it the moment a step's line arrives (no wait for this
    test's event loop, which is busy with the other parties); the lines then go to the loop, which
    checks them and wakes the waiters."""

    def __init__(self, party: Party, path: tuple[State, ...], args: list[str], rng: random.Random, seed: int) -> None:
        self.p, self.path, self.args, self.rng, self.seed = party, path, args, rng, seed
        self.reached: dict[str, int] = {}  # trade → furthest index on the path seen (printed or on disk)
        self.printed: set[State] = set()
        self.disk: dict[str, TradeRow] = {}
        self.offer = self.trade = ""
        self.changed = asyncio.Event()
        self.lives = 0
        self.kills: Counter[str] = Counter()
        self.rechecks = 0
        self.lines: list[str] = []
        self._life: Life | None = None
        self._announced: set[str] = set()  # offer/trade lines seen (reader thread)
        self._kill_lock = threading.Lock()
        self._stopping = False
        self._failure: AssertionError | None = None

    # -- what the test waits on -------------------------------------------------------------------

    def at_least(self, trade: str, state: State) -> bool:
        return self.reached.get(trade, -1) >= self.path.index(state)

    async def wait(self, predicate: Callable[[], object], timeout: float = LIFE_TIMEOUT) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            raise AssertionError(f"{self.p.name} worker timed out (seed {self.seed}); last lines: {self.lines[-15:]}") from None

    def stop(self) -> None:
        """End the lives: the current one is killed (a last SIGKILL) and its files checked."""
        self._stopping = True
        if self._life is not None:
            self._kill(self._life, "end")

    # -- lives --------------------------------------------------------------------------------------

    async def run(self) -> None:
        while not self._stopping:
            assert self.lives < MAX_LIVES, f"{self.p.name}: more than {MAX_LIVES} lives (seed {self.seed})"
            await self._run_life()

    async def _run_life(self) -> None:
        life = Life(self.lives, self._needs_recheck(), self.rng.uniform(*RANDOM_DELAY) if self.rng.random() < RANDOM_KILL else None)
        self.lives += 1
        loop = asyncio.get_running_loop()
        exited: asyncio.Future[int] = loop.create_future()
        err = self.p.dir.parent / f"{self.p.name}-life{life.n}.err"
        with err.open("wb") as err_file:
            life.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.functional.trade_kill_worker", *self.args], cwd=str(REPO), env=ENV,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err_file,
            )
        self._life = life
        reader = threading.Thread(target=self._read, args=(life, loop, exited), daemon=True)
        reader.start()
        if self._stopping:
            self._kill(life, "end")
        try:
            async with asyncio.timeout(LIFE_TIMEOUT):
                code = await exited
        except TimeoutError:
            self._kill(life, "hang")
            raise AssertionError(self._died(life, None, err)) from None
        finally:
            self._life = None
        assert life.reason and code == -signal.SIGKILL, self._died(life, code, err)
        if self._failure is not None:
            raise self._failure
        self.kills[life.reason] += 1
        self._check_disk(life)

    def _died(self, life: Life, code: int | None, err: Path) -> str:
        tail = err.read_text(errors="replace")[-3000:] if err.exists() else ""
        return f"life {life.n}: the worker exited with {code} (seed {self.seed}); last lines {self.lines[-10:]}\n{tail}"

    def _kill(self, life: Life, reason: str) -> None:
        """SIGKILL the life (from the reader thread, a timer thread or the loop), once."""
        with self._kill_lock:
            if life.reason or life.proc is None:
                return
            life.reason = reason
            with contextlib.suppress(ProcessLookupError):
                life.proc.send_signal(signal.SIGKILL)

    def _later(self, delay: float, life: Life, reason: str) -> None:
        timer = threading.Timer(delay, self._kill, (life, reason))
        timer.daemon = True
        timer.start()

    def _read(self, life: Life, loop: asyncio.AbstractEventLoop, exited: asyncio.Future[int]) -> None:
        """Reader thread: at each step the worker holds; kill it there, or let it go on and kill it a
        little later (the step's effects and messages under way). Then hand the line to the loop."""
        proc = life.proc
        assert proc is not None and proc.stdout is not None and proc.stdin is not None
        for raw in proc.stdout:
            if not raw.endswith(b"\n"):
                break  # torn by the kill
            text = raw.decode().rstrip("\n")
            kind = text.partition(" ")[0]
            step = kind in ("state", "action") or (kind in ("offer", "trade") and kind not in self._announced)
            if kind in ("offer", "trade"):
                self._announced.add(kind)
            if step and self.rng.random() < LATE_KILL:
                self._later(self.rng.uniform(*LATE_DELAY), life, "late")
                with contextlib.suppress(OSError):  # it may be dead already
                    proc.stdin.write(b"go\n")
                    proc.stdin.flush()
            elif step:
                self._kill(life, "step")
            elif kind == "boot" and life.random_delay is not None:
                self._later(life.random_delay, life, "random")
            stamp = f"[{life.n} {time.monotonic() - life.t0:.3f}{' killed' if life.reason else ''}]"
            loop.call_soon_threadsafe(self._line, life, stamp, text)
        code = proc.wait()
        with contextlib.suppress(OSError):
            proc.stdin.close()
        loop.call_soon_threadsafe(exited.set_result, code)

    def _line(self, life: Life, stamp: str, text: str) -> None:
        """A complete line of the worker (on the loop)."""
        self.lines.append(f"{stamp} {text}")
        kind, *rest = text.split(" ")
        try:
            if kind == "ready":
                life.ready = True
            elif kind == "state":
                self._see(rest[0], State(rest[1]), f"printed in life {life.n}")
                self.printed.add(State(rest[1]))
            elif kind == "fact":
                life.facts.add(tuple(rest))
            elif kind in ("offer", "trade"):
                assert getattr(self, kind) in ("", rest[0]), f"a second {kind} {rest[0]} (seed {self.seed})"
                setattr(self, kind, rest[0])
        except AssertionError as e:
            self._failure = self._failure or e
            self._kill(life, "failure")
        self.changed.set()

    def _see(self, trade: str, state: State, where: str) -> None:
        """The trade is in `state`: on the path, and never before what was seen already."""
        assert state in self.path, f"{self.p.name}: {trade[:8]} {where} in {state.value}, off its path (seed {self.seed})"
        i = self.path.index(state)
        before = self.reached.get(trade, -1)
        assert i >= before, (f"{self.p.name}: {trade[:8]} {where} in {state.value}, back from {self.path[before].value} "
                             f"(seed {self.seed}); last lines {self.lines[-10:]}")
        self.reached[trade] = i
        self.changed.set()

    def _needs_recheck(self) -> set[tuple[str, str, int]]:
        """The confirmed deposits of the escrows still watched (open, or payout not yet confirmed)."""
        return {(t, r.ctx.deposit_txid, r.ctx.deposit_height) for t, r in self.disk.items()
                if r.ctx.deposit_height >= 0 and (r.state not in FINAL_STATES or r.ctx.payout_height < 0)}

    def _check_disk(self, life: Life) -> None:
        store = TradeStore(self.p.dir / "trade.sqlite")
        try:
            assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", f"life {life.n} (seed {self.seed})"
            rows = store.trades()
        finally:
            store.close()
        for row in rows:
            self._see(row.trade_id, row.state, f"on disk after life {life.n} ({life.reason} kill)")
        for trade, txid, height in life.need:  # a start that synced re-checked every watched escrow on chain
            found = ("output", trade, txid, str(height)) in life.facts
            assert found or not life.ready, (
                f"life {life.n} synced without finding the deposit {txid[:16]} at {height} again (seed {self.seed}); "
                f"facts {life.facts}")
            self.rechecks += found
        self.disk = {row.trade_id: row for row in rows}


# -- the in-process side ----------------------------------------------------------------------------------


async def reach(p: Party, trade: str, path: tuple[State, ...], state: State) -> None:
    """Wait until `p` has the trade in `state` or further along `path`."""
    await p.wait(lambda: p.state(trade) in path[path.index(state):])


async def take_worker_offer(w: World, worker: Worker) -> str:
    b = w.buyer
    await worker.wait(lambda: worker.offer)
    await b.wait(lambda: any(o.id == worker.offer for o in b.e.offers()))
    return await b.e.take(worker.offer, AMOUNT, "sepa", BUYER_ACCOUNT)


async def seller_is_worker(w: World, worker: Worker, mode: str) -> tuple[str, tuple[int, int] | None]:
    """The buyer and the arbitrator in-process, the seller the killed worker. Returns (trade, ruling)."""
    b, a = w.buyer, w.arbitrator
    path = PATHS[(mode, "buyer")]
    trade = await take_worker_offer(w, worker)
    await reach(b, trade, path, S.DEPOSIT_BROADCAST)
    await w.mine(after=(b.ctx(trade).deposit_txid,))
    await reach(b, trade, path, S.DEPOSIT_CONFIRMED)
    await b.e.paid(trade, "SEPA reference 7")
    ruling = None
    if mode == "happy":
        await reach(b, trade, path, S.PAYOUT_BROADCAST)  # the worker released
    else:  # the worker says nothing arrived: the arbitrator gives everything to the seller
        await reach(b, trade, path, S.DISPUTE_OPEN)
        await a.wait_state(trade, S.DISPUTE_OPEN)
        await a.wait(lambda: a.ctx(trade).deposit_height >= 0 and {e["from"] for e in a.ctx(trade).evidence} == {"buyer", "seller"})
        ruling = (0, a.ctx(trade).contract_obj().escrow_value)
        await a.e.rule(trade, *ruling, reason="no payment was made")
        await reach(b, trade, path, S.ARBITRATED)  # the worker co-signed and broadcast the ruling
    await w.mine(after=(b.ctx(trade).payout_txid,))
    await b.wait_state(trade, path[-1])
    return trade, ruling


async def buyer_is_worker(w: World, worker: Worker, mode: str) -> tuple[str, tuple[int, int] | None]:
    """The seller and the arbitrator in-process, the buyer the killed worker. Returns (trade, ruling)."""
    s, a = w.seller, w.arbitrator
    path = PATHS[(mode, "seller")]
    await worker.wait(lambda: worker.trade)
    trade = worker.trade
    await reach(s, trade, path, S.DEPOSIT_BROADCAST)
    await w.mine(after=(s.ctx(trade).deposit_txid,))
    await reach(s, trade, path, S.PAYMENT_SENT)  # the worker paid
    ruling = None
    if mode == "happy":
        await s.e.received(trade, credited=True, sender_matches=True, not_reversible=True)
        await reach(s, trade, path, S.PAYOUT_BROADCAST)  # the worker broadcast the release
    else:  # the seller stays silent, the worker disputes: the arbitrator gives the buyer the release split
        await reach(s, trade, path, S.DISPUTE_OPEN)
        await a.wait_state(trade, S.DISPUTE_OPEN)
        await a.wait(lambda: a.ctx(trade).deposit_height >= 0 and {e["from"] for e in a.ctx(trade).evidence} == {"buyer", "seller"})
        ruling = a.ctx(trade).contract_obj().payout_split(PayoutKind.RELEASE)
        await a.e.rule(trade, *ruling, reason="the buyer's payment is proven")
        await reach(s, trade, path, S.ARBITRATED)
    await w.mine(after=(s.ctx(trade).payout_txid,))
    await s.wait_state(trade, path[-1])
    return trade, ruling


def check_once(p: Party, trade: str) -> None:
    """No step's effect ran twice and no single-shot message went twice to the same recipient."""
    store = p.e.store
    ops = Counter(Op(r[0]) for r in store.conn.execute("SELECT op FROM effects WHERE trade_id = ?", (trade,)))
    assert all(ops[op] <= 1 for op in ONCE_OPS), f"{p.name}: effects {ops}"
    sent = Counter((m.kind, decode_message(m.raw).recipient) for m in store.messages(trade) if m.direction == "out")
    assert all(n == 1 for (kind, _to), n in sent.items() if kind in ONCE_KINDS), f"{p.name}: messages {sent}"


@pytest.mark.parametrize("mode", ["happy", "dispute"])
@pytest.mark.parametrize("role", ["seller", "buyer"])
def test_kill_a_trader_at_every_step(tmp_path: Path, role: str, mode: str) -> None:
    seed = int(os.environ.get(SEED_ENV, random.SystemRandom().randrange(2**32)))
    print(f"trade kill test seed: {seed} (rerun with {SEED_ENV}={seed})")
    started = time.monotonic()

    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b, a = w.seller, w.buyer, w.arbitrator
            await w.fund(s, SELLER_FUNDS)
            await w.fund(b, BUYER_FUNDS)
            await w.mine()
            await s.settled(SELLER_FUNDS)
            await b.settled(BUYER_FUNDS)
            start = {p.name: p.balance() for p in w.parties}
            killed = s if role == "seller" else b
            await killed.stop()  # from now on its files belong to the worker process
            args = ["--dir", str(killed.dir), "--name", role, "--port", str(w.sbx.port), "--relay", w.relay.url, "--mode", mode]
            ref = a.e.keys.arbitrator_ref
            if role == "seller":
                args += ["--arbitrator", f"{ref.nostr}:{ref.escrow}"]
            else:
                offer = await s.e.create_offer(
                    Side.SELL, 100_000, 500_000, "EUR", ("sepa", "wise"), SELLER_ACCOUNT, price=Decimal("50000"),
                    arbitrator=ref, t1_blocks=T1_BLOCKS, confirmations=1,
                )
                args += ["--offer", offer.id]
            path = PATHS[(mode, role)]
            worker = Worker(killed, path, args, random.Random(f"{seed}:{role}:{mode}"), seed)
            other_side = seller_is_worker if role == "seller" else buyer_is_worker

            async def drive() -> tuple[str, tuple[int, int] | None]:
                try:
                    trade, ruling = await other_side(w, worker, mode)
                    await worker.wait(lambda: worker.at_least(trade, path[-1]))
                    return trade, ruling
                finally:
                    worker.stop()
                    (tmp_path / "worker.log").write_text("\n".join(worker.lines))  # kept for a failure's post-mortem

            async with asyncio.TaskGroup() as tg:
                tg.create_task(worker.run())
                driven = tg.create_task(drive())
            trade, ruling = driven.result()
            assert worker.disk[trade].state is path[-1]

            # The worker's files back in this process: balances to the satoshi, nothing lost or done twice.
            await killed.start()
            await killed.wait_state(trade, path[-1])
            t = OpenTrade(trade, s.ctx(trade).contract_obj(), start, b.deposit_cost(trade), s.deposit_cost(trade),
                          deposit_fee(s.ctx(trade)))
            payout = s.ctx(trade).payout_txid
            assert payout and b.ctx(trade).payout_txid == payout
            await check_final(w, t, PayoutKind.RELEASE if ruling is None else PayoutKind.RULING, payout, ruling)
            for p in (s, b):
                await p.e.settle(TIMEOUT)
                assert not p.e.store.pending_out()
                check_once(p, trade)
            if mode == "happy":  # both halves of the receipt went through the kills
                for p in (s, b):
                    await p.wait(lambda p=p: len(p.e.store.receipts(p.e.keys.identity.xonly)) == 1)
            print(f"{role} worker, {mode}: {worker.lives} lives, kills {dict(worker.kills)}, "
                  f"{worker.rechecks} escrow re-checks, {time.monotonic() - started:.1f} s")
            # Each printed step was followed by a kill; a step is skipped only while the worker was dead.
            assert len(worker.printed) >= len(path) - 1, f"steps printed: {worker.printed}"
            assert worker.rechecks > 0

    run(scenario)
