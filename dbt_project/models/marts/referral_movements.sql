-- The referral lifecycle, one row per referral and day it moved: the log the agencies' daily
-- extracts are cut from, and from which any past day's referrals can be read back. Only decided
-- orientations are here: a proposal of the rules becomes a referral once it is VALIDEE or MODIFIEE
-- (orientation_proposal_history: by the orientation team's decision, or by the automatic validation of
-- its rule). Each run compares, person by person, the referrals the runs before the day left
-- (int_orientations__referrals_before_day) with today's decisions and situation:
--   no longer orientable                -> CLOTUREE with the reason (kept open while the person is
--                                          only A_SUIVRE, i.e. their rights-and-duties flag is missing)
--   a re-orientation decided today      -> CLOTUREE (REORIENTATION), and NOUVELLE, origine REORIENTATION
--   another territory                   -> the decision stands: CLOTUREE (DEMENAGEMENT) at the agency of
--                                          departure, NOUVELLE at the same parcours's destination in the
--                                          new territory, origine DEMENAGEMENT, with the previous
--                                          structure; the decision's dates travel with it, and the
--                                          contract too (int_orientations__contracts)
--   the parcours's destination replaced -> the same, origine and motif CHANGEMENT_DE_STRUCTURE
--   same territory                      -> the referral keeps its parcours (an input of the rules that
--                                          changes does not re-orient anyone: only a decision does) and
--                                          its structure: MODIFIEE when what the agency sees of the
--                                          situation changed (dossier, address, role: not the state of
--                                          the right, which stays open while the referral is); NOUVELLE
--                                          (same id) when a waiting PSO referral gets its ALI
--   none open, a proposal decided today -> NOUVELLE, new id_orientation, origine INITIALE (or
--                                          REORIENTATION), with the decision's dates and role
--   none open, one to resume            -> the right reopened within var delai_reprise_orientation_mois:
--                                          NOUVELLE with the same id_orientation (no new proposal), or at
--                                          the destination of another territory (origine DEMENAGEMENT)
-- Incremental: a run costs the day's changes. Rerunning a day first deletes that day's rows (and any
-- later ones), so a rerun gives the same rows. id_orientation is a hash of the person, the day and the
-- destination: stable across days and reruns, and the same when days are replayed. Columns added by a
-- later version are appended to a warehouse built by an earlier one (NULL on its earlier rows).
{{ config(
    materialized='incremental',
    on_schema_change='append_new_columns',
    indexes=[{'columns': ['id_orientation', 'date_mouvement'], 'unique': true},
             {'columns': ['person_id']}, {'columns': ['date_mouvement']}, {'columns': ['id_proposition']}],
    pre_hook="{% if is_incremental() %}delete from {{ this }} where date_mouvement >= {{ run_day() }}{% endif %}"
) }}

with situations as (

    -- What an agency sees of a person's situation: the dossier (numero_caf), the address and the role.
    -- The fingerprint of an earlier version also held the state of the right (ETATDOSRSA): kept to
    -- compare with the rows it wrote, so that an upgrade sends no MODIFIEE for nothing.
    select
        person_id, household_id, statut_eligibilite, motif_eligibilite, code_territoire, code_insee, code_postal,
        etat_dossier_rsa, role_rsa, date_entree_droits_devoirs, date_limite_orientation,
        'v2:' || md5(concat_ws('|', dossier_key, code_insee, code_postal, address_pseudonym, role_rsa))
            as situation_empreinte,
        md5(concat_ws('|', dossier_key, code_insee, code_postal, address_pseudonym, etat_dossier_rsa, role_rsa))
            as empreinte_v1
    from {{ ref('int_persons__eligibility') }}

),

-- Which structure of each type serves each place today (the one place that says it).
sectorisation as (

    select * from {{ ref('int_destinations__sectorisation') }}

),

structure_types as (

    select code_structure, type_structure from {{ ref('destinations') }}

),

-- The type of structure a parcours goes to when nothing says otherwise (PED: France Travail).
parcours_types as (

    select code as parcours, type_structure from {{ ref('codes_parcours') }}

),

previous as (

    select * from {{ ref('int_orientations__referrals_before_day') }}

),

open_before as (

    select * from previous where est_ouverte

),

resumable as (

    select * from previous where est_reprenable

),

-- The proposals decided today that make an orientation (one per person).
decided as (

    select distinct on (person_id) *
    from {{ ref('orientation_proposal_history') }}
    where date_statut = {{ run_day() }} and statut_proposition in ('VALIDEE', 'MODIFIEE')
    order by person_id, id_proposition

),

people as (

    select person_id from open_before
    union
    select person_id from decided
    union
    select person_id from resumable

),

