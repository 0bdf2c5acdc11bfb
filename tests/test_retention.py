"""RGPD retention on a warehouse built by the real pipeline: who goes, from where, and what stays.

A synthetic landing zone (300 households, 4 days from 2026-11-02) is registered, loaded and built by
dbt day by day, like test_dbt_reporting. On day 3 an agency reports an event on a referral that was
closed on day 2, and another on a referral still open. Extract files of day 1 and of a recent day sit
in an outbox, with their delivery records. The purge then runs as of 2028-11-04: with the default
24 months its cut-off is day 3, so

* persons whose right was seen closed on day 1 or 2, and whose referrals (if any) closed by day 2,
  go; persons whose right closed on day 3 are within the period and stay, as do all open ones;
* the day-1 extract folders go, the recent ones stay.

Shown: the dry run records the real run's counts and changes nothing; the real run leaves no NIR,
person id, pseudonym or household key of a purged person in any table of any schema, keeps the
others' rows as they were and the BI totals as they were; a rerun records zero; day 4 builds after
the purge with every dbt test.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from datetime import date, timedelta

import psycopg
import pytest
from psycopg import sql

from aiguillage import dbt_runner, pseudonyms, warehouse
from aiguillage.ingest.ali_reader import ALI_COLUMNS, read_ali_report
from aiguillage.ingest.caf_reader import read_caf
from aiguillage.ingest.france_travail_reader import read_france_travail
from aiguillage.ingest.loader import load_pending
from aiguillage.landing.registry import scan_and_record
from aiguillage.retention import purge, settings
from aiguillage.retention.command import retention_command
from aiguillage.synth import generate
from tests.conftest import new_database

pytestmark = pytest.mark.slow

KEY = "a-retention-test-key-0123456789"
START = date(2026, 11, 2)
DAY2, DAY3, DAY4 = (START + timedelta(days=n) for n in (1, 2, 3))
AS_OF = date(2028, 11, 4)
RECENT = date(2028, 10, 1)  # an extract day well within the period
AGENCIES = ("ALI01", "SSD02")
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


def _load_day(conn, landing, day):
    scan_and_record(conn, landing, day, f"run-{day}")
    load_pending(conn, "caf", landing, lambda pending, path: read_caf(path))
    load_pending(conn, "france_travail", landing, lambda pending, path: read_france_travail(path, pending.kind))
    load_pending(conn, "ali", landing, lambda pending, path: read_ali_report(path, pending.agency_code, day))
    conn.commit()


def _build(day, *, all_tests: bool = False):
    selection = [] if all_tests else [
        "--select", "resource_type:seed", "resource_type:snapshot", "resource_type:model", "path:models/reporting",
        "--indirect-selection", "empty"]
    result = dbt_runner.run(["build", "--vars", f"{{run_day: '{day.isoformat()}'}}", *selection])
    assert result.success, (day, result.failures)


def _write_ali_report(conn, landing, day) -> list[str]:
    """An agency's report of ``day``: an event on a referral closed the day before (its person goes),
    and one on a referral still open at the same agency (its person stays). Returns both ids."""
    closed = conn.execute(
        "SELECT id_orientation, code_structure, date_creation FROM marts.referrals"
        " WHERE statut_orientation = 'CLOTUREE' AND date_cloture = %s AND date_creation < date_cloture"
        " AND code_structure LIKE 'ALI%%' ORDER BY id_orientation LIMIT 1", (day - timedelta(days=1),)).fetchone()
    assert closed is not None, "the synthetic days close no ALI referral: choose another seed"
    kept = conn.execute(
        "SELECT id_orientation FROM marts.referrals WHERE statut_orientation = 'OUVERTE' AND code_structure = %s"
        " ORDER BY id_orientation LIMIT 1", (closed[1],)).fetchone()
    code = closed[1]
    lines = [(closed[0], "PRISE_EN_CHARGE", closed[2]), (kept[0], "PRISE_EN_CHARGE", day)]
    folder = landing / "ali" / code
    folder.mkdir(parents=True)
    rows = [";".join(ALI_COLUMNS)]
    for id_orientation, event, when in lines:
        values = {"code_structure": code, "date_rapport": day.isoformat(), "id_orientation": id_orientation,
                  "evenement": event, "date_evenement": when.isoformat(), "motif": "",
                  "referent_nom": "Référente Fictive", "referent_email": "referente@example.invalid"}
        rows.append(";".join(values[column] for column in ALI_COLUMNS))
    (folder / f"ali_{code}_{day:%Y%m%d}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return [closed[0], kept[0]]


def _place_extracts(conn, outbox, day):
    """What the extract step leaves for a day: CSV + manifest per agency, a staged and an archived copy."""
    for code in AGENCIES:
        for root in (outbox, outbox / ".staging", outbox / "_archive"):
            folder = root / code / day.isoformat()
            folder.mkdir(parents=True)
            csv = folder / f"orientations_{code}_{day:%Y%m%d}.csv"
            csv.write_text("date_extrait;id_orientation;nom\n", encoding="utf-8")
            (folder / f"orientations_{code}_{day:%Y%m%d}.manifest.json").write_text("{}", encoding="utf-8")
        conn.execute(
            "INSERT INTO registry.extract_delivery (code_structure, day, fichier, sha256, row_count, method,"
            " target, run_id) VALUES (%s, %s, 'mouvements', %s, 0, 'outbox', %s, 'test')",
            (code, day, hashlib.sha256(csv.read_bytes()).hexdigest(), str(csv)))
    conn.commit()


@pytest.fixture(scope="module")
def world(server_url, tmp_path_factory):
    """A warehouse built for days 1 to 3, an outbox, and the ids of the two reported referrals."""
    root = tmp_path_factory.mktemp("retention")
    landing, outbox = root / "landing", root / "outbox"
    generate(landing, START, 300, 4, seed=5)
    with new_database(server_url) as url:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("AIGUILLAGE_WAREHOUSE_URL", url)
            for name in (settings.MONTHS_VAR, settings.EXTRACT_MONTHS_VAR, settings.DRY_RUN_VAR):
                env.delenv(name, raising=False)
            with psycopg.connect(url) as conn:
                warehouse.migrate(conn)
                conn.commit()
                pseudonyms.install_key(conn, KEY)
                conn.commit()
                reported = None
                for day in (START, DAY2, DAY3):
                    if day == DAY3:
                        reported = _write_ali_report(conn, landing, day)
                    _load_day(conn, landing, day)
                    _build(day)
                _place_extracts(conn, outbox, START)
                _place_extracts(conn, outbox, RECENT)
            yield {"url": url, "landing": landing, "outbox": outbox, "reported": reported}


def _tables(conn) -> list[tuple[str, str]]:
    return conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg_temp%%'"
        " ORDER BY 1, 2", (list(SYSTEM_SCHEMAS),)).fetchall()


def _row_counts(conn) -> dict[str, int]:
    return {f"{schema}.{table}": conn.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(
        sql.Identifier(schema), sql.Identifier(table))).fetchone()[0] for schema, table in _tables(conn)}


def _expected_purged(conn, cutoff: date) -> set[str]:
    """The persons past the period, worked out here in Python from the history and the referrals."""
    versions: dict[str, list] = {}
    for person_id, valid_from, valid_to, open_right in conn.execute(
            "SELECT person_id, dbt_valid_from::date, dbt_valid_to::date, droit_ouvert"
            " FROM history.snap_persons__situations ORDER BY person_id, dbt_valid_from"):
        versions.setdefault(person_id, []).append((valid_from, valid_to, open_right))
    referrals: dict[str, list] = {}
    for person_id, status, closed_on in conn.execute(
            "SELECT person_id, statut_orientation, date_cloture FROM marts.referrals"):
        referrals.setdefault(person_id, []).append((status, closed_on))
    expected = set()
    for person_id, history in versions.items():
        last_from, last_to, last_open = history[-1]
        if last_open and last_to is None:
            continue
        if last_open:
            closed_since = last_to
        else:
            closed_since = last_from
            for valid_from, _, open_right in reversed(history):
                if open_right:
                    break
                closed_since = valid_from
        mine = referrals.get(person_id, [])
        if closed_since >= cutoff or any(status != "CLOTUREE" for status, _ in mine):
            continue
        if any(closed_on >= cutoff for _, closed_on in mine):
            continue
        expected.add(person_id)
    return expected


def _identifiers(conn, persons: set[str]) -> dict[str, set]:
    """Every value that names one of ``persons`` (and no one else) in the warehouse."""
    rows = conn.execute(
        "SELECT identities.person_id, persons.person_key, persons.dossier_key, people.nir13, people.nir,"
        " people.nom, people.prenom, people.date_naissance, base.identity_pseudonym, base.name_pseudonym"
        " FROM intermediate.int_persons__identities AS identities"
        " JOIN staging.stg_caf__persons AS persons ON persons.dossier_person_key = identities.dossier_person_key"
        " JOIN identifiants.identifiants__persons AS people ON people.person_key = persons.person_key"
        " JOIN staging.base_caf__person_pseudonyms AS base ON base.file_id = persons.file_id"
        "  AND base.position = persons.position AND base.person_position = persons.person_position").fetchall()
    mine = [row for row in rows if row[0] in persons]
    others = [row for row in rows if row[0] not in persons]
    other_values = {value for row in others for value in row if value is not None}
    dossiers_kept = {row[2] for row in others}
    households = {row[0] for row in conn.execute(
        "SELECT DISTINCT household_id FROM staging.stg_caf__dossier_states WHERE dossier_key = ANY(%s)",
        ([row[2] for row in mine if row[2] not in dossiers_kept],))}
    return {
        "person_id": {row[0] for row in mine},
        "person_key": {row[1] for row in mine} - other_values,
        "nir": {row[4] for row in mine if row[4]} | {row[3] for row in mine if row[3]},
        "pseudonym": ({row[8] for row in mine} | {row[9] for row in mine}) - other_values,
        "household": households - {None},
        "dossier_key": {row[2] for row in mine} - dossiers_kept,
        "civil": {(row[5], row[6], row[7]) for row in mine},
    }


def _holders_of(conn, values: set[str]) -> dict[str, int]:
    """Rows of every table of every schema whose text holds one of ``values``."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS scan_token (token text)")
    conn.execute("TRUNCATE scan_token")
    with conn.cursor().copy("COPY scan_token (token) FROM STDIN") as copy:
        for value in values:
            copy.write_row((value,))
    found = {}
    for schema, table in _tables(conn):
        if schema == "pg_temp" or table == "scan_token":
            continue
        count = conn.execute(sql.SQL(
            "SELECT count(*) FROM {}.{} AS t WHERE EXISTS (SELECT FROM scan_token WHERE strpos(t::text, token) > 0)"
        ).format(sql.Identifier(schema), sql.Identifier(table))).fetchone()[0]
        if count:
            found[f"{schema}.{table}"] = count
    return found


