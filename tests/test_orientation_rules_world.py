"""The parcours rules on the national criteria, on the synthetic world, through the real code.

A synthetic landing zone (CAF and France Travail files) is registered and loaded; the France Travail
API stand-in, knowing the warehouse's people (``WarehouseResolver``), answers the lookups of the real
client; dbt builds the proposals for the day. The world must exercise the rules: young people go to
their commune's Mission locale, recognised disabled workers to Cap emploi, France Travail's decided
orientations are confirmed while its mere recommendations and the national criteria are proposed to
the team, obstacles lead to the social or socio-professional parcours; and nobody is sent to the employment parcours for being
registered at France Travail, nor to the social one for a suspended right.
"""

from __future__ import annotations

from datetime import date

import pytest

from aiguillage import dbt_runner, pseudonyms, warehouse
from aiguillage.france_travail.api_client import ApiSettings, FranceTravailClient
from aiguillage.france_travail.api_standin import (
    FOUND,
    StandinServer,
    WarehouseResolver,
    demo_orientation,
    people_from_warehouse,
)
from aiguillage.france_travail.api_sync import refresh
from aiguillage.ingest.caf_reader import read_caf
from aiguillage.ingest.france_travail_reader import read_france_travail
from aiguillage.ingest.loader import load_pending
from aiguillage.landing.registry import scan_and_record
from aiguillage.nir import make_nir
from aiguillage.synth import generate

DAY = date(2026, 11, 2)


