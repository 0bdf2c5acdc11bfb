"""Synthetic agencies' activity reports, written from what each agency was delivered.

Each agency with a report folder (ALI01 … ALI22, the landing zone's rule) reads its extracts in the
outbox as it would: ``<outbox>/<code>/<YYYY-MM-DD>/orientations_<code>_<day>.csv`` and ``stock_…``
(and, for the agencies that speak the WebRSA exchange, ``export_webrsa_ali_<code>_{stock|diff}_<day>.xml``).
Every referral it holds lives its story (:mod:`aiguillage.synth.agency_stories`); once the pipeline
has run day D, the report of D+1 carries what happened on D:

- ``<landing>/ali/<code>/ali_<code>_<D+1>.csv`` (data contract §4), with now and then a bad line of the
  kinds agencies really send (an unknown event, a date in the future, another agency's code, a motif
  that does not go with the event, a date written the French way), each listed in the summary;
- for an agency in ``xml_agencies`` that received WebRSA exports: ``ali_webrsa_<code>_<D+1>.xml``
  (``ALI-WebRSA``) instead, with the events that exchange carries (:mod:`.ali_webrsa_report`), and
  now and then a dossier on a person it was never sent (``personne_inconnue``).

Stateless and deterministic: a referral's story depends on the seed, the agency, the referral and
the day its episode began, so any day's reports can be written again, byte for byte, from the outbox.
Events dated before the agency first saw the referral, or from the day it was closed, are never
reported: the warehouse would rightly refuse them.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

from aiguillage.ingest.ali_reader import ALI_COLUMNS
from aiguillage.landing.layout import AGENCY_CODE
from aiguillage.synth.agency_stories import EXIT, AgencyEvent, events_on, referral_number
from aiguillage.synth.names import ORIGIN_GROUPS
from aiguillage.synth.rng import WeightedPicker, derive_seed, derived_random

ALI_DIR = "ali"
STREAM_BAD_LINES = 12
BAD_LINE_RATE = 0.01  # about one line in a hundred is one an agency's software should not have sent
_DAY_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
_EXPORT_XML = re.compile(r"^export_webrsa_ali_(ALI\d\d)_(stock|diff)_(\d{8})\.xml\Z")
_COUNSELLORS_PER_AGENCY = 6
# id_personne of a person no extract ever named (the exchange's integers stay far below it).
UNKNOWN_PERSON = 999_000_000
# What a bad line breaks, and the reason the reader gives it (docs/data-contracts.md §4).
BAD_KINDS = WeightedPicker(["UNKNOWN_EVENT", "DATE_INCOHERENT", "STRUCTURE_MISMATCH", "UNKNOWN_MOTIF", "SCHEMA"],
                           [30, 25, 15, 15, 15])


@dataclass
class Episode:
    """A referral as the agency holds it: from ``start`` (its decision, or the day it arrived), seen
    first on ``first_seen``, closed on ``closed_on``."""

    key: str
    start: date
    first_seen: date
    closed_on: date | None = None
    contract_before: bool = False

    def events_on(self, seed: int, agency: str, day: date) -> list[AgencyEvent]:
        if day < self.first_seen or (self.closed_on is not None and day >= self.closed_on):
            return []
        return events_on(seed, agency, self.key, self.start, day, self.contract_before)


@dataclass
class AgencyReport:
    """One agency's report of a day: the file written, its good lines and the bad lines (line → reason)."""

    code: str
    path: Path
    events: dict[str, int] = field(default_factory=dict)
    bad_lines: dict[int, str] = field(default_factory=dict)


