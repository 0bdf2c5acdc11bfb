"""How dates and numbers are written for the Département's staff: "4 novembre 2026", "1 234", "12,5".

Standard library only, and no locale: the pages read the same whatever the machine's settings.
The JSON beside each page keeps ISO dates and plain numbers.
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
# French groups thousands with a narrow no-break space: "1,234" would read as a decimal number.
THOUSANDS = "\u202f"


def _parse(value) -> date | datetime | None:
    if isinstance(value, datetime | date):
        return value
    text = str(value or "").strip()
    try:
        return datetime.fromisoformat(text) if len(text) > 10 else date.fromisoformat(text)
    except ValueError:
        return None


def day(value) -> str:
    """'4 novembre 2026' (1er for the first of the month); the text as given when it is not a date."""
    parsed = _parse(value)
    if parsed is None:
        return "" if value is None else str(value)
    number = "1er" if parsed.day == 1 else str(parsed.day)
    return f"{number} {MONTHS[parsed.month - 1]} {parsed.year}"


def short_day(value) -> str:
    """'04/11/2026', for table cells."""
    parsed = _parse(value)
    return parsed.strftime("%d/%m/%Y") if parsed is not None else ("" if value is None else str(value))


def moment(value) -> str:
    """'4 novembre 2026 à 14:05:09 UTC' for a timestamp (the reports' times are UTC)."""
    parsed = _parse(value)
    if not isinstance(parsed, datetime):
        return day(value)
    return f"{day(parsed)} à {parsed.strftime('%H:%M:%S')} UTC"


def number(value, decimals: int = 1) -> str:
    """'1 234' for a whole number, '12,5' for a decimal one, '—' for none."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return f"{value:,.{decimals}f}".replace(",", THOUSANDS).replace(".", ",")
    if isinstance(value, int):
        return f"{value:,}".replace(",", THOUSANDS)
    return str(value)


def number_html(value, decimals: int = 1) -> str:
    """A number for a page: French digits inside ``<data>``, whose ``value`` keeps the machine form."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return escape(number(value, decimals))
    return f'<data value="{value}">{escape(number(value, decimals))}</data>'


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 fichier', '3 fichiers' (French: 0 and 1 take the singular)."""
    return f"{number(count)} {word if count in (0, 1) else many or word + 's'}"
