"""The raw loader on a real PostgreSQL: COPY, one transaction per file, quarantine rolls back."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
import pytest

from aiguillage.ingest import loader
from aiguillage.ingest.loader import load_pending
from aiguillage.ingest.raw_tables import COLUMNS, QuarantineError, RawRow
from aiguillage.landing.registry import scan_and_record

DAY = date(2026, 11, 2)
FT_HEADER = "nir;identifiantpe;nom;prenom;dtnai;date;code;nir2;codeinsee;localite;adresse;ale\n"


def _ft_record(line: int) -> RawRow:
    return RawRow("france_travail_record", (
        line, "stock", "1850793066123", "4521877K012", "NOM", "PRENOM", date(1985, 7, 14), date(2026, 10, 1),
        "1", None, "93066", "SAINT-DENIS", "1 RUE X", "93061"))


@pytest.fixture
def landing(tmp_path, conn) -> Path:
    root = tmp_path / "landing"
    (root / "france_travail").mkdir(parents=True)
    (root / "france_travail" / "stock_20261102.csv").write_text(FT_HEADER + "a\n")
    (root / "france_travail" / "inscriptions_20261102.csv").write_text(FT_HEADER + "b\n")
    scan_and_record(conn, root, DAY, "run-1")
    return root


def _rows(conn, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]  # noqa: S608 (constant names)


def test_columns_of_the_python_model_match_the_database(conn):
    for table, columns in COLUMNS.items():
        found = [row[0] for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = %s"
            " ORDER BY ordinal_position", (table,))]
        assert found == ["file_id", *columns], table


def test_a_file_loads_whole_with_counts_in_the_registry(conn, landing, monkeypatch):
    monkeypatch.setattr(loader, "FLUSH_ROWS", 7)  # several COPY rounds inside the one transaction

    def reader(pending, path):
        for line in range(2, 52):
            yield _ft_record(line)
        yield RawRow("france_travail_reject", (52, "NIR_MISMATCH", "nir differs from nir2", "raw"))

    outcomes = load_pending(conn, "france_travail", landing, reader)
    assert [o.status for o in outcomes] == ["loaded_with_rejects", "loaded_with_rejects"]
    assert _rows(conn, "france_travail_record") == 100
    state = conn.execute(
        "SELECT status, rows_loaded, rejects, loaded_at IS NOT NULL, load_attempts FROM registry.landing_file"
        " WHERE relative_path = 'france_travail/stock_20261102.csv'").fetchone()
    assert state == ("loaded_with_rejects", {"france_travail_record": 50, "france_travail_reject": 1},
                     {"NIR_MISMATCH": 1}, True, 1)
    positions = conn.execute("SELECT min(line_number), max(line_number), count(DISTINCT file_id)"
                             " FROM raw.france_travail_record").fetchone()
    assert positions == (2, 51, 2)


def test_quarantine_after_rows_were_copied_leaves_nothing(conn, landing, monkeypatch):
    monkeypatch.setattr(loader, "FLUSH_ROWS", 5)

    def reader(pending, path):
        for line in range(2, 40):
            yield _ft_record(line)
        if pending.kind == "stock":
            raise QuarantineError(f"{pending.relative_path}: line 40: the file ends in the middle of a line")

    outcomes = {o.relative_path: o for o in load_pending(conn, "france_travail", landing, reader)}
    stock = outcomes["france_travail/stock_20261102.csv"]
    assert stock.status == "quarantined"
    assert "line 40" in stock.reason
    assert outcomes["france_travail/inscriptions_20261102.csv"].status == "loaded"  # the rest goes on
    stock_id = stock.file_id
    assert conn.execute("SELECT count(*) FROM raw.france_travail_record WHERE file_id = %s",
                        (stock_id,)).fetchone() == (0,)
    assert conn.execute("SELECT status, status_reason FROM registry.landing_file WHERE file_id = %s",
                        (stock_id,)).fetchone() == ("quarantined", stock.reason)


def test_loading_again_does_nothing(conn, landing):
    def reader(pending, path):
        yield _ft_record(2)

    assert len(load_pending(conn, "france_travail", landing, reader)) == 2
    assert load_pending(conn, "france_travail", landing, reader) == []
    assert _rows(conn, "france_travail_record") == 2


def test_a_crash_in_the_reader_keeps_the_file_registered(conn, landing):
    def reader(pending, path):
        yield _ft_record(2)
        raise OSError("disk read error")

    with pytest.raises(OSError):
        load_pending(conn, "france_travail", landing, reader)
    assert _rows(conn, "france_travail_record") == 0
    assert conn.execute("SELECT status, load_attempts FROM registry.landing_file"
                        " WHERE relative_path = 'france_travail/inscriptions_20261102.csv'").fetchone() == (
        "registered", 1)


def test_a_reader_bug_is_caught_before_copy(conn, landing):
    def reader(pending, path):
        yield RawRow("france_travail_record", (2, "stock"))

    with pytest.raises(ValueError, match="reader bug"):
        load_pending(conn, "france_travail", landing, reader)


def test_raw_schema_is_closed_to_other_roles(intruder):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        intruder.execute("SELECT * FROM raw.caf_person").fetchall()


# --- the bytes loaded are the bytes registered ------------------------------------------------------

def _ft_reader(pending, stream):
    from aiguillage.ingest.france_travail_reader import read_france_travail

    return read_france_travail(stream, pending.kind)


def test_the_reader_gets_a_stream_of_the_registered_bytes(conn, landing):
    seen = {}

    def reader(pending, stream):
        seen[pending.relative_path] = (stream.read(), stream.label)
        yield _ft_record(2)

    load_pending(conn, "france_travail", landing, reader)
    assert seen["france_travail/stock_20261102.csv"] == ((FT_HEADER + "a\n").encode(), "france_travail/stock_20261102.csv")


def test_a_file_changed_after_registration_is_not_loaded_and_its_new_content_is(conn, landing):
    path = landing / "france_travail" / "stock_20261102.csv"
    path.write_text(FT_HEADER + "changed\n")
    outcomes = {o.relative_path: o for o in load_pending(conn, "france_travail", landing, _ft_reader)}
    stock = outcomes["france_travail/stock_20261102.csv"]
    assert stock.status == "quarantined"
    assert "changed after it was registered" in stock.reason and "next scan" in stock.reason
    assert outcomes["france_travail/inscriptions_20261102.csv"].status == "loaded_with_rejects"
    assert conn.execute("SELECT count(*) FROM raw.france_travail_reject WHERE file_id = %s",
                        (stock.file_id,)).fetchone() == (0,)  # rolled back
    # The next scan records the new content as a new file, which loads.
    assert scan_and_record(conn, landing, DAY, "run-2").counts() == {"registered": 1}
    [again] = load_pending(conn, "france_travail", landing, _ft_reader)
    assert (again.relative_path, again.status) == ("france_travail/stock_20261102.csv", "loaded_with_rejects")
    assert again.file_id != stock.file_id


def test_a_file_changed_while_the_reader_stops_early_is_blamed_on_the_change(conn, landing):
    path = landing / "france_travail" / "stock_20261102.csv"

    def reader(pending, stream):
        stream.read(10)
        if pending.kind == "stock":
            with open(path, "a") as handle:
                handle.write("more\n")
        raise QuarantineError("line 2: bad")
        yield  # pragma: no cover

    outcomes = {o.relative_path: o for o in load_pending(conn, "france_travail", landing, reader)}
    assert "changed after it was registered" in outcomes["france_travail/stock_20261102.csv"].reason
    assert outcomes["france_travail/inscriptions_20261102.csv"].reason == "line 2: bad"


def test_a_link_swapped_in_after_registration_is_never_followed(conn, landing, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text(FT_HEADER + "a\n")  # the very bytes registered, but outside the landing zone
    path = landing / "france_travail" / "stock_20261102.csv"
    path.unlink()
    path.symlink_to(secret)
    read = []
    outcomes = {o.relative_path: o for o in load_pending(
        conn, "france_travail", landing, lambda pending, stream: read.append(pending.kind) or iter(()))}
    stock = outcomes["france_travail/stock_20261102.csv"]
    assert stock.status == "quarantined" and "symbolic link" in stock.reason
    assert read == ["inscriptions"]


def test_a_file_gone_after_registration_stays_registered_and_does_not_stop_the_others(conn, landing):
    (landing / "france_travail" / "stock_20261102.csv").unlink()
    outcomes = {o.relative_path: o for o in load_pending(conn, "france_travail", landing, _ft_reader)}
    assert outcomes["france_travail/stock_20261102.csv"].status == "skipped"
    assert outcomes["france_travail/inscriptions_20261102.csv"].status == "loaded_with_rejects"
    assert conn.execute("SELECT status, load_attempts FROM registry.landing_file"
                        " WHERE relative_path = 'france_travail/stock_20261102.csv'").fetchone() == ("registered", 1)


# --- the database refusing a row ----------------------------------------------------------------------

def test_a_value_too_long_for_an_index_quarantines_the_file_with_a_plain_reason(conn, landing):
    import secrets

    conn.execute("CREATE INDEX test_ft_adresse ON raw.france_travail_record (adresse)")
    conn.commit()
    huge = secrets.token_hex(4000)  # 8,000 characters that do not compress: past a btree row's limit

    def reader(pending, stream):
        row = _ft_record(2)
        if pending.kind == "stock":
            values = list(row.values)
            values[COLUMNS["france_travail_record"].index("adresse")] = huge
            row = RawRow(row.table, tuple(values))
        yield row

    outcomes = {o.relative_path: o for o in load_pending(conn, "france_travail", landing, reader)}
    stock = outcomes["france_travail/stock_20261102.csv"]
    assert stock.status == "quarantined"
    assert stock.reason.startswith("the database refused a row of raw.france_travail_record")
    assert "(SQLSTATE 54000 program_limit_exceeded)" in stock.reason
    assert "(index test_ft_adresse)" in stock.reason
    assert huge[:20] not in stock.reason
    assert outcomes["france_travail/inscriptions_20261102.csv"].status == "loaded"
    assert conn.execute("SELECT status, status_reason FROM registry.landing_file WHERE file_id = %s",
                        (stock.file_id,)).fetchone() == ("quarantined", stock.reason)
    # Nothing is left registered: the next load has nothing to do.
    assert load_pending(conn, "france_travail", landing, reader) == []


@pytest.mark.parametrize(("constraint", "value", "sqlstate"), [
    ("CHECK (nom <> 'POISON')", "POISON", "23514 check_violation"),
    ("CHECK (length(localite) < 50)", "X" * 60, "23514 check_violation"),
])
def test_any_refused_row_names_its_table_constraint_and_sqlstate_never_the_value(conn, landing, constraint,
                                                                              value, sqlstate):
    conn.execute(f"ALTER TABLE raw.france_travail_record ADD CONSTRAINT test_rule {constraint}")
    conn.commit()
    column = "nom" if "nom" in constraint else "localite"

    def reader(pending, stream):
        values = list(_ft_record(2).values)
        values[COLUMNS["france_travail_record"].index(column)] = value
        yield RawRow("france_travail_record", tuple(values))

    for outcome in load_pending(conn, "france_travail", landing, reader):
        assert outcome.status == "quarantined"
        assert outcome.reason.startswith("the database refused a row of raw.france_travail_record")
        assert "constraint test_rule" in outcome.reason and f"(SQLSTATE {sqlstate})" in outcome.reason
        assert value not in outcome.reason


def test_a_bad_value_from_a_reader_is_a_data_exception_and_quarantines(conn, landing):
    def reader(pending, stream):
        values = list(_ft_record(2).values)
        values[COLUMNS["france_travail_record"].index("nom")] = "NUL\x00BYTE"
        yield RawRow("france_travail_record", tuple(values))

    outcomes = load_pending(conn, "france_travail", landing, reader)
    assert {o.status for o in outcomes} == {"quarantined"}
    assert all("SQLSTATE 22" in o.reason and "NUL" not in o.reason.replace("NUL byte", "") for o in outcomes)


# --- bounded attempts -----------------------------------------------------------------------------------

def test_a_file_whose_loads_never_finish_is_quarantined_and_alerted(conn, landing, monkeypatch):
    from mail_sink import HttpSink

    monkeypatch.setenv("AIGUILLAGE_LOAD_MAX_ATTEMPTS", "2")

    def crashing(pending, stream):
        if pending.kind == "stock":
            raise RuntimeError("the reader crashed")
        yield _ft_record(2)

    for _ in range(2):
        with pytest.raises(RuntimeError):
            load_pending(conn, "france_travail", landing, crashing)
    assert conn.execute("SELECT status, load_attempts FROM registry.landing_file"
                        " WHERE relative_path = 'france_travail/stock_20261102.csv'").fetchone() == ("registered", 2)
    with HttpSink() as sink:
        monkeypatch.setenv("AIGUILLAGE_ALERT_WEBHOOK_URL", sink.url + "/hook")
        [outcome] = load_pending(conn, "france_travail", landing, crashing)  # the third: not tried again
    assert outcome.status == "quarantined" and "2 loads of this file were started and none finished" in outcome.reason
    [post] = sink.received
    assert post.json["event"] == "aiguillage.load_attempts_exhausted"
    assert post.json["quarantined"] == [{"relative_path": "france_travail/stock_20261102.csv",
                                         "reason": outcome.reason}]
    assert "2 unfinished loads" in post.json["summary"]
