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
from datetime import date, datetime, timedelta
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
    """Print one line of the command's output. Control characters are escaped: a line may name a
    partner file, and a file name can hold a line break (a forged line) or a terminal escape."""
    from aiguillage.landing.names import printable

    print(printable(message), flush=True)


# Exit code of a command refused because another run holds the warehouse: sysexits' EX_TEMPFAIL, "try
# again later", so that a wrapper script can tell it from a failure.
BUSY_EXIT = 75
# The claims this command holds (aiguillage.run_lock): kept referenced, so held until the process ends.
_CLAIMS: list = []


def _before_earliest(command: str, day: date) -> bool:
    """Say so when ``day`` is before the earliest day any DAG runs for (dag_defaults.START_DATE)."""
    from aiguillage.dag_defaults import earliest_day_refusal

    refused = earliest_day_refusal(day)
    if refused:
        _say(f"aiguillage {command}: refused: {refused}")
    return refused is not None


def _claim(command: str, days: list[date], dag_ids, *, works: tuple[str, ...] = ()) -> int | None:
    """Claim the DAGs this command runs on the warehouse until it ends (aiguillage.run_lock). None when
    claimed; otherwise the exit code, after one sentence naming the run that holds them."""
    from aiguillage import run_lock

    url = None
    try:
        url = config.warehouse_url()
        _CLAIMS.append(run_lock.claim(command, days, dag_ids, works=works))
    except run_lock.RunRefused as refused:
        _say(f"aiguillage {command}: refused: {refused}")
        return BUSY_EXIT
    except Exception as error:  # psycopg.OperationalError and friends: say it plainly, once
        where = config.redact_url(url) if url else "(embedded)"
        _say(f"aiguillage {command}: cannot reach the warehouse {where}: {str(error).strip()}")
        return 1
    return None


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
              dag_ids: tuple[str, ...] | None = None, halt: list | None = None,
              between_days=None) -> tuple[bool, list]:
    """Run each day in order; print a report per day. Returns (all fine, [(day, files)]).

    ``halt``: when given, stop after the first day on which a DAG did not succeed (the next days
    would be built on a wrong warehouse) and append (that day, what failed) to it.
    ``between_days``: called with each day but the last once it has run (the demo's orientation team)."""
    os.environ[config.RETRIES_VAR] = str(retries)
    if france_travail_standin:
        from aiguillage import standin_api

        with standin_api.serving() as url:
            _say(f"France Travail API: the project's local stand-in at {url}")
            return _run_days(days, landing, outbox, retries, stock=stock, dag_ids=dag_ids, halt=halt,
                             between_days=between_days)
    from aiguillage import report, runner, warehouse
    from aiguillage.france_travail.api_sync import lookups_for_day
    from aiguillage.france_travail.send_orientations import summary_for_day as sends_for_day
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
        try:
            with _airflow_output_to(log_file) as terminal:
                outcome = runner.run_day(
                    day, landing, outbox, stock=stock, dag_ids=dag_ids or runner.DAILY_DAGS,
                    progress=lambda message, out=terminal: print("  " + message, file=out),
                )
        except Exception as error:  # the DAGs could not even start (their files fail to import...)
            if halt is None:
                raise
            from aiguillage.observability.task_runs import error_message, failure_line, original_error_type

            cause = failure_line(original_error_type(error), error_message(error))
            halt.append((day, [f"the day's DAGs could not run: {cause}"]))
            return False, recorded
        with warehouse.connect() as conn:
            scanned = outcome.dags and outcome.dags[0].dag_id == "landing_registry"
            files = [] if scanned and outcome.dags[0].state != "success" else files_for_day(conn, day)
            lookups = lookups_for_day(conn, day)
            sends = sends_for_day(conn, day)
            extracts_run = next((dag for dag in outcome.dags if dag.dag_id == "referral_extracts"), None)
            # What this run decided for each agency (nothing when the extracts were not run this time).
            extracts = report.extract_outcomes(conn, day, extracts_run.started_at) if extracts_run else []
            # The team's side of the day, once the extracts of this run read the day's warehouse.
            proposals = report.proposal_lines(conn, day, outbox) if extracts_run and extracts_run.started_at else []
        recorded.append((day, files))
        api_configured = "AIRFLOW_CONN_FRANCE_TRAVAIL_API" in os.environ or bool(lookups) or bool(sends)
        for line in [*report.day_lines(outcome, files), *report.api_lines(lookups, api_configured, sends),
                     *report.extract_lines(extracts, outbox, day), *proposals]:
            _say(line)
        problems = report.problems(outcome, files) + report.extract_problems(extracts)
        if problems:
            all_ok = False
            _say(f"  Day {day} is NOT complete:")
            for problem in problems:
                _say(f"    - {problem}")
            _say(f"  Details: {log_file}")
        if halt is not None and not outcome.ok:
            halt.append((day, report.problems(outcome, [])))
            break
        if between_days is not None and day != days[-1]:
            between_days(day)
    return all_ok, recorded


