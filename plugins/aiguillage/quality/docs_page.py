"""The gate's Data Docs, rendered by us: one self-contained HTML page per checkpoint run and an index.

Great Expectations' own Data Docs load Bootstrap, jQuery and fonts from public CDNs: on the
Département's closed network they show an unstyled page with no results table. These pages hold
their CSS inline, no script, no image and no external URL (a Content-Security-Policy forbids any
fetch), so they read the same offline, from a file share or an archive.

They show what the gate keeps (quality.findings): per expectation, its French description, type,
column, severity, outcome and counts; an observed value only when it is a number; for the agency
suite, the failing lines per agency code. Never a value read from a personal column.
"""

from __future__ import annotations

import os
import shutil
from html import escape
from pathlib import Path

from aiguillage.quality import findings
from aiguillage.run_report import french

INDEX = "index.html"
PAGE_PREFIX = "controles_"
# What an earlier version of the gate left here: Great Expectations' own site (CDN-bound pages).
_GX_SITE_PARTS = ("index.html", "validations", "expectations", "static")

CHECKPOINT_TITLES = {
    "gate_day": "Lignes d'extrait du jour",
    "gate_sources": "Sources chargées du jour",
    "gate_agencies": "Lignes d'extrait, par structure destinataire",
    "naive_day": "Lignes d'extrait du jour (variante pandas)",
    "naive_agencies": "Lignes d'extrait par structure (variante pandas)",
}
SEVERITY = {"blocking": "bloquant", "warning": "avertissement"}
CSP = "default-src 'none'; style-src 'unsafe-inline'"
CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px; padding: 0 1rem;
       color: #1b1b1b; line-height: 1.4; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; border-bottom: 2px solid #ccc; margin-top: 2rem; }
table { width: 100%; border-collapse: collapse; margin: .6rem 0 1rem; font-size: .92rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } td.n { text-align: right; white-space: nowrap; }
.echec { color: #8e1111; font-weight: 600; } .reussi { color: #1b5e20; } .non-evalue { color: #8a5300; }
.meta { color: #555; }
"""


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>{body}</main></body></html>\n")


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def clear(docs_dir: Path) -> None:
    """A new gate run starts afresh: this folder's pages from an earlier run of the day go."""
    for page in docs_dir.glob(f"{PAGE_PREFIX}*.html"):
        page.unlink()
    for name in _GX_SITE_PARTS:
        part = docs_dir / name
        if part.is_dir():
            shutil.rmtree(part)
        elif part.is_file():
            part.unlink()


def _outcome(result) -> tuple[str, str]:
    raised = bool((result.exception_info or {}).get("raised_exception"))
    if raised:
        return "non-evalue", "non évalué (erreur à l'exécution, voir les journaux)"
    return ("reussi", "réussi") if result.success else ("echec", "échec")


def _observed(result: dict) -> str:
    value = result.get("observed_value")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return french.number_html(value)
    return "—"


def _by_agency(result) -> str:
    counts = None if result.success else findings.attributed_counts(result)
    if not counts:
        return "—"
    return ", ".join(f"{escape(str(code))} : {french.number_html(n)}" for code, n in sorted(
        counts.items(), key=lambda item: str(item[0])))


def _suite_section(suite_result) -> str:
    statistics = suite_result.statistics or {}
    rows = []
    for result in suite_result.results:
        config = result.expectation_config
        css, words = _outcome(result)
        detail = result.result or {}
        rows.append(
            "<tr>"
            f"<th scope=\"row\">{escape(config.meta.get('description_fr') or config.type)}</th>"
            f"<td><code>{escape(config.type)}</code></td>"
            f"<td>{escape(findings.column_of(config.kwargs) or '—')}</td>"
            f"<td>{escape(SEVERITY.get(config.meta.get('severity'), str(config.meta.get('severity'))))}</td>"
            f'<td class="{css}">{escape(words)}</td>'
            f"<td class=\"n\">{french.number_html(detail.get('unexpected_count'))}</td>"
            f"<td class=\"n\">{french.number_html(detail.get('unexpected_percent'), 2)}</td>"
            f'<td class="n">{_observed(detail)}</td>'
            f"<td>{_by_agency(result)}</td>"
            "</tr>")
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in (
        "Contrôle", "Attente", "Colonne", "Gravité", "Résultat", "Lignes en écart", "% en écart", "Observé",
        "Lignes en écart par structure"))
    verdict = "tous réussis" if suite_result.success else "au moins un contrôle en échec"
    return (f'<section id="suite-{escape(suite_result.suite_name)}" class="suite">'
            f"<h2>Suite {escape(suite_result.suite_name)}</h2>"
            f"<p>{french.number_html(statistics.get('evaluated_expectations'))} contrôle(s) évalué(s),"
            f" {french.number_html(statistics.get('successful_expectations'))} réussi(s),"
            f" <span class=\"{'reussi' if suite_result.success else 'echec'}\">"
            f"{french.number_html(statistics.get('unsuccessful_expectations'))} en échec</span> : {verdict}.</p>"
            f"<table><caption>Chaque contrôle de la suite et son résultat</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>")


def write_checkpoint_page(docs_dir: Path, checkpoint: str, run_name: str, day, suite_results: list) -> Path:
    """The page of one checkpoint run: every suite it validated. Returns its path."""
    title = f"Contrôles qualité — {CHECKPOINT_TITLES.get(checkpoint, checkpoint)}"
    when = f" — {french.day(day)}" if day is not None else ""
    body = (f"<h1>{escape(title)}{escape(when)}</h1>"
            f'<p class="meta">Passage {escape(run_name)}, point de contrôle <code>{escape(checkpoint)}</code>.'
            ' <a href="index.html">Tous les contrôles de la journée</a></p>'
            + "".join(_suite_section(result) for result in suite_results))
    path = Path(docs_dir) / f"{PAGE_PREFIX}{checkpoint}.html"
    _write(path, _page(title + when, body))
    return path


def write_index(docs_dir: Path, run_name: str, pages: list[tuple[str, Path, list]]) -> Path:
    """The index of the checkpoint pages of this gate run: (checkpoint, page, suite results)."""
    rows = []
    for checkpoint, page, results in pages:
        failed = sum(1 for result in results for r in result.results if not r.success)
        evaluated = sum(len(result.results) for result in results)
        rows.append(
            f'<tr><th scope="row"><a href="{escape(page.name)}">'
            f"{escape(CHECKPOINT_TITLES.get(checkpoint, checkpoint))}</a></th>"
            f"<td>{escape(', '.join(result.suite_name for result in results))}</td>"
            f'<td class="n">{french.number_html(evaluated)}</td>'
            f'<td class="n {"echec" if failed else "reussi"}">{french.number_html(failed)}</td></tr>')
    head = "".join(f'<th scope="col">{h}</th>' for h in ("Point de contrôle", "Suites", "Contrôles", "En échec"))
    table = (f"<table><caption>Points de contrôle du passage</caption><thead><tr>{head}</tr></thead>"
             f"<tbody>{''.join(rows)}</tbody></table>") if rows else "<p>Aucun point de contrôle n'a tourné.</p>"
    title = "Contrôles qualité de la journée"
    body = (f"<h1>{escape(title)}</h1><p class=\"meta\">Passage {escape(run_name)}. Pages produites par le"
            " pipeline, lisibles sans réseau.</p>" + table)
    path = Path(docs_dir) / INDEX
    _write(path, _page(title, body))
    return path
