-- The current address (RGADR 01) of each dossier's current state, without street text: the commune
-- (INSEE code), postcode and whether it lies in Seine-Saint-Denis. Street and complements are in
-- identifiants.identifiants__addresses.
with source as (

    select * from {{ source('caf', 'caf_address') }}

),

states as (

    select dossier_key, file_id, position, delivered_on from {{ ref('stg_caf__dossier_states') }}

),

renamed as (

    select
        -- ids
        states.dossier_key,
        source.file_id,
        source.position,
        states.delivered_on,

        -- where
        source.numcom as code_insee,
        source.codepos as code_postal,
        source.pays,
        source.in_departement,
        source.hors_france,
        -- street and complements, pseudonymised: tells that the address changed, not what it is
        pseudonyms.address_pseudonym,

        -- what
        source.typeadr as type_adresse,
        source.etatadr as etat_adresse,
        source.dtemm as date_emmenagement,

        -- quality
        array_to_string(source.flags, ',') as flags

    from source
    inner join states
        on states.file_id = source.file_id and states.position = source.position
    inner join {{ ref('base_caf__address_pseudonyms') }} as pseudonyms
        on pseudonyms.file_id = source.file_id and pseudonyms.position = source.position
    where source.rgadr = '01'

)

select * from renamed
