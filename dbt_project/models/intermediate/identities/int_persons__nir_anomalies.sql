-- NIRs seen with two birth dates or more (the same first 13 characters, another DTNAI: an "anomalie"
-- in WebRSA's words). Each (NIR, birth date) is a person of its own (the NIR alone is not trusted):
-- listed here for the data engineer, who checks with the CAF which date is right. One row per NIR,
-- by its pseudonym (person_key); the clear NIR is only in identifiants.identifiants__nir_anomalies.
{{ config(indexes=[{'columns': ['person_key'], 'unique': true}]) }}

with nir_keys as (

    select person_pseudonym, date_naissance, person_id, first_seen_on
    from {{ ref('person_identity_map') }}
    where key_type = 'NIR' and date_naissance is not null

),

current_keys as (

    select distinct person_pseudonym, date_naissance
    from {{ ref('int_persons__identity_rows') }}
    where person_pseudonym is not null

),

dates as (

    select
        nir_keys.person_pseudonym,
        nir_keys.date_naissance,
        min(nir_keys.first_seen_on) as first_seen_on,
        bool_or(current_keys.person_pseudonym is not null) as is_current
    from nir_keys
    left join current_keys
        on current_keys.person_pseudonym = nir_keys.person_pseudonym
        and current_keys.date_naissance = nir_keys.date_naissance
    group by nir_keys.person_pseudonym, nir_keys.date_naissance

),

anomalies as (

    select
        person_pseudonym,
        count(*) as nb_dates_naissance,
        count(*) filter (where is_current) as nb_dates_actuelles,
        min(first_seen_on) as premiere_vue_le,
        -- the day the second birth date was first seen: the day the anomaly appeared
        (array_agg(first_seen_on order by first_seen_on))[2] as anomalie_vue_le
    from dates
    group by person_pseudonym
    having count(*) > 1

),

persons as (

    select person_pseudonym, string_agg(distinct person_id, ' ' order by person_id) as person_ids
    from nir_keys
    where person_pseudonym in (select person_pseudonym from anomalies)
    group by person_pseudonym

)

select
    -- the NIR's pseudonym, which is also stg_caf__persons.person_key of its rows
    anomalies.person_pseudonym as person_key,
    anomalies.nb_dates_naissance,
    anomalies.nb_dates_actuelles,
    persons.person_ids,
    anomalies.premiere_vue_le,
    anomalies.anomalie_vue_le
from anomalies
inner join persons on persons.person_pseudonym = anomalies.person_pseudonym
