"""Benchmark: what a whole day of the pipeline costs, DAG by DAG, for a caseload of a given size.

Generates a synthetic département (``--households``: 90,000 is Seine-Saint-Denis, 1,900,000 national
volume), a monthly CAF stock on day 1 then daily flows, and runs the real daily DAGs day after day
with ``aiguillage run``'s runner (in one process, France Travail's API answered by the local stand-in,
as in the demo) on a fresh embedded warehouse under a throwaway AIGUILLAGE_HOME. It prints the wall
time of each day and of each DAG: day 1 (the monthly stock), then days 2 onwards as their median and
spread (min–max), with the peak memory of this process and of the warehouse server.

Targets on a 2-core machine: Seine-Saint-Denis daily day (day 2 onwards) <= 30 s, day 1 <= 90 s;
national first day <= 15 min, daily day <= 3 min, peak RSS < 2 GB.

    .venv/bin/python bench/bench_daily_run.py                         # 90,000 households, 5 days
    .venv/bin/python bench/bench_daily_run.py --households 5000       # a quick look
    .venv/bin/python bench/bench_daily_run.py --households 1900000 --days 2   # national volume
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

DAG_COLUMNS = ("landing_registry", "caf_ingestion", "france_travail_ingestion", "ali_ingestion",
               "departement_ingestion", "referral_warehouse", "referral_extracts")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=90_000)
    parser.add_argument("--days", type=int, default=5, help="days to run (day 1 is the monthly stock)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 10, 1))
    parser.add_argument("--seed", type=int, default=93)
    parser.add_argument("--workdir", type=Path, default=None, help="keep everything here (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return parser.parse_args()


class ServerMemory:
    """Peak resident memory of the warehouse server (postmaster and its backends), sampled every 0.5 s."""

    def __init__(self, pgdata: Path):
        self.pgdata = pgdata
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()

    def _postmaster(self) -> int | None:
        pid_file = self.pgdata / "postmaster.pid"
        try:
            return int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            pid = self._postmaster()
            if pid is None:
                continue
            children = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True, text=True)
            pids = [pid, *(int(v) for v in children.stdout.split() if v.isdigit())]
            # Proportional set size: shared buffers counted once across the backends, not once per backend.
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(p) for p in pids))


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.1f} s"
    return f"{statistics.median(values):.1f} s ({min(values):.1f}–{max(values):.1f})"


def main() -> int:
    args = _parse()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="aiguillage-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    # A throwaway home: its own embedded warehouse and Airflow metadata, nothing shared with the user's.
    os.environ["AIGUILLAGE_HOME"] = str(workdir / "home")
    os.environ.pop("AIGUILLAGE_WAREHOUSE_URL", None)
    os.environ.pop("AIGUILLAGE_PSEUDONYMISATION_KEY", None)
    os.environ.setdefault("AIGUILLAGE_TASK_RETRIES", "0")
    os.environ["AIGUILLAGE_LANDING_SETTLE_SECONDS"] = "0"  # generated files are complete

    from aiguillage import config, embedded_pg, runner, standin_api, warehouse
    from aiguillage.cli import _airflow_output_to
    from aiguillage.synth import generate

    landing, outbox = workdir / "landing", workdir / "outbox"
    started = time.monotonic()
    if not (landing / ".generated").exists():
        generate(landing, args.start, households=args.households, days=args.days, seed=args.seed)
        (landing / ".generated").write_text("ok\n")
    print(f"synthetic landing zone: {args.households:,} households, {args.days} days, "
          f"{time.monotonic() - started:.0f} s", flush=True)

    rows: list[dict] = []
    warehouse.migrate()
    pgdata = Path(embedded_pg.status(config.home_dir())["pgdata"])
    with ServerMemory(pgdata) as server_memory, standin_api.serving(), \
            _airflow_output_to(workdir / "home" / "airflow-runs.log") as terminal:
        for offset in range(args.days):
            day = args.start + timedelta(days=offset)
            day_started = time.monotonic()
            outcome = runner.run_day(day, landing, outbox)
            wall = time.monotonic() - day_started
            if not outcome.ok:
                failed = [(d.dag_id, d.state) for d in outcome.dags if d.state != "success"]
                print(f"{day}: the day did not complete: {failed}", file=terminal)
                return 1
            row = {"day": day.isoformat(), "wall": wall, **{d.dag_id: d.seconds for d in outcome.dags}}
            rows.append(row)
            print(f"day {offset + 1} {day}: {wall:6.1f} s  " + "  ".join(
                f"{name} {row.get(name, 0):.1f}" for name in DAG_COLUMNS), file=terminal, flush=True)
        process_peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                              resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)

    print()
    print(f"households {args.households:,}; {args.days} days; {os.cpu_count()} cores")
    header = ["day", "wall", *DAG_COLUMNS]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    first, daily = rows[0], rows[1:]
    print("| 1 (monthly stock) | " + " | ".join(f"{first.get(name, 0):.1f} s" for name in header[1:]) + " |")
    if daily:
        label = f"2–{len(rows)} median (min–max)" if len(rows) > 2 else "2"
        print(f"| {label} | " + " | ".join(_spread([r.get(name, 0) for r in daily]) for name in header[1:]) + " |")
    print(f"peak RSS: pipeline process {process_peak_kb / 1024:.0f} MB, "
          f"warehouse server (PSS of all backends) {server_memory.peak_kb / 1024:.0f} MB")
    if args.json:
        args.json.write_text(json.dumps({"households": args.households, "days": rows,
                                         "peak_rss_mb": {"process": process_peak_kb / 1024,
                                                         "server": server_memory.peak_kb / 1024}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
