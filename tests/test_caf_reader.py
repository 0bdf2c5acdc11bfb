"""CAF VRSB0801 reader: exact rows of the sample, encodings, generated flows and their defects,
per-dossier anomalies that are flagged, file-level problems that quarantine, constant memory."""

from __future__ import annotations

import logging
import random
import re
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest

from aiguillage.ingest import caf_reader
from aiguillage.ingest.caf_reader import read_caf
from aiguillage.ingest.raw_tables import CAF_FLAGS, COLUMNS, QuarantineError, RawRow
from aiguillage.ingest.values import (
    parse_amount,
    parse_boolean,
    parse_french_date,
    parse_integer,
    parse_iso_date,
    parse_time,
)
from aiguillage.synth import generate

REPO = Path(__file__).resolve().parent.parent
SAMPLE = Path(__file__).parent / "fixtures" / "caf_vrsb0801_daily_sample.xml"
CAF_TABLES = ("caf_dossier", "caf_person", "caf_address", "caf_right_situation", "caf_amount", "caf_event")
START = date(2026, 11, 2)


# ----- helpers shared with test_caf_reader_properties.py -----


def _raw_column_types() -> dict[str, dict[str, tuple[str, bool]]]:
    """(SQL type, NOT NULL) of every column of the raw CAF tables, read from the migrations themselves."""
    sql = (REPO / "plugins" / "aiguillage" / "sql" / "002_raw.sql").read_text(encoding="utf-8")
    tables: dict[str, dict[str, tuple[str, bool]]] = {}
    for name, body in re.findall(r"CREATE TABLE raw\.(\w+) \((.*?)\n\);", sql, re.S):
        items, depth, current = [], 0, ""
        for char in body:  # split on the commas that are not inside parentheses
            depth += (char == "(") - (char == ")")
            if char == "," and depth == 0:
                items.append(current)
                current = ""
            else:
                current += char
        items.append(current)
        columns = {}
        for item in (i.strip() for i in items):
            match = re.match(r"(\w+)\s+(\w+(?:\[\])?)", item)
            if match and match.group(1).upper() not in (
                "PRIMARY",
                "UNIQUE",
                "CHECK",
                "CONSTRAINT",
                "FOREIGN",
            ):
                columns[match.group(1)] = (match.group(2), "NOT NULL" in item)
        tables[name] = columns
    # Columns added by later migrations.
    for migration in sorted((REPO / "plugins" / "aiguillage" / "sql").glob("*.sql")):
        text = migration.read_text(encoding="utf-8")
        for table, column, sql_type, rest in re.findall(
            r"ALTER TABLE raw\.(\w+) ADD COLUMN (?:IF NOT EXISTS )?(\w+) (\w+(?:\[\])?)([^;]*);", text
        ):
            if table in tables:
                tables[table][column] = (sql_type, "NOT NULL" in rest)
    return tables


RAW_TYPES = _raw_column_types()


def _conforms(value: object, sql_type: str) -> bool:
    if sql_type == "text":
        # Stripped, non-empty (empty means None) and loadable.
        return type(value) is str and value == value.strip() and value != "" and "\x00" not in value
    if sql_type == "date":
        return type(value) is date
    if sql_type == "time":
        return type(value) is time and value.tzinfo is None
    if sql_type == "boolean":
        return type(value) is bool
    if sql_type == "integer":
        return type(value) is int and -(2**31) <= value < 2**31
    if sql_type == "numeric":  # numeric(12, 2)
        return (
            type(value) is Decimal
            and value.is_finite()
            and abs(value) < 10**10
            and value.as_tuple().exponent >= -2
        )
    if sql_type == "text[]":
        return type(value) is list and all(type(item) is str and item for item in value)
    raise AssertionError(f"unexpected SQL type {sql_type}")


def assert_rows_loadable(rows: list[RawRow]) -> None:
    """Every row would COPY into its raw table: its width, its types, NOT NULL and the primary keys."""
    keys: dict[str, set] = {"caf_dossier": set(), "caf_person": set(), "caf_address": set()}
    for row in rows:
        assert isinstance(row, RawRow) and row.table in CAF_TABLES, row.table
        columns = COLUMNS[row.table]
        assert len(row.values) == len(columns), row.table
        types = RAW_TYPES[row.table]
        for column, value in zip(columns, row.values, strict=True):
            sql_type, not_null = types[column]
            if value is None:
                assert not not_null, f"{row.table}.{column} is NOT NULL"
            else:
                assert _conforms(value, sql_type), (
                    f"{row.table}.{column}: {type(value).__name__} for {sql_type}"
                )
        if "flags" in columns:
            flags = row.values[columns.index("flags")]
            assert all(
                flag.split(":")[0] in CAF_FLAGS or flag.startswith("MISSING_BLOCK:") for flag in flags
            ), flags
        values = dict(zip(columns, row.values, strict=True))
        if row.table == "caf_dossier":
            key = (values["position"],)
        elif row.table == "caf_person":
            key = (values["position"], values["person_position"])
        elif row.table == "caf_address":
            key = (values["position"], values["rgadr"])
        else:
            continue
        assert key not in keys[row.table], f"duplicate primary key {key} in {row.table}"
        keys[row.table].add(key)


def by_table(rows: list[RawRow]) -> dict[str, list[dict]]:
    """Rows as dicts (column → value), grouped by table."""
    tables: dict[str, list[dict]] = {table: [] for table in CAF_TABLES}
    for row in rows:
        tables[row.table].append(dict(zip(COLUMNS[row.table], row.values, strict=True)))
    return tables


def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


def write_flow(path: Path, text: str, encoding: str = "UTF-8") -> Path:
    """Write `text` (a whole VRSB0801 document) with the given encoding declared and used."""
    text = re.sub(r'encoding="[^"]*"', f'encoding="{encoding}"', text, count=1)
    path.write_bytes(text.encode(encoding))
    return path


def read_text(tmp_path: Path, text: str, encoding: str = "UTF-8") -> dict[str, list[dict]]:
    rows = list(read_caf(write_flow(tmp_path / "caf" / "VRSB0801_931_20261126_I.xml", text, encoding)))
    assert_rows_loadable(rows)
    return by_table(rows)


def first_dossier(text: str) -> str:
    """The sample with its second dossier removed (and the trailer count adjusted)."""
    start = text.index("<InfosFoyerRSA>", text.index("</InfosFoyerRSA>"))
    end = text.index("</InfosFoyerRSA>", start) + len("</InfosFoyerRSA>")
    return text[:start] + text[end:].replace("<NBTOTDOSRSATRANSM>2<", "<NBTOTDOSRSATRANSM>1<")


def quarantine_message(
    tmp_path: Path, content: bytes | str, name: str = "VRSB0801_931_20261126_I.xml"
) -> str:
    path = tmp_path / "caf" / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    with pytest.raises(QuarantineError) as caught:
        for _ in read_caf(path):
            pass
    return str(caught.value)


@pytest.fixture(autouse=True)
def _caf_dir(tmp_path):
    (tmp_path / "caf").mkdir()


# ----- the sample file, row by row -----


