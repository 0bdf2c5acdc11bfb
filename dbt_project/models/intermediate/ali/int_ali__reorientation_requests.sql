-- Re-orientation requests that agencies made in their activity reports (REORIENTATION_DEMANDEE,
-- accepted), as of the end of the previous run: the latest per person, with the parcours asked for.
-- A request is an input of tomorrow's parcours decision, and the decision is an input of the check
-- of today's reports; so this model reads the checked reports' table as the previous run left it
-- (rows checked before the run day), not through ref(), which would close a loop in the graph.
-- depends_on: {{ ref('codes_motif_ali') }}
{%- set checked = adapter.get_relation(database=target.database, schema=generate_schema_name('intermediate', none),
                                       identifier='int_ali__events_checked') %}

{% if checked is not none %}

with checked as (

    select person_id, id_orientation, evenement, motif, date_evenement, file_id, line_number
    from {{ checked }}
    where statut = 'ACCEPTE'
        and evenement = 'REORIENTATION_DEMANDEE'
        and verifie_le < {{ run_day() }}

),

motifs as (

    select code, evenement, parcours_demande from {{ ref('codes_motif_ali') }}

)

select distinct on (checked.person_id)
    checked.person_id,
    checked.id_orientation,
    motifs.parcours_demande,
    checked.date_evenement as date_demande
from checked
inner join motifs on motifs.code = checked.motif and motifs.evenement = checked.evenement
where motifs.parcours_demande is not null
order by checked.person_id, checked.date_evenement desc, checked.file_id desc, checked.line_number desc

{% else %}

-- First run: no report has been checked yet.
select
    null::text as person_id,
    null::text as id_orientation,
    null::text as parcours_demande,
    null::date as date_demande
where false

{% endif %}
