-- The contrat d'engagement of each referral: the first CONTRAT_SIGNE its agency reported (accepted
-- events), or the one of the referral it continues under the same decision. A move to another
-- territory or a change of the parcours's structure (origine DEMENAGEMENT, CHANGEMENT_DE_STRUCTURE)
-- keeps the decision, so it carries the contract and its date: the new agency is not asked for a new
-- contract within a month. A re-orientation is a new decision: its contract starts afresh.
{{ config(indexes=[{'columns': ['id_orientation'], 'unique': true}]) }}

with recursive referrals as (

    select distinct on (id_orientation) id_orientation, origine, id_orientation_precedente
    from {{ ref('referral_movements') }}
    order by id_orientation, date_mouvement desc

),

own as (

    select id_orientation, min(date_evenement) as date_contrat
    from {{ ref('int_ali__events_checked') }}
    where statut = 'ACCEPTE' and evenement = 'CONTRAT_SIGNE'
    group by id_orientation

),

-- Each referral with itself and every referral it continues, back to the decision's first one.
chain (id_orientation, ancetre, profondeur) as (

    select id_orientation, id_orientation, 0 from referrals
    union all
    select chain.id_orientation, continued.id_orientation_precedente, chain.profondeur + 1
    from chain
    inner join referrals as continued on continued.id_orientation = chain.ancetre
    where continued.origine in ('DEMENAGEMENT', 'CHANGEMENT_DE_STRUCTURE')
        and continued.id_orientation_precedente is not null
        and chain.profondeur < 100

),

signed as (

    select distinct on (chain.id_orientation)
        chain.id_orientation, own.date_contrat, chain.profondeur > 0 as contrat_repris
    from chain
    inner join own on own.id_orientation = chain.ancetre
    order by chain.id_orientation, own.date_contrat, chain.profondeur

)

select
    referrals.id_orientation,
    signed.date_contrat,
    coalesce(signed.contrat_repris, false) as contrat_repris
from referrals
left join signed on signed.id_orientation = referrals.id_orientation
