-- The latest France Travail API lookup of each person (search, then registration and orientation):
-- its outcome, when it was made, and what the registration and orientation answers said.
-- A lookup is the calls sharing a lookup_id; its outcome is that of its first call not FOUND
-- (the client stops there), else FOUND. Dates and flags are read defensively: an unexpected value
-- becomes NULL rather than failing the model (the body stays in raw as received).
with source as (

    select * from {{ source('france_travail', 'france_travail_api_call') }}

),

lookups as (

    select
        lookup_id,
        min(nir) as nir,
        min(dtnai) as dtnai,
        min(logical_date) as logical_date,
        min(requested_at) as requested_at,
        coalesce(
            (array_agg(outcome order by call_id) filter (where outcome <> 'FOUND'))[1],
            'FOUND'
        ) as outcome,
        (array_agg(business_code order by call_id) filter (where outcome <> 'FOUND'))[1] as failure_business_code,
        (array_agg(response order by call_id desc)
            filter (where endpoint = 'registration' and outcome = 'FOUND'))[1] as registration,
        (array_agg(response order by call_id desc)
            filter (where endpoint = 'orientation' and outcome = 'FOUND'))[1] as orientation,
        count(*) as calls
    from source
    where logical_date <= {{ run_day() }}
    group by lookup_id

),

renamed as (

    select
        -- ids
        {{ pseudonym("left(upper(nir), 13)") }} as person_pseudonym,
        lookup_id,
        dtnai as date_naissance,

        -- the lookup
        logical_date,
        requested_at,
        outcome,
        outcome <> 'ERROR' as is_settled,
        failure_business_code,
        calls,

        -- registration (inscription-usager)
        case registration -> 'inscrit' when 'true'::jsonb then true when 'false'::jsonb then false end as inscrit,
        registration ->> 'categorie' as categorie,
        case when registration ->> 'dateInscription' ~ '^\d{4}-\d{2}-\d{2}$' then (registration ->> 'dateInscription')::date end as date_inscription,
        case when registration ->> 'dateCessation' ~ '^\d{4}-\d{2}-\d{2}$' then (registration ->> 'dateCessation')::date end as date_cessation,
        registration ->> 'motifCessation' as motif_cessation,

        -- orientation (orientation-usager)
        orientation ->> 'codeParcours' as code_parcours,
        orientation ->> 'parcoursPreconise' as parcours_preconise,
        orientation ->> 'organisme' as organisme,
        orientation ->> 'structure' as structure,
        orientation ->> 'statut' as statut_orientation,
        case when orientation ->> 'dateEntree' ~ '^\d{4}-\d{2}-\d{2}$' then (orientation ->> 'dateEntree')::date end as date_entree_parcours,
        case when orientation ->> 'dateModification' ~ '^\d{4}-\d{2}-\d{2}$' then (orientation ->> 'dateModification')::date end as date_modification_parcours

    from lookups

)

select distinct on (person_pseudonym) *
from renamed
order by person_pseudonym, requested_at desc, lookup_id desc