def test_sample_rows_exactly():
    rows = list(read_caf(SAMPLE))
    assert_rows_loadable(rows)
    assert [row.table for row in rows] == [
        "caf_dossier",
        "caf_person",
        "caf_person",
        "caf_person",
        "caf_address",
        "caf_amount",
        "caf_event",
        "caf_dossier",
        "caf_person",
        "caf_address",
        "caf_address",
        "caf_right_situation",
        "caf_event",
    ]
    tables = by_table(rows)
    first, second = tables["caf_dossier"]
    assert first == {
        "position": 1,
        "fonorg": "CAF",
        "numorg": "931",
        "matricule": "4471203",
        "typeparte": "CG",
        "ideparte": "093",
        "dtdemrsa": date(2026, 10, 2),
        "numdemrsa": "93126100417",
        "etatdosrsa": "2",
        "sitfam": "MAR",
        "ddsitfam": date(2015, 6, 20),
        "topsansdomfixe": False,
        "nbenfautcha": 1,
        "oridemrsa": "DEM",
        "dtoridemrsa": None,
        "topfoydrodevorsa": True,
        "ddelecal": date(2026, 10, 1),
        "mtrevminigararsa": Decimal("1092.87"),
        "mtressmenrsa": Decimal("0.00"),
        "mttotdrorsa": Decimal("962.34"),
        "cedant_fonorg": None,
        "cedant_numorg": None,
        "cedant_matricule": None,
        "cedant_ddarrmut": None,
        "prenant_fonorg": None,
        "prenant_numorg": None,
        "prenant_dddepamut": None,
        "caf_anomalies": [],
        "flags": [],
        "schema_errors": [],
    }
    assert (second["position"], second["matricule"], second["etatdosrsa"]) == (2, "2203318", "4")
    # No MontantsCalculDroitRSA in the second dossier: flagged, amounts unknown, the rest is there.
    assert second["flags"] == ["NO_MONTANTS_CALCUL"]
    assert second["mttotdrorsa"] is None and second["topsansdomfixe"] is False

    persons = tables["caf_person"]
    assert [(p["position"], p["person_position"]) for p in persons] == [(1, 1), (1, 2), (1, 3), (2, 1)]
    assert [(p["matricule"], p["numdemrsa"]) for p in persons[:3]] == [("4471203", "93126100417")] * 3
    karim, samira, yanis, elodie = persons
    assert (karim["nom"], karim["prenom"], karim["dtnai"], karim["rgnai"]) == (
        "BENALI",
        "KARIM",
        date(1985, 7, 14),
        1,
    )
    assert (karim["nir"], karim["nir_valid"], karim["topvaliec"], karim["sexe"]) == (
        "185079306612313",
        True,
        True,
        "1",
    )
    assert (karim["toprespdos"], karim["ddratdos"], karim["dfratdos"]) == (True, date(2026, 10, 1), None)
    assert (karim["toppersdrodevorsa"], karim["mtpersressmenrsa"]) == (True, Decimal("0.00"))
    assert [(p["rolepers_rsa"], p["rolepers_pfa"]) for p in persons] == [
        ("DEM", "DEM"),
        ("CJT", "CJT"),
        ("ENF", "ENF"),
        ("DEM", "DEM"),
    ]
    assert [(p["topchapers_rsa"], p["topchapers_pfa"]) for p in persons] == [
        (False, False),
        (False, False),
        (True, True),
        (False, False),
    ]
    assert (samira["nomnai"], samira["idassedic"], samira["topvaliec"]) == ("HADDAD", "4521877K", None)
    assert karim["flags"] == samira["flags"] == elodie["flags"] == []
    # The child: no NIR, no amounts block; still there, flagged.
    assert (yanis["qual"], yanis["nir"], yanis["nir_valid"], yanis["toppersdrodevorsa"]) == (
        None,
        None,
        None,
        None,
    )
    assert yanis["flags"] == ["NIR_MISSING", "NO_MONTANT_CALCUL_PERSONNE"]

    addresses = tables["caf_address"]
    assert [(a["position"], a["rgadr"]) for a in addresses] == [(1, "01"), (2, "01"), (2, "02")]
    assert addresses[0] == {
        "position": 1,
        "matricule": "4471203",
        "numdemrsa": "93126100417",
        "rgadr": "01",
        "dtemm": date(2024, 3, 1),
        "pays": "FRA",
        "typeadr": "D",
        "etatadr": "CO",
        "complideadr": "BAT C ESC 2",
        "compladr": None,
        "numvoie": "12",
        "libtypevoie": "RUE",
        "nomvoie": "DE LA REPUBLIQUE",
        "lieudist": None,
        "numcom": "93066",
        "codepos": "93200",
        "nomcom": "ST DENIS",
        "hors_france": False,
        "in_departement": True,
        "flags": [],
    }
    assert [(a["numcom"], a["compladr"], a["in_departement"]) for a in addresses[1:]] == [
        ("93048", "CHEZ MME LEROY", True),
        ("93006", None, True),
    ]

    assert tables["caf_right_situation"] == [
        {
            "position": 2,
            "matricule": "2203318",
            "numdemrsa": "93119040982",
            "nature": "SUSPENSION_VERSEMENT",
            "motif": "06",
            "date_effet": date(2026, 11, 1),
            "natgroupfsus": None,
        }
    ]
    assert tables["caf_amount"] == [
        {
            "position": 1,
            "matricule": "4471203",
            "numdemrsa": "93126100417",
            "natpf": "RSD",
            "sousnatpf": "RSDN1",
            "ddnatdro": date(2026, 10, 1),
            "dfnatdro": None,
            "mtrsavers": Decimal("962.34"),
            "dtderrsavers": None,
        }
    ]
    assert tables["caf_event"] == [
        {
            "position": 1,
            "matricule": "4471203",
            "numdemrsa": "93126100417",
            "dtliq": date(2026, 11, 26),
            "heuliq": time(18, 22, 5),
            "fg": "OUVDRO",
        },
        {
            "position": 2,
            "matricule": "2203318",
            "numdemrsa": "93119040982",
            "dtliq": date(2026, 11, 26),
            "heuliq": time(19, 40, 51),
            "fg": "DEMENAG",
        },
    ]


def test_rows_are_raw_rows_with_named_fields():
    row = next(iter(read_caf(SAMPLE)))
    assert isinstance(row, RawRow)
    assert row.table == "caf_dossier" and row.values[0] == 1


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "UTF-8", "iso-8859-1"])
def test_iso_8859_1_and_utf_8_read_the_same(tmp_path, encoding):
    accented = (
        sample_text()
        .replace("<PRENOM>ELODIE<", "<PRENOM>ÉLODIE<")
        .replace("<NOMNAI>HADDAD<", "<NOMNAI>HADDAD-LÉVÊQUE<")
        .replace("<NOMCOMNAI>SAINT DENIS<", "<NOMCOMNAI>L'ÎLE-SAINT-DENIS<")
        .replace("<NOMVOIE>JEAN JAURES<", "<NOMVOIE>JEAN JAURÈS ÇÀ<")
    )
    reference = read_text(tmp_path, accented, "UTF-8")
    tables = read_text(tmp_path, accented, encoding)
    assert tables == reference
    assert tables["caf_person"][3]["prenom"] == "ÉLODIE"
    assert tables["caf_person"][1]["nomnai"] == "HADDAD-LÉVÊQUE"
    assert tables["caf_person"][0]["nomcomnai"] == "L'ÎLE-SAINT-DENIS"
    assert tables["caf_address"][1]["nomvoie"] == "JEAN JAURÈS ÇÀ"


