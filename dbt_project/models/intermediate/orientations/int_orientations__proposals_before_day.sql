-- Every proposal as the runs before the run day left it (latest row of each id_proposition in
-- marts.orientation_proposal_history before the run day): the ones still waiting for a decision, the
-- ones decided (a refusal stands while the proposal would be the same) and the ones no longer needed.
-- Read from the mart's table as the previous run left it, not through ref(): the mart is built from
-- this model (macros/previous_run.sql).
{{ config(indexes=[{'columns': ['id_proposition'], 'unique': true}, {'columns': ['person_id']}]) }}
{%- set history = previous_run_relation('marts', 'orientation_proposal_history') %}

{% if history is not none %}
select distinct on (id_proposition) {{ columns_or_null(history, proposal_history_columns()) }}
from {{ history }}
where date_statut < {{ run_day() }}
order by id_proposition, date_statut desc
{% else %}
-- First build: no proposal yet.
select {{ columns_or_null(none, proposal_history_columns()) }}
where false
{% endif %}
