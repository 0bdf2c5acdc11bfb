"""Referral warehouse: build the dbt project (seeds, staging, identifiers, tests) on the raw layer.

airflow DAG: referral_warehouse. Scheduled on the three raw assets (CAF, France Travail, ALI);
publishes the warehouse asset that the agency extracts will be scheduled on. dbt runs once, in the
task's process, for the whole project: partial parsing keeps its start-up short.
"""

from __future__ import annotations

from airflow.sdk import Asset, dag, get_current_context, task

from aiguillage import dag_defaults


@dag(
    dag_id="referral_warehouse",
    description="Build the referral warehouse with dbt (one in-process dbt build)",
    schedule=[
        Asset(dag_defaults.RAW_CAF_ASSET),
        Asset(dag_defaults.RAW_FRANCE_TRAVAIL_ASSET),
        Asset(dag_defaults.RAW_ALI_ASSET),
    ],
    **dag_defaults.dag_arguments(tags=["warehouse", "dbt"], doc_md=__doc__),
)
def referral_warehouse():
    @task(outlets=[Asset(dag_defaults.REFERRAL_WAREHOUSE_ASSET)])
    def build_referral_warehouse() -> dict:
        from aiguillage.pipeline_tasks import build_referral_warehouse as run

        return run(get_current_context()["logical_date"])

    build_referral_warehouse()


referral_warehouse()
