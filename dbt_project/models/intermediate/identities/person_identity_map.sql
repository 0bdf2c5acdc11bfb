-- The persistent identity map: which person each identity key belongs to. Once a person has a
-- person_id they keep it: the id is the first one they got, whatever key they are found by later.
-- Each run links today's keys (int_persons__identity_rows) into people:
--   a row's NIR key and civil key                  -> the same person (NIR_APPARU when the civil
--                                                     identity was known without a NIR, NIR_CERTIFIE
--                                                     when it had a temporary NIR, NIR_MODIFIE when it
--                                                     had another one);
--   NUMDEMRSAPRECE names the dossier of an earlier demand, OrganismeCedant the dossier it was
--   transferred from                               -> the same civil identity there is the same person
--                                                     (DEMANDE_PRECEDENTE, MUTATION), NIR or not;
--   the same NIR key in two dossiers               -> one key, one person (NIR13_DTNAI).
-- A group of linked keys takes the id its keys already had (the earliest person when they had
-- several: two records of one person are merged into the first); a group never seen gets the md5 of
-- its NIR key, else of the civil key of its earliest dossier. Two rows of one dossier state are two
-- people: should memory give them one id, the row that does not hold it gets its own.
-- One row per key (incremental, delete+insert on identity_key): only the keys whose person changes
-- today are written, with the values they had before (previous_*). Rerunning a day first puts those
-- back and deletes the keys first seen that day, so a rerun gives the same rows; days replayed in
-- order from the landing zone give the same ids. Never rebuilt by --full-refresh: the map is the
-- memory of the ids given. Pseudonyms only: no NIR, no name.
-- The planner cannot estimate the groups of keys (CTEs of CTEs): it picks nested loops that run for
-- minutes on a first build at 90,000 households, or sorts the caseload's keys for merge joins. For
-- this model's transaction only, both are off and hashing gets the memory not to spill to disk;
-- the day's few keys are looked up in the map through its index ("= any(array(...))").
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='identity_key',
    schema='history',
    full_refresh=false,
    on_schema_change='fail',
    indexes=[{'columns': ['identity_key'], 'unique': true}, {'columns': ['person_id']},
             {'columns': ['person_pseudonym']}],
    pre_hook=[
        "set local enable_nestloop = off",
        "set local enable_mergejoin = off",
        "set local work_mem = '64MB'",
        "{% if is_incremental() %}
         delete from {{ this }} where first_seen_on >= {{ run_day() }};
         update {{ this }} set person_id = previous_person_id, identity_rule = previous_identity_rule,
             linked_dossier_key = previous_linked_dossier_key, date_liaison = previous_date_liaison,
             previous_person_id = null, previous_identity_rule = null, previous_linked_dossier_key = null,
             previous_date_liaison = null
         where date_liaison >= {{ run_day() }}
         {% endif %}"],
    post_hook=["revoke all on {{ this }} from public"]
) }}
-- The map as it stood before the run day (nothing on a first build).
{% set remembered = this if is_incremental() else "(select
        null::text as identity_key, null::text as key_type, null::text as person_pseudonym,
        null::date as date_naissance, null::boolean as nir_provisoire, null::text as dossier_key,
        null::text as identity_pseudonym, null::text as person_id, null::text as identity_rule,
        null::text as linked_dossier_key, null::date as first_seen_on, null::date as date_liaison
    where false)" %}

with recursive persons as (

    select * from {{ ref('int_persons__identity_rows') }}

),

dossiers as (

    select
        dossier_key,
        numero_demande_rsa,
        case when cedant_matricule is not null
            then coalesce(cedant_numero_organisme, '') || '-' || cedant_matricule end as cedant_dossier_key
    from {{ ref('stg_caf__dossier_states') }}

),

-- The same civil identity in the dossier this one names as its previous demand or as the one it was
-- transferred from: a key of today's rows, or one the map remembers (the person may have left it).
earlier_candidates as (

    select
        persons.civil_key as child_key,
        'IDENTITE|' || earlier.dossier_key || '|' || persons.identity_pseudonym as parent_key,
        'DEMANDE_PRECEDENTE' as link_rule,
        earlier.dossier_key as linked_dossier_key
    from persons
    inner join dossiers as earlier on earlier.numero_demande_rsa = persons.numero_demande_rsa_precedente
    where persons.civil_key is not null and earlier.dossier_key <> persons.dossier_key
    union all
    select
        persons.civil_key,
        'IDENTITE|' || dossiers.cedant_dossier_key || '|' || persons.identity_pseudonym,
        'MUTATION',
        dossiers.cedant_dossier_key
    from persons
    inner join dossiers on dossiers.dossier_key = persons.dossier_key
    where persons.civil_key is not null and dossiers.cedant_dossier_key <> persons.dossier_key

),

