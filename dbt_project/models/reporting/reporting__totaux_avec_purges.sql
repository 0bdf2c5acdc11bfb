-- Les totaux des orientations, des mouvements et des événements ALI par mois, territoire, parcours,
-- structure et catégorie, en ajoutant aux lignes encore présentes celles des personnes purgées au
-- titre du RGPD (comptes anonymes de retention.aggregats_purges) : les totaux ne baissent pas quand
-- une purge supprime des personnes. Les groupes sont ceux qu'écrit la purge
-- (plugins/aiguillage/retention/aggregates.py) : un changement ici en demande un là.
-- Une vue dbt et non une vue créée par migration : marts.referrals est reconstruite à chaque build,
-- et une vue extérieure à dbt qui la lit serait supprimée avec l'ancienne table.
{{ config(alias='totaux_avec_purges') }}

with conserves as (

    select 'orientations' as mesure, date_trunc('month', date_creation)::date as mois,
        code_territoire, parcours, code_structure, statut_orientation as categorie, count(*) as nombre
    from {{ ref('referrals') }}
    group by 1, 2, 3, 4, 5, 6

    union all

    select 'mouvements', date_trunc('month', date_mouvement)::date,
        code_territoire, parcours, code_structure, type_mouvement, count(*)
    from {{ ref('referral_movements') }}
    group by 1, 2, 3, 4, 5, 6

    union all

    select 'evenements_ali', date_trunc('month', events.date_evenement)::date,
        referrals.code_territoire, referrals.parcours, events.code_structure, events.evenement, count(*)
    from {{ ref('referral_events') }} as events
    left join {{ ref('referrals') }} as referrals on referrals.id_orientation = events.id_orientation
    group by 1, 2, 3, 4, 5, 6

),

purges as (

    select mesure, mois, code_territoire, parcours, code_structure, categorie, sum(nombre) as nombre
    from {{ source('retention', 'aggregats_purges') }}
    group by 1, 2, 3, 4, 5, 6

),

lignes as (

    select mesure, mois, code_territoire, parcours, code_structure, categorie, nombre as conserve, 0 as purge
    from conserves
    union all
    select mesure, mois, code_territoire, parcours, code_structure, categorie, 0, nombre
    from purges

)

select
    mesure,
    mois,
    code_territoire,
    parcours,
    code_structure,
    categorie,
    sum(conserve)::integer as nombre_conserve,
    sum(purge)::integer as nombre_purge,
    sum(conserve + purge)::integer as nombre_total
from lignes
group by mesure, mois, code_territoire, parcours, code_structure, categorie
