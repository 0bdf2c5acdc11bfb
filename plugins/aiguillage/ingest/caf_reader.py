"""CAF beneficiary flow (VRSB0801, docs/data-contracts.md §2) into raw-layer rows, streaming.

    for table, values in read_caf(path_or_binary_stream): ...

One pass over the file: its bytes are checked against the encoding its prolog declares
(windows-1252 as the CNAF writes it, ISO-8859-1/-15, UTF-8 with or without BOM, ...) before lxml's
pull parser sees them (``ingest.flow_bytes``), so that a byte the encoding cannot decode is reported
at its line and column, in the dossier that holds it; the parser stops on each top-level block
(header, ``InfosFoyerRSA`` dossier, trailer). A dossier is validated against the schema in use
(``ingest.caf_schema``), turned into rows, then cleared and detached from the tree: memory stays
flat whatever the size of the file.

Two kinds of problems, kept apart:
- per-dossier anomalies (a missing block, a value that does not parse, a code outside its list,
  a NIR failing its key, a value longer than the schema allows, a dossier that breaks the schema)
  never stop the file: the rows are yielded with flags (``raw_tables.CAF_FLAGS``) and the dossier
  row lists its schema errors (``schema_errors``: element path, rule, line; never a value);
- file-level problems (not XML, truncated, wrong root, no header or trailer, a trailer count
  that disagrees with the dossiers read, an encoding that cannot be used, a byte it cannot
  decode, a DTD or an entity reference) raise ``QuarantineError``, possibly after rows were
  yielded: the loader runs one transaction per file.

How a row is built: the leaves of the blocks that make up one record (e.g. a person's
Identification, DossierCAF, DossierPoleEmploi and MontantCalculDroitRSAPersonne) are read into
one dict keyed by tag, stripped (CNAF pads some codes: ``CG `` is read ``CG``) and bounded to the
schema's length for the field; computed values are added under their column's name in upper case;
the typed columns are parsed (``ingest.values``); the row is the dict's values in
``raw_tables.COLUMNS`` order. Most columns are named after their tag (``dtnai`` ← DTNAI), so the
column order cannot drift from the interface. A value that does not parse becomes None and flags
its row (the dossier row for tables without a ``flags`` column): COPY never sees a bad value.

Nothing personal is ever logged: only file names, positions and counts. This is the hot path of
the daily load: each element is visited once, and rows are assembled by C-level dict lookups.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from aiguillage.ingest.caf_schema import CafSchema, caf_schema
from aiguillage.ingest.flow_bytes import Lines, checker_for
from aiguillage.ingest.raw_tables import COLUMNS, QuarantineError, RawRow
from aiguillage.ingest.values import parse_amount, parse_boolean, parse_integer, parse_iso_date, parse_time
from aiguillage.ingest.xml_prolog import PROLOG_BYTES, Prolog, PrologError, read_prolog
from aiguillage.landing.names import printable
from aiguillage.nir import is_valid_nir
from aiguillage.referential import load_communes

__all__ = ["read_caf"]

log = logging.getLogger(__name__)

ROOT = "Racine"
HEADER = "IdentificationFlux"
DOSSIER = "InfosFoyerRSA"
TRAILER = "TransmissionFlux"
TRAILER_COUNT = "NBTOTDOSRSATRANSM"

# Code lists (CNAF code lists): other values are kept and flagged UNKNOWN_CODE:<FIELD>.
ETATDOSRSA_CODES = frozenset({"Z", "0", "1", "2", "3", "4", "5", "6"})
ROLEPERS_CODES = frozenset({"DEM", "CJT", "ENF", "AUT", "RDO"})
SEXE_CODES = frozenset({"1", "2"})
NATPREST_CODES = frozenset({"PFA", "RSA"})

CURRENT_ADDRESS_RANK = "01"

# Read and fed 64 KB at a time: as fast as larger chunks (measured), and the parser's buffer stays small.
_CHUNK_BYTES = 1 << 16

# libxml2 appends the position to its messages; we print our own.
_LIBXML_POSITION = re.compile(r",? line \d+, column \d+$")
_END_OF_INPUT_HINTS = ("Premature end", "end of data", "not finished", "not terminated", "no element found")

# A tuple.__new__ call builds the RawRow without NamedTuple's Python-level __new__ (hot path).
_new_tuple = tuple.__new__

Record = dict[str, Any]
Limits = dict[str, int]
_EMPTY: Record = {}


def read_caf(source: Path | BinaryIO) -> Iterator[RawRow]:
    """Stream the VRSB0801 file ``source``, yielding RawRow(table, values) for tables caf_dossier,
    caf_person, caf_address, caf_right_situation, caf_amount, caf_event, where values follow
    raw_tables.COLUMNS[table] exactly (file_id NOT included: the loader adds it).

    ``source`` is a path, or a binary file object already open (seekable to 0; its ``label``, else
    its ``name``, names it in messages; it is read from the start and left open).

    Raises QuarantineError(message) when the whole file cannot be used: malformed/truncated XML, wrong
    root, missing IdentificationFlux or TransmissionFlux, trailer NBTOTDOSRSATRANSM different from the
    number of InfosFoyerRSA blocks read, an encoding that cannot be used or a byte it cannot decode, a
    DOCTYPE or an entity reference. The error may come after rows were yielded (the trailer is at the
    end): the loader rolls the whole file back. The message names the file, the element or line, and
    the rule broken.
    """
    schema = caf_schema()  # a schema that cannot be used is a deployment error: raised before reading
    with _opened(source) as (stream, label):
        codec = _declared_codec(stream, label)
        flow = _FlowState(label, schema)
        yield from _parse(stream, codec, flow)
    log.info(
        "%s: read %d dossiers, %d persons, %d addresses (%d dossiers flagged, %d breaking the schema)",
        label,
        flow.dossiers,
        flow.persons,
        flow.addresses,
        flow.flagged_dossiers,
        flow.invalid_dossiers,
    )


@contextlib.contextmanager
def _opened(source: Path | BinaryIO) -> Iterator[tuple[BinaryIO, str]]:
    """The binary stream to read and the file's label; a path is opened (and closed) here."""
    if hasattr(source, "read"):
        stream: Any = source
        label = getattr(stream, "label", None) or _file_label(Path(str(getattr(stream, "name", "") or "stream")))
        yield stream, printable(label)
        return
    path = Path(source)
    with open(path, "rb") as stream:
        yield stream, _file_label(path)


