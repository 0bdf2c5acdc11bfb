-- RESTRICTED (schema identifiants, pipeline role only): for each resolved person with a valid NIR and
-- a birth date, what France Travail's user search needs (rechercher-usager v2, par date de naissance
-- et NIR): the NIR's first 13 characters and the birth date, from the person's identity in the dossier
-- that speaks for them today. The key of the 15-character NIR is computed by the code that calls the
-- API (aiguillage.nir), where the NIR rule lives. Read to send the Département's orientations
-- (marts.referrals) to France Travail; never exposed to analysts or agencies.
{{ config(materialized='table', schema='identifiants',
          indexes=[{'columns': ['person_id'], 'unique': true}],
          post_hook=["revoke all on {{ this }} from public"]) }}

with situations as (

    select person_id, dossier_key from {{ ref('int_persons__situations') }}

),

identities as (

    select identities.person_id, identities.dossier_key, persons.person_key
    from {{ ref('int_persons__identities') }} as identities
    inner join {{ ref('stg_caf__persons') }} as persons
        on persons.dossier_person_key = identities.dossier_person_key

)

select distinct on (situations.person_id)
    situations.person_id,
    people.nir13,
    people.date_naissance
from situations
inner join identities
    on identities.person_id = situations.person_id and identities.dossier_key = situations.dossier_key
inner join {{ ref('identifiants__persons') }} as people on people.person_key = identities.person_key
where people.nir_valid and people.nir13 is not null and people.date_naissance is not null
order by situations.person_id, people.delivered_on desc nulls last, people.person_key
