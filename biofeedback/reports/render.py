"""Turn a report page into a file: self-contained HTML, or PDF through Qt's QTextDocument and QPdfWriter."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from biofeedback.errors import UserError
from biofeedback.files.outputs import atomic_output
from biofeedback.reports.html import data_uri

PageFn = Callable[[Callable[[str], str]], str]


def _write_private(out: Path, data: bytes) -> None:
    """Write atomically, readable by the user only (reports hold health data), never over an existing file."""
    with atomic_output(out) as tmp:
        tmp.write_bytes(data)


def write_html(page: PageFn, images: dict[str, bytes], out: Path) -> Path:
    """One HTML file with the plots embedded as data: URIs and the CSS inline."""
    html = page(lambda name: data_uri(images[name]))
    _write_private(out, html.encode("utf-8"))
    return out


def write_pdf(page: PageFn, images: dict[str, bytes], out: Path, title: str = "") -> Path:
    """An A4 PDF laid out by QTextDocument and written by QPdfWriter."""
    from PySide6 import QtCore, QtGui

    from biofeedback.reports.plots import ensure_app

    ensure_app()
    doc = QtGui.QTextDocument()
    for name, png in images.items():
        image = QtGui.QImage.fromData(png, "PNG")
        doc.addResource(QtGui.QTextDocument.ImageResource, QtCore.QUrl(name), image)
    font = QtGui.QFont("DejaVu Sans")
    font.setPointSizeF(9.5)
    doc.setDefaultFont(font)
    doc.setHtml(page(lambda name: name))
    with atomic_output(out) as tmp, _qt_messages() as messages:
        writer = QtGui.QPdfWriter(str(tmp))
        writer.setTitle(title)
        writer.setCreator("biofeedback")
        writer.setPageSize(QtGui.QPageSize(QtGui.QPageSize.A4))
        writer.setPageMargins(QtCore.QMarginsF(14, 14, 14, 14), QtGui.QPageLayout.Millimeter)
        writer.setResolution(300)
        # lay the page out 700 px wide (A4 minus margins at about 96 px per inch), printed at 300 dpi
        doc.setPageSize(QtCore.QSizeF(700, 700 * 269 / 182))
        doc.print_(writer)
        del writer
        if tmp.stat().st_size == 0:
            why = f" ({messages[-1]})" if messages else ""
            raise UserError(f"cannot write {out}: Qt's PDF writer produced nothing{why}; check the folder is writable")
    return out


@contextlib.contextmanager
def _qt_messages() -> Iterator[list[str]]:
    """Keep Qt's own warnings (e.g. "QPainter::begin(): Returned false") off the terminal; yield them as a list."""
    from PySide6 import QtCore

    seen: list[str] = []

    def handler(_kind, _context, message: str) -> None:
        seen.append(message)

    previous = QtCore.qInstallMessageHandler(handler)
    try:
        yield seen
    finally:
        QtCore.qInstallMessageHandler(previous)
