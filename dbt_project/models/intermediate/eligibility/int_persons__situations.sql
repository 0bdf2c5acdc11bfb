-- Each person's situation as it stands: the dossier that speaks for them (an open right first, then
-- the most recently delivered), their role and rights-and-duties flag there, and the household's
-- right and address. One row per person_id. The snapshot history.snap_persons__situations keeps
-- every version of it (SCD2).
{{ config(indexes=[{'columns': ['person_id'], 'unique': true}]) }}

with identities as (

    select * from {{ ref('int_persons__identities') }}

),

persons as (

    select * from {{ ref('stg_caf__persons') }}

),

households as (

    select * from {{ ref('int_households__current') }}

),

in_dossiers as (

    select
        identities.person_id,
        identities.identity_rule,
        identities.anomalie_nir_plusieurs_dates,
        persons.dossier_key,
        persons.date_naissance,
        persons.sexe,
        persons.role_rsa,
        persons.soumis_droits_devoirs,
        persons.soumis_droits_devoirs_connu,
        persons.date_rattachement,
        households.household_id,
        households.situation_connue_le,
        households.date_demande_rsa,
        households.etat_dossier_rsa,
        households.droit_ouvert,
        households.droits_suspendus,
        households.sans_domicile_fixe,
        households.code_insee,
        households.code_postal,
        households.address_pseudonym,
        households.code_territoire,
        households.in_departement,
        count(*) over (partition by identities.person_id) as nb_dossiers,
        row_number() over (
            partition by identities.person_id
            order by households.droit_ouvert desc, persons.role_rsa in ('DEM', 'CJT') desc,
                     households.situation_connue_le desc, households.date_demande_rsa desc nulls last,
                     persons.dossier_key
        ) as dossier_rank
    from identities
    inner join persons on persons.dossier_person_key = identities.dossier_person_key
    inner join households on households.dossier_key = persons.dossier_key

)

select
    person_id,
    identity_rule,
    anomalie_nir_plusieurs_dates,
    dossier_key,
    household_id,
    nb_dossiers,
    situation_connue_le,
    date_naissance,
    sexe,
    role_rsa,
    soumis_droits_devoirs,
    soumis_droits_devoirs_connu,
    date_rattachement,
    date_demande_rsa,
    etat_dossier_rsa,
    droit_ouvert,
    droits_suspendus,
    sans_domicile_fixe,
    code_insee,
    code_postal,
    address_pseudonym,
    code_territoire,
    in_departement
from in_dossiers
where dossier_rank = 1
