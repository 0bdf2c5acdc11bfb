-- RESTRICTED (schema identifiants, pipeline role only): the direct identifiers of each CAF person,
-- keyed by the pseudonyms the staging layer uses. One row per person_key, from the person's latest
-- state across all dossiers. Feeds the agencies' extracts; never exposed to analysts.
{{ config(materialized='table', schema='identifiants',
          post_hook=["revoke all on {{ this }} from public"]) }}

with source as (

    select * from {{ source('caf', 'caf_person') }}

),

states as (

    select file_id, position, delivered_on from {{ ref('stg_caf__dossier_states') }}

),

pseudonymised as (

    select
        pseudonyms.person_pseudonym,
        pseudonyms.identity_pseudonym,
        states.delivered_on,
        source.*
    from source
    inner join states
        on states.file_id = source.file_id and states.position = source.position
    inner join {{ ref('base_caf__person_pseudonyms') }} as pseudonyms
        on pseudonyms.file_id = source.file_id and pseudonyms.position = source.position
        and pseudonyms.person_position = source.person_position

),

renamed as (

    select
        coalesce(person_pseudonym, identity_pseudonym) as person_key,
        person_pseudonym,
        identity_pseudonym,
        upper(nir) as nir,
        left(upper(nir), 13) as nir13,
        nir_valid,
        qual as civilite,
        nom,
        nomnai as nom_naissance,
        prenom,
        prenom2,
        prenom3,
        dtnai as date_naissance,
        nomcomnai as commune_naissance,
        delivered_on,
        file_id,
        position,
        person_position
    from pseudonymised

)

select distinct on (person_key) *
from renamed
order by person_key, delivered_on desc nulls last, file_id desc, position desc, person_position
