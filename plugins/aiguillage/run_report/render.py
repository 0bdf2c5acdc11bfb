"""The run report as one self-contained HTML page, in French for the Département's staff: inline CSS,
inline SVG, no script, no external URL.

Every value goes through ``html.escape``. The page only shows what the report holds: counts, codes,
file names and expectation names. Dates read "4 novembre 2026" and numbers "1 234" or "12,5" (each
number sits in a ``<data>`` element whose ``value`` keeps the machine form); the JSON beside the page
keeps its English keys, ISO dates and plain numbers.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from html import escape
from pathlib import Path
from urllib.parse import quote

from aiguillage.extracts.columns import MOVEMENT_TYPES
from aiguillage.run_report import french
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

# The report's codes (JSON values) in the words the page shows.
STATUS = {"complete": "Terminée", "withheld": "Extraits retenus", "failed": "En échec"}
EXTRACT_STATE = {"delivered": "livré", "already_delivered": "déjà livré", "withheld": "retenu",
                 "failed": "en échec"}
FILE_STATUS = {"loaded": "chargé", "loaded_with_rejects": "chargé avec rejets", "quarantined": "en quarantaine",
               "refused": "refusé", "duplicate": "doublon", "registered": "enregistré, non chargé"}
TASK_STATE = {"success": "réussie", "failed": "en échec", "up_for_retry": "à relancer",
              "upstream_failed": "amont en échec", "skipped": "sautée", "running": "en cours"}
VERDICT = {"pass": "conforme", "warn": "avertissement", "withhold": "retenu"}
SEVERITY = {"blocking": "bloquant", "warning": "avertissement"}
SCOPE = {"day": "jour", "all": "tout", "agency": "structure", "day's files": "fichiers du jour"}
METHOD = {"outbox": "dépôt (outbox)", "sftp": "SFTP"}
CHAIN_STATE = {"success": "réussi", "failed": "en échec", "not_run": "non lancé"}
DAG_LABEL = {
    "landing_registry": "Enregistrement des fichiers reçus", "caf_ingestion": "Chargement des flux CAF",
    "france_travail_ingestion": "Chargement des fichiers France Travail",
    "ali_ingestion": "Chargement des comptes rendus des structures",
    "departement_ingestion": "Chargement des décisions du Département",
    "referral_warehouse": "Construction de l'entrepôt (dbt)",
    "referral_extracts": "Contrôle qualité et extraits des structures",
}
_ENDED = re.compile(r"^ended (\w+)(?: \((.+)\))?$")


def _e(value) -> str:
    return "" if value is None else escape(str(value))


def _n(value) -> str:
    return french.number_html(value)


def _word(mapping: dict, code) -> str:
    """The page's word for a code, the code itself when the page has none."""
    return _e(mapping.get(code, code))


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


def _counts(by_key: dict, words: dict | None = None) -> str:
    return ", ".join(f"{_word(words or {}, key)} {_n(n)}" for key, n in sorted(by_key.items())) or "—"


def _detail(by_key: dict) -> str:
    """Counts by key under a total, one per line."""
    return "".join(f"<br><small>{_e(key)} {_n(n)}</small>" for key, n in by_key.items())


def _absent(text: str) -> str:
    return f'<p class="absent">{escape(text)}</p>'


def _badge(prefix: str, code, words: dict) -> str:
    return f'<span class="{prefix}-{_e(code)}">{_word(words, code)}</span>'


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
    return _e(code) if code else "toutes les structures"


def _what(what) -> str:
    """'task dag.task' / 'extract ALI01' (the JSON's words) as the page says them."""
    text = str(what or "")
    if text.startswith("task "):
        return "tâche " + _e(text[5:])
    if text.startswith("extract "):
        return "extrait de " + _e(text[8:])
    return _e(text)


def _ended(reason) -> str:
    """'ended failed (MissingKeyError)' as 'terminée en échec (MissingKeyError)'."""
    match = _ENDED.match(str(reason or ""))
    if not match:
        return _e(reason) or "aucune raison donnée"
    state, error = match.groups()
    return "terminée " + _word(TASK_STATE, state) + (f" ({_e(error)})" if error else "")


