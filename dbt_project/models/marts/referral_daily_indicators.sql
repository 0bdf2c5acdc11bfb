-- Daily indicators per territory, parcours and structure, one row per day: referrals open,
-- waiting for a structure, moved that day, and past their deadlines (marts.referrals: a contract is
-- late only where the structure reports contracts; the others count as not followed). Incremental:
-- each run adds its day (a rerun replaces it), so the history of the indicators is kept without
-- recomputing it; a column added later is appended, empty on the days before it existed.
{{ config(
    materialized='incremental',
    on_schema_change='append_new_columns',
    indexes=[{'columns': ['jour']}],
    pre_hook="{% if is_incremental() %}delete from {{ this }} where jour >= {{ run_day() }}{% endif %}"
) }}

with referrals as (

    select * from {{ ref('referrals') }}

),

today as (

    select * from {{ ref('referral_movements') }}
    where date_mouvement = {{ run_day() }}

),

open_referrals as (

    select
        code_territoire, parcours, code_structure,
        count(*) filter (where statut_orientation = 'OUVERTE') as nb_orientations_ouvertes,
        count(*) filter (where statut_orientation = 'EN_ATTENTE_STRUCTURE') as nb_en_attente_structure,
        count(*) filter (where depassement_orientation) as nb_depassement_orientation,
        count(*) filter (where depassement_contrat) as nb_depassement_contrat,
        count(*) filter (where date_contrat is not null) as nb_contrats_signes,
        count(*) filter (where statut_contrat = 'NON_SUIVI') as nb_contrats_non_suivis,
        count(*) filter (where date_revision_parcours_social <= {{ run_day() }}) as nb_revisions_parcours_social_dues
    from referrals
    where statut_orientation <> 'CLOTUREE'
    group by code_territoire, parcours, code_structure

),

moved as (

    select
        code_territoire, parcours, code_structure,
        count(*) filter (where type_mouvement = 'NOUVELLE') as nb_nouvelles,
        count(*) filter (where type_mouvement = 'MODIFIEE') as nb_modifiees,
        count(*) filter (where type_mouvement = 'CLOTUREE') as nb_cloturees
    from today
    group by code_territoire, parcours, code_structure

)

select
    {{ run_day() }} as jour,
    coalesce(open_referrals.code_territoire, moved.code_territoire) as code_territoire,
    coalesce(open_referrals.parcours, moved.parcours) as parcours,
    coalesce(open_referrals.code_structure, moved.code_structure) as code_structure,
    coalesce(open_referrals.nb_orientations_ouvertes, 0)::integer as nb_orientations_ouvertes,
    coalesce(open_referrals.nb_en_attente_structure, 0)::integer as nb_en_attente_structure,
    coalesce(moved.nb_nouvelles, 0)::integer as nb_nouvelles,
    coalesce(moved.nb_modifiees, 0)::integer as nb_modifiees,
    coalesce(moved.nb_cloturees, 0)::integer as nb_cloturees,
    coalesce(open_referrals.nb_depassement_orientation, 0)::integer as nb_depassement_orientation,
    coalesce(open_referrals.nb_depassement_contrat, 0)::integer as nb_depassement_contrat,
    coalesce(open_referrals.nb_contrats_signes, 0)::integer as nb_contrats_signes,
    coalesce(open_referrals.nb_contrats_non_suivis, 0)::integer as nb_contrats_non_suivis,
    coalesce(open_referrals.nb_revisions_parcours_social_dues, 0)::integer as nb_revisions_parcours_social_dues
from open_referrals
full outer join moved
    on moved.code_territoire is not distinct from open_referrals.code_territoire
    and moved.parcours = open_referrals.parcours
    and moved.code_structure is not distinct from open_referrals.code_structure
