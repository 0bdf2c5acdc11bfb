-- The referral lifecycle, one row per referral and day it moved: the log the agencies' daily
-- extracts are cut from, and from which any past day's referrals can be read back. Each run
-- compares the referrals open at the end of the previous day (the latest row of each id before the
-- run day, unless CLOTUREE) with today's decisions (int_referrals__decisions), person by person:
--   no open referral, a decision        -> NOUVELLE, new id_orientation
--   same territory                      -> the referral keeps its parcours (a parcours is not
--                                          changed behind an agency's back because an input of the
--                                          rules changed), and its structure is that parcours's
--                                          destination today: MODIFIEE when the address or the
--                                          situation changed; NOUVELLE (same id) when a waiting PSO
--                                          referral gets its ALI
--   another territory, an agency's re-orientation request, or the destination replaced
--                                       -> CLOTUREE, and NOUVELLE at the new one, the same day
--   no longer orientable                -> CLOTUREE with the reason (kept open while the person is
--                                          only A_SUIVRE, i.e. their rights-and-duties flag is missing)
-- Incremental: a run costs the day's changes. Rerunning a day first deletes that day's rows (and
-- any later ones), so a rerun gives the same rows. id_orientation is a hash of the person, the day
-- and the destination: stable across days and reruns, and the same when days are replayed.
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    indexes=[{'columns': ['id_orientation', 'date_mouvement'], 'unique': true},
             {'columns': ['person_id']}, {'columns': ['date_mouvement']}],
    pre_hook="{% if is_incremental() %}delete from {{ this }} where date_mouvement >= {{ run_day() }}{% endif %}"
) }}

with wanted as (

    select * from {{ ref('int_referrals__decisions') }}

),

eligibility as (

    select person_id, statut_eligibilite, motif_eligibilite from {{ ref('int_persons__eligibility') }}

),

destinations as (

    select code_structure, parcours, code_territoire
    from {{ ref('destinations') }}
    where (actif_du is null or actif_du <= {{ run_day() }})
        and (actif_au is null or actif_au >= {{ run_day() }})

),

open_before as (

{% if is_incremental() %}
    select *
    from (
        select distinct on (id_orientation) *
        from {{ this }}
        where date_mouvement < {{ run_day() }}
        order by id_orientation, date_mouvement desc
    ) as latest
    where type_mouvement <> 'CLOTUREE'
{% else %}
    select
        null::text as id_orientation, null::text as person_id, null::text as household_id,
        null::text as statut_orientation, null::text as parcours, null::text as code_structure,
        null::text as code_territoire, null::text as code_regle, null::date as date_creation,
        null::date as date_orientation, null::date as date_entree_droits_devoirs,
        null::date as date_limite_orientation, null::text as code_insee, null::text as code_postal,
        null::text as etat_dossier_rsa, null::text as role_rsa, null::text as situation_empreinte
    where false
{% endif %}

),

paired as (

    select
        previous.id_orientation as previous_id,
        previous.person_id as previous_person_id,
        previous.household_id as previous_household_id,
        previous.statut_orientation as previous_statut,
        previous.parcours as previous_parcours,
        previous.code_structure as previous_structure,
        previous.code_territoire as previous_territoire,
        previous.code_regle as previous_regle,
        previous.date_creation as previous_creation,
        previous.date_orientation as previous_orientation,
        previous.date_entree_droits_devoirs as previous_entree,
        previous.date_limite_orientation as previous_limite,
        previous.code_insee as previous_insee,
        previous.code_postal as previous_postal,
        previous.etat_dossier_rsa as previous_etat,
        previous.role_rsa as previous_role,
        previous.situation_empreinte as previous_empreinte,
        wanted.*,
        eligibility.statut_eligibilite,
        eligibility.motif_eligibilite,
        kept.code_structure as kept_structure,
        case
            when previous.id_orientation is null then 'NEW'
            when wanted.person_id is null then 'GONE'
            when previous.code_territoire is distinct from wanted.code_territoire then 'MOVED'
            when wanted.est_reorientation and wanted.parcours <> previous.parcours then 'MOVED'
            when previous.code_structure is not null
                and previous.code_structure is distinct from kept.code_structure then 'MOVED'
            else 'SAME'
        end as pairing
    from open_before as previous
    full outer join wanted on wanted.person_id = previous.person_id
    left join eligibility on eligibility.person_id = coalesce(previous.person_id, wanted.person_id)
    -- the destination today of the parcours the open referral already has
    left join lateral (
        select destinations.code_structure
        from destinations
        where destinations.parcours = previous.parcours
            and (destinations.code_territoire = previous.code_territoire or destinations.code_territoire is null)
        order by destinations.code_territoire nulls last, destinations.code_structure
        limit 1
    ) as kept on true

),

