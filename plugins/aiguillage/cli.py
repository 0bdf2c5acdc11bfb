"""The ``aiguillage`` command: a thin layer over the package and the DAGs.

Heavy modules (Airflow, psycopg, lxml) are imported inside the commands that need them, so that
``aiguillage --help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from aiguillage import config


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from error


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a positive integer")
    return value


def _say(message: str) -> None:
    print(message, flush=True)


@contextlib.contextmanager
def _airflow_output_to(log_file: Path):
    """Send everything Airflow prints to ``log_file``; keep the terminal for our own report.

    File descriptors are redirected (not just sys.stdout) because Airflow's structured logging
    and its subprocesses write to them directly.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    terminal = os.fdopen(os.dup(1), "w", buffering=1)
    saved_err = os.dup(2)
    with open(log_file, "a") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(terminal.fileno(), 1)
            os.dup2(saved_err, 2)
            os.close(saved_err)
            terminal.close()


def cmd_synth(args: argparse.Namespace) -> int:
    from aiguillage.synth import generate

    started = time.monotonic()
    summary = generate(
        args.landing, args.date, households=args.households, days=args.days, seed=args.seed,
        defects=args.defects, progress=_say,
    )
    _say(f"Wrote {len(summary.files)} files for {summary.households:,} households "
         f"({summary.persons:,} persons) in {time.monotonic() - started:.1f} s under {args.landing}")
    for defect in summary.defects:
        _say(f"  defect: {defect}")
    return 0


def _run_days(days: list[date], landing: Path, outbox: Path, retries: int,
              france_travail_standin: bool = False, stock: list[str] | None = None,
              dag_ids: tuple[str, ...] | None = None) -> tuple[bool, list]:
    """Run each day in order; print a report per day. Returns (all fine, [(day, files)])."""
    os.environ[config.RETRIES_VAR] = str(retries)
    if france_travail_standin:
        from aiguillage import standin_api

        with standin_api.serving() as url:
            _say(f"France Travail API: the project's local stand-in at {url}")
            return _run_days(days, landing, outbox, retries, stock=stock, dag_ids=dag_ids)
    from aiguillage import report, runner, warehouse
    from aiguillage.france_travail.api_sync import lookups_for_day
    from aiguillage.landing.registry import files_for_day

    log_file = config.home_dir() / "logs" / "airflow-runs.log"
    url = config.warehouse_url()
    where = "embedded PostgreSQL" if config.configured_warehouse_url() is None else config.redact_url(url)
    try:
        warehouse.migrate()
    except Exception as error:  # psycopg.OperationalError and friends: say it plainly, once
        _say(f"aiguillage: cannot reach the warehouse {config.redact_url(url)}: {str(error).strip()}")
        return False, []
    _say(f"Warehouse: {where}. Airflow output goes to {log_file}")
    all_ok = True
    recorded = []
    for day in days:
        with _airflow_output_to(log_file) as terminal:
            outcome = runner.run_day(
                day, landing, outbox, stock=stock, dag_ids=dag_ids or runner.DAILY_DAGS,
                progress=lambda message, out=terminal: print("  " + message, file=out),
            )
        with warehouse.connect() as conn:
            scanned = outcome.dags and outcome.dags[0].dag_id == "landing_registry"
            files = [] if scanned and outcome.dags[0].state != "success" else files_for_day(conn, day)
            lookups = lookups_for_day(conn, day)
            extracts_run = next((dag for dag in outcome.dags if dag.dag_id == "referral_extracts"), None)
            # What this run decided for each agency (nothing when the extracts were not run this time).
            extracts = report.extract_outcomes(conn, day, extracts_run.started_at) if extracts_run else []
        recorded.append((day, files))
        api_configured = "AIRFLOW_CONN_FRANCE_TRAVAIL_API" in os.environ or bool(lookups)
        for line in [*report.day_lines(outcome, files), *report.api_lines(lookups, api_configured),
                     *report.extract_lines(extracts, outbox, day)]:
            _say(line)
        problems = report.problems(outcome, files) + report.extract_problems(extracts)
        if problems:
            all_ok = False
            _say(f"  Day {day} is NOT complete:")
            for problem in problems:
                _say(f"    - {problem}")
            _say(f"  Details: {log_file}")
    return all_ok, recorded


