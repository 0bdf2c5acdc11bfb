"""Benchmark: the daily cost of the referral warehouse does not grow with its history.

Generates a synthetic Seine-Saint-Denis (90,000 households by default: a monthly CAF stock on day 1,
then daily CAF and France Travail flows), runs the real daily DAGs day after day with ``aiguillage
run``'s runner (in one process, as a long-lived worker would), on a fresh embedded warehouse under
a throwaway AIGUILLAGE_HOME, and times each day's ``referral_warehouse`` DAG (one in-process dbt
build). Then it prints the times of day 1 (the monthly stock), day 2 (the first daily flow), the
last day of the history and one more day, with the ratio last day / day 2.

Targets on a 2-core machine: the added day under 60 s, and ratio <= 1.2.

    .venv/bin/python bench/bench_warehouse_days.py                     # 90,000 households, 30 + 1 days
    .venv/bin/python bench/bench_warehouse_days.py --households 5000 --days 5   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=90_000)
    parser.add_argument("--days", type=int, default=30, help="days of history before the timed extra day")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 10, 1))
    parser.add_argument("--seed", type=int, default=93)
    parser.add_argument("--workdir", type=Path, default=None, help="keep everything here (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return parser.parse_args()


def main() -> int:
    args = _parse()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="aiguillage-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    # A throwaway home: its own embedded warehouse and Airflow metadata, nothing shared with the user's.
    os.environ["AIGUILLAGE_HOME"] = str(workdir / "home")
    os.environ.pop("AIGUILLAGE_WAREHOUSE_URL", None)
    os.environ.setdefault("AIGUILLAGE_TASK_RETRIES", "0")

    from aiguillage import runner, standin_api, warehouse
    from aiguillage.cli import _airflow_output_to
    from aiguillage.synth import generate

    landing, outbox = workdir / "landing", workdir / "outbox"
    total_days = args.days + 1
    started = time.monotonic()
    if not (landing / ".generated").exists():
        generate(landing, args.start, households=args.households, days=total_days, seed=args.seed)
        (landing / ".generated").write_text("ok\n")
    print(f"synthetic landing zone: {args.households:,} households, {total_days} days, "
          f"{time.monotonic() - started:.0f} s", flush=True)

    timings: dict[str, float] = {}
    warehouse.migrate()
    # The France Travail API is the project's local stand-in, as in the demo: lookups land every day.
    with standin_api.serving(), _airflow_output_to(workdir / "home" / "airflow-runs.log") as terminal:
        for offset in range(total_days):
            day = args.start + timedelta(days=offset)
            outcome = runner.run_day(day, landing, outbox)
            if not outcome.ok:
                failed = [(d.dag_id, d.state) for d in outcome.dags if d.state != "success"]
                print(f"{day}: the day did not complete: {failed}", file=terminal)
                return 1
            seconds = {dag.dag_id: dag.seconds for dag in outcome.dags}
            timings[day.isoformat()] = seconds["referral_warehouse"]
            loads = sum(v for k, v in seconds.items() if k != "referral_warehouse")
            print(f"day {offset + 1:2d} {day}: referral_warehouse {seconds['referral_warehouse']:6.1f} s "
                  f"(ingestion DAGs {loads:5.1f} s)", file=terminal, flush=True)

    days = list(timings.values())
    day1, day2, last, extra = days[0], days[1], days[-2], days[-1]
    ratio = extra / day2
    print()
    print(f"households {args.households:,}; history {args.days} days, then one more")
    print(f"day 1 (monthly stock)     {day1:6.1f} s")
    print(f"day 2 (first daily flow)  {day2:6.1f} s")
    print(f"day {args.days} (end of history)   {last:6.1f} s")
    print(f"day {args.days + 1} (the added day)    {extra:6.1f} s   target < 60 s: {'ok' if extra < 60 else 'MISSED'}")
    print(f"ratio day {args.days + 1} / day 2        {ratio:6.2f}     target <= 1.2: {'ok' if ratio <= 1.2 else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps({"households": args.households, "days": timings, "ratio": ratio}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
