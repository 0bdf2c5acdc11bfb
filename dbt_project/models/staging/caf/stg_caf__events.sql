-- Events (Evenement blocks, daily flows only) of each dossier's current state.
with source as (

    select * from {{ source('caf', 'caf_event') }}

),

states as (

    select dossier_key, file_id, position, delivered_on from {{ ref('stg_caf__dossier_states') }}

),

renamed as (

    select
        states.dossier_key,
        source.file_id,
        source.position,
        states.delivered_on,
        source.dtliq as date_liquidation,
        source.heuliq as heure_liquidation,
        source.fg as fait_generateur
    from source
    inner join states
        on states.file_id = source.file_id and states.position = source.position

)

select * from renamed
