"""Write one agency's extract file for a day, in one of its formats, and beside it its JSON manifest.

Every format (aiguillage.extracts.formats) goes through :func:`write_extract`: the day and the contract's
field lengths checked first (aiguillage.extracts.safety), the file written under a hidden name, a file
people open in a spreadsheet checked for cells a spreadsheet would run, then renamed into place with
its manifest. This module also writes the CSV itself (:func:`write_csv`).

The CSV (contract: docs/data-contracts.md §5): UTF-8 with a BOM (spreadsheets then read the accents
right), ``;``-separated, one header line with ``columns.EXTRACT_COLUMNS`` in order, dates as
YYYY-MM-DD, an empty field for a missing or empty value, fields quoted only when they hold ``;``, ``"`` or
a line break. Lines end with ``\\n`` (LF), the line ending PostgreSQL's CSV output uses: every
spreadsheet and CSV reader accepts it, and the bytes come straight from the server untouched.
Rows are ordered by type_mouvement, then id_orientation (byte order, whatever the server's
collation), then the whole line, so the same day's lines always give the same bytes. A text value that
a spreadsheet would run as a formula is written with a leading apostrophe (aiguillage.extracts.spreadsheet).

The rows are streamed from the server by ``COPY ... TO STDOUT`` into a temporary file: constant
memory, whatever the size. Only counts and paths are logged, never a value of a line.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, date, datetime
from hashlib import sha256
from pathlib import Path

import psycopg
from psycopg import sql

from aiguillage.extracts import columns, files, formats, safety
from aiguillage.extracts.spreadsheet import neutralised_sql

log = logging.getLogger(__name__)

BOM = "\ufeff".encode()


class ExtractDayMismatch(RuntimeError):
    """The lines table was built for another day than the one asked for."""


def lines_table() -> sql.Composable:
    schema, table = columns.LINES_TABLE.split(".")
    return sql.Identifier(schema, table)


# The order of the lines in every format: the same day's lines always give the same bytes.
LINE_ORDER = sql.SQL('l.type_mouvement COLLATE "C", l.id_orientation COLLATE "C", l::text COLLATE "C"')

TEXT, DATE, NUMBER = "text", "date", "number"
_NUMERIC_TYPES = ("smallint", "integer", "bigint", "numeric", "real", "double precision")


def column_kinds(conn: psycopg.Connection) -> dict[str, str]:
    """Each column of the lines table → "date", "number" or "text", as the table types it: dates become
    date cells, numbers number cells, everything else (codes, identifiers) text."""
    rows = conn.execute(
        "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute"
        " WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped", (columns.LINES_TABLE,),
    ).fetchall()
    kinds = {name: DATE if kind == "date" else NUMBER if kind.startswith(_NUMERIC_TYPES) else TEXT
             for name, kind in rows}
    return {name: kinds.get(name, TEXT) for name in columns.EXTRACT_COLUMNS}


def _copy_query(code_structure: str, fichier: str, kinds: dict[str, str]) -> sql.Composed:
    # As text, with '' read as missing: an empty value is always an empty field, never `""`.
    def cell(name: str) -> sql.Composable:
        value = sql.SQL("l.{}::text").format(sql.Identifier(name))
        return neutralised_sql(value) if kinds[name] == TEXT else value

    wanted = sql.SQL(", ").join(
        sql.SQL("nullif({0}, '') AS {1}").format(cell(name), sql.Identifier(name)) for name in columns.EXTRACT_COLUMNS)
    return sql.SQL(
        "COPY (SELECT {wanted} FROM {table} AS l WHERE l.fichier = {fichier} AND l.code_structure = {code}"
        " ORDER BY {order}) TO STDOUT WITH (FORMAT csv, DELIMITER ';', HEADER true, QUOTE '\"', ENCODING 'UTF8')"
    ).format(wanted=wanted, table=lines_table(), fichier=sql.Literal(fichier), code=sql.Literal(code_structure),
             order=LINE_ORDER)


def check_day(conn: psycopg.Connection, day: date, code_structure: str, fichier: str) -> None:
    """Fail when the lines table holds another day: it only ever holds the latest day built."""
    table = lines_table()
    low, high = conn.execute(
        sql.SQL("SELECT min(date_extrait), max(date_extrait) FROM {} WHERE fichier = %s AND code_structure = %s")
        .format(table), (fichier, code_structure),
    ).fetchone()
    if low is None:  # no line for this agency today: the table's other lines tell the day
        low, high = conn.execute(sql.SQL("SELECT min(date_extrait), max(date_extrait) FROM {}").format(table)).fetchone()
    if low is None:
        raise ExtractDayMismatch(
            f"{columns.LINES_TABLE} holds no line at all: it cannot be confirmed as built for {day}; "
            f"build the referral warehouse for {day} before writing the extracts"
        )
    if low != day or high != day:
        built = str(low) if low == high else f"{low} to {high}"
        raise ExtractDayMismatch(
            f"{columns.LINES_TABLE} holds the lines of {built}, not of {day}: build the referral "
            f"warehouse for {day} before writing its extracts (the table only keeps the latest day built)"
        )


def rows_by_type(conn: psycopg.Connection, code_structure: str, fichier: str) -> dict[str, int]:
    counts = conn.execute(
        sql.SQL("SELECT coalesce(type_mouvement, ''), count(*) FROM {} WHERE fichier = %s AND code_structure = %s"
                " GROUP BY 1 ORDER BY 1").format(lines_table()), (fichier, code_structure),
    ).fetchall()
    expected = columns.MOVEMENT_TYPES if fichier == columns.MOVEMENTS else (columns.STOCK_TYPE,)
    # Every expected type is listed, with 0 when absent; anything unexpected is shown as it is.
    by_type = dict.fromkeys(expected, 0)
    by_type.update((kind, int(n)) for kind, n in counts)
    return by_type


def _stream_csv(conn: psycopg.Connection, query: sql.Composed, tmp: Path) -> str:
    """COPY the rows into ``tmp`` (BOM first), fsynced; returns the file's sha256."""
    digest = sha256(BOM)
    with open(tmp, "wb") as handle:
        handle.write(BOM)
        with conn.cursor() as cursor, cursor.copy(query) as copy:
            for block in copy:
                handle.write(block)
                digest.update(block)
        handle.flush()
        os.fsync(handle.fileno())
    return digest.hexdigest()