def _stock_codes(text: str) -> list[str]:
    codes = [code.strip().upper() for code in text.split(",") if code.strip()]
    if not codes:
        raise argparse.ArgumentTypeError("give agency codes separated by commas, or 'all'")
    return codes


def _agency_codes(text: str) -> list[str]:
    from aiguillage.landing.layout import AGENCY_CODE

    codes = [code.strip().upper() for code in text.split(",") if code.strip()]
    wrong = [code for code in codes if not AGENCY_CODE.match(code)]
    if wrong:
        raise argparse.ArgumentTypeError(f"{', '.join(wrong)}: not an agency code (ALI01 to ALI22)")
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
    from aiguillage.runner import DAILY_DAGS

    if _before_earliest("run", args.date):
        return 2
    landing = args.landing.resolve()
    if not landing.is_dir():
        _say(f"aiguillage run: landing zone {landing} does not exist")
        return 2
    if args.stock and not _stock_known(args.stock, args.date):
        return 2
    busy = _claim("run", [args.date], args.only or DAILY_DAGS)
    if busy is not None:
        return busy
    if args.settle is not None:  # this run's scan only (the DAGs run in this process)
        os.environ[config.LANDING_SETTLE_VAR] = str(args.settle)
    args.outbox.mkdir(parents=True, exist_ok=True)
    ok, _ = _run_days([args.date], landing, args.outbox.resolve(), args.retries, args.france_travail_standin,
                      stock=args.stock, dag_ids=args.only)
    _say("Result: the day ran completely." if ok else "Result: the day did NOT run completely (see above).")
    return 0 if ok else 1


def _latest_built_day(command: str) -> tuple[bool, date | None]:
    """(reachable, the latest day the warehouse holds); says why when the warehouse cannot be read."""
    from aiguillage import warehouse

    url = config.warehouse_url()
    try:
        with warehouse.connect() as conn:
            return True, warehouse.latest_referral_day(conn)
    except Exception as error:  # psycopg.OperationalError and friends: say it plainly, once
        _say(f"aiguillage {command}: cannot reach the warehouse {config.redact_url(url)}: {str(error).strip()}")
        return False, None


def _backfill_plan(landing: Path, days: list[date]) -> int:
    from aiguillage import backfill, warehouse

    with warehouse.connect() as conn:
        plan = backfill.plan(landing, days, conn)
    _say(f"Backfill plan, {days[0]} to {days[-1]} ({len(days)} days); nothing is changed:")
    for line in backfill.plan_lines(plan):
        _say("  " + line)
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from aiguillage import backfill, runner

    landing = args.landing.resolve()
    if not landing.is_dir():
        _say(f"aiguillage backfill: landing zone {landing} does not exist")
        return 2
    try:
        days = backfill.days_between(args.start, args.end)
    except ValueError as error:
        _say(f"aiguillage backfill: {error}")
        return 2
    if _before_earliest("backfill", days[0]):
        return 2
    reachable, latest = _latest_built_day("backfill")
    if not reachable:
        return 1
    refused = backfill.refusal(days[0], latest)
    if refused:
        _say(f"aiguillage backfill: refused: {refused}")
        return 2
    if args.dry_run:
        return _backfill_plan(landing, days)
    if args.stock and not _stock_known(args.stock, days[-1]):
        return 2
    busy = _claim("backfill", days, args.only or runner.DAILY_DAGS)
    if busy is not None:
        return busy
    args.outbox.mkdir(parents=True, exist_ok=True)
    outbox = args.outbox.resolve()
    _say(f"Backfill: {len(days)} day(s) from {days[0]} to {days[-1]}, in order, stopping at the first day "
         f"that fails")
    started = time.monotonic()
    halted: list = []
    # The full stock asked for goes with the range's last day: the list the agency holds afterwards.
    runs = [(days, None)] if not args.stock else [(days[:-1], None), (days[-1:], args.stock)]
    recorded: list = []
    for run_days, stock in runs:
        if run_days and not halted:
            _, done = _run_days(run_days, landing, outbox, args.retries, args.france_travail_standin,
                                stock=stock, dag_ids=args.only, halt=halted)
            recorded += done
    return _backfill_result(days, recorded, halted, time.monotonic() - started, args)


