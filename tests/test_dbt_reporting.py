"""The analysts' reporting layer (schema ``reporting``), built by dbt on a warehouse loaded by the real code.

A small synthetic landing zone (300 households, 2 days, no defects) is registered and loaded day by
day, with one ALI activity report on day 2 about a referral made on day 1; dbt builds each day in
order with its ``run_day``. Every model, seed and snapshot is built each day, but only the reporting
layer's data tests run here (the marts' own tests run in test_dbt_referrals): a full test run doubles
the time on CI's 2 cores. Then, with real PostgreSQL connections:

* every reporting view and each of its columns carries a non-empty comment (persist_docs);
* a login role that is only a member of ``bi_reader`` reads every reporting view, and nothing of
  the other schemas (raw, staging, intermediate, marts, history, identifiants, registry,
  aiguillage_meta, referentiel), not even the pseudonym function;
* no column of a reporting view is named like a direct identifier, or like a person, household or
  address pseudonym.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import errors, sql

from aiguillage import dbt_runner, pseudonyms, warehouse
from aiguillage.ingest.ali_reader import ALI_COLUMNS, read_ali_report
from aiguillage.ingest.caf_reader import read_caf
from aiguillage.ingest.france_travail_reader import read_france_travail
from aiguillage.ingest.loader import load_pending
from aiguillage.landing.registry import scan_and_record
from aiguillage.synth import generate

pytestmark = pytest.mark.slow

KEY = "a-test-key-0123456789"
START = date(2026, 11, 2)
DAYS = 2

REPORTING_VIEWS = {
    "orientations", "mouvements_orientations", "evenements_ali", "beneficiaires", "structures",
    "territoires", "communes", "indicateurs_quotidiens", "orientations_en_retard", "totaux_avec_purges",
    "remobilisation", "remobilisation_manquements", "propositions", "orientations_par_france_travail",
}
# Schemas bi_reader must not enter (all but reporting); each holds at least one table once built.
CLOSED_SCHEMAS = ("raw", "staging", "intermediate", "marts", "history", "identifiants", "registry",
                  "aiguillage_meta", "referentiel", "agences")

# Column names of a direct identifier (the partners' names and their readable renamings), and of the
# pseudonyms that would let a reader follow a person, a household or an address across views.
FORBIDDEN_NAMES = {
    "nir", "nir13", "nir2", "nom", "nomnai", "nom_naissance", "nom_usage", "nom_famille", "prenom",
    "prenom2", "prenom3", "qual", "civilite", "dtnai", "date_naissance", "nomcomnai", "commune_naissance",
    "numvoie", "numero_voie", "libtypevoie", "type_voie", "nomvoie", "nom_voie", "complideadr",
    "complement_identite", "compladr", "complement_adresse", "lieudist", "lieu_dit", "adresse", "localite",
    "matricule", "numdemrsa", "numero_demande_rsa", "dossier_key", "dossier_row_key", "identifiantpe",
    "idassedic", "identifiant_ft", "email", "courriel", "telephone", "referent", "referent_nom",
    "referent_email", "response", "person_id", "person_key", "person_pseudonym", "identity_pseudonym",
    "household_id", "address_pseudonym", "situation_empreinte",
}
# ... and the same words anywhere in a name, split on underscores (nom_commune, a place, is allowed).
FORBIDDEN_WORDS = re.compile(
    r"(^|_)(nir\d*|prenom\d*|nomnai|dtnai|naissance|adresse|adr|voie|matricule|email|courriel|telephone|"
    r"referent|identifiantpe|idassedic|pseudonym|person|household|empreinte)(_|$)")
FORBIDDEN_NOM = re.compile(r"^nom(_|$)")
PLACE_NAMES = {"nom_commune", "nom_territoire"}


def _with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def _load_day(conn, landing, day, run_id):
    scan_and_record(conn, landing, day, run_id)
    load_pending(conn, "caf", landing, lambda pending, path: read_caf(path))
    load_pending(conn, "france_travail", landing, lambda pending, path: read_france_travail(path, pending.kind))
    load_pending(conn, "ali", landing, lambda pending, path: read_ali_report(path, pending.agency_code, day))
    conn.commit()


def _write_ali_report(conn, landing, day) -> str:
    """An agency's report for ``day``: it took charge of one of its open referrals. Returns the id."""
    id_orientation, code_structure = conn.execute(
        "SELECT id_orientation, code_structure FROM marts.referrals"
        " WHERE statut_orientation = 'OUVERTE' AND code_structure LIKE 'ALI%'"
        " ORDER BY id_orientation LIMIT 1").fetchone()
    folder = landing / "ali" / code_structure
    folder.mkdir(parents=True)
    line = {"code_structure": code_structure, "date_rapport": day.isoformat(), "id_orientation": id_orientation,
            "evenement": "PRISE_EN_CHARGE", "date_evenement": day.isoformat(), "motif": "",
            "referent_nom": "Référente Fictive", "referent_email": "referente@example.invalid"}
    (folder / f"ali_{code_structure}_{day:%Y%m%d}.csv").write_text(
        ";".join(ALI_COLUMNS) + "\n" + ";".join(line[c] for c in ALI_COLUMNS) + "\n", encoding="utf-8")
    return id_orientation


