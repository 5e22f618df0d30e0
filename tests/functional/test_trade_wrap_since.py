"""Gift wraps are not asked for again after a start that processed them all: once every relay has sent
the stored wraps for our keys (EOSE) and each is processed, the start time is stored, and the next start
subscribes `since` that time less NIP-59's two days of backdating and an hour. Messages sent while the
party was away still arrive (their wraps are dated at most two days back), and the trade completes."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.trade.engine import WRAPS_CAUGHT_UP
from core.trade.nostr.nip59 import TWO_DAYS
from core.trade.protocol_types import State
from core.trade.views import transcript
from tests.functional.trade_support import TIMEOUT, Party, open_trade, world
from tests.unit.peer_harness import run

pytestmark = pytest.mark.slow


def _since(party: Party) -> set[object]:
    return {sub.filters[0].get("since") for sub in party.e._subs.values() if sub.filters[0].get("kinds") == [1059]}


def test_restart_subscribes_since_the_last_catch_up_and_misses_nothing(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            s, b = w.seller, w.buyer
            assert _since(b) == {None}  # a first start asks for everything
            await b.wait(lambda: b.e.store.get_meta(WRAPS_CAUGHT_UP) is not None, TIMEOUT)
            t = await open_trade(w)
            caught_up = int(b.e.store.get_meta(WRAPS_CAUGHT_UP) or 0)

            await b.stop()
            await s.e.chat(t.trade_id, "sent while you were away")  # a wrap stored by the relay meanwhile
            seen = len(b.updates)
            await b.start()
            assert _since(b) == {caught_up - TWO_DAYS - 3600}
            await b.wait(lambda: "sent while you were away" in [m["body"].get("text") for m in transcript(b.e.store, t.trade_id)],
                         TIMEOUT)
            await b.wait(lambda: any(u.what == "caught_up" for u in b.updates[seen:]), TIMEOUT)
            assert int(b.e.store.get_meta(WRAPS_CAUGHT_UP) or 0) >= caught_up

            await b.e.paid(t.trade_id, "SEPA reference 9")
            await s.wait_state(t.trade_id, State.PAYMENT_SENT)
            await s.e.received(t.trade_id, credited=True, sender_matches=True, not_reversible=True)
            await b.wait_state(t.trade_id, State.PAYOUT_BROADCAST)

    run(scenario)
