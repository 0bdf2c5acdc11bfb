-- One row per referral ever made, as it stands on the run day: its latest movement, the decision that
-- made it (proposal, decision and notification dates, the role that decided, origine), how far the
-- agency has taken it (accepted activity-report events; the contract is carried along a move, see
-- int_orientations__contracts) and its legal deadlines, each with the rule that set it
-- (int_orientations__deadlines: orientation six weeks from the Département's receipt of the
-- information, contract one month from the notification where the destination reports contracts,
-- review of the social parcours).
{{ config(indexes=[{'columns': ['id_orientation'], 'unique': true}, {'columns': ['person_id']},
                   {'columns': ['code_structure']}]) }}

with movements as (

    select * from {{ ref('referral_movements') }}

),

-- deadlines: begin (first day)
deadlines as (

    select * from {{ ref('int_orientations__deadlines') }}

),
-- deadlines: end (first day)

latest as (

    select distinct on (id_orientation) *
    from movements
    order by id_orientation, date_mouvement desc

),

contracts as (

    select * from {{ ref('int_orientations__contracts') }}

),

events as (

    select
        id_orientation,
        min(date_evenement) filter (where evenement = 'PRISE_EN_CHARGE') as date_prise_en_charge,
        min(date_evenement) filter (where evenement = 'RDV_HONORE') as date_premier_rdv_honore,
        count(*) filter (where evenement = 'RDV_NON_HONORE') as nb_rdv_non_honores,
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
            when contracts.date_contrat is not null then 'CONTRAT_SIGNE'
            when events.date_premier_rdv_honore is not null then 'RDV_HONORE'
            when events.date_prise_en_charge is not null then 'PRISE_EN_CHARGE'
            else 'A_CONTACTER'
        end as etape,
        events.date_prise_en_charge,
        events.date_premier_rdv_honore,
        coalesce(events.nb_rdv_non_honores, 0)::integer as nb_rdv_non_honores,
        contracts.date_contrat,
        coalesce(contracts.contrat_repris, false) as contrat_repris,
        events.date_reorientation_demandee,
        events.date_sortie,
        events.motif_sortie,
        latest.id_proposition,
        latest.origine,
        latest.date_proposition,
        latest.date_decision,
        latest.date_notification,
        latest.decide_par,
        latest.delai_revision_mois,
        latest.structure_precedente,
        latest.id_orientation_precedente,
        latest.date_entree_droits_devoirs,
        -- deadlines: begin (inputs)
        deadlines.date_reception_information,
        deadlines.regle_limite_orientation,
        deadlines.date_limite_orientation,
        deadlines.reprise_de_stock,
        deadlines.depassement_orientation,
        deadlines.regle_limite_contrat,
        deadlines.date_limite_contrat,
        deadlines.statut_contrat,
        deadlines.depassement_contrat,
        deadlines.regle_revision_parcours_social,
        deadlines.date_revision_parcours_social
        -- deadlines: end (inputs)
    from latest
    -- deadlines: begin (join)
    inner join deadlines on deadlines.id_orientation = latest.id_orientation
    -- deadlines: end (join)
    left join events on events.id_orientation = latest.id_orientation
    left join contracts on contracts.id_orientation = latest.id_orientation

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
    contrat_repris,
    date_reorientation_demandee,
    date_sortie,
    motif_sortie,
    id_proposition,
    origine,
    date_proposition,
    date_decision,
    date_notification,
    decide_par,
    delai_revision_mois,
    structure_precedente,
    id_orientation_precedente,
    date_entree_droits_devoirs,
    -- deadlines: begin
    date_reception_information,
    regle_limite_orientation,
    date_limite_orientation,
    reprise_de_stock,
    depassement_orientation,
    regle_limite_contrat,
    date_limite_contrat,
    statut_contrat,
    depassement_contrat,
    regle_revision_parcours_social,
    date_revision_parcours_social
    -- deadlines: end
from dated
