"""One landing zone holding every known attack on the landing registry, run through the real DAGs
(landing_registry, then the three loaders) by `aiguillage run`, two days in a row.

Each entry must end in its expected state: nothing outside the landing zone read, nothing lost,
nothing loaded twice, no name forging a line of the command's output, and the day after a file the
database refused runs as usual.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.conftest import run_cli

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DAY1, DAY2 = "2026-11-02", "2026-11-03"
ONLY = "landing_registry,caf_ingestion,france_travail_ingestion,ali_ingestion"
SETTLE = 2  # seconds: the runs below use this settle time, and wait it out before each run
ALI_HEADER = "code_structure;date_rapport;id_orientation;evenement;date_evenement;motif;referent_nom;referent_email\n"
FT_HEADER = (FIXTURES / "inscriptions_20261126.csv").read_bytes().splitlines(keepends=True)[0]
NEWLINE_NAME = "ali/ALI05/ali_ALI05_20261102_\nforged line.csv"
NEWLINE_FOLDER = "ali/ALI05\n/ali_ALI05_20261102.csv"


def ali_report(agency: str, *ids: str) -> str:
    return ALI_HEADER + "".join(f"{agency};2026-11-02;{ident};PRISE_EN_CHARGE;2026-11-01;;;\n" for ident in ids)


def caf_flow(created: str, marker: str) -> str:
    text = (FIXTURES / "caf_vrsb0801_daily_sample.xml").read_text(encoding="utf-8")
    text = text.replace("<DTCREAFLUX>2026-11-26</DTCREAFLUX>", f"<DTCREAFLUX>{created}</DTCREAFLUX>")
    return text.replace("<HEUCREAFLUX>21:04:12</HEUCREAFLUX>", f"<HEUCREAFLUX>{marker}</HEUCREAFLUX>")


def write(root: Path, relative: str, content: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def unix_socket(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX)
    here = os.getcwd()
    os.chdir(path.parent)  # socket paths are short: bind by a relative name
    try:
        server.bind(path.name)
    finally:
        os.chdir(here)
    return server


class Appender(threading.Thread):
    """Appends one ALI line every 50 ms to a file, as a slow upload would, until stopped."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path, self.lines, self.stop = path, 0, threading.Event()
        path.write_text(ALI_HEADER)

    def append(self) -> None:
        self.lines += 1
        with open(self.path, "a") as handle:
            handle.write(f"ALI09;2026-11-02;ORI-G{self.lines:05d};PRISE_EN_CHARGE;2026-11-01;;;\n")

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.append()


