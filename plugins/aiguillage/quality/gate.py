"""The quality gate: one call validates the day before any agency receives its extract.

Cost (measured on 2 cores, 93,000 lines for 42 agencies): one validation per agency took 14.4 s
for the 42 (0.34 s each, GX overhead per batch), the agency suite on the whole day's batch 1.2 s.
So every suite validates one batch of the day, pushed down to PostgreSQL, and the agency suite's
failing lines are attributed to their agency by ``unexpected_index_column_names=["code_structure"]``.

Two checkpoints, because the result format is per checkpoint: the day and source suites keep
counts only (no value of any column, so never a NIR), the agency suite keeps the failing lines'
``code_structure`` (and values of code columns or empty cells only: its checks never fail on a
filled personal value).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg

from aiguillage import config
from aiguillage.quality import batches, findings, records, reference, suites

log = logging.getLogger(__name__)

PRIVATE_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0,
                  "return_unexpected_index_query": False}
ATTRIBUTED_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": [findings.AGENCY_COLUMN],
                     "partial_unexpected_count": 20, "return_unexpected_index_query": False}
DAY_VOLUME_CHECKS = {"volume_mouvements", "volume_mouvements_agence"}


@dataclass
class Plan:
    """What the run validates, prepared from the warehouse before Great Expectations starts."""

    day: date
    agencies: list[str]
    run_id: str
    private: list[tuple[str, dict]]  # (scope, suite) validated with counts only
    agency_suite: dict
    parameters: dict
    rows: dict[str, int]
    lines: int
    notes: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)


def prepare(day: date, agencies: list[str], url: str, run_id: str, sources: bool) -> Plan:
    agencies = reference.checked_agencies(agencies)
    literals = reference.sql_literals(day, agencies)
    folder = suites.expectations_dir()
    day_suite = suites.load_suite(suites.DAY_SUITE, folder)
    agency_suite = suites.load_suite(suites.AGENCY_SUITE, folder)
    sources_suites = [(scope, suites.load_suite(name, folder))
                      for scope, name in suites.SOURCE_SUITES.items()] if sources else []
    notes: list[str] = []
    skipped: list[dict] = []
    with psycopg.connect(url) as conn:
        history = reference.movement_history(conn, day)
        if history["days"] < reference.MIN_HISTORY_DAYS:
            notes.append(
                f"volume checks skipped: {history['days']} previous day(s) of movements,"
                f" {reference.MIN_HISTORY_DAYS} needed"
            )
            for suite, scope in ((day_suite, "day"), (agency_suite, "day")):
                skipped += [_skipped_row(suite["name"], scope, e, history["days"]) for e in suite["expectations"]
                            if e["meta"].get("check") in DAY_VOLUME_CHECKS]
            day_suite = suites.without_checks(day_suite, DAY_VOLUME_CHECKS)
            agency_suite = suites.without_checks(agency_suite, DAY_VOLUME_CHECKS)
        every = [day_suite, agency_suite] + [suite for _, suite in sources_suites]
        names = set().union(*(suites.parameter_names(suite) for suite in every))
        parameters = reference.parameter_values(conn, names, day, agencies)
        rows = reference.rows_per_agency(conn, day)
        lines = reference.lines_of_day(conn, day)
    if not lines:
        skipped.append({"suite": day_suite["name"], "scope": "day", "expectation": "expect_table_row_count_to_be_between",
                        "column": None, "check": None, "severity": "blocking", "success": False,
                        "unexpected_count": None, "observed": 0, "data_docs": None,
                        "description": f"aucune ligne d'extrait pour le {day.isoformat()} dans la table des lignes"})
    day_suite = suites.fill_placeholders(day_suite, literals)
    day_suite["_history"] = history
    private = [("day", day_suite)] + [(scope, suites.fill_placeholders(s, literals)) for scope, s in sources_suites]
    return Plan(day, agencies, run_id, private, suites.fill_placeholders(agency_suite, literals), parameters,
                rows, lines, notes, skipped)


def _skipped_row(suite: str, scope: str, expectation: dict, days: int) -> dict:
    return {"suite": suite, "scope": scope, "expectation": expectation["type"], "column": None,
            "check": expectation["meta"].get("check"),
            "severity": expectation["meta"]["severity"], "success": None, "unexpected_count": None,
            "observed": f"skipped: {days} previous day(s)", "description": "", "data_docs": None}


def _day_volume_text(row: dict, history: dict) -> dict:
    """The day volume finding in plain words, with the figures behind it."""
    row = dict(row)
    row["observed"] = history["today"]
    row["description"] = (
        f"{history['today']} lignes de mouvements, attendu entre {history['min']:.0f} et {history['max']:.0f}"
        f" (médiane {history['median']:.0f} des {history['days']} jours précédents)"
    )
    return row


def assemble(plan: Plan, private_results: list, agency_results: list, index: str | None, started: float,
             gx_version: str, url: str) -> dict:
    """The gate's answer, and its record in registry.quality_check."""
    rows: list[dict] = list(plan.skipped)
    history = plan.private[0][1].get("_history", {})
    scopes = dict(plan.private)
    for result, page in private_results:
        scope = next(s for s, suite in scopes.items() if suite["name"] == result.suite_name)
        for row in findings.suite_rows(result, scope, page):
            volume = row["success"] is False and row.get("check") == "volume_mouvements"
            rows.append(_day_volume_text(row, history) if volume else row)
    for result, page in agency_results:
        rows += findings.agency_rows(result, plan.agencies, page)
    failed = [row for row in rows if row["success"] is False]
    day_findings = [findings.finding(r) for r in failed if r["scope"] not in plan.agencies]
    day_verdict = findings.verdict(day_findings)
    agencies = {}
    for code in plan.agencies:
        own = [findings.finding(r) for r in failed if r["scope"] == code]
        own_verdict = findings.verdict(own)
        agencies[code] = {"verdict": "withhold" if day_verdict == "withhold" else own_verdict,
                          "rows": plan.rows.get(code, 0), "findings": own}
    all_results = [result for result, _ in private_results + agency_results]
    suites_run = sorted({suite["name"] for _, suite in plan.private} | {plan.agency_suite["name"]})
    with psycopg.connect(url) as conn:
        records.replace_day(conn, plan.day, plan.run_id, suites_run, rows)
    answer = {
        "day": plan.day.isoformat(), "run_id": plan.run_id, "seconds": round(time.monotonic() - started, 3),
        "gx_version": gx_version, "data_docs": index, "day_verdict": day_verdict, "day_findings": day_findings,
        "agencies": agencies,
        "expectations_run": sum(len(result.results) for result in all_results),
        "expectations_failed": sum(1 for result in all_results for r in result.results if not r.success),
        "notes": plan.notes,
    }
    withheld = sorted(code for code, a in agencies.items() if a["verdict"] == "withhold")
    log.info("quality gate %s: day %s, %d agencies withheld %s, %d expectations failed of %d, %.1f s",
             answer["day"], day_verdict, len(withheld), withheld, answer["expectations_failed"],
             answer["expectations_run"], answer["seconds"])
    return answer