def _manifest_matches(manifest: Path, digest: str) -> bool:
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("sha256") == digest
    except (OSError, ValueError, AttributeError):
        return False


def write_csv(conn: psycopg.Connection, day: date, code_structure: str, fichier: str, path: Path) -> dict:
    """The CSV format's writer (aiguillage.extracts.formats): the agency's lines of ``fichier`` into ``path``."""
    with conn.transaction():
        conn.execute("SET LOCAL DateStyle = 'ISO, YMD'")  # dates as YYYY-MM-DD, whatever the server says
        by_type = rows_by_type(conn, code_structure, fichier)
        digest = _stream_csv(conn, _copy_query(code_structure, fichier, column_kinds(conn)), Path(path))
    return {"rows": sum(by_type.values()), "rows_by_type": by_type, "sha256": digest}


def write_extract(conn: psycopg.Connection, day: date, code_structure: str, fichier: str, folder: Path,
                  run_id: str, format: str = formats.CSV) -> dict:
    """Write ``fichier`` ('mouvements' or 'stock') of agency ``code_structure`` for ``day`` in ``format``
    into ``folder``: the file, then its manifest. Rerunning the same day gives the same bytes; when the
    file already there is identical, both files are left untouched (``unchanged`` is True).

    Raises safety.UnsafeExtract (nothing placed) when a value is longer than the contract allows or a
    written spreadsheet file holds a cell a spreadsheet would run.
    Returns {"fichier", "format", "path", "csv" (the same path, under its historical key), "manifest",
    "rows", "rows_by_type", "sha256", "unchanged"}.
    """
    files.check_code(code_structure)
    files.check_fichier(fichier)
    kind = formats.get(format)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / kind.file_name(code_structure, fichier, day)
    manifest_path = folder / files.manifest_name(path.name)
    tmp = files.temporary_path(path)

    try:
        # One transaction, on one snapshot when we open it ourselves: the day check, the counts and
        # the rows then describe the same lines even if the table is rebuilt meanwhile.
        top_level = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with conn.transaction():
            # (A writer that also writes, the WebRSA one numbering identifiers, keeps the default level:
            # two agencies' tasks inserting the same new identifier must not fail on a snapshot.)
            if top_level and kind.reads_only:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            check_day(conn, day, code_structure, fichier)
            safety.check_lengths(conn, code_structure, fichier, path.name)
            written = kind.write(conn, day, code_structure, fichier, tmp)
            if kind.spreadsheet:
                safety.check_file(tmp, path.name, column_kinds(conn))
        digest, by_type = written["sha256"], written["rows_by_type"]

        unchanged = (path.is_file() and files.sha256_of(path) == digest
                     and _manifest_matches(manifest_path, digest))
        if not unchanged:
            # The old manifest goes first: a manifest on disk always describes the file beside it.
            manifest_path.unlink(missing_ok=True)
            os.replace(tmp, path)
            files.fsync_folder(folder)
            manifest = {
                "schema_version": columns.SCHEMA_VERSION,
                "code_structure": code_structure,
                "date": day.isoformat(),
                "fichier": fichier,
                "format": kind.name,
                "file_name": path.name,
                "run_id": run_id,
                "row_count": sum(by_type.values()),
                "rows_by_type": by_type,
                "sha256": digest,
                # The columns of a table-shaped file (CSV, XLSX); the XML follows its partner's schema.
                **({"columns": list(columns.EXTRACT_COLUMNS)} if kind.spreadsheet else {}),
                "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            files.write_bytes_atomically(
                manifest_path, (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    finally:
        tmp.unlink(missing_ok=True)

    rows = sum(by_type.values())
    log.info("extract %s (%s) of %s for %s: %d rows %s (%s)", fichier, kind.name, code_structure, day, rows,
             "unchanged" if unchanged else "written", path)
    return {
        "fichier": fichier,
        "format": kind.name,
        "path": str(path),
        "csv": str(path),
        "manifest": str(manifest_path),
        "rows": rows,
        "rows_by_type": by_type,
        "sha256": digest,
        "unchanged": unchanged,
    }
