"""``aiguillage stack start|stop|status|run``: the command-line face of the local distributed stack."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from aiguillage import config


def add_parser(subparsers, day_type, say) -> None:
    stack = subparsers.add_parser(
        "stack", help="the distributed Airflow stack (api-server, scheduler, dag-processor, triggerer, "
                      "Celery workers, Redis): start, stop, status, run days through it")
    actions = stack.add_subparsers(dest="stack_action", required=True)
    start = actions.add_parser("start", help="start the stack in the background and print the web UI's address")
    start.add_argument("--landing", type=Path, default=None, help="landing zone (else AIGUILLAGE_LANDING_DIR)")
    start.add_argument("--outbox", type=Path, default=None, help="outbox (else AIGUILLAGE_OUTBOX_DIR)")
    start.add_argument("--port", type=int, default=None, help="web UI / API port (default 8080)")
    start.add_argument("--workers", type=int, default=None, help="Celery workers (default 1)")
    start.add_argument("--concurrency", type=int, default=None, help="task slots per worker (default 4)")
    start.add_argument("--no-schedules", action="store_true",
                       help="no DAG starts on its own (daily 06:00 run, weekly purge): runs only when triggered, "
                            "e.g. to replay past days")
    actions.add_parser("stop", help="stop every process of the stack (running tasks finish first)")
    actions.add_parser("status", help="which processes of the stack run, and the web UI's address")
    run = actions.add_parser("run", help="run days through the stack, one after the other, as production does")
    run.add_argument("--date", type=day_type, required=True, help="first day, YYYY-MM-DD")
    run.add_argument("--to", type=day_type, default=None, help="last day (default: --date)")
    run.add_argument("--stock", default=None, metavar="CODES", help="agencies that get their full stock ('all')")
    run.add_argument("--timeout", type=float, default=1800, help="seconds to wait for one day (default 1800)")
    stack.set_defaults(handler=lambda args: run_action(args, say))


def run_action(args: argparse.Namespace, say) -> int:
    from aiguillage.stack import processes
    from aiguillage.stack.settings import ADMIN_USER, stack_settings

    action = args.stack_action
    if action == "start":
        settings = stack_settings(args.port, args.workers, args.concurrency)
        landing = (args.landing or config.landing_dir())
        outbox = (args.outbox or config.outbox_dir())
        if landing is None or outbox is None:
            say("aiguillage stack start: give --landing and --outbox (or set AIGUILLAGE_LANDING_DIR and "
                "AIGUILLAGE_OUTBOX_DIR)")
            return 2
        outbox.resolve().mkdir(parents=True, exist_ok=True)
        try:
            processes.start(settings, landing_dir=landing.resolve(), outbox_dir=outbox.resolve(),
                            schedules=not args.no_schedules, progress=say)
        except Exception as error:
            say(f"aiguillage stack start: {error}")
            return 1
        say(f"Stack running. Web UI: {settings.api_url} (user {ADMIN_USER}, password in "
            f"{settings.secrets_file}, key admin_password). Logs: {settings.logs_dir}")
        say("Stop it with: ./aiguillage stack stop")
        return 0
    settings = stack_settings()
    if action == "stop":
        stopped = processes.stop(settings)
        say(f"Stopped: {', '.join(stopped)}" if stopped else "The stack was not running.")
        return 0
    state = processes.read_state(settings)
    if state is not None:  # the port it was started on
        settings = dataclasses.replace(settings, port=urlsplit(state.api_url).port)
    if action == "status":
        if state is None:
            say("The stack is not running.")
            return 1
        alive = processes.running_components(state)
        for name, up in alive.items():
            say(f"  {name:<18} {'running' if up else 'STOPPED'}")
        say(f"Web UI: {state.api_url}; landing {state.landing_dir}; outbox {state.outbox_dir}; "
            f"schedules {'on' if state.schedules else 'off'}")
        return 0 if all(alive.values()) else 1
    if state is None or not all(processes.running_components(state).values()):
        say("aiguillage stack run: the stack is not running (start it with ./aiguillage stack start)")
        return 2
    return _run_days(settings, state, args, say)


def _run_days(settings, state, args, say) -> int:
    from aiguillage import report, warehouse
    from aiguillage.landing.registry import files_for_day
    from aiguillage.stack import chain, processes

    api = processes.client(settings)
    last = args.to or args.date
    if last < args.date:
        say("aiguillage stack run: --to is before --date")
        return 2
    from aiguillage.dag_defaults import earliest_day_refusal

    refused = earliest_day_refusal(args.date)
    if refused:
        say(f"aiguillage stack run: refused: {refused}")
        return 2
    conf = {"stock": [code.strip().upper() for code in args.stock.split(",")]} if args.stock else {}
    day = args.date
    while day <= last:
        outcome = chain.run_day(api, day, conf=conf, timeout=args.timeout, progress=lambda m: say("  " + m))
        with warehouse.connect() as conn:
            files = files_for_day(conn, day)
            extracts_run = next((dag for dag in outcome.dags if dag.dag_id == "referral_extracts"), None)
            extracts = (report.extract_outcomes(conn, day, extracts_run.started_at)
                        if extracts_run and extracts_run.started_at else [])
        for line in [*report.day_lines(outcome, files), *report.extract_lines(extracts, Path(state.outbox_dir), day)]:
            say(line)
        problems = report.problems(outcome, files) + report.extract_problems(extracts)
        if not outcome.ok:
            say(f"Day {day} failed; later days were not run (each day builds on the one before):")
            for problem in problems:
                say(f"  - {problem}")
            return 1
        day += timedelta(days=1)
    return 0


