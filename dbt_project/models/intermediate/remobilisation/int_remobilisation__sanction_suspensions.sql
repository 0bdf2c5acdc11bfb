-- The CAF's payment suspensions that apply a sanction of the Département (MOTISUSVERSRSA flagged
-- est_sanction in the seed codes_motisusversrsa: CG), as every flow delivered up to the run day
-- showed them: one row per dossier and suspension (its effect date, DDSUSVERSRSA), when a flow first
-- and last carried it, whether the dossier's current state still does, and the first flow that no
-- longer did (the suspension was lifted). The CAF applies; the Département decided: nothing here
-- decides anything.
with dossiers as (

    select dossier_key, file_id, position, delivered_on, is_latest, state_rank
    from {{ ref('stg_caf__dossiers') }}
    where dossier_key is not null

),

sanction_codes as (

    select code from {{ ref('codes_motisusversrsa') }} where est_sanction

),

suspensions as (

    select file_id, position, motif, date_effet
    from {{ source('caf', 'caf_right_situation') }}
    where nature = 'SUSPENSION_VERSEMENT'

),

seen as (

    select
        dossiers.dossier_key,
        suspensions.motif,
        suspensions.date_effet,
        dossiers.delivered_on,
        dossiers.is_latest,
        dossiers.state_rank
    from suspensions
    inner join sanction_codes on sanction_codes.code = suspensions.motif
    inner join dossiers on dossiers.file_id = suspensions.file_id and dossiers.position = suspensions.position

),

grouped as (

    select
        dossier_key,
        motif,
        date_effet,
        min(delivered_on) as vue_le,
        max(delivered_on) as derniere_vue_le,
        bool_or(is_latest) as en_cours,
        -- the dossier's most recent state that still carried it (1 = the current state)
        min(state_rank) as dernier_rang
    from seen
    group by dossier_key, motif, date_effet

)

select
    grouped.dossier_key,
    grouped.motif as motif_suspension,
    grouped.date_effet as date_suspension,
    grouped.vue_le,
    grouped.derniere_vue_le,
    grouped.en_cours,
    -- the delivery of the first state after the last one that carried it
    lifted.delivered_on as levee_constatee_le
from grouped
left join dossiers as lifted
    on lifted.dossier_key = grouped.dossier_key and lifted.state_rank = grouped.dernier_rang - 1
