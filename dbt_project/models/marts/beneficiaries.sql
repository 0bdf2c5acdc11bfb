-- Every person of the current CAF caseload, pseudonymous: whether they must be oriented
-- (statut_eligibilite and why not), where they live (territory), what France Travail knows of them,
-- and their current referral if they have one. No direct identifier: person_id and household_id
-- are keyed pseudonyms. Past the orientation deadline with no decided orientation, France Travail
-- orients the person (CASF D.262-65-2): orientation_par_france_travail.
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

),

-- deadlines: begin
-- a decided orientation for the current period: an open referral, or one decided since the receipt
-- (a referral made before decisions were recorded was decided the day it was made)
decided as (

    select distinct referrals.person_id
    from {{ ref('referrals') }} as referrals
    inner join eligibility on eligibility.person_id = referrals.person_id
    where referrals.statut_orientation <> 'CLOTUREE'
        or coalesce(referrals.date_decision, referrals.date_creation) >= eligibility.date_reception_information

)
-- deadlines: end

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
    -- deadlines: begin
    eligibility.date_reception_information,
    eligibility.regle_limite_orientation,
    eligibility.date_limite_orientation,
    coalesce(eligibility.date_limite_orientation < {{ run_day() }} and decided.person_id is null, false)
        as orientation_par_france_travail,
    -- deadlines: end
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
left join decided on decided.person_id = eligibility.person_id