def _stock_codes(text: str) -> list[str]:
    codes = [code.strip().upper() for code in text.split(",") if code.strip()]
    if not codes:
        raise argparse.ArgumentTypeError("give agency codes separated by commas, or 'all'")
    return codes


def _dag_ids(text: str) -> tuple[str, ...]:
    from aiguillage.runner import DAILY_DAGS

    wanted = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in wanted if name not in DAILY_DAGS]
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(f"unknown DAG {', '.join(unknown) or text!r}; the day's DAGs are: "
                                         f"{', '.join(DAILY_DAGS)}")
    return tuple(name for name in DAILY_DAGS if name in wanted)  # always in the day's order


def _stock_known(stock: list[str], day: date) -> bool:
    """Check the agencies asked for a full stock before running anything (when the warehouse knows them)."""
    from aiguillage import warehouse
    from aiguillage.extracts.daily import receiving_agencies, requested_stock

    try:
        with warehouse.connect() as conn:
            if conn.execute("SELECT to_regclass('referentiel.destinations')").fetchone()[0] is None:
                return True  # first day: the reference data is loaded by the run itself
            requested_stock(stock, [code for code, _ in receiving_agencies(conn, day)])
    except ValueError as error:
        _say(f"aiguillage run: {error}")
        return False
    return True


def cmd_run(args: argparse.Namespace) -> int:
    landing = args.landing.resolve()
    if not landing.is_dir():
        _say(f"aiguillage run: landing zone {landing} does not exist")
        return 2
    if args.stock and not _stock_known(args.stock, args.date):
        return 2
    args.outbox.mkdir(parents=True, exist_ok=True)
    ok, _ = _run_days([args.date], landing, args.outbox.resolve(), args.retries, args.france_travail_standin,
                      stock=args.stock, dag_ids=args.only)
    _say("Result: the day ran completely." if ok else "Result: the day did NOT run completely (see above).")
    return 0 if ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from aiguillage import report, warehouse
    from aiguillage.synth import generate

    workdir = (args.workdir or config.home_dir() / "demo").resolve()
    landing, outbox = workdir / "landing", workdir / "outbox"
    _say(f"Aiguillage demo: {args.households:,} households over {args.days} days from {args.date}, "
         f"files under {workdir}")
    started = time.monotonic()
    _say("Step 1/2: generating synthetic partner files")
    summary = generate(landing, args.date, households=args.households, days=args.days, seed=args.seed,
                       defects=args.defects, progress=lambda message: _say("  " + message))
    _say(f"  {len(summary.files)} files, {summary.persons:,} persons")
    _say("Step 2/2: running the daily pipeline for each day")
    days = [args.date + timedelta(days=offset) for offset in range(args.days)]
    ok, recorded = _run_days(days, landing, outbox, retries=0, france_travail_standin=True)
    _say("")
    _say("Summary")
    for line in report.totals_lines(recorded):
        _say("  " + line)
    with warehouse.connect() as conn:
        for line in report.referral_lines(conn):
            _say("  " + line)
    _say("  Landing registry: table registry.landing_file of the warehouse "
         "(`./aiguillage warehouse psql` to look at it)")
    _say(f"  Landing zone: {landing}")
    _say(f"  Outbox (agency extracts): {outbox}")
    _say(f"Demo {'finished' if ok else 'finished WITH PROBLEMS'} in {time.monotonic() - started:.0f} s.")
    from aiguillage.run_report import html_path

    last_report = html_path(outbox, days[-1])
    if last_report.is_file():
        _say(f"Run report of the last day: {last_report}")
    return 0 if ok else 1


