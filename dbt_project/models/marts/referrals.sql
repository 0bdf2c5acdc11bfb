-- One row per referral ever made, as it stands on the run day: its latest movement, how far the
-- agency has taken it (accepted activity-report events) and its two legal deadlines:
--   orientation within 6 weeks of entering rights and duties (date_limite_orientation);
--   contract within 1 month of the orientation (date_limite_contrat).
-- A deadline is breached (depassement_*) when the step happened after it, or has not happened and
-- the deadline is past on the run day (or on the closing day, for a closed referral).
-- People who entered rights and duties before the warehouse's first day (reprise_de_stock) were
-- oriented, or not, before it existed: their orientation deadline is not judged here.
{{ config(indexes=[{'columns': ['id_orientation'], 'unique': true}, {'columns': ['person_id']},
                   {'columns': ['code_structure']}]) }}

with movements as (

    select * from {{ ref('referral_movements') }}

),

first_day as (

    select min(date_mouvement) as premier_jour from movements

),

latest as (

    select distinct on (id_orientation) *
    from movements
    order by id_orientation, date_mouvement desc

),

events as (

    select
        id_orientation,
        min(date_evenement) filter (where evenement = 'PRISE_EN_CHARGE') as date_prise_en_charge,
        min(date_evenement) filter (where evenement = 'RDV_HONORE') as date_premier_rdv_honore,
        count(*) filter (where evenement = 'RDV_NON_HONORE') as nb_rdv_non_honores,
        min(date_evenement) filter (where evenement = 'CONTRAT_SIGNE') as date_contrat,
        max(date_evenement) filter (where evenement = 'REORIENTATION_DEMANDEE') as date_reorientation_demandee,
        max(date_evenement) filter (where evenement = 'SORTIE') as date_sortie,
        (array_agg(motif order by date_evenement desc, file_id desc, line_number desc)
            filter (where evenement = 'SORTIE'))[1] as motif_sortie,
        (array_agg(evenement order by date_evenement desc, file_id desc, line_number desc))[1] as dernier_evenement
    from {{ ref('int_ali__events_checked') }}
    where statut = 'ACCEPTE'
    group by id_orientation

),

dated as (

    select
        latest.id_orientation,
        latest.person_id,
        latest.household_id,
        latest.statut_orientation,
        latest.parcours,
        latest.code_structure,
        latest.code_territoire,
        latest.code_regle,
        latest.date_creation,
        latest.date_orientation,
        case when latest.type_mouvement = 'CLOTUREE' then latest.date_mouvement end as date_cloture,
        latest.motif_cloture,
        latest.date_mouvement as date_dernier_mouvement,
        latest.type_mouvement as dernier_mouvement,
        latest.code_insee,
        latest.code_postal,
        latest.etat_dossier_rsa,
        latest.role_rsa,
        case
            when latest.type_mouvement = 'CLOTUREE' then 'CLOTUREE'
            when latest.code_structure is null then 'EN_ATTENTE_STRUCTURE'
            when events.date_sortie is not null then 'SORTIE'
            when events.date_contrat is not null then 'CONTRAT_SIGNE'
            when events.date_premier_rdv_honore is not null then 'RDV_HONORE'
            when events.date_prise_en_charge is not null then 'PRISE_EN_CHARGE'
            else 'A_CONTACTER'
        end as etape,
        events.date_prise_en_charge,
        events.date_premier_rdv_honore,
        coalesce(events.nb_rdv_non_honores, 0)::integer as nb_rdv_non_honores,
        events.date_contrat,
        events.date_reorientation_demandee,
        events.date_sortie,
        events.motif_sortie,
        latest.date_entree_droits_devoirs,
        latest.date_limite_orientation,
        coalesce(latest.date_entree_droits_devoirs < first_day.premier_jour, false) as reprise_de_stock,
        (latest.date_orientation + interval '{{ var("delai_contrat_mois") }} month')::date as date_limite_contrat,
        -- the day deadlines are judged on: the run day, or the closing day of a closed referral
        case when latest.type_mouvement = 'CLOTUREE' then latest.date_mouvement else {{ run_day() }} end
            as date_reference
    from latest
    cross join first_day
    left join events on events.id_orientation = latest.id_orientation

)

select
    id_orientation,
    person_id,
    household_id,
    statut_orientation,
    etape,
    parcours,
    code_structure,
    code_territoire,
    code_regle,
    date_creation,
    date_orientation,
    date_cloture,
    motif_cloture,
    date_dernier_mouvement,
    dernier_mouvement,
    code_insee,
    code_postal,
    etat_dossier_rsa,
    role_rsa,
    date_prise_en_charge,
    date_premier_rdv_honore,
    nb_rdv_non_honores,
    date_contrat,
    date_reorientation_demandee,
    date_sortie,
    motif_sortie,
    date_entree_droits_devoirs,
    date_limite_orientation,
    date_limite_contrat,
    reprise_de_stock,
    not reprise_de_stock and coalesce(coalesce(date_orientation, date_reference) > date_limite_orientation, false)
        as depassement_orientation,
    coalesce(date_limite_contrat is not null and coalesce(date_contrat, date_reference) > date_limite_contrat, false)
        as depassement_contrat
from dated
