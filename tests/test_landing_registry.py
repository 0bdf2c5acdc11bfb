"""The landing registry against a real PostgreSQL: every file recorded once, by content."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from aiguillage.landing.registry import files_for_day, scan_and_record

# The partners' hand-written samples (data contracts), kept with the tests.
SAMPLES = Path(__file__).resolve().parent / "fixtures"
DAY1, DAY2, DAY3 = date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)


def caf_flow(landing: Path, name: str, created: date, typeflux: str = "I") -> Path:
    text = (SAMPLES / "caf_vrsb0801_daily_sample.xml").read_text(encoding="utf-8")
    text = text.replace("<DTCREAFLUX>2026-11-26</DTCREAFLUX>", f"<DTCREAFLUX>{created}</DTCREAFLUX>")
    text = text.replace("<TYPEFLUX>I</TYPEFLUX>", f"<TYPEFLUX>{typeflux}</TYPEFLUX>")
    path = landing / "caf" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def ft_flow(landing: Path, name: str, extra_line: str = "") -> Path:
    path = landing / "france_travail" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((SAMPLES / "inscriptions_20261126.csv").read_bytes() + extra_line.encode("latin-1"))
    return path


@pytest.fixture
def landing(tmp_path) -> Path:
    root = tmp_path / "landing"
    caf_flow(root, "VRSB0801_931_20261102_M.xml", DAY1, "M")
    ft_flow(root, "stock_20261102.csv")
    caf_flow(root, "VRSB0801_931_20261103_I.xml", DAY2)
    ft_flow(root, "inscriptions_20261103.csv", "x;y\n")
    return root


def statuses(conn) -> dict[str, str]:
    rows = conn.execute("SELECT relative_path, status FROM registry.landing_file ORDER BY 1")
    return dict(rows.fetchall())


def test_records_each_file_once_with_its_header(conn, landing):
    result = scan_and_record(conn, landing, DAY1, "run-1")
    assert result.counts() == {"registered": 2}
    assert result.files_not_due == 2  # day 2's files wait for day 2's run
    row = conn.execute(
        "SELECT source, kind, delivered_on, header->>'TYPEFLUX', header->>'NATFLUX', header->>'DTCREAFLUX',"
        " header->>'DTREF', header->>'encoding', size_bytes, length(sha256), run_id"
        " FROM registry.landing_file WHERE relative_path = 'caf/VRSB0801_931_20261102_M.xml'"
    ).fetchone()
    size = (landing / "caf" / "VRSB0801_931_20261102_M.xml").stat().st_size
    assert row == ("caf", "monthly", DAY1, "M", "D", "2026-11-02", "2026-11-01", "UTF-8", size, 64, "run-1")
    ft = conn.execute("SELECT source, kind, delivered_on FROM registry.landing_file"
                      " WHERE relative_path = 'france_travail/stock_20261102.csv'").fetchone()
    assert ft == ("france_travail", "stock", DAY1)


def test_rerunning_a_day_records_nothing_new(conn, landing):
    scan_and_record(conn, landing, DAY1, "run-1")
    scan_and_record(conn, landing, DAY2, "run-2")
    before = conn.execute("SELECT * FROM registry.landing_file ORDER BY file_id").fetchall()
    again = scan_and_record(conn, landing, DAY2, "run-2-again")
    assert again.recorded == []
    assert again.bytes_hashed == 0  # unchanged files are not read again
    assert conn.execute("SELECT * FROM registry.landing_file ORDER BY file_id").fetchall() == before
    assert conn.execute("SELECT count(*) FROM registry.landing_scan").fetchone() == (3,)


def test_resent_identical_file_is_a_duplicate(conn, landing):
    scan_and_record(conn, landing, DAY1, "run-1")
    # The CAF resends the monthly flow under another name the next day: same bytes.
    shutil.copyfile(landing / "caf" / "VRSB0801_931_20261102_M.xml", landing / "caf" / "VRSB0801_931_20261102_M_bis.xml")
    result = scan_and_record(conn, landing, DAY2, "run-2")
    assert statuses(conn)["caf/VRSB0801_931_20261102_M_bis.xml"] == "duplicate"
    original, duplicate_of, reason = conn.execute(
        "SELECT (SELECT file_id FROM registry.landing_file WHERE relative_path = 'caf/VRSB0801_931_20261102_M.xml'),"
        " duplicate_of, status_reason FROM registry.landing_file"
        " WHERE relative_path = 'caf/VRSB0801_931_20261102_M_bis.xml'"
    ).fetchone()
    assert duplicate_of == original
    assert reason == "same content as caf/VRSB0801_931_20261102_M.xml"
    assert result.counts() == {"registered": 2, "duplicate": 1}


def test_same_name_new_content_is_a_new_file(conn, landing):
    scan_and_record(conn, landing, DAY2, "run-1")
    path = landing / "france_travail" / "inscriptions_20261103.csv"
    path.write_bytes(path.read_bytes() + b"another;line\n")
    result = scan_and_record(conn, landing, DAY2, "run-2")
    assert result.counts() == {"registered": 1}
    assert conn.execute("SELECT count(*) FROM registry.landing_file WHERE relative_path = %s",
                        ("france_travail/inscriptions_20261103.csv",)).fetchone() == (2,)


def test_touched_file_is_hashed_again_but_not_recorded_twice(conn, landing):
    scan_and_record(conn, landing, DAY1, "run-1")
    path = landing / "caf" / "VRSB0801_931_20261102_M.xml"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    result = scan_and_record(conn, landing, DAY1, "run-2")
    assert result.recorded == []
    assert result.bytes_hashed == path.stat().st_size
    assert scan_and_record(conn, landing, DAY1, "run-3").bytes_hashed == 0


def test_unusable_files_are_quarantined_with_a_reason(conn, landing):
    (landing / "readme.txt").write_text("hello")
    (landing / "caf" / "VRSB0801_931_20261102_X.xml").write_text("not xml at all")
    (landing / "france_travail" / "export_20261102.csv").write_text("a;b\n")
    (landing / "ali" / "ALI99").mkdir(parents=True)
    (landing / "ali" / "ALI99" / "ali_ALI99_20261102.csv").write_text("code_structure\n")
    (landing / "caf" / "VRSB0801_931_20261102_E.xml").write_bytes(b"")
    (landing / "caf" / "upload.xml.part").write_text("<Racine>")
    result = scan_and_record(conn, landing, DAY1, "run-1")
    reasons = dict(conn.execute("SELECT relative_path, status_reason FROM registry.landing_file"
                                " WHERE status = 'quarantined'").fetchall())
    assert set(reasons) == {"readme.txt", "caf/VRSB0801_931_20261102_X.xml", "france_travail/export_20261102.csv",
                            "ali/ALI99/ali_ALI99_20261102.csv", "caf/VRSB0801_931_20261102_E.xml"}
    assert "unreadable VRSB0801 header" in reasons["caf/VRSB0801_931_20261102_X.xml"]
    assert "empty file" in reasons["caf/VRSB0801_931_20261102_E.xml"]
    assert "ALI01 to ALI22" in reasons["ali/ALI99/ali_ALI99_20261102.csv"]
    assert result.files_skipped == 1  # the .part upload is still in transit


def test_missing_landing_zone_is_a_clear_error(conn, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        scan_and_record(conn, tmp_path / "nowhere", DAY1, "run-1")


def test_files_for_day_reports_what_the_day_recorded(conn, landing):
    scan_and_record(conn, landing, DAY1, "run-1")
    scan_and_record(conn, landing, DAY3, "run-3")
    assert [row["relative_path"] for row in files_for_day(conn, DAY1)] == [
        "caf/VRSB0801_931_20261102_M.xml", "france_travail/stock_20261102.csv"]
    assert len(files_for_day(conn, DAY3)) == 2
    assert files_for_day(conn, DAY2) == []


def test_one_original_per_content_is_enforced_by_the_database(conn, landing):
    import psycopg

    scan_and_record(conn, landing, DAY1, "run-1")
    with pytest.raises(psycopg.errors.UniqueViolation):
        with conn.transaction():
            conn.execute(
                "INSERT INTO registry.landing_file (sha256, relative_path, source, size_bytes, mtime_ns, status,"
                " logical_date, run_id) SELECT sha256, 'caf/copy.xml', source, size_bytes, 0, 'registered',"
                " logical_date, 'x' FROM registry.landing_file LIMIT 1"
            )