# ----------------------------------------------------------------------------------------------
# File level: prolog, decoding, parsing, header, trailer, errors


def _declared_codec(stream: BinaryIO, label: str) -> Prolog:
    """The encoding the prolog declares, if it can be decoded (``ingest.xml_prolog``); the stream is
    read from its start and left at 0."""
    stream.seek(0)
    start = stream.read(PROLOG_BYTES)
    stream.seek(0)
    try:
        return read_prolog(start)
    except PrologError as error:
        raise QuarantineError(f"{label}: {error}") from None


class _FlowState:
    """What the file-level rules need to remember while the dossiers stream by."""

    def __init__(self, label: str, schema: CafSchema) -> None:
        self.label = label
        self.schema = schema
        # Length bounds of the fields stored as text (typed fields are parsed instead). A dossier
        # that validates has no text longer than the schema allows, except an integer's leading zeros.
        self.limits = {tag: limit for tag, limit in schema.max_lengths.items() if tag not in _PARSERS}
        self.integer_limits = {tag: limit for tag, limit in self.limits.items() if tag in schema.integer_fields}
        self.communes = _communes_93()
        self.header_seen = False
        self.declared_count: int | None = None
        self.trailer_line: int | None = None
        self.dossiers = 0
        self.persons = 0
        self.addresses = 0
        self.flagged_dossiers = 0
        self.invalid_dossiers = 0
        self.open_block: tuple[str, int] | None = None  # top-level block being read: (tag, first line)
        self.doctype_checked = False

    def read_header(self, elem: Any) -> None:
        if self.header_seen:
            raise QuarantineError(
                f"{self.label}: line {elem.sourceline}: a second {HEADER} (two flows in one file?)"
            )
        self.header_seen = True

    def start_dossier(self, elem: Any) -> None:
        if not self.header_seen:
            raise QuarantineError(
                f"{self.label}: line {elem.sourceline}: {DOSSIER} before any {HEADER} (missing header)"
            )
        if self.trailer_line is not None:
            raise QuarantineError(
                f"{self.label}: line {elem.sourceline}: {DOSSIER} after the {TRAILER} "
                f"of line {self.trailer_line}"
            )
        self.dossiers += 1

    def read_trailer(self, elem: Any) -> None:
        line = elem.sourceline
        if not self.header_seen:
            raise QuarantineError(
                f"{self.label}: line {line}: {TRAILER} before any {HEADER} (missing header)"
            )
        if self.trailer_line is not None:
            raise QuarantineError(
                f"{self.label}: line {line}: a second {TRAILER} (the first is at line {self.trailer_line})"
            )
        self.trailer_line = line
        text = _leaves(elem, [], _EMPTY).get(TRAILER_COUNT)
        count = parse_integer(text) if text and len(text) <= 16 else None
        if count is None or count < 0:
            raise QuarantineError(
                f"{self.label}: line {line}: {TRAILER} has no valid {TRAILER_COUNT} (a count of dossiers)"
            )
        self.declared_count = count

    def check_doctype(self, elem: Any) -> None:
        """A DTD could declare entities or point outside: a VRSB0801 flow has none, so it is refused."""
        self.doctype_checked = True
        info = elem.getroottree().docinfo
        if info.doctype or info.internalDTD is not None or info.system_url or info.public_id:
            raise QuarantineError(
                f"{self.label}: a DOCTYPE declaration (DTD) before the root element: refused, a VRSB0801 "
                "flow has none (its entities and external references are never read)"
            )

    def finish(self, root: Any) -> None:
        """The rules that can only be checked once the whole file has been read."""
        if root is not None and not self.doctype_checked:
            self.check_doctype(root)
        if root is None or root.tag != ROOT:
            found = "nothing" if root is None else f"<{root.tag}>"
            raise QuarantineError(f"{self.label}: root element is {found}, expected <{ROOT}>")
        if not self.header_seen:
            raise QuarantineError(f"{self.label}: no {HEADER} block (flow header missing)")
        if self.declared_count is None:
            raise QuarantineError(
                f"{self.label}: no {TRAILER} block (flow trailer missing: file incomplete?)"
            )
        if self.declared_count != self.dossiers:
            raise QuarantineError(
                f"{self.label}: trailer {TRAILER_COUNT}={self.declared_count} (line {self.trailer_line}) "
                f"but {self.dossiers} {DOSSIER} blocks were read"
            )


