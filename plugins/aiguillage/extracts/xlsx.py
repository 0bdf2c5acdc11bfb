"""The XLSX format: one agency's extract file as a workbook that opens right in Excel or LibreOffice.

One sheet (``orientations`` or ``stock``), the CSV's columns in the CSV's order (columns.EXTRACT_COLUMNS)
and the CSV's line order; the header row frozen and filterable. Codes and identifiers (numero_caf,
code_postal, id_orientation…) are text cells: leading zeros stay. Dates are date cells shown
``yyyy-mm-dd``; a numeric column of the lines table gives number cells. A text cell that a spreadsheet
would run (aiguillage.extracts.spreadsheet) keeps its text and gets a quote-prefix style: it stays
text, even when someone edits it.

Written with the standard library only, in constant memory: the rows come from a server-side cursor
into a temporary sheet file, which is then zipped with the workbook's fixed parts. The bytes depend on
the content only (fixed entry order and timestamps, nothing of the clock), so a rerun of the same day
gives the same file and the same sha256.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import psycopg
from psycopg import sql

from aiguillage.extracts import columns, files
from aiguillage.extracts.spreadsheet import runs_as_formula

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the zip format's earliest: no build time in the file
_EPOCH = date(1899, 12, 30)  # day 0 of spreadsheet date serials (1900 system)
_BATCH = 2000

# Cell styles (indexes into cellXfs of styles.xml below).
GENERAL, TEXT, TEXT_QUOTED, DATE, HEADER = 0, 1, 2, 3, 4

_STYLES = (
    f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    # 49 is the built-in "@" (text) format: what is typed into the cell later stays text too.
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" quotePrefix="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="49" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/>'
    '</cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>'
)
_CONTENT_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml"'
    ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml"'
    ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml"'
    ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '</Types>'
)
_PACKAGE_RELS = (
    f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK_RELS = (
    f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'
)

# Characters XML 1.0 cannot carry are written as the format's own _xHHHH_ escape; a literal "_x0041_"
# in a value gets its "_" escaped, so that it reads back as written.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")


def column_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_LETTERS = [column_letters(i) for i in range(len(columns.EXTRACT_COLUMNS))]


def _xml_text(value: str) -> str:
    value = _UNWRITABLE.sub(lambda m: "_x005F_" if m.group() == "_" else f"_x{ord(m.group()):04X}_", value)
    # A carriage return as a character reference: an XML reader would otherwise turn it into a line feed.
    return escape(value).replace("\r", "&#13;")


def _text_cell(ref: str, text: str, style: int) -> str:
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text or "\t" in text else ""
    return f'<c r="{ref}" s="{style}" t="inlineStr"><is><t{space}>{_xml_text(text)}</t></is></c>'


def _cell(ref: str, value: object) -> str:
    if value is None or value == "":
        return ""  # an empty value is no cell, as in the CSV an empty field
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f'<c r="{ref}" s="{DATE}"><v>{(value - _EPOCH).days}</v></c>'
    if isinstance(value, int | Decimal | float) and not isinstance(value, bool):
        return f'<c r="{ref}" s="{GENERAL}"><v>{value}</v></c>'
    text = str(value)
    return _text_cell(ref, text, TEXT_QUOTED if runs_as_formula(text) else TEXT)


def _widths() -> str:
    """Column widths from the header and the contract's maximum length, within reason (no data pass)."""
    cols = []
    for index, name in enumerate(columns.EXTRACT_COLUMNS, start=1):
        width = min(max(len(name), columns.MAX_LENGTHS.get(name, 20)), 40) + 2
        cols.append(f'<col min="{index}" max="{index}" width="{width}" customWidth="1"/>')
    return "<cols>" + "".join(cols) + "</cols>"


def _rows_query(code_structure: str, fichier: str) -> sql.Composed:
    from aiguillage.extracts.writer import LINE_ORDER, lines_table

    wanted = sql.SQL(", ").join(sql.SQL("l.{}").format(sql.Identifier(name)) for name in columns.EXTRACT_COLUMNS)
    return sql.SQL("SELECT {wanted} FROM {table} AS l WHERE l.fichier = %s AND l.code_structure = %s"
                   " ORDER BY {order}").format(wanted=wanted, table=lines_table(), order=LINE_ORDER)


