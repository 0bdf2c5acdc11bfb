"""RGPD retention: every week, delete the personal data past its retention period.

airflow DAG: rgpd_retention. Persons whose RSA rights closed and last referral ended more than
AIGUILLAGE_RETENTION_MONTHS (24) before the run's day leave every layer of the warehouse; their
contribution to the analysts' totals stays as anonymous counts. Delivered extract files older than
AIGUILLAGE_RETENTION_EXTRACT_MONTHS go too. Params: dry_run (default AIGUILLAGE_RETENTION_DRY_RUN,
false) counts without deleting; outbox_dir overrides AIGUILLAGE_OUTBOX_DIR. Sunday 03:00, Paris: hours
before the daily chain (06:00); a purge refuses to start while a build runs.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from aiguillage import dag_defaults
from aiguillage.retention import settings


@dag(
    dag_id="rgpd_retention",
    description="Purge personal data past its retention period; keep anonymous totals",
    schedule=dag_defaults.cron_schedule("0 3 * * 0"),
    **dag_defaults.dag_arguments(
        tags=["rgpd"],
        doc_md=__doc__,
        params={"dry_run": settings.dry_run_default(), "outbox_dir": None},
    ),
)
def rgpd_retention():
    @task
    def purge_personal_data() -> dict:
        from aiguillage.retention.tasks import purge_personal_data as run

        context = get_current_context()
        return run(context.get("logical_date"), context["run_id"], dict(context.get("params") or {}))

    purge_personal_data()


rgpd_retention()