def test_utf_8_bom_is_accepted(tmp_path):
    path = tmp_path / "caf" / "bom.xml"
    path.write_bytes(b"\xef\xbb\xbf" + SAMPLE.read_bytes())
    assert [row.values for row in read_caf(path)] == [row.values for row in read_caf(SAMPLE)]


# ----- generated flows -----


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("clean"), START, 300, 3, seed=5)


def test_generated_flows_read_completely(clean_run):
    caf_files = [path for path in clean_run.files if path.parent.name == "caf"]
    assert len(caf_files) == 3
    persons_total = 0
    for path in caf_files:
        rows = list(read_caf(path))
        assert_rows_loadable(rows)
        tables = by_table(rows)
        day = date(int(path.name[13:17]), int(path.name[17:19]), int(path.name[19:21]))
        # The reader checked the trailer; the dossiers are the ones the generator wrote, in order.
        assert len(tables["caf_dossier"]) == clean_run.caf_dossiers[day]
        assert [d["position"] for d in tables["caf_dossier"]] == list(
            range(1, clean_run.caf_dossiers[day] + 1)
        )
        persons = tables["caf_person"]
        per_dossier = Counter(p["position"] for p in persons)
        for person in persons:
            assert person["rolepers_rsa"] in ("DEM", "CJT", "ENF", "AUT", "RDO")
            assert person["rolepers_pfa"] == person["rolepers_rsa"]
            assert person["topchapers_rsa"] is not None and person["topchapers_pfa"] is not None
            assert "PRESTATIONS_NOT_TWO" not in person["flags"]
            assert person["nir_valid"] in (True, None)
            assert 1 <= person["person_position"] <= per_dossier[person["position"]]
        assert sorted(per_dossier) == [d["position"] for d in tables["caf_dossier"]]
        assert all(
            sum(1 for p in persons if p["position"] == d and p["rolepers_rsa"] == "DEM") == 1
            for d in per_dossier
        )
        current = [a for a in tables["caf_address"] if a["rgadr"] == "01"]
        assert len(current) == len(tables["caf_dossier"])
        for dossier in tables["caf_dossier"]:
            assert "NO_CURRENT_ADDRESS" not in dossier["flags"] and "NO_DETAIL_DROIT" not in dossier["flags"]
            assert not any(
                flag.startswith(("INVALID_VALUE", "UNKNOWN_CODE", "MISSING_BLOCK"))
                for flag in dossier["flags"]
            )
        outside = {a["position"] for a in current if a["in_departement"] is False}
        assert outside == {
            d["position"] for d in tables["caf_dossier"] if "OUTSIDE_DEPARTEMENT" in d["flags"]
        }
        if path.name.endswith("_I.xml"):
            assert tables["caf_event"], "daily flows carry events"
        else:
            assert not tables["caf_event"]
            persons_total += len(persons)
    assert persons_total > 300


# ----- the defects the generator injects -----


@pytest.fixture(scope="module")
def defect_run(tmp_path_factory):
    summary = generate(tmp_path_factory.mktemp("defects"), START, 60, 3, seed=3, defects=True)
    return summary


def _defect(summary, pattern: str) -> re.Match:
    for description in summary.defects:
        match = re.search(pattern, description)
        if match:
            return match
    raise AssertionError(f"no defect matching {pattern!r} in {summary.defects}")


def test_truncated_flow_is_quarantined_naming_line_and_column(defect_run):
    match = _defect(defect_run, r"^(caf/\S+): truncated at byte (\d+)")
    with pytest.raises(QuarantineError) as caught:
        for _ in read_caf(defect_run.landing / match.group(1)):
            pass
    message = str(caught.value)
    assert message.startswith(match.group(1) + ": line ")
    assert re.search(r"line \d+, column \d+: XML not well-formed \(truncated\?\)", message), message


def test_lying_trailer_is_quarantined_naming_both_counts(defect_run):
    match = _defect(defect_run, r"^(caf/\S+): trailer NBTOTDOSRSATRANSM=(\d+) but (\d+) InfosFoyerRSA")
    path, declared, written = match.group(1), match.group(2), match.group(3)
    rows = []
    with pytest.raises(QuarantineError) as caught:
        for row in read_caf(defect_run.landing / path):
            rows.append(row)
    message = str(caught.value)
    assert message.startswith(f"{path}: trailer NBTOTDOSRSATRANSM={declared} ")
    assert f"but {written} InfosFoyerRSA blocks were read" in message
    # The error comes at the end: the loader rolls back what was yielded.
    assert sum(row.table == "caf_dossier" for row in rows) == int(written)


def test_bad_nir_keys_are_flagged_and_the_file_reads(defect_run):
    match = _defect(defect_run, r"^(caf/\S+): wrong NIR key .* \(MATRICULE ([0-9, ]+)\)")
    matricules = match.group(2).split(", ")
    tables = by_table(list(read_caf(defect_run.landing / match.group(1))))
    flagged = [p for p in tables["caf_person"] if "NIR_KEY" in p["flags"]]
    assert sorted(p["matricule"] for p in flagged) == sorted(matricules)
    for person in flagged:
        assert person["nir_valid"] is False and len(person["nir"]) == 15
    assert all(p["nir_valid"] is not False for p in tables["caf_person"] if p["matricule"] not in matricules)


def test_missing_person_amounts_are_flagged(defect_run):
    match = _defect(
        defect_run, r"^(caf/\S+): MontantCalculDroitRSAPersonne removed .* \(MATRICULE ([0-9, ]+)\)"
    )
    matricules = match.group(2).split(", ")
    tables = by_table(list(read_caf(defect_run.landing / match.group(1))))
    adults = [
        p
        for p in tables["caf_person"]
        if p["matricule"] in matricules and p["rolepers_rsa"] in ("DEM", "CJT")
    ]
    assert adults
    for person in adults:
        assert person["toppersdrodevorsa"] is None
        assert "NO_MONTANT_CALCUL_PERSONNE" in person["flags"]


def test_same_bytes_delivered_twice_read_the_same(defect_run):
    match = _defect(defect_run, r"^(caf/\S+_bis\.xml): byte-for-byte copy of (caf/\S+)")
    copy = [row.values for row in read_caf(defect_run.landing / match.group(1))]
    assert copy == [row.values for row in read_caf(defect_run.landing / match.group(2))]


# ----- per-dossier anomalies: flagged, never fatal -----


def test_unknown_etat_code_is_kept_and_flagged(tmp_path):
    tables = read_text(tmp_path, sample_text().replace("<ETATDOSRSA>2<", "<ETATDOSRSA>9<"))
    dossier = tables["caf_dossier"][0]
    assert dossier["etatdosrsa"] == "9" and dossier["flags"] == ["UNKNOWN_CODE:ETATDOSRSA"]
    assert len(tables["caf_dossier"]) == 2


