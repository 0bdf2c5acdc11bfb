"""Inline SVG charts for the run report, drawn by hand so that the page needs no library and no script.

Each chart carries a <title> and a <desc> for screen readers, prints its values as text and tells its
series apart by line style and marker shape as well as by colour.
"""

from __future__ import annotations

from html import escape

from aiguillage.run_report.french import number as fr_number

_FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def _nice_max(value: int) -> int:
    """A round upper bound for an axis (1, 2, 5 × 10^n), at least 1."""
    if value <= 1:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _open(chart_id: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg id="{escape(chart_id)}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img"'
        f' aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
    ]


def bar_chart(chart_id: str, items: list[tuple[str, int]], *, title: str, desc: str) -> str:
    """Horizontal bars, one per label, the value printed at the end of each bar."""
    label_width, bar_space, row, top = 140, 440, 18, 8
    width, height = label_width + bar_space + 70, top * 2 + row * max(len(items), 1)
    top_value = _nice_max(max((value for _, value in items), default=0))
    parts = _open(chart_id, width, height, title, desc)
    parts.append(f'<g {_FONT}>')
    for index, (label, value) in enumerate(items):
        y = top + index * row
        length = 0 if not value else max(1, round(bar_space * value / top_value))
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{length}" height="{row - 6}" fill="#2b6cb0">'
            f'<title>{escape(label)}: {fr_number(value)}</title></rect>'
            f'<text x="{label_width + length + 5}" y="{y + 13}">{fr_number(value)}</text>'
        )
    parts.append(f'<line x1="{label_width}" y1="{top}" x2="{label_width}" y2="{height - top}" stroke="#333"/>')
    parts.append("</g></svg>")
    return "".join(parts)


# Series styles: a colour, a dash pattern and a marker, so that they differ without colour too.
_STYLES = (("#1a4e8a", "", "circle"), ("#b3541e", "6 4", "square"), ("#2f7d32", "2 3", "triangle"))


def _marker(shape: str, x: float, y: float, colour: str, tip: str) -> str:
    tooltip = f"<title>{escape(tip)}</title>"
    if shape == "square":
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{colour}">{tooltip}</rect>'
    if shape == "triangle":
        points = f"{x:.1f},{y - 4.5:.1f} {x - 4.5:.1f},{y + 3.5:.1f} {x + 4.5:.1f},{y + 3.5:.1f}"
        return f'<polygon points="{points}" fill="{colour}">{tooltip}</polygon>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">{tooltip}</circle>'


def line_chart(chart_id: str, days: list[str], series: list[tuple[str, list[int]]], *, title: str,
               desc: str) -> str:
    """One line per series over ``days`` (ISO dates), with a legend and a labelled value axis."""
    left, right, top, bottom = 56, 16, 34, 40
    width, height = 760, 280
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((v for _, values in series for v in values), default=0))
    step = plot_w / max(len(days) - 1, 1)

    def x_of(index: int) -> float:
        return left + (index * step if len(days) > 1 else plot_w / 2)

    def y_of(value: int) -> float:
        return top + plot_h - plot_h * value / top_value

    parts = _open(chart_id, width, height, title, desc)
    parts.append(f'<g {_FONT}>')
    for fraction in (0, 0.5, 1):
        tick = round(top_value * fraction)
        y = y_of(tick)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{fr_number(tick)}</text>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>'
                 f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#333"/>')
    label_every = max(1, len(days) // 8)
    for index, day in enumerate(days):
        last = index == len(days) - 1
        if (index % label_every == 0 and len(days) - 1 - index >= label_every / 2) or last:
            parts.append(f'<text x="{x_of(index):.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                         f'{escape(day[8:10] + "/" + day[5:7])}</text>')
    for number, (name, values) in enumerate(series):
        colour, dash, shape = _STYLES[number % len(_STYLES)]
        points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(values))
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        if len(values) > 1:
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        parts.extend(_marker(shape, x_of(i), y_of(v), colour, f"{name}, {days[i]}: {fr_number(v)}")
                     for i, v in enumerate(values))
        legend_x = left + number * 260
        parts.append(f'<line x1="{legend_x}" y1="14" x2="{legend_x + 28}" y2="14" stroke="{colour}"'
                     f' stroke-width="2"{dash_attr}/>'
                     + _marker(shape, legend_x + 14, 14, colour, name)
                     + f'<text x="{legend_x + 34}" y="18">{escape(name)}</text>')
    parts.append("</g></svg>")
    return "".join(parts)
