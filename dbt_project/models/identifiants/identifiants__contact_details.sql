-- RESTRICTED (schema identifiants, pipeline role only): how to reach each CAF person of the caseload,
-- from the CNAF's contact-details files. One row per person_key of identifiants__persons: the latest
-- e-mail, and the latest mobile number, else the latest landline: a mobile is never replaced by a
-- landline a later file gives (a counsellor texts a mobile; a landline of the dossier may be another
-- household member's work number). Feeds the agencies' extracts (telephone, email).
{{ config(materialized='table', schema='identifiants',
          post_hook=["revoke all on {{ this }} from public"]) }}

with lines as (

    select
        lines.person_key,
        lines.delivered_on,
        lines.file_id,
        lines.line_number,
        source.telephone_1,
        source.telephone_2,
        source.email
    from {{ ref('stg_caf_contacts__lines') }} as lines
    inner join {{ source('caf_contacts', 'caf_contact') }} as source
        on source.file_id = lines.file_id and source.line_number = lines.line_number
    where lines.person_key in (select person_key from {{ ref('identifiants__persons') }})

),

phones as (

    select
        lines.person_key,
        lines.delivered_on,
        lines.file_id,
        lines.line_number,
        numbers.slot,
        numbers.telephone,
        left(numbers.telephone, 2) in ('06', '07') as est_mobile
    from lines
    cross join lateral (values (1, lines.telephone_1), (2, lines.telephone_2)) as numbers (slot, telephone)
    where numbers.telephone is not null

),

latest_phone as (

    -- Mobiles first whatever their age, then the most recent; within a line, the first number first.
    select distinct on (person_key)
        person_key, telephone, est_mobile, delivered_on
    from phones
    order by person_key, est_mobile desc, delivered_on desc, file_id desc, line_number desc, slot

),

latest_email as (

    select distinct on (person_key)
        person_key, email, delivered_on
    from lines
    where email is not null
    order by person_key, delivered_on desc, file_id desc, line_number desc

)

select
    coalesce(latest_phone.person_key, latest_email.person_key) as person_key,
    latest_phone.telephone,
    latest_phone.est_mobile as telephone_mobile,
    latest_email.email,
    greatest(latest_phone.delivered_on, latest_email.delivered_on) as date_maj
from latest_phone
full outer join latest_email on latest_email.person_key = latest_phone.person_key
