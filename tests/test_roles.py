"""The warehouse's roles (aiguillage.roles), on a warehouse built by the real dbt build.

A small synthetic landing zone (300 households) is loaded for its first day and built by dbt; then
``ensure_roles`` gives every agency receiving an extract its role. With real PostgreSQL connections,
as login roles that are members of each role (and with SET ROLE):

* ``bi_reader`` reads the reporting views only (test_dbt_reporting checks the reads; here: it writes
  nowhere, the agencies' schema is closed to it, and an extra grant is taken back by the next run);
* an agency role reads the lines of its own extract only, never another agency's, even by naming an
  id or through a function of its own; it reads nothing else and writes nowhere;
* the pipeline role, through a login that only is its member, migrates and loads a day of files;
* the grants survive dbt recreating the views; a second run changes nothing; an agency that stops
  receiving an extract loses its role, and a login that may not create roles gets a warning.
"""

from __future__ import annotations

import logging
import uuid
from contextlib import contextmanager
from datetime import date, timedelta

import psycopg
import pytest
from psycopg import errors, sql

from aiguillage import dbt_runner, pseudonyms, warehouse
from aiguillage.ingest.ali_reader import read_ali_report
from aiguillage.ingest.caf_reader import read_caf
from aiguillage.ingest.france_travail_reader import read_france_travail
from aiguillage.ingest.loader import load_pending
from aiguillage.landing.registry import scan_and_record
from aiguillage.roles import BI_ROLE, PIPELINE_ROLE, agency_role, ensure_roles, privileges, roles_command
from aiguillage.roles.names import PIPELINE_SCHEMAS
from aiguillage.synth import generate
from tests.conftest import new_database

pytestmark = pytest.mark.slow

KEY = "a-test-key-0123456789"
START = date(2026, 11, 2)
# Schemas no agency role may read from.
CLOSED_TO_AGENCIES = ("raw", "registry", "identifiants", "staging", "intermediate", "marts", "history", "reporting",
                      "referentiel", "aiguillage_meta")


def _load_day(conn, landing, day, run_id):
    scan_and_record(conn, landing, day, run_id)
    load_pending(conn, "caf", landing, lambda pending, path: read_caf(path))
    load_pending(conn, "france_travail", landing, lambda pending, path: read_france_travail(path, pending.kind))
    load_pending(conn, "ali", landing, lambda pending, path: read_ali_report(path, pending.agency_code, day))
    conn.commit()


def _build(day):
    # Every model, seed and snapshot, and the tests of the agencies' models only (the others have theirs).
    return dbt_runner.run([
        "build", "--vars", f"{{run_day: '{day.isoformat()}'}}",
        "--select", "resource_type:seed", "resource_type:snapshot", "resource_type:model", "path:models/agences",
        "--indirect-selection", "empty",
    ])


@pytest.fixture(scope="module")
def built(server_url, tmp_path_factory):
    """A warehouse built for START with every receiving agency given its role; yields (url, landing, first summary)."""
    landing = tmp_path_factory.mktemp("roles") / "landing"
    generate(landing, START, 300, 2, seed=7)
    with new_database(server_url) as url:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("AIGUILLAGE_WAREHOUSE_URL", url)
            with psycopg.connect(url) as conn:
                warehouse.migrate(conn)
                conn.commit()
                pseudonyms.install_key(conn, KEY)
                conn.commit()
                _load_day(conn, landing, START, "run-0")
                result = _build(START)
                assert result.success, result.failures
                summary = ensure_roles(conn, ["all"])
                conn.commit()
            yield url, landing, summary


@pytest.fixture(scope="module")
def admin(built):
    url, _, _ = built
    with psycopg.connect(url, autocommit=True) as connection:
        yield connection


@contextmanager
def _login_member_of(admin, *roles: str, createrole: bool = False):
    """A connection as a new password-less LOGIN role that is a member of ``roles`` and holds nothing else.
    Roles belong to the whole server: the login is dropped afterwards."""
    login = "login_" + uuid.uuid4().hex[:12]
    admin.execute(sql.SQL("CREATE ROLE {} LOGIN" + (" CREATEROLE" if createrole else "")).format(
        sql.Identifier(login)))
    try:
        for role in roles:
            admin.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(login)))
        params = psycopg.conninfo.conninfo_to_dict(admin.info.dsn)
        params["user"] = login
        with psycopg.connect(**params, autocommit=True) as connection:
            yield connection
    finally:
        admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(login)))
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))


