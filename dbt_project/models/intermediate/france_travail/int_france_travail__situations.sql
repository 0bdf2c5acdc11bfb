-- Each CAF person's France Travail situation: the latest state of their job-seeker registration
-- from the CSV flows, and the orientation France Travail holds for them (partner API) when it was read.
-- A registration is matched to a person by (NIR13, birth date), else by (name, first name, birth
-- date) — the partner's rule — and the match records which (match_rule). Every NIR the identity map
-- knows the person by counts: a registration made under a temporary NIR still finds the person once
-- the CAF sends the certified one.
-- Since 2025 RSA beneficiaries are registered automatically, in G (waiting for orientation) or F
-- (social accompaniment): registered, but not as job seekers. inscrit_ft counts the job-seeker
-- categories only (seed codes_categorie_france_travail.est_demandeur_emploi), as before 2025 when
-- every registration was one; inscription_active_ft counts every category.
with persons as (

    select distinct on (identities.person_id)
        identities.person_id, persons.person_pseudonym, persons.name_pseudonym, persons.date_naissance
    from {{ ref('int_persons__identities') }} as identities
    inner join {{ ref('stg_caf__persons') }} as persons on persons.dossier_person_key = identities.dossier_person_key
    order by identities.person_id, persons.nir_valid desc, persons.delivered_on desc, persons.dossier_key

),

person_nirs as (

    select distinct keys.person_id, keys.person_pseudonym, keys.date_naissance
    from {{ ref('person_identity_map') }} as keys
    inner join persons on persons.person_id = keys.person_id
    where keys.key_type = 'NIR'

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

    select person_nirs.person_id, registrations.*, 'FT_NIR_DTNAI' as match_rule, 1 as match_rank
    from person_nirs
    inner join registrations
        on registrations.person_pseudonym = person_nirs.person_pseudonym
        and registrations.date_naissance = person_nirs.date_naissance
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

categories as (

    select code, est_demandeur_emploi from {{ ref('codes_categorie_france_travail') }}

),

api as (

    select * from {{ ref('stg_france_travail__api_lookups') }}

)

select
    persons.person_id,
    latest_registration.match_rule,
    -- which France Travail number the person is known by (its clear value: identifiants only)
    latest_registration.identifiantpe_pseudonym,
    latest_registration.flow_kind as dernier_flux,
    latest_registration.date_evenement as date_dernier_etat,
    latest_registration.categorie,
    coalesce(latest_registration.flow_kind in ('stock', 'inscriptions'), false) as inscription_active_ft,
    coalesce(latest_registration.flow_kind in ('stock', 'inscriptions') and categories.est_demandeur_emploi, false)
        as inscrit_ft,
    api.outcome as resultat_api,
    api.requested_at as interroge_le,
    -- The parcours of France Travail's orientation, in the vocabulary of the parcours rules
    case api.code_parcours
        when 'PED' then 'EMPLOI'
        when 'PSP' then 'SOCIAL'
        when 'PSO' then 'SOCIOPRO'
    end as parcours_preconise,
    api.code_parcours,
    api.organisme,
    api.structure,
    api.structure_decision,
    api.statut_orientation,
    api.etat_orientation,
    api.origine_orientation,
    api.date_entree_parcours,
    api.date_modification_parcours,
    api.date_sortie_parcours,
    api.motif_sortie_parcours,
    api.critere_situation_professionnelle,
    api.critere_type_emploi,
    api.critere_niveau_etude,
    api.critere_capacite_a_travailler,
    api.critere_projet_pro,
    api.critere_contrainte_sante,
    api.critere_contrainte_logement,
    api.critere_contrainte_mobilite,
    api.critere_contrainte_familiale,
    api.critere_contrainte_financiere,
    api.critere_contrainte_numerique,
    api.critere_contrainte_administrative_juridique,
    api.critere_contrainte_francais_calcul,
    api.critere_boe,
    api.critere_baeeh,
    api.critere_scolarite_etablissement_specialise,
    api.critere_esat,
    api.critere_boe_souhait_accompagnement,
    api.critere_msa_autonomie_recherche_emploi,
    api.critere_msa_demarches_professionnelles,
    api.criteres_orientation,
    api.decision_etat,
    api.decision_date,
    api.decision_organisme,
    api.decision_motif_refus,
    api.decision_structure,
    api.decision
from persons
left join latest_registration on latest_registration.person_id = persons.person_id
left join categories on categories.code = latest_registration.categorie
left join api on api.person_pseudonym = persons.person_pseudonym and api.date_naissance = persons.date_naissance
where latest_registration.person_id is not null or api.person_pseudonym is not null
