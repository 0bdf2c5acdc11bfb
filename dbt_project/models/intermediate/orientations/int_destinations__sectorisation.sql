-- Which structure of each type serves each place of the département on the run day: the one place
-- that says where a parcours goes. A place is a (commune, territory) pair the routing seed gives on
-- the run day (93066 with 93380 is in T01, 93066 otherwise in T05). A destination serves a place
-- through its territory (ALI, SSD), its communes (Missions locales, seed destinations_communes) or,
-- with neither, the whole département (France Travail, Cap emploi); only destinations active on the
-- run day count. The seed tests guarantee at most one per place and type (the most specific is kept
-- should two overlap). A type with no active destination for a place has no row: a proposal of that
-- type waits (EN_ATTENTE_STRUCTURE).
{{ config(indexes=[{'columns': ['code_insee', 'code_territoire', 'type_structure'], 'unique': true}]) }}

with places as (

    select distinct code_insee, code_territoire
    from {{ ref('routage_codes_postaux') }}
    where (valide_du is null or valide_du <= {{ run_day() }})
        and (valide_au is null or valide_au >= {{ run_day() }})

),

communes as (

    select code_structure, code_insee,
        (valide_du is null or valide_du <= {{ run_day() }})
            and (valide_au is null or valide_au >= {{ run_day() }}) as valide
    from {{ ref('destinations_communes') }}

),

destinations as (

    select
        destinations.code_structure,
        destinations.type_structure,
        destinations.parcours,
        destinations.code_territoire,
        -- a destination with communes serves those only, even on a day none of them is valid
        exists (select from communes where communes.code_structure = destinations.code_structure) as par_communes
    from {{ ref('destinations') }} as destinations
    where (destinations.actif_du is null or destinations.actif_du <= {{ run_day() }})
        and (destinations.actif_au is null or destinations.actif_au >= {{ run_day() }})

),

served as (

    select
        places.code_insee,
        places.code_territoire,
        destinations.type_structure,
        destinations.parcours,
        destinations.code_structure,
        case
            when communes.code_insee is not null then 'COMMUNE'
            when destinations.code_territoire is not null then 'TERRITOIRE'
            else 'DEPARTEMENT'
        end as perimetre
    from places
    inner join destinations
        on destinations.code_territoire = places.code_territoire or destinations.code_territoire is null
    left join communes
        on communes.code_structure = destinations.code_structure
        and communes.code_insee = places.code_insee
        and communes.valide
    where not destinations.par_communes or communes.code_insee is not null

)

select distinct on (code_insee, code_territoire, type_structure)
    code_insee,
    code_territoire,
    type_structure,
    parcours,
    code_structure,
    perimetre
from served
order by code_insee, code_territoire, type_structure,
    case perimetre when 'COMMUNE' then 1 when 'TERRITOIRE' then 2 else 3 end, code_structure
