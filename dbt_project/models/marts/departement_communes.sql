-- The communes of the département (INSEE codes) and the territory each belongs to.
select
    code_insee,
    nom_commune,
    codes_postaux,
    code_territoire,
    commune_deleguee_de,
    date_fin
from {{ ref('communes') }}