def _failure_items(report: dict) -> list[str]:
    causes = report.get("failure_causes") or {}
    items = []
    for failure in report.get("failed") or []:
        cause = causes.get(failure.get("what"))
        why = f" — cause : {_e(cause)}" if cause else ""
        items.append(f"<li>En échec — {_what(failure.get('what'))} : {_ended(failure.get('reason'))}{why}</li>")
    return items


def _stopped_at(report: dict) -> str | None:
    """The first DAG of the chain that failed when the day stopped before the extracts."""
    chain = report.get("chain") or []
    extracts = next((c for c in chain if c["dag_id"] == "referral_extracts"), None)
    if extracts is None or extracts["state"] != "not_run":
        return None
    return next((c["dag_id"] for c in chain if c["state"] == "failed"), None)


def _headline(report: dict) -> str:
    extracts = report.get("extracts") or []
    delivered = sum(1 for e in extracts if e["state"] in ("delivered", "already_delivered"))
    status = report["status"]
    lines = []
    stopped = _stopped_at(report)
    if status == "complete" and extracts:
        css, words = "ok", f"✔ Journée terminée : les {delivered} extraits des structures sont livrés."
    elif status == "complete":
        css, words = "neutral", "Aucun extrait de structure n'a été produit pour cette journée."
    else:
        css = "bad"
        label = "✖ En échec" if status == "failed" else "✖ Extraits retenus"
        if stopped:
            words = (f"{label} : la chaîne s'est arrêtée à « {DAG_LABEL.get(stopped, stopped)} » ({stopped}) ;"
                     f" aucun extrait n'a été produit ce jour. {french.plural(len(report['failed']), 'échec')}.")
        else:
            words = (f"{label} : {french.plural(len(report['withheld']), 'extrait retenu', 'extraits retenus')},"
                     f" {french.plural(len(report['failed']), 'échec')} ;"
                     f" {french.number(delivered)} extrait(s) livré(s) sur {french.number(len(extracts))}.")
        lines = [f"<li>Retenu — {_agency(w['code_structure'])} : {_e(w['reason']) or 'aucune raison donnée'}</li>"
                 for w in report["withheld"]]
        lines += _failure_items(report)
    items = f"<ul>{''.join(lines)}</ul>" if lines else ""
    return (f'<section class="headline {css}" id="headline" aria-label="Bilan de la journée">'
            f"<p>{escape(words)}</p>{items}</section>")


def _chain(report: dict) -> str:
    """What ran: each DAG of the day's chain, upstream first."""
    chain = report.get("chain") or []
    parts = ["<h2 id='chain'>Ce qui a tourné</h2>"]
    if not chain:
        return "".join(parts) + _absent("Aucune trace des traitements de la journée.")
    rows = [[escape(DAG_LABEL.get(c["dag_id"], c["dag_id"])), f"<code>{_e(c['dag_id'])}</code>",
             _badge("state", c["state"], CHAIN_STATE), _n(c["tasks"]),
             ", ".join(_e(name) for name in c.get("failed_tasks") or []) or "—"] for c in chain]
    return "".join(parts) + _table("Chaque traitement de la chaîne du jour, dans l'ordre",
                                   ["Traitement", "DAG", "État", "Tâches", "Tâches en échec"], rows, {3})


def _alerts(report: dict) -> str:
    """The alerts sent for the day, with the same counts as the alerts themselves."""
    part = report.get("alerts")
    parts = ["<h2 id='alerts'>Alertes envoyées</h2>"]
    if part is None:
        return "".join(parts) + _absent("Les alertes ne sont pas consignées dans ce rapport.")
    run_alert = part.get("run_alert")
    if run_alert:
        parts.append(
            f"<p>Alerte de la journée ({_word(SEVERITY | {'error': 'erreur'}, run_alert.get('severity'))}) :"
            f" <strong>{_n(run_alert['withheld'])}</strong> extrait(s) non livré(s) (retenus ou en échec),"
            f" <strong>{_n(run_alert['quarantined'])}</strong> fichier(s) en quarantaine ou refusé(s).</p>")
    else:
        parts.append("<p>Pas d'alerte de la journée : aucun extrait non livré, aucun fichier en quarantaine.</p>")
    count = part.get("task_failures") or 0
    tasks = ", ".join(_e(name) for name in part.get("task_failure_tasks") or [])
    parts.append(f"<p>Alertes de tâche en échec : <strong>{_n(count)}</strong>"
                 + (f" ({tasks})" if tasks else "") + ".</p>")
    return "".join(parts)


