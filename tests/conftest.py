"""Root test configuration."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
# Bitcoin Core's and the BIPs' own vectors, read in place from ../shared/vectors (never copied).
VECTORS = REPO.parent / "shared" / "vectors"