-- (Small sets are looked up in the map with "= any(array(...))": an index scan, whatever the plan.)
remembered_parents as (

    select identity_key
    from {{ remembered }}
    where identity_key = any(array(select parent_key from earlier_candidates))

),

earlier_links as (

    select distinct on (earlier_candidates.child_key, earlier_candidates.parent_key) earlier_candidates.*
    from earlier_candidates
    left join persons as current_parent on current_parent.civil_key = earlier_candidates.parent_key
    left join remembered_parents as remembered_parent
        on remembered_parent.identity_key = earlier_candidates.parent_key
    where current_parent.civil_key is not null or remembered_parent.identity_key is not null
    order by earlier_candidates.child_key, earlier_candidates.parent_key, earlier_candidates.link_rule

),

-- What the map already says of each row: the person of its keys when they all name the same one.
row_memory as (

    select
        persons.*,
        case
            when (persons.nir_key is null or nir_memory.person_id is not null)
                and (persons.civil_key is null or civil_memory.person_id is not null)
                and (nir_memory.person_id is null or civil_memory.person_id is null
                     or nir_memory.person_id = civil_memory.person_id)
                then coalesce(nir_memory.person_id, civil_memory.person_id)
        end as known_person_id
    from persons
    left join {{ remembered }} as nir_memory on nir_memory.identity_key = persons.nir_key
    left join {{ remembered }} as civil_memory on civil_memory.identity_key = persons.civil_key

),

shared_in_dossier as (

    select dossier_key, known_person_id
    from row_memory
    where known_person_id is not null
    group by dossier_key, known_person_id
    having count(*) > 1

),

-- Rows whose person may change today: a key the map does not know or keys naming two persons, a
-- link to an earlier dossier, two rows of one dossier with one person; and the rows sharing a key
-- with them. Every other row keeps its person and adds nothing to the map: the work is the day's.
unsettled_rows as (

    select row_memory.*
    from row_memory
    left join shared_in_dossier
        on shared_in_dossier.dossier_key = row_memory.dossier_key
        and shared_in_dossier.known_person_id = row_memory.known_person_id
    left join (select distinct child_key from earlier_links) as children
        on children.child_key = row_memory.civil_key
    left join (select distinct parent_key from earlier_links) as parents
        on parents.parent_key = row_memory.civil_key
    where row_memory.known_person_id is null
        or shared_in_dossier.dossier_key is not null
        or children.child_key is not null
        or parents.parent_key is not null

),

unsettled_keys as (

    select nir_key as identity_key from unsettled_rows where nir_key is not null
    union
    select civil_key from unsettled_rows where civil_key is not null

),

worked_rows as (

    select * from row_memory where nir_key in (select identity_key from unsettled_keys)
    union
    select * from row_memory where civil_key in (select identity_key from unsettled_keys)

),

edges as (

    select nir_key as key_a, civil_key as key_b
    from worked_rows
    where nir_key is not null and civil_key is not null
    union
    select child_key, parent_key from earlier_links

),

undirected as (

    select key_a as node, key_b as other from edges
    union
    select key_b, key_a from edges

),

degrees as (

    select node, count(*) as degree from undirected group by node

),

-- Most people are one row: a NIR key and a civil key linked to nothing else. Only the other keys
-- need the walk through the links.
pairs as (

    select edges.key_a, edges.key_b
    from edges
    inner join degrees as degree_a on degree_a.node = edges.key_a
    inner join degrees as degree_b on degree_b.node = edges.key_b
    where degree_a.degree = 1 and degree_b.degree = 1

),

walked as (

    select undirected.node, undirected.other
    from undirected
    inner join degrees as node_degree on node_degree.node = undirected.node
    inner join degrees as other_degree on other_degree.node = undirected.other
    where node_degree.degree > 1 or other_degree.degree > 1

),

