"""Benchmark: loading a CAF monthly flow the size of Seine-Saint-Denis (90,000 households).

Measures, in one run, on the configured warehouse (embedded by default) in a throwaway database:

  (a) ours: streaming parse (``read_caf``: the bytes checked against the declared encoding, each
      dossier validated against the VRSB0801 schema, values bounded) + COPY, one transaction, as the
      caf_ingestion DAG does (the generated flow is windows-1252, as the CNAF writes them);
  (b) the floor: a bare lxml iterparse of the same file with no per-record work, plus a bare COPY
      of the same rows already in memory;
  (c) the common way: pandas ``DataFrame.to_sql`` of the same rows, and row-by-row INSERTs on a
      sample, extrapolated.

Prints persons/s, MB/s, peak memory and the ratios a/b (target <= 2) and c/a (target >= 5).
``--scale 10`` also loads a file ten times larger, in a separate process, to show that peak
memory does not grow with the file (target < 300 MB).

    .venv/bin/python bench/bench_caf_load.py                 # 90,000 households
    .venv/bin/python bench/bench_caf_load.py --scale 10      # and 900,000 for the memory check
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from aiguillage import config, warehouse
from aiguillage.ingest.loader import column_types
from aiguillage.ingest.raw_tables import COLUMNS
from aiguillage.landing.registry import scan_and_record

DAY = date(2026, 11, 2)


def peak_memory_mb() -> float:
    """VmHWM of this process (ru_maxrss would include a parent's peak carried over by exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_flow(folder: Path, households: int) -> Path:
    from aiguillage.synth import generate

    summary = generate(folder, DAY, households, 1, seed=93)
    return next(path for path in summary.files if path.suffix == ".xml")


def fresh_database(server: str) -> tuple[str, str]:
    name = "bench_" + uuid.uuid4().hex[:8]
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name, urlunsplit(urlsplit(server)._replace(path="/" + name))


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ours(landing: Path, url: str) -> dict:
    """(a) parse + COPY of every registered CAF file, exactly as the DAG task does."""
    from aiguillage.ingest.caf_reader import read_caf
    from aiguillage.ingest.loader import load_pending

    os.environ[config.WAREHOUSE_URL_VAR] = url
    # The flow was just written by this benchmark: no need to wait for it to settle.
    os.environ["AIGUILLAGE_LANDING_SETTLE_SECONDS"] = "0"
    with warehouse.connect() as conn:
        warehouse.migrate(conn)
        scan_and_record(conn, landing, DAY, "bench")
        conn.commit()
        started = time.perf_counter()
        outcomes = load_pending(conn, "caf", landing, lambda pending, path: read_caf(path))
        seconds = time.perf_counter() - started
    (outcome,) = outcomes
    return {"seconds": seconds, "status": outcome.status, "rows": outcome.rows, "peak_mb": peak_memory_mb()}


def ours_in_subprocess(landing: Path, url: str) -> dict:
    # A process of its own, so that its peak memory is the load's alone.
    result = subprocess.run([sys.executable, __file__, "--ours-only", str(landing), url], capture_output=True,
                            text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def bare_parse(path: Path) -> float:
    from lxml import etree

    started = time.perf_counter()
    for _, element in etree.iterparse(str(path), events=("end",), tag="InfosFoyerRSA", huge_tree=True):
        element.clear()
        while element.getprevious() is not None:
            del element.getparent()[0]
    return time.perf_counter() - started


def rows_in_memory(path: Path) -> dict[str, list[tuple]]:
    from aiguillage.ingest.caf_reader import read_caf

    tables: dict[str, list[tuple]] = {}
    for row in read_caf(path):
        tables.setdefault(row.table, []).append(row.values)
    return tables


def bare_copy(url: str, tables: dict[str, list[tuple]]) -> float:
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE raw.caf_dossier, raw.caf_person, raw.caf_address, raw.caf_right_situation,"
                     " raw.caf_amount, raw.caf_event")
        file_id = conn.execute("SELECT min(file_id) FROM registry.landing_file").fetchone()[0]
        conn.commit()
        types = {table: column_types(conn, table) for table in tables}
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for table, rows in tables.items():
                columns = ", ".join(("file_id", *COLUMNS[table]))
                with cursor.copy(f"COPY raw.{table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(types[table])
                    for values in rows:
                        copy.write_row((file_id, *values))
        conn.commit()
        return time.perf_counter() - started


def pandas_way(url: str, tables: dict[str, list[tuple]]) -> float:
    import pandas as pd
    import sqlalchemy

    engine = sqlalchemy.create_engine(urlunsplit(urlsplit(url)._replace(scheme="postgresql+psycopg")))
    started = time.perf_counter()
    with engine.begin() as connection:
        for table, rows in tables.items():
            frame = pd.DataFrame(rows, columns=list(COLUMNS[table]))
            frame.insert(0, "file_id", 1)
            frame.to_sql(f"pandas_{table}", connection, schema="raw", if_exists="replace", index=False)
    engine.dispose()
    return time.perf_counter() - started


def row_by_row(url: str, tables: dict[str, list[tuple]], sample: int) -> tuple[float, int]:
    """Seconds for INSERTing ``sample`` rows one statement each, and the total row count."""
    total = sum(len(rows) for rows in tables.values())
    rows = tables["caf_person"][:sample]
    columns = ("file_id", *COLUMNS["caf_person"])
    statement = (f"INSERT INTO raw.caf_person_row_by_row ({', '.join(columns)}) "  # noqa: S608 (constants)
                 f"VALUES ({', '.join(['%s'] * len(columns))})")
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE raw.caf_person_row_by_row (LIKE raw.caf_person)")
        conn.commit()
        started = time.perf_counter()
        for position, values in enumerate(rows):
            conn.execute(statement, (1, values[0], position, *values[2:]))
        conn.commit()
        return time.perf_counter() - started, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=90_000)
    parser.add_argument("--scale", type=int, default=0, help="also check memory on a file this many times larger")
    parser.add_argument("--row-by-row-sample", type=int, default=5_000)
    parser.add_argument("--ours-only", nargs=2, metavar=("LANDING", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ours_only:
        print(json.dumps(ours(Path(args.ours_only[0]), args.ours_only[1])))
        return

    server = config.warehouse_url()
    with tempfile.TemporaryDirectory() as folder:
        landing = Path(folder) / "landing"
        started = time.perf_counter()
        flow = make_flow(landing, args.households)
        size_mb = flow.stat().st_size / 1e6
        print(f"CAF monthly flow: {args.households:,} households, {size_mb:,.0f} MB "
              f"(generated in {time.perf_counter() - started:.0f} s)")

        name, url = fresh_database(server)
        try:
            a = ours_in_subprocess(landing, url)
            persons = a["rows"]["caf_person"]
            rows_total = sum(a["rows"].values())
            print(f"(a) ours: parse + COPY       {a['seconds']:7.2f} s  {persons / a['seconds']:9,.0f} persons/s"
                  f"  {size_mb / a['seconds']:6.1f} MB/s  peak {a['peak_mb']:.0f} MB  ({rows_total:,} rows, "
                  f"{a['status']})")

            parse_s = bare_parse(flow)
            tables = rows_in_memory(flow)
            copy_s = bare_copy(url, tables)
            floor = parse_s + copy_s
            print(f"(b) floor: bare parse {parse_s:.2f} s + bare COPY {copy_s:.2f} s = {floor:.2f} s"
                  f"  {persons / floor:9,.0f} persons/s")

            pandas_s = pandas_way(url, tables)
            sample_s, total = row_by_row(url, tables, args.row_by_row_sample)
            extrapolated = sample_s / args.row_by_row_sample * total
            print(f"(c) pandas to_sql            {pandas_s:7.2f} s  {persons / pandas_s:9,.0f} persons/s")
            print(f"    row-by-row INSERT        {extrapolated:7.2f} s  (extrapolated from "
                  f"{args.row_by_row_sample:,} rows in {sample_s:.2f} s)")
            print(f"a/b = {a['seconds'] / floor:.2f} (target <= 2)   "
                  f"c/a = {pandas_s / a['seconds']:.1f} with pandas, {extrapolated / a['seconds']:.1f} row by row"
                  " (target >= 5)")
        finally:
            drop_database(server, name)

    if args.scale > 1:
        with tempfile.TemporaryDirectory() as folder:
            landing = Path(folder) / "landing"
            big = make_flow(landing, args.households * args.scale)
            name, url = fresh_database(server)
            try:
                result = ours_in_subprocess(landing, url)
                print(f"x{args.scale}: {args.households * args.scale:,} households, "
                      f"{big.stat().st_size / 1e6:,.0f} MB: ours {result['seconds']:.1f} s, "
                      f"peak {result['peak_mb']:.0f} MB (target < 300 MB), {result['status']}")
            finally:
                drop_database(server, name)


if __name__ == "__main__":
    main()
