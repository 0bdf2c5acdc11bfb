"""Builds the DAGs that load one source's registered files into the raw layer.

A source's DAG file declares what differs (source, assets, description); the shape is the same for
all: one task that loads every registered file of the source, one transaction per file, and
publishes the source's raw asset. Only DAG files call this, at parse time: it stays cheap.
"""

from __future__ import annotations

from airflow.sdk import DAG, Asset, get_current_context, task

from aiguillage import dag_defaults, run_context


def file_loading_dag(*, dag_id: str, source: str, description: str, schedule_asset: str, outlet_asset: str,
                     doc_md: str | None, then_sources: tuple[str, ...] = ()) -> DAG:
    """``then_sources``: other sources of the same partner, each loaded by a task of its own after the
    previous one (the CNAF's contact-details files after its flows); the last task publishes the asset,
    so that what is built on it sees every file of the partner loaded."""
    sources = (source, *then_sources)
    with DAG(
        dag_id=dag_id,
        description=description,
        schedule=[Asset(schedule_asset)],
        **dag_defaults.dag_arguments(tags=["ingestion", *sources], doc_md=doc_md),
    ) as dag:
        previous = None
        for each in sources:
            loading = _loading_task(each, outlet_asset if each == sources[-1] else None)()
            if previous is not None:
                previous >> loading
            previous = loading
    return dag


def _loading_task(source: str, outlet_asset: str | None):
    @task(task_id=f"load_{source}_files", outlets=[Asset(outlet_asset)] if outlet_asset else [])
    def load_files() -> dict:
        from aiguillage.pipeline_tasks import load_source_files

        context = get_current_context()
        if outlet_asset:
            run_context.publish(context, Asset(outlet_asset))
        return load_source_files(source, run_context.run_moment(context),
                                 run_context.run_settings(context)["landing_dir"])

    return load_files
