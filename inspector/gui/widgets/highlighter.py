"""JSON syntax colouring for a QTextDocument, readable on light and dark palettes."""

from __future__ import annotations

import re

from PySide6.QtGui import (
    QColor,
    QPalette,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)

__all__ = ["JsonHighlighter", "PaletteHighlighter", "json_colours"]

# One pass per line: JSON strings cannot span lines (newlines inside must be escaped), so
# per-block matching is exact for JSON and harmless for anything else.
_TOKEN = re.compile(
    r'(?P<string>"(?:[^"\\]|\\.)*"?)(?P<colon>\s*:)?'
    r"|(?P<number>-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<keyword>\btrue\b|\bfalse\b|\bnull\b)"
)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")

# (light background, dark background) pairs; contrast checked against white / #1e1e1e.
_COLOURS = {
    "key": ("#0451a5", "#9cdcfe"),
    "string": ("#a31515", "#ce9178"),
    "number": ("#098658", "#b5cea8"),
    "keyword": ("#0000ff", "#569cd6"),
}


def json_colours(palette: QPalette) -> dict[str, QColor]:
    """Token colours for ``palette``: the dark set when the text background is dark."""
    dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
    return {name: QColor(pair[1] if dark else pair[0]) for name, pair in _COLOURS.items()}


class PaletteHighlighter(QSyntaxHighlighter):
    """A highlighter whose token formats are derived from the palette, so they stay readable
    when the window switches between light and dark. Subclasses name their token colours."""

    def __init__(self, document: QTextDocument, palette: QPalette) -> None:
        super().__init__(document)
        self._formats: dict[str, QTextCharFormat] = {}
        self._apply_palette(palette)

    def colours(self, palette: QPalette) -> dict[str, QColor]:
        raise NotImplementedError

    def token_format(self, name: str, colour: QColor) -> QTextCharFormat:
        fmt = QTextCharFormat()
        fmt.setForeground(colour)
        return fmt

    def set_palette(self, palette: QPalette) -> None:
        """Re-derive colours (e.g. after a light/dark switch) and repaint."""
        self._apply_palette(palette)
        self.rehighlight()

    def _apply_palette(self, palette: QPalette) -> None:
        self._formats = {
            name: self.token_format(name, colour) for name, colour in self.colours(palette).items()
        }


class JsonHighlighter(PaletteHighlighter):
    """Colours keys, strings, numbers and true/false/null."""

    def colours(self, palette: QPalette) -> dict[str, QColor]:
        return json_colours(palette)

    def highlightBlock(self, text: str) -> None:
        # setFormat() counts UTF-16 code units; Python counts code points. They differ only
        # after a character outside the BMP (emoji), so map offsets only when one is present.
        to_utf16 = _utf16_offsets(text) if _ASTRAL.search(text) else None
        formats = self._formats
        for match in _TOKEN.finditer(text):
            kind = match.lastgroup
            if kind == "colon" or (kind == "string" and match.group("colon")):
                kind = "key"
            if kind is None:
                continue
            start, end = match.span("string") if match.group("string") else match.span()
            if to_utf16 is not None:
                start, end = to_utf16[start], to_utf16[end]
            self.setFormat(start, end - start, formats[kind])


def _utf16_offsets(text: str) -> list[int]:
    offsets = [0] * (len(text) + 1)
    units = 0
    for i, ch in enumerate(text):
        offsets[i] = units
        units += 2 if ord(ch) > 0xFFFF else 1
    offsets[len(text)] = units
    return offsets
