"""Great Expectations plumbing: an ephemeral context whose Data Docs go to the caller's folder, a
SQL datasource on the warehouse, one query asset and validation definition per suite, and the
checkpoints that run them. Great Expectations is imported inside these functions only.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

DOCS_SITE = "aiguillage"
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
    """An in-memory context (nothing written but the Data Docs, under ``docs_dir``)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    for site in list(context.list_data_docs_sites()):
        context.delete_data_docs_site(site)  # the default site in a temporary folder
    context.add_data_docs_site(DOCS_SITE, {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
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
    """Run the validations on the day's batches (``day`` None: whole query assets) and update the
    Data Docs.
    Returns (suite result, path of its Data Docs page) pairs."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name=name, validation_definitions=validations, result_format=result_format,
        actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=[DOCS_SITE])],
    ))
    outcome = checkpoint.run(
        batch_parameters=None if day is None else {"year": day.year, "month": day.month, "day": day.day},
        expectation_parameters=parameters, run_id=RunIdentifier(run_name=run_name),
    )
    results = []
    for identifier, result in outcome.run_results.items():
        urls = context.get_docs_sites_urls(resource_identifier=identifier, site_names=[DOCS_SITE])
        results.append((result, _path_of(urls[0]["site_url"]) if urls else None))
    return results


def docs_index(context) -> str | None:
    urls = context.get_docs_sites_urls(site_names=[DOCS_SITE])
    return _path_of(urls[0]["site_url"]) if urls else None


def _path_of(site_url: str | None) -> str | None:
    if not site_url:
        return None
    return str(Path(unquote(urlsplit(site_url).path)).resolve()) if site_url.startswith("file:") else site_url