@dataclass
class ReportsSummary:
    reports: list[AgencyReport] = field(default_factory=list)

    def events(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for report in self.reports:
            for event, count in report.events.items():
                total[event] = total.get(event, 0) + count
        return total


def report_path(landing: Path, code: str, day: date, suffix: str = "csv") -> Path:
    """``<landing>/ali/<code>/ali_<code>_<YYYYMMDD>.csv`` (or ``ali_webrsa_<code>_<YYYYMMDD>.xml``)."""
    name = f"ali_{code}_{day:%Y%m%d}.csv" if suffix == "csv" else f"ali_webrsa_{code}_{day:%Y%m%d}.xml"
    return Path(landing) / ALI_DIR / code / name


def write_agency_reports(outbox: Path, landing: Path, day: date, seed: int,
                         xml_agencies: frozenset[str] | set[str] = frozenset()) -> ReportsSummary:
    """The reports every agency sends after ``day`` ran: what happened on ``day``, dated ``day`` + 1."""
    summary = ReportsSummary()
    outbox = Path(outbox)
    agencies = sorted(entry.name for entry in outbox.iterdir() if entry.is_dir() and AGENCY_CODE.match(entry.name)) \
        if outbox.is_dir() else []
    for code in agencies:
        exports = _export_files(outbox / code, day) if code in xml_agencies else []
        report = (_xml_report(exports, code, landing, day, seed) if exports
                  else _csv_report(outbox / code, code, landing, day, seed))
        if report is not None:
            summary.reports.append(report)
    return summary


def delivered_referrals(agency_dir: Path, until: date) -> dict[str, Episode]:
    """The referrals an agency's CSV extracts of ``until`` and before gave it, by id_orientation."""
    held: dict[str, Episode] = {}
    for day, folder in _day_folders(agency_dir, until):
        code = agency_dir.name
        for name in (f"orientations_{code}_{day:%Y%m%d}.csv", f"stock_{code}_{day:%Y%m%d}.csv"):
            if (folder / name).is_file():
                for row in _extract_rows(folder / name):
                    _take(held, row["id_orientation"], row.get("type_mouvement", ""), day,
                          _decision_day(row), bool(row.get("date_contrat")))
    return held


def _take(held: dict[str, Episode], key: str, movement: str, day: date, decided: date | None,
          contract_before: bool) -> None:
    """Apply one delivered line to what the agency holds."""
    current = held.get(key)
    is_open = current is not None and current.closed_on is None
    if movement == "CLOTUREE":
        if is_open:
            current.closed_on = day
    elif not is_open and key:
        decided = decided or day
        start = max(decided, day) if movement == "NOUVELLE" else min(decided, day)
        held[key] = Episode(key, start, day, contract_before=contract_before)


def _csv_report(agency_dir: Path, code: str, landing: Path, day: date, seed: int) -> AgencyReport | None:
    lines = []
    for key, episode in sorted(delivered_referrals(agency_dir, day).items()):
        for event in episode.events_on(seed, code, day):
            lines.append((key, event))
    if not lines:
        return None
    report = AgencyReport(code, report_path(landing, code, day + timedelta(days=1)))
    rng = derived_random(seed, STREAM_BAD_LINES, referral_number(code), day.toordinal())
    rows = []
    for key, event in lines:
        referent = counsellor(seed, code, key)
        rows.append([code, (day + timedelta(days=1)).isoformat(), key, event.evenement, event.day.isoformat(),
                     event.motif, referent.nom, referent.email])
        report.events[event.evenement] = report.events.get(event.evenement, 0) + 1
        if rng.random() < BAD_LINE_RATE:
            kind = BAD_KINDS.pick(rng)
            rows.append(_bad_row(rows[-1], kind, code, day))
            report.bad_lines[len(rows) + 1] = kind  # line 1 is the header
    # Some agencies' software writes a spreadsheet's CSV (BOM, CRLF), others plain UTF-8 lines.
    spreadsheet = int(code[3:]) % 2 == 0
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n" if spreadsheet else "\n")
    writer.writerow(ALI_COLUMNS)
    writer.writerows(rows)
    _write_atomically(report.path, ("\ufeff" if spreadsheet else "") + text.getvalue())
    return report


def _bad_row(good: list[str], kind: str, code: str, day: date) -> list[str]:
    """A copy of a good line broken the way ``kind`` says (column order: ALI_COLUMNS)."""
    bad = list(good)
    if kind == "UNKNOWN_EVENT":
        bad[3] = "RDV_ANNULE"
    elif kind == "DATE_INCOHERENT":
        bad[4] = (day + timedelta(days=9)).isoformat()  # typed a week ahead: after the report, in the future
    elif kind == "STRUCTURE_MISMATCH":
        bad[0] = f"ALI{int(code[3:]) % 22 + 1:02d}"
    elif kind == "UNKNOWN_MOTIF":
        bad[3], bad[5] = EXIT, "RETRAITE"
    else:  # SCHEMA
        bad[4] = f"{day:%d/%m/%Y}"
    return bad


@dataclass(frozen=True)
class Counsellor:
    """One of an agency's counsellors: its number in the Département's référentiel, name and e-mail."""

    id_referent: int
    code_structure: str
    nom: str
    email: str


@cache
def agency_counsellors(seed: int, code: str) -> tuple[Counsellor, ...]:
    """The few counsellors of agency ``code`` (the same for a seed): what the Département publishes in
    its référentiel of référents (``registry.webrsa_referent``) for the WebRSA exchange."""
    found = []
    for number in range(_COUNSELLORS_PER_AGENCY):
        rng = derived_random(seed, STREAM_BAD_LINES, referral_number(code), number, 0)
        group = ORIGIN_GROUPS[int(rng.random() * len(ORIGIN_GROUPS))]
        names = group.female_first_names if rng.random() < 0.7 else group.male_first_names
        first = names[int(rng.random() * len(names))]
        last = group.last_names[int(rng.random() * len(group.last_names))]
        found.append(Counsellor(int(code[3:]) * 100 + number + 1, code, f"{first.title()} {last}",
                                f"{_ascii(first)}.{_ascii(last)}@{code.lower()}.example"))
    return tuple(found)


def counsellor(seed: int, code: str, key: str) -> Counsellor:
    """The counsellor in charge of referral ``key`` at agency ``code``."""
    return agency_counsellors(seed, code)[referral_number(f"{code}|{key}") % _COUNSELLORS_PER_AGENCY]


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]+", "-", plain.lower()).strip("-")


