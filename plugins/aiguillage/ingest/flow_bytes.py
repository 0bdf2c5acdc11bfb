"""A flow's bytes on their way to the XML parser: checked against the declared encoding, and placed.

Each chunk read from the file is checked before the parser sees it, so that a byte the declared
encoding cannot decode is found at its exact place (line, column) and never reaches libxml2, whose
own messages would quote the bytes around it:

- UTF-8: Python's strict decoder checks the chunk; the bytes themselves are fed.
- any other encoding: decoded by Python, fed as UTF-8. (Letting libxml2 decode windows-1252 itself,
  after a byte-table check, was measured slower than Python's decoding plus UTF-8.)

:class:`Lines` follows the line and column of what was fed (characters, not bytes).
"""

from __future__ import annotations

import codecs

from aiguillage.ingest.xml_prolog import Prolog

__all__ = ["ChunkChecker", "Lines", "checker_for"]

_NEWLINE = b"\n"
_UTF8_CONTINUATION = bytes(range(0x80, 0xC0))  # bytes that do not start a character in UTF-8


class ChunkChecker:
    """Gives the UTF-8 bytes to feed the parser for each chunk, up to the first undecodable byte."""

    def take(self, chunk: bytes, final: bool) -> tuple[bytes, bool]:
        """(bytes to feed, True when an undecodable byte comes right after them)."""
        raise NotImplementedError


class _Utf8(ChunkChecker):
    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")

    def take(self, chunk: bytes, final: bool) -> tuple[bytes, bool]:
        try:
            self._decoder.decode(chunk, final)
        except UnicodeDecodeError as error:
            held = len(error.object) - len(chunk)  # bytes of the previous chunk, already fed
            return chunk[: max(0, error.start - held)], True
        return chunk, False


class _Transcoded(ChunkChecker):
    def __init__(self, codec: str) -> None:
        self._codec = codec
        self._decoder = codecs.getincrementaldecoder(codec)("strict")

    def take(self, chunk: bytes, final: bool) -> tuple[bytes, bool]:
        try:
            return self._decoder.decode(chunk, final).encode("utf-8"), False
        except UnicodeDecodeError as error:
            return bytes(error.object[: error.start]).decode(self._codec).encode("utf-8"), True


def checker_for(prolog: Prolog) -> ChunkChecker:
    """How to check and feed bytes in the declared encoding."""
    return _Utf8() if prolog.codec == "utf-8" else _Transcoded(prolog.codec)


class Lines:
    """Line and column (in characters) at the end of what was fed so far."""

    __slots__ = ("column", "newlines")

    def __init__(self) -> None:
        self.newlines = 0
        self.column = 0  # characters since the last line break

    def advance(self, data: bytes) -> None:
        count = data.count(_NEWLINE)
        if count:
            self.newlines += count
            self.column = self._characters(data[data.rfind(_NEWLINE) + 1 :])
        else:
            self.column += self._characters(data)

    @staticmethod
    def _characters(data: bytes) -> int:
        return len(data.translate(None, _UTF8_CONTINUATION))
