"""Where each kind of partner file lives in the landing zone, and what its name tells.

Layout (data contract §1)::

    <landing>/caf/*.xml                      CAF/MSA VRSB0801 flows
    <landing>/caf_contacts/*<YYYYMMDD>*.csv  the CNAF's contact details of the RSA caseload (phone,
                                             e-mail); the name's date orders the deliveries
    <landing>/france_travail/<kind>_*.csv    kind = inscriptions | cessations | radiations | stock
    <landing>/ali/<code_structure>/*.csv     ALI activity reports, one folder per agency
    <landing>/ali/<code_structure>/*.xml     the same in the WebRSA exchange format (ALI-WebRSA)
    <landing>/departement/<kind>_*.csv       the Département's own files: kind = decisions (the
                                             orientation team's decisions) | remobilisation
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath

# The CNAF's contact-details files: a source of their own (not VRSB0801 flows), data contract §11.
CAF_CONTACTS = "caf_contacts"
# An agency's report in the WebRSA exchange format (ALI-WebRSA.xsd), beside our CSV "activity_report".
WEBRSA_REPORT = "webrsa_report"
FRANCE_TRAVAIL_KINDS = ("inscriptions", "cessations", "radiations", "stock")
# The Département's own files, told apart by their name's prefix like France Travail's.
DEPARTEMENT_KINDS = ("decisions", "remobilisation")
AGENCY_CODE = re.compile(r"^ALI(0[1-9]|1[0-9]|2[0-2])\Z")  # \Z, not $: "$" also matches before a final newline
_NAME_DATE = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")
# Files still being written by a transfer tool, or hidden files: not ours to read yet.
_IN_TRANSIT_SUFFIXES = (".part", ".partial", ".tmp", ".filepart", ".crdownload")


@dataclass(frozen=True)
class Placement:
    """What a file's place in the landing zone says about it."""

    source: str  # caf | caf_contacts | france_travail | ali | departement | unknown
    kind: str | None
    agency_code: str | None
    problem: str | None  # why the file cannot be taken as a partner file, if it cannot


def is_in_transit(relative_path: str) -> bool:
    name = PurePosixPath(relative_path).name
    return name.startswith(".") or name.lower().endswith(_IN_TRANSIT_SUFFIXES)


def classify(relative_path: str) -> Placement:
    """Source and kind of a file from its path relative to the landing zone."""
    parts = PurePosixPath(relative_path).parts
    name = parts[-1]
    lower = name.lower()
    if parts[0] == "caf" and len(parts) == 2:
        if lower.endswith(".xml"):
            return Placement("caf", None, None, None)  # kind comes from the header's TYPEFLUX
        return Placement("caf", None, None, "a CAF flow must be an .xml file")
    if parts[0] == CAF_CONTACTS and len(parts) == 2:
        return _caf_contacts(relative_path)
    if parts[0] == "france_travail" and len(parts) == 2:
        if not lower.endswith(".csv"):
            return Placement("france_travail", None, None, "a France Travail flow must be a .csv file")
        kind = lower.split("_", 1)[0]
        if kind not in FRANCE_TRAVAIL_KINDS or "_" not in lower:
            expected = ", ".join(f"{k}_" for k in FRANCE_TRAVAIL_KINDS)
            return Placement("france_travail", None, None,
                             f"file name must start with one of {expected} to tell its kind")
        return Placement("france_travail", kind, None, None)
    if parts[0] == "ali" and len(parts) == 3:
        agency = parts[1]
        if not AGENCY_CODE.match(agency):
            return Placement("ali", "activity_report", None,
                             f"folder {agency!r} is not an agency code (ALI01 to ALI22)")
        if lower.endswith(".xml"):
            return Placement("ali", WEBRSA_REPORT, agency, None)  # the WebRSA exchange (ALI-WebRSA)
        if not lower.endswith(".csv"):
            return Placement("ali", "activity_report", agency,
                             "an ALI activity report must be a .csv file (ours) or an .xml file (WebRSA exchange)")
        return Placement("ali", "activity_report", agency, None)
    if parts[0] == "departement" and len(parts) == 2:
        return _departement(lower)
    return Placement(
        "unknown", None, None,
        "not in a known place of the landing zone "
        "(expected caf/*.xml, caf_contacts/*.csv, france_travail/<kind>_*.csv, ali/<ALInn>/*.csv or .xml "
        "or departement/<kind>_*.csv)",
    )


def _caf_contacts(relative_path: str) -> Placement:
    # Which contact details are the latest is told by the day of each file: the name must carry it.
    if not relative_path.lower().endswith(".csv"):
        return Placement(CAF_CONTACTS, "contacts", None, "a CNAF contact-details file must be a .csv file")
    if date_in_name(relative_path) is None:
        return Placement(CAF_CONTACTS, "contacts", None,
                         "a CNAF contact-details file name must carry its day as YYYYMMDD")
    return Placement(CAF_CONTACTS, "contacts", None, None)


def _departement(lower_name: str) -> Placement:
    if not lower_name.endswith(".csv"):
        return Placement("departement", None, None, "a file of the Département must be a .csv file")
    kind = lower_name.split("_", 1)[0]
    if kind not in DEPARTEMENT_KINDS or "_" not in lower_name:
        expected = ", ".join(f"{k}_" for k in DEPARTEMENT_KINDS)
        return Placement("departement", None, None, f"file name must start with one of {expected} to tell its kind")
    return Placement("departement", kind, None, None)


def date_in_name(relative_path: str) -> date | None:
    """The last YYYYMMDD stamp of the file name (``inscriptions_20261126.csv``), if any."""
    found = _NAME_DATE.findall(PurePosixPath(relative_path).name)
    for year, month, day in reversed(found):
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            continue
    return None
