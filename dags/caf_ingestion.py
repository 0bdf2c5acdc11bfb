"""CAF ingestion: load the registered VRSB0801 flows into the raw layer (raw.caf_*), then the CNAF's
contact-details files (caf_contacts/*.csv: phones and e-mails of the caseload, raw.caf_contact).

airflow DAG: caf_ingestion. Scheduled on the landing registry; publishes the raw CAF asset once both
are loaded. Each file is streamed and COPYed in one transaction: loaded whole (a contact file's bad
lines rejected with their reason), or quarantined with the reason.
"""

from aiguillage import dag_defaults
from aiguillage.dag_factory import file_loading_dag

dag = file_loading_dag(
    dag_id="caf_ingestion",
    source="caf",
    then_sources=("caf_contacts",),
    description="Load CAF VRSB0801 flows into raw.caf_*, then the CNAF's contact details (all or nothing per file)",
    schedule_asset=dag_defaults.LANDING_REGISTRY_ASSET,
    outlet_asset=dag_defaults.RAW_CAF_ASSET,
    doc_md=__doc__,
)