closed as (

    select
        previous_id as id_orientation,
        'CLOTUREE' as type_mouvement,
        previous_person_id as person_id,
        previous_household_id as household_id,
        'CLOTUREE' as statut_orientation,
        previous_parcours as parcours,
        previous_structure as code_structure,
        previous_territoire as code_territoire,
        previous_regle as code_regle,
        case
            when pairing = 'MOVED' and previous_territoire is distinct from code_territoire then 'DEMENAGEMENT'
            when pairing = 'MOVED' and previous_parcours <> parcours then 'REORIENTATION'
            when pairing = 'MOVED' then 'CHANGEMENT_DE_STRUCTURE'
            when motif_eligibilite = 'HORS_DEPARTEMENT' then 'DEMENAGEMENT'
            when motif_eligibilite = 'DROIT_NON_OUVERT' then 'FIN_DE_DROIT'
            when motif_eligibilite = 'HORS_DROITS_DEVOIRS' then 'SORTIE_DROITS_DEVOIRS'
            when motif_eligibilite = 'ROLE_NON_CANDIDAT' then 'CHANGEMENT_DE_ROLE'
            else 'ABSENT_DES_FLUX'
        end as motif_cloture,
        previous_creation as date_creation,
        previous_orientation as date_orientation,
        previous_entree as date_entree_droits_devoirs,
        previous_limite as date_limite_orientation,
        previous_insee as code_insee,
        previous_postal as code_postal,
        previous_etat as etat_dossier_rsa,
        previous_role as role_rsa,
        previous_empreinte as situation_empreinte
    from paired
    where pairing = 'MOVED'
        or (pairing = 'GONE' and statut_eligibilite is distinct from 'A_SUIVRE')

),

opened as (

    select
        'OR' || upper(left(md5('ORIENTATION|' || person_id || '|' || {{ run_day() }}::text || '|' || parcours
                               || '|' || coalesce(code_territoire, '')), 16)) as id_orientation,
        'NOUVELLE' as type_mouvement,
        person_id, household_id, statut_orientation, parcours, code_structure, code_territoire, code_regle,
        null::text as motif_cloture,
        {{ run_day() }} as date_creation,
        case when code_structure is not null then {{ run_day() }} end as date_orientation,
        date_entree_droits_devoirs, date_limite_orientation, code_insee, code_postal, etat_dossier_rsa,
        role_rsa, situation_empreinte
    from paired
    where pairing in ('NEW', 'MOVED')

),

continued as (

    select
        previous_id as id_orientation,
        case when previous_structure is null and kept_structure is not null then 'NOUVELLE' else 'MODIFIEE' end
            as type_mouvement,
        person_id,
        household_id,
        case when kept_structure is null then 'EN_ATTENTE_STRUCTURE' else 'OUVERTE' end as statut_orientation,
        previous_parcours as parcours,
        kept_structure as code_structure,
        code_territoire,
        previous_regle as code_regle,
        null::text as motif_cloture,
        previous_creation as date_creation,
        coalesce(previous_orientation, case when kept_structure is not null then {{ run_day() }} end)
            as date_orientation,
        previous_entree as date_entree_droits_devoirs,
        previous_limite as date_limite_orientation,
        code_insee, code_postal, etat_dossier_rsa, role_rsa, situation_empreinte
    from paired
    where pairing = 'SAME'
        and (previous_structure is distinct from kept_structure or previous_empreinte <> situation_empreinte)

),

movements as (

    select * from closed
    union all
    select * from opened
    union all
    select * from continued

)

select
    id_orientation,
    {{ run_day() }} as date_mouvement,
    type_mouvement,
    person_id,
    household_id,
    statut_orientation,
    parcours,
    code_structure,
    code_territoire,
    code_regle,
    motif_cloture,
    date_creation,
    date_orientation,
    date_entree_droits_devoirs,
    date_limite_orientation,
    code_insee,
    code_postal,
    etat_dossier_rsa,
    role_rsa,
    situation_empreinte
from movements
