-- The usable lines of the CNAF's contact-details files, one row per (file_id, line_number), with the
-- person they speak of and the day their file speaks for; no phone, no e-mail, no NIR (those stay in
-- raw, read by identifiants.identifiants__contact_details only). The person: the one of the line's NIR
-- (its pseudonym, as the CAF persons'), else the one person of that role in the dossier of that
-- MATRICULE among the current CAF states (a NIR missing or not yet certified).
with source as (

    select file_id, line_number, matricule, role_personne, telephone_1, telephone_2, email
    from {{ source('caf_contacts', 'caf_contact') }}

),

files as (

    select file_id, delivered_on
    from {{ source('registry', 'landing_file') }}
    where source = 'caf_contacts' and status in ('loaded', 'loaded_with_rejects')
        and delivered_on <= {{ run_day() }}

),

by_role as (

    select
        {{ normalised_matricule('matricule') }} as matricule,
        role_rsa,
        min(person_key) as person_key
    from {{ ref('stg_caf__persons') }}
    where matricule is not null and role_rsa is not null
    group by 1, 2
    having count(distinct person_key) = 1

)

select
    source.file_id::text || '-' || source.line_number::text as contact_line_key,
    source.file_id,
    source.line_number,
    files.delivered_on,
    coalesce(pseudonyms.person_key, by_role.person_key) as person_key,
    pseudonyms.person_key is not null as trouve_par_nir,
    source.role_personne,
    source.telephone_1 is not null or source.telephone_2 is not null as a_telephone,
    coalesce(left(source.telephone_1, 2) in ('06', '07'), false)
        or coalesce(left(source.telephone_2, 2) in ('06', '07'), false) as a_telephone_mobile,
    source.email is not null as a_email
from source
inner join files on files.file_id = source.file_id
left join {{ ref('base_caf_contacts__pseudonyms') }} as pseudonyms
    on pseudonyms.file_id = source.file_id and pseudonyms.line_number = source.line_number
left join by_role
    on by_role.matricule = source.matricule and by_role.role_rsa = source.role_personne