def _kept_state(conn, purged: set[str]):
    situations = conn.execute(
        "SELECT person_id, dossier_key, etat_dossier_rsa, droit_ouvert, code_territoire"
        " FROM intermediate.int_persons__situations WHERE NOT (person_id = ANY(%s)) ORDER BY person_id",
        (list(purged),)).fetchall()
    referrals = conn.execute(
        "SELECT id_orientation, person_id, statut_orientation, etape FROM marts.referrals"
        " WHERE NOT (person_id = ANY(%s)) ORDER BY id_orientation", (list(purged),)).fetchall()
    history = conn.execute(
        "SELECT count(*) FROM history.snap_persons__situations WHERE NOT (person_id = ANY(%s))",
        (list(purged),)).fetchone()[0]
    return situations, referrals, history


def _bi_totals(conn):
    return conn.execute(
        "SELECT mesure, mois, code_territoire, parcours, code_structure, categorie, nombre_total"
        " FROM reporting.totaux_avec_purges ORDER BY 1, 2, 3, 4, 5, 6").fetchall()


def _run_record(conn, retention_run_id):
    row = conn.execute(
        "SELECT dry_run, persons, households, rows_deleted, aggregate_rows, files_deleted, deliveries_marked,"
        " registry_matches, cutoff FROM registry.retention_run WHERE retention_run_id = %s",
        (retention_run_id,)).fetchone()
    keys = ("dry_run", "persons", "households", "rows_deleted", "aggregate_rows", "files_deleted",
            "deliveries_marked", "registry_matches", "cutoff")
    return dict(zip(keys, row, strict=True))


