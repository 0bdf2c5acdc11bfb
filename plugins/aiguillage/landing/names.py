"""File and folder names as they may be printed: a name is untrusted input, like a file's content.

A name can hold a line break, an escape sequence for the terminal (``\\x1b``), a bidirectional
override, or bytes that are not UTF-8 (Python shows them as lone surrogates, ``\\udcff``). Printed
raw, such a name forges lines in a log, the terminal or a report. :func:`printable` writes each such
character as an escape, and is what every log line, CLI line, report and alert uses for names.
"""

from __future__ import annotations

import unicodedata

__all__ = ["has_unsafe_characters", "printable"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Control characters (C0, DEL, C1), format characters (bidirectional overrides, zero-width marks),
# lone surrogates (bytes that are not UTF-8), line and paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _unsafe(character: str) -> bool:
    return unicodedata.category(character) in _UNSAFE_CATEGORIES


def has_unsafe_characters(name: str) -> bool:
    """Whether ``name`` holds a character :func:`printable` must escape."""
    return any(_unsafe(character) for character in name)


def _escaped(character: str) -> str:
    if character in _NAMED:
        return _NAMED[character]
    code = ord(character)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as os.fsdecode gives it back
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def printable(name: object) -> str:
    """``name`` with every control, format or undecodable character escaped (``\\n``, ``\\x1b``,
    ``\\xff`` for a byte that is not UTF-8, ``\\u202e``); other text unchanged. Bytes are decoded
    as the file system does (undecodable bytes escaped). ``None`` gives ``''``."""
    if name is None:
        return ""
    if isinstance(name, bytes):
        import os

        name = os.fsdecode(name)
    text = str(name)
    if not has_unsafe_characters(text):
        return text
    return "".join(_escaped(character) if _unsafe(character) else character for character in text)
