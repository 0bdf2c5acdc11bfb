"""The CNAF's contact-details file of the synthetic world (data contract §11).

Written beside the monthly CAF flow, one line per adult (DEM, CJT) of each dossier, in the layout
rdv-insertion's public code expects of the real file: ``;``-separated, windows-1252, CRLF, dates
JJ/MM/AAAA. Most dossiers have a phone, a mobile more often than a landline, written the ways
people write them (``06 12 34 56 78``, ``0612345678``, ``+33 6 12 34 56 78``); some have an e-mail.
With defects, a few lines break the contract (a short number, an e-mail without @), each described.
Deterministic: the same seed gives the same bytes.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path
from typing import TextIO

from aiguillage.synth.model import Household
from aiguillage.synth.rng import STREAM_CONTACTS, derived_random

CONTACTS_DIR = "caf_contacts"
COLUMNS = (
    "MATRICULE", "ROLE PERSONNE", "TYPE PERSONNE", "NIR", "NUMERO DEMANDE RSA", "DATE DEMANDE RSA",
    "DATE DEBUT DROITS - DEVOIRS", "NOM RESPONSABLE DOSSIER", "PRENOM RESPONSABLE DOSSIER",
    "NUMERO TELEPHONE DOSSIER", "NUMERO TELEPHONE 2 DOSSIER", "ADRESSE ELECTRONIQUE DOSSIER",
)
# A dossier in this many gets a broken line, with defects.
_BAD_LINE_EVERY = 150


def contacts_file_name(day: date) -> str:
    """``contacts_rsa_<YYYYMMDD>.csv``: the day the CNAF extracted the contacts."""
    return f"contacts_rsa_{day:%Y%m%d}.csv"


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isalnum() and c.isascii()).lower()


class ContactsWriter:
    """Writes one contact-details file, a dossier at a time."""

    def __init__(self, path: Path, seed: int, defects: bool) -> None:
        self.path = path
        self.lines = 0
        self.defects: list[str] = []
        self._with_defects = defects
        self._rng = derived_random(seed, STREAM_CONTACTS, 0)
        self._file: TextIO = open(path, "w", encoding="windows-1252", errors="replace", newline="")  # noqa: SIM115
        self._write(COLUMNS)

    def _write(self, fields) -> None:
        self._file.write(";".join(fields) + "\r\n")

    def _number(self, mobile: bool) -> str:
        r = self._rng
        digits = ("0" + r.choice("67") if mobile else "01") + "".join(r.choice("0123456789") for _ in range(8))
        style = r.random()
        if style < 0.4:
            return " ".join(digits[i:i + 2] for i in range(0, 10, 2))
        if style < 0.5:
            return "+33 " + digits[1] + " " + " ".join(digits[i:i + 2] for i in range(2, 10, 2))
        return digits

    def write(self, household: Household) -> None:
        r = self._rng
        responsible = next((p for p in household.persons if p.role == "DEM"), None)
        if responsible is None:
            return
        phone_1 = phone_2 = email = ""
        draw = r.random()
        if draw < 0.85:
            phone_1 = self._number(mobile=r.random() < 0.75)
            if r.random() < 0.2:
                phone_2 = self._number(mobile=r.random() < 0.5)
        if r.random() < 0.4:
            email = f"{_ascii(responsible.prenom)}.{_ascii(responsible.nom)}{r.randrange(100)}@courriel.example"
        broken = self._with_defects and household.index % _BAD_LINE_EVERY == 7
        if broken:
            phone_1, email = "06 12 34", email.replace("@", " chez ") if email else "sans-arobase"
        matricule = household.matricule[:7] if len(household.matricule) == 15 else household.matricule
        if r.random() < 0.1:
            matricule = matricule.lstrip("0") or "0"  # saved by a spreadsheet
        for person in household.persons:
            if person.role not in ("DEM", "CJT"):
                continue
            self._write((
                matricule, person.role, "P", person.nir if person.nir_known_to_caf else "",
                household.numdemrsa, f"{household.dtdemrsa:%d/%m/%Y}", f"{person.ddratdos:%d/%m/%Y}",
                responsible.nom, responsible.prenom, phone_1, phone_2, email,
            ))
            self.lines += 1
            if broken:
                self.defects.append(f"{CONTACTS_DIR}/{self.path.name}: line {self.lines + 1}: a phone number of "
                                    "6 digits and an e-mail without @ (PHONE_FORMAT)")

    def close(self) -> None:
        self._file.close()
