-- Les orientations ouvertes (OUVERTE ou EN_ATTENTE_STRUCTURE) qui ont dépassé un délai légal, par
-- territoire et structure, au jour du build : une ligne par territoire et structure qui en compte au
-- moins une. Un délai est dépassé (marts.referrals) quand l'étape est venue après lui, ou n'est pas
-- venue et qu'il est passé ; les colonnes nb_sans_* ne comptent que le second cas, celui sur
-- lequel on peut encore agir.
{{ config(alias='orientations_en_retard') }}

with referrals as (

    select * from {{ ref('referrals') }}
    where statut_orientation <> 'CLOTUREE'

),

late as (

    select
        *,
        depassement_orientation and date_orientation is null as sans_orientation_hors_delai,
        depassement_contrat and date_contrat is null as sans_contrat_hors_delai
    from referrals

),

grouped as (

    select
        code_territoire,
        parcours,
        code_structure,
        count(*)::integer as nb_orientations_ouvertes,
        count(*) filter (where depassement_orientation or depassement_contrat)::integer as nb_en_retard,
        count(*) filter (where depassement_orientation)::integer as nb_depassement_orientation,
        count(*) filter (where depassement_contrat)::integer as nb_depassement_contrat,
        count(*) filter (where sans_orientation_hors_delai)::integer as nb_sans_orientation_hors_delai,
        count(*) filter (where sans_contrat_hors_delai)::integer as nb_sans_contrat_hors_delai,
        min(least(
            case when sans_orientation_hors_delai then date_limite_orientation end,
            case when sans_contrat_hors_delai then date_limite_contrat end
        )) as plus_ancienne_echeance_depassee
    from late
    group by code_territoire, parcours, code_structure
    having count(*) filter (where depassement_orientation or depassement_contrat) > 0

)

select
    {{ run_day() }} as jour,
    grouped.code_territoire,
    territoires.nom_territoire,
    grouped.parcours,
    grouped.code_structure,
    structures.libelle as libelle_structure,
    grouped.nb_orientations_ouvertes,
    grouped.nb_en_retard,
    grouped.nb_depassement_orientation,
    grouped.nb_depassement_contrat,
    grouped.nb_sans_orientation_hors_delai,
    grouped.nb_sans_contrat_hors_delai,
    grouped.plus_ancienne_echeance_depassee,
    ({{ run_day() }} - grouped.plus_ancienne_echeance_depassee)::integer as retard_max_jours
from grouped
left join {{ ref('territories') }} as territoires on territoires.code_territoire = grouped.code_territoire
left join {{ ref('structures') }} as structures on structures.code_structure = grouped.code_structure
