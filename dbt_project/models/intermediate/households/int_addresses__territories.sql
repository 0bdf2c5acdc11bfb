-- Each dossier's current address routed to its territory, as of the run day. The routing seed is
-- read as documented in seeds/README.md: rows of the commune whose postal code is empty or equal to
-- the address's and whose validity contains the day; a row naming the postal code wins. So 93066
-- with 93380 (ex-Pierrefitte) goes to T01 and 93066 otherwise to T05, before and after the
-- 2025-01-01 merger, and the old code 93059 still routes to T01.
with addresses as (

    select dossier_key, code_insee, code_postal, in_departement, hors_france, address_pseudonym
    from {{ ref('stg_caf__addresses') }}

),

routing as (

    select * from {{ ref('routage_codes_postaux') }}

),

matches as (

    select
        addresses.dossier_key,
        routing.code_territoire,
        case when routing.code_postal is not null then 'CODE_POSTAL' else 'COMMUNE' end as routing_rule,
        row_number() over (
            partition by addresses.dossier_key
            order by (routing.code_postal is not null) desc, routing.valide_du desc nulls last
        ) as match_rank
    from addresses
    inner join routing
        on routing.code_insee = addresses.code_insee
        and (routing.code_postal is null or routing.code_postal = addresses.code_postal)
        and (routing.valide_du is null or routing.valide_du <= {{ run_day() }})
        and (routing.valide_au is null or routing.valide_au >= {{ run_day() }})

)

select
    addresses.dossier_key,
    addresses.code_insee,
    addresses.code_postal,
    addresses.address_pseudonym,
    coalesce(addresses.hors_france, false) as hors_france,
    matches.code_territoire,
    coalesce(matches.routing_rule, 'NON_ROUTEE') as routing_rule,
    matches.code_territoire is not null as in_departement
from addresses
left join matches on matches.dossier_key = addresses.dossier_key and matches.match_rank = 1
