-- RESTRICTED (schema identifiants, pipeline role only): the street part of each dossier's current
-- address (RGADR 01 of its current state), keyed like stg_caf__addresses. Feeds the agencies' extracts.
{{ config(materialized='table', schema='identifiants',
          post_hook=["revoke all on {{ this }} from public"]) }}

with source as (

    select * from {{ source('caf', 'caf_address') }}

),

states as (

    select dossier_key, file_id, position from {{ ref('stg_caf__dossier_states') }}

),

renamed as (

    select
        states.dossier_key,
        source.file_id,
        source.position,
        source.numvoie as numero_voie,
        source.libtypevoie as type_voie,
        source.nomvoie as nom_voie,
        source.complideadr as complement_identite,
        source.compladr as complement_adresse,
        source.lieudist as lieu_dit,
        source.codepos as code_postal,
        source.numcom as code_insee,
        source.nomcom as nom_commune
    from source
    inner join states
        on states.file_id = source.file_id and states.position = source.position
    where source.rgadr = '01'

)

select * from renamed