def _files(report: dict) -> str:
    files = report["files"]
    parts = ["<h2 id='files'>Fichiers de la journée</h2>"]
    if not files["items"]:
        return "".join(parts) + _absent("Aucun fichier n'a été enregistré pour cette journée.")
    parts.append(f"<p>{_n(files['count'])} fichier(s) : {_counts(files['by_status'], FILE_STATUS)}.</p>")
    rows = [[
        f'<span class="path">{_e(f["relative_path"])}</span>', " ".join(_e(v) for v in (f["source"], f["kind"]) if v),
        _e(f["agency_code"]), _n(f["size_bytes"]), _badge("status", f["status"], FILE_STATUS), _e(f["reason"]),
        _n(f["rows_loaded_total"]) + _detail(f["rows_loaded"]), _n(f["rejects_total"]) + _detail(f["rejects"]),
        _n(f["load_seconds"]),
    ] for f in files["items"]]
    parts.append(_table("Chaque fichier enregistré par les traitements du jour, et ce qu'il est devenu",
                        ["Fichier", "Source", "Structure", "Octets", "État", "Raison", "Lignes chargées",
                         "Lignes rejetées", "Chargement (s)"], rows, {3, 6, 7, 8}))
    return "".join(parts)


def _layers(report: dict) -> str:
    rows = []
    for layer in report["layers"]:
        if not layer["built"]:
            rows.append([_e(layer["table"]), _e(layer["layer"]), _word(SCOPE, layer["scope"]),
                         '<span class="absent">non construite</span>', ""])
            continue
        note = _counts(layer["detail"]) if layer["detail"] else ""
        if layer.get("built_for"):
            note += (f" (lignes construites pour le {', '.join(_e(french.day(d)) for d in layer['built_for'])},"
                     " pas pour ce jour)")
        if layer["rows"] is None:
            note += " comptage trop long, laissé de côté"
        rows.append([_e(layer["table"]), _e(layer["layer"]), _word(SCOPE, layer["scope"]), _n(layer["rows"]), note])
    return ("<h2 id='layers'>Lignes par couche</h2>"
            + _table("Comptages exacts (les fichiers du jour pour les tables brutes, le jour pour les tables"
                     " datées)", ["Table", "Couche", "Portée", "Lignes", "Détail"], rows, {3}))


def _findings_rows(findings: list[dict], agency: str, report_dir: Path | None) -> list[list[str]]:
    return [[
        _e(f["expectation"]), agency, _word(SCOPE, f["scope"]), _e(f["suite"]), _e(f["column"]),
        _badge("sev", f["severity"], SEVERITY), _n(f["unexpected_count"]),
        _n(f["observed"]), _e(f["description"]), _link(f["data_docs"], report_dir),
    ] for f in findings]


def _gate(report: dict, report_dir: Path | None) -> str:
    gate = report["gate"]
    parts = ["<h2 id='gate'>Contrôle qualité</h2>"]
    if not gate.get("ran"):
        return "".join(parts) + _absent("Le contrôle qualité n'a pas tourné pour cette journée.")
    parts.append(
        f"<p>Verdict de la journée : <strong>{_word(VERDICT, gate['day_verdict'])}</strong>. Contrôles évalués :"
        f" {_n(gate['expectations_run'])}, en échec : {_n(gate['expectations_failed'])}."
        f" Durée : {_n(gate['seconds'])} s. {_link(gate['data_docs'], report_dir, 'Ouvrir les Data Docs')}</p>")
    rows = _findings_rows(gate["day_findings"], "toute la journée", report_dir)
    for code, entry in gate["agencies"].items():
        rows += _findings_rows(entry["findings"], _e(code), report_dir)
    if rows:
        parts.append(_table("Contrôles en échec", ["Contrôle", "Structure", "Portée", "Suite", "Colonne",
                                                   "Gravité", "Lignes en écart", "Observé", "Description",
                                                   "Data Docs"], rows, {6, 7}))
    else:
        parts.append("<p>Aucun contrôle en échec.</p>")
    if gate["agencies"]:
        parts.append(_table("Verdict par structure", ["Structure", "Verdict", "Lignes contrôlées", "Constats"], [
            [_e(code), _badge("state", e["verdict"], VERDICT), _n(e["rows"]), _n(len(e["findings"]))]
            for code, e in gate["agencies"].items()], {2, 3}))
    return "".join(parts)


