"""Plain-words reports of a day's run, for the data engineer reading the terminal."""

from __future__ import annotations

from collections import Counter
from datetime import date

from aiguillage.landing.names import printable
from aiguillage.runner import DayOutcome

_SOURCE_LABELS = {"caf": "CAF", "caf_contacts": "CNAF contact details", "france_travail": "France Travail",
                  "ali": "ALI", "departement": "Département", "unknown": "unknown"}


def _size(n: float) -> str:
    if n < 1000:
        return f"{n:.0f} B"
    for unit in ("kB", "MB", "GB"):
        n /= 1000
        if n < 1000 or unit == "GB":
            break
    return f"{n:.1f} {unit}"


def _describe(row: dict) -> str:
    source = _SOURCE_LABELS.get(row["source"], row["source"])
    if row["source"] == "caf" and row["header"]:
        header = row["header"]
        return f"{source} {row['kind']} flow (TYPEFLUX {header.get('TYPEFLUX')}, DTREF {header.get('DTREF')})"
    if row["source"] == "ali":
        return f"{source} activity report of {row['agency_code'] or '?'}"
    return f"{source} {row['kind'] or 'file'}"


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


# How the day's France Travail sends are named (keys of send_orientations.summary_for_day).
_SEND_LABELS = (("sent", "sent"), ("refused", "refused by France Travail"), ("not_found", "person not found"),
                ("access_refused", "access refused (R001)"), ("unknown_address", "no address at France Travail (R998)"),
                ("errors", "errors"), ("uncertain", "uncertain, not sent again (see the runbook)"))


def api_lines(lookups: dict[str, int], configured: bool = True, sends: dict[str, int] | None = None) -> list[str]:
    """The day's France Travail API lookups (final outcome of each: FOUND when an orientation was
    read) and the Département's orientations sent to France Travail (send_orientations.summary_for_day)."""
    lines = []
    if lookups:
        detail = ", ".join(f"{outcome} {n:,}" for outcome, n in sorted(lookups.items()))
        lines.append(f"  France Travail API: {_n(sum(lookups.values()), 'person')} looked up ({detail})")
    if sends:
        detail = ", ".join(f"{label} {sends.get(key, 0):,}" for key, label in _SEND_LABELS if sends.get(key))
        lines.append(f"  France Travail API: {_n(sum(sends.values()), 'orientation')} of the day sent or tried"
                     f" ({detail})")
    if not lines and not configured:
        return ["  France Travail API: no lookups (no connection france_travail_api configured)"]
    return lines


def day_lines(outcome: DayOutcome, files: list[dict]) -> list[str]:
    lines = [f"Day {outcome.day}"]
    for dag in outcome.dags:
        line = f"  DAG {dag.dag_id:<24} {dag.state:<8} {dag.seconds:5.1f} s"
        if dag.failed_tasks:
            line += f"   failed tasks: {', '.join(dag.failed_tasks)}"
        skipped = [task.task_id for task in dag.tasks if task.state == "skipped"]
        if skipped:
            line += f"   skipped: {', '.join(skipped)} (see the Airflow log for why)"
        lines.append(line)
        lines.extend(f"    {cause}" for cause in _causes(dag))
    if not files:
        lines.append("  No new file for this day.")
    else:
        lines.append(f"  Files recorded for this day: {len(files)}")
        for row in files:
            lines.append(
                f"    {row['status']:<20} {printable(row['relative_path']):<44} {_describe(row)}, "
                f"{_size(row['size_bytes'])}"
            )
            loaded = sum((row.get("rows_loaded") or {}).values())
            rejects = row.get("rejects") or {}
            if loaded or rejects:
                detail = f"{_n(loaded, 'row')} loaded"
                if rejects:
                    by_reason = ", ".join(f"{code} {n}" for code, n in sorted(rejects.items()))
                    detail += f"; {_n(sum(rejects.values()), 'line')} rejected ({by_reason})"
                lines.append(f"    {'':<20} -> {detail}")
            if row["reason"]:
                lines.append(f"    {'':<20} -> {printable(row['reason'])}")
    return lines