-- Every key of the walk, with every key it reaches (groups are small: a person's keys).
reach (node, other) as (

    select node, node from walked
    union
    select reach.node, walked.other
    from reach
    inner join walked on walked.node = reach.other

),

keys as (

    select node as identity_key, min(other collate "C") as group_key
    from reach
    group by node
    union all
    select key_a, least(key_a collate "C", key_b collate "C") from pairs
    union all
    select key_b, least(key_a collate "C", key_b collate "C") from pairs
    union
    select worked_rows.own_key, worked_rows.own_key
    from worked_rows
    left join degrees on degrees.node = worked_rows.own_key
    where degrees.node is null

),

-- What the map knows of the keys worked on today.
known_keys as (

    select * from {{ remembered }} where identity_key = any(array(select identity_key from keys))

),

-- The person a group already is: the earliest person among its keys' (first seen first, then the
-- smallest id).
group_memory as (

    select distinct on (keys.group_key) keys.group_key, remembered.person_id
    from keys
    inner join known_keys as remembered on remembered.identity_key = keys.identity_key
    inner join (
        select person_id, min(first_seen_on) as since
        from {{ remembered }}
        where person_id = any(array(select person_id from known_keys))
        group by person_id
    ) as person_since on person_since.person_id = remembered.person_id
    order by keys.group_key, person_since.since, remembered.person_id collate "C"

),

-- A group never seen: its NIR key, else the civil key of a dossier that names no earlier one.
group_origin as (

    select distinct on (keys.group_key) keys.group_key, md5(keys.identity_key) as person_id
    from keys
    left join (select distinct child_key from earlier_links) as children on children.child_key = keys.identity_key
    order by
        keys.group_key,
        keys.identity_key like 'NIR|%' desc,
        children.child_key is not null,
        keys.identity_key collate "C"

),

groups as (

    select group_origin.group_key, coalesce(group_memory.person_id, group_origin.person_id) as person_id
    from group_origin
    left join group_memory on group_memory.group_key = group_origin.group_key

),

-- One person per row; two rows of one dossier state never share a person (the row holding the id by
-- its own key keeps it, the other gets the md5 of its own key).
row_candidates as (

    select
        worked_rows.*,
        groups.person_id as group_person_id,
        (own.person_id is not distinct from groups.person_id or md5(worked_rows.own_key) = groups.person_id)
            as holds_id
    from worked_rows
    inner join keys on keys.identity_key = worked_rows.own_key
    inner join groups on groups.group_key = keys.group_key
    left join known_keys as own on own.identity_key = worked_rows.own_key

),

row_persons as (

    select
        row_candidates.*,
        case
            when row_number() over (
                partition by dossier_key, group_person_id
                order by holds_id desc, own_key like 'NIR|%' desc, own_key collate "C"
            ) = 1 then group_person_id
            else md5(own_key)
        end as person_id
    from row_candidates

),

-- Each key held by today's rows, with the row that speaks for it (a row kept in its group first).
key_owners as (

    select distinct on (identity_key) *
    from (
        select nir_key as identity_key, dossier_person_key, person_id, group_person_id from row_persons
        where nir_key is not null
        union all
        select civil_key, dossier_person_key, person_id, group_person_id from row_persons
        where civil_key is not null
    ) as owned
    order by identity_key, person_id = group_person_id desc, dossier_person_key collate "C"

),

-- Each key's person today: its row's, or its group's for a remembered key no row holds today.
assigned as (

    select
        keys.identity_key,
        coalesce(key_owners.person_id, groups.person_id) as person_id,
        key_owners.dossier_person_key
    from keys
    inner join groups on groups.group_key = keys.group_key
    left join key_owners on key_owners.identity_key = keys.identity_key

),

changed as (

    select
        assigned.identity_key,
        assigned.person_id,
        coalesce(owner.civil_key, assigned.identity_key) as civil_key,
        owner.nir_key as owner_nir_key,
        owner.dossier_key as owner_dossier_key,
        owner.person_pseudonym as owner_person_pseudonym,
        owner.identity_pseudonym as owner_identity_pseudonym,
        owner.date_naissance as owner_date_naissance,
        owner.nir_provisoire as owner_nir_provisoire
    from assigned
    left join known_keys as remembered on remembered.identity_key = assigned.identity_key
    left join worked_rows as owner on owner.dossier_person_key = assigned.dossier_person_key
    where remembered.person_id is distinct from assigned.person_id

),

