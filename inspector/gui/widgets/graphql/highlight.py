"""Syntax colours for GraphQL: keywords, types, fields, arguments, variables, literals."""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFont, QPalette, QTextCharFormat

from inspector.gui.widgets.graphql.language import utf16
from inspector.gui.widgets.highlighter import PaletteHighlighter

__all__ = ["GraphQLHighlighter", "graphql_colours"]


# (light background, dark background); each readable on white / #1e1e1e.
_COLOURS = {
    "keyword": ("#af00db", "#c586c0"),
    "type": ("#267f99", "#4ec9b0"),
    "field": ("#001080", "#9cdcfe"),
    "argument": ("#795e26", "#dcdcaa"),
    "variable": ("#0070c1", "#4fc1ff"),
    "string": ("#a31515", "#ce9178"),
    "number": ("#098658", "#b5cea8"),
    "comment": ("#008000", "#6a9955"),
    "punctuation": ("#5a5a5a", "#a8a8a8"),
}
_KEYWORDS = frozenset(
    {"query", "mutation", "subscription", "fragment", "on", "true", "false", "null"}
)
_TOKEN = re.compile(
    r"(?P<comment>#.*)"
    r'|(?P<blockstring>""")'
    r'|(?P<string>"(?:[^"\\]|\\.)*"?)'
    r"|(?P<variable>\$[_A-Za-z][_0-9A-Za-z]*)"
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[_A-Za-z][_0-9A-Za-z]*)(?P<colon>\s*:)?"
    r"|(?P<punctuation>\.\.\.|[!&()\[\]{}|:=@])"
)
_IN_BLOCK_STRING = 1


def graphql_colours(palette: QPalette) -> dict[str, QColor]:
    """Token colours for ``palette``: the dark set when the text background is dark."""
    dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
    return {name: QColor(pair[1] if dark else pair[0]) for name, pair in _COLOURS.items()}


class GraphQLHighlighter(PaletteHighlighter):
    """Keywords, type names, fields, arguments, $variables, strings, numbers, comments."""

    def colours(self, palette: QPalette) -> dict[str, QColor]:
        return graphql_colours(palette)

    def token_format(self, name: str, colour: QColor) -> QTextCharFormat:
        fmt = super().token_format(name, colour)
        if name == "comment":
            fmt.setFontItalic(True)
        elif name == "keyword":
            fmt.setFontWeight(QFont.Weight.DemiBold)
        return fmt

    def _set(self, text: str, start: int, end: int, kind: str) -> None:
        begin = utf16(text, start)
        self.setFormat(begin, utf16(text, end) - begin, self._formats[kind])

    def highlightBlock(self, text: str) -> None:
        self.setCurrentBlockState(0)
        pos = 0
        if self.previousBlockState() == _IN_BLOCK_STRING:
            close = text.find('"""')
            if close < 0:
                self._set(text, 0, len(text), "string")
                self.setCurrentBlockState(_IN_BLOCK_STRING)
                return
            self._set(text, 0, close + 3, "string")
            pos = close + 3
        previous_word = ""
        for match in _TOKEN.finditer(text, pos):
            kind = match.lastgroup
            start, end = match.span()
            if kind == "blockstring":
                close = text.find('"""', end)
                if close < 0:
                    self._set(text, start, len(text), "string")
                    self.setCurrentBlockState(_IN_BLOCK_STRING)
                    return
                self._set(text, start, close + 3, "string")
                # Tokens inside the string are skipped by restarting after it.
                self._highlight_rest(text, close + 3)
                return
            if kind == "colon":
                kind = "name"
            if kind == "name":
                word = match.group("name")
                end = match.end("name")
                if word in _KEYWORDS:
                    kind = "keyword"
                elif match.group("colon"):
                    kind = "argument"
                elif word[0].isupper() or previous_word == "on":
                    kind = "type"
                else:
                    kind = "field"
                previous_word = word
            if kind is not None:
                self._set(text, start, end, kind)

    def _highlight_rest(self, text: str, pos: int) -> None:
        # A block string closed mid-line: colour the remainder like a fresh line.
        rest = text[pos:]
        if not rest.strip():
            return
        for match in _TOKEN.finditer(text, pos):
            kind = match.lastgroup
            if kind in (None, "blockstring"):
                continue
            if kind == "name":
                word = match.group("name")
                kind = "keyword" if word in _KEYWORDS else "field"
                self._set(text, match.start(), match.end("name"), kind)
            elif kind != "colon":
                self._set(text, match.start(), match.end(), kind)
