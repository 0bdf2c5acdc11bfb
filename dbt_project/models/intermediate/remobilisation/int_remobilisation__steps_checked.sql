-- Every line of the Département's suspension-remobilisation steps files, checked against the cases
-- of the list: ACCEPTEE, or REJETEE with a reason code (the reader's codes, docs/data-contracts.md §7):
--   UNKNOWN_CASE     no case of the list has this id_remobilisation;
--   DATE_INCOHERENT  the step is dated before the case's first breach;
--   DUPLICATE_STEP   the same step (case, step, date) came in an earlier line (delivery, file, line
--                    order): the first one counts.
-- A table rebuilt each day from every delivered line: the cases it checks against are rebuilt too.
with lines as (

    select * from {{ ref('stg_remobilisation__steps') }}

),

cases as (

    -- a case the CAF's flow opened has no breach date: its steps may precede the suspension
    select id_remobilisation, date_premier_manquement from {{ ref('int_remobilisation__cases') }}

),

checked as (

    select
        lines.*,
        case
            when cases.id_remobilisation is null then 'UNKNOWN_CASE'
            when lines.date_etape < cases.date_premier_manquement then 'DATE_INCOHERENT'
        end as first_reason
    from lines
    left join cases on cases.id_remobilisation = lines.id_remobilisation

)

select
    file_id,
    line_number,
    delivered_on,
    id_remobilisation,
    etape,
    date_etape,
    decision,
    case when motif_rejet is null then 'ACCEPTEE' else 'REJETEE' end as statut,
    motif_rejet
from (
    select
        checked.*,
        case
            when first_reason is null
                and row_number() over (
                    partition by (first_reason is null), id_remobilisation, etape, date_etape
                    order by delivered_on, file_id, line_number
                ) > 1
                then 'DUPLICATE_STEP'
            else first_reason
        end as motif_rejet
    from checked
) as deduplicated