def _parse(stream: BinaryIO, codec: Prolog, flow: _FlowState) -> Iterator[RawRow]:
    """Check the bytes, feed the parser, and turn each top-level block into rows (see the module's doc)."""
    checker = checker_for(codec)
    parser = etree.XMLPullParser(
        events=("start", "end"),
        tag=(HEADER, DOSSIER, TRAILER),
        encoding="utf-8",  # the fed bytes are UTF-8 (checked or transcoded), whatever the prolog declares
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
        remove_blank_text=True,  # fewer nodes to build and free: ~7% faster, and blocks' text is unused
        remove_comments=True,
        remove_pis=True,
    )
    lines = Lines()
    skip = codec.skip
    root = None
    try:
        while True:
            chunk = stream.read(_CHUNK_BYTES)
            if skip:
                chunk, skip = chunk[skip:], 0
            data, undecodable = checker.take(chunk, not chunk)
            if data:
                lines.advance(data)
                parser.feed(data)
                yield from _events(parser, flow)
            if undecodable:
                # What precedes the bad byte was parsed: its dossier is known. Then stop.
                raise QuarantineError(_undecodable_message(flow, codec, lines))
            if not chunk:
                break
        root = parser.close()
        yield from _events(parser, flow)
    except etree.XMLSyntaxError as error:
        # The blocks completed before the error still count (and their rows were read, to be rolled back).
        yield from _events(parser, flow)
        raise QuarantineError(_syntax_message(parser, flow, error, _last_line(stream, lines))) from None
    flow.finish(root)


def _events(parser: etree.XMLPullParser, flow: _FlowState) -> Iterator[RawRow]:
    for event, elem in parser.read_events():
        if not flow.doctype_checked:
            flow.check_doctype(elem)
        parent = elem.getparent()
        if parent is None:
            if event == "end":
                raise QuarantineError(f"{flow.label}: root element is <{elem.tag}>, expected <{ROOT}>")
            continue
        if parent.getparent() is not None:
            continue  # same name nested deeper inside another block: not a flow-level element
        if parent.tag != ROOT:
            raise QuarantineError(f"{flow.label}: root element is <{parent.tag}>, expected <{ROOT}>")
        if event == "start":
            flow.open_block = (elem.tag, elem.sourceline)
            continue
        flow.open_block = None
        tag = elem.tag
        if tag == DOSSIER:
            flow.start_dossier(elem)
            yield from _dossier_rows(elem, flow.dossiers, flow)
        elif tag == HEADER:
            flow.read_header(elem)
        else:
            flow.read_trailer(elem)
        # Constant memory: drop the block's content and every sibling already read.
        elem.clear()
        while elem.getprevious() is not None:
            del parent[0]


