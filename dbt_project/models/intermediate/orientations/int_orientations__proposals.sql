-- The rules' proposal for each orientable person today: a parcours, a type of structure and the
-- structure of that type that serves the person's address (int_destinations__sectorisation). Each
-- person's criteria (the national ones of the arrêté of 21 November 2024 as France Travail records
-- them, what the CAF data shows, an agency's re-orientation request) are computed, unpivoted to
-- (critere, valeur) pairs and joined to the active rules of the seed regles_parcours: the matching
-- rule of lowest rank proposes, and its code, its reason in plain French (libelle_regle) and the
-- criteria it was judged on (criteres) travel with the proposal. validation_automatique is the
-- Département's standing decision for that rule (seed), never for an agency's re-orientation
-- request. A proposal whose structure is not active yet waits (EN_ATTENTE_STRUCTURE, no structure).
-- criteres holds health and disability information: it stays in the pipeline's own schemas and the
-- orientation team's list.
{{ config(indexes=[{'columns': ['person_id'], 'unique': true}]) }}

with eligible as (

    select * from {{ ref('int_persons__eligibility') }}
    where statut_eligibilite = 'ORIENTABLE'

),

households as (

    select dossier_key, situation_familiale, nb_personnes, nb_enfants from {{ ref('int_households__current') }}

),

family_situations as (

    select code, vie_en_couple from {{ ref('codes_sitfam') }}

),

france_travail as (

    select * from {{ ref('int_france_travail__situations') }}

),

france_travail_states as (

    select code, est_decidee from {{ ref('codes_etat_orientation_france_travail') }}

),

requests as (

    select * from {{ ref('int_ali__reorientation_requests') }}

),

rules as (

    select
        rules.rang,
        rules.code_regle,
        rules.critere,
        coalesce(rules.valeur, '') as valeur,
        rules.parcours,
        -- an empty cell is no type: the parcours's default one
        coalesce(nullif(rules.type_structure, ''), parcours.type_structure) as type_structure,
        rules.critere = 'reorientation_demandee' as est_reorientation,
        -- the law leaves every decision to the Département: an agency's request is never one
        rules.validation_automatique and rules.critere <> 'reorientation_demandee' as validation_automatique,
        rules.description as libelle_regle
    from {{ ref('regles_parcours') }} as rules
    inner join {{ ref('codes_parcours') }} as parcours on parcours.code = rules.parcours
    where rules.actif

),

sectorisation as (

    select * from {{ ref('int_destinations__sectorisation') }}

),

-- France Travail's orientation as it stands on the run day (none once the person left it), decided
-- when the state of its decision (else its own state) is one the seed counts as decided.
france_travail_orientations as (

    select
        france_travail.*,
        case when france_travail.date_sortie_parcours is null or france_travail.date_sortie_parcours > {{ run_day() }}
            then france_travail.parcours_preconise end as parcours_en_cours,
        coalesce(states.est_decidee, false) as orientation_decidee
    from france_travail
    left join france_travail_states as states
        on states.code = upper(trim(coalesce(france_travail.decision_etat, france_travail.etat_orientation)))

),

criteria as (

    select eligible.person_id, criterion.critere, criterion.valeur
    from eligible
    left join france_travail_orientations as ft on ft.person_id = eligible.person_id
    left join households on households.dossier_key = eligible.dossier_key
    left join family_situations on family_situations.code = households.situation_familiale
    -- a request made before the person's current period of rights and duties no longer stands
    left join requests
        on requests.person_id = eligible.person_id
        and requests.date_demande >= coalesce(eligible.date_entree_droits_devoirs, requests.date_demande)
    cross join lateral (
        values
            ('reorientation_demandee', requests.parcours_demande),
            -- France Travail's orientation: decided, or only recommended
            ('ft_orientation_decidee', case when ft.orientation_decidee then ft.parcours_en_cours end),
            ('ft_parcours_preconise', ft.parcours_en_cours),
            -- the category of an active registration (G, waiting for orientation, says nothing by itself)
            ('categorie_ft', case when ft.inscription_active_ft then upper(trim(ft.categorie)) end),
            -- the national criteria as France Travail's diagnostic records them (its codes, upper case)
            ('situation_professionnelle', nullif(upper(trim(ft.critere_situation_professionnelle)), '')),
            ('niveau_etude', nullif(upper(trim(ft.critere_niveau_etude)), '')),
            ('projet_pro', nullif(upper(trim(ft.critere_projet_pro)), '')),
            ('capacite_a_travailler', ft.critere_capacite_a_travailler::text),
            ('contrainte_sante', nullif(upper(trim(ft.critere_contrainte_sante)), '')),
            ('contrainte_logement', nullif(upper(trim(ft.critere_contrainte_logement)), '')),
            ('contrainte_mobilite', nullif(upper(trim(ft.critere_contrainte_mobilite)), '')),
            ('contrainte_familiale', nullif(upper(trim(ft.critere_contrainte_familiale)), '')),
            ('boe', ft.critere_boe::text),
            -- what the CAF data shows
            ('sans_domicile_fixe', eligible.sans_domicile_fixe::text),
            ('age_moins_de_26', (eligible.age < 26)::text),
            ('parent_isole_3_enfants',
                (not family_situations.vie_en_couple and households.nb_personnes - households.nb_enfants = 1
                 and households.nb_enfants >= 3)::text),
            ('droits_suspendus', eligible.droits_suspendus::text),
            ('inscrit_ft', coalesce(ft.inscrit_ft, false)::text),
            ('defaut', '')
    ) as criterion (critere, valeur)

),

-- The criteria of the active rules, for each person: what the proposal was judged on.
evaluated as (

    select criteria.person_id, jsonb_object_agg(criteria.critere, criteria.valeur) as criteres
    from criteria
    where criteria.critere in (select critere from rules where critere <> 'defaut')
    group by criteria.person_id

),

proposed as (

    select distinct on (criteria.person_id)
        criteria.person_id,
        rules.rang as rang_regle,
        rules.code_regle,
        rules.libelle_regle,
        rules.parcours,
        rules.type_structure,
        rules.est_reorientation,
        rules.validation_automatique
    from criteria
    inner join rules on rules.critere = criteria.critere and rules.valeur = criteria.valeur
    order by criteria.person_id, rules.rang

)

select
    eligible.person_id,
    eligible.household_id,
    eligible.dossier_key,
    proposed.parcours,
    proposed.type_structure,
    sectorisation.code_structure,
    case when sectorisation.code_structure is null then 'EN_ATTENTE_STRUCTURE' else 'OUVERTE' end
        as statut_orientation,
    proposed.code_regle,
    proposed.rang_regle,
    proposed.libelle_regle,
    coalesce(evaluated.criteres, '{}'::jsonb) as criteres,
    proposed.est_reorientation,
    proposed.validation_automatique,
    eligible.code_territoire,
    eligible.code_insee,
    eligible.code_postal,
    eligible.etat_dossier_rsa,
    eligible.role_rsa,
    eligible.date_entree_droits_devoirs,
    eligible.date_limite_orientation
from eligible
inner join proposed on proposed.person_id = eligible.person_id
left join evaluated on evaluated.person_id = eligible.person_id
left join sectorisation
    on sectorisation.code_insee = eligible.code_insee
    and sectorisation.code_territoire = eligible.code_territoire
    and sectorisation.type_structure = proposed.type_structure