def test_unknown_role_sex_and_nature_codes_are_kept_and_flagged(tmp_path):
    text = (
        sample_text()
        .replace(
            "<NATPREST>RSA</NATPREST><ROLEPERS>DEM</ROLEPERS>",
            "<NATPREST>RSA</NATPREST><ROLEPERS>XYZ</ROLEPERS>",
            1,
        )
        .replace("<SEXE>2</SEXE>", "<SEXE>F</SEXE>", 1)
        .replace("<NATPREST>PFA</NATPREST><ROLEPERS>ENF", "<NATPREST>AAH</NATPREST><ROLEPERS>ENF")
    )
    karim, samira, yanis, _ = read_text(tmp_path, text)["caf_person"]
    assert (karim["rolepers_rsa"], karim["rolepers_pfa"], karim["flags"]) == (
        "XYZ",
        "DEM",
        ["UNKNOWN_CODE:ROLEPERS"],
    )
    assert (samira["sexe"], samira["flags"]) == ("F", ["UNKNOWN_CODE:SEXE"])
    assert yanis["rolepers_pfa"] is None and yanis["rolepers_rsa"] == "ENF"
    assert "UNKNOWN_CODE:NATPREST" in yanis["flags"]


@pytest.mark.parametrize(
    ("old", "new", "table", "column", "flag"),
    [
        ("<DTNAI>1985-07-14<", "<DTNAI>1985-13-14<", "caf_person", "dtnai", "INVALID_VALUE:DTNAI"),
        ("<DTNAI>1985-07-14<", "<DTNAI>14/07/1985<", "caf_person", "dtnai", "INVALID_VALUE:DTNAI"),
        ("<DTNAI>1985-07-14<", "<DTNAI>19850714<", "caf_person", "dtnai", "INVALID_VALUE:DTNAI"),
        ("<RGNAI>1<", "<RGNAI>A<", "caf_person", "rgnai", "INVALID_VALUE:RGNAI"),
        ("<TOPVALIEC>1<", "<TOPVALIEC>oui<", "caf_person", "topvaliec", "INVALID_VALUE:TOPVALIEC"),
        (
            "<MTPERSRESSMENRSA>0.00<",
            "<MTPERSRESSMENRSA>12,50<",
            "caf_person",
            "mtpersressmenrsa",
            "INVALID_VALUE:MTPERSRESSMENRSA",
        ),
        (
            "<TOPCHAPERS>0</TOPCHAPERS></Prestations>\n      <Prestations><NATPREST>RSA",
            "<TOPCHAPERS>2</TOPCHAPERS></Prestations>\n      <Prestations><NATPREST>RSA",
            "caf_person",
            "topchapers_pfa",
            "INVALID_VALUE:TOPCHAPERS_PFA",
        ),
        (
            "<MTTOTDRORSA>962.34<",
            "<MTTOTDRORSA>1e3<",
            "caf_dossier",
            "mttotdrorsa",
            "INVALID_VALUE:MTTOTDRORSA",
        ),
        (
            "<MTTOTDRORSA>962.34<",
            "<MTTOTDRORSA>12345678901.00<",
            "caf_dossier",
            "mttotdrorsa",
            "INVALID_VALUE:MTTOTDRORSA",
        ),
        (
            "<NBENFAUTCHA>1<",
            "<NBENFAUTCHA>99999999999<",
            "caf_dossier",
            "nbenfautcha",
            "INVALID_VALUE:NBENFAUTCHA",
        ),
        ("<DTEMM>2024-03-01<", "<DTEMM>2024-02-30<", "caf_address", "dtemm", "INVALID_VALUE:DTEMM"),
        # Tables without a flags column flag their dossier.
        (
            "<DDSUSVERSRSA>2026-11-01<",
            "<DDSUSVERSRSA>2026-11<",
            "caf_right_situation",
            "date_effet",
            "INVALID_VALUE:DDSUSVERSRSA",
        ),
        ("<HEULIQ>18:22:05<", "<HEULIQ>25:00:00<", "caf_event", "heuliq", "INVALID_VALUE:HEULIQ"),
        ("<DDNATDRO>2026-10-01<", "<DDNATDRO>NaN<", "caf_amount", "ddnatdro", "INVALID_VALUE:DDNATDRO"),
    ],
)
def test_a_value_that_does_not_parse_becomes_none_and_flags_its_row(tmp_path, old, new, table, column, flag):
    assert old in sample_text()
    tables = read_text(tmp_path, sample_text().replace(old, new, 1))
    row = tables[table][0]
    assert row[column] is None
    flagged = row if "flags" in row else tables["caf_dossier"][row["position"] - 1]
    assert flag in flagged["flags"]


def test_every_typed_column_is_parsed_or_computed():
    # A text value can never reach a typed column: each is parsed by the reader or computed by it.
    computed = {
        "POSITION",
        "PERSON_POSITION",
        "NIR_VALID",
        "HORS_FRANCE",
        "IN_DEPARTEMENT",
        "FLAGS",
        "CAF_ANOMALIES",
        "SCHEMA_ERRORS",
        "DATE_EFFET",
    }
    for table in CAF_TABLES:
        for column, key in zip(COLUMNS[table], caf_reader._KEYS[table], strict=True):
            if RAW_TYPES[table][column][0] != "text":
                assert key in caf_reader._PARSERS or key in computed, (table, column)


def test_values_are_stripped_and_empty_ones_are_none(tmp_path):
    text = (
        sample_text()
        .replace(
            "<NOM>BENALI</NOM><NOMNAI>BENALI</NOMNAI><PRENOM>KARIM",
            "<NOM>  BENALI \t</NOM><NOMNAI>BENALI</NOMNAI><PRENOM>\n KARIM ",
        )
        .replace("<TOPVALIEC>1<", "<TOPVALIEC> true <")
        .replace("<MTTOTDRORSA>962.34<", "<MTTOTDRORSA>962.345<")
        .replace("<QUAL>MME</QUAL>", "<QUAL>   </QUAL>", 1)
    )
    tables = read_text(tmp_path, text)
    karim, samira = tables["caf_person"][:2]
    assert (karim["nom"], karim["prenom"], karim["topvaliec"]) == ("BENALI", "KARIM", True)
    assert samira["qual"] is None
    assert tables["caf_dossier"][0]["mttotdrorsa"] == Decimal("962.35")  # as numeric(12, 2) rounds


def test_nir_shapes(tmp_path):
    text = (
        sample_text()
        .replace("<NIR>185079306612313<", "<NIR>1850793066123<")  # 13 characters: no key
        .replace("<NIR>290059935004506<", "<NIR>29005993500<")  # too short
        .replace("<NIR>295037511203459<", "<NIR>295037511203460<")
    )  # wrong key
    karim, samira, _, elodie = read_text(tmp_path, text)["caf_person"]
    assert (karim["nir"], karim["nir_valid"], karim["flags"]) == ("1850793066123", True, [])
    assert (samira["nir"], samira["nir_valid"], samira["flags"]) == ("29005993500", False, ["NIR_FORMAT"])
    assert (elodie["nir"], elodie["nir_valid"], elodie["flags"]) == ("295037511203460", False, ["NIR_KEY"])


def test_address_outside_the_departement(tmp_path):
    tables = read_text(tmp_path, sample_text().replace("<NUMCOM>93066<", "<NUMCOM>75111<"))
    assert tables["caf_dossier"][0]["flags"] == ["OUTSIDE_DEPARTEMENT"]
    address = tables["caf_address"][0]
    assert (address["numcom"], address["in_departement"], address["flags"]) == (
        "75111",
        False,
        ["OUTSIDE_DEPARTEMENT"],
    )
    assert tables["caf_dossier"][1]["flags"] == ["NO_MONTANTS_CALCUL"]


