"""The CNAF's contact-details files (phone numbers, e-mail of the RSA caseload) into raw rows.

Contract: docs/data-contracts.md §11. ``<landing>/caf_contacts/*<YYYYMMDD>*.csv``. The columns are the
ones rdv-insertion's public code expects of this file (MATRICULE, ROLE PERSONNE, TYPE PERSONNE, NIR,
NUMERO DEMANDE RSA, DATE DEMANDE RSA, DATE DEBUT DROITS - DEVOIRS, NOM RESPONSABLE DOSSIER, PRENOM
RESPONSABLE DOSSIER, NUMERO TELEPHONE DOSSIER, NUMERO TELEPHONE 2 DOSSIER, ADRESSE ELECTRONIQUE
DOSSIER); what that code does not tell (separator, encoding, date format) is read leniently:

- the separator is the one of ``;``, ``,`` or tab under which the header holds the required columns;
  fields may be quoted as a spreadsheet saves them;
- windows-1252 / ISO-8859-1 or UTF-8 with or without BOM (:mod:`aiguillage.ingest.text_files`);
- columns are found by their header's names (trimmed, case-insensitive), in any order; columns this
  reader does not know are ignored; NOM and PRENOM RESPONSABLE DOSSIER are never read (minimisation:
  the person is known by NIR and MATRICULE); a required column missing, or one read twice, quarantines
  the file.

Each data line becomes a ``caf_contact`` or a ``caf_contact_reject`` (the others still load). A line
with neither phone nor e-mail carries nothing to keep and is skipped. Rules, first failing one wins:
COLUMN_COUNT, FIELD_TOO_LONG (:data:`MAX_CHARS`), MATRICULE_FORMAT (1 to 15 digits), DATE_INVALID
(JJ/MM/AAAA or AAAA-MM-JJ), PHONE_FORMAT (:func:`national_phone`), EMAIL_FORMAT (:func:`checked_email`).
An unusable NIR does not reject the line: it is kept with ``nir_valid`` false, and the warehouse finds
the person by MATRICULE and role instead. Reject details name columns and rules, never a value.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import BinaryIO

from aiguillage.ingest.csv_fields import LineReject
from aiguillage.ingest.raw_tables import RawRow
from aiguillage.ingest.text_files import Source, iter_lines, quarantine
from aiguillage.nir import is_valid_nir

__all__ = ["MAX_CHARS", "OPTIONAL_COLUMNS", "REQUIRED_COLUMNS", "checked_email", "national_phone",
           "normalised_matricule", "read_contacts"]

LINE_TABLE = "caf_contact"
REJECT_TABLE = "caf_contact_reject"

PHONE_1, PHONE_2, EMAIL = "NUMERO TELEPHONE DOSSIER", "NUMERO TELEPHONE 2 DOSSIER", "ADRESSE ELECTRONIQUE DOSSIER"
REQUIRED_COLUMNS = ("MATRICULE", "NIR", "ROLE PERSONNE", PHONE_1, PHONE_2, EMAIL)
OPTIONAL_COLUMNS = ("NUMERO DEMANDE RSA", "TYPE PERSONNE", "DATE DEMANDE RSA", "DATE DEBUT DROITS - DEVOIRS")
_SEPARATORS = (";", ",", "\t")

# Longest value of each read column (characters, once trimmed), before any normalisation.
MAX_CHARS: dict[str, int] = {
    "MATRICULE": 15,
    "NIR": 15,
    "ROLE PERSONNE": 3,
    "TYPE PERSONNE": 3,
    "NUMERO DEMANDE RSA": 11,
    "DATE DEMANDE RSA": 10,
    "DATE DEBUT DROITS - DEVOIRS": 10,
    PHONE_1: 25,
    PHONE_2: 25,
    EMAIL: 254,  # RFC 5321's limit on a path
}

_DIGITS = re.compile(r"[0-9]{1,15}")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_FRENCH_DATE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
# Separators people and spreadsheets put in phone numbers; "(0)" after an international prefix.
_PHONE_SEPARATORS = re.compile(r"[\s.\-/\u00a0]")
_NATIONAL = re.compile(r"0[1-9][0-9]{8}")
# Metropolitan France, then the overseas departments with their own country code (Réunion and
# Mayotte, Guadeloupe, Guyane, Martinique): their numbers keep their 9 digits after a 0 nationally.
_FRENCH_COUNTRY_CODES = ("33", "262", "590", "594", "596")
# Loose on purpose: one @, an RFC 5322 atom-ish local part, a domain of dotted labels.
_EMAIL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
                    r"(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+")


def national_phone(text: str) -> str | None:
    """A French phone number in national form (``0612345678``), or None when it is not one.

    Accepted: ten digits from 01 to 09, with spaces, dots, dashes or slashes; +33 or 0033 (or the
    overseas codes +262, +590, +594, +596) then nine digits, ``(0)`` tolerated after the code; nine
    digits not starting with 0 (a spreadsheet dropped the leading zero).
    """
    value = _PHONE_SEPARATORS.sub("", text).replace("(0)", "")
    if value.startswith("00"):
        value = "+" + value[2:]
    if value.startswith("+"):
        for code in _FRENCH_COUNTRY_CODES:
            rest = value[1 + len(code):]
            if value[1:].startswith(code) and len(rest) == 9 and rest.isascii() and rest.isdigit():
                value = "0" + rest
                break
        else:
            return None
    elif len(value) == 9 and value[:1] in "123456789":
        value = "0" + value
    return value if _NATIONAL.fullmatch(value) else None


def is_mobile(national: str) -> bool:
    """06 and 07 numbers are mobiles (the overseas mobiles, 0639 and 069x, too)."""
    return national[:2] in ("06", "07")


def checked_email(text: str) -> str | None:
    """The address lower-cased when it looks like one (loosely: mail servers have the last word)."""
    value = text.lower()
    return value if len(value) <= MAX_CHARS[EMAIL] and _EMAIL.fullmatch(value) else None


def normalised_matricule(text: str) -> str | None:
    """The allocataire number on 7 digits, or None when it is not 1 to 15 digits.

    A spreadsheet drops leading zeros (``123456`` is ``0123456``); the CNAF's software may write the
    number on 15 digits, the 7 of the number then 8 zeros. The same rule as the macro
    ``normalised_matricule`` of the dbt project, which applies it to the VRSB0801 flows' MATRICULE.
    """
    if not _DIGITS.fullmatch(text):
        return None
    if len(text) == 15 and text.endswith("00000000"):
        text = text[:7]
    return text.zfill(7)


class _Layout:
    """Where each read column sits in the file's lines, and the file's separator, from its header."""

    def __init__(self, path: Source, line_number: int, text: str) -> None:
        best: tuple[int, str, list[str]] | None = None
        for separator in _SEPARATORS:
            names = [name.strip().strip('"').strip().upper() for name in _split(text, separator, header=True)]
            found = sum(1 for name in REQUIRED_COLUMNS if name in names)
            if best is None or found > best[0]:
                best = (found, separator, names)
        found, self.separator, names = best
        if found < len(REQUIRED_COLUMNS):
            missing = [name for name in REQUIRED_COLUMNS if name not in names]
            # The header's values are never quoted: a file without a header has a data line here.
            raise quarantine(path, line_number, f"header: required column(s) {', '.join(missing)} not found "
                                                "(separator ; , or tab) for a CNAF contact-details file")
        self.width = len(names)
        self.index: dict[str, int] = {}
        for position, name in enumerate(names):
            if name in REQUIRED_COLUMNS or name in OPTIONAL_COLUMNS:
                if name in self.index:
                    raise quarantine(path, line_number, f"header: column {name!r} appears twice")
                self.index[name] = position

    def values(self, text: str) -> dict[str, str]:
        fields = _split(text, self.separator)
        if len(fields) != self.width:
            raise LineReject("COLUMN_COUNT", f"{self.width} columns expected (as in the header), {len(fields)} found")
        value = {name: fields[position].strip() for name, position in self.index.items()}
        for name in OPTIONAL_COLUMNS:
            value.setdefault(name, "")
        return value


def _split(text: str, separator: str, header: bool = False) -> list[str]:
    """Fields of one line; the csv module only when quotes are present (the common case is plain)."""
    if '"' not in text:
        return text.split(separator)
    try:
        return next(csv.reader([text], delimiter=separator, strict=True))
    except csv.Error as error:
        if header:
            return text.split(separator)
        raise LineReject("SCHEMA", f"malformed quoting: {error}") from None


def read_contacts(path: Path | BinaryIO) -> Iterator[RawRow]:
    """Rows of one contact-details file; ``path``: the file, or a binary stream opened on it.

    Yields ``RawRow("caf_contact", values)`` for good lines and
    ``RawRow("caf_contact_reject", (line_number, reason_code, detail, raw_line))`` for bad ones; values
    follow ``raw_tables.COLUMNS`` without ``file_id``. Raises QuarantineError when the file as a whole
    cannot be used (empty, binary, no header of this file).
    """
    lines = iter_lines(path)
    layout = _header(path, lines)
    for line_number, text in lines:
        if not text.strip():
            continue
        try:
            value = layout.values(text)
            if not any(value.get(name) for name in (PHONE_1, PHONE_2, EMAIL)):
                continue  # nothing to keep: no phone, no e-mail
            yield RawRow(LINE_TABLE, _line_values(line_number, value))
        except LineReject as reject:
            yield RawRow(REJECT_TABLE, (line_number, reject.reason_code, reject.detail, text))


def _header(path: Source, lines: Iterator[tuple[int, str]]) -> _Layout:
    for line_number, text in lines:
        if text.strip():
            return _Layout(path, line_number, text)
    raise quarantine(path, 1, "empty file: a header line is expected")


def _line_values(line_number: int, value: dict[str, str]) -> tuple:
    for name, limit in MAX_CHARS.items():
        if len(value.get(name, "")) > limit:
            raise LineReject("FIELD_TOO_LONG", f"column {name} has {len(value[name])} characters, at most {limit} allowed")
    matricule = normalised_matricule(value["MATRICULE"])
    if matricule is None:
        raise LineReject("MATRICULE_FORMAT", f"column MATRICULE is not 1 to 15 digits ({len(value['MATRICULE'])} "
                                             "characters)")
    date_demande = _date("DATE DEMANDE RSA", value["DATE DEMANDE RSA"])
    date_debut = _date("DATE DEBUT DROITS - DEVOIRS", value["DATE DEBUT DROITS - DEVOIRS"])
    phones = []
    for column in (PHONE_1, PHONE_2):
        phone = national_phone(value[column]) if value[column] else None
        if value[column] and phone is None:
            raise LineReject("PHONE_FORMAT", f"column {column} is not a French phone number "
                                             f"({len(value[column])} characters)")
        phones.append(phone)
    email = checked_email(value[EMAIL]) if value[EMAIL] else None
    if value[EMAIL] and email is None:
        raise LineReject("EMAIL_FORMAT", f"column {EMAIL} is not an e-mail address ({len(value[EMAIL])} characters)")
    nir = value["NIR"].upper() or None
    return (
        line_number, matricule, value["NUMERO DEMANDE RSA"] or None, value["ROLE PERSONNE"].upper() or None,
        value["TYPE PERSONNE"].upper() or None, nir, nir is not None and is_valid_nir(nir),
        date_demande, date_debut, phones[0], phones[1], email,
    )


def _date(column: str, value: str) -> date | None:
    """JJ/MM/AAAA (as the CNAF and spreadsheets write dates) or AAAA-MM-JJ; empty is None."""
    if not value:
        return None
    found = _FRENCH_DATE.fullmatch(value)
    parts = (found.group(3), found.group(2), found.group(1)) if found else None
    if parts is None and (iso := _ISO_DATE.fullmatch(value)):
        parts = iso.groups()
    if parts is not None:
        try:
            return date(int(parts[0]), int(parts[1]), int(parts[2]))
        except ValueError:
            pass
    raise LineReject("DATE_INVALID", f"column {column} is not a date (JJ/MM/AAAA or AAAA-MM-JJ)")