def _write_rows(conn: psycopg.Connection, code_structure: str, fichier: str, body: Path) -> int:
    """The sheet's rows (header first) into ``body``, streamed; returns the number of lines."""
    count = 0
    with open(body, "w", encoding="utf-8", newline="") as out:
        out.write('<row r="1">' + "".join(
            _text_cell(f"{letter}1", name, HEADER) for letter, name in zip(_LETTERS, columns.EXTRACT_COLUMNS,
                                                                            strict=True)) + "</row>")
        with conn.cursor(name="aiguillage_xlsx_lines") as cursor:
            cursor.itersize = _BATCH
            cursor.execute(_rows_query(code_structure, fichier), (fichier, code_structure))
            for count, values in enumerate(cursor, start=1):
                line = count + 1
                out.write(f'<row r="{line}">' + "".join(
                    _cell(f"{letter}{line}", value) for letter, value in zip(_LETTERS, values, strict=True))
                    + "</row>")
    return count


def _sheet_parts(sheet_name: str, lines: int) -> tuple[str, str]:
    last = f"{_LETTERS[-1]}{lines + 1}"
    head = (
        f'{_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
        f'<dimension ref="A1:{last}"/>'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/>{_widths()}<sheetData>'
    )
    tail = f'</sheetData><autoFilter ref="A1:{last}"/></worksheet>'
    return head, tail


def _workbook(sheet_name: str, lines: int) -> str:
    last = f"${_LETTERS[-1]}${lines + 1}"
    return (
        f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        f'<bookViews><workbookView/></bookViews>'
        f'<sheets><sheet name="{sheet_name}" sheetId="1" r:id="rId1"/></sheets>'
        # The filter's range, as spreadsheets record it: some only show the filter buttons with it.
        f'<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
        f"'{sheet_name}'!$A$1:{last}</definedName></definedNames></workbook>"
    )


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    return info


def write_file(conn: psycopg.Connection, day: date, code_structure: str, fichier: str, path: Path) -> dict:
    """The XLSX format's writer (aiguillage.extracts.formats): the agency's lines of ``fichier`` into
    ``path``. Returns {"rows", "rows_by_type", "sha256"}."""
    from aiguillage.extracts.writer import rows_by_type

    path = Path(path)
    sheet_name = "stock" if files.check_fichier(fichier) == columns.STOCK else "orientations"
    body = path.with_name(f".{path.name}.sheet")
    try:
        with conn.transaction():
            by_type = rows_by_type(conn, code_structure, fichier)
            lines = _write_rows(conn, code_structure, fichier, body)
        head, tail = _sheet_parts(sheet_name, lines)
        size = body.stat().st_size
        with open(path, "wb") as handle:
            with zipfile.ZipFile(handle, "w", compresslevel=6) as book:
                for name, text in (("[Content_Types].xml", _HEAD + _CONTENT_TYPES), ("_rels/.rels", _HEAD + _PACKAGE_RELS),
                                   ("xl/workbook.xml", _workbook(sheet_name, lines)),
                                   ("xl/_rels/workbook.xml.rels", _HEAD + _WORKBOOK_RELS),
                                   ("xl/styles.xml", _HEAD + _STYLES)):
                    book.writestr(_entry(name), text.encode("utf-8"))
                with book.open(_entry("xl/worksheets/sheet1.xml"), "w", force_zip64=size > 1 << 30) as sheet, \
                        open(body, "rb") as rows:
                    sheet.write(head.encode("utf-8"))
                    shutil.copyfileobj(rows, sheet, 1 << 20)
                    sheet.write(tail.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        body.unlink(missing_ok=True)
    return {"rows": sum(by_type.values()), "rows_by_type": by_type, "sha256": files.sha256_of(path)}
