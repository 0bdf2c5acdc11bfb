-- The parcours and destination each orientable person should have today. Each person's criteria are
-- computed, unpivoted to (critere, valeur) pairs and joined to the active rules of the seed
-- regles_parcours: the matching rule of lowest rank decides, and its code travels with the referral.
-- PSO goes to the territory's ALI, PSP to its social service, PED to France Travail, among the
-- destinations active on the run day; a PSO referral whose ALI is not active yet waits
-- (EN_ATTENTE_STRUCTURE, no structure). situation_empreinte changes when the address or the
-- situation an agency sees changes (it drives MODIFIEE movements).
{{ config(indexes=[{'columns': ['person_id'], 'unique': true}]) }}

with eligible as (

    select * from {{ ref('int_persons__eligibility') }}
    where statut_eligibilite = 'ORIENTABLE'

),

france_travail as (

    select * from {{ ref('int_france_travail__situations') }}

),

requests as (

    select * from {{ ref('int_ali__reorientation_requests') }}

),

rules as (

    select rang, code_regle, critere, coalesce(valeur, '') as valeur, parcours,
        critere = 'reorientation_demandee' as est_reorientation
    from {{ ref('regles_parcours') }}
    where actif

),

destinations as (

    select code_structure, parcours, code_territoire
    from {{ ref('destinations') }}
    where (actif_du is null or actif_du <= {{ run_day() }})
        and (actif_au is null or actif_au >= {{ run_day() }})

),

criteria as (

    select eligible.person_id, criterion.critere, coalesce(criterion.valeur, '') as valeur
    from eligible
    left join france_travail on france_travail.person_id = eligible.person_id
    -- a request made before the person's current period of rights and duties no longer stands
    left join requests
        on requests.person_id = eligible.person_id
        and requests.date_demande >= coalesce(eligible.date_entree_droits_devoirs, requests.date_demande)
    cross join lateral (
        values
            ('reorientation_demandee', requests.parcours_demande),
            ('ft_parcours_preconise', france_travail.parcours_preconise),
            ('inscrit_ft', coalesce(france_travail.inscrit_ft, false)::text),
            ('sans_domicile_fixe', eligible.sans_domicile_fixe::text),
            ('droits_suspendus', eligible.droits_suspendus::text),
            ('age_moins_de_26', coalesce(eligible.age < 26, false)::text),
            ('defaut', '')
    ) as criterion (critere, valeur)

),

decided as (

    select distinct on (criteria.person_id)
        criteria.person_id, rules.rang as rang_regle, rules.code_regle, rules.parcours, rules.est_reorientation
    from criteria
    inner join rules on rules.critere = criteria.critere and rules.valeur = criteria.valeur
    order by criteria.person_id, rules.rang

),

routed as (

    select distinct on (decided.person_id)
        decided.*,
        destinations.code_structure
    from decided
    inner join eligible on eligible.person_id = decided.person_id
    left join destinations
        on destinations.parcours = decided.parcours
        and (destinations.code_territoire = eligible.code_territoire or destinations.code_territoire is null)
    order by decided.person_id, destinations.code_territoire nulls last, destinations.code_structure

)

select
    eligible.person_id,
    eligible.household_id,
    eligible.dossier_key,
    routed.parcours,
    routed.code_regle,
    routed.rang_regle,
    routed.est_reorientation,
    routed.code_structure,
    case when routed.code_structure is null then 'EN_ATTENTE_STRUCTURE' else 'OUVERTE' end as statut_orientation,
    eligible.code_territoire,
    eligible.code_insee,
    eligible.code_postal,
    eligible.etat_dossier_rsa,
    eligible.role_rsa,
    eligible.date_entree_droits_devoirs,
    eligible.date_limite_orientation,
    md5(concat_ws('|', eligible.dossier_key, eligible.code_insee, eligible.code_postal, eligible.address_pseudonym,
                  eligible.etat_dossier_rsa, eligible.role_rsa)) as situation_empreinte
from eligible
inner join routed on routed.person_id = eligible.person_id