def _file_label(path: Path) -> str:
    """How messages name the file: its folder and name, e.g. caf/VRSB0801_931_20261126_I.xml."""
    return printable(f"{path.parent.name}/{path.name}" if path.parent.name else path.name)


def _where_in_flow(flow: _FlowState) -> str:
    """Which block of the flow a position falls in (never its content)."""
    if flow.open_block is not None:
        tag, line = flow.open_block
        if tag == DOSSIER:
            return f"in {DOSSIER} block {flow.dossiers + 1} (starting line {line})"
        return f"in the {tag} block (starting line {line})"
    if not flow.header_seen:
        return f"before the end of the {HEADER} header"
    if flow.trailer_line is not None:
        return f"after the {TRAILER} trailer"
    return f"between {DOSSIER} blocks"


def _undecodable_message(flow: _FlowState, codec: Prolog, lines: Lines) -> str:
    return (
        f"{flow.label}: line {lines.newlines + 1}, column {lines.column + 1}: a byte that is not "
        f"{codec.declared} (the encoding the prolog declares) {_where_in_flow(flow)}, "
        f"after {flow.dossiers} complete {DOSSIER} blocks"
    )


def _last_line(stream: BinaryIO, lines: Lines) -> int:
    """Number of the file's last line: the lines decoded so far plus the rest of the file (read only
    on this error path; its line breaks are the same bytes in every encoding a flow may use)."""
    newlines, last = lines.newlines, b"\n" if not lines.column else b"x"
    while chunk := stream.read(_CHUNK_BYTES):
        newlines += chunk.count(b"\n")
        last = chunk[-1:]
    return newlines if last == b"\n" else newlines + 1


def _syntax_message(parser: Any, flow: _FlowState, error: etree.XMLSyntaxError, last_line: int) -> str:
    """Position and libxml2's reason, without any content of the file (it may hold names)."""
    first = next((entry for entry in parser.feed_error_log if entry.level >= etree.ErrorLevels.ERROR), None)
    if first is not None:
        line, column, kind, reason = first.line, first.column, first.type_name, first.message or ""
    else:
        (line, column), kind = (error.position if error.position else (error.lineno, 0)), ""
        reason = error.msg or ""
    after = f"after {flow.dossiers} complete {DOSSIER} blocks"
    if kind == "ERR_UNDECLARED_ENTITY":
        return (
            f"{flow.label}: line {line}, column {column}: an entity reference other than the five predefined "
            f"ones (&amp; &lt; &gt; &apos; &quot;; character references &#N; are text): refused, a VRSB0801 "
            f"flow declares no entity ({_where_in_flow(flow)}, {after})"
        )
    reason = _LIBXML_POSITION.sub("", reason.splitlines()[0] if reason else "unknown error")[:160]
    truncated = any(hint in reason for hint in _END_OF_INPUT_HINTS) or line >= last_line
    return (
        f"{flow.label}: line {line}, column {column}: XML not well-formed{' (truncated?)' if truncated else ''}: "
        f"{reason} ({after})"
    )


@lru_cache(maxsize=1)
def _communes_93() -> frozenset[str]:
    """INSEE codes of the 40 communes of Seine-Saint-Denis (93059 Pierrefitte included)."""
    return frozenset(commune.code_insee for commune in load_communes())


# ----------------------------------------------------------------------------------------------
# Records: leaves → typed row values


