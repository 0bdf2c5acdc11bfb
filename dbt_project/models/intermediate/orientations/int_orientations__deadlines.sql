-- The legal deadlines of each orientation (docs/data-contracts.md §10), one row per id_orientation of
-- marts.referral_movements, each date with the rule that set it, judged on the run day (or on the
-- closing day of a closed orientation). marts.referrals selects these columns.
--   Orientation: six weeks from the Département's receipt of the information on the opening of the
--     right or its transfer into the département (CASF D.262-65-2; int_persons__information_receipts,
--     the period the orientation was created in). It is met by the person's first decision in that
--     period: a re-orientation is not a late orientation by itself, a move carries the judgment.
--   Contract (contrat d'engagement): one month from the notification of the decision (décret
--     2024-1244); for the caseload already there before 2025, by 1 January 2027 (or the month after
--     the notification when that is later). Only where the destination reports contracts to the
--     Département (destinations.rapporte_contrats): elsewhere the contract is NON_SUIVI, never late.
--   Social parcours review (CASF L262-31): six months from the signature of the contract, twelve when
--     the decision found the difficulties of D.262-65-2-1 (delai_revision_mois = 12); from the
--     notification while no signature is reported. PSP only.
{{ config(indexes=[{'columns': ['id_orientation'], 'unique': true}]) }}

with movements as (

    select * from {{ ref('referral_movements') }}

),

latest as (

    select distinct on (id_orientation) *
    from movements
    order by id_orientation, date_mouvement desc

),

contracts as (

    select id_orientation, date_contrat from {{ ref('int_orientations__contracts') }}

),

destinations as (

    select code_structure, rapporte_contrats from {{ ref('destinations') }}

),

receipts as (

    select * from {{ ref('int_persons__information_receipts') }}

),

referrals as (

    select
        latest.id_orientation,
        latest.person_id,
        latest.parcours,
        latest.code_structure,
        latest.date_creation,
        latest.date_entree_droits_devoirs,
        -- a referral made before decisions were recorded was decided by the rules the day it was made
        coalesce(latest.date_decision, latest.date_creation) as date_decision,
        latest.date_notification,
        latest.delai_revision_mois,
        contracts.date_contrat,
        coalesce(destinations.rapporte_contrats, false) as contrat_suivi,
        receipts.periode_debut,
        receipts.date_reception_information,
        coalesce(receipts.regle_limite_orientation, 'RECEPTION_INCONNUE') as regle_limite_orientation,
        receipts.date_limite_orientation,
        -- the day deadlines are judged on: the run day, or the closing day of a closed orientation
        case when latest.type_mouvement = 'CLOTUREE' then latest.date_mouvement else {{ run_day() }} end
            as date_reference
    from latest
    left join contracts on contracts.id_orientation = latest.id_orientation
    left join destinations on destinations.code_structure = latest.code_structure
    left join receipts
        on receipts.person_id = latest.person_id
        and receipts.periode_debut <= latest.date_creation
        and (receipts.periode_fin is null or latest.date_creation < receipts.periode_fin)

),

contract_deadlines as (

    select
        referrals.*,
        min(date_decision) over (partition by person_id, periode_debut) as date_premiere_decision,
        case
            when not contrat_suivi then 'NON_SUIVI'
            -- the caseload already there: received before 2025, or taken over with an entry before 2025
            when (regle_limite_orientation = 'RECEPTION_AVANT_2025'
                  or (regle_limite_orientation not like 'D262-65-2%'
                      and date_entree_droits_devoirs < date '{{ var("date_regles_2025") }}'))
                and (date_notification is null
                     or date '{{ var("date_echeance_stock") }}'
                        >= (date_notification + interval '{{ var("delai_contrat_mois") }} month')::date)
                then 'STOCK_2027'
            when date_notification is null then 'EN_ATTENTE_NOTIFICATION'
            else 'NOTIFICATION_1_MOIS'
        end as regle_limite_contrat,
        case when parcours = 'PSP' and coalesce(date_contrat, date_notification) is not null then
            case when delai_revision_mois = 12 then 'D262-65-2-1_12_MOIS' else 'L262-31_6_MOIS' end
        end as regle_revision_parcours_social
    from referrals

),

dated as (

    select
        contract_deadlines.*,
        case regle_limite_contrat
            when 'STOCK_2027' then date '{{ var("date_echeance_stock") }}'
            when 'NOTIFICATION_1_MOIS'
                then (date_notification + interval '{{ var("delai_contrat_mois") }} month')::date
        end as date_limite_contrat,
        (coalesce(date_contrat, date_notification) + case regle_revision_parcours_social
            when 'D262-65-2-1_12_MOIS' then interval '12 month'
            when 'L262-31_6_MOIS' then interval '{{ var("delai_revision_parcours_social_mois") }} month'
        end)::date as date_revision_parcours_social
    from contract_deadlines

)

select
    id_orientation,
    date_reception_information,
    regle_limite_orientation,
    date_limite_orientation,
    regle_limite_orientation = 'REPRISE_DE_STOCK' as reprise_de_stock,
    coalesce(coalesce(date_premiere_decision, date_reference) > date_limite_orientation, false)
        as depassement_orientation,
    regle_limite_contrat,
    date_limite_contrat,
    case
        when regle_limite_contrat = 'NON_SUIVI' then 'NON_SUIVI'
        when date_contrat is not null and date_contrat > date_limite_contrat then 'SIGNE_HORS_DELAI'
        when date_contrat is not null then 'SIGNE'
        when date_reference > date_limite_contrat then 'EN_RETARD'
        else 'A_SIGNER'
    end as statut_contrat,
    coalesce(regle_limite_contrat <> 'NON_SUIVI' and coalesce(date_contrat, date_reference) > date_limite_contrat,
             false) as depassement_contrat,
    regle_revision_parcours_social,
    date_revision_parcours_social
from dated