def test_demo_orientations_are_deterministic_and_carry_every_criterion_the_rules_read():
    nirs = [make_nir(1 + n % 2, 1980 + n % 20, 1 + n % 12, "93", 48 + n // 999, 1 + n % 999) for n in range(1200)]
    drawn = {parcours: [demo_orientation(nir, parcours, DAY) for nir in nirs] for parcours in ("PED", "PSO", "PSP")}
    assert drawn["PED"][:50] == [demo_orientation(nir, "PED", DAY) for nir in nirs[:50]]  # same NIR, same answer

    def share(parcours, predicate):
        return sum(predicate(p.orientation) for p in drawn[parcours]) / len(nirs)

    def criteria(orientation):
        return orientation["criteres_orientation"]

    assert all(p.behaviour == FOUND and p.orientation["parcours"] == parcours
               for parcours, people in drawn.items() for p in people)
    assert 0.35 < share("PED", lambda o: o["etat"] == "EN_COURS") < 0.60  # recommendations, the rest VALIDE
    assert {o.orientation["etat"] for people in drawn.values() for o in people} == {"EN_COURS", "VALIDE"}
    assert 0.05 < share("PED", lambda o: criteria(o)["boe"]) < 0.11
    # A particular criterion makes a recommendation: the Département decides.
    assert all(p.orientation["etat"] == "EN_COURS" for people in drawn.values() for p in people
               if criteria(p.orientation)["boe"] or criteria(p.orientation)["contrainte_mobilite"] == "OUI")
    assert share("PSP", lambda o: criteria(o)["boe"]) == 0
    assert 0.10 < share("PSO", lambda o: criteria(o)["contrainte_mobilite"] == "OUI") < 0.20
    assert 0.08 < share("PSO", lambda o: criteria(o)["contrainte_familiale"] == "OUI") < 0.16
    assert 0.05 < share("PED", lambda o: criteria(o)["situation_professionnelle"] == "EN_EMPLOI") < 0.15
    assert share("PSP", lambda o: criteria(o)["capacite_a_travailler"] is False) == 1


@pytest.mark.slow
def test_the_synthetic_world_exercises_the_national_criteria(conn, tmp_path):
    landing = tmp_path / "landing"
    generate(landing, DAY, households=500, days=1, seed=13)
    pseudonyms.install_key(conn)
    scan_and_record(conn, landing, DAY, "run-rules")
    load_pending(conn, "caf", landing, lambda pending, path: read_caf(path))
    load_pending(conn, "france_travail", landing, lambda pending, path: read_france_travail(path, pending.kind))
    conn.commit()

    with StandinServer(resolver=WarehouseResolver(warehouse.connect)) as server, FranceTravailClient(ApiSettings(
            server.base_url, "aiguillage-dev", "standin-secret", timeout=5, backoff_base=0.01,
            max_requests_per_second=0)) as client:
        report = refresh(conn, client, as_of=DAY, max_age_days=30, limit=100_000, logical_date=DAY,
                         run_id="run-rules")
    conn.commit()
    assert report.counts.get("FOUND", 0) > 20
    assert people_from_warehouse(conn) == people_from_warehouse(conn)  # the stand-in answers the same

    # The proposals and what they are built from, with the tests among those models only.
    built = dbt_runner.run(["build", "--select", "+int_orientations__proposals", "--indirect-selection", "cautious",
                            "--vars", f"{{run_day: '{DAY}'}}"])
    assert built.success, built.failures

    by_rule = dict(conn.execute(
        "SELECT code_regle, count(*) FROM intermediate.int_orientations__proposals GROUP BY 1").fetchall())
    # The world reaches the rules on the national criteria (CAF and France Travail sides)...
    for rule in ("JEUNE_MISSION_LOCALE", "SANS_DOMICILE_FIXE", "PARENT_ISOLE_3_ENFANTS", "FT_ORIENTATION_EMPLOI",
                 "FT_PRECO_SOCIOPRO", "PROJET_PRO_DEFINI", "FT_ORIENTATION_SOCIALE", "CAPACITE_TRAVAIL_NON",
                 "BOE_CAP_EMPLOI", "DEFAUT"):
        assert by_rule.get(rule, 0) > 0, (rule, by_rule)
    assert by_rule.get("FREIN_MOBILITE", 0) + by_rule.get("FREIN_FAMILIAL", 0) > 0
    # ... and never the inactive ones.
    assert not {"INSCRIT_FT", "DROITS_SUSPENDUS", "JEUNE_MOINS_26"} & by_rule.keys()

    # Young people at their commune's Mission locale, disabled workers at Cap emploi: employment parcours.
    assert conn.execute(
        """SELECT count(*) FROM intermediate.int_orientations__proposals AS p
           JOIN referentiel.destinations_communes AS c ON c.code_structure = p.code_structure
            AND c.code_insee = p.code_insee
           WHERE p.code_regle = 'JEUNE_MISSION_LOCALE' AND p.parcours = 'PED' AND p.type_structure = 'ML'"""
    ).fetchone()[0] == by_rule["JEUNE_MISSION_LOCALE"]
    assert conn.execute(
        "SELECT count(*) FILTER (WHERE code_structure <> 'CAP93' OR parcours <> 'PED')"
        " FROM intermediate.int_orientations__proposals WHERE code_regle = 'BOE_CAP_EMPLOI'").fetchone()[0] == 0

    # Registered at France Travail with nothing else known: not sent to the employment parcours for that.
    registered_only = conn.execute(
        """SELECT p.code_regle, p.parcours, count(*) FROM intermediate.int_orientations__proposals AS p
           JOIN intermediate.int_france_travail__situations AS ft USING (person_id)
           WHERE ft.inscription_active_ft AND ft.categorie <> 'F' AND ft.parcours_preconise IS NULL
             AND p.criteres ->> 'sans_domicile_fixe' = 'false' AND p.criteres ->> 'age_moins_de_26' = 'false'
             AND p.criteres ->> 'parent_isole_3_enfants' IS DISTINCT FROM 'true'
           GROUP BY 1, 2""").fetchall()
    assert registered_only and {(rule, parcours) for rule, parcours, _ in registered_only} == {("DEFAUT", "PSO")}
    # A suspended right alone does not make a social proposal.
    assert conn.execute(
        """SELECT count(*) FROM intermediate.int_orientations__proposals AS p
           JOIN intermediate.int_persons__eligibility AS e USING (person_id)
           WHERE e.droits_suspendus AND p.code_regle = 'DEFAUT'""").fetchone()[0] > 0

    # The policy: decided orientations and the default stand; recommendations and obstacles wait.
    policy = dict(conn.execute(
        "SELECT code_regle, bool_and(validation_automatique) FROM intermediate.int_orientations__proposals"
        " GROUP BY 1").fetchall())
    assert policy["FT_ORIENTATION_EMPLOI"] and policy["DEFAUT"] and policy["FT_ORIENTATION_SOCIALE"]
    assert not policy["FT_PRECO_SOCIOPRO"] and not policy["JEUNE_MISSION_LOCALE"] and not policy["SANS_DOMICILE_FIXE"]
    # Every proposal says why, in French, and on which criteria.
    assert conn.execute(
        "SELECT count(*) FROM intermediate.int_orientations__proposals"
        " WHERE libelle_regle = '' OR NOT criteres ? 'boe' OR NOT criteres ? 'ft_orientation_decidee'").fetchone()[0] == 0
