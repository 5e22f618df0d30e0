"""The application icon: the SVG in resources/, compiled into the Qt resource module
`app.resources_rc` (regenerate with `python packaging/build.py rcc`), rendered per size.

Rendering with QSvgRenderer (QtSvg) instead of `QIcon(":/…svg")` keeps the icon independent of
Qt's SVG icon-engine plugin, which a trimmed bundle might not carry.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QFile, QIODevice, Qt
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

import app.resources_rc  # noqa: F401  (registers the :/icons/ resources)

ICON_RESOURCE = ":/icons/peerwallet.svg"
#: The sizes handed to the window manager (taskbars, title bars, Alt+Tab).
WINDOW_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def icon_svg() -> bytes:
    """The icon's SVG source as stored in the Qt resource."""
    f = QFile(ICON_RESOURCE)
    if not f.open(QIODevice.OpenModeFlag.ReadOnly):
        raise FileNotFoundError(ICON_RESOURCE)
    try:
        return bytes(f.readAll().data())
    finally:
        f.close()


def render_svg(svg: bytes, size: int) -> QImage:
    """`svg` drawn into a transparent size x size ARGB image (antialiased)."""
    renderer = QSvgRenderer(QByteArray(svg))
    if not renderer.isValid():
        raise ValueError("not a valid SVG image")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def app_icon() -> QIcon:
    """The window icon at every size in WINDOW_ICON_SIZES (needs a QGuiApplication)."""
    svg = icon_svg()
    icon = QIcon()
    for size in WINDOW_ICON_SIZES:
        icon.addPixmap(QPixmap.fromImage(render_svg(svg, size)))
    return icon
