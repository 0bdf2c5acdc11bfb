-- Every proposal of an orientation and what became of it, one row per proposal and day its status
-- changed: the log of proposal → decision → notification, from which any past day can be read back.
-- Each run takes the proposals as the runs before the day left them and, person by person:
--   1. applies the orientation team's decisions of the day (int_orientations__decisions_checked,
--      accepted lines) to the proposals that were waiting: VALIDEE, REFUSEE or MODIFIEE (the parcours
--      and/or the destination the team chose), with their dates and the role that decided;
--   2. finds who needs a proposal today: an orientable person with no orientation (none open, none to
--      resume, none decided today), or whose agency asked to re-orient them to another parcours (rule
--      REORIENTATION_*: a request is a proposal, never an orientation by itself). The rules' proposal
--      (int_orientations__proposals) is then compared with the one waiting, on its content (parcours,
--      rule, territory):
--        the same                     -> it keeps waiting;
--        another                      -> the one waiting is CADUQUE, a new one is made;
--        nobody to orient any more    -> the one waiting is CADUQUE (kept while the person is only
--                                        A_SUIVRE: rights-and-duties flag missing);
--        none waiting                 -> a new one, unless the person's latest decision is a refusal
--                                        of the same proposal in their current period of rights and
--                                        duties: a refused proposal stays refused until it would change.
--   3. a new proposal whose rule the Département validates automatically (seed regles_parcours,
--      validation_automatique) is VALIDEE the day it is made, decided by POLITIQUE_AUTOMATIQUE and
--      notified the same day; the others wait (EN_ATTENTE_DECISION) for the team's decision.
-- A VALIDEE or MODIFIEE proposal becomes an orientation the same day (referral_movements).
-- Incremental: a run writes the day's rows; rerunning a day first deletes that day's rows (and any
-- later ones), so a rerun gives the same rows. id_proposition is a hash of the person, the day and the
-- proposal's content: stable across reruns, and the same when days are replayed.
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    indexes=[{'columns': ['id_proposition', 'date_statut'], 'unique': true}, {'columns': ['person_id']},
             {'columns': ['date_statut']}],
    pre_hook="{% if is_incremental() %}delete from {{ this }} where date_statut >= {{ run_day() }}{% endif %}"
) }}

with rules_today as (

    select * from {{ ref('int_orientations__proposals') }}

),

eligibility as (

    select person_id, statut_eligibilite from {{ ref('int_persons__eligibility') }}

),

before_day as (

    select * from {{ ref('int_orientations__proposals_before_day') }}

),

referrals as (

    select * from {{ ref('int_orientations__referrals_before_day') }}

),

open_referrals as (

    select person_id, id_orientation, parcours, code_structure from referrals where est_ouverte

),

resumable as (

    select person_id from referrals where est_reprenable

),

seed_destinations as (

    select code_structure, parcours from {{ ref('destinations') }}

),

decisions as (

    select * from {{ ref('int_orientations__decisions_checked') }}
    where verifie_le = {{ run_day() }} and statut = 'ACCEPTEE'

),

-- 1. The proposals waiting before the day that the team decided today.
decided as (

    select
        before_day.id_proposition,
        {{ run_day() }} as date_statut,
        decisions.decision as statut_proposition,
        before_day.person_id,
        before_day.household_id,
        before_day.date_proposition,
        before_day.origine,
        before_day.parcours_propose,
        before_day.code_structure_proposee,
        before_day.type_structure_propose,
        before_day.code_territoire,
        before_day.code_insee,
        before_day.code_regle,
        before_day.rang_regle,
        before_day.libelle_regle,
        before_day.criteres,
        before_day.validation_automatique,
        before_day.date_entree_droits_devoirs,
        before_day.date_limite_orientation,
        before_day.id_orientation_actuelle,
        before_day.parcours_actuel,
        before_day.structure_actuelle,
        decisions.date_decision,
        decisions.date_notification,
        decisions.decide_par,
        decisions.motif_decision,
        case when decisions.decision <> 'REFUSEE'
            then coalesce(decisions.parcours, seed_destinations.parcours, before_day.parcours_propose) end
            as parcours_decide,
        decisions.code_structure as code_structure_decidee,
        decisions.delai_revision_mois,
        decisions.file_id as decision_file_id,
        decisions.line_number as decision_line_number
    from before_day
    inner join decisions on decisions.id_proposition = before_day.id_proposition
    left join seed_destinations on seed_destinations.code_structure = decisions.code_structure
    where before_day.statut_proposition = 'EN_ATTENTE_DECISION'

),

still_waiting as (

    select before_day.*
    from before_day
    where before_day.statut_proposition = 'EN_ATTENTE_DECISION'
        and not exists (select from decided where decided.id_proposition = before_day.id_proposition)

),

