"""The dbt seeds (territories, destinations, routing, parcours rules, code lists) load and hold together."""

from __future__ import annotations

import json

import psycopg
import pytest

from aiguillage import config, dbt_runner
from aiguillage.referential import load_communes

pytestmark = pytest.mark.slow

SINGULAR_TESTS = {
    "assert_territoire_une_ali_un_ssd",
    "assert_destinations_coherentes",
    "assert_routage_sans_chevauchement",
    "assert_routage_couvre_chaque_commune",
    "assert_communes_territoire_conforme_au_routage",
    "assert_regles_parcours_bien_formees",
    "assert_destinations_servent_chaque_adresse",
}

# Route an address (code_insee, code_postal, date) with one join on the routing seed: a row naming
# the postal code wins over the commune's "any postal code" row (the seed's documented reading rule).
ROUTE_SQL = """
    SELECT DISTINCT ON (a.n) a.n, r.code_territoire
    FROM (VALUES (1, %s::text, %s::text, %s::date)) AS a (n, code_insee, code_postal, jour)
    JOIN referentiel.routage_codes_postaux AS r
      ON r.code_insee = a.code_insee
     AND (r.code_postal = a.code_postal OR r.code_postal IS NULL)
     AND a.jour BETWEEN coalesce(r.valide_du, '-infinity'::date) AND coalesce(r.valide_au, 'infinity'::date)
    ORDER BY a.n, r.code_postal IS NULL
"""


@pytest.fixture
def seeded(warehouse_url):
    """A fresh warehouse with every seed loaded by ``dbt seed``."""
    result = dbt_runner.run(["seed"])
    assert result.success, result.failures
    with psycopg.connect(warehouse_url) as connection:
        yield connection


def _route(conn, code_insee: str, code_postal: str, jour: str) -> str:
    rows = conn.execute(ROUTE_SQL, (code_insee, code_postal, jour)).fetchall()
    assert len(rows) == 1, (code_insee, code_postal, jour, rows)
    return rows[0][1]


def test_seed_data_tests_and_singular_tests_pass(seeded):
    # cautious: tests that also depend on models not selected here (staging code checks) stay out.
    result = dbt_runner.run(["test", "--select", "resource_type:seed", "path:tests/seeds",
                             "--indirect-selection", "cautious"])
    assert result.success, result.failures

    run_results = json.loads((config.home_dir() / "dbt" / "target" / "run_results.json").read_text())
    executed = {r["unique_id"].split(".")[2]: r["status"] for r in run_results["results"]
                if r["unique_id"].startswith("test.")}  # not the project's on-run-end hook
    assert SINGULAR_TESTS <= executed.keys()
    assert len(executed) > 60  # the generic tests declared in the seeds' YAML ran too
    assert set(executed.values()) == {"pass"}