def _build(day):
    # Every model, seed and snapshot, and the tests written in models/reporting only.
    return dbt_runner.run([
        "build", "--vars", f"{{run_day: '{day.isoformat()}'}}",
        "--select", "resource_type:seed", "resource_type:snapshot", "resource_type:model", "path:models/reporting",
        "--indirect-selection", "empty",
    ])


@pytest.fixture(scope="module")
def built(server_url, tmp_path_factory):
    """A warehouse built for START and the next day; yields (url, id of the referral the ALI took on)."""
    dbname = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    url = _with_database(server_url, dbname)
    landing = tmp_path_factory.mktemp("reporting") / "landing"
    generate(landing, START, 300, DAYS, seed=5)
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("AIGUILLAGE_WAREHOUSE_URL", url)
            with psycopg.connect(url) as conn:
                warehouse.migrate(conn)
                conn.commit()
                pseudonyms.install_key(conn, KEY)
                conn.commit()
                taken_on = None
                for offset in range(DAYS):
                    day = START + timedelta(days=offset)
                    _load_day(conn, landing, day, f"run-{offset}")
                    result = _build(day)
                    assert result.success, (day, result.failures)
                    if offset == 0:
                        taken_on = _write_ali_report(conn, landing, day + timedelta(days=1))
            yield url, taken_on
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture(scope="module")
def admin(built):
    url, _ = built
    with psycopg.connect(url, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def bi_login(admin):
    """A connection as a password-less LOGIN role granted bi_reader and nothing else. Roles belong to
    the whole server, which other tests' databases share: the role is dropped at the end."""
    role = "bi_login_" + uuid.uuid4().hex[:12]
    admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        admin.execute(sql.SQL("GRANT bi_reader TO {}").format(sql.Identifier(role)))
        params = psycopg.conninfo.conninfo_to_dict(admin.info.dsn)
        params["user"] = role
        with psycopg.connect(**params, autocommit=True) as connection:
            yield connection
    finally:
        admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _reporting_columns(admin) -> dict[str, list[str]]:
    columns: dict[str, list[str]] = {}
    for view, column in admin.execute(
            "SELECT c.relname, a.attname FROM pg_class AS c"
            " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
            " WHERE n.nspname = 'reporting' ORDER BY c.relname, a.attnum"):
        columns.setdefault(view, []).append(column)
    return columns


def test_reporting_holds_the_views_with_data(built, admin):
    kinds = dict(admin.execute(
        "SELECT c.relname, c.relkind FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'reporting'").fetchall())
    assert kinds == dict.fromkeys(REPORTING_VIEWS, "v")

    def count(view, where: sql.Composable | None = None):
        query = sql.SQL("SELECT count(*) FROM reporting.{} WHERE {}").format(
            sql.Identifier(view), where or sql.SQL("true"))
        return admin.execute(query).fetchone()[0]

    assert (count("territoires"), count("structures")) == (22, 55)
    assert count("communes") > 30
    assert count("orientations") > 50 and count("beneficiaires") > count("orientations")
    assert count("mouvements_orientations") >= count("orientations")
    assert admin.execute("SELECT array_agg(DISTINCT jour ORDER BY jour) FROM reporting.indicateurs_quotidiens"
                         ).fetchone()[0] == [START, START + timedelta(days=1)]
    # The late referrals add up to the open referrals of the mart past a deadline, and the contracts
    # of social and employment referrals, which no one reports, are not followed: never late.
    assert admin.execute(
        "SELECT coalesce(sum(nb_en_retard), 0), coalesce(sum(nb_depassement_orientation), 0),"
        " coalesce(sum(nb_sans_contrat_hors_delai), 0)"
        " FROM reporting.orientations_en_retard").fetchone() == admin.execute(
        "SELECT count(*) FILTER (WHERE depassement_orientation OR depassement_contrat),"
        " count(*) FILTER (WHERE depassement_orientation), count(*) FILTER (WHERE statut_contrat = 'EN_RETARD')"
        " FROM marts.referrals WHERE statut_orientation <> 'CLOTUREE'").fetchone()
    assert admin.execute(
        "SELECT count(*) FROM reporting.orientations WHERE parcours IN ('PSP', 'PED')"
        " AND (statut_contrat <> 'NON_SUIVI' OR depassement_contrat)").fetchone() == (0,)
    # The people France Travail orients for lack of a decision, per territory, add up to the flag.
    assert admin.execute(
        "SELECT coalesce(sum(nb_personnes), 0) FROM reporting.orientations_par_france_travail").fetchone() == \
        admin.execute("SELECT count(*) FROM reporting.beneficiaires WHERE orientation_par_france_travail").fetchone()
    # Two days after the first stock, nobody is late yet: the stock (people in rights and duties
    # before the warehouse's first day) is not judged on its orientation deadline.
    stock, stock_late = admin.execute(
        "SELECT count(*) FILTER (WHERE reprise_de_stock),"
        " count(*) FILTER (WHERE reprise_de_stock AND depassement_orientation) FROM reporting.orientations"
    ).fetchone()
    assert stock > 0 and stock_late == 0
    # The ALI's report went through: its event, and the referral's step.
    _, taken_on = built
    assert admin.execute("SELECT evenement, date_evenement FROM reporting.evenements_ali WHERE id_orientation = %s",
                         (taken_on,)).fetchall() == [("PRISE_EN_CHARGE", START + timedelta(days=1))]
    assert admin.execute("SELECT etape FROM reporting.orientations WHERE id_orientation = %s",
                         (taken_on,)).fetchone() == ("PRISE_EN_CHARGE",)
    # Counting people without their id: one first referral per person who has one.
    assert count("orientations", sql.Identifier("est_premiere_orientation")) == admin.execute(
        "SELECT count(DISTINCT person_id) FROM marts.referrals").fetchone()[0]


def test_every_view_and_column_is_described(built, admin):
    described = admin.execute(
        "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class AS c"
        " JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = 'reporting'").fetchall()
    assert {view for view, _ in described} == REPORTING_VIEWS
    assert [view for view, comment in described if not (comment or "").strip()] == []
    undescribed = admin.execute(
        "SELECT c.relname, a.attname FROM pg_class AS c"
        " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " WHERE n.nspname = 'reporting' AND coalesce(btrim(col_description(c.oid, a.attnum)), '') = ''"
        " ORDER BY 1, 2").fetchall()
    assert undescribed == []


def test_bi_reader_reads_reporting_and_nothing_else(built, admin, bi_login):
    for view in sorted(REPORTING_VIEWS):
        bi_login.execute(sql.SQL("SELECT * FROM reporting.{} LIMIT 5").format(sql.Identifier(view))).fetchall()
    assert bi_login.execute("SELECT count(*) FROM reporting.orientations").fetchone() == admin.execute(
        "SELECT count(*) FROM marts.referrals").fetchone()

    # One real SELECT refused in each other schema...
    for schema in CLOSED_SCHEMAS:
        table = admin.execute(
            "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'm', 'p') ORDER BY c.relname LIMIT 1",
            (schema,)).fetchone()
        assert table is not None, f"schema {schema} holds no table to try"
        with pytest.raises(errors.InsufficientPrivilege):
            bi_login.execute(sql.SQL("SELECT * FROM {}.{} LIMIT 1").format(
                sql.Identifier(schema), sql.Identifier(table[0])))
    with pytest.raises(errors.InsufficientPrivilege):
        bi_login.execute("SELECT aiguillage_meta.pseudonym('x')")
    # ... and no privilege that would let it read any relation outside reporting.
    role = bi_login.info.user
    readable = admin.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')"
        "   AND n.nspname NOT IN ('reporting', 'pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'"
        "   AND has_schema_privilege(%s, n.oid, 'USAGE') AND has_table_privilege(%s, c.oid, 'SELECT')",
        (role, role)).fetchall()
    assert readable == []


def test_no_reporting_column_names_an_identifier(built, admin):
    columns = _reporting_columns(admin)
    assert set(columns) == REPORTING_VIEWS
    flagged = [
        f"{view}.{column}" for view, names in columns.items() for column in names
        if column in FORBIDDEN_NAMES or FORBIDDEN_WORDS.search(column)
        or (FORBIDDEN_NOM.search(column) and column not in PLACE_NAMES)
    ]
    assert flagged == []
    assert "situation_empreinte" not in columns["mouvements_orientations"]
