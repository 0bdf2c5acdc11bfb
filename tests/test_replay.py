"""A partner re-sends a corrected file: the correction loads, the quarantined file stays on record as
superseded by it; and `aiguillage replay` runs the day again safely."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import psycopg
import pytest

from aiguillage.ingest.loader import load_pending
from aiguillage.landing.registry import files_for_day, scan_and_record
from aiguillage.pipeline_tasks import _reader_for
from aiguillage.synth import generate
from tests.conftest import build_history_up_to, new_database, run_cli

DAY1, DAY2, DAY3 = date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)
FLOW2 = "caf/VRSB0801_931_20261103_I.xml"
ALI_HEADER = "code_structure;date_rapport;id_orientation;evenement;date_evenement;motif;referent_nom;referent_email\n"


def run_day(conn, landing: Path, day: date) -> None:
    """What a day's ingestion does: scan the landing zone, then load each source."""
    scan_and_record(conn, landing, day, f"run-{day}")
    conn.commit()
    for source in ("caf", "france_travail", "ali"):
        load_pending(conn, source, landing, _reader_for(source, day))


def states(conn) -> dict[str, tuple]:
    rows = conn.execute(
        "SELECT f.relative_path, f.status, f.status_reason, c.relative_path, f.superseded_at IS NOT NULL,"
        " f.logical_date FROM registry.landing_file f LEFT JOIN registry.landing_file c ON c.file_id = f.superseded_by"
    ).fetchall()
    conn.commit()
    return {path: (status, reason, by, stamped, day) for path, status, reason, by, stamped, day in rows}


def raw_rows_of(conn, relative_path: str) -> int:
    count = conn.execute(
        "SELECT count(*) FROM raw.caf_dossier d JOIN registry.landing_file f USING (file_id)"
        " WHERE f.relative_path = %s", (relative_path,)).fetchone()[0]
    conn.commit()
    return count