def test_only_the_current_address_decides_for_the_dossier(tmp_path):
    tables = read_text(tmp_path, sample_text().replace("<NUMCOM>93006<", "<NUMCOM>94080<"))
    assert "OUTSIDE_DEPARTEMENT" not in tables["caf_dossier"][1]["flags"]
    assert tables["caf_address"][2]["flags"] == ["OUTSIDE_DEPARTEMENT"]


def test_pierrefitte_code_is_in_the_departement(tmp_path):
    tables = read_text(tmp_path, sample_text().replace("<NUMCOM>93066<", "<NUMCOM>93059<"))
    assert tables["caf_address"][0]["in_departement"] is True
    assert tables["caf_dossier"][0]["flags"] == []


def test_address_abroad(tmp_path):
    text = sample_text()
    start = text.index("<AdresseDetailleeFrance>")
    end = text.index("</AdresseDetailleeFrance>") + len("</AdresseDetailleeFrance>")
    text = (
        text[:start] + "<AdresseHorsFrance><LIBADR>12 CALLE MAYOR</LIBADR></AdresseHorsFrance>" + text[end:]
    )
    tables = read_text(tmp_path, text.replace("<PAYS>FRA<", "<PAYS>ESP<", 1))
    address = tables["caf_address"][0]
    assert (address["hors_france"], address["in_departement"], address["numcom"], address["pays"]) == (
        True,
        False,
        None,
        "ESP",
    )
    assert address["flags"] == ["OUTSIDE_DEPARTEMENT"]
    # AdresseHorsFrance has its own fields (LIBLIG2ADR...): an unknown one breaks the schema.
    assert tables["caf_dossier"][0]["flags"] == ["OUTSIDE_DEPARTEMENT", "SCHEMA_INVALID"]


def test_no_current_address(tmp_path):
    tables = read_text(
        tmp_path,
        sample_text().replace("<RGADR>01</RGADR><DTEMM>2024-03-01", "<RGADR>02</RGADR><DTEMM>2024-03-01"),
    )
    assert tables["caf_dossier"][0]["flags"] == ["NO_CURRENT_ADDRESS"]
    assert tables["caf_address"][0]["rgadr"] == "02"


def test_duplicate_or_missing_rank_cannot_break_the_address_key(tmp_path):
    text = (
        sample_text()
        .replace("<RGADR>02<", "<RGADR>01<")
        .replace("<RGADR>01</RGADR><DTEMM>2024-03-01", "<DTEMM>2024-03-01")
    )
    tables = read_text(tmp_path, text)
    assert [(a["position"], a["rgadr"], a["numcom"]) for a in tables["caf_address"]] == [(2, "01", "93048")]
    assert tables["caf_dossier"][0]["flags"] == ["INVALID_VALUE:RGADR", "NO_CURRENT_ADDRESS", "SCHEMA_INVALID"]
    assert "INVALID_VALUE:RGADR" in tables["caf_dossier"][1]["flags"]


def test_one_digit_rank_is_padded(tmp_path):
    tables = read_text(
        tmp_path,
        sample_text().replace("<RGADR>01</RGADR><DTEMM>2024-03-01", "<RGADR>1</RGADR><DTEMM>2024-03-01"),
    )
    assert tables["caf_address"][0]["rgadr"] == "01" and tables["caf_dossier"][0]["flags"] == []


@pytest.mark.parametrize("count", [1, 3])
def test_prestations_not_two(tmp_path, count):
    role = "<ROLEPERS>DEM</ROLEPERS><TOPCHAPERS>0</TOPCHAPERS></Prestations>"
    rsa = "<Prestations><NATPREST>RSA</NATPREST>" + role
    pfa = "<Prestations><NATPREST>PFA</NATPREST>" + role
    text = sample_text()
    both = text.index(pfa)
    replacement = rsa if count == 1 else pfa + rsa + rsa.replace("DEM", "CJT")
    text = text[:both] + replacement + text[text.index(rsa, both) + len(rsa) :]
    karim = read_text(tmp_path, text)["caf_person"][0]
    assert "PRESTATIONS_NOT_TWO" in karim["flags"]
    assert karim["rolepers_rsa"] == "DEM"  # the first RSA block
    assert karim["rolepers_pfa"] == (None if count == 1 else "DEM")


def test_two_blocks_of_the_same_nature_are_not_two_prestations(tmp_path):
    text = sample_text().replace(
        "<NATPREST>PFA</NATPREST><ROLEPERS>DEM", "<NATPREST>RSA</NATPREST><ROLEPERS>DEM", 1
    )
    karim = read_text(tmp_path, text)["caf_person"][0]
    assert karim["flags"] == ["PRESTATIONS_NOT_TWO"] and karim["rolepers_pfa"] is None


def test_missing_mandatory_blocks_keep_the_dossier(tmp_path):
    text = first_dossier(sample_text())
    detail_start = text.index("<DetailDroitRSA>")
    detail_end = text.index("</DetailDroitRSA>") + len("</DetailDroitRSA>")
    text = text[:detail_start] + text[detail_end:]
    persons_start = text.index("<Personne>")
    persons_end = text.rindex("</Personne>") + len("</Personne>")
    text = text[:persons_start] + text[persons_end:]
    tables = read_text(tmp_path, text)
    assert len(tables["caf_dossier"]) == 1 and not tables["caf_person"] and not tables["caf_amount"]
    assert tables["caf_dossier"][0]["flags"] == [
        "MISSING_BLOCK:Personne",
        "NO_DETAIL_DROIT",
        "NO_MONTANTS_CALCUL",
        "SCHEMA_INVALID",
    ]
    assert tables["caf_dossier"][0]["etatdosrsa"] == "2" and len(tables["caf_address"]) == 1


def test_a_dossier_that_is_almost_empty_is_still_a_row(tmp_path):
    text = sample_text()
    start = text.index("<InfosFoyerRSA>")
    end = text.index("</InfosFoyerRSA>") + len("</InfosFoyerRSA>")
    tables = read_text(tmp_path, text[:start] + "<InfosFoyerRSA/>" + text[end:])
    empty = tables["caf_dossier"][0]
    assert empty["position"] == 1 and empty["matricule"] is None
    assert empty["flags"] == [
        "MISSING_BLOCK:IdentificationRSA",
        "MISSING_BLOCK:Personne",
        "MISSING_BLOCK:DonneesAdministratives",
        "NO_CURRENT_ADDRESS",
        "MISSING_BLOCK:PrestationRSA",
        "MISSING_BLOCK:SituationDossierRSA",
        "NO_DETAIL_DROIT",
        "NO_MONTANTS_CALCUL",
        "SCHEMA_INVALID",
    ]
    assert empty["schema_errors"] == [
        "InfosFoyerRSA: cardinality: a mandatory element is missing (expected: IdentificationRSA) (line 12)"
    ]
    assert tables["caf_dossier"][1]["position"] == 2