def _causes(dag) -> list[str]:
    """'load_caf_files failed: RuntimeError: ...' for each failed task whose cause was recorded (already
    cleaned of personal data: observability.task_runs.error_message)."""
    return [f"{task.task_id} failed: {task.error}" for task in dag.tasks if task.error]


def problems(outcome: DayOutcome, files: list[dict]) -> list[str]:
    """What went wrong this day, in plain words; empty when the day is fine."""
    found = []
    for dag in outcome.dags:
        if dag.state != "success":
            tasks = ", ".join(dag.failed_tasks) or "no task ran"
            found.append(f"DAG {dag.dag_id} ended '{dag.state}' (tasks not successful: {tasks})")
            found.extend(f"{dag.dag_id}.{cause}" for cause in _causes(dag))
    for row in files:
        if row["status"] == "quarantined":
            found.append(f"file {printable(row['relative_path'])} was quarantined: {printable(row['reason'])}")
        elif row["status"] == "refused":  # a link, a FIFO, a name with control characters: never read
            found.append(f"entry {printable(row['relative_path'])} was refused: {printable(row['reason'])}")
        elif row["status"] == "registered" and all(d.state == "success" for d in outcome.dags):
            found.append(f"file {printable(row['relative_path'])} was registered but no loader took it")
    return found


def totals_lines(days: list[tuple[date, list[dict]]]) -> list[str]:
    counts: Counter[str] = Counter()
    sizes = 0
    for _, files in days:
        counts.update(row["status"] for row in files)
        sizes += sum(row["size_bytes"] for row in files)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"
    return [f"Files recorded over {len(days)} day(s): {summary} ({_size(sizes)})"]


def referral_lines(conn) -> list[str]:
    """What the referral warehouse holds at the end of the run: referrals by status and parcours,
    persons listed for follow-up, deadlines breached (docs/data-contracts.md §10)."""
    if conn.execute("SELECT to_regclass('marts.referrals')").fetchone()[0] is None:
        return ["Referral warehouse: not built"]
    by_status = conn.execute(
        "SELECT statut_orientation, parcours, count(*) FROM marts.referrals"
        " GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    follow_up, = conn.execute(
        "SELECT count(*) FROM marts.beneficiaries WHERE statut_eligibilite = 'A_SUIVRE'").fetchone()
    late_orientation, late_contract, not_followed = conn.execute(
        "SELECT count(*) FILTER (WHERE depassement_orientation), count(*) FILTER (WHERE depassement_contrat),"
        " count(*) FILTER (WHERE statut_contrat = 'NON_SUIVI')"
        " FROM marts.referrals WHERE statut_orientation <> 'CLOTUREE'").fetchone()
    by_france_travail, = conn.execute(
        "SELECT count(*) FROM marts.beneficiaries WHERE orientation_par_france_travail").fetchone()
    shown = ", ".join(f"{status} {parcours} {n}" for status, parcours, n in by_status) or "none"
    return [
        f"Referrals: {shown}",
        f"Persons listed for follow-up (rights-and-duties flag missing): {follow_up}",
        f"Open referrals past a deadline: orientation {late_orientation}, contract {late_contract}"
        f" (contracts not followed, never late: {not_followed})",
        f"Persons past six weeks without a decision (France Travail orients them): {by_france_travail}",
        "Analysts' views: schema reporting (role bi_reader); dbt docs: "
        "$AIGUILLAGE_HOME/dbt/target/static_index.html",
    ]


