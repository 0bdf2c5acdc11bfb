"""Great Expectations plumbing: an ephemeral context, a SQL datasource on the warehouse, one query
asset and validation definition per suite, and the checkpoints that run them. Great Expectations is
imported inside these functions only.

The Data Docs are ours (quality.docs_page): a self-contained page per checkpoint run in the caller's
folder, readable with no network, where Great Expectations' own site fetches its styles and scripts
from public CDNs.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

# Where the context keeps its Data Docs folder and the pages written so far.
_DOCS = "aiguillage_docs"
DATASOURCE = "warehouse"


def sqlalchemy_url(url: str) -> str:
    """The warehouse URL for SQLAlchemy's psycopg2 driver. A unix-socket URL
    (``postgresql://user@/db?host=/dir``) stays as it is: ``add_sql`` accepts it, where
    ``add_postgres`` would reject the empty host."""
    scheme = urlsplit(url).scheme
    if scheme not in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        raise ValueError(f"the warehouse URL must be a postgresql:// URL, got scheme {scheme!r}")
    return "postgresql+psycopg2" + url[len(scheme):]


def new_context(docs_dir: Path):
    """An in-memory context; nothing is written but our Data Docs pages, under ``docs_dir`` (emptied of
    an earlier run's pages)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from aiguillage.quality import docs_page

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    for site in list(context.list_data_docs_sites()):
        context.delete_data_docs_site(site)  # the default site in a temporary folder: never built
    docs_dir = Path(docs_dir)
    docs_dir.mkdir(parents=True, exist_ok=True)
    docs_page.clear(docs_dir)
    setattr(context, _DOCS, {"dir": docs_dir, "run_name": None, "pages": []})
    return context


def add_datasource(context, url: str):
    import warnings

    with warnings.catch_warnings():
        # GX suggests add_postgres, which rejects the embedded warehouse's unix-socket URL.
        warnings.filterwarnings("ignore", message="You are using a generic SQLDatasource")
        return context.data_sources.add_sql(DATASOURCE, connection_string=sqlalchemy_url(url))


def build_suite(context, suite: dict):
    """A GX suite from a suite file's content (severity and descriptions kept in ``meta``)."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    gx_suite = gx.ExpectationSuite(name=suite["name"], meta={"description_fr": suite["meta"].get("description_fr")})
    for item in suite["expectations"]:
        configuration = ExpectationConfiguration(type=item["type"], kwargs=item["kwargs"], meta=item["meta"])
        # add_expectation, not add_expectation_configuration: the latter upserts by domain, and
        # every unexpected_rows_expectation has the same (table) domain.
        gx_suite.add_expectation(configuration.to_domain_obj())
    return context.suites.add(gx_suite)


def add_query_validation(context, datasource, name: str, query: str, gx_suite):
    """A query asset validated whole by ``gx_suite``."""
    import great_expectations as gx

    asset = datasource.add_query_asset(name, query=query)
    batch = asset.add_batch_definition_whole_table(f"{name}_whole")
    return context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=gx_suite))


def add_validation(context, datasource, name: str, schema: str, table: str, date_column: str, gx_suite):
    """A table asset validated by ``gx_suite``, one batch per day of ``date_column``."""
    import great_expectations as gx
    from great_expectations.core.partitioners import ColumnPartitionerDaily

    asset = datasource.add_table_asset(name, schema_name=schema, table_name=table)
    # Not validated against the data: that would read a row, and fail on a day with none.
    batch = asset.add_batch_definition(
        f"{name}_daily", partitioner=ColumnPartitionerDaily(column_name=date_column), validate_partitioner=False
    )
    return context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=gx_suite))


def run_checkpoint(context, name: str, validations: list, result_format: dict, parameters: dict,
                   day, run_name: str) -> list[tuple[object, str | None]]:
    """Run the validations on the day's batches (``day`` None: whole query assets) and write the
    checkpoint's Data Docs page.
    Returns (suite result, path of its Data Docs page) pairs."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name=name, validation_definitions=validations, result_format=result_format, actions=[],
    ))
    outcome = checkpoint.run(
        batch_parameters=None if day is None else {"year": day.year, "month": day.month, "day": day.day},
        expectation_parameters=parameters, run_id=RunIdentifier(run_name=run_name),
    )
    results = list(outcome.run_results.values())
    page = write_docs_page(context, name, run_name, day, results)
    return [(result, page) for result in results]


def write_docs_page(context, checkpoint: str, run_name: str, day, results: list) -> str | None:
    """Our Data Docs page of one checkpoint run (see quality.docs_page); its path."""
    from aiguillage.quality import docs_page

    docs = getattr(context, _DOCS, None)
    if docs is None:
        return None
    path = docs_page.write_checkpoint_page(docs["dir"], checkpoint, run_name, day, results)
    docs["run_name"] = run_name
    docs["pages"].append((checkpoint, path, results))
    return str(path.resolve())


def docs_index(context) -> str | None:
    """Write the index of this context's checkpoint pages; its path."""
    from aiguillage.quality import docs_page

    docs = getattr(context, _DOCS, None)
    if docs is None:
        return None
    return str(docs_page.write_index(docs["dir"], docs["run_name"] or "", docs["pages"]).resolve())
