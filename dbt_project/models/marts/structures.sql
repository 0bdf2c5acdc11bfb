-- The referral destinations (ALI, social service circonscriptions, France Travail, Missions locales,
-- Cap emploi) with their territory and whether they are active on the run day.
select
    destinations.code_structure,
    destinations.type_structure,
    destinations.parcours,
    destinations.code_territoire,
    destinations.libelle,
    destinations.actif_du,
    destinations.actif_au,
    destinations.recoit_extrait,
    (destinations.actif_du is null or destinations.actif_du <= {{ run_day() }})
        and (destinations.actif_au is null or destinations.actif_au >= {{ run_day() }}) as actif
from {{ ref('destinations') }} as destinations