def test_situation_blocks_transfers_and_anomalies(tmp_path):
    situation = (
        "<Refus><DTREFURSA>2026-09-30</DTREFURSA><MOTIREFURSA>DSD</MOTIREFURSA></Refus>"
        "<SuspensionDroit><MOTISUSDRORSA>GL</MOTISUSDRORSA><DDSUSDRORSA>2026-10-01</DDSUSDRORSA>"
        "<NATGROUPFSUS>RSA</NATGROUPFSUS></SuspensionDroit>"
        "<SuspensionDroit><MOTISUSDRORSA>DL</MOTISUSDRORSA><DDSUSDRORSA>2026-11-01</DDSUSDRORSA></SuspensionDroit>"
        "<FinDroit><MOTICLORSA>RFD</MOTICLORSA><DTCLORSA>2026-11-30</DTCLORSA></FinDroit>"
        "<FinDroitMoisAnterieur><MOTICLORSA>ECH</MOTICLORSA><DTCLORSA>2026-10-31</DTCLORSA></FinDroitMoisAnterieur>"
    )
    transfers = (
        "<OrganismeCedant><FONORGCEDMUT>MSA</FONORGCEDMUT><NUMORGCEDMUT>751</NUMORGCEDMUT>"
        "<MATRICULEORGCEDMUT>0012345</MATRICULEORGCEDMUT><DDARRMUT>2026-09-01</DDARRMUT></OrganismeCedant>"
        "<OrganismePrenant><FONORGPRENMUT>CAF</FONORGPRENMUT><NUMORGPRENMUT>941</NUMORGPRENMUT>"
        "<DDDEPAMUT>2026-12-01</DDDEPAMUT></OrganismePrenant>"
    )
    text = (
        sample_text()
        .replace(
            "</EtatDossierRSA></SituationDossierRSA>",
            "</EtatDossierRSA>" + situation + "</SituationDossierRSA>",
            1,
        )
        .replace(
            "</DemandeRSA>\n    </IdentificationRSA>", "</DemandeRSA>" + transfers + "</IdentificationRSA>", 1
        )
        .replace(
            "</Evenement>\n  </InfosFoyerRSA>",
            "</Evenement><Controle></Controle>"
            "<Anomalie><LIBANO>ADRESSE INCOMPLETE</LIBANO></Anomalie><Anomalie><LIBANO> </LIBANO></Anomalie>"
            "<Anomalie><LIBANO>NIR EN COURS</LIBANO></Anomalie></InfosFoyerRSA>",
            1,
        )
    )
    tables = read_text(tmp_path, text)
    situations = [
        (s["position"], s["nature"], s["motif"], s["date_effet"], s["natgroupfsus"])
        for s in tables["caf_right_situation"]
    ]
    assert situations == [
        (1, "REFUS", "DSD", date(2026, 9, 30), None),
        (1, "SUSPENSION_DROIT", "GL", date(2026, 10, 1), "RSA"),
        (1, "SUSPENSION_DROIT", "DL", date(2026, 11, 1), None),
        (1, "FIN_DROIT", "RFD", date(2026, 11, 30), None),
        (1, "FIN_DROIT_MOIS_ANTERIEUR", "ECH", date(2026, 10, 31), None),
        (2, "SUSPENSION_VERSEMENT", "06", date(2026, 11, 1), None),
    ]
    dossier = tables["caf_dossier"][0]
    assert (
        dossier["cedant_fonorg"],
        dossier["cedant_numorg"],
        dossier["cedant_matricule"],
        dossier["cedant_ddarrmut"],
    ) == ("MSA", "751", "0012345", date(2026, 9, 1))
    assert (dossier["prenant_fonorg"], dossier["prenant_numorg"], dossier["prenant_dddepamut"]) == (
        "CAF",
        "941",
        date(2026, 12, 1),
    )
    assert dossier["caf_anomalies"] == ["ADRESSE INCOMPLETE", "NIR EN COURS"]
    assert dossier["flags"] == []


def test_unknown_blocks_cannot_overwrite_known_fields(tmp_path):
    # A Rattachement names another person: its NOM must not become the person's.
    text = sample_text().replace(
        "<DossierPoleEmploi>",
        "<Rattachement><NOM>AUTRE</NOM><DTNAI>pas une date</DTNAI></Rattachement><DossierPoleEmploi>",
        1,
    )
    samira = read_text(tmp_path, text)["caf_person"][1]
    assert (samira["nom"], samira["dtnai"], samira["flags"]) == ("BENALI", date(1990, 5, 3), [])


def test_comments_and_processing_instructions_are_ignored(tmp_path):
    text = sample_text().replace(
        "<NOM>BENALI</NOM>", "<!-- a note --><NOM>BEN<!-- x -->ALI</NOM><?pi data?>", 1
    )
    assert read_text(tmp_path, text)["caf_person"][0]["nom"] == "BENALI"


def test_external_entities_are_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    text = (
        sample_text()
        .replace("<Racine>", f'<!DOCTYPE Racine [<!ENTITY xxe SYSTEM "file://{secret}">]>\n<Racine>', 1)
        .replace("<NOM>BENALI</NOM>", "<NOM>&xxe;</NOM>", 1)
    )
    rows: list[RawRow] = []
    with pytest.raises(QuarantineError, match="a DOCTYPE declaration") as caught:
        rows.extend(read_caf(write_flow(tmp_path / "caf" / "xxe.xml", text)))
    assert rows == [], "refused at the header, before any dossier"
    assert "TOP SECRET" not in str(caught.value)


def test_zero_dossiers(tmp_path):
    text = sample_text()
    start = text.index("<InfosFoyerRSA>")
    end = text.rindex("</InfosFoyerRSA>") + len("</InfosFoyerRSA>")
    text = text[:start] + text[end:].replace("<NBTOTDOSRSATRANSM>2<", "<NBTOTDOSRSATRANSM>0<")
    assert read_text(tmp_path, text) == {table: [] for table in CAF_TABLES}


# ----- file-level problems: quarantine -----


def test_wrong_root(tmp_path):
    message = quarantine_message(
        tmp_path,
        sample_text().replace("<Racine>", "<InfoDemandeRSA>").replace("</Racine>", "</InfoDemandeRSA>"),
    )
    assert message == "caf/VRSB0801_931_20261126_I.xml: root element is <InfoDemandeRSA>, expected <Racine>"
    empty_root = '<?xml version="1.0" encoding="UTF-8"?>\n<Other><X/></Other>\n'
    assert "root element is <Other>" in quarantine_message(tmp_path, empty_root)
    dossier_root = '<?xml version="1.0" encoding="UTF-8"?>\n<InfosFoyerRSA/>\n'
    assert "root element is <InfosFoyerRSA>" in quarantine_message(tmp_path, dossier_root)


def test_missing_trailer(tmp_path):
    text = sample_text()
    start = text.index("<TransmissionFlux>")
    end = text.index("</TransmissionFlux>") + len("</TransmissionFlux>")
    message = quarantine_message(tmp_path, text[:start] + text[end:])
    assert "no TransmissionFlux" in message


def test_missing_header(tmp_path):
    text = sample_text()
    start = text.index("<IdentificationFlux>")
    end = text.index("</IdentificationFlux>") + len("</IdentificationFlux>")
    message = quarantine_message(tmp_path, text[:start] + text[end:])
    assert re.search(r"line \d+: InfosFoyerRSA before any IdentificationFlux", message), message


