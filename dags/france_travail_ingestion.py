"""France Travail ingestion: job-seeker flows (CSV) and the partner API, into the raw layer.

airflow DAG: france_travail_ingestion. Scheduled on the raw CAF asset (the API lookups are chosen
among the CAF's people subject to rights and duties); publishes the raw France Travail asset.
Bad CSV lines are rejected with their reason. A lookup searches the person by birth date and NIR,
then reads the orientation France Travail holds for them; every response lands in
raw.france_travail_api_call. At most AIGUILLAGE_FT_API_LIMIT lookups per day, earlier runs of the
same day included (a rerun does not spend the quota again). API calls run in the
`france_travail_api` pool.
"""

from __future__ import annotations

from airflow.sdk import Asset, dag, get_current_context, task

from aiguillage import dag_defaults, run_context


@dag(
    dag_id="france_travail_ingestion",
    description="Load France Travail flows and look people up in the France Travail API",
    schedule=[Asset(dag_defaults.RAW_CAF_ASSET)],
    **dag_defaults.dag_arguments(
        tags=["ingestion", "france_travail"],
        doc_md=__doc__,
        params={"api_max_age_days": None, "api_limit": None},
    ),
)
def france_travail_ingestion():
    @task
    def load_france_travail_files() -> dict:
        from aiguillage.pipeline_tasks import load_source_files

        context = get_current_context()
        return load_source_files("france_travail", run_context.run_moment(context),
                                 run_context.run_settings(context)["landing_dir"])

    @task(
        outlets=[Asset(dag_defaults.RAW_FRANCE_TRAVAIL_ASSET)],
        pool=dag_defaults.FRANCE_TRAVAIL_API_POOL,
    )
    def query_france_travail_api() -> dict:
        from aiguillage.pipeline_tasks import query_france_travail_api as run

        context = get_current_context()
        params = context["params"]
        run_context.publish(context, Asset(dag_defaults.RAW_FRANCE_TRAVAIL_ASSET))
        return run(run_context.run_moment(context), context["run_id"], params.get("api_max_age_days"),
                   params.get("api_limit"))

    load_france_travail_files() >> query_france_travail_api()


france_travail_ingestion()
