"""Bodies of the DAGs' tasks. DAG files stay thin and import this module inside tasks only."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from aiguillage import config, dag_defaults, warehouse
from aiguillage.observability.log_context import fields, run_log
from aiguillage.run_lock import exclusive

# Lines start with run_id=… day=… dag=… task=…: one summary line per task, counts and file names only.
log = run_log(__name__)


def resolve_landing(landing_dir: str | None) -> Path:
    landing = Path(landing_dir).expanduser().resolve() if landing_dir else config.landing_dir()
    if landing is None:
        raise ValueError(
            "no landing zone: set AIGUILLAGE_LANDING_DIR or pass landing_dir in the run's configuration"
        )
    return landing


# Every task body works under its DAG's run lock (aiguillage.run_lock): a second run of the DAG on the
# warehouse waits for it, then fails naming it.
@exclusive("landing_registry")
def register_landing_files(logical_date: datetime, run_id: str, landing_dir: str | None) -> dict:
    """Scan the landing zone for the run's day and record new files. Returns counts for XCom."""
    from aiguillage.landing.registry import scan_and_record

    landing = resolve_landing(landing_dir)
    day = dag_defaults.day_of(logical_date)
    with warehouse.connect() as conn:
        warehouse.migrate(conn)
        result = scan_and_record(conn, landing, day, run_id)
    log.info("landing scan: %s", fields(seen=result.files_seen, recorded=result.counts(),
                                        not_due=result.files_not_due, in_transit=result.files_skipped,
                                        not_settled=result.files_unsettled, vanished=result.files_vanished,
                                        unreadable=result.files_unreadable))
    return {
        "day": day.isoformat(),
        "files_seen": result.files_seen,
        "recorded": result.counts(),
        "not_due": result.files_not_due,
        "in_transit": result.files_skipped,
        "not_settled": result.files_unsettled,
        "vanished": result.files_vanished,
        "unreadable": result.files_unreadable,
    }


def _load_summary(day, outcomes) -> dict:
    """What a loading task returns (XCom) and logs: counts only, never personal data."""
    from collections import Counter

    return {
        "day": day.isoformat(),
        "files": {outcome.relative_path: outcome.status for outcome in outcomes},
        "statuses": dict(Counter(outcome.status for outcome in outcomes)),
        "rows": sum(sum(outcome.rows.values()) for outcome in outcomes),
        "rejects": sum(sum(outcome.rejects.values()) for outcome in outcomes),
    }


@exclusive("{source}_ingestion")
def load_source_files(source: str, logical_date: datetime, landing_dir: str | None) -> dict:
    """Load every registered file of ``source`` into the raw layer, one transaction per file."""
    from aiguillage.ingest.loader import load_pending

    landing = resolve_landing(landing_dir)
    day = dag_defaults.day_of(logical_date)
    with warehouse.connect() as conn:
        warehouse.migrate(conn)
        outcomes = load_pending(conn, source, landing, _reader_for(source, day, conn))
    summary = _load_summary(day, outcomes)
    log.info("load: %s", fields(source=source, files=len(outcomes), statuses=summary["statuses"],
                                rows=summary["rows"], rejects=summary["rejects"]))
    return summary


def _reader_for(source: str, day, conn=None):
    """The reader of ``source``'s files: called with the pending file and its opened stream (the
    loader opens each file safely and checks that the bytes read are the bytes registered). ``conn``:
    the loading connection, for readers that resolve identifiers in the file's own transaction."""
    if source == "caf":
        from aiguillage.ingest.caf_reader import read_caf

        return lambda pending, stream: read_caf(stream)
    if source == "caf_contacts":
        from aiguillage.ingest.contacts_reader import read_contacts

        return lambda pending, stream: read_contacts(stream)
    if source == "france_travail":
        from aiguillage.ingest.france_travail_reader import read_france_travail

        return lambda pending, stream: read_france_travail(stream, pending.kind)
    if source == "ali":
        from aiguillage.ingest.ali_reader import read_ali_report
        from aiguillage.ingest.ali_webrsa_reader import read_ali_webrsa_report
        from aiguillage.landing.layout import WEBRSA_REPORT

        # Event dates are judged against the run's day, so a rerun judges them the same way.
        return lambda pending, stream: (
            read_ali_webrsa_report(stream, pending.agency_code, day, conn, pending.file_id)
            if pending.kind == WEBRSA_REPORT else read_ali_report(stream, pending.agency_code, day))
    if source == "departement":
        return lambda pending, stream: _departement_reader(pending.kind, day)(stream)
    raise ValueError(f"no reader for source {source!r}")


def _departement_reader(kind: str | None, day):
    """The reader of one kind of the Département's files (the landing layout tells the kind from the
    name's prefix); dates are judged against the run's day, so a rerun judges them the same way."""
    if kind == "decisions":
        from aiguillage.ingest.decisions_reader import read_decisions

        return lambda stream: read_decisions(stream, day)
    if kind == "remobilisation":
        from aiguillage.ingest.remobilisation_reader import read_remobilisation_steps

        return lambda stream: read_remobilisation_steps(stream, day)
    raise ValueError(f"no reader for the Département's files of kind {kind!r}")