def _extracts(report: dict) -> str:
    parts = ["<h2 id='extracts'>Extraits par structure</h2>"]
    if not report["extracts"]:
        stopped = _stopped_at(report)
        if stopped:
            return "".join(parts) + _absent(
                f"Aucun extrait pour cette journée : la chaîne s'est arrêtée avant (« {DAG_LABEL.get(stopped, stopped)} »"
                " en échec). Aucune structure n'a rien reçu ; les extraits partiront au prochain passage réussi.")
        return "".join(parts) + _absent("Aucun extrait de structure pour cette journée.")
    rows = []
    for item in report["extracts"]:
        by_file = {f["fichier"]: f for f in item["files"]}
        movements = by_file.get("mouvements", {})
        by_type = movements.get("rows_by_type") or {}
        rows.append([
            _e(item["code_structure"]), _e(item["libelle"]), _badge("state", item["state"], EXTRACT_STATE),
            _e(item["reason"]), _word(METHOD, item["method"]),
            _n(movements.get("rows")) + (_detail({t: by_type.get(t, 0) for t in MOVEMENT_TYPES}) if movements else ""),
            _n(by_file.get("stock", {}).get("rows")),
            "<br>".join(f'<span class="path">{_e(f["file_name"])}</span>' for f in item["files"] if f["file_name"]),
        ])
    return "".join(parts) + _table(
        "L'extrait de chaque structure : état, lignes par mouvement et fichiers",
        ["Structure", "Nom", "État", "Raison", "Envoi", "Mouvements", "Stock", "Fichiers"], rows, {5, 6})


# The sends' fates, as run_report.collect gives them (send_orientations.summary_for_day), in the page's words.
_FT_SEND_LABELS = (("sent", "Envoyées (acceptées par France Travail)"), ("refused", "Refusées par France Travail"),
                   ("not_found", "Personne introuvable (S002, S003)"), ("access_refused", "Accès refusé (R001)"),
                   ("unknown_address", "Pas d'adresse chez France Travail (R998)"),
                   ("errors", "Erreurs, nouvel essai prévu"),
                   ("uncertain", "Incertaines : France Travail les a peut-être reçues, pas de nouvel envoi sans"
                                 " un opérateur"))


def _france_travail(report: dict) -> str:
    part = report.get("france_travail") or {}
    parts = ["<h2 id='france-travail'>API partenaire France Travail</h2>"]
    if not part.get("built"):
        return "".join(parts) + _absent("La table des échanges avec l'API France Travail n'existe pas encore.")
    lookups, sends = part.get("lookups") or {}, part.get("sends") or {}
    if not lookups and not sends:
        return "".join(parts) + _absent(
            "Aucun échange avec France Travail ce jour (pas de connexion france_travail_api, ou rien à faire).")
    if lookups:
        parts.append(_table("Personnes recherchées (recherche, puis lecture de l'orientation chez France Travail),"
                            " par résultat", ["Résultat", "Personnes"],
                            [[_e(outcome), _n(n)] for outcome, n in sorted(lookups.items())], {1}))
    if sends:
        parts.append(_table("Les orientations du Département envoyées à France Travail", ["Sort", "Orientations"],
                            [[escape(label), _n(sends.get(key, 0))] for key, label in _FT_SEND_LABELS], {1}))
    else:
        parts.append(_absent("Aucune orientation n'a été envoyée à France Travail ce jour."))
    return "".join(parts)