# Every typed column, by record key (a tag, or the upper-cased name of a computed column); the
# other columns are text.
_DATE_KEYS = (
    "DTDEMRSA DDSITFAM DTORIDEMRSA DDELECAL DDARRMUT DDDEPAMUT DTNAI DDRATDOS DFRATDOS DTEMM DDNATDRO "
    "DFNATDRO DTDERRSAVERS DTLIQ"
).split()
_BOOLEAN_KEYS = (
    "TOPSANSDOMFIXE TOPFOYDRODEVORSA TOPVALIEC TOPRESPDOS TOPCHAPERS_RSA TOPCHAPERS_PFA TOPPERSDRODEVORSA "
    "TOPPERSENTDRODEVORSA"
).split()
_AMOUNT_KEYS = "MTREVMINIGARARSA MTRESSMENRSA MTTOTDRORSA MTPERSRESSMENRSA MTRSAVERS".split()
_PARSERS: dict[str, Callable[[str], Any]] = {
    **dict.fromkeys(_DATE_KEYS, parse_iso_date),
    **dict.fromkeys(_BOOLEAN_KEYS, parse_boolean),
    **dict.fromkeys(_AMOUNT_KEYS, parse_amount),
    "NBENFAUTCHA": parse_integer,
    "RGNAI": parse_integer,
    "HEULIQ": parse_time,
}

# Columns not named after their tag.
_KEY_OF_COLUMN = {
    "cedant_fonorg": "FONORGCEDMUT",
    "cedant_numorg": "NUMORGCEDMUT",
    "cedant_matricule": "MATRICULEORGCEDMUT",
    "cedant_ddarrmut": "DDARRMUT",
    "prenant_fonorg": "FONORGPRENMUT",
    "prenant_numorg": "NUMORGPRENMUT",
    "prenant_dddepamut": "DDDEPAMUT",
}

CAF_TABLES = ("caf_dossier", "caf_person", "caf_address", "caf_right_situation", "caf_amount", "caf_event")
# Record keys in column order, and the typed ones with their parser, per table.
_KEYS = {table: tuple(_KEY_OF_COLUMN.get(c, c.upper()) for c in COLUMNS[table]) for table in CAF_TABLES}
_TYPED = {
    table: tuple((key, _PARSERS[key]) for key in _KEYS[table] if key in _PARSERS) for table in CAF_TABLES
}


def _leaves(block: Any, flags: list[str], limits: Limits) -> Record:
    """Tag → stripped text of a block's non-empty children (leaves; sub-blocks have no text).

    A text longer than the schema allows for its field is cut to that length and flagged
    TOO_LONG:<FIELD>: no value can break an index or reach an extract at an absurd size.
    """
    record = {child.tag: stripped for child in block if (text := child.text) and (stripped := text.strip())}
    if record.keys() & limits.keys():  # a C-level test: most blocks of a valid dossier have no bounded field
        for tag, value in record.items():  # in the file's order, so that flags come out the same every time
            limit = limits.get(tag)
            if limit is not None and len(value) > limit:
                flags.append("TOO_LONG:" + tag)
                record[tag] = value[:limit].rstrip()
    return record


def _row(table: str, record: Record, flags: list[str]) -> RawRow:
    """Parse the record's typed columns (None and a flag when they do not parse), then read the row."""
    for key, parse in _TYPED[table]:
        text = record.get(key)
        if text is not None:
            value = parse(text)
            if value is None:
                flags.append("INVALID_VALUE:" + key)
            record[key] = value
    return _new_tuple(RawRow, (table, tuple(map(record.get, _KEYS[table]))))


# ----------------------------------------------------------------------------------------------
# Dossier


def _dossier_rows(dossier: Any, position: int, flow: _FlowState) -> list[RawRow]:
    """Every row of one InfosFoyerRSA block, the caf_dossier row first."""
    schema_errors = flow.schema.dossier_errors(dossier)
    limits = flow.limits if schema_errors else flow.integer_limits
    flags: list[str] = []
    record: Record = {}
    identification = donnees = prestation = None
    persons: list[Any] = []
    events: list[Any] = []
    anomalies: list[str] = []
    for block in dossier:
        tag = block.tag
        if tag == "Personne":
            persons.append(block)
        elif tag == "Evenement":
            events.append(block)
        elif tag == "Anomalie":
            text = _leaves(block, flags, limits).get("LIBANO")
            if text is not None:
                anomalies.append(text)
        elif tag == "IdentificationRSA":
            if identification is None:
                identification = block
        elif tag == "DonneesAdministratives":
            if donnees is None:
                donnees = block
        elif tag == "PrestationRSA" and prestation is None:
            prestation = block

    _identification(identification, record, flags, limits)
    key = {"POSITION": position, "MATRICULE": record.get("MATRICULE"), "NUMDEMRSA": record.get("NUMDEMRSA")}
    rows: list[RawRow] = []  # the dossier row is built last (it sums up the others' flags) but goes first

    if not persons:
        flags.append("MISSING_BLOCK:Personne")
    for person_position, person in enumerate(persons, start=1):
        rows.append(_person_row(person, person_position, key, limits))
    flow.persons += len(persons)

    flow.addresses += _donnees_administratives(donnees, key, flow.communes, record, flags, rows, limits)
    _prestation_rsa(prestation, key, record, flags, rows, limits)
    for event in events:
        rows.append(_row("caf_event", {**_leaves(event, flags, limits), **key}, flags))

    etat = record.get("ETATDOSRSA")
    if etat is not None and etat not in ETATDOSRSA_CODES:
        flags.append("UNKNOWN_CODE:ETATDOSRSA")
    record.update(key)
    record["CAF_ANOMALIES"] = anomalies
    record["SCHEMA_ERRORS"] = schema_errors
    if schema_errors:
        flags.append("SCHEMA_INVALID")
    record["FLAGS"] = flags
    rows.insert(0, _row("caf_dossier", record, flags))
    if flags:
        flow.flagged_dossiers += 1
    if schema_errors:
        flow.invalid_dossiers += 1
    return rows


