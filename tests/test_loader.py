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
