"""The run report as one self-contained HTML page: inline CSS, inline SVG, no script, no external URL.

Every value goes through ``html.escape``. The page only shows what the report holds: counts, codes,
file names and expectation names.
"""

from __future__ import annotations

from collections.abc import Collection
from html import escape
from pathlib import Path
from urllib.parse import quote

from aiguillage.extracts.columns import MOVEMENT_TYPES
from aiguillage.run_report.charts import bar_chart, line_chart

# No script and nothing fetched: the page must read the same offline, in a mail client or a browser.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px; padding: 0 1rem;
       color: #1b1b1b; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; border-bottom: 2px solid #ccc; padding-bottom: .2rem; margin-top: 2rem; }
.meta { color: #555; margin-top: 0; }
.headline { border: 3px solid; border-radius: 6px; padding: .8rem 1rem; margin: 1rem 0; }
.headline p { margin: .2rem 0; font-size: 1.15rem; font-weight: 600; }
.headline ul { margin: .4rem 0 0 1.2rem; padding: 0; }
.ok { background: #e8f5e9; border-color: #2e7d32; color: #1b5e20; }
.bad { background: #fdecea; border-color: #c62828; color: #8e1111; }
.neutral { background: #f3f3f3; border-color: #777; }
table { width: 100%; border-collapse: collapse; margin: .6rem 0 1rem; font-size: .92rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.wrap { overflow-x: auto; }
td { overflow-wrap: anywhere; }
td.n { overflow-wrap: normal; white-space: nowrap; }
.path { overflow-wrap: anywhere; display: inline-block; min-width: 12em; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.state-withheld, .state-failed, .sev-blocking, .status-quarantined, .status-refused { color: #8e1111; font-weight: 600; }
.sev-warning, .status-duplicate, .state-up_for_retry { color: #8a5300; font-weight: 600; }
span[class^="state-"], span[class^="sev-"], span[class^="status-"] { white-space: nowrap; }
.absent { color: #777; font-style: italic; }
figure { margin: .6rem 0 1rem; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
"""


def _e(value) -> str:
    return "" if value is None else escape(str(value))


def _n(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else _e(value)


def _table(caption: str, headers: list[str], rows: list[list[str]], numeric: Collection[int] = ()) -> str:
    """A table of already escaped cells; ``numeric`` holds the indexes of right-aligned columns."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = []
    for row in rows:
        cells = []
        for index, cell in enumerate(row):
            if index == 0:
                cells.append(f'<th scope="row">{cell}</th>')
            else:
                cells.append(f'<td class="n">{cell}</td>' if index in numeric else f"<td>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="wrap"><table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _counts(by_key: dict) -> str:
    return ", ".join(f"{_e(key)} {_n(n)}" for key, n in sorted(by_key.items())) or "—"


def _detail(by_key: dict) -> str:
    """Counts by key under a total, one per line."""
    return "".join(f"<br><small>{_e(key)} {_n(n)}</small>" for key, n in by_key.items())


def _absent(text: str) -> str:
    return f'<p class="absent">{escape(text)}</p>'


def docs_href(path: str | None, report_dir: Path | None) -> str | None:
    """A link to Data Docs: relative when they lie inside the report's folder, a file URI otherwise."""
    if not path:
        return None
    target = Path(path)
    if not target.is_absolute():
        return quote(target.as_posix())
    if report_dir is not None:
        try:
            return quote(target.relative_to(report_dir.resolve()).as_posix())
        except ValueError:
            pass
    return target.as_uri()


def _link(path: str | None, report_dir: Path | None, text: str = "Data Docs") -> str:
    href = docs_href(path, report_dir)
    return f'<a href="{escape(href)}">{escape(text)}</a>' if href else "—"


# --- sections ----------------------------------------------------------------------------------------

def _agency(code: str | None) -> str:
    return _e(code) if code else "all agencies"


def _headline(report: dict) -> str:
    extracts = report["extracts"]
    delivered = sum(1 for e in extracts if e["state"] in ("delivered", "already_delivered"))
    status = report["status"]
    lines = []
    if status == "complete" and extracts:
        css, words = "ok", f"✔ Complete: all {delivered} agency extracts delivered."
    elif status == "complete":
        css, words = "neutral", "No agency extract was produced for this day."
    else:
        css = "bad"
        label = "✖ Failed" if status == "failed" else "✖ Withheld"
        words = (f"{label}: {len(report['withheld'])} extract(s) withheld, {len(report['failed'])} failure(s);"
                 f" {delivered} of {len(extracts)} agency extracts delivered.")
        lines = [f"<li>Withheld — {_agency(w['code_structure'])}: {_e(w['reason']) or 'no reason given'}</li>"
                 for w in report["withheld"]]
        lines += [f"<li>Failed — {_e(f['what'])}: {_e(f['reason']) or 'no reason given'}</li>"
                  for f in report["failed"]]
    items = f"<ul>{''.join(lines)}</ul>" if lines else ""
    return (f'<section class="headline {css}" id="headline" aria-label="Outcome of the day">'
            f"<p>{escape(words)}</p>{items}</section>")


def _files(report: dict) -> str:
    files = report["files"]
    parts = ["<h2 id='files'>Files of the day</h2>"]
    if not files["items"]:
        return "".join(parts) + _absent("No file was recorded for this day.")
    parts.append(f"<p>{_n(files['count'])} file(s): {_counts(files['by_status'])}.</p>")
    rows = [[
        f'<span class="path">{_e(f["relative_path"])}</span>', " ".join(_e(v) for v in (f["source"], f["kind"]) if v),
        _e(f["agency_code"]), _n(f["size_bytes"]),
        f'<span class="status-{_e(f["status"])}">{_e(f["status"])}</span>', _e(f["reason"]),
        _n(f["rows_loaded_total"]) + _detail(f["rows_loaded"]), _n(f["rejects_total"]) + _detail(f["rejects"]),
        _n(f["load_seconds"]),
    ] for f in files["items"]]
    parts.append(_table("Each file recorded by the day's runs and what became of it",
                        ["File", "Source", "Agency", "Bytes", "State", "Reason", "Rows loaded", "Lines rejected",
                         "Load (s)"], rows, {3, 6, 7, 8}))
    return "".join(parts)


def _layers(report: dict) -> str:
    rows = []
    for layer in report["layers"]:
        if not layer["built"]:
            rows.append([_e(layer["table"]), _e(layer["layer"]), _e(layer["scope"]),
                         '<span class="absent">not built</span>', ""])
            continue
        note = _counts(layer["detail"]) if layer["detail"] else ""
        if layer.get("built_for"):
            note += f" (lines built for {', '.join(_e(d) for d in layer['built_for'])}, not this day)"
        if layer["rows"] is None:
            note += " count took too long and was left out"
        rows.append([_e(layer["table"]), _e(layer["layer"]), _e(layer["scope"]), _n(layer["rows"]), note])
    return ("<h2 id='layers'>Rows per layer</h2>"
            + _table("Exact row counts (the day's files for raw tables, the day for day-scoped tables)",
                     ["Table", "Layer", "Scope", "Rows", "Detail"], rows, {3}))


def _findings_rows(findings: list[dict], agency: str, report_dir: Path | None) -> list[list[str]]:
    return [[
        _e(f["expectation"]), agency, _e(f["scope"]), _e(f["suite"]), _e(f["column"]),
        f'<span class="sev-{_e(f["severity"])}">{_e(f["severity"])}</span>', _n(f["unexpected_count"]),
        _n(f["observed"]), _e(f["description"]), _link(f["data_docs"], report_dir),
    ] for f in findings]


def _gate(report: dict, report_dir: Path | None) -> str:
    gate = report["gate"]
    parts = ["<h2 id='gate'>Quality gate</h2>"]
    if not gate.get("ran"):
        return "".join(parts) + _absent("The quality gate did not run for this day.")
    parts.append(
        f"<p>Day verdict: <strong>{_e(gate['day_verdict'])}</strong>. Expectations run:"
        f" {_n(gate['expectations_run'])}, failed: {_n(gate['expectations_failed'])}."
        f" Time: {_n(gate['seconds'])} s. {_link(gate['data_docs'], report_dir, 'Open the Data Docs')}</p>")
    rows = _findings_rows(gate["day_findings"], "whole day", report_dir)
    for code, entry in gate["agencies"].items():
        rows += _findings_rows(entry["findings"], _e(code), report_dir)
    if rows:
        parts.append(_table("Failed expectations", ["Expectation", "Agency", "Scope", "Suite", "Column",
                                                    "Severity", "Unexpected", "Observed", "Description",
                                                    "Data Docs"], rows, {6, 7}))
    else:
        parts.append("<p>No expectation failed.</p>")
    if gate["agencies"]:
        parts.append(_table("Verdict per agency", ["Agency", "Verdict", "Rows checked", "Findings"], [
            [_e(code), f'<span class="state-{_e(e["verdict"])}">{_e(e["verdict"])}</span>', _n(e["rows"]),
             _n(len(e["findings"]))] for code, e in gate["agencies"].items()], {2, 3}))
    return "".join(parts)


def _extracts(report: dict) -> str:
    parts = ["<h2 id='extracts'>Extracts per agency</h2>"]
    if not report["extracts"]:
        return "".join(parts) + _absent("No agency extract for this day.")
    rows = []
    for item in report["extracts"]:
        by_file = {f["fichier"]: f for f in item["files"]}
        movements = by_file.get("mouvements", {})
        by_type = movements.get("rows_by_type") or {}
        rows.append([
            _e(item["code_structure"]), _e(item["libelle"]),
            f'<span class="state-{_e(item["state"])}">{_e(item["state"])}</span>', _e(item["reason"]),
            _e(item["method"]),
            _n(movements.get("rows")) + (_detail({t: by_type.get(t, 0) for t in MOVEMENT_TYPES}) if movements else ""),
            _n(by_file.get("stock", {}).get("rows")),
            "<br>".join(f'<span class="path">{_e(f["file_name"])}</span>' for f in item["files"] if f["file_name"]),
        ])
    return "".join(parts) + _table(
        "Each agency's extract: state, lines by movement and files",
        ["Agency", "Name", "State", "Reason", "Method", "Mouvements", "Stock", "Files"], rows, {5, 6})


# The sends' fates, as run_report.collect gives them (send_orientations.summary_for_day), in the page's words.
_FT_SEND_LABELS = (("sent", "Sent (accepted by France Travail)"), ("refused", "Refused by France Travail"),
                   ("not_found", "Person not found (S002, S003)"), ("access_refused", "Access refused (R001)"),
                   ("unknown_address", "No address at France Travail (R998)"), ("errors", "Errors, tried again"),
                   ("uncertain", "Uncertain: France Travail may hold it, not sent again without an operator"))


def _france_travail(report: dict) -> str:
    part = report.get("france_travail") or {}
    parts = ["<h2 id='france-travail'>France Travail partner API</h2>"]
    if not part.get("built"):
        return "".join(parts) + _absent("The France Travail API table does not exist yet.")
    lookups, sends = part.get("lookups") or {}, part.get("sends") or {}
    if not lookups and not sends:
        return "".join(parts) + _absent(
            "No exchange with France Travail for this day (no connection france_travail_api, or nothing due).")
    if lookups:
        parts.append(_table("People looked up (search, then France Travail's orientation read), by outcome",
                            ["Outcome", "People"], [[_e(outcome), _n(n)] for outcome, n in sorted(lookups.items())],
                            {1}))
    if sends:
        parts.append(_table("The Département's orientations sent to France Travail", ["Fate", "Orientations"],
                            [[escape(label), _n(sends.get(key, 0))] for key, label in _FT_SEND_LABELS], {1}))
    else:
        parts.append(_absent("No orientation was sent to France Travail for this day."))
    return "".join(parts)


def _proposals(report: dict, report_dir: Path | None) -> str:
    """The orientation team's side of the day: what waits for a decision, and what the day decided."""
    from aiguillage.extracts.waiting_proposals import FILE_NAME, FOLDER

    part = report.get("proposals") or {}
    parts = ["<h2 id='proposals'>Orientation proposals and decisions</h2>"]
    if not part.get("built"):
        return "".join(parts) + _absent("The proposals are not built yet (marts.orientation_proposals).")
    oldest = part.get("oldest_days")
    parts.append(
        f"<p><strong>{_n(part['waiting'])}</strong> proposal(s) wait for the orientation team's decision"
        + (f", the oldest for {_n(oldest)} day(s); {_n(part['waiting_long'])} for more than"
           f" {_n(part['long_wait_days'])} days" if part["waiting"] else "")
        + f". Made today: {_n(part['made_today'])}, of which {_n(part['validated_automatically'])} validated"
          " automatically by their rule (decided by POLITIQUE_AUTOMATIQUE, notified the same day).</p>")
    if report_dir is not None:
        waiting_list = report_dir.parent.parent / FOLDER / str(report["day"]) / FILE_NAME
        if waiting_list.is_file():
            relative = f"../../{FOLDER}/{report['day']}/{FILE_NAME}"  # the report lies in <outbox>/_runs/<day>/
            parts.append(f"<p>The team's list: {_link(relative, None, FILE_NAME)}"
                         " (fill in the decision columns and drop it back as a decisions file).</p>")
    if part["waiting_by_rule"]:
        parts.append(_table("Waiting for a decision, per rule (the reason the team reads)",
                            ["Rule", "Reason", "Waiting", "Oldest (days)"],
                            [[_e(r["code_regle"]), _e(r["libelle_regle"]), _n(r["waiting"]), _n(r["oldest_days"])]
                             for r in part["waiting_by_rule"]], {2, 3}))
    decided = part.get("decided_today") or {}
    parts.append(_table("Decided today by the orientation team",
                        ["Decision", "Proposals"],
                        [[_e(status), _n(n)] for status, n in decided.items()]
                        + [["CADUQUE (replaced, or nobody to orient any more)", _n(part.get("obsolete_today"))]],
                        {1}))
    rejected = part.get("decisions_rejected") or {}
    if rejected:
        parts.append(_table("Decision lines rejected by the warehouse (the reader's rejects are under Files)",
                            ["Reason", "Lines"], [[_e(code), _n(n)] for code, n in rejected.items()], {1}))
    return "".join(parts)


def _identities(report: dict) -> str:
    """How the day's people were recognised, and the NIRs seen with two birth dates to check."""
    part = report.get("identities") or {}
    parts = ["<h2 id='identities'>Identities</h2>"]
    if not part.get("built"):
        return "".join(parts) + _absent("The identity map is not built yet (history.person_identity_map).")
    linked = part.get("linked_today") or {}
    if linked:
        parts.append(_table("Persons whose identity key was linked today, by rule (NIR_APPARU, NIR_CERTIFIE, "
                            "NIR_MODIFIE: a NIR came or changed and the person kept their id)",
                            ["Rule", "Persons"], [[_e(rule), _n(n)] for rule, n in linked.items()], {1}))
    else:
        parts.append("<p>No identity key was linked today.</p>")
    parts.append("<p>Identity keys moved to an earlier person today (two records of one person merged into the"
                 f" first one's id): <strong>{_n(part.get('moved_to_earlier_person'))}</strong>.</p>")
    anomalies = part.get("nir_two_birth_dates") or {}
    parts.append(
        f"<p><strong>{_n(anomalies.get('total'))}</strong> NIR(s) seen with two birth dates or more (each date"
        f" stays a person of its own), {_n(anomalies.get('current'))} still with two dates in current dossiers,"
        f" {_n(anomalies.get('new_today'))} new today. The NIRs and dossiers are in the restricted view"
        " identifiants.identifiants__nir_anomalies; what to do: runbook, \"A NIR seen with two birth dates\".</p>")
    items = anomalies.get("items") or []
    if items:
        parts.append(_table(f"NIRs seen with two birth dates (the {len(items)} newest)",
                            ["Seen on", "Persons (person_id)", "Birth dates", "Still in current dossiers"],
                            [[_e(item["seen_on"]), "<br>".join(_e(pid) for pid in item["person_ids"]),
                              _n(item["birth_dates"]), _n(item["current_dates"])] for item in items], {2, 3}))
    return "".join(parts)


def _referrals_chart(report: dict) -> str:
    referrals = report["referrals"]
    parts = ["<h2 id='referrals'>Open referrals per agency</h2>"]
    if not referrals["built"]:
        return "".join(parts) + _absent("Referral warehouse not built: marts.referrals does not exist yet.")
    items = [(r["code_structure"] or "waiting for a structure", r["open"]) for r in referrals["by_agency"]]
    total = sum(n for _, n in items)
    chart = bar_chart("chart-referrals", items, title="Open referrals per agency",
                      desc=f"Horizontal bars: open referrals held by each of {len(items)} agencies,"
                           f" {total:,} in all; the number is printed after each bar.")
    return "".join(parts) + f"<figure><figcaption>Open referrals per agency ({total:,})</figcaption>{chart}</figure>"


def _deadlines(report: dict) -> str:
    deadlines = report["deadlines"]
    parts = ["<h2 id='deadlines'>Deadlines</h2>"]
    if not deadlines["built"]:
        parts.append(_absent("Referral warehouse not built: marts.referrals does not exist yet."))
    else:
        rows = [[_e(t["code_territoire"] or "no territory"), _e(t["nom_territoire"]), _n(t["open"]),
                 _n(t["past_orientation"]), _n(t["past_contract"])] for t in deadlines["by_territory"]]
        totals = deadlines["totals"]
        if rows:
            rows.append(["All territories", "", _n(totals["open"]), _n(totals["past_orientation"]),
                         _n(totals["past_contract"])])
        parts.append(_table("Open referrals past their deadlines, per territory",
                            ["Territory", "Name", "Open referrals", "Past orientation deadline",
                             "Past contract deadline"], rows, {2, 3, 4}))
    if not deadlines["history_built"]:
        return "".join(parts) + _absent(
            "Deadline history not built: marts.referral_daily_indicators does not exist yet.")
    history = deadlines["history"]
    if not history:
        return "".join(parts) + _absent("No daily indicator in the last 60 days.")
    days = [h["jour"] for h in history]
    chart = line_chart(
        "chart-deadlines", days,
        [("Past orientation deadline", [h["past_orientation"] for h in history]),
         ("Past contract deadline", [h["past_contract"] for h in history])],
        title="Open referrals past their deadlines, day by day",
        desc=f"Two lines over {len(days)} day(s) from {days[0]} to {days[-1]}: past the orientation deadline"
             f" (solid line, circles) ended at {history[-1]['past_orientation']:,}; past the contract deadline"
             f" (dashed line, squares) ended at {history[-1]['past_contract']:,}.")
    return "".join(parts) + ("<figure><figcaption>Deadline breaches over the last 60 days</figcaption>"
                             f"{chart}</figure>")


def _clock(value) -> str:
    """HH:MM:SS of an ISO timestamp (the report's times are UTC)."""
    text = "" if value is None else str(value)
    return _e(text[11:19]) if len(text) >= 19 else _e(text)


def _task_label(task: dict) -> str:
    label = task.get("label")
    return _e(task.get("task_id")) + (f"[{_e(label)}]" if label else "")


def _state(state) -> str:
    return f'<span class="state-{_e(state)}">{_e(state)}</span>'


def _tasks(report: dict) -> str:
    parts = ["<h2 id='tasks'>Task durations</h2>"]
    not_included = ", ".join(report.get("tasks_not_included") or ["referral_extracts.report_run"])
    parts.append(
        "<p>Every try of every task of the day's DAG runs, as each task recorded it when it ended"
        " (table <code>registry.task_run</code>), in the order of the day's chain. Times are UTC."
        f" The task that writes this report ({_e(not_included)}) is still running when it does so:"
        " its own duration is not in the report, only in <code>registry.task_run</code>.</p>")
    tasks = report["tasks"]
    if not tasks:
        return "".join(parts) + _absent("No task duration recorded.")
    runs = report.get("task_runs") or []
    if runs:
        parts.append(_table("Each DAG run of the day", [
            "DAG", "Run", "Tasks", "Tries", "Retries", "Failed", "Started", "Ended", "Wall clock (s)",
            "Task time (s)"], [[
                _e(r["dag_id"]), _e(r["run_id"]), _n(r["tasks"]), _n(r["tries"]), _n(r["retries"]), _n(r["failed"]),
                _clock(r["started_at"]), _clock(r["ended_at"]), _n(r["wall_seconds"]), _n(r["task_seconds"]),
            ] for r in runs], {2, 3, 4, 5, 8, 9}))
    slowest = report.get("slowest_tasks") or []
    if slowest:
        parts.append(_table("Slowest tries of the day", ["Task", "DAG", "Try", "State", "Seconds"], [
            [_task_label(t), _e(t["dag_id"]), _n(t.get("try_number")), _state(t["state"]), _n(t["seconds"])]
            for t in slowest], {2, 4}))
    rows = [[_task_label(t), _e(t["dag_id"]), _n(t.get("try_number")), _state(t["state"]),
             _clock(t.get("started_at")), _n(t["seconds"]), _e(t.get("error_type")), _e(t.get("hostname"))]
            for t in tasks]
    total = sum(t["seconds"] or 0 for t in tasks)
    rows.append(["All tries", "", "", "", "", _n(float(total)), "", ""])
    return "".join(parts) + _table("Each try, in the order of the day's chain",
                                   ["Task", "DAG", "Try", "State", "Started", "Seconds", "Error type", "Host"],
                                   rows, {2, 5})


def render(report: dict, report_dir: Path | None = None) -> str:
    """The HTML page of ``report``; links to Data Docs are made relative to ``report_dir`` when inside it."""
    title = f"Aiguillage — run report of {report['day']}"
    body = "".join([
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">Run {_e(report["run_id"])}, report generated {_e(report["generated_at"])}.'
        f" Status: <strong>{_e(report['status'])}</strong>.</p>",
        _headline(report), _files(report), _layers(report), _gate(report, report_dir), _extracts(report),
        _france_travail(report), _proposals(report, report_dir), _referrals_chart(report), _deadlines(report),
        _identities(report),
        _tasks(report),
    ])
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")
