-- Every person of the current CAF caseload, pseudonymous: whether they must be oriented
-- (statut_eligibilite and why not), where they live (territory), what France Travail knows of them,
-- and their current referral if they have one. No direct identifier: person_id and household_id
-- are keyed pseudonyms.
{{ config(indexes=[{'columns': ['person_id'], 'unique': true}]) }}

with eligibility as (

    select * from {{ ref('int_persons__eligibility') }}

),

situations as (

    select person_id, identity_rule, nb_dossiers, sexe from {{ ref('int_persons__situations') }}

),

france_travail as (

    select * from {{ ref('int_france_travail__situations') }}

),

current_referrals as (

    select distinct on (person_id) person_id, id_orientation, parcours, code_structure, statut_orientation
    from {{ ref('referrals') }}
    where statut_orientation <> 'CLOTUREE'
    order by person_id, date_creation desc

)

select
    eligibility.person_id,
    eligibility.household_id,
    situations.identity_rule as regle_identite,
    situations.nb_dossiers,
    situations.sexe,
    eligibility.age,
    eligibility.role_rsa,
    eligibility.etat_dossier_rsa,
    eligibility.soumis_droits_devoirs,
    eligibility.statut_eligibilite,
    eligibility.motif_eligibilite,
    eligibility.code_territoire,
    eligibility.code_insee,
    eligibility.date_entree_droits_devoirs,
    eligibility.date_limite_orientation,
    coalesce(france_travail.inscrit_ft, false) as inscrit_ft,
    france_travail.categorie as categorie_ft,
    france_travail.parcours_preconise as parcours_preconise_ft,
    current_referrals.id_orientation,
    current_referrals.parcours,
    current_referrals.code_structure,
    current_referrals.statut_orientation
from eligibility
inner join situations on situations.person_id = eligibility.person_id
left join france_travail on france_travail.person_id = eligibility.person_id
left join current_referrals on current_referrals.person_id = eligibility.person_id
