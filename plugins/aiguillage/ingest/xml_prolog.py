"""Which encoding an XML flow's prolog declares, and whether the pipeline can decode it.

Partners declare their encoding in the XML declaration (the CNAF's software writes
``encoding="windows-1252"``). Any encoding Python can decode is accepted under any of its usual
spellings (windows-1252/cp1252, ISO-8859-1/latin1, ISO-8859-15/latin9, UTF-8/UTF8, ...), provided
it writes ASCII as ASCII, as XML markup needs; without an ``encoding`` pseudo-attribute, XML's
default, UTF-8, applies. A UTF-8 byte-order mark must agree with the declaration.

Used by the CAF reader and by the landing registry's header check: one rule, one place.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

__all__ = ["PROLOG_BYTES", "Prolog", "PrologError", "read_prolog"]

# The XML declaration, if any, is within the first bytes of the file.
PROLOG_BYTES = 512

_XML_DECLARATION = re.compile(rb"<\?xml\s[^>]*?\?>")
_DECLARED_ENCODING = re.compile(rb"""\sencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_UTF8_BOM = codecs.BOM_UTF8
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Codecs Python knows that do not write XML markup as ASCII, or that are transformations, not charsets.
_UNUSABLE_CODECS = ("utf-16", "utf-32", "utf-7", "unicode-escape", "raw-unicode-escape", "idna", "punycode")
_ASCII_PROBE = b'<?xml version="1.0"?><Racine>&#13;</Racine>\n'


class PrologError(ValueError):
    """The file's start rules out reading it (no declaration, an encoding that cannot be used)."""


@dataclass(frozen=True)
class Prolog:
    codec: str  # Python codec name
    declared: str  # the encoding as the prolog spells it, upper-cased (UTF-8 when not declared)
    bom: bool  # the file starts with a UTF-8 byte-order mark

    @property
    def skip(self) -> int:
        """Bytes before the text (the byte-order mark)."""
        return len(_UTF8_BOM) if self.bom else 0


def read_prolog(start: bytes, declaration_required: bool = True) -> Prolog:
    """The encoding of a flow from its first bytes (PROLOG_BYTES are enough); PrologError otherwise.

    Without ``declaration_required``, a file without XML declaration is taken as UTF-8 (XML's
    default) rather than refused. The message says what is wrong, at line 1, without any content
    of the file.
    """
    if not start:
        raise PrologError("empty file")
    if start.startswith(_WIDE_BOMS):
        raise PrologError("line 1: UTF-16/UTF-32 byte-order mark: not an encoding of XML flows read here")
    bom = start.startswith(_UTF8_BOM)
    if bom:
        start = start[len(_UTF8_BOM) :]
    declaration = _XML_DECLARATION.match(start)
    if declaration is None and declaration_required:
        raise PrologError("line 1: no XML declaration, so the encoding is undeclared (not an XML flow?)")
    found = _DECLARED_ENCODING.search(declaration.group(0)) if declaration is not None else None
    declared = found.group(1).decode("ascii").upper() if found else "UTF-8"
    try:
        info = codecs.lookup(declared)
    except LookupError:
        raise PrologError(f"line 1: unknown encoding {declared!r} declared") from None
    if not _writes_ascii(info):
        raise PrologError(
            f"line 1: encoding {declared!r} declared: it cannot carry an XML flow read here "
            "(an encoding that writes ASCII as ASCII is required, e.g. windows-1252, ISO-8859-1/-15, UTF-8)"
        )
    if bom and info.name != "utf-8":
        raise PrologError(f"line 1: a UTF-8 byte-order mark but encoding {declared!r} declared: which one is meant?")
    return Prolog(info.name, declared, bom)


def _writes_ascii(info: codecs.CodecInfo) -> bool:
    if not getattr(info, "_is_text_encoding", True) or info.name.startswith(_UNUSABLE_CODECS):
        return False
    try:
        return _ASCII_PROBE.decode(info.name) == _ASCII_PROBE.decode("ascii")
    except (UnicodeDecodeError, LookupError):
        return False
