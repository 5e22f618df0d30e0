"""Small building blocks shared by the pages: a page scaffold with a title, cards, key/value labels.

Colours come only from the palette (`palette(...)` in style sheets, palette roles in code), so every
page follows the system's light or dark scheme. Cards are outlined on the window colour rather than
filled with the base colour: input fields (base) then stand out from them in either scheme.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

CARD_STYLE = (
    'QFrame[card="true"] { border: 1px solid palette(mid); border-radius: 8px; background: palette(window); }'
    ' QFrame[card="true"] QLabel { background: transparent; }'
)


def scaled_font(widget: QWidget, factor: float, bold: bool = False) -> QFont:
    """The widget's font scaled by `factor` (sizes follow the user's font settings)."""
    font = QFont(widget.font())
    size = font.pointSizeF()
    if size > 0:
        font.setPointSizeF(size * factor)
    font.setBold(bold)
    return font


def muted(label: QLabel) -> QLabel:
    """Secondary text: the palette's placeholder colour."""
    pal = label.palette()
    pal.setColor(QPalette.ColorRole.WindowText, pal.color(QPalette.ColorRole.PlaceholderText))
    label.setPalette(pal)
    return label


class Page(QWidget):
    """A page: a title line (with optional widgets at its right) and a body layout below."""

    def __init__(self, title: str, subtitle: str = "") -> None:
        super().__init__()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 20, 28, 16)
        outer.setSpacing(14)
        head = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        self.title_label = QLabel(title)
        self.title_label.setFont(scaled_font(self.title_label, 1.6, bold=True))
        titles.addWidget(self.title_label)
        if subtitle:
            self.subtitle_label = muted(QLabel(subtitle))
            self.subtitle_label.setWordWrap(True)
            titles.addWidget(self.subtitle_label)
        head.addLayout(titles, 1)
        self.header_tools = QHBoxLayout()
        head.addLayout(self.header_tools)
        outer.addLayout(head)
        self.body = QVBoxLayout()
        self.body.setSpacing(14)
        outer.addLayout(self.body, 1)


class Card(QFrame):
    """A rounded panel with a bold title; put content in `self.content`."""

    def __init__(self, title: str, object_name: str = "") -> None:
        super().__init__()
        self.setProperty("card", True)
        self.setStyleSheet(CARD_STYLE)
        if object_name:
            self.setObjectName(object_name)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 16)
        layout.setSpacing(10)
        self.title_label = QLabel(title)
        self.title_label.setFont(scaled_font(self.title_label, 1.1, bold=True))
        layout.addWidget(self.title_label)
        self.content = QVBoxLayout()
        self.content.setSpacing(8)
        layout.addLayout(self.content, 1)


class Facts(QGridLayout):
    """Rows of "name: value" labels; `add(key, name)` returns the value label (object name `key`)."""

    def __init__(self) -> None:
        super().__init__()
        self.setHorizontalSpacing(18)
        self.setVerticalSpacing(6)
        self.setColumnStretch(1, 1)

    def add(self, key: str, name: str, value: str = "—") -> QLabel:
        row = self.rowCount()
        label = muted(QLabel(name))
        out = QLabel(value)
        out.setObjectName(key)
        out.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.addWidget(label, row, 0)
        self.addWidget(out, row, 1)
        return out


def hbox(*items: QWidget | QLayout | int | None, spacing: int = 10) -> QHBoxLayout:
    """A row of widgets and layouts; an int adds that much stretch, None adds stretch 1."""
    row = QHBoxLayout()
    row.setSpacing(spacing)
    for item in items:
        if item is None:
            row.addStretch(1)
        elif isinstance(item, int):
            row.addStretch(item)
        elif isinstance(item, QLayout):
            row.addLayout(item)
        else:
            row.addWidget(item)
    return row


def list_table(name: str, columns: Sequence[str], stretch: int, *, word_wrap: bool = False) -> QTableWidget:
    """A read-only table of whole rows, one selectable at a time, named `name`; every column sized to
    its contents but `stretch`, which takes the rest of the width."""
    table = QTableWidget(0, len(columns))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setWordWrap(word_wrap)
    header = table.horizontalHeader()
    for c in range(len(columns)):
        header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table