@pytest.fixture(scope="module")
def story(world, caplog_module):
    """Before, dry run, real purge: what each saw and left."""
    cutoff = settings.months_before(AS_OF, settings.retention_months())
    assert cutoff == DAY3
    outbox = world["outbox"]
    with psycopg.connect(world["url"], autocommit=True) as conn:
        expected = _expected_purged(conn, cutoff)
        before = {"counts": _row_counts(conn), "kept": _kept_state(conn, expected), "bi": _bi_totals(conn),
                  "identifiers": _identifiers(conn, expected),
                  "closed_within": conn.execute(
                      "SELECT count(*) FROM intermediate.int_persons__situations WHERE NOT droit_ouvert"
                      " AND NOT (person_id = ANY(%s))", (list(expected),)).fetchone()[0],
                  "referred": conn.execute(
                      "SELECT count(DISTINCT person_id) FROM marts.referrals WHERE person_id = ANY(%s)",
                      (list(expected),)).fetchone()[0]}
        dry = purge.run(AS_OF, outbox, dry_run=True, run_id="test-dry")
        after_dry = _row_counts(conn)
        files_after_dry = sorted(p.relative_to(outbox) for p in outbox.rglob("*") if p.is_file())
        real = purge.run(AS_OF, outbox, dry_run=False, run_id="test-real")
        after = {"counts": _row_counts(conn), "kept": _kept_state(conn, expected), "bi": _bi_totals(conn),
                 "dry_record": _run_record(conn, dry["retention_run_id"]),
                 "real_record": _run_record(conn, real["retention_run_id"]),
                 "holders": _holders_of(conn, set().union(*(before["identifiers"][k] for k in (
                     "person_id", "person_key", "nir", "pseudonym", "household", "dossier_key")))),
                 "civil_left": conn.execute(
                     "SELECT count(*) FROM raw.caf_person WHERE (nom, prenom, dtnai) IN (SELECT * FROM unnest("
                     "%s::text[], %s::text[], %s::date[]))",
                     [list(x) for x in zip(*before["identifiers"]["civil"], strict=True)]).fetchone()[0],
                 "deliveries": conn.execute(
                     "SELECT day, count(*) FILTER (WHERE archive_purged_on IS NOT NULL), count(*)"
                     " FROM registry.extract_delivery GROUP BY day ORDER BY day").fetchall()}
    return {"expected": expected, "before": before, "dry": dry, "after_dry": after_dry,
            "files_after_dry": files_after_dry, "real": real, "after": after, "logs": caplog_module}