@pytest.fixture(scope="module")
def two_agencies(admin) -> tuple[str, str]:
    """The two agencies with the most lines in the day's extract."""
    rows = admin.execute("SELECT code_structure FROM identifiants.identifiants__extract_lines"
                         " GROUP BY code_structure ORDER BY count(*) DESC, code_structure LIMIT 2").fetchall()
    assert len(rows) == 2
    return rows[0][0], rows[1][0]


def _one_relation(admin, schema: str) -> str:
    found = admin.execute(
        "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'm', 'p') ORDER BY c.relname LIMIT 1", (schema,)).fetchone()
    assert found is not None, f"schema {schema} holds no relation to try"
    return found[0]


def _refused(connection, statement: sql.Composable | str) -> None:
    with pytest.raises(errors.InsufficientPrivilege):
        connection.execute(statement)


def _privileges_outside(admin, role: str, allowed_schema: str) -> list[tuple[str, str]]:
    """Relations ``role`` (or a member) may touch in any way outside its schema, and writes inside it."""
    return admin.execute(
        "SELECT n.nspname || '.' || c.relname, p.privilege"
        " FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'])"
        "   AS p(privilege)"
        " WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f', 'S')"
        "   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'"
        "   AND (c.relkind <> 'S' OR p.privilege IN ('SELECT', 'UPDATE'))"
        "   AND has_table_privilege(%(role)s, c.oid, p.privilege)"
        "   AND (n.nspname <> %(schema)s OR p.privilege <> 'SELECT')"
        " ORDER BY 1, 2", {"role": role, "schema": allowed_schema}).fetchall()


def test_each_role_exists_with_no_power_of_its_own(built, admin):
    _, _, summary = built
    receiving = [code for (code,) in admin.execute(
        "SELECT code_structure FROM marts.structures WHERE recoit_extrait AND actif ORDER BY 1")]
    assert summary["agencies"] == receiving
    assert {"ALI01", "ALI22", "ML01", "CAP93"} <= set(receiving) and "FT93" not in receiving
    roles = [PIPELINE_ROLE, BI_ROLE, *(agency_role(code) for code in receiving)]
    assert set(summary["roles"]) == set(roles) and summary["warnings"] == []
    attributes = admin.execute(
        "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls"
        " FROM pg_roles WHERE rolname = ANY(%s) ORDER BY 1", (roles,)).fetchall()
    assert attributes == [(role, False, False, False, False, False, False) for role in sorted(roles)]
    assert dict(admin.execute("SELECT role_name, code_structure FROM agences.role_structure")) == {
        agency_role(code): code for code in receiving}


def test_bi_reader_writes_nowhere_and_loses_what_it_should_not_hold(built, admin):
    with _login_member_of(admin, BI_ROLE) as bi:
        assert bi.execute("SELECT count(*) FROM reporting.orientations").fetchone()[0] > 0
        _refused(bi, "SELECT * FROM agences.orientations")
        _refused(bi, "SELECT * FROM agences.role_structure")
        _refused(bi, "DELETE FROM reporting.structures")
        _refused(bi, "CREATE TABLE reporting.mine (x int)")
        _refused(bi, "CREATE TABLE public.mine (x int)")
        _refused(bi, "CREATE VIEW reporting.mine AS SELECT 1 AS x")
    assert _privileges_outside(admin, BI_ROLE, "reporting") == []

    # A grant made by hand beyond its views (a mart, a schema, a write) is taken back by the next run.
    admin.execute("GRANT USAGE ON SCHEMA marts TO bi_reader")
    admin.execute("GRANT SELECT ON marts.referrals TO bi_reader")
    admin.execute("GRANT INSERT ON reporting.orientations TO bi_reader")
    url, _, _ = built
    with psycopg.connect(url) as conn:
        summary = ensure_roles(conn)
    assert summary["revoked"] == 3 and summary["warnings"] == []
    assert _privileges_outside(admin, BI_ROLE, "reporting") == []
    assert admin.execute("SELECT has_schema_privilege('bi_reader', 'marts', 'USAGE')").fetchone() == (False,)


