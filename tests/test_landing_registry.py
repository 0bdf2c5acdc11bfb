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
                "INSERT INTO registry.landing_file (sha256, relative_path, source, kind, agency_code, size_bytes,"
                " mtime_ns, status, logical_date, run_id) SELECT sha256, 'caf/copy.xml', source, kind, agency_code,"
                " size_bytes, 0, 'registered', logical_date, 'x' FROM registry.landing_file LIMIT 1"
            )


# --- identity: bytes AND place --------------------------------------------------------------------

FT_HEADER = b"nir;identifiantpe;nom;prenom;dtnai;date;code;nir2;codeinsee;localite;adresse;ale\n"


def test_the_same_bytes_of_another_kind_are_not_a_duplicate(conn, tmp_path):
    root = tmp_path / "landing"
    (root / "france_travail").mkdir(parents=True)
    # A header-only stock file and a header-only registrations file have the same bytes.
    (root / "france_travail" / "stock_20261102.csv").write_bytes(FT_HEADER)
    (root / "france_travail" / "inscriptions_20261102.csv").write_bytes(FT_HEADER)
    result = scan_and_record(conn, root, DAY1, "run-1")
    assert result.counts() == {"registered": 2}
    # The same bytes of the same kind, though, are one content delivered twice.
    (root / "france_travail" / "stock_20261102_bis.csv").write_bytes(FT_HEADER)
    scan_and_record(conn, root, DAY1, "run-2")
    assert statuses(conn)["france_travail/stock_20261102_bis.csv"] == "duplicate"


def test_a_copy_of_a_quarantined_file_at_the_right_place_is_loaded_and_supersedes_it(conn, tmp_path):
    from aiguillage.ingest.loader import load_pending
    from aiguillage.ingest.raw_tables import RawRow

    root = tmp_path / "landing"
    report = b"code_structure;date_rapport\n"
    (root / "ali" / "ALI5").mkdir(parents=True)  # not an agency code: quarantined
    (root / "ali" / "ALI5" / "ali_ALI05_20261102.csv").write_bytes(report)
    scan_and_record(conn, root, DAY1, "run-1")
    (root / "ali" / "ALI05").mkdir()
    (root / "ali" / "ALI05" / "ali_ALI05_20261102.csv").write_bytes(report)  # the same bytes, right place
    result = scan_and_record(conn, root, DAY1, "run-2")
    assert result.counts() == {"registered": 1}

    def reader(pending, stream):
        assert stream.read() == report
        yield RawRow("ali_report_reject", (2, "SCHEMA", "x", "y"))

    [outcome] = load_pending(conn, "ali", root, reader)
    assert outcome.status == "loaded_with_rejects"
    superseded = conn.execute(
        "SELECT q.status, c.relative_path FROM registry.landing_file q JOIN registry.landing_file c"
        " ON c.file_id = q.superseded_by WHERE q.relative_path = 'ali/ALI5/ali_ALI05_20261102.csv'").fetchone()
    assert superseded == ("quarantined", "ali/ALI05/ali_ALI05_20261102.csv")


def test_a_file_rewritten_in_place_with_its_size_and_mtime_restored_is_seen(conn, landing):
    scan_and_record(conn, landing, DAY2, "run-1")
    path = landing / "france_travail" / "inscriptions_20261103.csv"
    before = path.stat()
    content = path.read_bytes()
    path.write_bytes(content[:-4] + b"z;w\n")  # same size, other bytes
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    result = scan_and_record(conn, landing, DAY2, "run-2")
    assert result.counts() == {"registered": 1}
    assert result.bytes_hashed == before.st_size  # only that file was read again
    assert conn.execute("SELECT count(DISTINCT sha256) FROM registry.landing_file WHERE relative_path = %s",
                        ("france_travail/inscriptions_20261103.csv",)).fetchone() == (2,)


# --- settling ---------------------------------------------------------------------------------------

def test_a_file_changed_a_moment_ago_is_left_for_the_next_run(conn, landing):
    # Settling is judged before anything is read, so the files of later days count too.
    result = scan_and_record(conn, landing, DAY1, "run-1", settle_seconds=3600)
    assert result.recorded == [] and result.files_unsettled == 4 and result.bytes_hashed == 0
    assert conn.execute("SELECT files_unsettled FROM registry.landing_scan").fetchone() == (4,)
    assert scan_and_record(conn, landing, DAY1, "run-2", settle_seconds=0).counts() == {"registered": 2}