@pytest.mark.parametrize("count", ["", "deux", "-1", "2.0"])
def test_trailer_count_must_be_a_count(tmp_path, count):
    message = quarantine_message(
        tmp_path, sample_text().replace("<NBTOTDOSRSATRANSM>2<", f"<NBTOTDOSRSATRANSM>{count}<")
    )
    assert "TransmissionFlux has no valid NBTOTDOSRSATRANSM" in message


def test_two_flows_in_one_file(tmp_path):
    text = sample_text()
    header = text[text.index("  <IdentificationFlux>") : text.index("</IdentificationFlux>") + 21]
    assert "a second IdentificationFlux" in quarantine_message(
        tmp_path, text.replace("</IdentificationFlux>", "</IdentificationFlux>\n" + header, 1)
    )
    trailer_end = text.index("</TransmissionFlux>") + len("</TransmissionFlux>")
    dossier = text[text.index("<InfosFoyerRSA>") : text.index("</InfosFoyerRSA>") + len("</InfosFoyerRSA>")]
    assert "InfosFoyerRSA after the TransmissionFlux" in quarantine_message(
        tmp_path, text[:trailer_end] + dossier + text[trailer_end:]
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty file"),
        (b"VRSB0801;931;4471203\n", "no XML declaration"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "no XML declaration"),
        (b"<Racine></Racine>", "no XML declaration"),
        # No encoding declared: XML's default, UTF-8, applies (and the flow is read).
        (b'<?xml version="1.0"?><Racine></Racine>', "no IdentificationFlux block"),
        (b'<?xml version="1.0" encoding="windows-1252"?><Racine></Racine>', "no IdentificationFlux block"),
        (
            '<?xml version="1.0" encoding="UTF-16"?><Racine></Racine>'.encode("utf-16"),
            "UTF-16/UTF-32 byte-order mark",
        ),
        (b'<?xml version="1.0" encoding="UTF-16"?><Racine></Racine>', "encoding 'UTF-16' declared: it cannot"),
        (b'<?xml version="1.0" encoding="IBM037"?><Racine></Racine>', "encoding 'IBM037' declared: it cannot"),
        (b'<?xml version="1.0" encoding="klingon-8"?><Racine></Racine>', "unknown encoding 'KLINGON-8'"),
        (
            b'\xef\xbb\xbf<?xml version="1.0" encoding="ISO-8859-1"?><Racine></Racine>',
            "a UTF-8 byte-order mark but encoding 'ISO-8859-1' declared",
        ),
    ],
)
def test_not_an_xml_flow_or_encoding_not_declared(tmp_path, content, expected):
    message = quarantine_message(tmp_path, content)
    assert message.startswith("caf/VRSB0801_931_20261126_I.xml: ")
    assert expected in message


def test_declared_encoding_must_match_the_bytes(tmp_path):
    text = sample_text().replace("<PRENOM>ELODIE<", "<PRENOM>ÉLODIE<")
    path = tmp_path / "caf" / "latin1_declared_utf8.xml"
    path.write_bytes(text.encode("iso-8859-1"))  # declared UTF-8, written in Latin-1
    with pytest.raises(QuarantineError) as caught:
        list(read_caf(path))
    assert str(caught.value) == (
        "caf/latin1_declared_utf8.xml: line 79, column 73: a byte that is not UTF-8 (the encoding the prolog "
        "declares) in InfosFoyerRSA block 2 (starting line 71), after 1 complete InfosFoyerRSA blocks"
    )


def test_not_well_formed_in_the_middle(tmp_path):
    text = sample_text().replace("<NOM>MARTIN</NOM>", "<NOM>MARTIN</NAME>")
    message = quarantine_message(tmp_path, text)
    assert re.match(
        r"caf/VRSB0801_931_20261126_I\.xml: line 79, column \d+: XML not well-formed: ", message
    ), message
    assert "after 1 complete InfosFoyerRSA blocks" in message


def test_truncated_sample_names_the_position(tmp_path):
    data = SAMPLE.read_bytes()
    message = quarantine_message(tmp_path, data[: data.index(b"<NOMCOMNAI>ALGER")])
    assert re.match(
        r"caf/VRSB0801_931_20261126_I\.xml: line 3\d, column \d+: XML not well-formed \(truncated\?\)",
        message,
    ), message
    assert "after 0 complete InfosFoyerRSA blocks" in message


# ----- personal data never reaches logs or error messages -----