def test_an_agency_reads_its_own_lines_only(built, admin, two_agencies):
    mine, theirs = two_agencies
    expected = admin.execute(
        "SELECT count(*), count(*) FILTER (WHERE fichier = 'stock') FROM identifiants.identifiants__extract_lines"
        " WHERE code_structure = %s", (mine,)).fetchone()
    open_referrals = admin.execute("SELECT count(*) FROM marts.referrals WHERE code_structure = %s"
                                   " AND statut_orientation = 'OUVERTE'", (mine,)).fetchone()[0]
    assert expected[0] > 0 and expected[1] == open_referrals > 0
    their_id = admin.execute("SELECT id_orientation FROM identifiants.identifiants__extract_lines"
                             " WHERE code_structure = %s LIMIT 1", (theirs,)).fetchone()[0]

    with _login_member_of(admin, agency_role(mine)) as agency:
        assert agency.execute(
            "SELECT count(*), count(*) FILTER (WHERE fichier = 'stock'), array_agg(DISTINCT code_structure)"
            " FROM agences.orientations").fetchone() == (expected[0], open_referrals, [mine])
        assert agency.execute("SELECT count(*) FROM agences.orientations WHERE code_structure = %s",
                              (theirs,)).fetchone() == (0,)
        # Naming another agency's referral by its id shows nothing either...
        assert agency.execute("SELECT count(*) FROM agences.orientations WHERE id_orientation = %s",
                              (their_id,)).fetchone() == (0,)
        # ... nor does a cheap function of its own that would see every row it is given (security_barrier),
        # even with the planner steered towards scanning every line before the agency filter.
        for setting in ("enable_nestloop", "enable_indexscan", "enable_bitmapscan"):
            agency.execute(sql.SQL("SET {} = off").format(sql.Identifier(setting)))
        agency.execute("CREATE FUNCTION pg_temp.peek(code text) RETURNS boolean LANGUAGE plpgsql COST 0.0001 AS"
                       " $$ BEGIN RAISE NOTICE 'seen %', code; RETURN true; END $$")
        seen: list[str] = []
        agency.add_notice_handler(lambda notice: seen.append(notice.message_primary))
        agency.execute("SELECT count(*) FROM agences.orientations WHERE pg_temp.peek(code_structure)").fetchone()
        assert seen and set(seen) == {f"seen {mine}"}
        columns = [column.name for column in agency.execute("SELECT * FROM agences.orientations LIMIT 0").description]
        assert "nom" in columns and not {"nir", "nir13", "person_id", "household_id"} & set(columns)

    # The role itself, taken with SET ROLE, is filtered the same way.
    with admin.transaction():
        admin.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(agency_role(theirs))))
        assert admin.execute("SELECT array_agg(DISTINCT code_structure) FROM agences.orientations").fetchone() == (
            [theirs],)
    # A login of no agency, or the pipeline's role, reads no agency line through the view.
    with _login_member_of(admin, PIPELINE_ROLE) as pipeline:
        assert pipeline.execute("SELECT count(*) FROM agences.orientations").fetchone() == (0,)


def test_an_agency_reads_nothing_else_and_writes_nowhere(built, admin, two_agencies):
    mine, _ = two_agencies
    role = agency_role(mine)
    with _login_member_of(admin, role) as agency:
        for schema in CLOSED_TO_AGENCIES:
            _refused(agency, sql.SQL("SELECT * FROM {}.{} LIMIT 1").format(
                sql.Identifier(schema), sql.Identifier(_one_relation(admin, schema))))
        _refused(agency, "SELECT * FROM agences.role_structure")
        _refused(agency, "SELECT aiguillage_meta.pseudonym('x')")
        # The view holds no write privilege (checked below); PostgreSQL refuses writing it in any case.
        for write in ("DELETE FROM agences.orientations", "UPDATE agences.orientations SET nom = 'x'"):
            with pytest.raises((errors.InsufficientPrivilege, errors.ObjectNotInPrerequisiteState)):
                agency.execute(write)
        _refused(agency, "INSERT INTO agences.role_structure VALUES ('x', 'X')")
        _refused(agency, "CREATE TABLE agences.mine (x int)")
        _refused(agency, "CREATE TABLE public.mine (x int)")
        _refused(agency, "CREATE SCHEMA mine")
    assert _privileges_outside(admin, role, "agences") == []
    assert admin.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE has_table_privilege(%s, c.oid, 'SELECT') AND n.nspname = 'agences'", (role,)).fetchall() == [
        ("agences.orientations",)]


