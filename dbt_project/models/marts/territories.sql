-- The 22 territories with their ALI and social service.
with destinations as (

    select * from {{ ref('destinations') }}

)

select
    territoires.code_territoire,
    territoires.nom_territoire,
    territoires.decoupage_confirme,
    max(destinations.code_structure) filter (where destinations.type_structure = 'ALI') as code_ali,
    max(destinations.code_structure) filter (where destinations.type_structure = 'SSD') as code_ssd
from {{ ref('territoires') }} as territoires
left join destinations on destinations.code_territoire = territoires.code_territoire
group by territoires.code_territoire, territoires.nom_territoire, territoires.decoupage_confirme
