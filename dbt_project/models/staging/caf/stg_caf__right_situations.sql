-- Refusal, suspension and closure blocks of each dossier's current state.
with source as (

    select * from {{ source('caf', 'caf_right_situation') }}

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
        source.nature,
        source.motif,
        source.date_effet,
        source.natgroupfsus as nature_groupe_suspension
    from source
    inner join states
        on states.file_id = source.file_id and states.position = source.position

)

select * from renamed
