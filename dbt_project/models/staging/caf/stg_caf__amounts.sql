-- Amounts per benefit nature (DetailCalculDroitRSA) of each dossier's current state.
with source as (

    select * from {{ source('caf', 'caf_amount') }}

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
        source.natpf as nature_prestation,
        source.sousnatpf as sous_nature_prestation,
        source.ddnatdro as date_debut_droit,
        source.dfnatdro as date_fin_droit,
        source.mtrsavers as montant_verse,
        source.dtderrsavers as date_dernier_versement
    from source
    inner join states
        on states.file_id = source.file_id and states.position = source.position

)

select * from renamed