def cmd_warehouse(args: argparse.Namespace) -> int:
    from aiguillage import embedded_pg, warehouse

    home = config.home_dir()
    configured = config.configured_warehouse_url()
    if args.action in ("start", "stop", "status") and configured:
        _say(f"The warehouse is configured by {config.WAREHOUSE_URL_VAR} ({config.redact_url(configured)}); "
             "it is not managed by Aiguillage.")
        return 0 if args.action == "status" else 2
    if args.action == "start":
        server = embedded_pg.pin(home)
        _say(f"Embedded warehouse running: {server.url}\nStop it with: aiguillage warehouse stop")
    elif args.action == "stop":
        _say("Embedded warehouse stopped." if embedded_pg.stop(home) else "Embedded warehouse was not running.")
    elif args.action == "status":
        for key, value in embedded_pg.status(home).items():
            _say(f"{key:<12} {value}")
    elif args.action == "url":
        _say(config.warehouse_url())
    elif args.action == "migrate":
        applied = warehouse.migrate()
        _say(f"Applied: {', '.join(applied)}" if applied else "Warehouse schema up to date.")
    elif args.action == "psql":
        from aiguillage.embedded_pg import _bin

        url = config.warehouse_url()
        import subprocess

        return subprocess.call([_bin("psql"), url])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiguillage",
        description="Daily referral pipeline for RSA beneficiaries in Seine-Saint-Denis.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    synth = commands.add_parser("synth", help="write synthetic partner files into a landing zone")
    synth.add_argument("--date", type=_day, required=True, help="first day (monthly CAF flow), YYYY-MM-DD")
    synth.add_argument("--households", type=_positive, required=True, help="number of RSA households")
    synth.add_argument("--days", type=_positive, default=1, help="days of flows, the first one included")
    synth.add_argument("--seed", type=int, default=93, help="same seed, same bytes")
    synth.add_argument("--landing", type=Path, required=True, help="landing zone folder to write into")
    synth.add_argument("--defects", action="store_true",
                       help="add the faults real deliveries have (truncated file, bad trailer, bad NIR, ...)")
    synth.set_defaults(handler=cmd_synth)

    run = commands.add_parser("run", help="run the day's pipeline (the real DAGs, in-process)")
    run.add_argument("--date", type=_day, required=True, help="logical date, YYYY-MM-DD")
    run.add_argument("--landing", type=Path, required=True, help="landing zone folder")
    run.add_argument("--outbox", type=Path, required=True, help="where agency extracts are written")
    run.add_argument("--retries", type=int, default=0,
                     help="retries per failed task (default 0: fail fast when run by hand)")
    run.add_argument("--france-travail-standin", action="store_true",
                     help="answer France Travail API lookups from the project's local stand-in "
                          "(otherwise the Airflow connection france_travail_api is used, or lookups are skipped)")
    run.add_argument("--stock", type=_stock_codes, default=None, metavar="CODES",
                     help="also deliver the full stock of open referrals to these agencies "
                          "(comma-separated codes, e.g. ALI05,SSD12, or 'all'); agencies served for the "
                          "first time always get it")
    run.add_argument("--only", type=_dag_ids, default=None, metavar="DAGS",
                     help="run only these DAGs of the day (comma-separated, run in the day's order), e.g. "
                          "referral_extracts to re-deliver after fixing a destination")
    run.set_defaults(handler=cmd_run)

    demo = commands.add_parser("demo", help="generate a small landing zone and run the pipeline on it")
    demo.add_argument("--date", type=_day, default=date(2026, 11, 2), help="first day (default 2026-11-02)")
    demo.add_argument("--households", type=_positive, default=5000)
    demo.add_argument("--days", type=_positive, default=3)
    demo.add_argument("--seed", type=int, default=93)
    demo.add_argument("--defects", action="store_true", help="include the faults of real deliveries")
    demo.add_argument("--workdir", type=Path, default=None,
                      help="where landing/ and outbox/ go (default $AIGUILLAGE_HOME/demo)")
    demo.set_defaults(handler=cmd_demo)

    wh = commands.add_parser("warehouse", help="the warehouse: embedded server life cycle, schema, psql")
    wh.add_argument("action", choices=["start", "stop", "status", "url", "migrate", "psql"])
    wh.set_defaults(handler=cmd_warehouse)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
