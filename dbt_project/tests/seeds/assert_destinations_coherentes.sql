-- Une destination accompagne le parcours de son type (codes_parcours.type_structure), a une
-- période d'activité non vide, et France Travail (FT) couvre tout le département sans territoire.
select d.code_structure, 'parcours incohérent avec le type' as anomalie
from {{ ref('destinations') }} as d
join {{ ref('codes_parcours') }} as p on p.code = d.parcours
where p.type_structure <> d.type_structure
union all
select code_structure, 'période vide (actif_au avant actif_du)'
from {{ ref('destinations') }}
where actif_au < actif_du
union all
select code_structure, 'FT rattaché à un territoire'
from {{ ref('destinations') }}
where type_structure = 'FT' and code_territoire is not null