# IdentificationRSA sub-blocks read into the dossier record (their tags do not overlap).
_IDENTIFICATION_BLOCKS = frozenset(
    {"Organisme", "Partenaire", "DemandeRSA", "OrganismeCedant", "OrganismePrenant"}
)


def _identification(identification: Any, record: Record, flags: list[str], limits: Limits) -> None:
    """Leaves of Organisme, Partenaire, DemandeRSA, OrganismeCedant and OrganismePrenant into the record."""
    if identification is None:
        flags.append("MISSING_BLOCK:IdentificationRSA")
        return
    seen: set[str] = set()
    for block in identification:
        tag = block.tag
        if tag in _IDENTIFICATION_BLOCKS and tag not in seen:
            seen.add(tag)
            record.update(_leaves(block, flags, limits))
    for mandatory in ("Organisme", "DemandeRSA"):
        if mandatory not in seen:
            flags.append("MISSING_BLOCK:" + mandatory)


# ----------------------------------------------------------------------------------------------
# Persons


def _person_row(person: Any, person_position: int, key: Record, limits: Limits) -> RawRow:
    """The caf_person row of one Personne block.

    Identification, DossierCAF, DossierPoleEmploi and MontantCalculDroitRSAPersonne (tags that do
    not overlap) go into one record; the two Prestations blocks give the RSA and PFA roles.
    """
    flags: list[str] = []
    record: Record = {}
    identification = dossier_caf = montant = pole_emploi = False
    rsa = pfa = None
    prestations = 0
    same_nature_twice = False
    for block in person:
        tag = block.tag
        if tag == "Identification":
            if not identification:
                identification = True
                record.update(_leaves(block, flags, limits))
        elif tag == "Prestations":
            prestations += 1
            leaves = _leaves(block, flags, limits)
            nature = leaves.get("NATPREST")
            if nature == "RSA":
                same_nature_twice = same_nature_twice or rsa is not None
                rsa = rsa or leaves
            elif nature == "PFA":
                same_nature_twice = same_nature_twice or pfa is not None
                pfa = pfa or leaves
            elif nature is not None:
                flags.append("UNKNOWN_CODE:NATPREST")
        elif tag == "DossierCAF":
            if not dossier_caf:
                dossier_caf = True
                record.update(_leaves(block, flags, limits))
        elif tag == "MontantCalculDroitRSAPersonne":
            if not montant:
                montant = True
                record.update(_leaves(block, flags, limits))
        elif tag == "DossierPoleEmploi" and not pole_emploi:
            pole_emploi = True
            record.update(_leaves(block, flags, limits))

    if not identification:
        flags.append("MISSING_BLOCK:Identification")
    record["NIR_VALID"] = _check_nir(record.get("NIR"), flags)
    sexe = record.get("SEXE")
    if sexe is not None and sexe not in SEXE_CODES:
        flags.append("UNKNOWN_CODE:SEXE")
    if not dossier_caf:
        flags.append("MISSING_BLOCK:DossierCAF")
    # Exactly one PFA and one RSA block; otherwise the first block of each nature is used.
    if prestations != 2 or same_nature_twice:
        flags.append("PRESTATIONS_NOT_TWO")
    if rsa is None:
        rsa = _EMPTY
    if pfa is None:
        pfa = _EMPTY
    role_rsa = record["ROLEPERS_RSA"] = rsa.get("ROLEPERS")
    role_pfa = record["ROLEPERS_PFA"] = pfa.get("ROLEPERS")
    if (role_rsa is not None and role_rsa not in ROLEPERS_CODES) or (
        role_pfa is not None and role_pfa not in ROLEPERS_CODES
    ):
        flags.append("UNKNOWN_CODE:ROLEPERS")
    record["TOPCHAPERS_RSA"] = rsa.get("TOPCHAPERS")
    record["TOPCHAPERS_PFA"] = pfa.get("TOPCHAPERS")
    if not montant:
        flags.append("NO_MONTANT_CALCUL_PERSONNE")
    record.update(key)
    record["PERSON_POSITION"] = person_position
    record["FLAGS"] = flags
    return _row("caf_person", record, flags)


