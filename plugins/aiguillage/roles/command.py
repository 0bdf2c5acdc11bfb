"""``aiguillage roles [--agencies ALI01,SSD12]``: create or update the roles, then say what they are."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def parse_agency_codes(text: str | Sequence[str] | None) -> list[str] | None:
    """``"ALI01, SSD12"`` or ``["ALI01", "SSD12"]`` → the codes; None (every receiving agency) stays None."""
    if text is None:
        return None
    parts = text.split(",") if isinstance(text, str) else [part for item in text for part in item.split(",")]
    return [part.strip() for part in parts if part.strip()]


def roles_command(agencies: str | Sequence[str] | None = None, *, say: Callable[[str], None] = print) -> int:
    """Migrate the warehouse, ensure the roles, print a summary (roles and counts, no personal data).
    Returns 0, also when some step could only be warned about: what this login may not do is the
    database administrator's, and each WARNING line says what to run."""
    from aiguillage import warehouse
    from aiguillage.roles.ensure import ensure_roles
    from aiguillage.roles.names import agency_code

    try:
        codes = parse_agency_codes(agencies)
        if codes is not None:
            codes = [agency_code(code) for code in codes]
    except ValueError as error:
        say(f"error: {error}")
        return 2
    with warehouse.connect() as conn:
        warehouse.migrate(conn)
        summary = ensure_roles(conn, codes)
    for line in summary_lines(summary):
        say(line)
    return 0


def summary_lines(summary: dict) -> list[str]:
    """The summary of ensure_roles in plain words, one line per role state."""
    by_state: dict[str, list[str]] = {}
    for role, state in summary["roles"].items():
        by_state.setdefault(state, []).append(role)
    lines = [f"Roles of the warehouse (as {summary['login']}):"]
    for state in ("created", "present", "missing"):
        if by_state.get(state):
            lines.append(f"  {state:<9} {len(by_state[state]):>3}: {', '.join(sorted(by_state[state]))}")
    lines.append(f"  agencies reading the schema agences: {len(summary['agencies'])}"
                 + (f" ({', '.join(summary['agencies'])})" if summary["agencies"] else ""))
    for role, fate in sorted(summary["retired"].items()):
        lines.append(f"  retired   {role}: {fate}")
    lines.append(f"  privileges granted: {summary['granted']}, revoked: {summary['revoked']}"
                 + (" (nothing to change)" if not summary["granted"] and not summary["revoked"] else ""))
    lines.extend(f"WARNING: {warning}" for warning in summary["warnings"])
    return lines
