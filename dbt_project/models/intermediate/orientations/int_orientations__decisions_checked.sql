-- Every line of the orientation team's decisions files, checked once against the proposals as the runs
-- before the run day left them: ACCEPTEE, or REJETEE with a reason code (the reader's codes,
-- docs/data-contracts.md §6):
--   UNKNOWN_PROPOSAL      no proposal has this id_proposition;
--   PROPOSAL_OBSOLETE     the proposal is no longer needed (CADUQUE: replaced by a new one because the
--                         situation changed, or the person no longer has to be oriented);
--   ALREADY_DECIDED       the proposal was decided before, or by an earlier line (file, line order);
--   DATE_INCOHERENT       decided before the proposal was made, or after the run day;
--   DESTINATION_INACTIVE  the destination chosen is not active on the run day.
-- A proposal decided in a file of the run day is decided on the run day (the proposals the morning
-- list shows are those of the days before). Incremental: each run checks the lines not checked yet
-- (verifie_le = the run day); rerunning a day checks that day's lines again.
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    indexes=[{'columns': ['file_id', 'line_number'], 'unique': true}, {'columns': ['id_proposition']}],
    pre_hook="{% if is_incremental() %}delete from {{ this }} where verifie_le >= {{ run_day() }}{% endif %}"
) }}

with lines as (

    select * from {{ ref('stg_departement__decisions') }}
    where delivered_on <= {{ run_day() }}
{% if is_incremental() %}
        and (file_id, line_number) not in (select file_id, line_number from {{ this }} where verifie_le < {{ run_day() }})
{% endif %}

),

proposals as (

    select id_proposition, person_id, statut_proposition, date_proposition
    from {{ ref('int_orientations__proposals_before_day') }}

),

active_destinations as (

    select code_structure
    from {{ ref('destinations') }}
    where (actif_du is null or actif_du <= {{ run_day() }})
        and (actif_au is null or actif_au >= {{ run_day() }})

),

checked as (

    select
        lines.*,
        proposals.person_id,
        case
            when proposals.id_proposition is null then 'UNKNOWN_PROPOSAL'
            when proposals.statut_proposition = 'CADUQUE' then 'PROPOSAL_OBSOLETE'
            when proposals.statut_proposition <> 'EN_ATTENTE_DECISION' then 'ALREADY_DECIDED'
            when lines.date_decision < proposals.date_proposition or lines.date_decision > {{ run_day() }}
                or lines.date_notification > {{ run_day() }} then 'DATE_INCOHERENT'
            when lines.code_structure is not null and active_destinations.code_structure is null
                then 'DESTINATION_INACTIVE'
        end as first_reason
    from lines
    left join proposals on proposals.id_proposition = lines.id_proposition
    left join active_destinations on active_destinations.code_structure = lines.code_structure

),

-- The same proposal decided twice in the day's lines: the first one (file, line order) counts.
deduplicated as (

    select
        checked.*,
        case
            when first_reason is null
                and row_number() over (
                    partition by (first_reason is null), id_proposition order by file_id, line_number
                ) > 1
                then 'ALREADY_DECIDED'
            else first_reason
        end as motif_rejet
    from checked

)

select
    file_id,
    line_number,
    {{ run_day() }} as verifie_le,
    id_proposition,
    case when motif_rejet is null then person_id end as person_id,
    decision,
    parcours,
    code_structure,
    date_decision,
    date_notification,
    decide_par,
    motif_decision,
    delai_revision_mois,
    case when motif_rejet is null then 'ACCEPTEE' else 'REJETEE' end as statut,
    motif_rejet
from deduplicated
