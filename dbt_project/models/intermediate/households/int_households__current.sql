-- Each household (CAF dossier) as it stands: its right (open or not, suspended or not), family
-- situation, and where it lives (territory routed as of the run day). household_id is a keyed
-- pseudonym of the dossier key, so that the layers analysts read never carry the CAF number.
{{ config(indexes=[{'columns': ['dossier_key'], 'unique': true}]) }}

with dossiers as (

    select * from {{ ref('stg_caf__dossier_states') }}

),

addresses as (

    select * from {{ ref('int_addresses__territories') }}

),

rights as (

    select code, est_ouvert from {{ ref('codes_etatdosrsa') }}

),

members as (

    select
        dossier_key,
        count(*) as nb_personnes,
        count(*) filter (where role_rsa = 'ENF') as nb_enfants
    from {{ ref('stg_caf__persons') }}
    group by dossier_key

)

select
    dossiers.dossier_key,
    dossiers.household_id,
    dossiers.delivered_on as situation_connue_le,
    dossiers.caf_typeflux,
    dossiers.date_demande_rsa,
    dossiers.etat_dossier_rsa,
    coalesce(rights.est_ouvert, false) as droit_ouvert,
    dossiers.etat_dossier_rsa in ('3', '4') as droits_suspendus,
    coalesce(dossiers.sans_domicile_fixe, false) as sans_domicile_fixe,
    dossiers.situation_familiale,
    coalesce(members.nb_personnes, 0) as nb_personnes,
    coalesce(members.nb_enfants, 0) as nb_enfants,
    addresses.code_insee,
    addresses.code_postal,
    addresses.address_pseudonym,
    addresses.code_territoire,
    coalesce(addresses.routing_rule, 'SANS_ADRESSE') as routing_rule,
    coalesce(addresses.in_departement, false) as in_departement
from dossiers
left join rights on rights.code = dossiers.etat_dossier_rsa
left join members on members.dossier_key = dossiers.dossier_key
left join addresses on addresses.dossier_key = dossiers.dossier_key
where dossiers.dossier_key is not null
