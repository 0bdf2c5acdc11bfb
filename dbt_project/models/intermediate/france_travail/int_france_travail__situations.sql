-- Each CAF person's France Travail situation: the latest state of their job-seeker registration
-- from the CSV flows, and France Travail's recommended parcours from the API when it was read.
-- A registration is matched to a person by (NIR13, birth date), else by (name, first name, birth
-- date) — the partner's rule — and the match records which (match_rule).
with persons as (

    select distinct on (identities.person_id)
        identities.person_id, persons.person_pseudonym, persons.name_pseudonym, persons.date_naissance
    from {{ ref('int_persons__identities') }} as identities
    inner join {{ ref('stg_caf__persons') }} as persons on persons.dossier_person_key = identities.dossier_person_key
    order by identities.person_id, persons.nir_valid desc, persons.delivered_on desc, persons.dossier_key

),

-- The latest record of each job seeker (France Travail number): the row with the greatest date.
registrations as (

    select distinct on (identifiantpe_pseudonym)
        identifiantpe_pseudonym, person_pseudonym, name_pseudonym, date_naissance,
        flow_kind, date_evenement, categorie, motif
    from {{ ref('stg_france_travail__registrations') }}
    order by identifiantpe_pseudonym, date_evenement desc, delivered_on desc, file_id desc, line_number desc

),

matched as (

    select persons.person_id, registrations.*, 'FT_NIR_DTNAI' as match_rule, 1 as match_rank
    from persons
    inner join registrations
        on registrations.person_pseudonym = persons.person_pseudonym
        and registrations.date_naissance = persons.date_naissance
    union all
    select persons.person_id, registrations.*, 'FT_NOM_PRENOM_DTNAI' as match_rule, 2 as match_rank
    from persons
    inner join registrations on registrations.name_pseudonym = persons.name_pseudonym

),

latest_registration as (

    select distinct on (person_id) *
    from matched
    order by person_id, match_rank, date_evenement desc, identifiantpe_pseudonym

),

api as (

    select * from {{ ref('stg_france_travail__api_lookups') }}

)

select
    persons.person_id,
    latest_registration.match_rule,
    latest_registration.flow_kind as dernier_flux,
    latest_registration.date_evenement as date_dernier_etat,
    latest_registration.categorie,
    coalesce(latest_registration.flow_kind in ('stock', 'inscriptions'), false) as inscrit_ft,
    api.outcome as resultat_api,
    api.requested_at as interroge_le,
    -- France Travail speaks of EMPLOI / SOCIAL / SOCIOPRO or of the parcours codes: one vocabulary here
    case
        when api.parcours_preconise in ('EMPLOI', 'PED') then 'EMPLOI'
        when api.parcours_preconise in ('SOCIAL', 'PSP') then 'SOCIAL'
        when api.parcours_preconise in ('SOCIOPRO', 'PSO') then 'SOCIOPRO'
    end as parcours_preconise,
    api.code_parcours
from persons
left join latest_registration on latest_registration.person_id = persons.person_id
left join api on api.person_pseudonym = persons.person_pseudonym and api.date_naissance = persons.date_naissance
where latest_registration.person_id is not null or api.person_pseudonym is not null
