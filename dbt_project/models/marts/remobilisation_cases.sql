-- The équipe pluridisciplinaire's list: one row per suspension-remobilisation case
-- (int_remobilisation__cases), as it stands on the run day: the breaches the accompanying structures
-- reported, the steps the Département recorded (observations invited, received or their delay
-- elapsed, EP consulted, decision), the sanction suspension the CAF applies (MOTISUSVERSRSA CG), the
-- re-engagement that ends the case, the delays between the steps, and the case's status.
-- The pipeline lists; it never decides. A status says where the procedure stands, never what to do;
-- two controls point at a suspension seen without the legal safeguards recorded before it (the
-- person invited to present observations, the EP consulted). Nothing here reaches an agency.
{{ config(indexes=[{'columns': ['id_remobilisation'], 'unique': true}, {'columns': ['person_id']}]) }}

with cases as (

    select * from {{ ref('int_remobilisation__cases') }}

),

persons as (

    select person_id, household_id, dossier_key, code_territoire from {{ ref('int_persons__situations') }}

),

household_sizes as (

    select dossier_key, count(distinct person_id) as nb_personnes
    from {{ ref('int_persons__identities') }}
    group by dossier_key

),

-- A case the CAF's flow opened names no referral: the person's latest one, if any.
latest_referrals as (

    select distinct on (person_id) person_id, id_orientation
    from {{ ref('referrals') }}
    order by person_id, date_creation desc, id_orientation

),

decisions as (

    select code, est_suspension from {{ ref('codes_decision_remobilisation') }}

),

steps as (

    select
        id_remobilisation,
        max(date_etape) filter (where etape = 'OBSERVATIONS_INVITEES') as date_observations_invitees,
        max(date_etape) filter (where etape = 'OBSERVATIONS_RECUES') as date_observations_recues,
        max(date_etape) filter (where etape = 'EP_CONSULTEE') as date_ep,
        max(date_etape) filter (where etape = 'DECISION') as date_decision,
        (array_agg(decision order by date_etape desc, delivered_on desc, file_id desc, line_number desc)
            filter (where etape = 'DECISION'))[1] as decision
    from {{ ref('int_remobilisation__steps_checked') }}
    where statut = 'ACCEPTEE'
    group by id_remobilisation

),

dated as (

    select
        cases.*,
        persons.household_id,
        persons.code_territoire,
        coalesce(household_sizes.nb_personnes > 1, false) as foyer_plusieurs_personnes,
        coalesce(cases.id_orientation, latest_referrals.id_orientation) as id_orientation_courante,
        steps.date_observations_invitees,
        (steps.date_observations_invitees + {{ var('delai_observations_jours') }})::date as date_limite_observations,
        steps.date_observations_recues,
        steps.date_ep,
        steps.date_decision,
        steps.decision,
        coalesce(decisions.est_suspension, false) as decision_suspension
    from cases
    left join persons on persons.person_id = cases.person_id
    left join household_sizes on household_sizes.dossier_key = persons.dossier_key
    left join latest_referrals on latest_referrals.person_id = cases.person_id
    left join steps on steps.id_remobilisation = cases.id_remobilisation
    left join decisions on decisions.code = steps.decision

),

staged as (

    select
        dated.*,
        -- observations received, or the delay the letter gave elapsed: the case can go to the EP
        case
            when date_observations_recues is not null then least(date_observations_recues, date_limite_observations)
            when date_limite_observations < {{ run_day() }} then date_limite_observations
        end as date_fin_observations,
        -- the first sign of a sanction: the decision to suspend, or the CAF's suspension
        least(
            case when decision_suspension then date_decision end,
            coalesce(date_suspension, suspension_vue_le)
        ) as date_sanction
    from dated

)

select
    id_remobilisation,
    person_id,
    household_id,
    origine,
    rang_cas,
    rang_cas > 1 as manquement_repete,
    case
        when date_remobilisation is not null then 'REMOBILISE'
        when suspension_en_cours then 'SUSPENSION_EN_COURS'
        when suspension_vue_le is not null then 'SUSPENSION_LEVEE'
        when date_decision is not null and decision_suspension then 'SUSPENSION_DECIDEE'
        when date_decision is not null then 'SANS_SUSPENSION'
        when date_ep is not null then 'EN_EP'
        when date_fin_observations is not null then 'A_PRESENTER_EP'
        when date_observations_invitees is not null then 'OBSERVATIONS_ATTENDUES'
        else 'A_EXAMINER'
    end as statut_remobilisation,
    code_territoire,
    id_orientation_courante as id_orientation,
    foyer_plusieurs_personnes,
    date_debut,
    nb_manquements,
    date_premier_manquement,
    premier_manquement,
    code_structure_premier,
    date_dernier_manquement,
    dernier_manquement,
    code_structure_dernier,
    date_observations_invitees,
    date_limite_observations,
    date_observations_recues,
    date_fin_observations,
    date_ep,
    date_decision,
    decision,
    date_suspension,
    suspension_vue_le,
    suspension_en_cours,
    suspension_levee_le,
    nb_suspensions,
    date_remobilisation,
    evenement_remobilisation,
    date_observations_invitees - date_premier_manquement as jours_manquement_invitation,
    date_fin_observations - date_observations_invitees as jours_invitation_fin_observations,
    date_ep - date_fin_observations as jours_fin_observations_ep,
    date_decision - date_ep as jours_ep_decision,
    case when decision_suspension then suspension_vue_le - date_decision end as jours_decision_suspension,
    {{ run_day() }} - date_debut as jours_depuis_debut,
    coalesce(date_sanction is not null
             and (date_observations_invitees is null or date_observations_invitees > date_sanction), false)
        as sanction_sans_invitation_observations,
    coalesce(date_sanction is not null and (date_ep is null or date_ep > date_sanction), false)
        as sanction_sans_avis_ep,
    date_remobilisation is not null and suspension_en_cours as reprise_versement_a_signaler
from staged
