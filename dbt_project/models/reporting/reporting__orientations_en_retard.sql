-- Les orientations non closes (OUVERTE ou EN_ATTENTE_STRUCTURE) en retard sur un délai légal, par
-- territoire et structure, au jour du build : une ligne par territoire et structure qui en compte au
-- moins une (marts.referrals, docs/data-contracts.md §10). L'orientation est en retard quand la
-- première décision de la période est venue plus de six semaines après la réception de
-- l'information ; le contrat, quand il n'est pas signé un mois après la notification de la décision
-- (le 1er janvier 2027 pour les personnes déjà là avant 2025), et seulement là où la structure rend
-- compte des contrats : une orientation vers le service social, France Travail, une Mission locale
-- ou Cap emploi n'est jamais en retard faute d'un contrat qu'elle ne peut pas rapporter (NON_SUIVI).
-- Les personnes sans orientation décidée après six semaines sont dans orientations_par_france_travail.
{{ config(alias='orientations_en_retard') }}

with referrals as (

    select * from {{ ref('referrals') }}
    where statut_orientation <> 'CLOTUREE'

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
        count(*) filter (where statut_contrat = 'EN_RETARD')::integer as nb_sans_contrat_hors_delai,
        count(*) filter (where statut_contrat = 'NON_SUIVI')::integer as nb_contrats_non_suivis,
        min(date_limite_contrat) filter (where statut_contrat = 'EN_RETARD') as plus_ancienne_echeance_depassee
    from referrals
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
    grouped.nb_sans_contrat_hors_delai,
    grouped.nb_contrats_non_suivis,
    grouped.plus_ancienne_echeance_depassee,
    ({{ run_day() }} - grouped.plus_ancienne_echeance_depassee)::integer as retard_max_jours
from grouped
left join {{ ref('territories') }} as territoires on territoires.code_territoire = grouped.code_territoire
left join {{ ref('structures') }} as structures on structures.code_structure = grouped.code_structure
