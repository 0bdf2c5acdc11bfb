"""CAF ingestion: load the registered VRSB0801 flows into the raw layer (raw.caf_*).

airflow DAG: caf_ingestion. Scheduled on the landing registry; publishes the raw CAF asset.
Each file is streamed and COPYed in one transaction: loaded whole, or quarantined with the reason.
"""

from aiguillage import dag_defaults
from aiguillage.dag_factory import file_loading_dag

dag = file_loading_dag(
    dag_id="caf_ingestion",
    source="caf",
    description="Load CAF VRSB0801 flows into raw.caf_* (all or nothing per file)",
    schedule_asset=dag_defaults.LANDING_REGISTRY_ASSET,
    outlet_asset=dag_defaults.RAW_CAF_ASSET,
    doc_md=__doc__,
)
