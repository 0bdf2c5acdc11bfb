"""Département ingestion: load the Département's own files into the raw layer (raw.departement_*).

airflow DAG: departement_ingestion. Scheduled on the landing registry; publishes the raw Département
asset. First of all the orientation team's decisions on the rules' proposals
(departement/decisions_<YYYYMMDD>.csv): bad lines are rejected with their reason code, the rest of
each file loads; the warehouse then applies the decisions.
"""

from aiguillage import dag_defaults
from aiguillage.dag_factory import file_loading_dag

dag = file_loading_dag(
    dag_id="departement_ingestion",
    source="departement",
    description="Load the Département's files (orientation decisions) into raw.departement_* (bad lines rejected)",
    schedule_asset=dag_defaults.LANDING_REGISTRY_ASSET,
    outlet_asset=dag_defaults.RAW_DEPARTEMENT_ASSET,
    doc_md=__doc__,
)
