-- Les événements du compte rendu d'activité et leurs motifs s'accordent (le lecteur des comptes
-- rendus lit ces deux seeds) : un événement qui exige un motif en a au moins un, un événement qui
-- n'en exige pas n'en a aucun ; un événement n'est pas à la fois un manquement et une remobilisation.
select 'motif exigé mais aucun motif listé : ' || evenements.code as anomalie
from {{ ref('codes_evenement_ali') }} as evenements
where evenements.exige_motif
    and not exists (select from {{ ref('codes_motif_ali') }} as motifs where motifs.evenement = evenements.code)
union all
select 'motifs listés pour un événement sans motif : ' || evenements.code
from {{ ref('codes_evenement_ali') }} as evenements
where not evenements.exige_motif
    and exists (select from {{ ref('codes_motif_ali') }} as motifs where motifs.evenement = evenements.code)
union all
select 'à la fois manquement et remobilisation : ' || code
from {{ ref('codes_evenement_ali') }}
where est_manquement and est_reengagement