paired as (

    select
        people.person_id,
        situations.statut_eligibilite,
        situations.motif_eligibilite,
        coalesce(decided.parcours_decide, open_before.parcours, resumable.parcours) as parcours_cible,
        coalesce(decided.code_structure_decidee, kept.code_structure) as structure_cible,
        kept.code_structure as kept_structure,
        case
            when open_before.id_orientation is not null then
                case
                    when situations.statut_eligibilite is distinct from 'ORIENTABLE' then 'GONE'
                    -- a decision of the day that changes the parcours or names another structure
                    when decided.id_proposition is not null
                        and (decided.parcours_decide <> open_before.parcours
                             or (decided.code_structure_decidee is not null
                                 and decided.code_structure_decidee is distinct from open_before.code_structure))
                        then 'REORIENTED'
                    when open_before.code_territoire is distinct from situations.code_territoire then 'MOVED'
                    when open_before.code_structure is not null
                        and open_before.code_structure is distinct from kept.code_structure then 'REPLACED'
                    else 'SAME'
                end
            when situations.statut_eligibilite is distinct from 'ORIENTABLE' then 'NONE'
            when decided.id_proposition is not null then 'NEW'
            when resumable.id_orientation is not null then
                case
                    when resumable.code_territoire is not distinct from situations.code_territoire
                        and (resumable.code_structure is null
                             or resumable.code_structure is not distinct from kept.code_structure)
                        then 'RESUMED'
                    else 'RESUMED_ELSEWHERE'
                end
            else 'NONE'
        end as pairing
    from people
    left join open_before on open_before.person_id = people.person_id
    left join resumable on resumable.person_id = people.person_id
    left join decided on decided.person_id = people.person_id
    left join situations on situations.person_id = people.person_id
    -- the type of structure the person is to have: the one decided today (the proposal's, unless the
    -- team chose another parcours), else the one the referral already has, else the parcours's own
    left join structure_types as previous_type
        on previous_type.code_structure = coalesce(open_before.code_structure, resumable.code_structure)
    left join parcours_types
        on parcours_types.parcours = coalesce(decided.parcours_decide, open_before.parcours, resumable.parcours)
    -- its structure today at the person's address
    left join sectorisation as kept
        on kept.code_insee = situations.code_insee
        and kept.code_territoire = situations.code_territoire
        and kept.type_structure = case
            when decided.id_proposition is not null then
                case when decided.parcours_decide = decided.parcours_propose
                     then coalesce(decided.type_structure_propose, parcours_types.type_structure)
                     else parcours_types.type_structure end
            else coalesce(previous_type.type_structure, parcours_types.type_structure)
        end

),

closed as (

    select
        open_before.id_orientation,
        'CLOTUREE' as type_mouvement,
        open_before.person_id,
        open_before.household_id,
        'CLOTUREE' as statut_orientation,
        open_before.parcours,
        open_before.code_structure,
        open_before.code_territoire,
        open_before.code_regle,
        case
            when paired.pairing = 'REORIENTED' and paired.parcours_cible <> open_before.parcours then 'REORIENTATION'
            when paired.pairing in ('REORIENTED', 'MOVED')
                and open_before.code_territoire is distinct from situations.code_territoire then 'DEMENAGEMENT'
            when paired.pairing in ('REORIENTED', 'REPLACED') then 'CHANGEMENT_DE_STRUCTURE'
            when paired.motif_eligibilite = 'HORS_DEPARTEMENT' then 'DEMENAGEMENT'
            when paired.motif_eligibilite = 'DROIT_NON_OUVERT' then 'FIN_DE_DROIT'
            when paired.motif_eligibilite = 'HORS_DROITS_DEVOIRS' then 'SORTIE_DROITS_DEVOIRS'
            when paired.motif_eligibilite = 'ROLE_NON_CANDIDAT' then 'CHANGEMENT_DE_ROLE'
            else 'ABSENT_DES_FLUX'
        end as motif_cloture,
        open_before.date_creation,
        open_before.date_orientation,
        open_before.date_entree_droits_devoirs,
        open_before.date_limite_orientation,
        open_before.code_insee,
        open_before.code_postal,
        open_before.etat_dossier_rsa,
        open_before.role_rsa,
        open_before.situation_empreinte,
        open_before.id_proposition,
        open_before.origine,
        open_before.date_proposition,
        open_before.date_decision,
        open_before.date_notification,
        open_before.decide_par,
        open_before.delai_revision_mois,
        open_before.structure_precedente,
        open_before.id_orientation_precedente
    from paired
    inner join open_before on open_before.person_id = paired.person_id
    left join situations on situations.person_id = paired.person_id
    where paired.pairing in ('REORIENTED', 'MOVED', 'REPLACED')
        or (paired.pairing = 'GONE' and paired.statut_eligibilite is distinct from 'A_SUIVRE')

),

