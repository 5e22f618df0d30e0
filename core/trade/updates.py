"""What the trade engine tells its listeners (the Qt bridge, the CLI, bots, tests)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.trade.protocol_types import State


@dataclass(frozen=True)
class TradeUpdate:
    """What the engine tells its listeners: a trade's new state, or a notice (`what`)."""

    trade_id: str
    state: State | None
    what: str
    data: Mapping[str, Any] = field(default_factory=dict)
