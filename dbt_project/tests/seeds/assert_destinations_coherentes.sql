-- Une destination accompagne le parcours de son type (codes_type_structure.parcours), a une période
-- d'activité non vide, et son périmètre est celui de son type : ALI et SSD un territoire, les
-- Missions locales des communes (destinations_communes), France Travail et Cap emploi tout le
-- département (ni territoire ni communes). Les périodes des communes d'une destination ne sont pas vides.
with communes_servies as (
    select code_structure, count(*) as nb_communes
    from {{ ref('destinations_communes') }}
    group by code_structure
),
destinations as (
    select d.*, coalesce(c.nb_communes, 0) as nb_communes, t.parcours as parcours_du_type
    from {{ ref('destinations') }} as d
    left join communes_servies as c on c.code_structure = d.code_structure
    left join {{ ref('codes_type_structure') }} as t on t.code = d.type_structure
)
select code_structure, 'parcours incohérent avec le type' as anomalie
from destinations
where parcours_du_type is distinct from parcours
union all
select code_structure, 'période vide (actif_au avant actif_du)'
from destinations
where actif_au < actif_du
union all
select code_structure, 'ALI ou SSD sans territoire, ou servant des communes'
from destinations
where type_structure in ('ALI', 'SSD') and (code_territoire is null or nb_communes > 0)
union all
select code_structure, 'Mission locale rattachée à un territoire, ou sans commune'
from destinations
where type_structure = 'ML' and (code_territoire is not null or nb_communes = 0)
union all
select code_structure, 'structure départementale rattachée à un territoire ou à des communes'
from destinations
where type_structure in ('FT', 'CAP_EMPLOI') and (code_territoire is not null or nb_communes > 0)
union all
select code_structure || ' ' || code_insee, 'période de commune vide (valide_au avant valide_du)'
from {{ ref('destinations_communes') }}
where valide_au < valide_du
