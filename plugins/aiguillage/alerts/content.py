"""What an alert says: the JSON document sent to every channel, and its email wording."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiguillage.alerts.privacy import guard
from aiguillage.alerts.settings import configured_addresses

EVENT = "aiguillage.run_alert"


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _items(entries: list[dict], key: str, kind: str) -> list[dict[str, str]]:
    """Only the key and the reason are kept: nothing else an entry may carry can reach an alert."""
    from aiguillage.landing.names import printable

    items = []
    for position, entry in enumerate(entries):
        name = printable(str(entry.get(key) or "").strip())  # a file name can hold a line break
        if not name:
            raise ValueError(f"{kind} entry {position + 1} has no {key}")
        reason = str(entry.get("reason") or "").strip() or "no reason given"
        items.append({key: name, "reason": " ".join(printable(reason).split())})  # one line per item
    return items


def headline(day: str, withheld_count: int, quarantined_count: int) -> str:
    """'2026-11-04: 2 extracts withheld, 1 file quarantined' (zero counts left out)."""
    parts = []
    if withheld_count:
        parts.append(_n(withheld_count, "extract") + " withheld")
    if quarantined_count:
        parts.append(_n(quarantined_count, "file") + " quarantined")
    return f"{day}: " + ", ".join(parts)


def build_alert(
    day: date | str,
    run_id: str,
    *,
    withheld: list[dict],
    quarantined: list[dict],
    report_path: str | None,
) -> dict[str, Any] | None:
    """The alert for a day's run, or None when no extract was withheld and no file quarantined.

    withheld: [{"code_structure": "ALI05", "reason": "..."}], quarantined: [{"relative_path":
    "caf/....xml", "reason": "..."}]. Severity is "error" when an agency misses its extract,
    "warning" when files were only quarantined (the extracts went out without them).
    """
    withheld_items = _items(withheld or [], "code_structure", "withheld")
    quarantined_items = _items(quarantined or [], "relative_path", "quarantined")
    if not withheld_items and not quarantined_items:
        return None
    day_text = day.isoformat() if isinstance(day, date) else str(day)
    alert = {
        "event": EVENT,
        "day": day_text,
        "run_id": str(run_id),
        "severity": "error" if withheld_items else "warning",
        "summary": headline(day_text, len(withheld_items), len(quarantined_items)),
        "withheld": withheld_items,
        "quarantined": quarantined_items,
        "report": str(report_path) if report_path else None,
    }
    return guard(alert, configured_addresses())


def email_subject(alert: dict[str, Any]) -> str:
    return f"[Aiguillage] {alert.get('summary') or alert.get('day', '')}"


def email_body(alert: dict[str, Any]) -> str:
    """Plain text, one item per line, readable on a phone."""
    lines = [
        f"Aiguillage run of {alert.get('day')} (run {alert.get('run_id')}), severity {alert.get('severity')}.",
        "",
    ]
    details = alert.get("details") or []
    if details:
        lines += [*details, ""]
    withheld = alert.get("withheld") or []
    if withheld:
        lines.append(f"Extracts withheld ({len(withheld)}): these agencies did not receive their extract for this day.")
        lines += [f"  - {item.get('code_structure')}: {item.get('reason')}" for item in withheld]
        lines.append("")
    quarantined = alert.get("quarantined") or []
    if quarantined:
        lines.append(f"Files quarantined ({len(quarantined)}): nothing of these files was loaded.")
        lines += [f"  - {item.get('relative_path')}: {item.get('reason')}" for item in quarantined]
        lines.append("")
    report = alert.get("report")
    lines.append(f"Report: {report}" if report else "No report was written for this run.")
    return "\n".join(lines) + "\n"
