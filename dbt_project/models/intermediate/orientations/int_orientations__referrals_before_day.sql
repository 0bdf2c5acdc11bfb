-- The referrals as the runs before the run day left them (marts.referral_movements, rows before the
-- run day), for the day's lifecycle: each person's open referral (its latest movement is not a
-- CLOTUREE), and, for a person with none open, the latest referral when they may resume it: closed
-- because the right ended or the person left rights and duties (FIN_DE_DROIT, SORTIE_DROITS_DEVOIRS)
-- less than delai_reprise_orientation_mois months before the run day. The decision that made it still
-- stands: the orientation resumes, same id_orientation, without a new proposal.
-- Read from the mart's table as the previous run left it, not through ref(): the mart is built from
-- this model (macros/previous_run.sql).
{{ config(indexes=[{'columns': ['person_id']}, {'columns': ['id_orientation'], 'unique': true}]) }}
{%- set movements = previous_run_relation('marts', 'referral_movements') %}

with latest as (

{% if movements is not none %}
    select distinct on (id_orientation) {{ columns_or_null(movements, referral_movement_columns()) }}
    from {{ movements }}
    where date_mouvement < {{ run_day() }}
    order by id_orientation, date_mouvement desc
{% else %}
    -- First build: no referral yet.
    select {{ columns_or_null(none, referral_movement_columns()) }}
    where false
{% endif %}

),

per_person as (

    select
        latest.*,
        latest.type_mouvement <> 'CLOTUREE' as est_ouverte,
        bool_or(latest.type_mouvement <> 'CLOTUREE') over (partition by latest.person_id) as personne_orientee,
        row_number() over (
            partition by latest.person_id
            order by latest.date_mouvement desc, latest.date_creation desc, latest.id_orientation desc
        ) as rang_recent
    from latest

)

select
    {% for column in referral_movement_columns() %}{{ column[0] }}, {% endfor %}
    est_ouverte,
    not est_ouverte as est_reprenable
from per_person
where est_ouverte
    or (not personne_orientee
        and rang_recent = 1
        and motif_cloture in ('FIN_DE_DROIT', 'SORTIE_DROITS_DEVOIRS')
        and date_mouvement >= ({{ run_day() }} - interval '{{ var("delai_reprise_orientation_mois") }} month')::date)
