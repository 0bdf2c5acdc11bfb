-- RESTRICTED (schema identifiants, pipeline role only): the lines of the agencies' referral extracts
-- for the run day, with the direct identifiers an agency needs to contact the person. Two files per
-- agency receiving extracts (destinations.recoit_extrait, active on the day):
--   mouvements  the day's referral movements at that agency (NOUVELLE, MODIFIEE, CLOTUREE)
--   stock       every referral open at that agency at the end of the day (type_mouvement STOCK)
-- A closed line keeps the commune and postal code the referral had in the agency's territory, and a
-- street only when the person still lives there: an agency never learns where a person it no longer
-- follows went (a move inside Saint-Denis 93066 from 93200 to 93380 changes territory, not commune;
-- the postal code tells it). Nor does a closed line tell the person's situation today (conjoint,
-- family, France Travail number, contact details). The columns after date_extrait and fichier are the
-- contract's (aiguillage/extracts/columns.py, docs/dictionnaire-extrait.md). Only decided
-- orientations reach an agency: referral_movements holds nothing else (a proposal waiting for the
-- orientation team's decision is in orientation_proposals, never here). Only the run day is kept:
-- what was delivered is archived as files, and the quality gate reads this table.
-- Every join here is caseload-sized, but the planner underestimates the (person, dossier) match and
-- then picks nested loops: at 90,000 households that ran for over ten minutes, against about 2 s
-- with hash joins. Nested loops are off for this model's transaction only.
{{ config(materialized='table', schema='identifiants',
          indexes=[{'columns': ['fichier', 'code_structure']}],
          pre_hook=["set local enable_nestloop = off"],
          post_hook=["revoke all on {{ this }} from public"]) }}

with receiving as (

    select code_structure
    from {{ ref('destinations') }}
    where recoit_extrait
        and (actif_du is null or actif_du <= {{ run_day() }})
        and (actif_au is null or actif_au >= {{ run_day() }})

),

day_movements as (

    select
        'mouvements' as fichier,
        movements.id_orientation,
        movements.type_mouvement,
        movements.person_id,
        movements.parcours,
        movements.code_structure,
        movements.code_territoire,
        movements.code_regle,
        movements.statut_orientation,
        movements.motif_cloture,
        movements.date_orientation,
        movements.date_entree_droits_devoirs,
        movements.date_limite_orientation,
        movements.code_insee,
        movements.code_postal,
        movements.origine,
        movements.structure_precedente,
        movements.id_orientation_precedente,
        movements.date_notification
    from {{ ref('referral_movements') }} as movements
    inner join receiving on receiving.code_structure = movements.code_structure
    where movements.date_mouvement = {{ run_day() }}

),

open_referrals as (

    select
        'stock' as fichier,
        referrals.id_orientation,
        'STOCK' as type_mouvement,
        referrals.person_id,
        referrals.parcours,
        referrals.code_structure,
        referrals.code_territoire,
        referrals.code_regle,
        referrals.statut_orientation,
        null::text as motif_cloture,
        referrals.date_orientation,
        referrals.date_entree_droits_devoirs,
        referrals.date_limite_orientation,
        referrals.code_insee,
        referrals.code_postal,
        referrals.origine,
        referrals.structure_precedente,
        referrals.id_orientation_precedente,
        referrals.date_notification
    from {{ ref('referrals') }} as referrals
    inner join receiving on receiving.code_structure = referrals.code_structure
    where referrals.statut_orientation = 'OUVERTE'

),

lines as (

    select * from day_movements
    union all
    select * from open_referrals

),

-- The dossier that speaks for each person today, and the person's identity in it.
situations as (

    select person_id, dossier_key, household_id, role_rsa, etat_dossier_rsa, code_insee, code_postal
    from {{ ref('int_persons__situations') }}

),

identities as (

    select identities.person_id, identities.dossier_key, persons.person_key
    from {{ ref('int_persons__identities') }} as identities
    inner join {{ ref('stg_caf__persons') }} as persons
        on persons.dossier_person_key = identities.dossier_person_key

),

named as (

    select
        situations.person_id,
        situations.dossier_key,
        situations.role_rsa,
        situations.etat_dossier_rsa,
        situations.household_id,
        situations.code_insee as code_insee_actuel,
        situations.code_postal as code_postal_actuel,
        identities.person_key,
        people.civilite,
        people.nom,
        people.nom_naissance,
        people.prenom,
        people.date_naissance,
        left(dossiers.matricule, 7) as numero_caf
    from situations
    inner join identities
        on identities.person_id = situations.person_id and identities.dossier_key = situations.dossier_key
    inner join {{ ref('identifiants__persons') }} as people on people.person_key = identities.person_key
    left join {{ ref('stg_caf__dossier_states') }} as dossiers on dossiers.dossier_key = situations.dossier_key

),

streets as (

    select
        dossier_key,
        nullif(concat_ws(' ', nullif(complement_identite, ''), nullif(numero_voie, ''),
                         nullif(type_voie, ''), nullif(nom_voie, ''), nullif(complement_adresse, ''),
                         nullif(lieu_dit, '')), '') as adresse
    from {{ ref('identifiants__addresses') }}

),

communes as (

    select code_insee, nom_commune from {{ ref('communes') }}

),

-- The orientation reason in plain words: the rule's label, in the rules' seed.
rule_labels as (

    select code_regle, libelle from {{ ref('regles_parcours') }}

),

households as (

    select dossier_key, situation_familiale, nb_enfants from {{ ref('int_households__current') }}

),

-- The other member of the household (demandeur or conjoint) when the same agency follows them too:
-- an agency learns nothing of a person referred elsewhere.
followed as (

    select situations.household_id, referrals.code_structure, referrals.person_id, referrals.id_orientation
    from {{ ref('referrals') }} as referrals
    inner join situations on situations.person_id = referrals.person_id
    where referrals.statut_orientation = 'OUVERTE' and situations.role_rsa in ('DEM', 'CJT')

),

conjoints as (

    select distinct on (mine.person_id, mine.code_structure)
        mine.person_id, mine.code_structure, other.id_orientation
    from followed as mine
    inner join followed as other
        on other.household_id = mine.household_id
        and other.code_structure = mine.code_structure
        and other.person_id <> mine.person_id
    order by mine.person_id, mine.code_structure, other.id_orientation

),

-- The last contract the previous structure reported on the referral this one continues (a move, a
-- change of structure, a re-orientation), and the day that structure's accompaniment ended.
previous_contracts as (

    select
        events.id_orientation,
        max(events.date_evenement) as date_debut_contrat
    from {{ ref('int_ali__events_checked') }} as events
    where events.statut = 'ACCEPTE' and events.evenement = 'CONTRAT_SIGNE'
    group by events.id_orientation

)

select
    {{ run_day() }} as date_extrait,
    lines.fichier,
    lines.id_orientation,
    lines.type_mouvement,
    lines.date_orientation,
    lines.parcours,
    lines.code_structure,
    lines.code_regle as motif_orientation,
    named.civilite,
    named.nom,
    named.nom_naissance,
    named.prenom,
    named.date_naissance,
    named.numero_caf,
    named.role_rsa as role,
    -- the street only while the person still lives at the place the line is for: same commune AND
    -- same postal code (93066 spans two territories, 93200/93210 and 93380), so that a line closing a
    -- referral after a move never carries the new street
    case
        when named.code_insee_actuel = lines.code_insee
            and named.code_postal_actuel is not distinct from lines.code_postal
            then streets.adresse
    end as adresse,
    lines.code_postal,
    lines.code_insee as code_commune,
    communes.nom_commune as commune,
    lines.date_entree_droits_devoirs,
    named.etat_dossier_rsa as etat_droit,
    referrals.date_limite_contrat,
    lines.motif_cloture,
    lines.statut_orientation,
    lines.date_limite_orientation,
    lines.code_territoire,
    lines.origine,
    lines.structure_precedente,
    lines.date_notification,
    referrals.date_contrat,
    -- 1.2: what a counsellor needs to act. What describes the person's situation today (conjoint,
    -- family, France Travail number, contact details) stays off a line that closes a referral.
    rule_labels.libelle as libelle_motif,
    case when lines.type_mouvement <> 'CLOTUREE' then conjoints.id_orientation end as id_orientation_conjoint,
    -- keyed per agency: the same for both members at one agency, unrelated from one agency to another
    case
        when named.household_id is not null then 'FO' || upper(left(
            {{ pseudonym("'FOYER|' || lines.code_structure || '|' || named.household_id") }}, 16))
    end as cle_foyer,
    case when lines.type_mouvement <> 'CLOTUREE' then households.situation_familiale end as situation_familiale,
    case when lines.type_mouvement <> 'CLOTUREE' then households.nb_enfants end as nombre_enfants,
    case when lines.type_mouvement <> 'CLOTUREE' then france_travail.identifiant_france_travail end
        as identifiant_france_travail,
    previous_contract.date_debut_contrat as date_debut_contrat_precedent,
    case when previous_contract.date_debut_contrat is not null then previous_referral.date_cloture end
        as date_fin_contrat_precedent,
    case when lines.type_mouvement <> 'CLOTUREE' then contacts.telephone end as telephone,
    case when lines.type_mouvement <> 'CLOTUREE' then contacts.email end as email
from lines
left join named on named.person_id = lines.person_id
left join streets on streets.dossier_key = named.dossier_key
left join communes on communes.code_insee = lines.code_insee
left join {{ ref('referrals') }} as referrals on referrals.id_orientation = lines.id_orientation
left join rule_labels on rule_labels.code_regle = lines.code_regle
left join households on households.dossier_key = named.dossier_key
left join conjoints
    on conjoints.person_id = lines.person_id and conjoints.code_structure = lines.code_structure
left join {{ ref('identifiants__france_travail_identifiers') }} as france_travail
    on france_travail.person_id = lines.person_id
left join {{ ref('identifiants__contact_details') }} as contacts on contacts.person_key = named.person_key
left join previous_contracts as previous_contract
    on previous_contract.id_orientation = lines.id_orientation_precedente
left join {{ ref('referrals') }} as previous_referral
    on previous_referral.id_orientation = lines.id_orientation_precedente
