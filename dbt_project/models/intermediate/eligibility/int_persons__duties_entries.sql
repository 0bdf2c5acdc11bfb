-- When each person entered rights and duties, from the history of their situation: the start of
-- their current uninterrupted period with TOPPERSDRODEVORSA = 1. When that period began before the
-- person was first seen (the first monthly stock), it is unknown here and NULL: eligibility then
-- takes the later of the RSA demand and the person's joining the household.
with versions as (

    select
        person_id,
        soumis_droits_devoirs,
        dbt_valid_from::date as valid_from,
        lag(soumis_droits_devoirs) over (partition by person_id order by dbt_valid_from) as previous_soumis,
        row_number() over (partition by person_id order by dbt_valid_from) as version_number
    from {{ ref('snap_persons__situations') }}

),

entries as (

    select distinct on (person_id) person_id, version_number, valid_from
    from versions
    where soumis_droits_devoirs and previous_soumis is distinct from true
    order by person_id, valid_from desc

)

select
    person_id,
    case when version_number > 1 then valid_from end as entree_observee_le
from entries