-- Who the person already was by NIR: to tell a NIR that appears from one that is certified or replaced.
remembered_nirs as (

    select person_id, bool_and(nir_provisoire) as all_provisional
    from {{ remembered }}
    where key_type = 'NIR' and person_id = any(array(select person_id from changed))
    group by person_id

),

-- The links that found the person: this key's dossier names an earlier one where the person is
-- (through), or a later dossier that names this one found the person here (from).
found_through as (

    select distinct on (changed.identity_key)
        changed.identity_key, earlier_links.link_rule, earlier_links.linked_dossier_key
    from changed
    inner join earlier_links on earlier_links.child_key = changed.civil_key
    inner join assigned as parent on parent.identity_key = earlier_links.parent_key
    where parent.person_id = changed.person_id
    order by changed.identity_key, earlier_links.link_rule, earlier_links.parent_key collate "C"

),

found_from as (

    select distinct on (changed.identity_key)
        changed.identity_key, earlier_links.link_rule, later.dossier_key as linked_dossier_key
    from changed
    inner join earlier_links on earlier_links.parent_key = changed.civil_key
    inner join assigned as child on child.identity_key = earlier_links.child_key
    inner join worked_rows as later on later.dossier_person_key = child.dossier_person_key
    where child.person_id = changed.person_id
    order by changed.identity_key, earlier_links.link_rule, earlier_links.child_key collate "C"

),

-- How each key that changed person today was linked to it (see the header).
ruled as (

    select
        changed.*,
        case
            when md5(changed.identity_key) = changed.person_id
                then case when changed.identity_key like 'NIR|%' then 'NIR13_DTNAI' else 'IDENTITE_MATRICULE' end
            when changed.identity_key like 'NIR|%' and civil.person_id = changed.person_id
                then case
                    when nirs.person_id is null then 'NIR_APPARU'
                    when nirs.all_provisional and not changed.owner_nir_provisoire then 'NIR_CERTIFIE'
                    else 'NIR_MODIFIE'
                end
            when found_through.link_rule is not null then found_through.link_rule
            when found_from.link_rule is not null then found_from.link_rule
            when changed.identity_key like 'NIR|%' or changed.owner_nir_key is not null then 'NIR13_DTNAI'
            else 'IDENTITE_MATRICULE'
        end as identity_rule,
        case
            when md5(changed.identity_key) = changed.person_id then null
            when changed.identity_key like 'NIR|%' and civil.person_id = changed.person_id then null
            else coalesce(found_through.linked_dossier_key, found_from.linked_dossier_key)
        end as linked_dossier_key
    from changed
    left join known_keys as civil on civil.identity_key = changed.civil_key
    left join remembered_nirs as nirs on nirs.person_id = changed.person_id
    left join found_through on found_through.identity_key = changed.identity_key
    left join found_from on found_from.identity_key = changed.identity_key

)

select
    ruled.identity_key,
    case when ruled.identity_key like 'NIR|%' then 'NIR' else 'IDENTITE' end as key_type,
    coalesce(remembered.person_pseudonym,
             case when ruled.identity_key like 'NIR|%' then ruled.owner_person_pseudonym end) as person_pseudonym,
    coalesce(remembered.date_naissance, ruled.owner_date_naissance) as date_naissance,
    coalesce(remembered.nir_provisoire,
             case when ruled.identity_key like 'NIR|%' then ruled.owner_nir_provisoire end) as nir_provisoire,
    coalesce(remembered.dossier_key,
             case when ruled.identity_key like 'IDENTITE|%' then ruled.owner_dossier_key end) as dossier_key,
    coalesce(remembered.identity_pseudonym,
             case when ruled.identity_key like 'IDENTITE|%' then ruled.owner_identity_pseudonym end)
        as identity_pseudonym,
    ruled.person_id,
    ruled.identity_rule,
    ruled.linked_dossier_key,
    coalesce(remembered.first_seen_on, {{ run_day() }}) as first_seen_on,
    {{ run_day() }} as date_liaison,
    remembered.person_id as previous_person_id,
    remembered.identity_rule as previous_identity_rule,
    remembered.linked_dossier_key as previous_linked_dossier_key,
    remembered.date_liaison as previous_date_liaison
from ruled
left join known_keys as remembered on remembered.identity_key = ruled.identity_key
