"""From Great Expectations results to the gate's plain records: one row per expectation run and
scope, findings for the failed ones, verdicts. Only counts, codes and expectation names are kept:
the result formats the gate asks for never return a value of a personal column.
"""

from __future__ import annotations

from collections import Counter

AGENCY_COLUMN = "code_structure"


def column_of(kwargs: dict) -> str | None:
    if "column" in kwargs:
        return kwargs["column"]
    if "column_A" in kwargs:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    if "column_list" in kwargs:
        return ",".join(kwargs["column_list"])
    return None


def _lines(count: int) -> str:
    return f"{count} ligne" if count == 1 else f"{count} lignes"


def _row(suite: str, scope: str, config, success: bool | None, unexpected: int | None, observed,
         description: str, page: str | None) -> dict:
    return {
        "suite": suite, "scope": scope, "expectation": config.type, "column": column_of(config.kwargs),
        "severity": config.meta["severity"], "success": success, "unexpected_count": unexpected,
        "observed": observed, "description": description, "data_docs": page,
        "check": config.meta.get("check"),
    }


def _failure_text(config, result: dict, raised: bool) -> tuple[int | None, object, str]:
    """(unexpected count, observed, description) of a failed expectation, counts only."""
    what = config.meta.get("description_fr") or config.type
    if raised:
        return None, None, f"contrôle non évalué ({what}) : erreur à l'exécution, voir les journaux"
    unexpected = result.get("unexpected_count")
    observed = result.get("observed_value")
    if config.type == "unexpected_rows_expectation":
        rows = observed if isinstance(observed, int) else None
        return rows, rows, f"{rows} écart(s) : {what}"
    if unexpected is not None:
        return unexpected, unexpected, f"{_lines(unexpected)} : {what}"
    if isinstance(observed, int | float):
        return None, observed, f"observé {observed} : {what}"
    return None, None, what


def suite_rows(result, scope: str, page: str | None) -> list[dict]:
    """Rows of a suite validated for one scope (the day, or a source)."""
    rows = []
    for outcome in result.results:
        config = outcome.expectation_config
        raised = bool((outcome.exception_info or {}).get("raised_exception"))
        if outcome.success and not raised:
            rows.append(_row(result.suite_name, scope, config, True, _count(outcome.result), None, "", page))
            continue
        unexpected, observed, description = _failure_text(config, outcome.result or {}, raised)
        rows.append(_row(result.suite_name, scope, config, False, unexpected, observed, description, page))
    return rows


def _count(result: dict | None) -> int | None:
    value = (result or {}).get("unexpected_count")
    return value if isinstance(value, int) else None


def attributed_counts(outcome) -> Counter | None:
    """Failing lines per agency code, from the row identifiers GX returned (None if it gave none)."""
    result = outcome.result or {}
    config = outcome.expectation_config
    if result.get("unexpected_index_list"):
        return Counter(item.get(AGENCY_COLUMN) for item in result["unexpected_index_list"])
    if config.kwargs.get("column_A") == AGENCY_COLUMN and result.get("unexpected_list"):
        return Counter(pair[0] for pair in result["unexpected_list"])
    details = result.get("details") or {}
    if config.type == "unexpected_rows_expectation" and details.get("unexpected_rows"):
        return Counter({row[AGENCY_COLUMN]: int(row.get("lignes") or 0) for row in details["unexpected_rows"]})
    return None


def agency_rows(result, agencies: list[str], page: str | None) -> list[dict]:
    """Rows of the agency suite, validated on the whole day: one row per expectation and agency.
    A failure that cannot be attributed to a receiving agency is a row of scope ``day``."""
    rows = []
    for outcome in result.results:
        config = outcome.expectation_config
        raised = bool((outcome.exception_info or {}).get("raised_exception"))
        counts = None if raised or outcome.success else attributed_counts(outcome)
        if not outcome.success and counts is None:
            unexpected, observed, description = _failure_text(config, outcome.result or {}, raised)
            rows.append(_row(result.suite_name, "day", config, False, unexpected, observed, description, page))
            counts = Counter()
        counts = counts or Counter()
        volume = str(config.meta.get("check", "")).startswith("volume")
        what = config.meta.get("description_fr") or config.type
        for code in agencies:
            if code not in counts:
                rows.append(_row(result.suite_name, code, config, True, None if volume else 0, None, "", page))
            elif volume:
                text = f"{counts[code]} lignes de mouvements : {what}"
                rows.append(_row(result.suite_name, code, config, False, None, counts[code], text, page))
            else:
                text = f"{_lines(counts[code])} : {what}"
                rows.append(_row(result.suite_name, code, config, False, counts[code], counts[code], text, page))
        stray = {code: n for code, n in counts.items() if code not in agencies}
        if stray:
            total = sum(stray.values())
            named = ", ".join(sorted(str(code) for code in stray))
            text = f"{_lines(total)} : {what} (structures : {named})"
            rows.append(_row(result.suite_name, "day", config, False, total, total, text, page))
    return rows


def finding(row: dict) -> dict:
    return {key: row[key] for key in ("suite", "scope", "expectation", "column", "severity",
                                      "unexpected_count", "observed", "description", "data_docs")}


def verdict(findings: list[dict]) -> str:
    if any(f["severity"] == "blocking" for f in findings):
        return "withhold"
    return "warn" if findings else "pass"