@pytest.fixture(scope="module")
def caplog_module():
    """Every log record of the module's purges, to check that they name no one."""
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep(level=logging.DEBUG)
    logger = logging.getLogger("aiguillage")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_the_story_has_every_kind_of_person(story):
    before = story["before"]
    assert len(story["expected"]) >= 5
    assert before["referred"] >= 1          # at least one purged person had a referral, closed on day 2
    assert before["closed_within"] >= 1     # someone closed, but within the period
    assert len(before["kept"][0]) > len(story["expected"])  # most people stay


def test_dry_run_records_the_counts_and_deletes_nothing(story):
    before, dry = story["before"], story["after"]["dry_record"]
    changed = {table for table, count in story["after_dry"].items()
               if before["counts"].get(table) != count and table != "registry.retention_run"}
    assert changed == set()
    assert dry["dry_run"] is True
    assert dry["persons"] == len(story["expected"])
    # The dry run's figures are the real run's.
    real = story["after"]["real_record"]
    assert (dry["persons"], dry["households"], dry["rows_deleted"], dry["aggregate_rows"], dry["files_deleted"],
            dry["deliveries_marked"]) == (real["persons"], real["households"], real["rows_deleted"],
                                          real["aggregate_rows"], real["files_deleted"], real["deliveries_marked"])
    assert len(story["files_after_dry"]) == 2 * 3 * 2 * len(AGENCIES)  # days, copies, CSV + manifest, agencies


def test_purge_deletes_exactly_the_persons_past_the_period_from_every_layer(story):
    real, before, after = story["after"]["real_record"], story["before"], story["after"]
    assert real["dry_run"] is False and real["persons"] == len(story["expected"])
    assert real["households"] >= 1
    layers = purge.rows_per_layer(real["rows_deleted"])
    assert {"raw", "staging", "identifiants", "intermediate", "history", "marts"} <= set(layers)
    for table, deleted in real["rows_deleted"].items():
        assert after["counts"][table] == before["counts"][table] - deleted, table
    # Nothing names a purged person any more, in any table of any schema (registry included).
    assert after["holders"] == {}
    assert after["civil_left"] == 0
    assert real["registry_matches"] == 0
    # Everybody else is as they were.
    assert after["kept"] == before["kept"]


def test_bi_totals_do_not_drop(story):
    before, after = story["before"]["bi"], story["after"]["bi"]
    assert after == before
    assert story["after"]["real_record"]["aggregate_rows"] > 0


def test_old_extract_files_go_and_recent_ones_stay(story, world):
    outbox = world["outbox"]
    for code in AGENCIES:
        for root in (outbox, outbox / ".staging", outbox / "_archive"):
            assert not (root / code / START.isoformat()).exists()
            assert len(list((root / code / RECENT.isoformat()).iterdir())) == 2
    assert story["after"]["real_record"]["files_deleted"] == 3 * 2 * len(AGENCIES)
    assert story["after"]["deliveries"] == [(START, len(AGENCIES), len(AGENCIES)), (RECENT, 0, len(AGENCIES))]