@exclusive("france_travail_ingestion")
def query_france_travail_api(logical_date: datetime, run_id: str, max_age_days: int | None,
                             limit: int | None) -> dict:
    """Look up in the France Travail API the people due for it; land every response in raw. The day's
    limit counts the lookups an earlier run of the same day already landed."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    from aiguillage.france_travail.api_client import FranceTravailClient, settings_from_airflow
    from aiguillage.france_travail.api_sync import refresh

    day = dag_defaults.day_of(logical_date)
    try:
        settings = settings_from_airflow(dag_defaults.FRANCE_TRAVAIL_API_CONN_ID)
    except AirflowNotFoundException:
        # Not an error of the day's data: the partner access is not set up on this installation.
        # The task still succeeds so that the raw France Travail asset (the files) reaches the warehouse.
        log.warning("France Travail API not configured (no Airflow connection '%s'): no lookups today; %s",
                    dag_defaults.FRANCE_TRAVAIL_API_CONN_ID, fields(source="france_travail_api", people=0))
        return {"day": day.isoformat(), "configured": False}
    with FranceTravailClient(settings) as client, warehouse.connect() as conn:
        warehouse.migrate(conn)
        conn.commit()
        report = refresh(
            conn, client, as_of=day,
            max_age_days=max_age_days if max_age_days is not None else config.france_travail_api_max_age_days(),
            limit=limit if limit is not None else config.france_travail_api_limit(),
            logical_date=day, run_id=run_id,
        )
    log.info("France Travail API: %s", fields(source="france_travail_api", people=report.people,
                                              requests=report.requests, outcomes=dict(report.counts),
                                              spent_before=report.spent_before))
    return {"day": day.isoformat(), "configured": True, "people": report.people, "requests": report.requests,
            "outcomes": dict(report.counts), "spent_before": report.spent_before}


@exclusive("referral_warehouse")
def build_referral_warehouse(logical_date: datetime) -> dict:
    """Build the referral warehouse for the day with dbt (seeds when they changed, snapshots, models
    and their data tests) in this process, after installing the pseudonymisation key; then check the
    sources' freshness (warnings only) and regenerate the dbt docs site. One dbt invocation for the
    whole project: on 2 cores, one Airflow task per model costs far more than the models themselves.
    Days are built in order: an earlier day than the warehouse's latest is refused."""
    import time

    from aiguillage import dbt_runner, pseudonyms, seed_state

    day = dag_defaults.day_of(logical_date)
    seeds = seed_state.fingerprint()
    with warehouse.connect() as conn:
        warehouse.migrate(conn)
        fingerprint = pseudonyms.install_key(conn)
        latest = warehouse.latest_referral_day(conn)
        seeds_loaded = seed_state.is_current(conn, seeds)
    if latest is not None and latest > day:
        raise RuntimeError(
            f"the warehouse already holds referral movements up to {latest}; building {day} now would "
            f"rewrite the referrals' history out of order. To rebuild past days, replay them in order on "
            f"an empty warehouse (the landing zone keeps every file)."
        )
    # The day goes to dbt through the warehouse, not as a var: a var that changes every day would make
    # dbt re-parse the whole project every day (aiguillage_meta.build_day, read by macros/run_day.sql).
    with warehouse.connect() as conn:
        warehouse.set_build_day(conn, day)
    # Unchanged seeds are neither reloaded nor re-tested. dbt unit tests check the models' logic, not
    # the day's data: they run in the project's test suite, not in every daily build.
    skip_seeds = ["--exclude", "path:seeds", "path:tests/seeds"] if seeds_loaded else []
    started = time.monotonic()
    with warehouse.connect(autocommit=True) as guard:
        # Shared with other builds, exclusive with the RGPD purge: a purge waits for the build to end
        # and a build waits for the purge, so neither sees the other half done.
        from aiguillage.retention.purge import RETENTION_LOCK

        guard.execute("SELECT pg_advisory_lock_shared(%s)", (RETENTION_LOCK,))
        if not seeds_loaded:
            # Changed seeds are recreated first: a plain reload cannot take a seed whose columns changed
            # (a new release's seed, e.g. a new column on destinations). The views that read them are
            # dropped with them and rebuilt by the build below, which then loads and tests the seeds.
            reseeded = dbt_runner.run(["seed", "--full-refresh"])
            if not reseeded.success:
                shown = "; ".join(reseeded.failures[:10])
                raise RuntimeError(f"dbt seed failed for {day} ({len(reseeded.failures)} seeds): {shown}")
        build = dbt_runner.run(["build", *skip_seeds, "--exclude-resource-type", "unit_test"])
    build_seconds = round(time.monotonic() - started, 1)
    if not build.success:
        log.error("dbt build: %s", fields(outcome="failed", nodes_failed=len(build.failures), seconds=build_seconds))
        shown = "; ".join(build.failures[:10])
        raise RuntimeError(f"dbt build failed for {day} ({len(build.failures)} nodes): {shown}")
    if not seeds_loaded:
        with warehouse.connect() as conn:
            seed_state.record(conn, seeds)
    # Roles and grants follow the seed: an agency that left it loses its role (aiguillage.roles).
    from aiguillage import roles

    with warehouse.connect() as conn:
        role_summary = roles.ensure_roles(conn)
    freshness = dbt_runner.run(["source", "freshness"])
    docs = dbt_runner.run(["docs", "generate", "--static", "--no-compile"])
    log.info("dbt build: %s", fields(
        outcome="ok", seconds=build_seconds, seeds_reloaded=not seeds_loaded, warnings=len(build.warnings),
        stale_sources=len(freshness.warnings + freshness.failures), docs="ok" if docs.success else "failed"))
    return {
        "day": day.isoformat(),
        "dbt_seconds": build_seconds,
        "seeds_reloaded": not seeds_loaded,
        "warnings": build.warnings,
        "stale_sources": freshness.warnings + freshness.failures,
        "docs": str(dbt_runner.target_dir() / "static_index.html") if docs.success else None,
        "key_fingerprint": fingerprint,
        "roles": {"agencies": len(role_summary["agencies"]), "retired": role_summary["retired"],
                  "warnings": role_summary["warnings"]},
    }
