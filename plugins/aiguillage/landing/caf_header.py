"""Read the flow header (IdentificationFlux) of a CAF VRSB0801 file without reading the file.

Only the bytes up to the end of ``IdentificationFlux`` are decoded and parsed: a 2 GB monthly flow
costs the same as a small daily one, and what comes after the header (a dossier that is not
well-formed, a byte its encoding cannot decode) is the loader's business, never a header error.
The encoding is the one the prolog declares (``ingest.xml_prolog``: the same rule as the reader's).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from lxml import etree

from aiguillage.ingest.xml_prolog import Prolog, PrologError, read_prolog

HEADER_FIELDS = ("APPLIEME", "NUMVERSIONAPPLIEME", "TYPEFLUX", "NATFLUX", "DTCREAFLUX", "HEUCREAFLUX", "DTREF")
TYPEFLUX_KINDS = {"M": "monthly", "I": "daily", "R": "reprise"}
_HEADER = "IdentificationFlux"
_HEADER_END = b"</" + _HEADER.encode("ascii")
_MAX_HEADER_BYTES = 1024 * 1024


class HeaderError(ValueError):
    """The file does not start like a VRSB0801 flow."""


@dataclass(frozen=True)
class CafHeader:
    fields: dict[str, str]
    encoding: str

    @property
    def kind(self) -> str | None:
        return TYPEFLUX_KINDS.get(self.fields.get("TYPEFLUX", ""))

    @property
    def created_on(self) -> date | None:
        try:
            return date.fromisoformat(self.fields.get("DTCREAFLUX", ""))
        except ValueError:
            return None

    def as_json(self) -> dict[str, str]:
        return {**self.fields, "encoding": self.encoding}


def declared_encoding(first_bytes: bytes) -> str:
    """The encoding the prolog declares, upper-cased as written (UTF-8 when none is declared)."""
    try:
        return read_prolog(first_bytes, declaration_required=False).declared
    except PrologError:
        return "UTF-8"


def read_header(path: Path | int) -> CafHeader:
    """Parse up to the end of ``IdentificationFlux``; raise :class:`HeaderError` with the reason.

    ``path`` is a path, or a file descriptor given to this function (read from where it stands, and
    closed)."""
    with open(path, "rb") as handle:
        head = handle.read(_MAX_HEADER_BYTES + 1)
    whole_file = len(head) <= _MAX_HEADER_BYTES
    head = head[:_MAX_HEADER_BYTES]
    try:
        # Without a declaration the scan still reads the header (as UTF-8); the loader decides.
        prolog = read_prolog(head, declaration_required=False)
    except PrologError as error:
        raise HeaderError(str(error)) from None
    end = head.find(_HEADER_END)
    if end >= 0 and (close := head.find(b">", end)) >= 0:
        head = head[: close + 1]  # nothing after the header is looked at
    else:
        end = -1
    parser = etree.XMLPullParser(
        events=("start", "end"), encoding="utf-8", resolve_entities=False, no_network=True, load_dtd=False
    )
    try:
        parser.feed(_decoded(head, prolog).encode("utf-8"))
        header = _header_from_events(parser, prolog)
    except etree.XMLSyntaxError as error:
        raise HeaderError(f"not well-formed XML before the end of the header: {error}") from None
    if header is not None:
        return _checked(header)
    if whole_file and end < 0:
        try:
            parser.close()
        except etree.XMLSyntaxError as error:
            raise HeaderError(
                f"the file ends before the end of <{_HEADER}> (truncated?): {error}"
            ) from None
    raise HeaderError(f"no complete <{_HEADER}> block at the start of the file")


def _decoded(head: bytes, prolog: Prolog) -> str:
    """The header's text; a byte its declared encoding cannot decode is a header error (line, column)."""
    decoder = codecs.getincrementaldecoder(prolog.codec)("strict")
    try:
        return decoder.decode(head[prolog.skip :], final=False)
    except UnicodeDecodeError as error:
        before = bytes(error.object[: error.start]).decode(prolog.codec)
        line = before.count("\n") + 1
        column = len(before) - before.rfind("\n")
        raise HeaderError(
            f"line {line}, column {column}: a byte that is not {prolog.declared} (the encoding the prolog "
            f"declares) before the end of <{_HEADER}>"
        ) from None


def _header_from_events(parser: etree.XMLPullParser, prolog: Prolog) -> CafHeader | None:
    fields: dict[str, str] = {}
    depth_names: list[str] = []
    for event, element in parser.read_events():
        if event == "start":
            depth_names.append(element.tag)
            if len(depth_names) == 1 and element.tag != "Racine":
                raise HeaderError(f"root element is <{element.tag}>, expected <Racine>")
            if len(depth_names) == 2 and element.tag != _HEADER:
                raise HeaderError(f"first block is <{element.tag}>, expected <{_HEADER}>")
            continue
        depth_names.pop()
        if len(depth_names) == 2 and depth_names[1] == _HEADER:
            fields[element.tag] = (element.text or "").strip()
        elif element.tag == _HEADER and len(depth_names) == 1:
            return CafHeader(fields, prolog.declared)
    return None


def _checked(header: CafHeader) -> CafHeader:
    missing = [name for name in ("TYPEFLUX", "NATFLUX", "DTCREAFLUX") if not header.fields.get(name)]
    if missing:
        raise HeaderError(f"IdentificationFlux lacks {', '.join(missing)}")
    if header.kind is None:
        raise HeaderError(f"TYPEFLUX {header.fields['TYPEFLUX'][:8]!r} is not M, I or R")
    if header.created_on is None:
        raise HeaderError(f"DTCREAFLUX {header.fields['DTCREAFLUX'][:16]!r} is not a YYYY-MM-DD date")
    return header