def test_seeded_tables_route_addresses_and_agree_with_the_referential(seeded):
    # Same communes and postal codes as the referential shipped in the package.
    rows = seeded.execute(
        "SELECT code_insee, codes_postaux, nom_commune FROM referentiel.communes ORDER BY code_insee").fetchall()
    assert len(rows) == 40
    assert [(code, tuple(postaux.split("|")), nom) for code, postaux, nom in rows] == [
        (c.code_insee, c.codes_postaux, c.nom) for c in load_communes()]

    # Column types: codes keep their leading zero, dates and booleans are typed.
    assert seeded.execute("SELECT 1 FROM referentiel.codes_motisusversrsa WHERE code = '01'").fetchone()
    assert seeded.execute("SELECT string_agg(code, ',' ORDER BY code) FROM referentiel.codes_etatdosrsa "
                          "WHERE est_ouvert").fetchone() == ("2,3,4,Z",)
    date_fin, deleguee_de = seeded.execute(
        "SELECT date_fin, commune_deleguee_de FROM referentiel.communes WHERE code_insee = '93059'").fetchone()
    assert (date_fin.isoformat(), deleguee_de) == ("2024-12-31", "93066")

    # Routing before and after the Saint-Denis / Pierrefitte merger of 2025-01-01.
    assert _route(seeded, "93066", "93380", "2026-01-01") == "T01"
    assert _route(seeded, "93066", "93200", "2026-01-01") == "T05"
    assert _route(seeded, "93066", "93210", "2024-06-01") == "T05"
    assert _route(seeded, "93066", "93380", "2024-06-01") == "T01"  # an old address resent under the new code
    assert _route(seeded, "93059", "93380", "2024-06-01") == "T01"
    assert _route(seeded, "93059", "93380", "2026-01-01") == "T01"
    montreuil = seeded.execute(
        "SELECT t.code_territoire FROM referentiel.territoires AS t "
        "JOIN referentiel.communes AS c USING (code_territoire) WHERE c.nom_commune = 'Montreuil'").fetchone()[0]
    for jour in ("2020-01-01", "2026-01-01", "2030-06-30"):
        assert _route(seeded, "93048", "93100", jour) == montreuil

    # Every ALI of the 2021 and 2023 calls is active on a day of 2026 (seed README: working assumption).
    inactive = seeded.execute(
        """SELECT code_structure FROM referentiel.destinations
           WHERE type_structure = 'ALI'
             AND NOT DATE '2026-06-01' BETWEEN coalesce(actif_du, '-infinity'::date)
                                           AND coalesce(actif_au, 'infinity'::date)""").fetchall()
    assert inactive == []

    # One Mission locale per commune (93059 included), Cap emploi for the whole département, both on
    # the employment parcours; new typed columns.
    missions = dict(seeded.execute(
        "SELECT c.code_insee, count(*) FROM referentiel.destinations_communes AS c"
        " JOIN referentiel.destinations AS d USING (code_structure) WHERE d.type_structure = 'ML'"
        " GROUP BY c.code_insee").fetchall())
    assert len(missions) == 40 and set(missions.values()) == {1} and "93059" in missions
    assert seeded.execute(
        "SELECT string_agg(code_structure || ':' || parcours || ':' || coalesce(code_territoire, '-'), ',')"
        " FROM referentiel.destinations WHERE type_structure = 'CAP_EMPLOI'").fetchone() == ("CAP93:PED:-",)
    assert seeded.execute(
        "SELECT string_agg(code_structure, ',' ORDER BY code_structure) FROM referentiel.destinations"
        " WHERE rapporte_contrats").fetchone()[0] == ",".join(f"ALI{n:02d}" for n in range(1, 23))
    auto = dict(seeded.execute("SELECT code_regle, validation_automatique FROM referentiel.regles_parcours"
                               " WHERE actif").fetchall())
    assert auto["DEFAUT"] is True and auto["REORIENTATION_SOCIALE"] is False and auto["BOE_CAP_EMPLOI"] is False
    assert seeded.execute("SELECT actif FROM referentiel.regles_parcours WHERE code_regle = 'DROITS_SUSPENDUS'"
                          ).fetchone() == (False,)


# Each edit breaks one invariant the singular seed tests guard.
BREAKAGES = {
    "assert_destinations_servent_chaque_adresse": [
        "DELETE FROM referentiel.destinations_communes WHERE code_insee = '93048'",  # Montreuil: no ML
        "INSERT INTO referentiel.destinations_communes VALUES ('ML01', '93001', NULL, NULL)",  # two MLs
    ],
    "assert_regles_parcours_bien_formees": [
        "UPDATE referentiel.regles_parcours SET validation_automatique = true"
        " WHERE code_regle = 'REORIENTATION_EMPLOI'",
        "UPDATE referentiel.regles_parcours SET type_structure = 'ML' WHERE code_regle = 'FREIN_SANTE'",
    ],
    "assert_destinations_coherentes": [
        "UPDATE referentiel.destinations SET code_territoire = 'T19' WHERE code_structure = 'ML04'",
        "UPDATE referentiel.destinations SET parcours = 'PSO' WHERE code_structure = 'CAP93'",
    ],
}


@pytest.mark.parametrize("test_name", sorted(BREAKAGES))
def test_singular_seed_tests_catch_a_broken_referential(seeded, test_name):
    for statement in BREAKAGES[test_name]:
        seeded.execute(statement)
    seeded.commit()
    result = dbt_runner.run(["test", "--select", test_name])
    assert not result.success
    run_results = json.loads((config.home_dir() / "dbt" / "target" / "run_results.json").read_text())
    [failed] = [r for r in run_results["results"] if r["unique_id"].startswith("test.")]
    assert failed["status"] == "fail" and failed["failures"] >= len(BREAKAGES[test_name])