def _backfill_result(days: list[date], recorded: list, halted: list, seconds: float,
                     args: argparse.Namespace) -> int:
    from aiguillage import backfill, report, warehouse

    _say("")
    _say(f"Backfill summary ({seconds:.0f} s)")
    for line in report.totals_lines(recorded):
        _say("  " + line)
    if halted:
        day, problems = halted[0]
        left = [d for d in days if d > day]
        _say(f"  STOPPED at {day}: {'; '.join(problems) or 'the day did not run completely'}")
        _say(f"  Not run: {', '.join(map(str, left)) if left else 'no later day in the range'} "
             f"(they would be built on a wrong warehouse)")
        _say(f"  Fix the cause (details above and in {config.home_dir() / 'logs' / 'airflow-runs.log'}), then "
             f"resume: aiguillage backfill --from {day} --to {days[-1]} --landing {args.landing} "
             f"--outbox {args.outbox}")
        return 1
    with warehouse.connect() as conn:
        quarantined = backfill.still_quarantined(conn, days)
    if quarantined:
        _say(f"  Files still quarantined (each waits for the partner's corrected file): {len(quarantined)}")
        for day, path, reason in quarantined:
            _say(f"    {day} {path}: {reason}")
        _say("Result: every day ran, but some files were quarantined (see above).")
        return 1
    _say(f"Result: the {len(days)} day(s) ran completely.")
    return 0


# The DAGs that rebuild the warehouse and deliver the day: left out of a replay of a day already delivered.
REBUILD_DAGS = ("referral_warehouse", "referral_extracts")


def cmd_replay(args: argparse.Namespace) -> int:
    """Run a day again after a partner re-sent a corrected file, refusing when later days are built."""
    from aiguillage import backfill, runner, warehouse
    from aiguillage.extracts.delivery import delivered_agencies

    if _before_earliest("replay", args.date):
        return 2
    landing = args.landing.resolve()
    if not landing.is_dir():
        _say(f"aiguillage replay: landing zone {landing} does not exist")
        return 2
    busy = _claim("replay", [args.date], runner.DAILY_DAGS)
    if busy is not None:
        return busy
    reachable, latest = _latest_built_day("replay")
    if not reachable:
        return 1
    if latest is not None and args.date < latest:
        _say(f"aiguillage replay: refused: the warehouse is already built up to {latest}, after {args.date}. "
             f"Rebuilding {args.date} now would rewrite the referrals' history out of order, so nothing was "
             f"run. The corrected file is loaded by the next day's run (it is delivered on or before that "
             f"day): its data enters the warehouse then, and its movements go into that day's extracts. "
             f"For {args.date} itself to be right in the history, rebuild on an empty warehouse from the "
             f"first day (runbook: \"Restore after losing the warehouse\").")
        return 2
    with warehouse.connect() as conn:
        plan = backfill.plan(landing, [args.date], conn)
        served = delivered_agencies(conn, args.date) if latest is not None else []
    _say(f"Replay of {args.date}: the files it will record now")
    for line in backfill.plan_lines(plan):
        _say("  " + line)
    dag_ids = None
    if served and not args.rebuild:
        # The agencies may have acted on the day's files: the day is not rebuilt, so they do not change.
        dag_ids = tuple(dag_id for dag_id in runner.DAILY_DAGS if dag_id not in REBUILD_DAGS)
        _say(f"  {len(served)} agencies already received their extract of {args.date}: the day is not rebuilt, "
             f"so their files stay as they are. The corrected file is recorded and loaded now; its data "
             f"enters the warehouse, and its movements the extracts, with the next day's run.")
    elif served:
        _say(f"  --rebuild: {len(served)} agencies already received their extract of {args.date}; an agency whose "
             f"lines change gets a refusal (its file is never replaced silently) and the day fails.")
    args.outbox.mkdir(parents=True, exist_ok=True)
    ok, _ = _run_days([args.date], landing, args.outbox.resolve(), args.retries, args.france_travail_standin,
                      dag_ids=dag_ids)
    if ok and dag_ids:
        _say(f"Result: the corrected files of {args.date} are loaded; run the next day as usual.")
    else:
        _say("Result: the day was replayed completely." if ok else "Result: the replay did NOT run completely.")
    return 0 if ok else 1