@pytest.fixture(scope="module")
def attacked(server_url, tmp_path_factory):
    """The landing zone, its two days run, and what each run printed."""
    base = tmp_path_factory.mktemp("attacks")
    root, outside, outbox = base / "landing", base / "outside", base / "outbox"
    outside.mkdir()
    # Outside the landing zone: a valid flow (links must not bring it in), a folder of ALI reports,
    # and a FIFO that would block the run for ever if anything opened it for reading.
    write(outside, "secret.xml", caf_flow("2026-11-02", "06:06:06"))
    write(outside, "ali_ALI07_20261102.csv", ali_report("ALI07", "ORI-OUT1"))
    os.mkfifo(outside / "trap.fifo")

    write(root, "caf/VRSB0801_931_20261102_I.xml", caf_flow("2026-11-02", "21:04:12"))
    (root / "caf" / "VRSB0801_931_20261102_L.xml").symlink_to(outside / "secret.xml")
    (root / "ali").mkdir(parents=True)
    (root / "ali" / "ALI07").symlink_to(outside, target_is_directory=True)
    (root / "france_travail").mkdir()
    (root / "france_travail" / "radiations_20261102.csv").symlink_to(base / "nowhere")
    (root / "france_travail" / "inscriptions_20261102_link.csv").symlink_to(outside / "trap.fifo")
    os.mkfifo(root / "france_travail" / "cessations_20261102.csv")
    server = unix_socket(root / "france_travail" / "cessations_20261102_s.csv")
    # Header-only files of two kinds: the same bytes, two different files.
    write(root, "france_travail/stock_20261102.csv", FT_HEADER)
    write(root, "france_travail/inscriptions_20261102.csv", FT_HEADER)
    write(root, NEWLINE_NAME, ali_report("ALI05", "ORI-NL1"))
    write(root, NEWLINE_FOLDER, ali_report("ALI05", "ORI-NL2"))
    # Dropped in a folder that is no agency code: quarantined; its copy at the right place comes later.
    corrected = ali_report("ALI05", "ORI-C1", "ORI-C2")
    write(root, "ali/ALI5/ali_ALI05_20261102.csv", corrected)
    in_place = write(root, "ali/ALI06/ali_ALI06_20261102.csv", ali_report("ALI06", "ORI-000001"))
    # The database refuses one of its rows (a rule of the warehouse, added below).
    write(root, "ali/ALI08/ali_ALI08_20261102.csv", ali_report("ALI08", "ORI-P1", "ORI-POISON"))
    appender = Appender(write(root, "ali/ALI09/ali_ALI09_20261102.csv", ""))

    name = "t_attacks_" + uuid.uuid4().hex[:8]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(server_url)._replace(path="/" + name))
    from aiguillage import warehouse

    with psycopg.connect(url) as conn:
        warehouse.migrate(conn)
        conn.execute("ALTER TABLE raw.ali_report_line ADD CONSTRAINT test_poison CHECK (id_orientation <> 'ORI-POISON')")
    env = {"AIGUILLAGE_WAREHOUSE_URL": url}

    def run(day: str):
        # --settle: the test session reads files at once (settle 0); these runs wait as a real one does.
        return run_cli("run", "--date", day, "--landing", str(root), "--outbox", str(outbox), "--only", ONLY,
                       "--settle", str(SETTLE), env=env, timeout=400)

    try:
        time.sleep(SETTLE + 0.5)
        appender.start()  # the upload goes on during the whole first run
        first = run(DAY1)
        appender.stop.set()
        appender.join()
        appender.append()  # its last line, then nothing more: the upload is complete
        # Between the days: the quarantined report copied to its right place (same bytes), and a report
        # rewritten in place with the same size, its modification time set back.
        write(root, "ali/ALI05/ali_ALI05_20261102.csv", corrected)
        before = in_place.stat()
        in_place.write_text(ali_report("ALI06", "ORI-000002"))
        os.utime(in_place, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert (in_place.stat().st_size, in_place.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
        time.sleep(SETTLE + 0.5)
        second = run(DAY2)
        yield {"url": url, "root": root, "outside": outside, "runs": (first, second), "appended": appender.lines}
    finally:
        appender.stop.set()
        server.close()
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(base, ignore_errors=True)


def rows(attacked) -> dict[str, list[tuple]]:
    found: dict[str, list[tuple]] = {}
    with psycopg.connect(attacked["url"]) as conn:
        for path, *rest in conn.execute(
                "SELECT relative_path, status, status_reason, sha256, logical_date::text, file_id, superseded_by,"
                " rows_loaded, rejects FROM registry.landing_file ORDER BY file_id"):
            found.setdefault(path, []).append(tuple(rest))
    return found


def test_both_days_ran_and_the_day_after_the_refused_row_went_on(attacked):
    first, second = attacked["runs"]
    for run in (first, second):
        assert "Traceback" not in run.stdout + run.stderr
        assert "not run (" not in run.stdout
    for dag in ONLY.split(","):
        assert f"DAG {dag:<24} success" in second.stdout


def test_every_entry_ends_in_its_expected_state(attacked):
    found = rows(attacked)
    states = {path: [row[0] for row in versions] for path, versions in found.items()}
    assert states == {
        "caf/VRSB0801_931_20261102_I.xml": [states["caf/VRSB0801_931_20261102_I.xml"][0]],
        "caf/VRSB0801_931_20261102_L.xml": ["refused"],
        "ali/ALI07": ["refused"],
        "france_travail/radiations_20261102.csv": ["refused"],
        "france_travail/inscriptions_20261102_link.csv": ["refused"],
        "france_travail/cessations_20261102.csv": ["refused"],
        "france_travail/cessations_20261102_s.csv": ["refused"],
        "france_travail/stock_20261102.csv": ["loaded"],
        "france_travail/inscriptions_20261102.csv": ["loaded"],
        "ali/ALI05/ali_ALI05_20261102_\\nforged line.csv": ["refused"],
        "ali/ALI05\\n/ali_ALI05_20261102.csv": ["refused"],
        "ali/ALI5/ali_ALI05_20261102.csv": ["quarantined"],
        "ali/ALI05/ali_ALI05_20261102.csv": ["loaded"],
        "ali/ALI06/ali_ALI06_20261102.csv": ["loaded", "loaded"],
        "ali/ALI08/ali_ALI08_20261102.csv": ["quarantined"],
        "ali/ALI09/ali_ALI09_20261102.csv": ["loaded"],
    }
    assert states["caf/VRSB0801_931_20261102_I.xml"][0] in ("loaded", "loaded_with_rejects")
    refused = {path: versions[0] for path, versions in found.items() if versions[0][0] == "refused"}
    assert all(row[2] is None for row in refused.values())  # never hashed
    assert "symbolic link" in refused["ali/ALI07"][1]
    assert "named pipe" in refused["france_travail/cessations_20261102.csv"][1]
    assert "socket" in refused["france_travail/cessations_20261102_s.csv"][1]
    assert "control characters" in refused["ali/ALI05/ali_ALI05_20261102_\\nforged line.csv"][1]
    assert "control characters" in refused["ali/ALI05\\n/ali_ALI05_20261102.csv"][1]


def test_nothing_outside_the_landing_zone_was_read(attacked):
    outside = hashlib.sha256((attacked["outside"] / "secret.xml").read_bytes()).hexdigest()
    report = hashlib.sha256((attacked["outside"] / "ali_ALI07_20261102.csv").read_bytes()).hexdigest()
    hashes = {row[2] for versions in rows(attacked).values() for row in versions}
    assert outside not in hashes and report not in hashes
    # The FIFO outside was never opened for reading: the runs finished (run_cli's timeout) and a
    # writer still finds no reader on it.
    with pytest.raises(OSError):
        os.open(attacked["outside"] / "trap.fifo", os.O_WRONLY | os.O_NONBLOCK)


def test_the_quarantined_report_is_superseded_by_its_copy_at_the_right_place(attacked):
    found = rows(attacked)
    [quarantined] = found["ali/ALI5/ali_ALI05_20261102.csv"]
    [copy] = found["ali/ALI05/ali_ALI05_20261102.csv"]
    assert quarantined[2] == copy[2]  # the same bytes
    assert "is not an agency code" in quarantined[1]
    assert quarantined[5] == copy[4] and copy[3] == DAY2
    assert copy[6] == {"ali_report_line": 2}


def test_header_only_files_of_two_kinds_are_two_files(attacked):
    found = rows(attacked)
    [stock] = found["france_travail/stock_20261102.csv"]
    [inscriptions] = found["france_travail/inscriptions_20261102.csv"]
    assert stock[2] == inscriptions[2] and stock[0] == inscriptions[0] == "loaded"


def test_a_report_rewritten_in_place_is_loaded_again_once(attacked):
    first, second = rows(attacked)["ali/ALI06/ali_ALI06_20261102.csv"]
    assert first[2] != second[2] and (first[3], second[3]) == (DAY1, DAY2)
    with psycopg.connect(attacked["url"]) as conn:
        assert conn.execute(
            "SELECT id_orientation FROM raw.ali_report_line l JOIN registry.landing_file f USING (file_id)"
            " WHERE f.relative_path = 'ali/ALI06/ali_ALI06_20261102.csv' ORDER BY 1").fetchall() == [
            ("ORI-000001",), ("ORI-000002",)]


def test_a_file_still_being_uploaded_is_loaded_once_whole(attacked):
    [growing] = rows(attacked)["ali/ALI09/ali_ALI09_20261102.csv"]
    assert growing[3] == DAY2  # left alone on the first day, while it grew
    assert growing[6] == {"ali_report_line": attacked["appended"]}  # every line, once
    with psycopg.connect(attacked["url"]) as conn:
        unsettled = dict(conn.execute(
            "SELECT logical_date::text, max(files_unsettled) FROM registry.landing_scan GROUP BY 1").fetchall())
    assert unsettled[DAY1] >= 1


def test_the_row_the_database_refused_quarantines_its_file_with_a_plain_reason(attacked):
    [poison] = rows(attacked)["ali/ALI08/ali_ALI08_20261102.csv"]
    assert poison[1] == ("the database refused a row of raw.ali_report_line (constraint test_poison): new row for "
                         "relation violates check constraint (SQLSTATE 23514 check_violation)")
    with psycopg.connect(attacked["url"]) as conn:
        assert conn.execute("SELECT count(*) FROM raw.ali_report_line WHERE file_id = %s",
                            (poison[4],)).fetchone() == (0,)
    assert "ali/ALI08/ali_ALI08_20261102.csv was quarantined: the database refused" in attacked["runs"][0].stdout


def test_no_name_forges_a_line_of_the_output(attacked):
    for run in attacked["runs"]:
        for line in run.stdout.splitlines():
            assert not line.startswith("forged line") and "\x1b" not in line
    first = attacked["runs"][0].stdout
    assert "ali/ALI05/ali_ALI05_20261102_\\nforged line.csv" in first
    assert "entry ali/ALI05\\n/ali_ALI05_20261102.csv was refused" in first

