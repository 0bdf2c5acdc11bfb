-- One row per proposal ever made, as it stands on the run day: its latest status in the history,
-- the orientation it opened (VALIDEE, MODIFIEE) and, while it waits, for how many days. What the
-- orientation team's morning list (identifiants__waiting_proposals) and the reporting views read.
{{ config(indexes=[{'columns': ['id_proposition'], 'unique': true}, {'columns': ['person_id']},
                   {'columns': ['statut_proposition']}]) }}

with latest as (

    select distinct on (id_proposition) *
    from {{ ref('orientation_proposal_history') }}
    order by id_proposition, date_statut desc

),

-- The orientation a decided proposal opened: the first referral that names it (a move later carries
-- the same proposal to the referral it continues in).
opened as (

    select distinct on (id_proposition) id_proposition, id_orientation
    from {{ ref('referral_movements') }}
    where id_proposition is not null and type_mouvement = 'NOUVELLE'
    order by id_proposition, date_mouvement, id_orientation

)

select
    {% for column in proposal_history_columns() %}latest.{{ column[0] }},
    {% endfor -%}
    opened.id_orientation,
    case when latest.statut_proposition = 'EN_ATTENTE_DECISION'
        then {{ run_day() }} - latest.date_proposition end as jours_attente
from latest
left join opened on opened.id_proposition = latest.id_proposition
