"""France Travail through the real DAGs: the day's lookups and the Département's orientations sent
to the stand-in of the partner API, by the project's Airflow DAGs run in-process (``runner.run_day``),
over a small synthetic landing zone. The day is run twice, then the next day: each orientation reaches
the stand-in once, and the rerun spends no quota.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta

import psycopg
import pytest

from aiguillage.synth import generate

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DAY1 = date(2026, 11, 2)
DAY2 = DAY1 + timedelta(days=1)

# Runs the days with the stand-in on loopback, the Airflow connection pointing at it, and prints what
# the stand-in received after each day.
SCRIPT = """
import json, sys
from datetime import date
from pathlib import Path

from aiguillage import report, runner, standin_api, warehouse
from aiguillage.france_travail.api_standin import StandinServer, WarehouseResolver

landing, outbox = Path(sys.argv[1]), Path(sys.argv[2])
days = [date.fromisoformat(day) for day in sys.argv[3:]]
with StandinServer(resolver=WarehouseResolver(warehouse.connect)) as server, standin_api.connection_to(server):
    runs = []
    for day in days:
        outcome = runner.run_day(day, landing, outbox)
        runs.append({"day": day.isoformat(), "dags": {d.dag_id: d.state for d in outcome.dags},
                     "problems": report.problems(outcome, []),
                     "tasks": {d.dag_id: {t.task_id: t.state for t in d.tasks} for d in outcome.dags},
                     "received": len(server.received_orientations), "requests": server.request_counts})
    print("RESULT " + json.dumps({"runs": runs, "received": server.received_orientations}))
"""


@pytest.fixture(scope="module")
def ran(tmp_path_factory, server_url):
    from tests.conftest import new_database

    root = tmp_path_factory.mktemp("ft_dags")
    landing, outbox = root / "landing", root / "outbox"
    generate(landing, DAY1, 150, 2, seed=8)
    with new_database(server_url) as url:
        env = {**os.environ, "AIGUILLAGE_WAREHOUSE_URL": url, "AIGUILLAGE_TASK_RETRIES": "0",
               "AIGUILLAGE_LANDING_SETTLE_SECONDS": "0", "AIGUILLAGE_FT_API_LIMIT": "1000"}
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(landing), str(outbox), DAY1.isoformat(), DAY1.isoformat(),
             DAY2.isoformat()],
            capture_output=True, text=True, timeout=1500, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
        with psycopg.connect(url) as conn:
            yield json.loads(line.removeprefix("RESULT ")), conn, outbox


def test_the_days_run_green_with_the_send_task(ran):
    result, *_ = ran
    for run in result["runs"]:
        assert set(run["dags"].values()) == {"success"}, run["problems"]
        assert run["tasks"]["referral_extracts"]["send_orientations_to_france_travail"] == "success"


def test_the_standin_receives_each_open_orientation_once(ran):
    result, conn, _ = ran
    first, rerun, second = result["runs"]
    received = result["received"]
    assert first["received"] > 10  # the day's open orientations of people France Travail knows
    assert rerun["received"] == first["received"]  # the rerun sent nothing
    assert second["received"] >= first["received"]
    assert all(item["organisme"] == "CD" and item["parcours"] in ("PED", "PSP", "PSO") for item in received)
    assert all(item["agent"] == {"pa-identifiant-agent": "BATCH", "pa-nom-agent": "Aiguillage",
                                 "pa-prenom-agent": "Aiguillage"} for item in received)

    sent = conn.execute(
        "SELECT id_orientation, parcours, code_structure, date_orientation, sent_on FROM"
        " registry.france_travail_orientation_sent WHERE outcome = 'SENT'").fetchall()
    assert len(sent) == len(received)  # one record per orientation received
    # What was sent is what the mart holds open, for people with a valid NIR.
    open_sendable = conn.execute(
        "SELECT count(*) FROM marts.referrals AS r"
        " JOIN identifiants.identifiants__france_travail_persons USING (person_id)"
        " WHERE r.statut_orientation = 'OUVERTE' AND (r.id_orientation, r.parcours, r.code_structure,"
        " r.date_orientation) IN (SELECT id_orientation, parcours, code_structure, date_orientation"
        " FROM registry.france_travail_orientation_sent)").fetchone()[0]
    assert open_sendable > 0
    assert {day for *_, day in sent} <= {DAY1, DAY2}
    # Every exchange landed, per purpose, and the rerun of day 1 added none.
    by_day = dict(conn.execute(
        "SELECT logical_date, count(DISTINCT lookup_id) FROM raw.france_travail_api_call WHERE purpose = 'send'"
        " GROUP BY 1").fetchall())
    assert by_day[DAY1] == first["requests"]["search"] - first_lookups(conn)


def first_lookups(conn) -> int:
    return conn.execute("SELECT count(DISTINCT lookup_id) FROM raw.france_travail_api_call"
                        " WHERE purpose = 'lookup' AND logical_date = %s", (DAY1,)).fetchone()[0]


def test_the_rerun_spent_no_lookup_quota(ran):
    result, conn, _ = ran
    first, rerun, _ = result["runs"]
    assert rerun["requests"]["search"] == first["requests"]["search"]  # the stand-in was searched no more
    assert first_lookups(conn) > 0


def test_the_warehouse_reads_the_orientations_france_travail_holds(ran):
    _, conn, _ = ran
    rows = conn.execute(
        "SELECT resultat_api, count(*), count(code_parcours), count(criteres_orientation)"
        " FROM intermediate.int_france_travail__situations GROUP BY 1").fetchall()
    by_outcome = {outcome: (n, parcours, criteria) for outcome, n, parcours, criteria in rows}
    found, with_parcours, with_criteria = by_outcome["FOUND"]
    assert found == with_parcours == with_criteria > 0
    assert by_outcome.get("NO_ORIENTATION", (0, 0, 0))[1] == 0
    # Registered in G or F: registered, not counted as a job seeker.
    assert conn.execute(
        "SELECT count(*) FROM intermediate.int_france_travail__situations"
        " WHERE categorie IN ('F', 'G') AND inscrit_ft").fetchone()[0] == 0
    assert conn.execute(
        "SELECT count(*) FROM intermediate.int_france_travail__situations"
        " WHERE categorie IN ('F', 'G') AND inscription_active_ft").fetchone()[0] > 0


def test_the_run_report_counts_the_days_exchanges(ran):
    from aiguillage.run_report import report_dir

    result, conn, outbox = ran
    first, _, second = result["runs"]
    # Day 1's report (written again by its rerun) counts every run of the day, once.
    part = json.loads((report_dir(outbox, DAY1) / "run_report.json").read_text())["france_travail"]
    assert part["built"] and sum(part["lookups"].values()) == first_lookups(conn)
    assert part["sends"]["sent"] == first["received"]
    page = (report_dir(outbox, DAY1) / "run_report.html").read_text()
    assert "orientations du Département envoyées à France Travail" in page and "id='france-travail'" in page
    day2 = json.loads((report_dir(outbox, DAY2) / "run_report.json").read_text())["france_travail"]
    assert day2["sends"].get("sent", 0) == second["received"] - first["received"]