@pytest.fixture
def landing(tmp_path) -> tuple[Path, bytes]:
    root = tmp_path / "landing"
    generate(root, DAY1, 40, 3, seed=23)
    flow = root / FLOW2
    good = flow.read_bytes()
    flow.write_bytes(good[: len(good) // 2])  # truncated in transit: quarantined when loaded
    return root, good


@pytest.mark.parametrize("suffix", ["_corrige", "-v2"])
def test_a_correction_found_by_the_same_scan_supersedes_the_quarantined_file(conn, landing, suffix):
    # The restore case: replaying the days finds the truncated flow and its correction at once (whatever
    # order their names sort in: "-v2" sorts before ".xml", "_corrige" after).
    root, good = landing
    correction = f"caf/VRSB0801_931_20261103_I{suffix}.xml"
    (root / correction).write_bytes(good)
    run_day(conn, root, DAY1)
    run_day(conn, root, DAY2)

    found = states(conn)
    status, reason, by, stamped, _ = found[FLOW2]
    # It keeps its status and reason, and points at the file that replaced it.
    assert (status, by, stamped) == ("quarantined", correction, True)
    assert "not well-formed" in reason or "truncated" in reason, "the quarantine reason stays on record"
    assert found[correction][0] == "loaded"
    assert raw_rows_of(conn, FLOW2) == 0 and raw_rows_of(conn, correction) > 0
    reported = {row["relative_path"]: row for row in files_for_day(conn, DAY2)}
    assert reported[FLOW2]["status"] == "superseded", "reports no longer count it as a problem"
    assert reported[FLOW2]["reason"].startswith(f"superseded by {correction}, which corrects it (it was quarantined: ")


def test_a_correction_sent_days_later_supersedes_a_file_quarantined_at_registration(conn, landing):
    root, good = landing
    (root / FLOW2).write_text("garbage, not a VRSB0801 flow")  # no readable header: quarantined by the scan
    run_day(conn, root, DAY1)
    run_day(conn, root, DAY2)
    assert states(conn)[FLOW2][0] == "quarantined"

    correction = "caf/VRSB0801_931_20261103_I_corrige.xml"
    (root / correction).write_bytes(good)
    run_day(conn, root, DAY3)
    found = states(conn)
    assert (found[FLOW2][0], found[FLOW2][2]) == ("quarantined", correction)
    assert "unreadable VRSB0801 header" in found[FLOW2][1]
    assert found[correction][0] == "loaded" and found[correction][4] == DAY3, "recorded by the day that found it"
    # The day's own flow, loaded the same day, corrects nothing: its name is another file's.
    assert found["caf/VRSB0801_931_20261104_I.xml"][0] == "loaded"


def test_what_is_not_a_correction_leaves_the_quarantine_as_it_is(conn, landing):
    root, good = landing
    # A "correction" that is itself truncated: nothing loaded for the delivery, so nothing is superseded.
    (root / "caf/VRSB0801_931_20261103_I_corrige.xml").write_bytes(good[: len(good) // 3])
    run_day(conn, root, DAY1)
    run_day(conn, root, DAY2)
    found = states(conn)
    assert found[FLOW2][:3:2] == ("quarantined", None)
    assert found["caf/VRSB0801_931_20261103_I_corrige.xml"][:3:2] == ("quarantined", None)

    # A broken re-send of a file already loaded is not hidden behind the earlier file.
    day1_flow = root / "caf/VRSB0801_931_20261102_M.xml"
    (root / "caf/VRSB0801_931_20261102_M_bis.xml").write_bytes(day1_flow.read_bytes()[:500])
    run_day(conn, root, DAY3)
    assert states(conn)["caf/VRSB0801_931_20261102_M_bis.xml"][:3:2] == ("quarantined", None)


def test_an_ali_report_failing_validation_is_superseded_by_its_corrected_version(conn, landing):
    root, _ = landing
    folder = root / "ali" / "ALI05"
    folder.mkdir(parents=True)
    (folder / "ali_ALI05_20261102.csv").write_text("code;date;id\nALI05;2026-11-02;ORI-1\n", encoding="utf-8")
    run_day(conn, root, DAY1)
    assert states(conn)["ali/ALI05/ali_ALI05_20261102.csv"][:3:2] == ("quarantined", None)

    (folder / "ali_ALI05_20261102_v2.csv").write_text(ALI_HEADER, encoding="utf-8")
    # Another agency's report of the same name stem is not a correction of ALI05's.
    (root / "ali" / "ALI06").mkdir()
    (root / "ali" / "ALI06" / "ali_ALI05_20261102_v2.csv").write_text(ALI_HEADER, encoding="utf-8")
    run_day(conn, root, DAY2)
    found = states(conn)
    assert found["ali/ALI05/ali_ALI05_20261102.csv"][:3:2] == ("quarantined", "ali/ALI05/ali_ALI05_20261102_v2.csv")


def test_only_a_quarantined_file_can_be_superseded(conn):
    insert = ("INSERT INTO registry.landing_file (sha256, relative_path, source, size_bytes, mtime_ns, status,"
              " superseded_by, superseded_at, logical_date, run_id) VALUES (repeat(%s, 64), %s, 'caf', 1, 1, %s, %s,"
              " now(), '2026-11-02', 'r') RETURNING file_id")
    correction = conn.execute(insert, ("a", "caf/x_v2.xml", "loaded", None)).fetchone()[0]
    conn.execute(insert, ("b", "caf/x.xml", "quarantined", correction))
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(insert, ("c", "caf/y.xml", "loaded", correction))
    conn.rollback()


# -- the command ---------------------------------------------------------------------------------------

@pytest.fixture
def warehouse_db(server_url):
    with new_database(server_url, "t_replay_") as url:
        yield url


def _deliveries(url: str, day: date) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT code_structure, fichier, sha256 FROM registry.extract_delivery WHERE day = %s"
                            " ORDER BY 1, 2", (day,)).fetchall()


def _registry(url: str) -> dict[str, tuple]:
    with psycopg.connect(url) as conn:
        return states(conn)


def test_replay_of_a_day_before_the_latest_built_day_is_refused(warehouse_url, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    build_history_up_to(warehouse_url, "2026-11-05")
    refused = run_cli("replay", "--date", "2026-11-03", "--landing", str(landing), "--outbox", str(tmp_path / "out"))
    assert refused.returncode == 2
    assert "refused: the warehouse is already built up to 2026-11-05, after 2026-11-03" in refused.stdout
    assert "The corrected file is loaded by the next day's run" in refused.stdout
    assert "Restore after losing the warehouse" in refused.stdout
    assert not (tmp_path / "out").exists()
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("SELECT to_regclass('registry.landing_scan')").fetchone()[0] is None, "nothing ran"


@pytest.mark.airflow
@pytest.mark.slow
def test_replay_command(landing, warehouse_db, tmp_path):
    root, good = landing
    outbox = tmp_path / "outbox"
    env = {"AIGUILLAGE_WAREHOUSE_URL": warehouse_db}
    where = ["--landing", str(root), "--outbox", str(outbox)]
    no_extracts = ["--only", "landing_registry,caf_ingestion,france_travail_ingestion,ali_ingestion,"
                   "referral_warehouse"]

    # Day 1: an agency's report fails validation; the day is built, its extracts not run yet.
    folder = root / "ali" / "ALI05"
    folder.mkdir(parents=True)
    (folder / "ali_ALI05_20261102.csv").write_text("code;date\nALI05;2026-11-02\n", encoding="utf-8")
    day1 = run_cli("run", "--date", str(DAY1), *where, *no_extracts, env=env)
    assert day1.returncode == 1 and "ali/ALI05/ali_ALI05_20261102.csv was quarantined" in day1.stdout

    # The corrected report arrives; nothing of day 1 was delivered, so the day is replayed in full.
    correction = "ali/ALI05/ali_ALI05_20261102_v2.csv"
    (root / correction).write_text(ALI_HEADER, encoding="utf-8")
    replayed = run_cli("replay", "--date", str(DAY1), *where, env=env)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert f"registered   {correction}" in replayed.stdout
    assert "DAG referral_extracts" in replayed.stdout and "the day was replayed completely" in replayed.stdout
    found = _registry(warehouse_db)
    assert found["ali/ALI05/ali_ALI05_20261102.csv"][:3:2] == ("quarantined", correction)
    assert found[correction][0] == "loaded" and found[correction][4] == DAY1
    assert _deliveries(warehouse_db, DAY1), "day 1's extracts are delivered by the replay"

    # Day 2's CAF flow arrives truncated; the day's extracts are delivered without it.
    day2 = run_cli("run", "--date", str(DAY2), *where, env=env)
    assert day2.returncode == 1 and f"{FLOW2} was quarantined" in day2.stdout
    delivered = _deliveries(warehouse_db, DAY2)
    assert delivered

    # The CAF re-sends it corrected: day 2 was delivered, so the replay loads it without rebuilding the day.
    caf_correction = "caf/VRSB0801_931_20261103_I_corrige.xml"
    (root / caf_correction).write_bytes(good)
    again = run_cli("replay", "--date", str(DAY2), *where, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "the day is not rebuilt" in again.stdout and "DAG referral_warehouse" not in again.stdout
    assert f"superseded by {caf_correction}, which corrects it" in again.stdout
    assert _deliveries(warehouse_db, DAY2) == delivered, "the agencies' files of the day do not change"
    found = _registry(warehouse_db)
    assert found[FLOW2][:3:2] == ("quarantined", caf_correction)
    assert found[caf_correction][0] == "loaded" and found[caf_correction][4] == DAY2
    shutil.rmtree(outbox)