def test_the_settle_time_is_a_setting(conn, landing, monkeypatch):
    monkeypatch.setenv("AIGUILLAGE_LANDING_SETTLE_SECONDS", "3600")
    assert scan_and_record(conn, landing, DAY1, "run-1").files_unsettled == 4
    monkeypatch.delenv("AIGUILLAGE_LANDING_SETTLE_SECONDS")
    from aiguillage import config

    assert config.landing_settle_seconds() == 60


def test_a_file_written_during_its_hash_is_left_for_the_next_run(conn, landing, monkeypatch):
    from aiguillage.landing import opened

    path = landing / "caf" / "VRSB0801_931_20261102_M.xml"
    original = opened.LandingStream.sha256

    def growing(stream):
        if stream.name == str(path):
            with open(path, "ab") as handle:  # the partner's upload goes on while we hash
                handle.write(b"<!-- more -->\n")
        return original(stream)

    monkeypatch.setattr(opened.LandingStream, "sha256", growing)
    result = scan_and_record(conn, landing, DAY1, "run-1")
    assert result.counts() == {"registered": 1} and result.files_unsettled == 1
    assert "caf/VRSB0801_931_20261102_M.xml" not in statuses(conn)
    monkeypatch.setattr(opened.LandingStream, "sha256", original)
    assert scan_and_record(conn, landing, DAY1, "run-2").counts() == {"registered": 1}  # whole, once


def test_a_file_gone_between_the_listing_and_the_hash_is_skipped_and_said(conn, landing, monkeypatch):
    from aiguillage.landing import registry

    original = registry.open_descriptor

    def vanishing(root, relative_path):
        if relative_path.endswith("_M.xml"):
            (root / relative_path).unlink()
        return original(root, relative_path)

    monkeypatch.setattr(registry, "open_descriptor", vanishing)
    result = scan_and_record(conn, landing, DAY1, "run-1")
    assert result.counts() == {"registered": 1} and result.files_vanished == 1
    assert conn.execute("SELECT files_vanished FROM registry.landing_scan").fetchone() == (1,)


# --- entries that are never read --------------------------------------------------------------------

def _never_hangs(seconds: int = 30):
    import signal

    def alarm(signum, frame):
        raise TimeoutError("the scan blocked: something was opened that should not have been")

    signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)


def unix_socket(folder: Path, name: str):
    """A listening unix socket at folder/name (bound by a relative name: socket paths are short)."""
    import socket

    server = socket.socket(socket.AF_UNIX)
    here = os.getcwd()
    os.chdir(folder)
    try:
        server.bind(name)
    finally:
        os.chdir(here)
    return server


def test_links_fifos_sockets_and_control_characters_are_refused_once_and_never_opened(conn, tmp_path):
    import signal

    root = tmp_path / "landing"
    outside = tmp_path / "outside"
    outside.mkdir()
    os.mkfifo(outside / "trap.fifo")  # opening it for reading would block the scan
    (outside / "secret.csv").write_bytes(FT_HEADER)
    ft = root / "france_travail"
    ft.mkdir(parents=True)
    (ft / "stock_20261102.csv").symlink_to(outside / "secret.csv")
    (ft / "inscriptions_20261102.csv").symlink_to(outside / "trap.fifo")
    (root / "ali").mkdir()
    (root / "ali" / "ALI05").symlink_to(outside, target_is_directory=True)
    (ft / "radiations_20261102.csv").symlink_to(tmp_path / "nowhere")
    os.mkfifo(ft / "cessations_20261102.csv")
    server = unix_socket(ft, "cessations_20261102_b.csv")
    (ft / "stock_20261102_\nforged line.csv").write_bytes(FT_HEADER)
    (ft / "stock_20261102_\x1b[31m.csv").write_bytes(FT_HEADER)
    (ft / os.fsdecode(b"stock_20261102_\xff.csv")).write_bytes(FT_HEADER)
    _never_hangs()
    try:
        result = scan_and_record(conn, root, DAY1, "run-1")
        again = scan_and_record(conn, root, DAY1, "run-2")
    finally:
        signal.alarm(0)
        server.close()
    rows = dict(conn.execute("SELECT relative_path, status_reason FROM registry.landing_file"
                             " WHERE status = 'refused' AND sha256 IS NULL").fetchall())
    assert set(rows) == {
        "france_travail/stock_20261102.csv", "france_travail/inscriptions_20261102.csv", "ali/ALI05",
        "france_travail/radiations_20261102.csv", "france_travail/cessations_20261102.csv",
        "france_travail/cessations_20261102_b.csv", "france_travail/stock_20261102_\\nforged line.csv",
        "france_travail/stock_20261102_\\x1b[31m.csv", "france_travail/stock_20261102_\\xff.csv"}
    assert "symbolic link" in rows["ali/ALI05"] and "named pipe" in rows["france_travail/cessations_20261102.csv"]
    assert "socket" in rows["france_travail/cessations_20261102_b.csv"]
    assert "control characters" in rows["france_travail/stock_20261102_\\nforged line.csv"]
    assert result.counts() == {"refused": 9} and result.bytes_hashed == 0
    assert again.recorded == []  # recorded once, not at every scan
    assert conn.execute("SELECT count(*) FROM registry.landing_file").fetchone() == (9,)