def _check_nir(nir: str | None, flags: list[str]) -> bool | None:
    """Whether the NIR (kept as sent) is valid; absent, malformed and wrong-key NIRs are flagged."""
    if nir is None:
        flags.append("NIR_MISSING")
        return None
    if is_valid_nir(nir):
        return True
    # A well-formed 13-character body followed by two digits that are not its key.
    body, nir_key = nir[:13], nir[13:]
    if len(nir) == 15 and nir_key.isascii() and nir_key.isdigit() and is_valid_nir(body):
        flags.append("NIR_KEY")
    else:
        flags.append("NIR_FORMAT")
    return False


# ----------------------------------------------------------------------------------------------
# Addresses


def _donnees_administratives(
    donnees: Any,
    key: Record,
    communes: frozenset[str],
    record: Record,
    flags: list[str],
    rows: list[RawRow],
    limits: Limits,
) -> int:
    """SituationFamille into the dossier record; one caf_address row per Adresse (their number is returned).

    Flags the dossier when it has no current address (RGADR 01) or when that address is outside
    the département.
    """
    if donnees is None:
        flags.append("MISSING_BLOCK:DonneesAdministratives")
        flags.append("NO_CURRENT_ADDRESS")
        return 0
    sitfam_seen = False
    ranks: list[str] = []
    current_outside = False
    for block in donnees:
        tag = block.tag
        if tag == "Adresse":
            address = _address_record(block, key, communes, limits)
            rank = address["RGADR"]
            if rank is None or rank in ranks:
                # rgadr is NOT NULL and part of raw.caf_address's key: such a row cannot be loaded.
                flags.append("INVALID_VALUE:RGADR")
                continue
            ranks.append(rank)
            if rank == CURRENT_ADDRESS_RANK:
                current_outside = address["IN_DEPARTEMENT"] is False
            rows.append(_row("caf_address", address, address["FLAGS"]))
        elif tag == "SituationFamille" and not sitfam_seen:
            sitfam_seen = True
            record.update(_leaves(block, flags, limits))
    if not sitfam_seen:
        flags.append("MISSING_BLOCK:SituationFamille")
    if CURRENT_ADDRESS_RANK not in ranks:
        flags.append("NO_CURRENT_ADDRESS")
    elif current_outside:
        flags.append("OUTSIDE_DEPARTEMENT")
    return len(ranks)


def _address_record(address: Any, key: Record, communes: frozenset[str], limits: Limits) -> Record:
    """The caf_address record of one Adresse block (RGADR normalised, département computed)."""
    flags: list[str] = []
    record: Record = {}
    tronc = detail = hors_france = False
    for block in address:
        tag = block.tag
        if tag == "TroncCommunAdresse":
            if not tronc:
                tronc = True
                record.update(_leaves(block, flags, limits))
        elif tag == "AdresseDetailleeFrance":
            if not detail:
                detail = True
                record.update(_leaves(block, flags, limits))
        elif tag == "AdresseHorsFrance":
            hors_france = True
    if not tronc:
        flags.append("MISSING_BLOCK:TroncCommunAdresse")
    if not (detail or hors_france):
        flags.append("MISSING_BLOCK:AdresseDetailleeFrance")
    numcom = record.get("NUMCOM")
    # Abroad is outside whatever the (absent) commune; otherwise NUMCOM decides, unknown without it.
    in_departement = False if hors_france else (None if numcom is None else numcom in communes)
    if in_departement is False:
        flags.append("OUTSIDE_DEPARTEMENT")
    record.update(key)
    record["RGADR"] = _rank(record.get("RGADR"))
    record["HORS_FRANCE"] = hors_france
    record["IN_DEPARTEMENT"] = in_departement
    record["FLAGS"] = flags
    return record


