-- Les communes du département (codes INSEE) et le territoire de chacune.
{{ config(alias='communes') }}

select
    code_insee,
    nom_commune,
    codes_postaux,
    code_territoire,
    commune_deleguee_de,
    date_fin
from {{ ref('departement_communes') }}
