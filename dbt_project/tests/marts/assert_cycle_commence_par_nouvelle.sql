-- Le premier mouvement de toute orientation est une NOUVELLE, et rien ne suit une CLOTUREE, sauf la
-- reprise de l'orientation (une NOUVELLE du même id) quand le droit s'est rouvert après une clôture pour
-- fin de droit ou sortie des droits et devoirs.
with ordered as (
    select
        id_orientation, date_mouvement, type_mouvement,
        row_number() over (partition by id_orientation order by date_mouvement) as rang,
        lag(type_mouvement) over (partition by id_orientation order by date_mouvement) as precedent,
        lag(motif_cloture) over (partition by id_orientation order by date_mouvement) as motif_precedent
    from {{ ref('referral_movements') }}
)
select id_orientation, date_mouvement, type_mouvement, precedent
from ordered
where (rang = 1 and type_mouvement <> 'NOUVELLE')
    or (precedent = 'CLOTUREE'
        and not (type_mouvement = 'NOUVELLE' and motif_precedent in ('FIN_DE_DROIT', 'SORTIE_DROITS_DEVOIRS')))