def _rank(rank: str | None) -> str | None:
    """RGADR as two digits ("1" → "01"), so that the current address is always found as 01."""
    if rank is not None and len(rank) == 1 and rank.isascii() and rank.isdigit():
        return "0" + rank
    return rank


# ----------------------------------------------------------------------------------------------
# Right situation and amounts


# SituationDossierRSA sub-blocks → (nature, motif leaf, date leaf, natgroupfsus leaf or None).
_SITUATION_BLOCKS = {
    "Refus": ("REFUS", "MOTIREFURSA", "DTREFURSA", None),
    "SuspensionDroit": ("SUSPENSION_DROIT", "MOTISUSDRORSA", "DDSUSDRORSA", "NATGROUPFSUS"),
    "SuspensionVersement": ("SUSPENSION_VERSEMENT", "MOTISUSVERSRSA", "DDSUSVERSRSA", None),
    "FinDroit": ("FIN_DROIT", "MOTICLORSA", "DTCLORSA", None),
    "FinDroitMoisAnterieur": ("FIN_DROIT_MOIS_ANTERIEUR", "MOTICLORSA", "DTCLORSA", None),
}


def _prestation_rsa(
    prestation: Any, key: Record, record: Record, flags: list[str], rows: list[RawRow], limits: Limits
) -> None:
    """EtatDossierRSA, TroncCommunDroitRSA and MontantsCalculDroitRSA into the dossier record.

    Appends the caf_right_situation rows (SituationDossierRSA) and caf_amount rows
    (DetailCalculDroitRSA).
    """
    situation = detail = None
    if prestation is None:
        flags.append("MISSING_BLOCK:PrestationRSA")
    else:
        for block in prestation:
            tag = block.tag
            if tag == "SituationDossierRSA":
                if situation is None:
                    situation = block
            elif tag == "DetailDroitRSA" and detail is None:
                detail = block
    _situation(situation, key, record, flags, rows, limits)
    if detail is None:
        flags.append("NO_DETAIL_DROIT")
        flags.append("NO_MONTANTS_CALCUL")
        return
    tronc = montants = False
    for block in detail:
        tag = block.tag
        if tag == "DetailCalculDroitRSA":
            rows.append(_row("caf_amount", {**_leaves(block, flags, limits), **key}, flags))
        elif tag == "TroncCommunDroitRSA":
            if not tronc:
                tronc = True
                record.update(_leaves(block, flags, limits))
        elif tag == "MontantsCalculDroitRSA" and not montants:
            montants = True
            record.update(_leaves(block, flags, limits))
    if not tronc:
        flags.append("MISSING_BLOCK:TroncCommunDroitRSA")
    if not montants:
        flags.append("NO_MONTANTS_CALCUL")


def _situation(
    situation: Any, key: Record, record: Record, flags: list[str], rows: list[RawRow], limits: Limits
) -> None:
    """EtatDossierRSA into the dossier record; a caf_right_situation row per refusal, suspension, closure."""
    if situation is None:
        flags.append("MISSING_BLOCK:SituationDossierRSA")
        return
    etat_seen = False
    for block in situation:
        tag = block.tag
        if tag == "EtatDossierRSA":
            if not etat_seen:
                etat_seen = True
                record["ETATDOSRSA"] = _leaves(block, flags, limits).get("ETATDOSRSA")
            continue
        spec = _SITUATION_BLOCKS.get(tag)
        if spec is None:
            continue
        nature, motif, when, group = spec
        leaves = _leaves(block, flags, limits)
        # Parsed here rather than in _row so that a bad date is flagged under its own tag.
        text = leaves.get(when)
        date_effet = parse_iso_date(text) if text is not None else None
        if text is not None and date_effet is None:
            flags.append("INVALID_VALUE:" + when)
        situation_record = {
            **key,
            "NATURE": nature,
            "MOTIF": leaves.get(motif),
            "DATE_EFFET": date_effet,
            "NATGROUPFSUS": leaves.get(group) if group is not None else None,
        }
        rows.append(_row("caf_right_situation", situation_record, flags))
    if not etat_seen:
        flags.append("MISSING_BLOCK:EtatDossierRSA")
