-- Every line of the agencies' activity reports, checked against the referrals' history, once:
-- ACCEPTE, or REJETE with a reason code (the reader's codes, docs/data-contracts.md §4):
--   UNKNOWN_REFERRAL   no referral has this id_orientation;
--   DATE_INCOHERENT    the event is after the run day or before the referral existed;
--   REFERRAL_NOT_HELD  on the event's date the referral was not held by the sending agency
--                      (another agency's, waiting for a structure, or already closed);
--   DUPLICATE_EVENT    the same event (referral, event, date) was already accepted.
-- An agency can thus never write events on a person it was not referred. Incremental: each run
-- checks the lines of the reports not checked yet (verifie_le = the run day); rerunning a day
-- checks that day's lines again.
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    indexes=[{'columns': ['file_id', 'line_number'], 'unique': true}, {'columns': ['id_orientation']}],
    pre_hook="{% if is_incremental() %}delete from {{ this }} where verifie_le >= {{ run_day() }}{% endif %}"
) }}

with lines as (

    select * from {{ ref('stg_ali__report_lines') }}
    where delivered_on <= {{ run_day() }}
{% if is_incremental() %}
        and (file_id, line_number) not in (select file_id, line_number from {{ this }} where verifie_le < {{ run_day() }})
{% endif %}

),

movements as (

    select id_orientation, date_mouvement, type_mouvement, code_structure, person_id
    from {{ ref('referral_movements') }}

),

referrals as (

    select id_orientation, min(date_mouvement) as cree_le, min(person_id) as person_id
    from movements
    group by id_orientation

),

-- Who held the referral on the event's date: its latest movement on or before that date.
holders as (

    select
        lines.file_id, lines.line_number,
        held.code_structure as detenteur,
        held.type_mouvement as dernier_mouvement,
        held.date_mouvement as date_dernier_mouvement
    from lines
    cross join lateral (
        select movements.code_structure, movements.type_mouvement, movements.date_mouvement
        from movements
        where movements.id_orientation = lines.id_orientation
            and movements.date_mouvement <= lines.date_evenement
        order by movements.date_mouvement desc
        limit 1
    ) as held

),

already_accepted as (

{% if is_incremental() %}
    select distinct id_orientation, evenement, date_evenement
    from {{ this }}
    where statut = 'ACCEPTE' and verifie_le < {{ run_day() }}
{% else %}
    select null::text as id_orientation, null::text as evenement, null::date as date_evenement where false
{% endif %}

),

checked as (

    select
        lines.*,
        referrals.person_id,
        case
            when referrals.id_orientation is null then 'UNKNOWN_REFERRAL'
            when lines.date_evenement > {{ run_day() }} or lines.date_evenement < referrals.cree_le
                then 'DATE_INCOHERENT'
            when holders.detenteur is distinct from lines.code_structure
                or (holders.dernier_mouvement = 'CLOTUREE' and holders.date_dernier_mouvement < lines.date_evenement)
                then 'REFERRAL_NOT_HELD'
            when already_accepted.id_orientation is not null then 'DUPLICATE_EVENT'
        end as first_reason
    from lines
    left join referrals on referrals.id_orientation = lines.id_orientation
    left join holders on holders.file_id = lines.file_id and holders.line_number = lines.line_number
    left join already_accepted
        on already_accepted.id_orientation = lines.id_orientation
        and already_accepted.evenement = lines.evenement
        and already_accepted.date_evenement = lines.date_evenement

),

-- The same event twice in today's lines: the first one (file, line order) counts.
deduplicated as (

    select
        checked.*,
        case
            when first_reason is null
                and row_number() over (
                    partition by (first_reason is null), id_orientation, evenement, date_evenement
                    order by file_id, line_number
                ) > 1
                then 'DUPLICATE_EVENT'
            else first_reason
        end as motif_rejet
    from checked

)

select
    file_id,
    line_number,
    {{ run_day() }} as verifie_le,
    code_structure,
    id_orientation,
    case when motif_rejet is null then person_id end as person_id,
    evenement,
    date_evenement,
    motif,
    case when motif_rejet is null then 'ACCEPTE' else 'REJETE' end as statut,
    motif_rejet
from deduplicated
