-- Les 22 territoires du département, avec leur ALI et leur circonscription de service social.
{{ config(alias='territoires') }}

select
    code_territoire,
    nom_territoire,
    decoupage_confirme,
    code_ali,
    code_ssd
from {{ ref('territories') }}
