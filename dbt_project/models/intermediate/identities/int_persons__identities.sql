-- Who is who. One row per person of a current dossier state, with the person_id that identity
-- resolution gives them and the code of the rule that decided it (identity_rule):
--   NIR13_DTNAI          a valid NIR (its first 13 characters) with the birth date;
--   DEMANDE_PRECEDENTE   no valid NIR, but the same civil identity (birth name, first name, birth date,
--                        birth rank) in the dossier named by NUMDEMRSAPRECE: the earlier person;
--   MUTATION             idem in the dossier this one was transferred from (OrganismeCedant);
--   IDENTITE_MATRICULE   otherwise the civil identity within the household's dossier (NUMORG-MATRICULE).
-- Names alone never merge two households' people: homonyms (same names and birth date, different
-- NIR) stay two people; a couple sharing a MATRICULE and a first name, or twins (RGNAI), differ by
-- their civil identity. Previous-dossier links are followed to the first dossier of the chain.
with recursive persons as (

    select
        dossier_person_key, dossier_key, numero_demande_rsa, numero_demande_rsa_precedente,
        person_pseudonym, identity_pseudonym, nir_valid, date_naissance
    from {{ ref('stg_caf__persons') }}

),

dossiers as (

    select
        dossier_key,
        case when cedant_matricule is not null
            then coalesce(cedant_numero_organisme, '') || '-' || cedant_matricule end as cedant_dossier_key
    from {{ ref('stg_caf__dossier_states') }}

),

base as (

    select
        persons.*,
        nir_valid and person_pseudonym is not null as has_nir,
        case
            when nir_valid and person_pseudonym is not null
                then md5('NIR|' || person_pseudonym || '|' || coalesce(date_naissance::text, ''))
            else md5('IDENTITE|' || dossier_key || '|' || identity_pseudonym)
        end as base_person_id
    from persons

),

-- A person without a valid NIR found again, with the same civil identity, in an earlier dossier.
candidate_links as (

    select
        child.dossier_person_key as child_key,
        parent.dossier_person_key as parent_key,
        case when parent.numero_demande_rsa = child.numero_demande_rsa_precedente
            then 'DEMANDE_PRECEDENTE' else 'MUTATION' end as link_rule
    from base as child
    left join dossiers on dossiers.dossier_key = child.dossier_key
    inner join base as parent
        on parent.identity_pseudonym = child.identity_pseudonym
        and parent.dossier_key <> child.dossier_key
        and (parent.numero_demande_rsa = child.numero_demande_rsa_precedente
             or parent.dossier_key = dossiers.cedant_dossier_key)
    where not child.has_nir

),

links as (

    select distinct on (child_key) child_key, parent_key, link_rule
    from candidate_links
    order by child_key, link_rule, parent_key

),

-- Follow the links to the first dossier of the chain (bounded, in case two dossiers name each other).
chains (start_key, current_key, link_rule, depth) as (

    select child_key, parent_key, link_rule, 1 from links
    union all
    select chains.start_key, links.parent_key, chains.link_rule, chains.depth + 1
    from chains
    inner join links on links.child_key = chains.current_key
    where chains.depth < 20

),

roots as (

    select distinct on (start_key) start_key, current_key as root_key, link_rule
    from chains
    order by start_key, depth desc

),

resolved as (

    select
        base.dossier_person_key,
        base.dossier_key,
        coalesce(root.base_person_id, base.base_person_id) as person_id,
        case
            when base.has_nir then 'NIR13_DTNAI'
            when roots.start_key is not null then roots.link_rule
            else 'IDENTITE_MATRICULE'
        end as identity_rule,
        root.dossier_key as linked_dossier_key,
        base.person_pseudonym,
        base.has_nir,
        base.date_naissance
    from base
    left join roots on roots.start_key = base.dossier_person_key
    left join base as root on root.dossier_person_key = roots.root_key

),

-- The same NIR with two birth dates is two people (the NIR alone is not trusted), flagged.
nir_anomalies as (

    select person_pseudonym
    from base
    where has_nir
    group by person_pseudonym
    having count(distinct date_naissance) > 1

)

select
    resolved.dossier_person_key,
    resolved.dossier_key,
    resolved.person_id,
    resolved.identity_rule,
    resolved.linked_dossier_key,
    nir_anomalies.person_pseudonym is not null as anomalie_nir_plusieurs_dates
from resolved
left join nir_anomalies on nir_anomalies.person_pseudonym = resolved.person_pseudonym
