-- The identity keys of each person of a current dossier state: what the identity map knows people by.
--   nir_key    'NIR|<NIR pseudonym>|<birth date>'          a valid NIR (its first 13 characters) with
--                                                          the birth date: the same person in any dossier;
--   civil_key  'IDENTITE|<dossier>|<identity pseudonym>'   the civil identity (birth name, first name,
--                                                          birth date, birth rank) within one dossier.
-- own_key is the key that speaks for the row: its NIR key when it has one, else its civil key. A civil
-- identity listed twice in one dossier state (twins without a birth rank) does not tell who is who:
-- there, a person with a NIR is known by the NIR alone (no civil key), so the two are never merged.
-- md5(own_key) is the person_id a person gets the first time they are seen (person_identity_map).
-- A table: the identity map, int_persons__identities and the NIR anomalies all read it.
{{ config(indexes=[{'columns': ['dossier_person_key'], 'unique': true}]) }}

with persons as (

    select
        dossier_person_key, dossier_key, numero_demande_rsa, numero_demande_rsa_precedente,
        person_pseudonym, identity_pseudonym, nir_provisoire, date_naissance
    from {{ ref('stg_caf__persons') }}

),

shared_identities as (

    select dossier_key, identity_pseudonym
    from persons
    group by dossier_key, identity_pseudonym
    having count(*) > 1

),

keyed as (

    select
        persons.*,
        case when persons.person_pseudonym is not null
            then 'NIR|' || persons.person_pseudonym || '|' || coalesce(persons.date_naissance::text, '')
        end as nir_key,
        case when persons.person_pseudonym is null or shared.dossier_key is null
            then 'IDENTITE|' || persons.dossier_key || '|' || persons.identity_pseudonym
        end as civil_key
    from persons
    left join shared_identities as shared
        on shared.dossier_key = persons.dossier_key and shared.identity_pseudonym = persons.identity_pseudonym

)

select
    dossier_person_key,
    dossier_key,
    numero_demande_rsa,
    numero_demande_rsa_precedente,
    person_pseudonym,
    identity_pseudonym,
    nir_provisoire,
    date_naissance,
    nir_key,
    civil_key,
    coalesce(nir_key, civil_key) as own_key
from keyed
