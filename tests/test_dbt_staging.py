"""The CAF and France Travail staging layer, built by dbt on a warehouse loaded by the real code.

Synthetic deliveries with defects (4 days, so that one daily CAF flow loads: day 3's flow has a
lying trailer and day 5's is truncated, both quarantined; the monthly flow is delivered twice) are
registered and loaded, then dbt builds the staging and restricted ``identifiants`` models with their
data tests. The checks: no direct identifier reaches the staging schema, pseudonyms are the keyed
HMAC of the NIR's first 13 characters, the latest state of a dossier comes from the daily flow over
the monthly one, and rows of files that are not loaded never appear.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from aiguillage import dbt_runner, pseudonyms
from aiguillage.ingest.caf_reader import read_caf
from aiguillage.ingest.france_travail_reader import read_france_travail
from aiguillage.ingest.loader import load_pending
from aiguillage.landing.registry import scan_and_record
from aiguillage.synth import generate

KEY = "a-test-key-0123456789"
START = date(2026, 11, 2)
DAYS = 4

# Column names that carry a direct identifier (raw names and their readable renamings).
FORBIDDEN_COLUMNS = {
    "nir", "nir13", "nir2", "nom", "nomnai", "nom_naissance", "prenom", "prenom2", "prenom3", "qual",
    "civilite", "nomcomnai", "commune_naissance", "numvoie", "numero_voie", "libtypevoie", "type_voie",
    "nomvoie", "nom_voie", "complideadr", "complement_identite", "compladr", "complement_adresse",
    "lieudist", "lieu_dit", "nomcom", "nom_commune", "adresse", "localite", "identifiantpe", "idassedic",
    "response",
}


def _load(conn, landing):
    for offset in range(DAYS + 1):
        scan_and_record(conn, landing, START + timedelta(days=offset), f"run-{offset}")
    load_pending(conn, "caf", landing, lambda pending, path: read_caf(path))
    load_pending(conn, "france_travail", landing,
                 lambda pending, path: read_france_travail(path, pending.kind))
    conn.commit()


def _file_id(conn, name):
    return conn.execute("SELECT file_id, status FROM registry.landing_file WHERE relative_path = %s",
                        (name,)).fetchone()


def _land_api_lookups(conn, nir15, dtnai):
    """Lookups of one person: an older one in ERROR, then a FOUND one with France Travail's orientation
    as the partner API answers it (a list), some of its values of an unexpected shape; a send's search
    made later (purpose send) is no lookup."""
    insert = ("INSERT INTO raw.france_travail_api_call (lookup_id, purpose, logical_date, run_id, requested_at,"
              " nir, dtnai, endpoint, http_status, business_code, outcome, response)"
              " VALUES (%s, %s, %s, 'run', %s, %s, %s, %s, %s, %s, %s, %s)")
    old, new, sent = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
    t0 = datetime(2026, 11, 2, 8, tzinfo=UTC)
    t1 = datetime(2026, 11, 4, 8, tzinfo=UTC)
    orientation = {
        "parcours": "SOCIOPRO", "organisme": "CD", "structure": {"libelle_structure": "Agence locale d'insertion"},
        "structure_decision": None, "statut": "ORIENTE", "etat": "VALIDE", "date_entree_parcours": None,
        "date_creation": "2025-02-03", "date_modification": "2025-02-30T10:00:00", "origine": "INSCRIPTION_AUTO_CAF",
        "criteres_orientation": {"situation_professionnelle": "SANS_EMPLOI", "capacite_a_travailler": True,
                                 "boe": "oui", "contrainte_sante": {"niveau": 2}, "msa_autonomie_recherche_emploi": 3},
        "decision": {"etat_decision": "VALIDEE", "date_decision": "2025-03-01", "motif_refus": None,
                     "commentaire_refus": "Mme BENALI a refusé"},
        "date_sortie_parcours": None, "motif_sortie_parcours": None,
    }
    rows = [
        (old, "lookup", START, t0, nir15, dtnai, "search", 503, None, "ERROR", Jsonb({})),
        (new, "lookup", START, t1, nir15, dtnai, "search", 200, "S001", "FOUND",
         Jsonb({"codeRetour": "S001", "jetonUsager": "[redacted]"})),
        (new, "lookup", START, t1, nir15, dtnai, "read_orientation", 200, None, "FOUND", Jsonb([orientation])),
        (sent, "send", START, t1 + timedelta(hours=1), nir15, dtnai, "search", 200, "S001", "FOUND",
         Jsonb({"codeRetour": "S001", "jetonUsager": "[redacted]"})),
    ]
    with conn.cursor() as cursor:
        cursor.executemany(insert, rows)
    conn.commit()


@pytest.mark.slow
def test_staging_pseudonymises_and_keeps_the_latest_state(conn, tmp_path):
    landing = tmp_path / "landing"
    generate(landing, START, 300, DAYS, seed=3, defects=True)
    _load(conn, landing)

    monthly, monthly_status = _file_id(conn, "caf/VRSB0801_931_20261102_M.xml")
    daily, daily_status = _file_id(conn, "caf/VRSB0801_931_20261104_I.xml")
    assert (monthly_status, daily_status) == ("loaded", "loaded")
    quarantined = [r[0] for r in conn.execute(
        "SELECT file_id FROM registry.landing_file WHERE status NOT IN ('loaded', 'loaded_with_rejects')")]
    caf_quarantined, = conn.execute(
        "SELECT file_id FROM registry.landing_file WHERE relative_path = 'caf/VRSB0801_931_20261103_I.xml'"
        " AND status = 'quarantined'").fetchone()
    # A row left behind by a file that is not loaded (it cannot happen through the loader): staging
    # must still ignore it, since it filters on the registry's status.
    conn.execute("INSERT INTO raw.caf_dossier (file_id, position, numorg, matricule, etatdosrsa)"
                 " VALUES (%s, 999, '931', 'Q999999', '2')", (caf_quarantined,))
    conn.commit()

    nir15, dtnai = conn.execute(
        "SELECT upper(nir), dtnai FROM raw.caf_person WHERE nir_valid AND length(nir) = 15"
        " AND dtnai IS NOT NULL ORDER BY file_id, position, person_position LIMIT 1").fetchone()
    _land_api_lookups(conn, nir15, dtnai)
    pseudonyms.install_key(conn, KEY)

    seeded = dbt_runner.run(["seed"])
    assert seeded.success, seeded.failures
    built = dbt_runner.run(["build", "--select", "path:models/staging/caf", "path:models/staging/france_travail",
                            "identifiants__persons", "identifiants__addresses"])
    assert built.success, built.failures

    # No direct identifier in the staging schema.
    columns = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'staging'"
        " AND (table_name LIKE 'stg_caf__%%' OR table_name LIKE 'stg_france_travail__%%')").fetchall()
    assert {t for t, _ in columns} >= {
        "stg_caf__dossiers", "stg_caf__dossier_states", "stg_caf__persons", "stg_caf__addresses",
        "stg_caf__right_situations", "stg_caf__events", "stg_caf__amounts",
        "stg_france_travail__registrations", "stg_france_travail__api_lookups"}
    assert [(t, c) for t, c in columns if c in FORBIDDEN_COLUMNS] == []
    # ... while the restricted twin holds them, closed to PUBLIC.
    for table in ("identifiants__persons", "identifiants__addresses"):
        assert conn.execute("SELECT has_table_privilege('public', %s, 'SELECT')",
                            (f"identifiants.{table}",)).fetchone() == (False,)

    # Person pseudonyms are HMAC-SHA256(key, NIR13), in CAF and France Travail alike.
    caf_sample = conn.execute(
        "SELECT i.nir13, p.person_pseudonym FROM staging.stg_caf__persons AS p"
        " JOIN identifiants.identifiants__persons AS i ON i.person_key = p.person_key"
        " WHERE p.person_pseudonym IS NOT NULL ORDER BY p.dossier_person_key LIMIT 20").fetchall()
    assert len(caf_sample) == 20
    assert all(pseudo == pseudonyms.pseudonym(nir13, KEY) for nir13, pseudo in caf_sample)
    ft_sample = conn.execute(
        "SELECT left(upper(r.nir), 13), s.person_pseudonym FROM raw.france_travail_record AS r"
        " JOIN staging.stg_france_travail__registrations AS s"
        "   ON s.file_id = r.file_id AND s.line_number = r.line_number"
        " ORDER BY r.file_id, r.line_number LIMIT 20").fetchall()
    assert len(ft_sample) == 20
    assert all(pseudo == pseudonyms.pseudonym(nir13, KEY) for nir13, pseudo in ft_sample)
    # A person without a valid NIR keeps an identity pseudonym only.
    assert conn.execute(
        "SELECT count(*) FILTER (WHERE person_pseudonym IS NOT NULL), count(*)"
        " FROM staging.stg_caf__persons WHERE NOT nir_valid").fetchone()[0] == 0
    # Unknown rights and duties stay unknown (MontantCalculDroitRSAPersonne removed in 2 dossiers).
    unknown = conn.execute(
        "SELECT DISTINCT matricule FROM staging.stg_caf__persons WHERE NOT soumis_droits_devoirs_connu"
        " AND soumis_droits_devoirs IS NULL").fetchall()
    assert {"2674865", "7740628"} <= {m for m, in unknown}

    # The schema's verdict reaches staging: a generated dossier breaks the schema only where a mandatory
    # block was removed (DetailDroitRSA), and says so in flags and schema_errors (element, rule, line).
    verdicts = conn.execute(
        "SELECT dossier_row_key, flags, schema_error_count, schema_errors FROM staging.stg_caf__dossiers"
    ).fetchall()
    assert verdicts and all(count is not None for _, _, count, _ in verdicts)
    invalid = {key for key, _, count, _ in verdicts if count > 0}
    assert invalid == {key for key, flags, _, _ in verdicts if "SCHEMA_INVALID" in flags}
    assert invalid == {key for key, flags, _, _ in verdicts if "NO_DETAIL_DROIT" in flags}
    assert all(errors.startswith("InfosFoyerRSA/PrestationRSA: cardinality: a mandatory element is missing")
               for _, _, count, errors in verdicts if count)

    # Latest state: the daily flow wins over the monthly one for the dossiers it carries.
    both = conn.execute(
        "SELECT dossier_key FROM staging.stg_caf__dossiers GROUP BY dossier_key"
        " HAVING bool_or(file_id = %s) AND bool_or(file_id = %s)", (monthly, daily)).fetchall()
    assert both, "the daily flow should carry dossiers of the monthly flow"
    states = dict(conn.execute(
        "SELECT dossier_key, file_id FROM staging.stg_caf__dossier_states WHERE dossier_key = ANY(%s)",
        ([k for k, in both],)).fetchall())
    assert set(states.values()) == {daily}
    persons_files = {f for f, in conn.execute(
        "SELECT DISTINCT file_id FROM staging.stg_caf__persons WHERE dossier_key = ANY(%s)",
        ([k for k, in both],))}
    assert persons_files == {daily}
    assert conn.execute("SELECT count(*) = count(DISTINCT dossier_key) FROM staging.stg_caf__dossier_states"
                        ).fetchone() == (True,)

    # Files not loaded (quarantined, duplicates) leave nothing in staging.
    for table in ("stg_caf__dossiers", "stg_caf__persons", "stg_caf__addresses",
                  "stg_france_travail__registrations"):
        assert conn.execute(sql.SQL("SELECT count(*) FROM staging.{} WHERE file_id = ANY(%s)").format(sql.Identifier(table)),
                            (quarantined,)).fetchone() == (0,), table
    assert conn.execute("SELECT count(*) FROM staging.stg_caf__dossiers WHERE matricule = 'Q999999'"
                        ).fetchone() == (0,)

    # API lookups: the latest lookup of the person, with France Travail's orientation read defensively
    # (the send's later search is no lookup; a value of an unexpected shape is NULL).
    lookup = conn.execute(
        "SELECT outcome, is_settled, a_orientation, code_parcours, organisme, structure, statut_orientation,"
        " etat_orientation, origine_orientation, date_entree_parcours, date_modification_parcours,"
        " critere_situation_professionnelle, critere_capacite_a_travailler, critere_boe, critere_contrainte_sante,"
        " critere_msa_autonomie_recherche_emploi, criteres_orientation ->> 'boe', decision_etat, decision_date,"
        " decision ? 'commentaire_refus'"
        " FROM staging.stg_france_travail__api_lookups WHERE person_pseudonym = %s",
        (pseudonyms.pseudonym(nir15[:13], KEY),)).fetchone()
    assert lookup == ("FOUND", True, True, "PSO", "CD", "Agence locale d'insertion", "ORIENTE", "VALIDE",
                      "INSCRIPTION_AUTO_CAF", date(2025, 2, 3), None, "SANS_EMPLOI", True, None, None, 3, "oui",
                      "VALIDEE", date(2025, 3, 1), False)

    # Addresses: staging keeps the commune, the restricted twin the street, for the same dossiers.
    addresses, twins = conn.execute(
        "SELECT count(*), count(i.dossier_key) FROM staging.stg_caf__addresses AS a"
        " LEFT JOIN identifiants.identifiants__addresses AS i USING (dossier_key)").fetchone()
    assert addresses == twins > 250
