-- RESTRICTED (schema identifiants, pipeline role only): the NIRs seen with two birth dates or more
-- (int_persons__nir_anomalies), in clear, for the data engineer who checks them with the CAF. One row
-- per NIR and birth date: the person that (NIR, birth date) is, whether it is still in a current
-- dossier state, and the dossiers where that person's civil identity was seen. A view: computed when
-- someone looks, never copied.
{{ config(materialized='view', schema='identifiants',
          post_hook=["revoke all on {{ this }} from public"]) }}

with anomalies as (

    select person_key as person_pseudonym, nb_dates_naissance, anomalie_vue_le
    from {{ ref('int_persons__nir_anomalies') }}

),

nir_keys as (

    select keys.person_pseudonym, keys.date_naissance, keys.person_id, keys.first_seen_on
    from {{ ref('person_identity_map') }} as keys
    inner join anomalies on anomalies.person_pseudonym = keys.person_pseudonym
    where keys.key_type = 'NIR' and keys.date_naissance is not null

),

dossiers as (

    select person_id, array_agg(distinct dossier_key order by dossier_key) as dossier_keys
    from {{ ref('person_identity_map') }}
    where key_type = 'IDENTITE' and person_id in (select person_id from nir_keys)
    group by person_id

),

current_keys as (

    select distinct person_pseudonym, date_naissance
    from {{ ref('int_persons__identity_rows') }}
    where person_pseudonym in (select person_pseudonym from anomalies)

),

-- The NIR in clear, from any CAF row that carried it (the latest).
clear_nirs as (

    select distinct on (pseudonyms.person_pseudonym)
        pseudonyms.person_pseudonym, left(upper(trim(person.nir)), 13) as nir13
    from {{ ref('base_caf__person_pseudonyms') }} as pseudonyms
    inner join {{ source('caf', 'caf_person') }} as person
        on person.file_id = pseudonyms.file_id and person.position = pseudonyms.position
        and person.person_position = pseudonyms.person_position
    where pseudonyms.person_pseudonym in (select person_pseudonym from anomalies)
    order by pseudonyms.person_pseudonym, pseudonyms.file_id desc, pseudonyms.position desc

)

select
    clear_nirs.nir13,
    nir_keys.date_naissance,
    nir_keys.person_id,
    nir_keys.first_seen_on as vue_depuis_le,
    current_keys.person_pseudonym is not null as dans_un_dossier_actuel,
    dossiers.dossier_keys,
    anomalies.nb_dates_naissance,
    anomalies.anomalie_vue_le,
    nir_keys.person_pseudonym
from nir_keys
inner join anomalies on anomalies.person_pseudonym = nir_keys.person_pseudonym
left join clear_nirs on clear_nirs.person_pseudonym = nir_keys.person_pseudonym
left join current_keys
    on current_keys.person_pseudonym = nir_keys.person_pseudonym
    and current_keys.date_naissance = nir_keys.date_naissance
left join dossiers on dossiers.person_id = nir_keys.person_id
