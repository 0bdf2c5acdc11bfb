-- Les structures vers lesquelles on oriente (ALI, circonscriptions du service social
-- départemental, France Travail), leur territoire et leur activité au jour du build.
{{ config(alias='structures') }}

select
    code_structure,
    type_structure,
    parcours,
    code_territoire,
    libelle,
    actif_du,
    actif_au,
    actif,
    recoit_extrait
from {{ ref('structures') }}
