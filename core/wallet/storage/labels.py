"""BIP329 wallet labels: records in the wallet file and the JSON Lines export/import format.

Each record is identified by (type, ref) as in BIP329; `label`, `origin` and `spendable` are optional.
Importing replaces records with the same (type, ref) and runs in one transaction, so a bad line leaves
the wallet untouched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from core.wallet.errors import StorageError
from core.wallet.storage.db import WalletDB

TYPES = ("tx", "addr", "pubkey", "input", "output", "xpub")


@dataclass(frozen=True)
class Label:
    """A BIP329 label record."""

    type: str
    ref: str
    label: str | None
    origin: str | None = None
    spendable: bool | None = None


def _row(r: tuple) -> Label:
    return Label(r[0], r[1], r[2], r[3], None if r[4] is None else bool(r[4]))


def set_label(db: WalletDB, label: Label) -> None:
    """Insert or replace a label record."""
    if label.type not in TYPES:
        raise StorageError(f"label type {label.type!r} is not one of BIP329's {', '.join(TYPES)}")
    spendable = None if label.spendable is None else int(label.spendable)
    with db.transaction() as c:
        c.execute(
            "INSERT OR REPLACE INTO labels(type, ref, label, origin, spendable) VALUES (?, ?, ?, ?, ?)",
            (label.type, label.ref, label.label, label.origin, spendable),
        )


def get_label(db: WalletDB, type_: str, ref: str) -> Label | None:
    """The label record for (type, ref), or None."""
    r = db.conn.execute(
        "SELECT type, ref, label, origin, spendable FROM labels WHERE type = ? AND ref = ?", (type_, ref)
    ).fetchone()
    return None if r is None else _row(r)


def all_labels(db: WalletDB) -> list[Label]:
    """All label records, ordered by (type, ref)."""
    rows = db.conn.execute("SELECT type, ref, label, origin, spendable FROM labels ORDER BY type, ref")
    return [_row(r) for r in rows]


def delete_label(db: WalletDB, type_: str, ref: str) -> None:
    """Remove a label record."""
    with db.transaction() as c:
        c.execute("DELETE FROM labels WHERE type = ? AND ref = ?", (type_, ref))


def export_bip329(db: WalletDB) -> str:
    """All labels as BIP329 JSON Lines (one object per line, absent fields omitted)."""
    lines = []
    for lab in all_labels(db):
        obj: dict[str, object] = {"type": lab.type, "ref": lab.ref}
        if lab.label is not None:
            obj["label"] = lab.label
        if lab.origin is not None:
            obj["origin"] = lab.origin
        if lab.spendable is not None:
            obj["spendable"] = lab.spendable
        lines.append(json.dumps(obj, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


def parse_bip329(text: str) -> list[Label]:
    """Parse BIP329 JSON Lines; StorageError names the first bad line."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            raise StorageError(f"label line {n} is not JSON") from None
        if not isinstance(obj, dict):
            raise StorageError(f"label line {n} is not a JSON object")
        typ, ref = obj.get("type"), obj.get("ref")
        if typ not in TYPES or not isinstance(ref, str):
            raise StorageError(f"label line {n} needs a BIP329 'type' and a string 'ref'")
        label, origin, spendable = obj.get("label"), obj.get("origin"), obj.get("spendable")
        if not (label is None or isinstance(label, str)) or not (origin is None or isinstance(origin, str)):
            raise StorageError(f"label line {n}: 'label' and 'origin' must be strings")
        if spendable is not None and not isinstance(spendable, bool):
            raise StorageError(f"label line {n}: 'spendable' must be true or false")
        out.append(Label(typ, ref, label, origin, spendable))
    return out


def import_bip329(db: WalletDB, text: str) -> int:
    """Import BIP329 JSON Lines in one transaction; returns the number of records."""
    records = parse_bip329(text)
    with db.transaction():
        for lab in records:
            set_label(db, lab)
    return len(records)