def proposal_lines(conn, day: date, outbox) -> list[str]:
    """The orientation team's side of the day: proposals waiting for a decision and the list's path,
    what the day decided (the team's decisions, the automatic validations) and decision lines rejected."""
    from aiguillage.extracts.waiting_proposals import list_path, summary_for_day

    part = summary_for_day(conn, day)
    if not part.get("built"):
        return []
    waiting = f"  Orientation team: {_n(part['waiting'], 'proposal')} waiting for a decision"
    if part["waiting"]:
        waiting += f" (oldest {_n(part['oldest_days'], 'day')}; {part['waiting_long']:,} for more than" \
                   f" {part['long_wait_days']} days)"
    lines = [waiting + f"; made today {part['made_today']:,} ({part['validated_automatically']:,} validated"
                       " automatically by their rule)"]
    decided = part["decided_today"]
    if any(decided.values()) or part["obsolete_today"]:
        shown = ", ".join(f"{status} {n:,}" for status, n in decided.items())
        lines.append(f"  Decisions of the team applied today: {shown}; {part['obsolete_today']:,} proposal(s)"
                     " no longer needed (CADUQUE)")
    if part["decisions_rejected"]:
        shown = ", ".join(f"{code} {n}" for code, n in part["decisions_rejected"].items())
        lines.append(f"  Decision lines rejected by the warehouse: {shown}")
    path = list_path(outbox, day)
    if path.is_file():
        lines.append(f"  Waiting list for the orientation team: {path}")
    return lines


def waiting_total(conn) -> int | None:
    """Proposals waiting for a decision at the end of the run (None before the first build)."""
    if conn.execute("SELECT to_regclass('marts.orientation_proposals')").fetchone()[0] is None:
        return None
    return conn.execute("SELECT count(*) FROM marts.orientation_proposals"
                        " WHERE statut_proposition = 'EN_ATTENTE_DECISION'").fetchone()[0]


def extract_outcomes(conn, day: date, since) -> list[dict]:
    """The fate of each agency's extract for the day, as decided since ``since`` (registry.extract_outcome)."""
    if conn.execute("SELECT to_regclass('registry.extract_outcome')").fetchone()[0] is None:
        return []
    rows = conn.execute(
        "SELECT code_structure, state, reason, files FROM registry.extract_outcome"
        " WHERE day = %s AND recorded_at >= %s ORDER BY code_structure", (day, since)).fetchall()
    return [{"code_structure": code, "state": state, "reason": reason, "files": files or []}
            for code, state, reason, files in rows]


def extract_lines(outcomes: list[dict], outbox, day: date) -> list[str]:
    """One line on the day's extracts, then one per agency not delivered, then the run report's path
    (a day that stopped before the extracts has a report too, written when its task failed)."""
    from aiguillage.run_report import html_path

    report = html_path(outbox, day)
    if not outcomes:
        return [f"  Run report: {report}"] if report.is_file() else []
    states = Counter(outcome["state"] for outcome in outcomes)
    # One file per (agency, fichier), whatever the number of formats it was sent in (same lines in each).
    sent = {(outcome["code_structure"], f.get("fichier")): f["rows"] for outcome in outcomes for f in outcome["files"]}
    rows = sum(n for (_, fichier), n in sent.items() if fichier == "mouvements")
    stocks = sum(1 for (_, fichier) in sent if fichier == "stock")
    shown = ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in sorted(states.items()))
    lines = [f"  Agency extracts: {shown}; {_n(rows, 'movement')} in the daily files"
             + (f", {_n(stocks, 'full stock')} sent" if stocks else "")]
    for outcome in outcomes:
        if outcome["state"] in ("withheld", "failed"):
            lines.append(f"    {outcome['state'].upper():<9} {outcome['code_structure']}: {outcome['reason']}")
    if report.is_file():
        lines.append(f"  Run report: {report}")
    return lines


def extract_problems(outcomes: list[dict]) -> list[str]:
    return [f"extract for {outcome['code_structure']} {outcome['state']}: {outcome['reason']}"
            for outcome in outcomes if outcome["state"] in ("withheld", "failed")]