def run_gate(day: date, agencies: list[str], *, url: str | None = None, docs_dir: Path,
             run_id: str = "manual", sources: bool = True) -> dict:
    """Validate the day's extract lines (and, with ``sources``, what the day loaded); build the
    Data Docs under ``docs_dir``; record every expectation run. See the package README for the answer."""
    started = time.monotonic()
    url = url or config.warehouse_url()
    docs_dir = Path(docs_dir).resolve()
    docs_dir.mkdir(parents=True, exist_ok=True)
    plan = prepare(day, agencies, url, run_id, sources)

    import great_expectations as gx  # about 6 s: once per run, never at import

    from aiguillage.quality import context as gx_context

    context = gx_context.new_context(docs_dir)
    datasource = gx_context.add_datasource(context, url)
    day_suite, source_suites = plan.private[0][1], [suite for _, suite in plan.private[1:]]
    literal = reference.sql_literals(day, plan.agencies)["day"]
    run_name = f"{run_id}-{day.isoformat()}"
    private_results = []
    if plan.lines:  # no line for the day: GX finds no batch; the plan holds the blocking finding
        private_results = gx_context.run_checkpoint(
            context, "gate_day", [_validation(gx_context, context, datasource, day_suite)], PRIVATE_FORMAT,
            plan.parameters, day, run_name)
    if source_suites:
        validations = [gx_context.add_query_validation(
            context, datasource, suite["name"], batches.query(suite["meta"]["batch"], literal),
            gx_context.build_suite(context, suite)) for suite in source_suites]
        private_results += gx_context.run_checkpoint(context, "gate_sources", validations, PRIVATE_FORMAT,
                                                     plan.parameters, None, run_name)
    agency_results = []
    if plan.lines:
        agency = _validation(gx_context, context, datasource, plan.agency_suite)
        agency_results = gx_context.run_checkpoint(context, "gate_agencies", [agency], ATTRIBUTED_FORMAT,
                                                   plan.parameters, day, run_name)
    return assemble(plan, private_results, agency_results, gx_context.docs_index(context), started,
                    gx.__version__, url)


def _validation(gx_context, context, datasource, suite: dict):
    table = batches.TABLES[suite["meta"]["batch"]]
    gx_suite = gx_context.build_suite(context, _without_private_keys(suite))
    return gx_context.add_validation(context, datasource, suite["name"], *table, gx_suite)


def _without_private_keys(suite: dict) -> dict:
    return {key: value for key, value in suite.items() if not key.startswith("_")}
