"""ALI activity reports in the WebRSA exchange format (``ALI-WebRSA``) into the CSV reports' raw rows.

Contract: docs/data-contracts.md §4, "Format WebRSA". An agency whose software speaks WebRSA's
exchange drops ``<landing>/ali/<ALInn>/*.xml``; its events become ``ali_report_line`` rows exactly like
the lines of our CSV, so that everything downstream (checks against the referrals, contracts,
re-orientation requests as proposals, suspension-remobilisation) is the same:

==============================================  =============================================
element                                          event (date)
==============================================  =============================================
``liste_referents_parcours/referent_parcours``  PRISE_EN_CHARGE (date_designation)
``liste_rendez_vous/rendez_vous``               RDV_HONORE / RDV_NON_HONORE by id_statut_rdv
                                                (date_rdv); a planned, cancelled... one: nothing
``liste_cers/cer``                              CONTRAT_SIGNE (date_signature)
``liste_changements_orientation/...``           REORIENTATION_DEMANDEE, motif from the type asked
                                                (date_demande)
``formulaire_d2/sortie_accompagnement``         SORTIE, motif from id_motif_sortie_accompagnement
                                                (the report's day: D2 carries no date)
==============================================  =============================================

DSP and the D1 and B7 questionnaires carry nothing the warehouse keeps: read, validated, not stored.
Each event also gets an ``ali_webrsa_element`` row: its element, line, id_personne and id_ali, so
that a line rejected later is told back to the agency in its own terms.

Streamed in constant memory (dossiers are freed once read; people are resolved by batch, one query
each); DTDs and entities refused; the bytes' encoding is the prolog's. The file as a whole is
quarantined when it is not well-formed XML, has a DTD, or is not shaped as a report (root, header
first, nothing but dossiers in ``dossiers``). Otherwise each element gets its verdict, with the
exchange's reason codes where it has one (first failing rule wins):

- the header: ``validation_schema``, ``structure_inconnue`` (id_structure_ali not in the référentiel),
  ``STRUCTURE_MISMATCH`` (another agency's), ``deja_traite`` (a report of this agency with the same
  date_generation was loaded already): the whole report is then rejected by that one row;
- a dossier: ``validation_schema`` (against the schema in use: WebRSA's ``webrsa-ALI-WebRSA.xsd``
  when the operator provides it, else ``schemas/ali_webrsa.xsd``), ``personne_inconnue``,
  ``REFERRAL_NOT_HELD`` (never referred to this agency);
- an element: ``structure_inconnue``, ``STRUCTURE_MISMATCH``, ``rdv_objet_inconnu``,
  ``rdv_statut_inconnu``, ``referent_inconnu``, ``referent_cloture``, ``UNKNOWN_MOTIF``,
  ``DATE_INCOHERENT`` (after the report's date_generation, or after the run's day).

An event the warehouse already accepted from an earlier report (same referral, event and date) is
skipped, neither a line nor a reject: the exchange re-sends what an agency holds (a stock report, a
diff re-sending a changed appointment), where WebRSA itself updates rather than adds.

Line numbers of the raw rows count the report's elements (header, dossiers rejected whole, events)
in document order; the element's place and line in the file are in the reject's raw_line or in
``ali_webrsa_element``. Messages name elements, lines and rules, never a value but the integers
the agency sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import psycopg
from lxml import etree

from aiguillage.ingest.ali_webrsa_referentiel import (
    NO_EVENT,
    Referentiel,
    accepted_events,
    load_referentiel,
    referrals_of,
)
from aiguillage.ingest.caf_schema import CafSchema
from aiguillage.ingest.raw_tables import QuarantineError, RawRow
from aiguillage.ingest.xml_prolog import PROLOG_BYTES, PrologError, read_prolog
from aiguillage.landing.names import printable
from aiguillage.partner_schemas import ALI_WEBRSA, PARTNER_SCHEMAS_VAR, schema_in_use

__all__ = ["ELEMENT_TABLE", "read_ali_webrsa_report", "report_schema"]

LINE_TABLE = "ali_report_line"
REJECT_TABLE = "ali_report_reject"
ELEMENT_TABLE = "ali_webrsa_element"

ROOT, HEADER, DOSSIERS, DOSSIER = "ALI-WebRSA", "entete", "dossiers", "dossier"
# Dossiers parsed and waiting for their people to be resolved together: bounds memory.
BATCH = 500
_CHUNK_BYTES = 1 << 16
MAX_SCHEMA_ERRORS = 5
_DATE_GENERATION = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})\s([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{1,3})?")
_PATH_STEP = re.compile(r"^[A-Za-z_][\w.-]{0,63}(?:\[\d{1,7}\])?$")


class SchemaSetupError(RuntimeError):
    """The XSD in use cannot check ALI-WebRSA reports (a deployment problem, not a file's)."""


# ----------------------------------------------------------------------------------------------
# The schema in use


@dataclass(frozen=True)
class ReportSchema:
    path: Path
    rules: CafSchema  # the validator, and the wording of libxml2's error kinds shared with the CAF reader

    def errors(self, document: Any, strip: str) -> list[str]:
        """``path: rule (line N)`` of each schema error of ``document`` (a report holding one header
        and at most one dossier), paths from ``strip``; [] when valid. No value is ever quoted."""
        validator = self.rules.validator
        if validator.validate(document):
            return []
        entries = [entry for entry in validator.error_log if entry.level >= etree.ErrorLevels.ERROR]
        found = []
        for entry in entries[:MAX_SCHEMA_ERRORS]:
            steps = [step for step in (entry.path or "").split("/") if step]
            path = "/".join(steps) if all(_PATH_STEP.match(step) for step in steps) else ""
            path = path.removeprefix(strip).lstrip("/") or strip.rsplit("/", 1)[-1]
            found.append(f"{path}: {self.rules._rule(entry, path)} (line {entry.line or 0})")
        if len(entries) > MAX_SCHEMA_ERRORS:
            found.append(f"{len(entries) - MAX_SCHEMA_ERRORS} more schema errors")
        return found or ["does not validate"]


def report_schema() -> ReportSchema:
    """The ALI-WebRSA schema in use now: WebRSA's when provided, else the project's."""
    path = schema_in_use(ALI_WEBRSA)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as error:
        raise SchemaSetupError(f"ALI-WebRSA schema {path} cannot be read ({error.strerror})") from None
    return _load_schema(str(path), stamp)


@lru_cache(maxsize=4)
def _load_schema(path: str, _stamp: int) -> ReportSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        validator = etree.XMLSchema(etree.parse(path, parser))
    except (etree.XMLSyntaxError, etree.XMLSchemaParseError, OSError) as error:
        raise SchemaSetupError(f"ALI-WebRSA schema {path} is not a usable XSD ({type(error).__name__}); "
                               f"check {PARTNER_SCHEMAS_VAR}") from None
    return ReportSchema(Path(path), CafSchema(Path(path), validator, {}, frozenset()))


# ----------------------------------------------------------------------------------------------
# One report


@dataclass
class _Event:
    element: str  # dossier[3]/liste_cers/cer[1]
    line: int
    id_ali: int | None
    evenement: str | None = None
    date_evenement: date | None = None
    motif: str | None = None
    referent: int | None = None
    reject: tuple[str, str] | None = None  # (reason_code, detail) found without the warehouse


@dataclass
class _Dossier:
    element: str
    line: int
    id_personne: int
    events: list[_Event] = field(default_factory=list)


class _Report:
    """The rules of one report: its agency, its header, and the numbering of its rows."""

    def __init__(self, conn: psycopg.Connection, file_id: int, agency_code: str, today: date) -> None:
        self.conn = conn
        self.file_id = file_id
        self.agency = agency_code.strip().upper()
        self.today = today
        self.referentiel: Referentiel = load_referentiel(conn)
        self.schema = report_schema()
        self.header: Any = None  # the validated header element, copied into each dossier's check
        self.date_rapport: date | None = None
        self.refused = False  # the header rejected the whole report: dossiers are read, not kept
        self.dossiers = 0
        self.rows = 0
        self.batch: list[_Dossier] = []
        self.known: set[tuple[str, str, date]] = set()  # events of the batch's referrals already accepted

    def number(self) -> int:
        self.rows += 1
        return self.rows

    def reject(self, element: str, line: int, reason: str, detail: str, **sent: int | None) -> RawRow:
        identifiers = "".join(f"; {name}={value}" for name, value in sent.items() if value is not None)
        raw = f"element={element}; line={line}{identifiers}"
        return RawRow(REJECT_TABLE, (self.number(), reason, detail, raw))

    # --- the header

    def read_header(self, elem: Any) -> Iterator[RawRow]:
        line = elem.sourceline or 0
        document = etree.Element(ROOT)
        document.append(deepcopy(elem))
        errors = self.schema.errors(document, ROOT)
        if errors:
            self.refused = True
            yield self.reject(HEADER, line, "validation_schema", "; ".join(errors))
            return
        values = {child.tag: (child.text or "").strip() for child in elem if isinstance(child.tag, str)}
        number = int(values["id_structure_ali"])
        generated = _date_generation(values["date_generation"])
        if generated is None:
            self.refused = True
            yield self.reject(HEADER, line, "validation_schema", "entete/date_generation: not a real date and time")
            return
        code = self.referentiel.structures.get(number)
        if code is None:
            self.refused = True
            yield self.reject(HEADER, line, "structure_inconnue",
                              f"id_structure_ali {number} is no structure of the référentiel", id_structure_ali=number)
            return
        if code != self.agency:
            self.refused = True
            yield self.reject(HEADER, line, "STRUCTURE_MISMATCH", f"id_structure_ali {number} is {code}, not the "
                              f"agency folder {self.agency}", id_structure_ali=number)
            return
        earlier = self.conn.execute(
            "SELECT f.relative_path FROM registry.ali_webrsa_report AS r"
            " JOIN registry.landing_file AS f USING (file_id)"
            " WHERE r.code_structure = %s AND r.date_generation = %s", (self.agency, generated)).fetchone()
        if earlier is not None:
            self.refused = True
            yield self.reject(HEADER, line, "deja_traite", f"a report of {self.agency} with this date_generation "
                              f"was loaded already (file {printable(earlier[0])})", id_structure_ali=number)
            return
        self.conn.execute(
            "INSERT INTO registry.ali_webrsa_report (file_id, code_structure, date_generation, fichier_stock)"
            " VALUES (%s, %s, %s, %s)",
            (self.file_id, self.agency, generated, values["fichier_stock"] in ("1", "true")))
        self.header = deepcopy(elem)
        self.date_rapport = generated.date()

    # --- dossiers

    def read_dossier(self, elem: Any) -> Iterator[RawRow]:
        self.dossiers += 1
        where = f"{DOSSIER}[{self.dossiers}]"
        line = elem.sourceline or 0
        if self.refused:
            return
        if self.header is None:
            raise QuarantineError(f"line {line}: {DOSSIER} before the {HEADER} header")
        document = etree.Element(ROOT)
        document.append(deepcopy(self.header))
        etree.SubElement(document, DOSSIERS).append(deepcopy(elem))
        errors = self.schema.errors(document, f"{ROOT}/{DOSSIERS}")
        if errors:
            yield self.reject(where, line, "validation_schema", "; ".join(errors), id_personne=_sent(elem, "id_personne"))
            return
        self.batch.append(self._events(elem, where, line))
        if len(self.batch) >= BATCH:
            yield from self.flush()

    def _events(self, elem: Any, where: str, line: int) -> _Dossier:
        dossier = _Dossier(where, line, int(_text(elem, "id_personne")))
        for child in elem:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "liste_referents_parcours":
                for item in child:
                    dossier.events.append(self._designation(item, f"{where}/{child.tag}/{item.tag}"))
            elif child.tag == "liste_rendez_vous":
                for rank, item in enumerate(child, start=1):
                    dossier.events.append(self._appointment(item, f"{where}/{child.tag}/{item.tag}[{rank}]"))
            elif child.tag == "liste_cers":
                for rank, item in enumerate(child, start=1):
                    dossier.events.append(self._event(item, f"{where}/{child.tag}/{item.tag}[{rank}]",
                                                      "CONTRAT_SIGNE", "date_signature", "id_referent"))
            elif child.tag == "liste_changements_orientation":
                for item in child:
                    dossier.events.append(self._reorientation(item, f"{where}/{child.tag}/{item.tag}"))
            elif child.tag == "formulaire_d2" and child.find("sortie_accompagnement") is not None:
                dossier.events.append(self._exit(child, f"{where}/{child.tag}/sortie_accompagnement"))
        return dossier

    def _event(self, item: Any, where: str, evenement: str, date_tag: str, referent_tag: str | None) -> _Event:
        referent = _sent(item, referent_tag) if referent_tag else None
        return _Event(where, item.sourceline or 0, _sent(item, "id_ali"), evenement,
                      date.fromisoformat(_text(item, date_tag)[:10]), referent=referent)

    def _designation(self, item: Any, where: str) -> _Event:
        return self._event(item, where, "PRISE_EN_CHARGE", "date_designation", "id_webrsa")

    def _appointment(self, item: Any, where: str) -> _Event:
        event = self._event(item, where, "", "date_rdv", "id_referent")
        structure = int(_text(item, "id_structurereferente"))
        objet = int(_text(item, "id_objet_rdv"))
        statut = int(_text(item, "id_statut_rdv"))
        code = self.referentiel.structures.get(structure)
        if code is None:
            event.reject = ("structure_inconnue", f"id_structurereferente {structure} is no structure of the "
                                                  "référentiel")
        elif code != self.agency:
            event.reject = ("STRUCTURE_MISMATCH", f"id_structurereferente {structure} is {code}, not {self.agency}")
        elif objet not in self.referentiel.rdv_objets:
            event.reject = ("rdv_objet_inconnu", f"id_objet_rdv {objet} is no object of the référentiel")
        elif statut not in self.referentiel.rdv_statuts:
            event.reject = ("rdv_statut_inconnu", f"id_statut_rdv {statut} is no status of the référentiel")
        event.evenement = self.referentiel.rdv_statuts.get(statut, "")
        return event

    def _reorientation(self, item: Any, where: str) -> _Event:
        event = self._event(item, where, "REORIENTATION_DEMANDEE", "date_demande", "id_referent")
        asked = int(_text(item, "id_type_orientation"))
        motifs = self.referentiel.reorientation_motifs
        event.motif = motifs.get(asked)
        if event.motif is None:
            event.reject = ("UNKNOWN_MOTIF", f"id_type_orientation {asked} is no parcours an agency may ask for "
                            if asked in motifs else f"id_type_orientation {asked} is no type of the référentiel")
        return event

    def _exit(self, form: Any, where: str) -> _Event:
        exit_ = form.find("sortie_accompagnement")
        event = _Event(where, exit_.sourceline or 0, _sent(form, "id_ali"), "SORTIE", self.date_rapport)
        motif = int(_text(exit_, "id_motif_sortie_accompagnement"))
        event.motif = self.referentiel.exit_motifs.get(motif)
        if event.motif is None:
            event.reject = ("UNKNOWN_MOTIF", f"id_motif_sortie_accompagnement {motif} is no exit motif of the "
                                             "référentiel")
        return event

    # --- people, then rows

    def flush(self) -> Iterator[RawRow]:
        """Resolve the waiting dossiers' people in one query, then yield their rows in document order."""
        batch, self.batch = self.batch, []
        referrals = referrals_of(self.conn, self.agency, (dossier.id_personne for dossier in batch))
        self.known = accepted_events(self.conn, (ident for held in referrals.values() for _, ident in held or ()))
        for dossier in batch:
            held = referrals.get(dossier.id_personne)
            if held is None:
                yield self.reject(dossier.element, dossier.line, "personne_inconnue",
                                  f"id_personne {dossier.id_personne} is no person of the exchange",
                                  id_personne=dossier.id_personne)
                continue
            if not held:
                yield self.reject(dossier.element, dossier.line, "REFERRAL_NOT_HELD",
                                  f"id_personne {dossier.id_personne} was never referred to {self.agency}",
                                  id_personne=dossier.id_personne)
                continue
            for event in dossier.events:
                yield from self._rows(dossier, event, held)

    def _rows(self, dossier: _Dossier, event: _Event, held: list[tuple[date, str]]) -> Iterator[RawRow]:
        sent = {"id_personne": dossier.id_personne, "id_ali": event.id_ali}
        reject = event.reject or self._referent_reject(event)
        if reject is None and event.evenement == NO_EVENT:
            return  # a planned, cancelled, postponed or excused appointment: nothing to report (yet)
        reject = reject or self._date_reject(event)
        if reject is not None:
            yield self.reject(event.element, event.line, *reject, **sent)
            return
        # The referral at this agency on the event's day: the latest one begun by then, else the first.
        id_orientation = next((ident for since, ident in reversed(held) if since <= event.date_evenement),
                              held[0][1])
        if (id_orientation, event.evenement, event.date_evenement) in self.known:
            return  # sent again (a stock report, a diff re-sending what changed): the warehouse has it
        referent = self.referentiel.referents.get(event.referent) if event.referent else None
        number = self.number()
        yield RawRow(LINE_TABLE, (
            number, self.agency, self.date_rapport, id_orientation, event.evenement, event.date_evenement,
            event.motif, referent.nom if referent else None, referent.email if referent else None,
        ))
        yield RawRow(ELEMENT_TABLE, (number, event.element, event.line, dossier.id_personne, event.id_ali))

    def _referent_reject(self, event: _Event) -> tuple[str, str] | None:
        if event.referent is None:
            return None
        referent = self.referentiel.referents.get(event.referent)
        if referent is None or referent.code_structure != self.agency:
            return "referent_inconnu", f"référent {event.referent} is no référent of {self.agency} in the référentiel"
        if referent.date_cloture is not None and referent.date_cloture < event.date_evenement:
            return "referent_cloture", (f"référent {event.referent} left on {referent.date_cloture}, before the "
                                        f"event of {event.date_evenement}")
        return None

    def _date_reject(self, event: _Event) -> tuple[str, str] | None:
        if event.date_evenement > self.today:
            return "DATE_INCOHERENT", f"{event.evenement} of {event.date_evenement} is in the future (today is {self.today})"
        if event.date_evenement > self.date_rapport:
            return "DATE_INCOHERENT", (f"{event.evenement} of {event.date_evenement} is after the report's "
                                       f"date_generation {self.date_rapport}")
        return None


def _text(elem: Any, tag: str) -> str:
    child = elem.find(tag)
    return (child.text or "").strip() if child is not None else ""


def _sent(elem: Any, tag: str) -> int | None:
    """An integer the agency sent, if it is one (a schema-invalid dossier may hold anything)."""
    value = _text(elem, tag)
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def _date_generation(text: str) -> datetime | None:
    """The header's date_generation, None when the pattern holds but the date does not exist."""
    found = _DATE_GENERATION.fullmatch(text)
    if found is None:
        return None
    try:
        return datetime.fromisoformat(f"{found.group(1)} {found.group(2)}{found.group(3) or ''}")
    except ValueError:
        return None


# ----------------------------------------------------------------------------------------------
# Parsing


def read_ali_webrsa_report(stream: BinaryIO, agency_code: str, today: date, conn: psycopg.Connection,
                           file_id: int) -> Iterator[RawRow]:
    """Rows of one ALI-WebRSA report dropped in the folder ``agency_code``, loaded as file ``file_id``.

    Yields ``ali_report_line`` (with its ``ali_webrsa_element``) and ``ali_report_reject`` rows, see the
    module's doc. Runs inside the load's transaction on ``conn``: the report's record (deja_traite) is
    rolled back with the file. Raises QuarantineError when the file as a whole cannot be used,
    RuntimeError when the référentiel's seeds disagree, SchemaSetupError when the XSD is unusable.
    """
    report = _Report(conn, file_id, agency_code, today)
    stream.seek(0)
    try:
        prolog = read_prolog(stream.read(PROLOG_BYTES), declaration_required=False)
    except PrologError as error:
        raise QuarantineError(str(error)) from None
    stream.seek(prolog.skip)
    parser = etree.XMLPullParser(
        events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False,
        remove_comments=True, remove_pis=True,
    )
    state = _Walk()
    try:
        while chunk := stream.read(_CHUNK_BYTES):
            parser.feed(chunk)
            yield from _events(parser, report, state)
        root = parser.close()
        yield from _events(parser, report, state)
    except etree.XMLSyntaxError as error:
        line = error.lineno if isinstance(error.lineno, int) else 0
        raise QuarantineError(f"line {line}: not well-formed XML ({_syntax_kind(error)})") from None
    if root is None or root.tag != ROOT:
        raise QuarantineError(f"root element is <{getattr(root, 'tag', 'nothing')}>, expected <{ROOT}>")
    if not state.header_seen:
        raise QuarantineError(f"no {HEADER} header")
    yield from report.flush()


@dataclass
class _Walk:
    doctype_checked: bool = False
    header_seen: bool = False
    dossiers_seen: bool = False


def _events(parser: etree.XMLPullParser, report: _Report, state: _Walk) -> Iterator[RawRow]:
    for event, elem in parser.read_events():
        if not state.doctype_checked:
            state.doctype_checked = True
            info = elem.getroottree().docinfo
            if info.doctype or info.internalDTD is not None or info.system_url or info.public_id:
                raise QuarantineError("a DOCTYPE declaration (DTD) before the root element: refused, a report of "
                                      "the WebRSA exchange has none (its entities are never read)")
        depth = _depth(elem)
        line = elem.sourceline or 0
        if depth == 0:
            if elem.tag != ROOT:
                raise QuarantineError(f"line {line}: root element is <{_tag(elem)}>, expected <{ROOT}>")
            continue
        if event == "start":
            if depth == 1:
                _check_top(elem, state, line)
            elif depth == 2 and elem.getparent().tag == DOSSIERS and elem.tag != DOSSIER:
                raise QuarantineError(f"line {line}: <{_tag(elem)}> in {DOSSIERS}: only {DOSSIER} elements may be there")
            continue
        if depth == 1 and elem.tag == HEADER:
            yield from report.read_header(elem)
            _free(elem)
        elif depth == 2 and elem.tag == DOSSIER:
            yield from report.read_dossier(elem)
            _free(elem)


def _check_top(elem: Any, state: _Walk, line: int) -> None:
    if elem.tag == HEADER and not state.header_seen and not state.dossiers_seen:
        state.header_seen = True
    elif elem.tag == DOSSIERS and state.header_seen and not state.dossiers_seen:
        state.dossiers_seen = True
    else:
        raise QuarantineError(f"line {line}: <{_tag(elem)}> not expected here: a report is one {HEADER} "
                              f"then at most one {DOSSIERS}")


def _depth(elem: Any) -> int:
    depth = 0
    parent = elem.getparent()
    while parent is not None and depth < 3:
        depth += 1
        parent = parent.getparent()
    return depth


def _free(elem: Any) -> None:
    """Constant memory: drop the element's content and every sibling already read."""
    elem.clear()
    parent = elem.getparent()
    while elem.getprevious() is not None:
        del parent[0]


def _tag(elem: Any) -> str:
    tag = elem.tag if isinstance(elem.tag, str) else "?"
    return tag if _PATH_STEP.match(tag) else "(an element)"


def _syntax_kind(error: etree.XMLSyntaxError) -> str:
    """libxml2's error kind, never its message (which may quote the file's text)."""
    kind = getattr(error, "type_name", None) or ""
    return kind if re.fullmatch(r"[A-Z0-9_]{1,60}", kind) else "syntax error"
