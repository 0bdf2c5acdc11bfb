"""Benchmark: landing registry scans on a growing landing zone.

Builds a landing zone of DAYS days (each day: one CAF flow of SIZE_MB and 4 France Travail files),
then scans it day by day as the daily runs do, and prints for each scan the files seen, recorded,
bytes hashed and seconds. The point: a day's scan must cost what the day brought, not the size of
the history. Uses the configured warehouse (embedded by default) in a throwaway database.

    .venv/bin/python bench/bench_registry.py --days 30 --size-mb 50
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from aiguillage import config, warehouse
from aiguillage.landing.registry import scan_and_record

CAF_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<Racine><IdentificationFlux><APPLIEME>CRI</APPLIEME><NUMVERSIONAPPLIEME>4200</NUMVERSIONAPPLIEME>
<TYPEFLUX>I</TYPEFLUX><NATFLUX>D</NATFLUX><DTCREAFLUX>{day}</DTCREAFLUX><HEUCREAFLUX>21:00:00</HEUCREAFLUX>
<DTREF>{month}</DTREF></IdentificationFlux>
"""


def build(landing: Path, start: date, days: int, size_mb: int) -> None:
    filler = ("<InfosFoyerRSA>" + "x" * 1000 + "</InfosFoyerRSA>\n").encode()
    for offset in range(days):
        day = start + timedelta(days=offset)
        stamp = day.strftime("%Y%m%d")
        caf = landing / "caf" / f"VRSB0801_931_{stamp}_I.xml"
        caf.parent.mkdir(parents=True, exist_ok=True)
        with open(caf, "wb") as out:
            out.write(CAF_HEADER.format(day=day, month=day.replace(day=1)).encode())
            for block in range(size_mb * 1000):
                out.write(filler.replace(b"x" * 10, str(block).rjust(10, "0").encode(), 1))
            out.write(b"<TransmissionFlux/></Racine>\n")
        for kind in ("inscriptions", "cessations", "radiations", "stock"):
            ft = landing / "france_travail" / f"{kind}_{stamp}.csv"
            ft.parent.mkdir(parents=True, exist_ok=True)
            ft.write_text(f"nir;identifiantpe\n{kind};{stamp}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--size-mb", type=int, default=20)
    args = parser.parse_args()

    server = config.warehouse_url()
    dbname = "bench_" + uuid.uuid4().hex[:8]
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    os.environ[config.WAREHOUSE_URL_VAR] = urlunsplit(urlsplit(server)._replace(path="/" + dbname))
    start = date(2026, 11, 1)
    try:
        with tempfile.TemporaryDirectory() as folder:
            landing = Path(folder)
            started = time.monotonic()
            build(landing, start, args.days, args.size_mb)
            print(f"landing zone: {args.days} days x (1 CAF flow of ~{args.size_mb} MB + 4 FT files), "
                  f"built in {time.monotonic() - started:.1f} s")
            print(f"{'day':<12}{'seen':>6}{'recorded':>10}{'MB hashed':>11}{'seconds':>9}")
            with warehouse.connect() as conn:
                warehouse.migrate(conn)
                for offset in range(args.days):
                    day = start + timedelta(days=offset)
                    # The files were written just before: complete, no need to wait for them to settle.
                    result = scan_and_record(conn, landing, day, f"bench-{day}", settle_seconds=0)
                    print(f"{day!s:<12}{result.files_seen:>6}{len(result.recorded):>10}"
                          f"{result.bytes_hashed / 1e6:>11.1f}{result.seconds:>9.3f}")
                rerun = scan_and_record(conn, landing, start + timedelta(days=args.days - 1), "bench-rerun",
                                        settle_seconds=0)
                print(f"rerun of the last day: {len(rerun.recorded)} recorded, "
                      f"{rerun.bytes_hashed / 1e6:.1f} MB hashed, {rerun.seconds:.3f} s")
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