def _proposals(report: dict, report_dir: Path | None) -> str:
    """The orientation team's side of the day: what waits for a decision, and what the day decided."""
    from aiguillage.extracts.waiting_proposals import FILE_NAME, FOLDER

    part = report.get("proposals") or {}
    parts = ["<h2 id='proposals'>Propositions d'orientation et décisions</h2>"]
    if not part.get("built"):
        return "".join(parts) + _absent(
            "Les propositions ne sont pas encore construites (marts.orientation_proposals).")
    oldest = part.get("oldest_days")
    parts.append(
        f"<p><strong>{_n(part['waiting'])}</strong> proposition(s) attendent la décision de l'équipe"
        " d'orientation"
        + (f", la plus ancienne depuis {_n(oldest)} jour(s) ; {_n(part['waiting_long'])} depuis plus de"
           f" {_n(part['long_wait_days'])} jours" if part["waiting"] else "")
        + f". Faites ce jour : {_n(part['made_today'])}, dont {_n(part['validated_automatically'])} validée(s)"
          " automatiquement par leur règle (décidées par POLITIQUE_AUTOMATIQUE, notifiées le jour même).</p>")
    if report_dir is not None:
        waiting_list = report_dir.parent.parent / FOLDER / str(report["day"]) / FILE_NAME
        if waiting_list.is_file():
            relative = f"../../{FOLDER}/{report['day']}/{FILE_NAME}"  # the report lies in <outbox>/_runs/<day>/
            parts.append(f"<p>La liste de l'équipe : {_link(relative, None, FILE_NAME)}"
                         " (remplir les colonnes de décision et la redéposer comme fichier de décisions).</p>")
    if part["waiting_by_rule"]:
        parts.append(_table("En attente de décision, par règle (le motif que lit l'équipe)",
                            ["Règle", "Motif", "En attente", "Plus ancienne (jours)"],
                            [[_e(r["code_regle"]), _e(r["libelle_regle"]), _n(r["waiting"]), _n(r["oldest_days"])]
                             for r in part["waiting_by_rule"]], {2, 3}))
    decided = part.get("decided_today") or {}
    parts.append(_table("Décidé ce jour par l'équipe d'orientation",
                        ["Décision", "Propositions"],
                        [[_e(status), _n(n)] for status, n in decided.items()]
                        + [["CADUQUE (remplacée, ou plus personne à orienter)", _n(part.get("obsolete_today"))]],
                        {1}))
    rejected = part.get("decisions_rejected") or {}
    if rejected:
        parts.append(_table("Lignes de décision rejetées par l'entrepôt (les rejets du lecteur sont sous Fichiers)",
                            ["Raison", "Lignes"], [[_e(code), _n(n)] for code, n in rejected.items()], {1}))
    return "".join(parts)


def _identities(report: dict) -> str:
    """How the day's people were recognised, and the NIRs seen with two birth dates to check."""
    part = report.get("identities") or {}
    parts = ["<h2 id='identities'>Identités</h2>"]
    if not part.get("built"):
        return "".join(parts) + _absent(
            "La table de correspondance des identités n'est pas encore construite (history.person_identity_map).")
    linked = part.get("linked_today") or {}
    if linked:
        parts.append(_table("Personnes dont la clé d'identité a été rattachée ce jour, par règle (NIR_APPARU,"
                            " NIR_CERTIFIE, NIR_MODIFIE : un NIR est apparu ou a changé et la personne a gardé"
                            " son identifiant)",
                            ["Règle", "Personnes"], [[_e(rule), _n(n)] for rule, n in linked.items()], {1}))
    else:
        parts.append("<p>Aucune clé d'identité rattachée ce jour.</p>")
    parts.append("<p>Clés d'identité reportées ce jour sur une personne plus ancienne (deux fiches d'une même"
                 " personne réunies sous l'identifiant de la première) :"
                 f" <strong>{_n(part.get('moved_to_earlier_person'))}</strong>.</p>")
    anomalies = part.get("nir_two_birth_dates") or {}
    parts.append(
        f"<p><strong>{_n(anomalies.get('total'))}</strong> NIR vu(s) avec deux dates de naissance ou plus (chaque"
        f" date reste une personne distincte), dont {_n(anomalies.get('current'))} encore avec deux dates dans les"
        f" dossiers en cours, {_n(anomalies.get('new_today'))} nouveau(x) ce jour. Les NIR et dossiers sont dans la"
        " vue restreinte identifiants.identifiants__nir_anomalies ; que faire : runbook, « A NIR seen with two"
        " birth dates ».</p>")
    items = anomalies.get("items") or []
    if items:
        parts.append(_table(f"NIR vus avec deux dates de naissance (les {len(items)} plus récents)",
                            ["Vu le", "Personnes (person_id)", "Dates de naissance", "Encore dans les dossiers"
                             " en cours"],
                            [[_e(french.short_day(item["seen_on"])), "<br>".join(_e(pid) for pid in item["person_ids"]),
                              _n(item["birth_dates"]), _n(item["current_dates"])] for item in items], {2, 3}))
    return "".join(parts)