def test_the_pipeline_role_does_its_job(built, admin):
    url, landing, _ = built
    # Every relation of every schema of the pipeline, for each kind of work.
    missing = admin.execute(
        "SELECT n.nspname || '.' || c.relname, p.privilege"
        " FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p(privilege)"
        " WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s)"
        "   AND NOT has_table_privilege(%s, c.oid, p.privilege)",
        (list(PIPELINE_SCHEMAS), PIPELINE_ROLE)).fetchall()
    assert missing == []
    assert admin.execute(
        "SELECT bool_and(has_schema_privilege(%s, nspname, 'USAGE') AND has_schema_privilege(%s, nspname, 'CREATE'))"
        " FROM pg_namespace WHERE nspname = ANY(%s)",
        (PIPELINE_ROLE, PIPELINE_ROLE, list(PIPELINE_SCHEMAS))).fetchone() == (True,)

    # A login that is only a member of the role migrates, registers and loads the next day's files.
    day = START + timedelta(days=1)
    with _login_member_of(admin, PIPELINE_ROLE) as login:
        login.autocommit = False
        assert warehouse.migrate(login) == []
        assert login.execute("SELECT count(*) FROM raw.caf_person").fetchone()[0] > 0
        assert login.execute("SELECT count(*) > 0 FROM identifiants.identifiants__extract_lines").fetchone() == (True,)
        assert len(login.execute("SELECT aiguillage_meta.pseudonym('x')").fetchone()[0]) == 64
        before = login.execute("SELECT count(*) FROM registry.landing_file").fetchone()[0]
        _load_day(login, landing, day, "run-1")
        files = login.execute("SELECT count(*), count(*) FILTER (WHERE status LIKE 'loaded%%')"
                              " FROM registry.landing_file WHERE logical_date = %s", (day,)).fetchone()
        assert files[0] > 0 and files[1] > 0
        assert login.execute("SELECT count(*) FROM registry.landing_file").fetchone()[0] == before + files[0]
        with login.transaction(force_rollback=True):
            login.execute("CREATE TABLE staging.scratch AS SELECT 1 AS x")
            login.execute("DELETE FROM marts.referrals WHERE false")


def test_grants_survive_dbt_recreating_the_views(built, admin, two_agencies):
    mine, _ = two_agencies
    oid_before = admin.execute("SELECT 'agences.orientations'::regclass::oid").fetchone()[0]
    url, _, _ = built
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIGUILLAGE_WAREHOUSE_URL", url)
        result = dbt_runner.run(["run", "--vars", f"{{run_day: '{START.isoformat()}'}}",
                                 "--select", "identifiants__extract_lines+", "reporting__orientations"])
    assert result.success, result.failures
    assert admin.execute("SELECT 'agences.orientations'::regclass::oid").fetchone()[0] != oid_before
    assert admin.execute("SELECT reloptions FROM pg_class WHERE oid = 'agences.orientations'::regclass"
                         ).fetchone() == (["security_barrier=true"],)
    with _login_member_of(admin, agency_role(mine)) as agency:
        assert agency.execute("SELECT array_agg(DISTINCT code_structure) FROM agences.orientations").fetchone() == (
            [mine],)
    with _login_member_of(admin, BI_ROLE) as bi:
        assert bi.execute("SELECT count(*) > 0 FROM reporting.orientations").fetchone() == (True,)
    assert _privileges_outside(admin, agency_role(mine), "agences") == []
    with _login_member_of(admin, PIPELINE_ROLE) as pipeline:
        assert pipeline.execute("SELECT count(*) > 0 FROM identifiants.identifiants__extract_lines").fetchone() == (
            True,)


def _state(admin) -> tuple:
    roles = [name for (name,) in admin.execute(
        "SELECT rolname FROM pg_roles WHERE rolname IN ('aiguillage_pipeline', 'bi_reader')"
        " OR rolname LIKE 'agence\\_%%' ORDER BY 1")]
    mapping = admin.execute("SELECT role_name, code_structure, granted_at FROM agences.role_structure ORDER BY 1")
    return roles, sorted(privileges.snapshot(admin, roles)), mapping.fetchall()


