"""Landing registry: record every file of the landing zone once, by content, for the logical date.

airflow DAG: landing_registry. Publishes the asset that the loaders are scheduled on.
"""

from __future__ import annotations

from airflow.sdk import Asset, dag, get_current_context, task

from aiguillage import dag_defaults, run_context


@dag(
    dag_id="landing_registry",
    description="Scan the landing zone and record each partner file once, by sha256",
    schedule=dag_defaults.cron_schedule(dag_defaults.DAILY_SCHEDULE),
    **dag_defaults.dag_arguments(
        tags=["landing"],
        doc_md=__doc__,
    ),
)
def landing_registry():
    @task(outlets=[Asset(dag_defaults.LANDING_REGISTRY_ASSET)])
    def register_landing_files() -> dict:
        from aiguillage.pipeline_tasks import register_landing_files as run

        context = get_current_context()
        run_context.publish(context, Asset(dag_defaults.LANDING_REGISTRY_ASSET))
        return run(run_context.run_moment(context), context["run_id"], run_context.run_settings(context)["landing_dir"])

    register_landing_files()


landing_registry()
