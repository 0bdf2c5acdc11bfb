"""The agencies' daily extracts end to end: real DAGs run by the ``aiguillage`` command over a synthetic
multi-day landing zone, the quality gate in front of every delivery, and the operator's view of it.

One warehouse for the module; the tests run in file order and build on each other:
days 1 and 2 delivered normally, day 3 broken on purpose (after its warehouse build) and then fixed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import uuid
from datetime import date
from pathlib import Path

import psycopg
import pytest

from aiguillage.extracts import columns
from tests.conftest import _with_database, run_cli
from tests.mail_sink import HttpSink

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DAY1, DAY2, DAY3 = date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)
BEFORE_EXTRACTS = "landing_registry,caf_ingestion,france_travail_ingestion,ali_ingestion,referral_warehouse"
# A NIR standing alone (an id_orientation's hexadecimal digits may contain 13 digits in a row).
NIR_SHAPED = re.compile(
    r"(?<![0-9A-Za-z])[12]\s?\d{2}\s?\d{2}\s?(\d{2}|2A|2B)\s?\d{3}\s?\d{3}(\s?\d{2})?(?![0-9A-Za-z])")


@pytest.fixture(scope="module")
def zone(server_url, tmp_path_factory):
    """A landing zone of 400 households over 3 days, an outbox and a warehouse database of their own."""
    dbname = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    root = tmp_path_factory.mktemp("extracts")
    landing, outbox = root / "landing", root / "outbox"
    result = run_cli("synth", "--date", DAY1.isoformat(), "--households", "400", "--days", "3", "--seed", "21",
                     "--landing", str(landing))
    assert result.returncode == 0, result.stderr
    yield {"url": _with_database(server_url, dbname), "landing": landing, "outbox": outbox}
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def _run(zone, day: date, *extra: str, env: dict | None = None):
    return run_cli("run", "--date", day.isoformat(), "--landing", str(zone["landing"]),
                   "--outbox", str(zone["outbox"]), "--france-travail-standin", *extra,
                   env={"AIGUILLAGE_WAREHOUSE_URL": zone["url"], **(env or {})})


def _query(zone, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(zone["url"]) as conn:
        return conn.execute(sql, params).fetchall()


def _read_extract(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: no UTF-8 BOM"
    reader = csv.DictReader(raw.decode("utf-8-sig").splitlines(), delimiter=";")
    assert tuple(reader.fieldnames) == columns.EXTRACT_COLUMNS, path.name
    return list(reader)


def _files_of_day(zone, day: date) -> dict[str, dict[str, Path]]:
    """{agency: {fichier: csv path}} of what the outbox holds for the day."""
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(zone["outbox"].glob(f"*/{day.isoformat()}/*.csv")):
        agency = path.parent.parent.name
        if agency.startswith("_"):  # the Département's own folder (the orientation team's list)
            continue
        fichier = columns.STOCK if path.name.startswith("stock_") else columns.MOVEMENTS
        found.setdefault(agency, {})[fichier] = path
    return found


def _receiving(zone, day: date) -> set[str]:
    return {code for code, in _query(
        zone, "SELECT code_structure FROM referentiel.destinations WHERE recoit_extrait"
              " AND (actif_du IS NULL OR actif_du <= %(d)s) AND (actif_au IS NULL OR actif_au >= %(d)s)",
        {"d": day})}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_days_one_and_two_deliver_each_agency_its_own_people_only(zone):
    for day in (DAY1, DAY2):
        result = _run(zone, day)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        assert "Agency extracts:" in result.stdout
        assert f"_runs/{day.isoformat()}/run_report.html" in result.stdout

    receiving = _receiving(zone, DAY1)
    day1, day2 = _files_of_day(zone, DAY1), _files_of_day(zone, DAY2)
    # Every receiving agency is served every day; the full stock only the first time.
    assert set(day1) == receiving and set(day2) == receiving
    assert all(set(files) == {columns.MOVEMENTS, columns.STOCK} for files in day1.values())
    assert all(set(files) == {columns.MOVEMENTS} for files in day2.values())

    # Only decided orientations reach an agency (validated automatically by their rule on this landing
    # zone: nobody sent a decisions file), and nobody whose proposal waits for the orientation team.
    decided = {id_orientation: (decide_par, automatic) for id_orientation, decide_par, automatic in _query(
        zone, "SELECT r.id_orientation, r.decide_par, p.validation_automatique FROM marts.referrals r"
              " JOIN marts.orientation_proposals p USING (id_proposition)")}
    waiting = {person for person, in _query(zone, "SELECT person_id FROM marts.orientation_proposals"
                                                  " WHERE statut_proposition = 'EN_ATTENTE_DECISION'")}
    assert waiting, "the default policy leaves proposals to the orientation team"
    assert not waiting & {person for person, in _query(zone, "SELECT person_id FROM marts.referrals")}
    # Who was referred where, according to the warehouse: each agency's file holds nobody else.
    held = {}
    for id_orientation, code in _query(zone, "SELECT DISTINCT id_orientation, code_structure"
                                             " FROM marts.referral_movements WHERE code_structure IS NOT NULL"):
        held.setdefault(id_orientation, set()).add(code)
    lines = 0
    for day, files in ((DAY1, day1), (DAY2, day2)):
        for agency, by_kind in files.items():
            for fichier, path in by_kind.items():
                text = path.read_text(encoding="utf-8-sig")
                assert not NIR_SHAPED.search(text), f"{path.name}: NIR-shaped value"
                for row in _read_extract(path):
                    lines += 1
                    assert row["code_structure"] == agency, path.name
                    assert decided[row["id_orientation"]] == ("POLITIQUE_AUTOMATIQUE", True), path.name
                    assert agency in held[row["id_orientation"]], f"{path.name}: someone referred elsewhere"
                    if fichier == columns.STOCK:
                        assert row["type_mouvement"] == columns.STOCK_TYPE
                    else:
                        assert row["type_mouvement"] in columns.MOVEMENT_TYPES
                manifest = json.loads(path.with_name(path.stem + ".manifest.json").read_text())
                assert manifest["sha256"] == _sha(path)
                assert manifest["code_structure"] == agency and manifest["date"] == day.isoformat()
    assert lines > 300  # day 1: every open referral twice (movements and stock); day 2: its movements

    # Every delivery is recorded once, and the run report says all was delivered.
    assert _query(zone, "SELECT count(*), count(DISTINCT (code_structure, day, fichier))"
                        " FROM registry.extract_delivery")[0] == (3 * len(receiving), 3 * len(receiving))
    report = json.loads((zone["outbox"] / "_runs" / DAY2.isoformat() / "run_report.json").read_text())
    assert report["status"] == "complete" and report["withheld"] == []


def test_a_rerun_of_the_day_gives_the_same_bytes_and_delivers_nothing_twice(zone):
    before = {path: _sha(path) for files in _files_of_day(zone, DAY2).values() for path in files.values()}
    deliveries = _query(zone, "SELECT count(*) FROM registry.extract_delivery")[0][0]

    result = _run(zone, DAY2, "--only", "referral_extracts")

    assert result.returncode == 0, result.stdout[-3000:]
    assert {path: _sha(path) for path in before} == before
    assert _query(zone, "SELECT count(*) FROM registry.extract_delivery")[0][0] == deliveries
    assert {state for state, in _query(zone, "SELECT state FROM registry.extract_outcome WHERE day = %s",
                                       (DAY2,))} == {"already_delivered"}


def test_a_broken_day_is_withheld_said_loudly_and_delivered_once_fixed(zone):
    build = _run(zone, DAY3, "--only", BEFORE_EXTRACTS)
    assert build.returncode == 0, build.stdout[-3000:]
    ali = sorted(code for code in _receiving(zone, DAY3) if code.startswith("ALI"))
    victim = _query(zone, "SELECT code_structure, count(*) FROM identifiants.identifiants__extract_lines"
                          " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")
    assert victim, "day 3 has no extract line to break"

    # 1. A duplicated id_orientation: the whole day is withheld, for every agency.
    with psycopg.connect(zone["url"]) as conn:
        conn.execute("INSERT INTO identifiants.identifiants__extract_lines"
                     " SELECT * FROM identifiants.identifiants__extract_lines"
                     " WHERE code_structure = %s LIMIT 1", (victim[0][0],))
    with HttpSink() as webhook:
        result = _run(zone, DAY3, "--only", "referral_extracts",
                      env={"AIGUILLAGE_ALERT_WEBHOOK_URL": webhook.url})
        assert result.returncode == 1
        assert "WITHHELD" in result.stdout and "id_orientation" in result.stdout
        assert _files_of_day(zone, DAY3) == {}
        alert = webhook.received[0].json
        assert {item["code_structure"] for item in alert["withheld"]} == _receiving(zone, DAY3)
        assert not NIR_SHAPED.search(json.dumps(alert))
    report = json.loads((zone["outbox"] / "_runs" / DAY3.isoformat() / "run_report.json").read_text())
    assert report["status"] == "withheld" and len(report["withheld"]) == len(_receiving(zone, DAY3))

    # 2. Rebuilt, then one agency's line loses its name: that agency only is withheld.
    rebuild = _run(zone, DAY3, "--only", "referral_warehouse")
    assert rebuild.returncode == 0, rebuild.stdout[-3000:]
    broken = ali[0]
    with psycopg.connect(zone["url"]) as conn:
        conn.execute("UPDATE identifiants.identifiants__extract_lines SET nom = NULL"
                     " WHERE id_orientation = (SELECT min(id_orientation) FROM identifiants.identifiants__extract_lines"
                     " WHERE code_structure = %s)", (broken,))
    result = _run(zone, DAY3, "--only", "referral_extracts")
    assert result.returncode == 1
    assert f"WITHHELD  {broken}" in result.stdout, result.stdout[-3000:]
    delivered = _files_of_day(zone, DAY3)
    assert broken not in delivered and set(delivered) == _receiving(zone, DAY3) - {broken}

    # 3. Fixed (the warehouse rebuilt from the same inputs): the withheld extract goes out, once.
    fixed = _run(zone, DAY3)
    assert fixed.returncode == 0, fixed.stdout[-3000:]
    assert set(_files_of_day(zone, DAY3)) == _receiving(zone, DAY3)
    states = dict(_query(zone, "SELECT code_structure, state FROM registry.extract_outcome WHERE day = %s", (DAY3,)))
    assert states.pop(broken) == "delivered"
    assert set(states.values()) == {"already_delivered"}
    assert _query(zone, "SELECT count(*) - count(DISTINCT (code_structure, fichier)) FROM registry.extract_delivery"
                        " WHERE day = %s", (DAY3,))[0][0] == 0


def test_the_full_stock_is_sent_on_demand(zone):
    result = _run(zone, DAY3, "--only", "referral_extracts", "--stock", "SSD01")
    assert result.returncode == 0, result.stdout[-3000:]
    files = _files_of_day(zone, DAY3)
    assert set(files["SSD01"]) == {columns.MOVEMENTS, columns.STOCK}
    assert all(set(by_kind) == {columns.MOVEMENTS} for code, by_kind in files.items() if code != "SSD01")
    stock = _read_extract(files["SSD01"][columns.STOCK])
    open_here = _query(zone, "SELECT count(*) FROM marts.referrals WHERE code_structure = 'SSD01'"
                             " AND statut_orientation = 'OUVERTE'")[0][0]
    assert len(stock) == open_here


def test_stock_for_an_unknown_agency_is_refused_by_name(zone):
    result = _run(zone, DAY3, "--only", "referral_extracts", "--stock", "ALI99")
    assert result.returncode == 2
    assert "ALI99" in result.stdout
