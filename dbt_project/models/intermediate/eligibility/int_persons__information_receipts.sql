-- When the Département received the information that made each person orientable, and the orientation
-- deadline it starts (CASF D.262-65-2, décret 2024-1244): six weeks from the receipt, by the
-- Département's services, of the information on the opening of the right to RSA or on its transfer
-- into the département; past that, France Travail orients the person.
-- One row per person and period of orientability, read from the SCD2 history of their situation: a
-- period is a run of versions where the person is DEM or CJT on an open right in the département
-- and subject to rights and duties (a version with the flag missing continues a period but does not
-- start one, as eligibility keeps such a person's referral open); a version outside that, or a gap
-- (the person was absent from the caseload), ends it. The period starts with its first version
-- subject to rights and duties: the CAF flow that carried that state is the receipt, its delivery
-- date (registry) the day the Département received the information.
--   D262-65-2_RECEPTION    the flow carried the open right
--   D262-65-2_TRANSFERT    the flow carried the dossier's transfer into the département (OrganismeCedant)
--   REPRISE_DE_STOCK       the flow is the warehouse's first CAF delivery: the Département had the
--                          information before the warehouse existed; no deadline is computed or judged
--   RECEPTION_AVANT_2025   received before the decree applied (1 January 2025): no deadline here
--   RECEPTION_INCONNUE     the flow is no longer in the warehouse: no deadline
{{ config(indexes=[{'columns': ['person_id', 'periode_debut'], 'unique': true}]) }}

with roles as (

    select code, est_candidat from {{ ref('codes_rolepers') }}

),

versions as (

    select
        snapshot.person_id,
        snapshot.dossier_key,
        snapshot.situation_connue_le,
        snapshot.dbt_valid_from::date as valid_from,
        snapshot.dbt_valid_to::date as valid_to,
        -- the checks of int_persons__eligibility, on each version of the history
        case
            when not coalesce(roles.est_candidat, false) or not snapshot.droit_ouvert
                or not snapshot.in_departement or snapshot.soumis_droits_devoirs is false then 'HORS'
            when snapshot.soumis_droits_devoirs then 'SOUMIS'
            else 'INCONNU'
        end as etat
    from {{ ref('snap_persons__situations') }} as snapshot
    left join roles on roles.code = snapshot.role_rsa
    -- a version replaced on the day it began (a rerun) never stood
    where snapshot.dbt_valid_to is null or snapshot.dbt_valid_to > snapshot.dbt_valid_from

),

numbered as (

    select
        versions.*,
        sum(case when etat = 'HORS' or previous_valid_to is distinct from valid_from then 1 else 0 end)
            over (partition by person_id order by valid_from) as period_number
    from (
        select *, lag(valid_to) over (partition by person_id order by valid_from) as previous_valid_to
        from versions
    ) as versions

),

periods as (

    select
        person_id,
        period_number,
        min(valid_from) filter (where etat = 'SOUMIS') as periode_debut,
        case when bool_or(valid_to is null) then null else max(valid_to) end as periode_fin
    from numbered
    where etat <> 'HORS'
    group by person_id, period_number
    having bool_or(etat = 'SOUMIS')

),

-- the dossier and the delivery the person's state came from when the period started
starts as (

    select periods.person_id, periods.periode_debut, periods.periode_fin, numbered.dossier_key,
        numbered.situation_connue_le
    from periods
    inner join numbered
        on numbered.person_id = periods.person_id and numbered.valid_from = periods.periode_debut

),

-- the CAF flow that carried that state: the dossier's block delivered that day (the latest one when a
-- day brought two, as in stg_caf__dossiers' ranking)
flows as (

    select distinct on (starts.person_id, starts.periode_debut)
        starts.person_id,
        starts.periode_debut,
        dossiers.file_id,
        dossiers.cedant_matricule is not null or dossiers.cedant_date_arrivee_mutation is not null
            as par_transfert
    from starts
    inner join {{ ref('stg_caf__dossiers') }} as dossiers
        on dossiers.dossier_key = starts.dossier_key and dossiers.delivered_on = starts.situation_connue_le
    order by starts.person_id, starts.periode_debut, dossiers.file_id desc, dossiers.position desc

),

caf_files as (

    select file_id, delivered_on
    from {{ ref('stg_registry__landing_files') }}
    where partner = 'caf' and status in ('loaded', 'loaded_with_rejects') and delivered_on <= {{ run_day() }}

),

first_delivery as (

    select min(delivered_on) as premier_jour from caf_files

),

received as (

    select
        starts.person_id,
        starts.periode_debut,
        starts.periode_fin,
        starts.dossier_key,
        flows.file_id as reception_file_id,
        caf_files.delivered_on as date_reception_information,
        case
            when caf_files.delivered_on is null then 'RECEPTION_INCONNUE'
            when caf_files.delivered_on = first_delivery.premier_jour then 'REPRISE_DE_STOCK'
            when caf_files.delivered_on < date '{{ var("date_regles_2025") }}' then 'RECEPTION_AVANT_2025'
            when flows.par_transfert then 'D262-65-2_TRANSFERT'
            else 'D262-65-2_RECEPTION'
        end as regle_limite_orientation
    from starts
    cross join first_delivery
    left join flows on flows.person_id = starts.person_id and flows.periode_debut = starts.periode_debut
    left join caf_files on caf_files.file_id = flows.file_id

)

select
    person_id,
    periode_debut,
    periode_fin,
    dossier_key,
    reception_file_id,
    date_reception_information,
    regle_limite_orientation,
    case when regle_limite_orientation like 'D262-65-2%'
        then date_reception_information + {{ var('delai_orientation_jours') }} end as date_limite_orientation
from received
