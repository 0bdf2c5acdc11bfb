"""ALI ingestion: load the agencies' activity reports into the raw layer (raw.ali_report_*).

airflow DAG: ali_ingestion. Scheduled on the landing registry; publishes the raw ALI asset.
Bad lines are rejected with their reason code; the rest of each report loads.
"""

from aiguillage import dag_defaults
from aiguillage.dag_factory import file_loading_dag

dag = file_loading_dag(
    dag_id="ali_ingestion",
    source="ali",
    description="Load ALI activity reports into raw.ali_report_* (bad lines rejected with a reason)",
    schedule_asset=dag_defaults.LANDING_REGISTRY_ASSET,
    outlet_asset=dag_defaults.RAW_ALI_ASSET,
    doc_md=__doc__,
)
