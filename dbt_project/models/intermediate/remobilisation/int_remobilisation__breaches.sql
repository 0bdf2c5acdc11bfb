-- Breaches of the contrat d'engagement that the accompanying structures reported (accepted
-- activity-report events flagged est_manquement in the seed codes_evenement_ali: a missed
-- appointment, a refusal to draw up or update the contract, commitments not met), from the entry
-- into force of the suspension-remobilisation (var debut_suspension_remobilisation), grouped per
-- person into cases: the breaches that no re-engagement (an event flagged est_reengagement: a
-- kept appointment, a signed contract) separates belong to the same case, named after the first of
-- its breaches the warehouse checked (id_remobilisation): a breach reported late with an earlier
-- date joins the case without renaming it, so the Département's steps keep pointing at it. One row
-- per breach, ranked by date in its case.
with codes as (

    select code, est_manquement, est_reengagement from {{ ref('codes_evenement_ali') }}

),

events as (

    select
        checked.file_id,
        checked.line_number,
        checked.verifie_le,
        checked.person_id,
        checked.id_orientation,
        checked.code_structure,
        checked.evenement,
        checked.motif,
        checked.date_evenement,
        codes.est_manquement,
        codes.est_reengagement
    from {{ ref('int_ali__events_checked') }} as checked
    inner join codes on codes.code = checked.evenement
    where checked.statut = 'ACCEPTE'
        and (codes.est_manquement or codes.est_reengagement)
        and checked.date_evenement >= '{{ var("debut_suspension_remobilisation") }}'::date

),

-- Re-engagements strictly before each event's day: the breaches with the same count form one case
-- (a re-engagement on the day of a breach does not close it).
counted as (

    select
        events.*,
        coalesce(sum(events.est_reengagement::integer) over (
            partition by events.person_id
            order by events.date_evenement
            range between unbounded preceding and interval '1 day' preceding
        ), 0) as reengagements_avant
    from events

),

breaches as (

    select * from counted where est_manquement

),

in_cases as (

    select
        breaches.*,
        first_value(md5('REMOBILISATION|' || id_orientation || '|' || evenement || '|' || date_evenement::text))
            over (partition by person_id, reengagements_avant order by verifie_le, file_id, line_number)
            as id_remobilisation,
        row_number() over (partition by person_id, reengagements_avant order by date_evenement, file_id, line_number)
            as rang_dans_cas
    from breaches

)

select
    id_remobilisation,
    rang_dans_cas::integer as rang_dans_cas,
    person_id,
    id_orientation,
    code_structure,
    evenement,
    motif,
    date_evenement as date_manquement,
    file_id,
    line_number
from in_cases
