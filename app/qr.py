"""QrView: a QR code of a text (an address or a BIP21 link), encoded by segno and painted module by module.

The image is black modules on white with the standard 4-module quiet zone, whatever the colour scheme
(scanners expect dark on light). `module_px` pixels per module: a test can read the code back by
sampling the centre of each module and compare it with segno's matrix.
"""

from __future__ import annotations

import segno
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

QUIET_ZONE = 4  # modules of white border (ISO/IEC 18004)
ERROR_LEVEL = "m"


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR code's modules (True = dark), as segno encodes `text` (never a Micro QR)."""
    code = segno.make_qr(text, error=ERROR_LEVEL)
    return [[bool(v) for v in row] for row in code.matrix]


def render_matrix(matrix: list[list[bool]], module_px: int) -> QImage:
    """The matrix as a white image with a quiet zone, each module `module_px` pixels square."""
    n = len(matrix) + 2 * QUIET_ZONE
    image = QImage(n * module_px, n * module_px, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    black = QColor("black")
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                painter.fillRect((x + QUIET_ZONE) * module_px, (y + QUIET_ZONE) * module_px, module_px, module_px, black)
    painter.end()
    return image


class QrView(QLabel):
    """Shows the QR code of `payload`; the largest whole module size that fits `size_px`."""

    def __init__(self, size_px: int = 260, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.size_px = size_px
        self.payload = ""
        self.matrix: list[list[bool]] = []
        self.module_px = 0
        self.setFixedSize(size_px, size_px)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_payload(self, text: str) -> None:
        """Encode and show `text` (empty: clear)."""
        self.payload = text
        if not text:
            self.matrix, self.module_px = [], 0
            self.clear()
            return
        self.matrix = qr_matrix(text)
        modules = len(self.matrix) + 2 * QUIET_ZONE
        self.module_px = max(1, self.size_px // modules)
        self.setPixmap(QPixmap.fromImage(render_matrix(self.matrix, self.module_px)))
        self.setToolTip(text)
