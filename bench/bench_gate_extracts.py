"""Benchmark: the quality gate and the writing of every agency's extract, against the naive gate.

Prepares (once per --workdir) a synthetic Seine-Saint-Denis day: 90,000 households by default, a
monthly CAF stock on day 1 and a daily flow on day 2, loaded and built by the real daily DAGs
(``aiguillage run``) on an embedded warehouse under a throwaway AIGUILLAGE_HOME. Then, for day 2,
each measure runs in a fresh process (so that each pays its own imports and its peak memory is its
own):

  gate      the Great Expectations gate as the DAG runs it: SQL pushed down to PostgreSQL, every
            receiving agency and the whole day, Data Docs built (GX import included)
  extracts  every receiving agency's daily movements file and full stock written (CSV + manifest)
  naive     the same suites run the naive way: each table pulled into a pandas DataFrame

Target on a 2-core machine: gate + extracts under 20 s, and the gate faster than the naive way.

    .venv/bin/python bench/bench_gate_extracts.py                                  # 90,000 households
    .venv/bin/python bench/bench_gate_extracts.py --households 5000 --workdir /tmp/b   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

CLI = Path(sys.executable).parent / "aiguillage"


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=90_000)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 11, 2))
    parser.add_argument("--seed", type=int, default=93)
    parser.add_argument("--workdir", type=Path, default=None, help="keep everything here (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--child", choices=["gate", "extracts", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--day", type=date.fromisoformat, help=argparse.SUPPRESS)
    return parser.parse_args()


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _child(kind: str, day: date, workdir: Path) -> dict:
    """One measure, in this (fresh) process. Prints its figures as one JSON line."""
    from aiguillage import warehouse
    from aiguillage.extracts.daily import receiving_agencies

    with warehouse.connect() as conn:
        agencies = [code for code, _ in receiving_agencies(conn, day)]
    out = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=workdir))
    started = time.monotonic()
    figures: dict = {"agencies": len(agencies)}
    if kind == "gate":
        from aiguillage.quality import run_gate

        gate = run_gate(day, agencies, docs_dir=out / "data_docs", run_id="bench")
        figures.update(expectations=gate["expectations_run"], failed=gate["expectations_failed"],
                       verdict=gate["day_verdict"])
    elif kind == "naive":
        from aiguillage.quality.naive import run_gate_naive

        gate = run_gate_naive(day, agencies, docs_dir=out / "data_docs")
        figures.update(expectations=gate["expectations_run"], failed=gate["expectations_failed"],
                       verdict=gate["day_verdict"])
    else:
        from aiguillage.extracts import columns
        from aiguillage.extracts.writer import write_extract

        rows = size = 0
        with warehouse.connect() as conn:
            for code in agencies:
                for fichier in (columns.MOVEMENTS, columns.STOCK):
                    written = write_extract(conn, day, code, fichier, out / code / day.isoformat(), "bench")
                    rows += written["rows"]
                    size += Path(written["csv"]).stat().st_size
        figures.update(files=2 * len(agencies), rows=rows, megabytes=round(size / 1e6, 1))
    figures.update(seconds=round(time.monotonic() - started, 2), peak_rss_mb=round(_peak_rss_mb(), 0))
    return figures


def _measure(kind: str, day: date, workdir: Path) -> dict:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--day", day.isoformat(), "--workdir", str(workdir)],
        capture_output=True, text=True, env=os.environ.copy(),
    )
    if result.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{result.stderr[-4000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["process_seconds"] = round(time.monotonic() - started, 2)
    return figures


def _prepare(args, workdir: Path) -> date:
    """Two days of synthetic deliveries, loaded and built by the real DAGs (skipped when already done)."""
    landing, outbox = workdir / "landing", workdir / "outbox"
    day2 = args.start + timedelta(days=1)
    marker = workdir / f".built-{day2.isoformat()}"
    if marker.exists():
        return day2
    started = time.monotonic()
    subprocess.run([str(CLI), "synth", "--date", args.start.isoformat(), "--households", str(args.households),
                    "--days", "2", "--seed", str(args.seed), "--landing", str(landing)], check=True)
    for day in (args.start, day2):
        # The extracts DAG's result does not matter here: the benchmark measures its parts itself.
        subprocess.run([str(CLI), "run", "--date", day.isoformat(), "--landing", str(landing), "--outbox",
                        str(outbox), "--france-travail-standin", "--only",
                        "landing_registry,caf_ingestion,france_travail_ingestion,ali_ingestion,referral_warehouse"],
                       check=True)
    print(f"prepared {args.households:,} households over 2 days in {time.monotonic() - started:.0f} s", flush=True)
    marker.write_text("ok\n")
    return day2


def main() -> int:
    args = _parse()
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="aiguillage-bench-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    # A throwaway home: its own embedded warehouse and Airflow metadata, nothing shared with the user's.
    os.environ["AIGUILLAGE_HOME"] = str(workdir / "home")
    os.environ.pop("AIGUILLAGE_WAREHOUSE_URL", None)
    os.environ.setdefault("AIGUILLAGE_TASK_RETRIES", "0")
    if args.child:
        print(json.dumps(_child(args.child, args.day, workdir)))
        return 0

    from aiguillage import embedded_pg

    day = _prepare(args, workdir)
    # One server for the three measures, so that none of them pays its start.
    embedded_pg.pin(Path(os.environ["AIGUILLAGE_HOME"]))
    try:
        figures = {kind: _measure(kind, day, workdir) for kind in ("gate", "extracts", "naive")}
    finally:
        embedded_pg.stop(Path(os.environ["AIGUILLAGE_HOME"]))
    gate, extracts, naive = figures["gate"], figures["extracts"], figures["naive"]
    total = gate["seconds"] + extracts["seconds"]
    print(f"day {day}, {args.households:,} households, {gate['agencies']} receiving agencies")
    print(f"  gate (SQL pushed down, GX import included): {gate['seconds']:6.2f} s, "
          f"{gate['expectations']} expectations, verdict {gate['verdict']}, peak {gate['peak_rss_mb']:.0f} MB")
    print(f"  extracts ({extracts['files']} files, {extracts['rows']:,} lines, {extracts['megabytes']} MB):"
          f" {extracts['seconds']:6.2f} s, peak {extracts['peak_rss_mb']:.0f} MB")
    print(f"  gate + extracts: {total:6.2f} s (target < 20 s: {'met' if total < 20 else 'NOT met'})")
    print(f"  naive gate (tables pulled into pandas): {naive['seconds']:6.2f} s, peak {naive['peak_rss_mb']:.0f} MB;"
          f" gate is {naive['seconds'] / gate['seconds']:.1f}x faster")
    if args.json:
        args.json.write_text(json.dumps({"day": day.isoformat(), "households": args.households, **figures}, indent=2))
    return 0 if total < 20 and gate["seconds"] < naive["seconds"] else 1


if __name__ == "__main__":
    sys.exit(main())
