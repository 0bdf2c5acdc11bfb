"""Read the flow header (IdentificationFlux) of a CAF VRSB0801 file without reading the file.

Only the first elements are parsed: a 2 GB monthly flow costs the same as a small daily one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from lxml import etree

HEADER_FIELDS = ("APPLIEME", "NUMVERSIONAPPLIEME", "TYPEFLUX", "NATFLUX", "DTCREAFLUX", "HEUCREAFLUX", "DTREF")
TYPEFLUX_KINDS = {"M": "monthly", "I": "daily", "R": "reprise"}
_ENCODING = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_CHUNK = 64 * 1024
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
    match = _ENCODING.match(first_bytes.lstrip(b"\xef\xbb\xbf"))
    return match.group(1).decode("ascii").upper() if match else "UTF-8"


def read_header(path: Path) -> CafHeader:
    """Parse up to the end of ``IdentificationFlux``; raise :class:`HeaderError` with the reason."""
    parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True)
    fields: dict[str, str] = {}
    encoding = "UTF-8"
    depth_names: list[str] = []
    read = 0
    with open(path, "rb") as handle:
        while read < _MAX_HEADER_BYTES:
            chunk = handle.read(_CHUNK)
            if read == 0:
                encoding = declared_encoding(chunk)
            if not chunk:
                _fail_at_end(parser, read)
                break
            read += len(chunk)
            try:
                parser.feed(chunk)
                for event, element in parser.read_events():
                    if event == "start":
                        depth_names.append(element.tag)
                        if len(depth_names) == 1 and element.tag != "Racine":
                            raise HeaderError(f"root element is <{element.tag}>, expected <Racine>")
                        if len(depth_names) == 2 and element.tag != "IdentificationFlux":
                            raise HeaderError(
                                f"first block is <{element.tag}>, expected <IdentificationFlux>"
                            )
                        continue
                    depth_names.pop()
                    if len(depth_names) == 2 and depth_names[1] == "IdentificationFlux":
                        fields[element.tag] = (element.text or "").strip()
                    elif element.tag == "IdentificationFlux":
                        return _checked(CafHeader(fields, encoding))
            except etree.XMLSyntaxError as error:
                raise HeaderError(f"not well-formed XML before the end of the header: {error}") from error
    raise HeaderError("no complete <IdentificationFlux> block at the start of the file")


def _fail_at_end(parser: etree.XMLPullParser, read: int) -> None:
    if read == 0:
        raise HeaderError("empty file")
    try:
        parser.close()
    except etree.XMLSyntaxError as error:
        raise HeaderError(
            f"the file ends before the end of <IdentificationFlux> (truncated?): {error}"
        ) from error


def _checked(header: CafHeader) -> CafHeader:
    missing = [name for name in ("TYPEFLUX", "NATFLUX", "DTCREAFLUX") if not header.fields.get(name)]
    if missing:
        raise HeaderError(f"IdentificationFlux lacks {', '.join(missing)}")
    if header.kind is None:
        raise HeaderError(f"TYPEFLUX {header.fields['TYPEFLUX']!r} is not M, I or R")
    if header.created_on is None:
        raise HeaderError(f"DTCREAFLUX {header.fields['DTCREAFLUX']!r} is not a YYYY-MM-DD date")
    return header
