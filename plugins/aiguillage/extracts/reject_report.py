"""What an agency sent that was rejected, told back to it the next morning: ``rejets_<code>_<YYYYMMDD>.csv``.

The run of day D loads the agency reports that arrived since the day before (CSV or WebRSA format,
docs/data-contracts.md §4) and checks their lines against the referrals; its extracts DAG then
writes, for each agency that sent files read by that run, ``<outbox>/<code>/<D>/rejets_<code>_<D>.csv``
beside its extract (data contract §4, "Rapport de rejets"): one line per rejected line or element,
with the file, the line or element, the reason's code and its wording in French, the detail, and the
identifiers the agency sent (id_orientation, or id_personne and id_ali; the event and its date). A
file refused whole (quarantined, or refused for its name or place) is one line. An agency whose files were all accepted gets the header line only:
it knows its files were read.

Every value goes through :func:`aiguillage.extracts.spreadsheet.neutralised`; UTF-8 with a BOM,
``;``-separated like the extract. Nothing but what the agency itself sent: never a NIR (neither format
carries one), never another agency's data. Rerunning a day rewrites the same bytes.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import psycopg

from aiguillage import dag_defaults, warehouse
from aiguillage.extracts import files
from aiguillage.extracts.spreadsheet import neutralised
from aiguillage.ingest.csv_fields import split_fields
from aiguillage.ingest.raw_tables import REJECT_REASONS
from aiguillage.landing.names import printable
from aiguillage.observability.log_context import fields, run_log
from aiguillage.run_lock import exclusive

__all__ = ["HEADER", "REASONS_FR", "report_name", "rows_for", "write_reports"]

log = run_log(__name__)

HEADER = ("fichier", "ligne_ou_element", "code_motif", "motif", "precision", "id_orientation", "id_personne",
          "id_ali", "evenement", "date_evenement")
FILE_REFUSED = "FICHIER_REFUSE"

# The agencies read these: every reason code an agency's report can get (raw_tables.REJECT_REASONS
# holds the operators' wording of the same codes; a test checks that both list the same ALI codes).
REASONS_FR = {
    FILE_REFUSED: "Fichier refusé en entier : rien n'en a été chargé, à corriger et renvoyer",
    "SCHEMA": "Champ obligatoire manquant ou mal formé",
    "FIELD_TOO_LONG": "Valeur plus longue que ne le permet la colonne",
    "STRUCTURE_MISMATCH": "La structure indiquée n'est pas celle du dossier de dépôt",
    "UNKNOWN_EVENT": "Événement inconnu",
    "UNKNOWN_MOTIF": "Motif absent, inconnu ou non admis pour cet événement",
    "DATE_INCOHERENT": "Date dans le futur, postérieure au compte rendu ou antérieure à l'orientation",
    "DUPLICATE_EVENT": "Événement déjà enregistré",
    "UNKNOWN_REFERRAL": "id_orientation inconnu",
    "REFERRAL_NOT_HELD": "Personne non orientée vers votre structure à cette date",
    "validation_schema": "Non conforme au schéma ALI-WebRSA",
    "deja_traite": "Fichier déjà traité : un compte rendu de même date de génération a déjà été chargé",
    "personne_inconnue": "Personne inconnue (id_personne)",
    "referent_inconnu": "Référent inconnu pour votre structure",
    "referent_cloture": "Référent clôturé à la date de l'événement",
    "structure_inconnue": "Structure inconnue du référentiel",
    "rdv_objet_inconnu": "Objet de rendez-vous inconnu du référentiel",
    "rdv_statut_inconnu": "Statut de rendez-vous inconnu du référentiel",
}
# The codes an ALI report can get, reader's and warehouse's: those of REJECT_REASONS from SCHEMA to the
# exchange's own.
ALI_REASONS = tuple(code for code in REASONS_FR if code != FILE_REFUSED)

_XML_SENT = ("element", "line", "id_personne", "id_ali")


def report_name(code_structure: str, day: date) -> str:
    return f"rejets_{files.check_code(code_structure)}_{day:%Y%m%d}.csv"


def _agencies_with_files(conn: psycopg.Connection, day: date) -> list[str]:
    return [code for code, in conn.execute(
        "SELECT DISTINCT agency_code FROM registry.landing_file WHERE source = 'ali' AND logical_date = %s"
        " AND agency_code IS NOT NULL AND status <> 'duplicate' ORDER BY 1", (day,))]


def rows_for(conn: psycopg.Connection, code_structure: str, day: date) -> list[tuple]:
    """The report's lines for one agency: its files first recorded by the run of ``day``, in file and
    line order; each a tuple of HEADER's values."""
    checked = conn.execute("SELECT to_regclass('intermediate.int_ali__events_checked')").fetchone()[0]
    downstream = (
        " UNION ALL SELECT c.file_id, c.line_number, c.motif_rejet, NULL, NULL, c.id_orientation, c.evenement,"
        " c.date_evenement, e.element, e.source_line, e.id_personne, e.id_ali"
        " FROM intermediate.int_ali__events_checked AS c"
        " LEFT JOIN raw.ali_webrsa_element AS e USING (file_id, line_number)"
        " WHERE c.statut = 'REJETE' AND c.file_id IN (SELECT file_id FROM day_files)"
    ) if checked else ""
    rows = conn.execute(
        "WITH day_files AS (SELECT file_id FROM registry.landing_file WHERE source = 'ali' AND logical_date = %s"  # noqa: S608 - constant SQL only
        " AND agency_code = %s AND status IN ('loaded', 'loaded_with_rejects', 'quarantined'))"
        " SELECT r.file_id, line_number, reason_code, detail, raw_line, NULL, NULL, NULL::date, NULL, NULL::int,"
        " NULL::bigint, NULL::bigint FROM raw.ali_report_reject AS r WHERE r.file_id IN (SELECT file_id FROM day_files)"
        + downstream + " ORDER BY 1, 2",
        (day, code_structure)).fetchall()
    names = {file_id: (path, kind, status, reason) for file_id, path, kind, status, reason in conn.execute(
        "SELECT file_id, relative_path, kind, status, status_reason FROM registry.landing_file"
        " WHERE source = 'ali' AND logical_date = %s AND agency_code = %s AND status <> 'duplicate'",
        (day, code_structure))}
    lines = []
    for path, _, status, reason in (names[file_id] for file_id in sorted(names)):
        if status in ("quarantined", "refused"):
            lines.append((_file_name(path), "", FILE_REFUSED, REASONS_FR[FILE_REFUSED], reason or "", "", "", "", "",
                          ""))
    for (file_id, number, code, detail, raw_line, id_orientation, evenement, when, element, source_line,
         id_personne, id_ali) in rows:
        path, kind, _, _ = names[file_id]
        sent = _sent(kind, raw_line) if raw_line is not None else {
            "id_orientation": id_orientation if element is None else "", "evenement": evenement,
            "date_evenement": when.isoformat() if when else "", "element": element, "line": source_line,
            "id_personne": id_personne, "id_ali": id_ali}
        where = (f"{sent['element']} (ligne {sent['line']})" if sent.get("element") else f"ligne {number}")
        lines.append((_file_name(path), where, code, REASONS_FR.get(code, REJECT_REASONS.get(code, code)),
                      detail or "", sent.get("id_orientation") or "", sent.get("id_personne") or "",
                      sent.get("id_ali") or "", sent.get("evenement") or "", sent.get("date_evenement") or ""))
    return lines


