-- Les étapes de la procédure de suspension-remobilisation que les modèles lisent par leur code
-- (intermediate/remobilisation, marts.remobilisation_cases) figurent dans le seed, dans cet ordre.
with attendues (code, rang) as (
    values ('OBSERVATIONS_INVITEES', 1), ('OBSERVATIONS_RECUES', 2), ('EP_CONSULTEE', 3), ('DECISION', 4)
)
select 'étape absente ou déplacée : ' || attendues.code as anomalie
from attendues
left join {{ ref('codes_etape_remobilisation') }} as etapes
    on etapes.code = attendues.code and etapes.rang = attendues.rang
where etapes.code is null
union all
select 'décision sans étape DECISION : seule l''étape DECISION porte une décision'
from {{ ref('codes_etape_remobilisation') }}
where exige_decision and code <> 'DECISION'
