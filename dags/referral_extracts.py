"""Referral extracts: check the day's data, then deliver each agency its extract.

airflow DAG: referral_extracts. Scheduled on the referral warehouse asset. Steps:
  check_quality       the Great Expectations gate (expectations/), once for every agency: on the
                      sources loaded for the day and on the day's extract lines, per agency and for
                      the whole day; Data Docs beside the run report
  list_destinations   the agencies receiving extracts on the day, each with the gate's verdict and
                      whether it gets the full stock (first time served, or asked for by the run's
                      parameter stock)
  deliver_extract     mapped over the agencies: writes its files in each of its formats (CSV, XLSX,
                      WebRSA XML) with their manifests, checks them, delivers them (outbox or SFTP)
                      and records the delivery; withheld by the gate or the check -> this agency
                      fails, the others go on. A rerun never delivers the same file twice.
  send_orientations_to_france_travail
                      France Travail receives the day's decisions too: each open orientation not yet
                      sent is told to its partner API (search, then POST orientation), once and only
                      once (registry.france_travail_orientation_sent); nothing when the gate withheld
                      the day or the connection france_travail_api is not set up. In the
                      france_travail_api pool.
  write_waiting_proposals
                      the orientation team's morning list: the proposals waiting for a decision,
                      <outbox>/_departement/<day>/propositions_en_attente.csv (whatever the gate says:
                      it goes to the Département's own team)
  write_reject_reports
                      what each agency sent that was rejected (its reports of the CSV or WebRSA
                      format read by this run): <outbox>/<code>/<day>/rejets_<code>_<YYYYMMDD>.csv
                      (whatever the gate says: it is about the agency's own files)
  report_run          the run report (JSON + HTML in French) under <outbox>/_runs/<day>/, alerts, and
                      fails the run when anything was withheld, so that the operators hear of it. Runs
                      whatever happened upstream (all_done). A day that stops before this DAG gets its
                      report from the failed task's callback (aiguillage.failed_day).
"""

from __future__ import annotations

from airflow.sdk import Asset, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from aiguillage import dag_defaults, run_context


@dag(
    dag_id="referral_extracts",
    description="Quality gate, then each agency's daily referral extract, delivered and reported",
    schedule=[Asset(dag_defaults.REFERRAL_WAREHOUSE_ASSET)],
    **dag_defaults.dag_arguments(
        tags=["extracts", "quality"], doc_md=__doc__,
        # stock: agency codes (or "all") that receive the full stock of open referrals today.
        params={"outbox_dir": None, "stock": []},
    ),
)
def referral_extracts():
    @task
    def check_quality() -> dict:
        from aiguillage.extracts.daily import check_quality as run

        context = get_current_context()
        return run(run_context.run_moment(context), context["run_id"], run_context.run_settings(context)["outbox_dir"])

    @task
    def list_destinations(gate: dict) -> list[dict]:
        from aiguillage.extracts.daily import list_destinations as run

        context = get_current_context()
        return run(run_context.run_moment(context), gate, run_context.run_settings(context)["stock"] or [])

    # Each mapped instance is shown under its agency's code in the Airflow UI.
    @task(map_index_template="{{ code_structure }}")
    def deliver_extract(destination: dict) -> dict:
        from aiguillage.extracts.daily import ExtractWithheld
        from aiguillage.extracts.daily import deliver_extract as run

        context = get_current_context()
        context["code_structure"] = destination["code_structure"]
        try:
            return run(run_context.run_moment(context), context["run_id"], run_context.run_settings(context)["outbox_dir"],
                       destination)
        except ExtractWithheld as withheld:
            raise AirflowFailException(str(withheld)) from withheld  # a retry would not change the data

    @task(pool=dag_defaults.FRANCE_TRAVAIL_API_POOL)
    def send_orientations_to_france_travail(gate: dict) -> dict:
        from aiguillage.france_travail.send_orientations import send_day

        context = get_current_context()
        return send_day(run_context.run_moment(context), context["run_id"], gate)

    @task
    def write_waiting_proposals() -> dict:
        from aiguillage.extracts.waiting_proposals import deliver_waiting_list

        context = get_current_context()
        return deliver_waiting_list(run_context.run_moment(context), run_context.run_settings(context)["outbox_dir"])

    @task
    def write_reject_reports() -> dict:
        from aiguillage.extracts.reject_report import deliver_reject_reports

        context = get_current_context()
        return deliver_reject_reports(run_context.run_moment(context), run_context.run_settings(context)["outbox_dir"])

    # Runs whatever happened upstream, and reads what this run recorded rather than XComs: a failed
    # task hands nothing downstream.
    @task(trigger_rule="all_done")
    def report_run() -> dict:
        from aiguillage.extracts.daily import ExtractWithheld
        from aiguillage.extracts.daily import report_run as run

        context = get_current_context()
        try:
            return run(run_context.run_moment(context), context["run_id"], run_context.run_settings(context)["outbox_dir"])
        except ExtractWithheld as withheld:
            raise AirflowFailException(str(withheld)) from withheld

    gate = check_quality()
    delivered = deliver_extract.expand(destination=list_destinations(gate))
    sent = send_orientations_to_france_travail(gate)
    [delivered, sent, write_waiting_proposals(), write_reject_reports()] >> report_run()


referral_extracts()