def _agency_reports(report: dict) -> str:
    """What the structures told back that day, per structure and event, and the lines rejected."""
    part = report.get("agency_reports") or {}
    parts = ["<h2 id='agency-reports'>Comptes rendus des structures</h2>"]
    if not part.get("built"):
        return "".join(parts) + _absent("La table des comptes rendus n'existe pas encore (raw.ali_report_line).")
    events, rejects = part.get("by_event") or {}, part.get("rejects") or {}
    if not events and not rejects:
        return "".join(parts) + _absent("Aucun compte rendu de structure chargé pour cette journée.")
    labels = part.get("labels") or {}
    parts.append(_table("Événements rapportés ce jour, toutes structures (rendez-vous, contrats, sorties, …)",
                        ["Événement", "Libellé", "Lignes"],
                        [[_e(code), _e(labels.get(code)), _n(n)] for code, n in events.items()], {2}))
    rows = [[_e(a["code_structure"]), "<br>".join(f"{_e(code)} {_n(n)}" for code, n in a["events"].items()) or "—",
             _n(sum(a["events"].values())), _n(sum(a["rejects"].values())),
             "<br>".join(f"{_e(code)} {_n(n)}" for code, n in a["rejects"].items()) or "—"]
            for a in part.get("by_agency") or []]
    parts.append(_table("Par structure : lignes chargées par événement, lignes rejetées par raison (chaque"
                        " structure reçoit ses rejets en retour)",
                        ["Structure", "Événements", "Lignes chargées", "Lignes rejetées", "Raisons"], rows, {2, 3}))
    return "".join(parts)


def _referrals_chart(report: dict) -> str:
    referrals = report["referrals"]
    parts = ["<h2 id='referrals'>Orientations ouvertes par structure</h2>"]
    if not referrals["built"]:
        return "".join(parts) + _absent(
            "Entrepôt des orientations non construit : marts.referrals n'existe pas encore.")
    items = [(r["code_structure"] or "en attente de structure", r["open"]) for r in referrals["by_agency"]]
    total = sum(n for _, n in items)
    chart = bar_chart("chart-referrals", items, title="Orientations ouvertes par structure",
                      desc=f"Barres horizontales : les orientations ouvertes suivies par chacune des {len(items)}"
                           f" structures, {french.number(total)} en tout ; le nombre figure au bout de chaque"
                           " barre.")
    return "".join(parts) + (f"<figure><figcaption>Orientations ouvertes par structure ({_n(total)})</figcaption>"
                             f"{chart}</figure>")


def _deadlines(report: dict) -> str:
    deadlines = report["deadlines"]
    parts = ["<h2 id='deadlines'>Délais</h2>"]
    if not deadlines["built"]:
        parts.append(_absent("Entrepôt des orientations non construit : marts.referrals n'existe pas encore."))
    else:
        rows = [[_e(t["code_territoire"] or "sans territoire"), _e(t["nom_territoire"]), _n(t["open"]),
                 _n(t["past_orientation"]), _n(t["past_contract"])] for t in deadlines["by_territory"]]
        totals = deadlines["totals"]
        if rows:
            rows.append(["Tous les territoires", "", _n(totals["open"]), _n(totals["past_orientation"]),
                         _n(totals["past_contract"])])
        parts.append(_table("Orientations ouvertes en dépassement de délai, par territoire",
                            ["Territoire", "Nom", "Orientations ouvertes", "Délai d'orientation dépassé",
                             "Délai de contrat dépassé"], rows, {2, 3, 4}))
    if not deadlines["history_built"]:
        return "".join(parts) + _absent(
            "Historique des délais non construit : marts.referral_daily_indicators n'existe pas encore.")
    history = deadlines["history"]
    if not history:
        return "".join(parts) + _absent("Aucun indicateur quotidien sur les 60 derniers jours.")
    days = [h["jour"] for h in history]
    chart = line_chart(
        "chart-deadlines", days,
        [("Délai d'orientation dépassé", [h["past_orientation"] for h in history]),
         ("Délai de contrat dépassé", [h["past_contract"] for h in history])],
        title="Orientations ouvertes en dépassement de délai, jour par jour",
        desc=f"Deux courbes sur {len(days)} jour(s), du {french.day(days[0])} au {french.day(days[-1])} :"
             " délai d'orientation dépassé (trait plein, ronds), dernière valeur"
             f" {french.number(history[-1]['past_orientation'])} ; délai de contrat dépassé (tirets, carrés),"
             f" dernière valeur {french.number(history[-1]['past_contract'])}.")
    return "".join(parts) + ("<figure><figcaption>Dépassements de délai sur les 60 derniers jours</figcaption>"
                             f"{chart}</figure>")