def _file_name(relative_path: str) -> str:
    return printable(Path(relative_path).name)


def _sent(kind: str | None, raw_line: str) -> dict:
    """The identifiers the agency sent, from a rejected line as received (CSV) or as the WebRSA reader
    described the element (``element=...; line=...; id_personne=...; id_ali=...``)."""
    if raw_line.startswith("element="):
        parts = dict(part.split("=", 1) for part in raw_line.split("; ") if "=" in part)
        return {key: parts.get(key, "") for key in _XML_SENT}
    try:
        values = [value.strip() for value in split_fields(raw_line)]
    except Exception:  # noqa: BLE001 - a line the reader could not split: nothing to quote but its number
        return {}
    if len(values) < 5:
        return {}
    # id_orientation, evenement, date_evenement: columns 3 to 5 of the CSV report, each bounded.
    return {"id_orientation": values[2][:64], "evenement": values[3][:40], "date_evenement": values[4][:10]}


def render(rows: list[tuple]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([neutralised(value) for value in row])
    return "\ufeff".encode() + text.getvalue().encode("utf-8")


def write_reports(conn: psycopg.Connection, outbox: Path, day: date) -> dict[str, int]:
    """Write each agency's report of ``day`` into its day folder; {agency: rejected lines}."""
    from aiguillage.extracts.delivery import upload_by_sftp
    from aiguillage.extracts.destinations import SFTP, config_path, load_destinations

    written = {}
    # Without a delivery configuration every agency is served by the outbox alone.
    destinations = load_destinations(day, conn=conn) if config_path() is not None else {}
    for code in _agencies_with_files(conn, day):
        rows = rows_for(conn, code, day)
        path = files.day_folder(outbox, code, day) / report_name(code, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write_bytes_atomically(path, render(rows))
        # The outbox copy stays in every case: it is the Département's record of what was told back.
        destination = destinations.get(code)
        if destination is not None and destination.method == SFTP:
            upload_by_sftp([path], destination, day)
        written[code] = len(rows)
    return written


@exclusive("referral_extracts", part="reject_reports")
def deliver_reject_reports(logical_date: datetime, outbox_dir: str | None) -> dict:
    """The referral_extracts task: each agency's reject report of the day, whatever the quality gate says
    (it is about the agency's own files, not about the referrals it receives)."""
    from aiguillage.extracts.daily import resolve_outbox

    day = dag_defaults.day_of(logical_date)
    with warehouse.connect() as conn:
        written = write_reports(conn, resolve_outbox(outbox_dir), day)
    log.info("reject reports: %s", fields(agencies=len(written), rejects=sum(written.values())))
    return {"day": day.isoformat(), "agencies": written}