def test_nothing_personal_in_logs(caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    list(read_caf(SAMPLE))
    assert "caf_vrsb0801_daily_sample.xml: read 2 dossiers, 4 persons" in caplog.text
    for personal in ("BENALI", "KARIM", "185079306612313", "REPUBLIQUE", "4471203"):
        assert personal not in caplog.text


def test_nothing_personal_in_quarantine_messages(tmp_path):
    text = sample_text().replace("<NOM>BENALI</NOM>", "<NOM>BENALI\x01</NOM>", 1)
    message = quarantine_message(tmp_path, text)
    assert "BENALI" not in message and "not well-formed" in message
    broken = sample_text().encode("utf-8").replace(b"<PRENOM>KARIM", b"<PRENOM>K\xe9RIM")
    message = quarantine_message(tmp_path, broken)
    assert "RIM" not in message and "0x" not in message


# ----- typed values (ingest/values.py) -----


def test_value_parsers():
    assert parse_iso_date("2024-02-29") == date(2024, 2, 29)
    assert [
        parse_iso_date(text)
        for text in ("2023-02-29", "20240229", "2024-W05-3", "2024-02-29Z", "0000-01-01", "２０２４-02-29")
    ] == [None] * 6
    assert parse_french_date("29/02/2024") == date(2024, 2, 29) and parse_french_date("2024-02-29") is None
    assert [parse_boolean(text) for text in ("0", "1", "true", "false", "2", "TRUE")] == [
        False,
        True,
        True,
        False,
        None,
        None,
    ]
    assert parse_time("18:22:05") == time(18, 22, 5) and parse_time("08:30") == time(8, 30)
    # xsd:time allows fractional seconds (CNAF writes 01:18:36.0000); no time zone (local time column).
    assert parse_time("01:18:36.0000") == time(1, 18, 36) and parse_time("18:22:05.5") == time(18, 22, 5, 500000)
    assert parse_time("18:22:05.1234567") == time(18, 22, 5, 123456)
    assert [
        parse_time(text) for text in ("24:00:00", "18:22:05Z", "182205", "18:22:05.", "18:22:05.x", "18:22:05.5Z")
    ] == [None] * 6
    assert [parse_integer(text) for text in ("0", "12", "-3", "+4")] == [0, 12, -3, 4]
    assert [parse_integer(text) for text in ("1.0", "1_000", "٣", "2147483648", "", "-")] == [None] * 6
    assert parse_amount("962.34") == Decimal("962.34") and parse_amount("-5") == Decimal("-5.00")
    assert parse_amount(".5") == Decimal("0.50") and parse_amount("1.005") == Decimal("1.01")
    assert parse_amount("9999999999.99") == Decimal("9999999999.99")
    assert [
        parse_amount(text)
        for text in ("1e3", "NaN", "Infinity", "1_000", "12,50", "10000000000", "9999999999.999", "٣.00", "")
    ] == [None] * 9


# ----- the rows really COPY (binary format, real PostgreSQL) -----


def test_rows_copy_into_the_raw_tables(conn, tmp_path):
    from aiguillage.ingest.loader import load_pending
    from aiguillage.landing.registry import scan_and_record

    landing = tmp_path / "landing"
    summary = generate(landing, START, 40, 3, seed=3, defects=True)
    # A flow full of per-dossier anomalies, and characters that arrays and COPY must carry.
    odd = (
        sample_text()
        .replace("<ETATDOSRSA>2<", "<ETATDOSRSA>9<")
        .replace("<DTNAI>1985-07-14<", "<DTNAI>1985-02-30<")
        .replace("<MTTOTDRORSA>962.34<", "<MTTOTDRORSA>9999999999.99<")
        .replace("<NUMCOM>93066<", "<NUMCOM>75111<")
        .replace("<RGADR>02<", "<RGADR>01<")
        .replace("<NOM>MARTIN</NOM>", "<NOM>O'BRIEN \\ \t&quot;{,}&quot; NULL</NOM>")
        .replace(
            "</Evenement>\n  </InfosFoyerRSA>",
            '</Evenement><Anomalie><LIBANO>{a,b} "NULL" \\ é</LIBANO></Anomalie></InfosFoyerRSA>',
            1,
        )
    )
    write_flow(landing / "caf" / "VRSB0801_931_20261110_I.xml", odd, "ISO-8859-1")
    scan_and_record(conn, landing, date(2026, 11, 30), "test-run")
    outcomes = {
        o.relative_path: o for o in load_pending(conn, "caf", landing, lambda _, path: read_caf(path))
    }

    quarantined = {
        m.group(1) for d in summary.defects if (m := re.match(r"(caf/\S+): (trailer|truncated)", d))
    }
    assert len(quarantined) == 2
    for relative_path, outcome in outcomes.items():
        expected = "quarantined" if relative_path in quarantined else "loaded"
        assert outcome.status == expected, (relative_path, outcome.reason)
        if expected == "loaded":
            counts = Counter(row.table for row in read_caf(landing / relative_path))
            assert outcome.rows == dict(counts)
    dossiers = conn.execute(
        "SELECT position, etatdosrsa, mttotdrorsa, flags, caf_anomalies FROM raw.caf_dossier"
        " JOIN registry.landing_file USING (file_id)"
        " WHERE relative_path = 'caf/VRSB0801_931_20261110_I.xml' ORDER BY position"
    ).fetchall()
    assert dossiers == [
        (
            1,
            "9",
            Decimal("9999999999.99"),
            ["OUTSIDE_DEPARTEMENT", "UNKNOWN_CODE:ETATDOSRSA", "SCHEMA_INVALID"],
            ['{a,b} "NULL" \\ é'],
        ),
        (2, "4", None, ["INVALID_VALUE:RGADR", "NO_MONTANTS_CALCUL"], []),
    ]
    # The schema's verdict travels with the dossier: element, rule and line, never the value.
    assert conn.execute(
        "SELECT schema_errors FROM raw.caf_dossier JOIN registry.landing_file USING (file_id)"
        " WHERE relative_path = 'caf/VRSB0801_931_20261110_I.xml' ORDER BY position"
    ).fetchall() == [
        (
            [
                "InfosFoyerRSA/Personne[1]/Identification/DTNAI: type xs:date (line 21)",
                "InfosFoyerRSA/PrestationRSA/DetailDroitRSA/MontantsCalculDroitRSA/MTTOTDRORSA: "
                "facet totalDigits 9 (line 65)",
            ],
        ),
        ([],),
    ]
    assert conn.execute("SELECT nom FROM raw.caf_person WHERE nom LIKE 'O''BRIEN%'").fetchone() == (
        'O\'BRIEN \\ \t"{,}" NULL',
    )


# ----- constant memory -----

_PEAK_SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from aiguillage.ingest.caf_reader import read_caf

    def peak_kib():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

    rows = sum(1 for _ in read_caf(Path(sys.argv[1])))
    print(rows, peak_kib())
""")


def _peak_while_reading(path: Path) -> tuple[int, int]:
    # VmHWM of a fresh process: ru_maxrss would carry the parent's peak over.
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    rows, peak_kib = result.stdout.split()
    return int(rows), int(peak_kib)


@pytest.mark.slow
def test_memory_stays_flat_whatever_the_size(tmp_path):
    sizes = {}
    for households in (5_000, 30_000):
        summary = generate(tmp_path / str(households), START, households, 1, seed=2)
        caf = next(path for path in summary.files if path.parent.name == "caf")
        rows, peak_kib = _peak_while_reading(caf)
        assert rows > households * 3
        sizes[households] = peak_kib
    assert sizes[30_000] < 100 * 1024, sizes
    assert sizes[30_000] - sizes[5_000] < 4 * 1024, f"peak memory grows with the file: {sizes} KiB"


# ----- robustness without hypothesis: seeded damage (test_caf_reader_properties.py goes further) -----


def damage(content: bytes, rng: random.Random) -> bytes:
    """One random fault: a byte changed, the file cut, an element removed or duplicated, a value replaced."""
    kind = rng.choice(("byte", "cut", "drop", "duplicate", "value"))
    if kind == "byte":
        index = rng.randrange(len(content))
        return content[:index] + bytes([rng.randrange(256)]) + content[index + 1 :]
    if kind == "cut":
        return content[: rng.randrange(len(content))]
    elements = list(re.finditer(rb"<([A-Za-z][A-Za-z0-9]*)>", content))
    start_tag = rng.choice(elements)
    end = content.find(b"</" + start_tag.group(1) + b">", start_tag.end())
    if end < 0:
        return content
    end += len(start_tag.group(1)) + 3
    if kind == "drop":
        return content[: start_tag.start()] + content[end:]
    if kind == "duplicate":
        return content[:end] + content[start_tag.start() : end] + content[end:]
    value = rng.choice(
        (
            b"",
            b" ",
            b"X",
            b"-1",
            b"1e3",
            b"2024-02-30",
            b"99999999999999",
            b"&amp;",
            b"\xc3\xa9",
            b"\xe9",
            b"&#0;",
            b"<",
            b"9" * 40,
            b"0.001",
            b"true",
            b"25:61:00",
        )
    )
    return content[: start_tag.end()] + value + content[end - len(start_tag.group(1)) - 3 :]


@pytest.fixture(scope="module")
def small_flows(tmp_path_factory) -> list[bytes]:
    """A small monthly flow and a daily one (one in each encoding)."""
    summary = generate(tmp_path_factory.mktemp("small"), START, 12, 2, seed=8)
    return [path.read_bytes() for path in summary.files if path.parent.name == "caf"]


def test_seeded_damage_reads_or_quarantines(tmp_path, small_flows):
    bases = small_flows
    rng = random.Random(20261126)
    outcomes = Counter()
    for attempt in range(120):
        content = rng.choice(bases)
        for _ in range(rng.randint(1, 3)):
            content = damage(content, rng)
        path = tmp_path / "caf" / f"damaged_{attempt}.xml"
        path.write_bytes(content)
        rows: list[RawRow] = []
        try:
            for row in read_caf(path):
                rows.append(row)
        except QuarantineError:
            outcomes["quarantined"] += 1
        else:
            outcomes["read"] += 1
        assert_rows_loadable(rows)
    assert outcomes["read"] and outcomes["quarantined"], outcomes
