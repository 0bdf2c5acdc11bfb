"""Partner text files read line by line: encoding detection and a streaming physical-line reader.

Shared by the France Travail and ALI CSV readers. A file is read twice, never held in memory:

1. one pass over its bytes decides the encoding: a UTF-8 byte-order mark means ``utf-8-sig``;
   otherwise ``utf-8`` when every byte sequence is valid UTF-8, else ``iso-8859-1`` (which decodes
   anything). The same pass refuses binary content (NUL bytes, UTF-16).
2. a second pass yields each physical line with its 1-based number (the header is line 1).

A physical line ends with LF; a CR just before it (CRLF files) is dropped. A lone CR elsewhere stays
in the line: it is data, not a line break, so line numbers agree with what ``wc -l`` and the partner
count.

Whole-file problems raise :class:`QuarantineError` with a message naming the file, the line and the rule.

Every function takes a path or an opened binary stream (the loader's
:class:`~aiguillage.landing.opened.LandingStream`, which hashes what is read): a stream is read
from its start at each pass (``seek(0)``) and never closed here; its ``label`` names it in messages.
"""

from __future__ import annotations

import codecs
import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from aiguillage.ingest.raw_tables import QuarantineError
from aiguillage.landing.names import printable

__all__ = [
    "MAX_LINE_CHARS",
    "detect_encoding",
    "file_label",
    "first_header_problem",
    "iter_lines",
    "quarantine",
]

# Partner lines are a few hundred characters. Past this, the file is not line-oriented text, and
# reading on would hold an unbounded "line" in memory.
MAX_LINE_CHARS = 100_000

_CHUNK_BYTES = 1 << 20
_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


# A partner text file: its path, or a binary stream opened on it.
Source = Path | BinaryIO


def file_label(source: Source) -> str:
    """How messages name a file, escaped (a name may hold a line break): a stream's ``label`` (its
    path in the landing zone), else its folder and name (``france_travail/stock_20261102.csv``,
    ``ALI05/ali_ALI05_20261126.csv``), enough to find it in the landing zone."""
    label = getattr(source, "label", None)
    if label is not None:
        return printable(label)
    path = Path(source if isinstance(source, str | Path) else getattr(source, "name", "stream"))
    return printable(f"{path.parent.name}/{path.name}" if path.parent.name else path.name)


def quarantine(source: Source, line_number: int, rule: str) -> QuarantineError:
    return QuarantineError(f"{file_label(source)}: line {line_number}: {rule}")


@contextlib.contextmanager
def _binary(source: Source) -> Iterator[BinaryIO]:
    """The file's bytes from the start: a path opened, or the stream rewound (and left open)."""
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            yield handle
    else:
        source.seek(0)
        yield source


@contextlib.contextmanager
def _text(source: Source, encoding: str) -> Iterator[io.TextIOBase]:
    # newline="\n": split on LF only, keep endings untranslated (CR is removed by the caller).
    if isinstance(source, str | Path):
        with open(source, encoding=encoding, newline="\n") as handle:
            yield handle
        return
    source.seek(0)
    handle = io.TextIOWrapper(source, encoding=encoding, newline="\n")
    handle._CHUNK_SIZE = _CHUNK_BYTES  # an unbuffered stream: read it in large pieces
    try:
        yield handle
    finally:
        handle.detach()  # the stream belongs to the caller: closing the wrapper must not close it


def detect_encoding(path: Source) -> str:
    """``utf-8-sig``, ``utf-8`` or ``iso-8859-1``, from one streaming pass over the bytes.

    Raises QuarantineError for binary content (a NUL byte, a UTF-16 byte-order mark) and for a file
    that announces UTF-8 with a byte-order mark but is not valid UTF-8.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = True
    has_bom = False
    newlines_before = 0  # LFs in the chunks already scanned: gives the line of a NUL byte
    with _binary(path) as handle:
        first = True
        while chunk := handle.read(_CHUNK_BYTES):
            if first:
                _refuse_utf16(path, chunk)
                has_bom = chunk.startswith(_UTF8_BOM)
                first = False
            nul_at = chunk.find(b"\x00")
            if nul_at >= 0:
                line = newlines_before + chunk.count(b"\n", 0, nul_at) + 1
                raise quarantine(path, line, "binary content (NUL byte): not a text file")
            if is_utf8:
                is_utf8 = _still_utf8(decoder, chunk, final=False)
            newlines_before += chunk.count(b"\n")
    if is_utf8:
        is_utf8 = _still_utf8(decoder, b"", final=True)
    if has_bom:
        if not is_utf8:
            raise quarantine(path, 1, "starts with a UTF-8 byte-order mark but is not valid UTF-8")
        return "utf-8-sig"
    return "utf-8" if is_utf8 else "iso-8859-1"


def _refuse_utf16(path: Source, first_chunk: bytes) -> None:
    # A UTF-16 file would be caught by its NUL bytes anyway; naming the encoding helps the partner.
    if first_chunk.startswith(_UTF16_BOMS):
        raise quarantine(path, 1, "binary content (UTF-16 text): ISO-8859-1 or UTF-8 expected")


def _still_utf8(decoder: codecs.IncrementalDecoder, chunk: bytes, final: bool) -> bool:
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError:
        return False
    return True


def iter_lines(path: Source) -> Iterator[tuple[int, str]]:
    """Every physical line of the file as ``(line_number, text without its line ending)``.

    Blank lines are yielded too (callers decide what they mean); an empty file yields nothing.
    """
    encoding = detect_encoding(path)
    with _text(path, encoding) as handle:
        line_number = 0
        while text := handle.readline(MAX_LINE_CHARS + 1):
            line_number += 1
            if text.endswith("\n"):
                text = text[:-1]
            elif len(text) > MAX_LINE_CHARS:
                raise quarantine(path, line_number,
                                 f"line longer than {MAX_LINE_CHARS} characters: not a line-oriented text file")
            if text.endswith("\r"):
                text = text[:-1]
            yield line_number, text


def first_header_problem(found: list[str], expected: tuple[str, ...]) -> str | None:
    """Why a header does not match `expected` (names compared trimmed, case-insensitive), or None.

    The found values are never quoted: a file without a header has a data line here, NIR and all.
    """
    if len(found) != len(expected):
        return f"header has {len(found)} columns, {len(expected)} expected ({';'.join(expected)})"
    for position, (name, wanted) in enumerate(zip(found, expected, strict=True), start=1):
        if name.strip().lower() != wanted:
            return f"header column {position} should be {wanted!r} (expected {';'.join(expected)})"
    return None
