"""The presentation helpers: number formats, the ETA of stages without one, histogram bars, the peers model."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from PySide6.QtCore import Qt

from app import format as fmt
from app.models.peers import PeersModel
from app.pages.mempool import histogram_rows
from app.pages.overview import StageEta
from core.mempool.feerate import FeeRate
from core.node.events import PeerInfo, SyncProgress, SyncStage
from core.node.tx_events import FeeBucket
from core.settings import Unit


def test_formats() -> None:
    assert fmt.amount(16_000_000) == "0.16000000 BTC"
    assert fmt.amount(-1) == "-0.00000001 BTC"
    assert fmt.amount(16_000_000, Unit.SAT) == "16\u202f000\u202f000 sat"
    assert [fmt.data_size(n) for n in (999, 23_100, 4_500_000, 7 * 10**12)] == ["999 B", "23.1 kB", "4.5 MB", "7000.0 GB"]
    assert [fmt.vsize(n) for n in (812, 12_345, 1_250_000)] == ["812 vB", "12.3 kvB", "1.25 MvB"]
    assert [fmt.duration(s) for s in (45, 185, 7_800, 273_600)] == ["45 s", "3 min 5 s", "2 h 10 min", "3 d 4 h"]
    assert fmt.fee_rate(FeeRate(Fraction(5, 2))) == "2.5 sat/vB" and fmt.fee_rate(FeeRate.per_vb(1)) == "1 sat/vB"
    assert fmt.services(1 | 8 | 64) == "NETWORK, WITNESS, COMPACT_FILTERS"
    assert (fmt.bucket_label(5, 6), fmt.bucket_label(2000, None)) == ("5", "2000+")


def test_stage_eta_from_the_stage_rate() -> None:
    eta = StageEta()
    assert eta.update(SyncProgress(SyncStage.HEADERS, 10, 100, 42.0), 0.0) == 42.0  # the node's own wins
    assert eta.update(SyncProgress(SyncStage.FILTERS, 0, 1000, None), 0.0) is None  # stage begins
    assert eta.update(SyncProgress(SyncStage.FILTERS, 100, 1000, None), 0.5) is None  # too early to tell
    assert eta.update(SyncProgress(SyncStage.FILTERS, 250, 1000, None), 5.0) == 15.0  # 50 blocks/s, 750 left
    assert eta.update(SyncProgress(SyncStage.SYNCED, 1000, 1000, None), 6.0) is None


def test_histogram_rows_span_the_buckets_and_pad_lone_bars() -> None:
    rows = histogram_rows([FeeBucket(1, 2, 3, 400), FeeBucket(5, 6, 1, 150)], min_rows=4)
    assert rows == [("1", 400), ("2", 0), ("3", 0), ("4", 0), ("5", 150)]
    assert histogram_rows([FeeBucket(2000, None, 1, 99)], min_rows=3) == [("1600", 0), ("1800", 0), ("2000+", 99)]
    assert histogram_rows([FeeBucket(0, 1, 1, 99)], min_rows=3) == [("0", 99), ("1", 0), ("2", 0)]
    assert histogram_rows([]) == []


def _info(host: str, port: int, **kw: Any) -> PeerInfo:
    base = dict(transport="v2", services=1 | 8 | 64 | 2048, height=110, ping_ms=None, bytes_in=0, bytes_out=0,
                connected_since=0.0, user_agent="/ua/", inbound=False)
    base.update(kw)
    return PeerInfo(address=host, port=port, **base)


def test_peers_model_keeps_rows_in_place(qtbot: Any) -> None:
    model = PeersModel()
    a, b = _info("1.2.3.4", 8333), _info("2001:db8::1", 8333, transport="v1")
    model.update([a, b])
    assert model.rowCount() == 2 and model.columnCount() == 9
    text = [[model.index(r, c).data() for c in range(3)] for r in range(2)]
    assert text == [["1.2.3.4:8333", "IPv4", "v2"], ["[2001:db8::1]:8333", "IPv6", "v1"]]
    onion = _info("abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion", 8333, ping_ms=12.4)
    with qtbot.waitSignal(model.rowsRemoved, timeout=1000):
        model.update([_info("2001:db8::1", 8333, bytes_in=23_100), onion])
    assert [model.index(r, 1).data() for r in range(2)] == ["IPv6", "Tor"]
    assert model.index(0, 6).data() == "23.1 kB" and model.index(1, 4).data() == "12 ms"
    assert model.index(0, 0).data(Qt.ItemDataRole.UserRole).bytes_in == 23_100
    assert model.info_at(5) is None