def cmd_redeliver(args: argparse.Namespace) -> int:
    from aiguillage import warehouse
    from aiguillage.extracts.delivery import RedeliveryRefused, redeliver
    from aiguillage.extracts.destinations import DeliveryConfigError, load_destinations

    outbox = args.outbox.resolve()
    fichiers = None if args.fichier == "all" else (args.fichier,)
    formats_wanted = None if args.format == "all" else (args.format,)
    # The re-delivery is the work of the agency's delivery task, done here: held as that task holds it.
    busy = _claim("redeliver", [args.date], ("referral_extracts",), works=(f"referral_extracts/{args.agency}",))
    if busy is not None:
        return busy
    try:
        with warehouse.connect() as conn:
            known = conn.execute("SELECT to_regclass('referentiel.destinations')").fetchone()[0] is not None
            destinations = load_destinations(args.date, conn=conn if known else None)
            destination = destinations.get(args.agency)
            if destination is None:
                _say(f"aiguillage redeliver: {args.agency} receives no extract on {args.date}")
                return 2
            if destination.method == "sftp":
                from aiguillage import runner

                runner.prepare_environment()  # the SFTP connection is read the way Airflow reads it
            placed = redeliver(conn, args.date, args.agency, destination, outbox, fichiers=fichiers,
                               formats_wanted=formats_wanted)
    except (RedeliveryRefused, DeliveryConfigError) as error:
        _say(f"aiguillage redeliver: refused: {error}")
        return 1
    for item in placed:
        _say(f"Re-delivered {item['fichier']} of {args.agency} for {args.date} unchanged: {item['rows']} rows, "
             f"sha256 {item['sha256']}, to {item['target']}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from aiguillage import report, runner, warehouse
    from aiguillage.synth import generate

    if _before_earliest("demo", args.date):
        return 2
    days = [args.date + timedelta(days=offset) for offset in range(args.days)]
    busy = _claim("demo", days, runner.DAILY_DAGS)
    if busy is not None:
        return busy
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
    # The demo wrote and closed every file itself: nothing is still being uploaded, no need to wait.
    os.environ[config.LANDING_SETTLE_VAR] = "0"
    if args.webrsa_agencies:
        _webrsa_delivery(workdir, args.webrsa_agencies)
    ok, recorded = _run_days(days, landing, outbox, retries=0, france_travail_standin=True,
                             between_days=lambda day: _between_days(outbox, landing, day, args))
    _say("")
    _say("Summary")
    for line in report.totals_lines(recorded):
        _say("  " + line)
    with warehouse.connect() as conn:
        for line in report.referral_lines(conn):
            _say("  " + line)
        waiting = report.waiting_total(conn)
    if waiting is not None:
        _say(f"  Proposals waiting for the orientation team's decision: {waiting:,} (list: "
             f"{outbox}/_departement/{days[-1]}/propositions_en_attente.csv)")
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


def _between_days(outbox: Path, landing: Path, day: date, args: argparse.Namespace) -> None:
    """What the demo's partners do once ``day`` ran: the team decides, then the agencies report."""
    _team_decides(outbox, landing, day, args.seed)
    if args.webrsa_agencies:  # the Département's référentiel names their counsellors (registry.webrsa_referent)
        from aiguillage import warehouse
        from aiguillage.synth.agency_reports import publish_counsellors

        with warehouse.connect() as conn:
            publish_counsellors(conn, args.seed, frozenset(args.webrsa_agencies))
    _agencies_report(outbox, landing, day, args.seed, args.webrsa_agencies)


def _webrsa_delivery(workdir: Path, codes: list[str]) -> None:
    """The demo's agencies that speak the WebRSA exchange receive its export beside the CSV, unless a
    delivery configuration is set already (then it rules)."""
    from aiguillage.extracts.destinations import CONFIG_VAR

    if os.environ.get(CONFIG_VAR):
        _say(f"  WebRSA agencies {', '.join(codes)}: the delivery configuration {os.environ[CONFIG_VAR]} says "
             f"what they receive")
        return
    path = workdir / "delivery.toml"
    path.write_text("".join(f'[destinations.{code}]\nmethod = "outbox"\nformats = ["csv", "webrsa"]\n\n'
                            for code in codes), encoding="utf-8")
    os.environ[CONFIG_VAR] = str(path)
    _say(f"  WebRSA agencies {', '.join(codes)}: they receive the WebRSA export too ({path})")


def _agencies_report(outbox: Path, landing: Path, day: date, seed: int, webrsa_agencies: list[str]) -> None:
    """The synthetic agencies' reports of the next day, from the extracts they were delivered."""
    from aiguillage.synth.agency_reports import write_agency_reports

    written = write_agency_reports(outbox, landing, day, seed, xml_agencies=frozenset(webrsa_agencies))
    events = written.events()
    shown = ", ".join(f"{event} {count}" for event, count in sorted(events.items())) or "nothing to report"
    bad = sum(len(report.bad_lines) for report in written.reports)
    _say(f"  Agencies (synthetic): {len(written.reports)} report(s) for {day + timedelta(days=1)}: {shown}"
         + (f"; {bad} line(s) an agency should not have sent" if bad else ""))


def cmd_agency_reports(args: argparse.Namespace) -> int:
    if not args.outbox.is_dir():
        _say(f"aiguillage agency-reports: outbox {args.outbox} does not exist")
        return 2
    _agencies_report(args.outbox, args.landing, args.date, args.seed, args.webrsa_agencies)
    return 0


def _team_decides(outbox: Path, landing: Path, day: date, seed: int) -> None:
    """The demo's orientation team: it answers the list of ``day`` with the next day's decisions file."""
    from aiguillage.synth.decisions import write_decisions

    written = write_decisions(outbox, landing, day, seed)
    if written.path is None:
        _say(f"  Orientation team: no list of proposals for {day}, no decisions file written")
        return
    shown = ", ".join(f"{decision} {n}" for decision, n in sorted(written.decided.items())) or "nothing decided"
    _say(f"  Orientation team (synthetic): {written.read} proposal(s) read, {shown};"
         f" decisions file {written.path.relative_to(landing)} for the next day")


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
        _say(f"Embedded warehouse running: {server.url}")
        _say("Stop it with: aiguillage warehouse stop")
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


def cmd_roles(args: argparse.Namespace) -> int:
    from aiguillage.roles import roles_command

    return roles_command(args.agencies)


def cmd_retention(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from aiguillage.dag_defaults import TIMEZONE
    from aiguillage.retention.command import retention_command

    as_of = args.as_of or datetime.now(ZoneInfo(TIMEZONE)).date()
    # The purge runs here, not through its DAG's task: it holds the run lock that task would hold.
    busy = _claim("retention", [as_of], ("rgpd_retention",), works=("rgpd_retention",))
    if busy is not None:
        return busy
    return retention_command(as_of, args.outbox, args.dry_run)


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
    run.add_argument("--settle", type=int, default=None, metavar="SECONDS",
                     help="read landing files left unchanged for this long (default: "
                          "AIGUILLAGE_LANDING_SETTLE_SECONDS, else 60); 0 when every file is known to be complete")
    run.set_defaults(handler=cmd_run)

    backfill = commands.add_parser(
        "backfill", help="run every day of a range in order, as `run` does, stopping at the first day that fails")
    backfill.add_argument("--from", dest="start", type=_day, required=True, metavar="YYYY-MM-DD",
                          help="first day of the range")
    backfill.add_argument("--to", dest="end", type=_day, required=True, metavar="YYYY-MM-DD",
                          help="last day of the range (included)")
    backfill.add_argument("--landing", type=Path, required=True, help="landing zone folder")
    backfill.add_argument("--outbox", type=Path, required=True, help="where agency extracts are written")
    backfill.add_argument("--retries", type=int, default=0, help="retries per failed task (default 0)")
    backfill.add_argument("--france-travail-standin", action="store_true",
                          help="answer France Travail API lookups from the project's local stand-in")
    backfill.add_argument("--stock", type=_stock_codes, default=None, metavar="CODES",
                          help="also deliver the full stock of open referrals to these agencies with the "
                               "range's last day (comma-separated codes, or 'all')")
    backfill.add_argument("--only", type=_dag_ids, default=None, metavar="DAGS",
                          help="run only these DAGs each day, e.g. every DAG but referral_extracts to rebuild "
                               "past days without delivering them again (restore)")
    backfill.add_argument("--dry-run", action="store_true",
                          help="print the days and the files each day would record; change nothing")
    backfill.set_defaults(handler=cmd_backfill)

    replay = commands.add_parser("replay", help="run a day again after a partner re-sent a corrected file "
                                                "(refused when later days are already built)")
    replay.add_argument("--date", type=_day, required=True, help="the day to replay, YYYY-MM-DD")
    replay.add_argument("--landing", type=Path, required=True, help="landing zone folder")
    replay.add_argument("--outbox", type=Path, required=True, help="where agency extracts are written")
    replay.add_argument("--retries", type=int, default=0, help="retries per failed task (default 0)")
    replay.add_argument("--france-travail-standin", action="store_true",
                        help="answer France Travail API lookups from the project's local stand-in")
    replay.add_argument("--rebuild", action="store_true",
                        help="rebuild and deliver the day even when agencies already received its extract "
                             "(an agency whose lines change is refused, never replaced)")
    replay.set_defaults(handler=cmd_replay)

    redeliver = commands.add_parser("redeliver", help="place again, unchanged, an agency's extract already "
                                                      "delivered (from the outbox's archive)")
    redeliver.add_argument("--agency", type=str.upper, required=True, metavar="CODE", help="e.g. ALI05")
    redeliver.add_argument("--date", type=_day, required=True, help="the extract's day, YYYY-MM-DD")
    redeliver.add_argument("--outbox", type=Path, required=True, help="the outbox (its _archive/ holds the bytes)")
    redeliver.add_argument("--fichier", choices=["all", "mouvements", "stock"], default="all",
                           help="which file of the day (default: every file delivered that day)")
    redeliver.add_argument("--format", choices=["all", "csv", "xlsx", "webrsa"], default="all",
                           help="which format of the files (default: every format delivered)")
    redeliver.set_defaults(handler=cmd_redeliver)

    demo = commands.add_parser("demo", help="generate a small landing zone and run the pipeline on it")
    demo.add_argument("--date", type=_day, default=date(2026, 11, 2), help="first day (default 2026-11-02)")
    demo.add_argument("--households", type=_positive, default=5000)
    demo.add_argument("--days", type=_positive, default=3)
    demo.add_argument("--seed", type=int, default=93)
    demo.add_argument("--defects", action="store_true", help="include the faults of real deliveries")
    demo.add_argument("--workdir", type=Path, default=None,
                      help="where landing/ and outbox/ go (default $AIGUILLAGE_HOME/demo)")
    demo.add_argument("--webrsa-agencies", type=_agency_codes, default=[], metavar="CODES",
                      help="agencies that report in the WebRSA exchange (ALI-WebRSA XML) when they received "
                           "WebRSA exports, e.g. ALI03,ALI07 (default: none, every agency reports in CSV)")
    demo.set_defaults(handler=cmd_demo)

    reports = commands.add_parser(
        "agency-reports", help="write the synthetic agencies' reports of the next day from what the outbox "
                               "delivered them up to --date (as the demo does between days)")
    reports.add_argument("--date", type=_day, required=True, help="the day that ran, YYYY-MM-DD")
    reports.add_argument("--outbox", type=Path, required=True, help="where the agencies' extracts are")
    reports.add_argument("--landing", type=Path, required=True, help="landing zone to write the reports into")
    reports.add_argument("--seed", type=int, default=93, help="same seed, same bytes")
    reports.add_argument("--webrsa-agencies", type=_agency_codes, default=[], metavar="CODES",
                         help="agencies that report in ALI-WebRSA XML when they received WebRSA exports")
    reports.set_defaults(handler=cmd_agency_reports)

    wh = commands.add_parser("warehouse", help="the warehouse: embedded server life cycle, schema, psql")
    wh.add_argument("action", choices=["start", "stop", "status", "url", "migrate", "psql"])
    wh.set_defaults(handler=cmd_warehouse)

    roles = commands.add_parser("roles", help="create or update the warehouse's roles and their grants")
    roles.add_argument("--agencies", default=None, metavar="CODES",
                       help="agencies that query the warehouse directly: ALI05,SSD12 or all "
                            "(default: keep the current ones)")
    roles.set_defaults(handler=cmd_roles)

    retention = commands.add_parser(
        "retention", help="purge the personal data past its retention period (RGPD); --dry-run only counts")
    retention.add_argument("--as-of", type=_day, default=None,
                           help="the day the periods are counted back from (default: today)")
    retention.add_argument("--dry-run", action="store_true", help="count what would be purged, change nothing")
    retention.add_argument("--outbox", type=Path, default=None,
                           help="outbox whose extract archives are purged (else AIGUILLAGE_OUTBOX_DIR)")
    retention.set_defaults(handler=cmd_retention)

    from aiguillage.stack import commands as stack_commands  # standard library only until a command runs

    stack_commands.add_parser(commands, _day, _say)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