def _export_files(agency_dir: Path, until: date) -> list[tuple[date, Path]]:
    found = []
    for day, folder in _day_folders(agency_dir, until):
        for entry in sorted(folder.iterdir()):
            match = _EXPORT_XML.match(entry.name)
            if match and match.group(1) == agency_dir.name and entry.is_file():
                found.append((day, entry))
    return found


def _xml_report(exports: list[tuple[date, Path]], code: str, landing: Path, day: date,
                seed: int) -> AgencyReport | None:
    from aiguillage.synth.ali_webrsa_report import XmlDossier, carried, report_document, webrsa_codes

    structure, held = _xml_referrals(exports)
    dossiers = []
    report = AgencyReport(code, report_path(landing, code, day + timedelta(days=1), "xml"))
    rng = derived_random(seed, STREAM_BAD_LINES, referral_number(code), day.toordinal())
    for key, episode in sorted(held.items(), key=lambda item: int(item[0])):
        events = [event for event in episode.events_on(seed, code, day) if carried(event.evenement)]
        if events:
            dossiers.append(XmlDossier(int(key), counsellor(seed, code, key).id_referent, events))
            for event in events:
                report.events[event.evenement] = report.events.get(event.evenement, 0) + 1
            if rng.random() < BAD_LINE_RATE:  # the same events on a person the agency was never sent
                dossiers.append(XmlDossier(UNKNOWN_PERSON + len(dossiers), dossiers[-1].referent, events))
                report.bad_lines[len(dossiers)] = "personne_inconnue"  # the dossier's place in the file
    if not dossiers or structure is None:
        return None
    minutes = derive_seed(seed, referral_number(code), day.toordinal()) % 180
    generated = datetime.combine(day, time(19)) + timedelta(minutes=minutes)
    _write_atomically(report.path, report_document(structure, generated, dossiers, webrsa_codes()))
    return report


def _xml_referrals(exports: list[tuple[date, Path]]) -> tuple[int | None, dict[str, Episode]]:
    """(the agency's id_structure_ali, referrals by id_personne) from its WebRSA exports, in day order."""
    from lxml import etree

    closed_status = _closed_status()
    structure = None
    held: dict[str, Episode] = {}
    for day, path in exports:
        # Our own files, still parsed as untrusted XML: no entities, no network.
        for _, element in etree.iterparse(str(path), events=("end",), tag=("id_structure_ali", "dossier"),
                                          resolve_entities=False, no_network=True, load_dtd=False):
            if element.tag == "id_structure_ali":
                structure = int(element.text)
                continue
            key = element.findtext("id_personne", "").strip()
            orientations = element.findall("orientations/orientation")
            dates = [(orientation.findtext("date_orient") or "").strip() for orientation in orientations]
            decided = date.fromisoformat(max(dates)) if dates and all(dates) else None
            closing = closed_status is not None and bool(orientations) and all(  # none left open here
                (orientation.findtext("statut_orient") or "").strip() == closed_status for orientation in orientations)
            _take(held, key, "CLOTUREE" if closing else "STOCK", day, decided, element.find("cers/cer") is not None)
            element.clear()  # constant memory: the dossier, and the ones read before it, are dropped
            while element.getprevious() is not None:
                del element.getparent()[0]
    return structure, held


def _closed_status() -> str | None:
    """The WebRSA statut_orient of a closed referral in the exports (seed webrsa_correspondances)."""
    return next((row["identifiant"] for row in _correspondences()
                 if row.get("referentiel") == "orient_statut" and row.get("code") == "CLOTUREE"), None)


def _correspondences() -> tuple[dict[str, str], ...]:
    from aiguillage.ingest.csv_fields import seed_rows

    return seed_rows("webrsa_correspondances")


def _day_folders(agency_dir: Path, until: date) -> list[tuple[date, Path]]:
    folders = []
    for entry in agency_dir.iterdir():
        if entry.is_dir() and _DAY_FOLDER.match(entry.name):
            day = date.fromisoformat(entry.name)
            if day <= until:
                folders.append((day, entry))
    return sorted(folders)


def _extract_rows(path: Path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        yield from csv.DictReader(handle, delimiter=";")


def _decision_day(row: dict[str, str]) -> date | None:
    for column in ("date_notification", "date_orientation"):
        try:
            return date.fromisoformat((row.get(column) or "").strip())
        except ValueError:
            continue
    return None


def _write_atomically(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")  # hidden: the scan never reads half a file
    temporary.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    temporary.replace(path)


def publish_counsellors(conn, seed: int, codes: list[str] | frozenset[str]) -> None:
    """Put these agencies' counsellors in the Département's référentiel of référents, as it publishes
    them for the WebRSA exchange (rows already there are kept, whoever wrote them)."""
    rows = [(c.id_referent, c.code_structure, c.nom, c.email) for code in sorted(codes)
            for c in agency_counsellors(seed, code)]
    with conn.cursor() as cursor:
        cursor.executemany("INSERT INTO registry.webrsa_referent (id_referent, code_structure, nom, email)"
                           " VALUES (%s, %s, %s, %s) ON CONFLICT (id_referent) DO NOTHING", rows)