def test_a_refused_entry_replaced_by_a_regular_file_is_read(conn, tmp_path):
    root = tmp_path / "landing"
    (root / "france_travail").mkdir(parents=True)
    link = root / "france_travail" / "stock_20261102.csv"
    link.symlink_to(tmp_path / "nowhere")
    assert scan_and_record(conn, root, DAY1, "run-1").counts() == {"refused": 1}
    link.unlink()
    link.write_bytes(FT_HEADER)
    assert scan_and_record(conn, root, DAY1, "run-2").counts() == {"registered": 1}


def test_a_database_check_keeps_sha256_for_every_file_but_refused_ones(conn, landing):
    import psycopg

    scan_and_record(conn, landing, DAY1, "run-1")
    with pytest.raises(psycopg.errors.CheckViolation):
        with conn.transaction():
            conn.execute("UPDATE registry.landing_file SET sha256 = NULL WHERE status = 'registered'")


# --- the duplicate rule, on random landing zones ---------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PLACES = ("france_travail/stock_20261102.csv", "france_travail/stock_20261102_b.csv",
          "france_travail/inscriptions_20261102.csv", "ali/ALI05/ali_20261102.csv", "ali/ALI05/ali_20261102_b.csv",
          "ali/ALI06/ali_20261102.csv", "ali/ALI5/ali_20261102.csv", "readme.txt")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(PLACES), st.sampled_from([b"A\n", b"B\n", b""])), min_size=1,
                max_size=8, unique_by=lambda item: item[0]),
       st.integers(1, 3))
def test_a_duplicate_is_the_same_bytes_of_the_same_source_kind_and_agency(conn, tmp_path_factory, files, batches):
    conn.execute("TRUNCATE registry.landing_file, registry.landing_scan CASCADE")
    conn.commit()
    root = tmp_path_factory.mktemp("random") / "landing"
    root.mkdir()
    for position, (place, content) in enumerate(files):  # dropped in a few batches, one scan each
        path = root / place
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        if position % batches == 0:
            scan_and_record(conn, root, DAY1, f"run-{position}")
    scan_and_record(conn, root, DAY1, "last")
    assert scan_and_record(conn, root, DAY1, "again").recorded == []
    rows = conn.execute("SELECT file_id, relative_path, sha256, source, kind, agency_code, status, duplicate_of"
                        " FROM registry.landing_file ORDER BY file_id").fetchall()
    assert sorted(row[1] for row in rows) == sorted(place for place, _ in files)  # each file once
    accepted: dict[tuple, int] = {}
    for file_id, _, sha, source, kind, agency, status, duplicate_of in rows:
        identity = (sha, source, kind, agency)
        if status == "duplicate":
            assert duplicate_of == accepted[identity]  # an earlier accepted file of the same identity
        else:
            assert identity not in accepted or status == "quarantined"
            if status == "registered":
                accepted[identity] = file_id
