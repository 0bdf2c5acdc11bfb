-- The cases of the équipe pluridisciplinaire's list, one row per case (id_remobilisation):
--   MANQUEMENT    breaches reported by the accompanying structures that no re-engagement separates
--                 (int_remobilisation__breaches), with the first re-engagement reported after the last
--                 of them (date_remobilisation), if any;
--   SANCTION_CAF  a sanction suspension the CAF applies (int_remobilisation__sanction_suspensions)
--                 that no breach case of the household accounts for (the breach was reported
--                 elsewhere, e.g. by France Travail): one case per person of the dossier subject to
--                 rights and duties, since the flow does not say whose breach it was.
-- A breach case carries the household's sanction suspension that took effect between its first
-- breach and the person's next case (the latest, when there are several). The CAF's effect date
-- (DDSUSVERSRSA) places a suspension, or the first flow that carried it when the date is missing.
with breaches as (

    select * from {{ ref('int_remobilisation__breaches') }}

),

persons as (

    select person_id, dossier_key, role_rsa, soumis_droits_devoirs
    from {{ ref('int_persons__situations') }}

),

candidate_roles as (

    select code from {{ ref('codes_rolepers') }} where est_candidat

),

reengagements as (

    select checked.person_id, checked.evenement, checked.date_evenement, checked.file_id, checked.line_number
    from {{ ref('int_ali__events_checked') }} as checked
    inner join {{ ref('codes_evenement_ali') }} as codes on codes.code = checked.evenement
    where checked.statut = 'ACCEPTE' and codes.est_reengagement

),

suspensions as (

    select
        suspensions.*,
        coalesce(suspensions.date_suspension, suspensions.vue_le) as date_reference
    from {{ ref('int_remobilisation__sanction_suspensions') }} as suspensions
    where coalesce(suspensions.date_suspension, suspensions.vue_le)
        >= '{{ var("debut_suspension_remobilisation") }}'::date

),

breach_cases as (

    select
        id_remobilisation,
        min(person_id) as person_id,
        count(*)::integer as nb_manquements,
        min(date_manquement) as date_premier_manquement,
        max(date_manquement) as date_dernier_manquement,
        (array_agg(evenement order by date_manquement, file_id, line_number))[1] as premier_manquement,
        (array_agg(code_structure order by date_manquement, file_id, line_number))[1] as code_structure_premier,
        (array_agg(evenement order by date_manquement desc, file_id desc, line_number desc))[1] as dernier_manquement,
        (array_agg(code_structure order by date_manquement desc, file_id desc, line_number desc))[1]
            as code_structure_dernier,
        (array_agg(id_orientation order by date_manquement desc, file_id desc, line_number desc))[1]
            as id_orientation
    from breaches
    group by id_remobilisation

),

bounded as (

    select
        breach_cases.*,
        lead(date_premier_manquement) over (
            partition by person_id order by date_premier_manquement, id_remobilisation
        ) as date_cas_suivant
    from breach_cases

),

-- Every (breach case, suspension of the person's dossier) pair the dates allow.
matches as (

    select
        bounded.id_remobilisation,
        suspensions.dossier_key,
        suspensions.motif_suspension,
        suspensions.date_suspension,
        suspensions.date_reference,
        suspensions.vue_le,
        suspensions.en_cours,
        suspensions.levee_constatee_le
    from bounded
    inner join persons on persons.person_id = bounded.person_id
    inner join suspensions on suspensions.dossier_key = persons.dossier_key
    where suspensions.date_reference >= bounded.date_premier_manquement
        and (bounded.date_cas_suivant is null or suspensions.date_reference < bounded.date_cas_suivant)

),

case_suspensions as (

    select distinct on (id_remobilisation)
        id_remobilisation,
        date_suspension,
        vue_le,
        en_cours,
        levee_constatee_le,
        count(*) over (partition by id_remobilisation)::integer as nb_suspensions
    from matches
    order by id_remobilisation, date_reference desc, vue_le desc

),

first_reengagement as (

    select distinct on (bounded.id_remobilisation)
        bounded.id_remobilisation,
        reengagements.date_evenement as date_remobilisation,
        reengagements.evenement as evenement_remobilisation
    from bounded
    inner join reengagements
        on reengagements.person_id = bounded.person_id
        and reengagements.date_evenement > bounded.date_dernier_manquement
    order by bounded.id_remobilisation, reengagements.date_evenement, reengagements.file_id,
             reengagements.line_number

),

sanction_cases as (

    select
        md5('SANCTION|' || persons.person_id || '|' || suspensions.motif_suspension || '|'
            || suspensions.date_reference::text) as id_remobilisation,
        persons.person_id,
        suspensions.date_reference,
        suspensions.date_suspension,
        suspensions.vue_le,
        suspensions.en_cours,
        suspensions.levee_constatee_le
    from suspensions
    inner join persons on persons.dossier_key = suspensions.dossier_key
    inner join candidate_roles on candidate_roles.code = persons.role_rsa
    where persons.soumis_droits_devoirs
        and not exists (
            select from matches
            where matches.dossier_key = suspensions.dossier_key
                and matches.motif_suspension = suspensions.motif_suspension
                and matches.date_suspension is not distinct from suspensions.date_suspension
        )

),

all_cases as (

    select
        bounded.id_remobilisation,
        bounded.person_id,
        'MANQUEMENT' as origine,
        bounded.date_premier_manquement as date_debut,
        bounded.nb_manquements,
        bounded.date_premier_manquement,
        bounded.premier_manquement,
        bounded.code_structure_premier,
        bounded.date_dernier_manquement,
        bounded.dernier_manquement,
        bounded.code_structure_dernier,
        bounded.id_orientation,
        first_reengagement.date_remobilisation,
        first_reengagement.evenement_remobilisation,
        case_suspensions.date_suspension,
        case_suspensions.vue_le as suspension_vue_le,
        coalesce(case_suspensions.en_cours, false) as suspension_en_cours,
        case_suspensions.levee_constatee_le as suspension_levee_le,
        coalesce(case_suspensions.nb_suspensions, 0) as nb_suspensions
    from bounded
    left join first_reengagement on first_reengagement.id_remobilisation = bounded.id_remobilisation
    left join case_suspensions on case_suspensions.id_remobilisation = bounded.id_remobilisation

    union all

    select
        id_remobilisation,
        person_id,
        'SANCTION_CAF' as origine,
        date_reference as date_debut,
        0 as nb_manquements,
        null::date as date_premier_manquement,
        null::text as premier_manquement,
        null::text as code_structure_premier,
        null::date as date_dernier_manquement,
        null::text as dernier_manquement,
        null::text as code_structure_dernier,
        null::text as id_orientation,
        null::date as date_remobilisation,
        null::text as evenement_remobilisation,
        date_suspension,
        vue_le as suspension_vue_le,
        en_cours as suspension_en_cours,
        levee_constatee_le as suspension_levee_le,
        1 as nb_suspensions
    from sanction_cases

)

select
    all_cases.*,
    row_number() over (partition by person_id order by date_debut, origine, id_remobilisation)::integer as rang_cas
from all_cases
