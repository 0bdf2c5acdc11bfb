"""A CAF load killed half-way (kill -9) leaves nothing behind; the next run loads the file fully."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date

import pytest

from aiguillage.ingest.caf_reader import read_caf
from aiguillage.ingest.loader import load_pending
from aiguillage.landing.registry import scan_and_record
from aiguillage.synth import generate

pytestmark = pytest.mark.slow
DAY = date(2026, 11, 2)

# The child loads the file with small COPY rounds and slows down once rows have gone to the server,
# so that the kill lands in the middle of the transaction, after several COPY rounds.
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import psycopg
    from aiguillage.ingest import loader
    from aiguillage.ingest.caf_reader import read_caf

    landing, url, marker = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    loader.FLUSH_ROWS = 500

    def slow_reader(pending, path):
        for count, row in enumerate(read_caf(path)):
            if count == 3000:
                marker.write_text("copying")
            if count > 3000:
                time.sleep(0.002)
            yield row

    with psycopg.connect(url) as conn:
        loader.load_pending(conn, "caf", landing, slow_reader)
    """
)


def _raw_counts(conn) -> dict[str, int]:
    tables = ("caf_dossier", "caf_person", "caf_address", "caf_right_situation", "caf_amount", "caf_event")
    return {t: conn.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0] for t in tables}  # noqa: S608


def test_kill_9_in_the_middle_of_a_load(conn, warehouse_url, tmp_path):
    landing = tmp_path / "landing"
    summary = generate(landing, DAY, 1500, 1, seed=21)
    scan_and_record(conn, landing, DAY, "run-1")
    conn.commit()
    marker = tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(landing), warehouse_url, str(marker)],
                             start_new_session=True)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    assert marker.exists(), "the child never reached the middle of the load"
    # The server has received rows of the open transaction: it is COPYing or between two rounds.
    state = conn.execute(
        "SELECT state FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()"
        " AND xact_start IS NOT NULL").fetchall()
    conn.commit()
    assert state, "no open load transaction seen"
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=30)

    # Nothing of the killed load is visible, and the file is still waiting to be loaded.
    deadline = time.monotonic() + 10
    while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                       " AND datname = current_database()").fetchone()[0] and time.monotonic() < deadline:
        conn.commit()
        time.sleep(0.05)
    assert set(_raw_counts(conn).values()) == {0}
    status = conn.execute("SELECT status, load_attempts FROM registry.landing_file WHERE source = 'caf'").fetchone()
    assert status == ("registered", 1)
    conn.commit()

    # The next run loads it fully: as many rows as reading the file gives.
    outcomes = load_pending(conn, "caf", landing, lambda pending, path: read_caf(path))
    assert [outcome.status for outcome in outcomes] == ["loaded"]
    expected: dict[str, int] = {}
    for row in read_caf(next(p for p in summary.files if p.suffix == ".xml")):
        expected[row.table] = expected.get(row.table, 0) + 1
    counts = _raw_counts(conn)
    assert {table: counts[table] for table in expected} == expected
