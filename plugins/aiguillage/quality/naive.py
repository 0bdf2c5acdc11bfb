"""The naive variant of the gate, for the benchmark only: the day's extract lines pulled into a
pandas DataFrame (pd.read_sql) and the same suites run on a pandas datasource. Same answer shape.

Differences, by construction: the ``unexpected_rows_expectation`` checks are SQL over the warehouse
(volumes, reference joins) and are left out, with a note; the sources are not validated.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from aiguillage import config
from aiguillage.extracts.columns import EXTRACT_COLUMNS, LINES_TABLE
from aiguillage.quality import gate

_DATE_COLUMNS = ("date_extrait", "date_orientation", "date_naissance", "date_entree_droits_devoirs",
                 "date_limite_contrat", "date_limite_orientation", "date_notification", "date_contrat",
                 "date_debut_contrat_precedent", "date_fin_contrat_precedent")
# Explicit dtypes: codes such as code_postal or numero_caf stay strings (leading zeros kept).
_DTYPES = {column: "object" for column in ("fichier", *EXTRACT_COLUMNS) if column not in _DATE_COLUMNS}


def _sql_only_removed(suite: dict) -> dict:
    kept = {key: value for key, value in suite.items() if not key.startswith("_")}
    kept["expectations"] = [e for e in suite["expectations"] if e["type"] != "unexpected_rows_expectation"]
    return kept


def run_gate_naive(day: date, agencies: list[str], *, url: str | None = None, docs_dir: Path) -> dict:
    started = time.monotonic()
    url = url or config.warehouse_url()
    docs_dir = Path(docs_dir).resolve()
    docs_dir.mkdir(parents=True, exist_ok=True)
    plan = gate.prepare(day, agencies, url, "naive", sources=False)
    plan.private = [(scope, {**_sql_only_removed(suite), "_history": suite.get("_history", {})})
                    for scope, suite in plan.private]
    plan.agency_suite = _sql_only_removed(plan.agency_suite)
    plan.notes.append("naive variant: SQL-only checks (unexpected_rows_expectation) and sources not run")

    import great_expectations as gx
    import pandas as pd
    import sqlalchemy

    from aiguillage.quality import context as gx_context

    engine = sqlalchemy.create_engine(gx_context.sqlalchemy_url(url))
    with engine.connect() as connection:
        frame = pd.read_sql(
            sqlalchemy.text(f"SELECT * FROM {LINES_TABLE} WHERE date_extrait = :day"),  # noqa: S608 - constant table
            connection, params={"day": day}, dtype=_DTYPES,
        )
    engine.dispose()
    context = gx_context.new_context(docs_dir)
    datasource = context.data_sources.add_pandas("frames")

    def validation(suite: dict):
        asset = datasource.add_dataframe_asset(suite["name"])
        batch = asset.add_batch_definition_whole_dataframe(f"{suite['name']}_frame")
        gx_suite = gx_context.build_suite(context, suite)
        return context.validation_definitions.add(gx.ValidationDefinition(name=suite["name"], data=batch,
                                                                          suite=gx_suite))

    def run(name: str, suite: dict, result_format: dict) -> list:
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=name, validation_definitions=[validation(suite)], result_format=result_format, actions=[],
        ))
        outcome = checkpoint.run(batch_parameters={"dataframe": frame}, expectation_parameters=plan.parameters)
        results = list(outcome.run_results.values())
        page = gx_context.write_docs_page(context, name, "naive", day, results)
        return [(result, page) for result in results]

    private_results = run("naive_day", gate._without_private_keys(plan.private[0][1]), gate.PRIVATE_FORMAT)
    agency_results = run("naive_agencies", plan.agency_suite, gate.ATTRIBUTED_FORMAT)
    return gate.assemble(plan, private_results, agency_results, gx_context.docs_index(context), started,
                         gx.__version__, url)
