-- Les personnes à orienter dont le délai de six semaines est passé sans orientation décidée par le
-- Département pour la période en cours : c'est l'opérateur France Travail qui les oriente (art.
-- D.262-65-2 du CASF). Comptées par territoire au jour du build, une ligne par territoire qui en
-- compte au moins une ; sans identifiant (la liste nominative est celle des propositions en attente
-- de décision). Source : marts.beneficiaries.
{{ config(alias='orientations_par_france_travail') }}

with flagged as (

    select * from {{ ref('beneficiaries') }}
    where orientation_par_france_travail

),

grouped as (

    select
        code_territoire,
        count(*)::integer as nb_personnes,
        count(*) filter (where regle_limite_orientation = 'D262-65-2_TRANSFERT')::integer as nb_apres_transfert,
        min(date_limite_orientation) as plus_ancienne_echeance_depassee
    from flagged
    group by code_territoire

)

select
    {{ run_day() }} as jour,
    grouped.code_territoire,
    territoires.nom_territoire,
    grouped.nb_personnes,
    grouped.nb_apres_transfert,
    grouped.plus_ancienne_echeance_depassee,
    ({{ run_day() }} - grouped.plus_ancienne_echeance_depassee)::integer as retard_max_jours
from grouped
left join {{ ref('territories') }} as territoires on territoires.code_territoire = grouped.code_territoire