-- A new referral: a decision of the day, or a decision that stands and follows the person elsewhere.
opened as (

    select
        'OR' || upper(left(md5('ORIENTATION|' || paired.person_id || '|' || {{ run_day() }}::text || '|'
                               || paired.parcours_cible || '|' || coalesce(situations.code_territoire, '')), 16))
            as id_orientation,
        'NOUVELLE' as type_mouvement,
        paired.person_id,
        situations.household_id,
        case when paired.structure_cible is null then 'EN_ATTENTE_STRUCTURE' else 'OUVERTE' end as statut_orientation,
        paired.parcours_cible as parcours,
        paired.structure_cible as code_structure,
        situations.code_territoire,
        coalesce(decided.code_regle, earlier.code_regle) as code_regle,
        null::text as motif_cloture,
        {{ run_day() }} as date_creation,
        case when paired.structure_cible is not null then {{ run_day() }} end as date_orientation,
        situations.date_entree_droits_devoirs,
        situations.date_limite_orientation,
        situations.code_insee,
        situations.code_postal,
        situations.etat_dossier_rsa,
        situations.role_rsa,
        situations.situation_empreinte,
        coalesce(decided.id_proposition, earlier.id_proposition) as id_proposition,
        case
            when decided.id_proposition is not null then decided.origine
            when earlier.code_territoire is distinct from situations.code_territoire then 'DEMENAGEMENT'
            else 'CHANGEMENT_DE_STRUCTURE'
        end as origine,
        coalesce(decided.date_proposition, earlier.date_proposition) as date_proposition,
        coalesce(decided.date_decision, earlier.date_decision) as date_decision,
        coalesce(decided.date_notification, earlier.date_notification) as date_notification,
        coalesce(decided.decide_par, earlier.decide_par) as decide_par,
        case when decided.id_proposition is not null then decided.delai_revision_mois
             else earlier.delai_revision_mois end as delai_revision_mois,
        earlier.code_structure as structure_precedente,
        earlier.id_orientation as id_orientation_precedente
    from paired
    left join situations on situations.person_id = paired.person_id
    left join decided on decided.person_id = paired.person_id
    -- the referral this one continues: the open one, or the one resumed elsewhere
    left join previous as earlier
        on earlier.person_id = paired.person_id
        and (earlier.est_ouverte or paired.pairing = 'RESUMED_ELSEWHERE')
    where paired.pairing in ('REORIENTED', 'MOVED', 'REPLACED', 'NEW', 'RESUMED_ELSEWHERE')

),

-- The same referral goes on: what changed of it, if anything; or it resumes after its right reopened.
continued as (

    select
        earlier.id_orientation,
        case
            when paired.pairing = 'RESUMED' then 'NOUVELLE'
            when earlier.code_structure is null and paired.kept_structure is not null then 'NOUVELLE'
            else 'MODIFIEE'
        end as type_mouvement,
        paired.person_id,
        situations.household_id,
        case when paired.kept_structure is null then 'EN_ATTENTE_STRUCTURE' else 'OUVERTE' end as statut_orientation,
        earlier.parcours,
        paired.kept_structure as code_structure,
        situations.code_territoire,
        earlier.code_regle,
        null::text as motif_cloture,
        earlier.date_creation,
        coalesce(earlier.date_orientation, case when paired.kept_structure is not null then {{ run_day() }} end)
            as date_orientation,
        earlier.date_entree_droits_devoirs,
        earlier.date_limite_orientation,
        situations.code_insee,
        situations.code_postal,
        situations.etat_dossier_rsa,
        situations.role_rsa,
        situations.situation_empreinte,
        earlier.id_proposition,
        earlier.origine,
        earlier.date_proposition,
        earlier.date_decision,
        earlier.date_notification,
        earlier.decide_par,
        earlier.delai_revision_mois,
        earlier.structure_precedente,
        earlier.id_orientation_precedente
    from paired
    inner join previous as earlier on earlier.person_id = paired.person_id
    left join situations on situations.person_id = paired.person_id
    where (paired.pairing = 'SAME' and earlier.est_ouverte
           and (earlier.code_structure is distinct from paired.kept_structure
                or case when earlier.situation_empreinte like 'v2:%'
                        then earlier.situation_empreinte <> situations.situation_empreinte
                        else earlier.situation_empreinte is distinct from situations.empreinte_v1 end))
        or (paired.pairing = 'RESUMED' and earlier.est_reprenable)

),

movements as (

    select * from closed
    union all
    select * from opened
    union all
    select * from continued

)

select
    id_orientation,
    {{ run_day() }} as date_mouvement,
    type_mouvement,
    person_id,
    household_id,
    statut_orientation,
    parcours,
    code_structure,
    code_territoire,
    code_regle,
    motif_cloture,
    date_creation,
    date_orientation,
    date_entree_droits_devoirs,
    date_limite_orientation,
    code_insee,
    code_postal,
    etat_dossier_rsa,
    role_rsa,
    situation_empreinte,
    id_proposition,
    origine,
    date_proposition,
    date_decision,
    date_notification,
    decide_par,
    delai_revision_mois,
    structure_precedente,
    id_orientation_precedente
from movements