def test_logs_name_no_one(story):
    identifiers = story["before"]["identifiers"]
    text = "\n".join(story["logs"])
    assert "retention purge as of 2028-11-04" in text
    for kind in ("person_id", "person_key", "nir", "dossier_key"):
        assert not any(value in text for value in identifiers[kind]), kind


def test_rerun_records_zero_and_the_next_day_builds(story, world, capsys):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIGUILLAGE_WAREHOUSE_URL", world["url"])
        assert retention_command(AS_OF, world["outbox"], dry_run=False) == 0
        printed = capsys.readouterr().out
        with psycopg.connect(world["url"], autocommit=True) as conn:
            rerun = _run_record(conn, conn.execute("SELECT max(retention_run_id) FROM registry.retention_run"
                                                   ).fetchone()[0])
            assert (rerun["persons"], rerun["households"], rerun["rows_deleted"], rerun["aggregate_rows"],
                    rerun["files_deleted"], rerun["deliveries_marked"]) == (0, 0, {}, 0, 0, 0)
            assert "persons past 24 months" in printed
            assert not any(nir in printed for nir in story["before"]["identifiers"]["nir"])
            # The next daily build, every model, snapshot and test, runs on the purged warehouse.
            _load_day(conn, world["landing"], DAY4)
            _build(DAY4, all_tests=True)
            assert conn.execute("SELECT max(date_mouvement) FROM marts.referral_movements").fetchone()[0] == DAY4


def test_the_dag_runs_a_dry_run_by_default_from_the_environment_then_for_real(warehouse_url, tmp_path):
    """The rgpd_retention DAG, run in-process by Airflow (in a child process: Airflow's settings stay
    there), on a warehouse never built: nobody to judge, old extract files counted and kept."""
    outbox = tmp_path / "outbox"
    old = outbox / "ALI01" / "2024-01-05"
    old.mkdir(parents=True)
    (old / "orientations_ALI01_20240105.csv").write_text("x\n", encoding="utf-8")
    day = date(2026, 11, 29)
    code = (
        "import sys; from datetime import date; from pathlib import Path; from aiguillage import runner\n"
        f"outcome = runner.run_day(date.fromisoformat('{day}'), Path(sys.argv[1]), Path(sys.argv[2]),"
        " dag_ids=('rgpd_retention',))\n"
        "print(outcome.dags[0].state)\n"
    )
    env = {**os.environ, settings.DRY_RUN_VAR: "true"}
    env.pop(settings.MONTHS_VAR, None)
    env.pop(settings.EXTRACT_MONTHS_VAR, None)
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "landing"), str(outbox)],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "success", result.stderr[-3000:]
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute(
            "SELECT as_of, cutoff, dry_run, persons, files_deleted, rows_deleted FROM registry.retention_run"
        ).fetchall() == [(day, date(2024, 11, 29), True, 0, 1, {})]
    assert (old / "orientations_ALI01_20240105.csv").exists()

    # The same DAG for real: the file past the period goes, and the run is recorded beside the dry one.
    env[settings.DRY_RUN_VAR] = "false"
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "landing"), str(outbox)],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.stdout.strip().splitlines()[-1] == "success", result.stderr[-3000:]
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute(
            "SELECT dry_run, files_deleted FROM registry.retention_run ORDER BY dry_run"
        ).fetchall() == [(False, 1), (True, 1)]
    assert not (old / "orientations_ALI01_20240105.csv").exists()


def test_periods_count_whole_months_and_refuse_a_typo(monkeypatch):
    assert settings.months_before(date(2028, 11, 4), 24) == date(2026, 11, 4)
    assert settings.months_before(date(2027, 3, 31), 1) == date(2027, 2, 28)
    assert settings.months_before(date(2028, 3, 31), 1) == date(2028, 2, 29)
    assert settings.months_before(date(2027, 1, 15), 13) == date(2025, 12, 15)
    monkeypatch.delenv(settings.MONTHS_VAR, raising=False)
    monkeypatch.delenv(settings.EXTRACT_MONTHS_VAR, raising=False)
    assert (settings.retention_months(), settings.extract_months()) == (24, 24)
    monkeypatch.setenv(settings.MONTHS_VAR, "36")
    assert (settings.retention_months(), settings.extract_months()) == (36, 36)
    monkeypatch.setenv(settings.EXTRACT_MONTHS_VAR, "12")
    assert settings.extract_months() == 12
    for wrong in ("24 mois", "0"):
        monkeypatch.setenv(settings.MONTHS_VAR, wrong)
        with pytest.raises(ValueError, match=settings.MONTHS_VAR):
            settings.retention_months()
