"""Referral warehouse: build the dbt project on the raw layer for the logical date.

airflow DAG: referral_warehouse. Scheduled on the four raw assets (CAF, France Travail, ALI, the
Département's files); publishes the warehouse asset that the agency extracts are scheduled on. One
task runs one dbt build in its own process (seeds, snapshots, staging, identifiers, intermediate, marts, reporting,
unit and data tests), then the sources' freshness (warnings) and the static docs site. Partial
parsing keeps dbt's start-up short. The logical date is passed as the var run_day: replaying a day
gives that day's answer. A day earlier than the warehouse's latest is refused (replay in order).
"""

from __future__ import annotations

from airflow.sdk import Asset, dag, get_current_context, task

from aiguillage import dag_defaults, run_context


@dag(
    dag_id="referral_warehouse",
    description="Build the referral warehouse with dbt for the logical date (one in-process dbt build)",
    schedule=[
        Asset(dag_defaults.RAW_CAF_ASSET),
        Asset(dag_defaults.RAW_FRANCE_TRAVAIL_ASSET),
        Asset(dag_defaults.RAW_ALI_ASSET),
        Asset(dag_defaults.RAW_DEPARTEMENT_ASSET),
    ],
    **dag_defaults.dag_arguments(tags=["warehouse", "dbt"], doc_md=__doc__),
)
def referral_warehouse():
    @task(outlets=[Asset(dag_defaults.REFERRAL_WAREHOUSE_ASSET)])
    def build_referral_warehouse() -> dict:
        from aiguillage.pipeline_tasks import build_referral_warehouse as run

        context = get_current_context()
        run_context.publish(context, Asset(dag_defaults.REFERRAL_WAREHOUSE_ASSET))
        return run(run_context.run_moment(context))

    build_referral_warehouse()


referral_warehouse()