-- Each person's latest decision, today's included.
last_decided as (

    select distinct on (person_id) *
    from (
        select person_id, id_proposition, date_statut, statut_proposition, date_proposition, parcours_propose,
            code_regle, code_territoire
        from before_day
        where statut_proposition in ('VALIDEE', 'REFUSEE', 'MODIFIEE')
        union all
        select person_id, id_proposition, date_statut, statut_proposition, date_proposition, parcours_propose,
            code_regle, code_territoire
        from decided
    ) as all_decided
    order by person_id, date_statut desc, id_proposition desc

),

-- 2. Who needs a proposal today, and which: the rules' proposal.
wanted as (

    select
        rules_today.*,
        open_referrals.id_orientation as id_orientation_actuelle,
        open_referrals.parcours as parcours_actuel,
        open_referrals.code_structure as structure_actuelle,
        case when rules_today.est_reorientation then 'REORIENTATION' else 'INITIALE' end as origine
    from rules_today
    left join open_referrals on open_referrals.person_id = rules_today.person_id
    where not exists (select from resumable where resumable.person_id = rules_today.person_id)
        and not exists (select from decided where decided.person_id = rules_today.person_id
                                                  and decided.statut_proposition <> 'REFUSEE')
        and (open_referrals.person_id is null
             or (rules_today.est_reorientation and rules_today.parcours <> open_referrals.parcours))

),

compared as (

    select
        coalesce(waiting.person_id, wanted.person_id) as person_id,
        waiting.id_proposition as waiting_id,
        case
            when waiting.id_proposition is null then
                case when wanted.person_id is null or refused.person_id is not null then 'NONE' else 'NEW' end
            when wanted.person_id is null then
                case when eligibility.statut_eligibilite = 'A_SUIVRE' then 'KEEP' else 'OBSOLETE' end
            when waiting.parcours_propose = wanted.parcours and waiting.code_regle = wanted.code_regle
                and waiting.code_territoire is not distinct from wanted.code_territoire then 'KEEP'
            else 'REPLACE'
        end as action
    from still_waiting as waiting
    full outer join wanted on wanted.person_id = waiting.person_id
    left join eligibility on eligibility.person_id = coalesce(waiting.person_id, wanted.person_id)
    left join last_decided as refused
        on refused.person_id = wanted.person_id
        and refused.statut_proposition = 'REFUSEE'
        and refused.parcours_propose = wanted.parcours
        and refused.code_regle = wanted.code_regle
        and refused.code_territoire is not distinct from wanted.code_territoire
        and refused.date_proposition >= coalesce(wanted.date_entree_droits_devoirs, refused.date_proposition)

),

obsolete as (

    select
        waiting.id_proposition,
        {{ run_day() }} as date_statut,
        'CADUQUE' as statut_proposition,
        {% for column in proposal_history_columns()[3:] %}waiting.{{ column[0] }}{{ ", " if not loop.last }}{% endfor %}
    from still_waiting as waiting
    inner join compared on compared.waiting_id = waiting.id_proposition
    where compared.action in ('OBSOLETE', 'REPLACE')

),

-- 3. The day's new proposals, validated at once when their rule allows it.
made as (

    select
        wanted.*,
        coalesce(wanted.validation_automatique, false) as automatique
    from wanted
    inner join compared on compared.person_id = wanted.person_id
    where compared.action in ('NEW', 'REPLACE')

),

new_proposals as (

    select
        'PR' || upper(left(md5('PROPOSITION|' || person_id || '|' || {{ run_day() }}::text || '|' || parcours
                               || '|' || code_regle || '|' || coalesce(code_territoire, '')), 16)) as id_proposition,
        {{ run_day() }} as date_statut,
        case when automatique then 'VALIDEE' else 'EN_ATTENTE_DECISION' end as statut_proposition,
        person_id,
        household_id,
        {{ run_day() }} as date_proposition,
        origine,
        parcours as parcours_propose,
        code_structure as code_structure_proposee,
        type_structure as type_structure_propose,
        code_territoire,
        code_insee,
        code_regle,
        rang_regle,
        libelle_regle,
        criteres,
        automatique as validation_automatique,
        date_entree_droits_devoirs,
        date_limite_orientation,
        id_orientation_actuelle,
        parcours_actuel,
        structure_actuelle,
        case when automatique then {{ run_day() }} end as date_decision,
        case when automatique then {{ run_day() }} end as date_notification,
        case when automatique then 'POLITIQUE_AUTOMATIQUE' end as decide_par,
        null::text as motif_decision,
        case when automatique then parcours end as parcours_decide,
        null::text as code_structure_decidee,
        null::integer as delai_revision_mois,
        null::bigint as decision_file_id,
        null::integer as decision_line_number
    from made

)

select {% for column in proposal_history_columns() %}{{ column[0] }}{{ ", " if not loop.last }}{% endfor %}
from decided
union all
select {% for column in proposal_history_columns() %}{{ column[0] }}{{ ", " if not loop.last }}{% endfor %}
from obsolete
union all
select {% for column in proposal_history_columns() %}{{ column[0] }}{{ ", " if not loop.last }}{% endfor %}
from new_proposals