def test_a_second_run_changes_nothing(built, admin, capsys):
    url, _, _ = built
    with psycopg.connect(url) as conn:
        ensure_roles(conn)
    before = _state(admin)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIGUILLAGE_WAREHOUSE_URL", url)
        assert roles_command() == 0
    printed = capsys.readouterr().out
    assert "(nothing to change)" in printed and "WARNING" not in printed
    assert _state(admin) == before
    with psycopg.connect(url) as conn:
        summary = ensure_roles(conn)
    assert (summary["granted"], summary["revoked"], summary["retired"], summary["warnings"]) == (0, 0, {}, [])
    assert set(summary["roles"].values()) == {"present"}
    assert _state(admin) == before


def test_an_agency_leaving_loses_its_role(built, admin, two_agencies, caplog):
    url, _, _ = built
    _, leaving = two_agencies
    role = agency_role(leaving)
    with _login_member_of(admin, role) as agency:
        assert agency.execute("SELECT count(*) > 0 FROM agences.orientations").fetchone() == (True,)
    # The agency stops receiving an extract (its row of the seed, as the warehouse holds it).
    admin.execute("UPDATE marts.structures SET recoit_extrait = false WHERE code_structure = %s", (leaving,))
    try:
        with psycopg.connect(url) as conn:
            summary = ensure_roles(conn)
        assert summary["retired"] == {role: "dropped"} and leaving not in summary["agencies"]
        assert admin.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (role,)).fetchone() == (0,)
        assert admin.execute("SELECT count(*) FROM agences.role_structure WHERE code_structure = %s",
                             (leaving,)).fetchone() == (0,)
        # Asking for it by name does not bring it back while it receives no extract.
        with psycopg.connect(url) as conn:
            summary = ensure_roles(conn, [leaving])
        assert summary["refused"] == [leaving] and role not in summary["roles"]
    finally:
        admin.execute("UPDATE marts.structures SET recoit_extrait = true WHERE code_structure = %s", (leaving,))

    # Back in the seed, a login that may not create roles warns and does the rest ...
    with _login_member_of(admin, PIPELINE_ROLE) as weak, caplog.at_level(logging.WARNING, "aiguillage.roles"):
        weak.autocommit = False
        summary = ensure_roles(weak, ["all"])
        weak.commit()
    assert summary["roles"][role] == "missing"
    assert any(f"CREATE ROLE {role} NOLOGIN" in warning for warning in summary["warnings"])
    assert any(f"CREATE ROLE {role} NOLOGIN" in record.getMessage() for record in caplog.records)
    # ... and the pipeline's own login gives it back its role.
    with psycopg.connect(url) as conn:
        summary = ensure_roles(conn, ["all"])
    assert summary["roles"][role] == "created"
    with _login_member_of(admin, role) as agency:
        assert agency.execute("SELECT array_agg(DISTINCT code_structure) FROM agences.orientations").fetchone() == (
            [leaving],)


def test_a_role_still_granted_in_another_database_is_disabled_not_dropped(built, admin, server_url):
    url, _, _ = built
    code = admin.execute("SELECT code_structure FROM agences.role_structure ORDER BY 1 LIMIT 1").fetchone()[0]
    role = agency_role(code)
    other = "t_" + uuid.uuid4().hex[:12]
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(other)))
    try:
        admin.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(other), sql.Identifier(role)))
        admin.execute(sql.SQL("ALTER ROLE {} LOGIN").format(sql.Identifier(role)))  # an administrator's choice
        wanted = [c for (c,) in admin.execute("SELECT code_structure FROM agences.role_structure") if c != code]
        with psycopg.connect(url) as conn:
            summary = ensure_roles(conn, wanted)
        assert summary["retired"] == {role: "disabled"}
        assert any(role in warning and "kept without login" in warning for warning in summary["warnings"])
        assert admin.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (role,)).fetchone() == (False,)
        # Nothing left in this database but its INHERIT attribute (the default of every role).
        assert {held.kind for held in privileges.snapshot(admin, [role])} == {"attribute"}
        assert admin.execute("SELECT count(*) FROM agences.role_structure WHERE role_name = %s", (role,)).fetchone() == (0,)
        with psycopg.connect(url) as conn:
            assert ensure_roles(conn, ["all"])["roles"][role] == "present"
    finally:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(other)))