def _clock(value) -> str:
    """HH:MM:SS of an ISO timestamp (the report's times are UTC)."""
    text = "" if value is None else str(value)
    return _e(text[11:19]) if len(text) >= 19 else _e(text)


def _task_label(task: dict) -> str:
    label = task.get("label")
    return _e(task.get("task_id")) + (f"[{_e(label)}]" if label else "")


def _state(state) -> str:
    return _badge("state", state, TASK_STATE)


def _tasks(report: dict) -> str:
    parts = ["<h2 id='tasks'>Durée des tâches</h2>"]
    not_included = ", ".join(report.get("tasks_not_included") or [])
    parts.append(
        "<p>Chaque essai de chaque tâche des passages du jour, tel que la tâche l'a consigné en se terminant"
        " (table <code>registry.task_run</code>), dans l'ordre de la chaîne du jour. Heures en UTC."
        + (f" La tâche qui écrit ce rapport ({_e(not_included)}) tourne encore quand elle l'écrit :"
           " sa propre durée n'est pas dans le rapport, seulement dans <code>registry.task_run</code>."
           if not_included else
           " Ce rapport a été écrit à l'échec d'une tâche, avant les extraits : il est remplacé par celui du"
           " prochain passage de la journée.")
        + "</p>")
    tasks = report["tasks"]
    if not tasks:
        return "".join(parts) + _absent("Aucune durée de tâche consignée.")
    runs = report.get("task_runs") or []
    if runs:
        parts.append(_table("Chaque passage de DAG de la journée", [
            "DAG", "Passage", "Tâches", "Essais", "Relances", "En échec", "Début", "Fin", "Durée réelle (s)",
            "Temps des tâches (s)"], [[
                _e(r["dag_id"]), _e(r["run_id"]), _n(r["tasks"]), _n(r["tries"]), _n(r["retries"]), _n(r["failed"]),
                _clock(r["started_at"]), _clock(r["ended_at"]), _n(r["wall_seconds"]), _n(r["task_seconds"]),
            ] for r in runs], {2, 3, 4, 5, 8, 9}))
    slowest = report.get("slowest_tasks") or []
    if slowest:
        parts.append(_table("Les essais les plus longs de la journée", ["Tâche", "DAG", "Essai", "État", "Secondes"], [
            [_task_label(t), _e(t["dag_id"]), _n(t.get("try_number")), _state(t["state"]), _n(t["seconds"])]
            for t in slowest], {2, 4}))
    rows = [[_task_label(t), _e(t["dag_id"]), _n(t.get("try_number")), _state(t["state"]),
             _clock(t.get("started_at")), _n(t["seconds"]), _e(t.get("error_type")), _e(t.get("hostname"))]
            for t in tasks]
    total = sum(t["seconds"] or 0 for t in tasks)
    rows.append(["Tous les essais", "", "", "", "", _n(float(total)), "", ""])
    return "".join(parts) + _table("Chaque essai, dans l'ordre de la chaîne du jour",
                                   ["Tâche", "DAG", "Essai", "État", "Début", "Secondes", "Type d'erreur", "Hôte"],
                                   rows, {2, 5})


def render(report: dict, report_dir: Path | None = None) -> str:
    """The HTML page of ``report``; links to Data Docs are made relative to ``report_dir`` when inside it."""
    title = f"Aiguillage — rapport de la journée du {french.day(report['day'])}"
    body = "".join([
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">Passage {_e(report["run_id"])}, rapport produit le {_e(french.moment(report["generated_at"]))}.'
        f" État : <strong>{_word(STATUS, report['status'])}</strong>.</p>",
        _headline(report), _chain(report), _alerts(report), _files(report), _layers(report),
        _gate(report, report_dir), _extracts(report), _agency_reports(report), _france_travail(report),
        _proposals(report, report_dir),
        _referrals_chart(report), _deadlines(report), _identities(report), _tasks(report),
    ])
    return ("<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")
