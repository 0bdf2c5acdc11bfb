-- Le premier mouvement de toute orientation est une NOUVELLE, et rien ne suit une CLOTUREE.
with ordered as (
    select
        id_orientation, date_mouvement, type_mouvement,
        row_number() over (partition by id_orientation order by date_mouvement) as rang,
        lag(type_mouvement) over (partition by id_orientation order by date_mouvement) as precedent
    from {{ ref('referral_movements') }}
)
select id_orientation, date_mouvement, type_mouvement, precedent
from ordered
where (rang = 1 and type_mouvement <> 'NOUVELLE') or precedent = 'CLOTUREE'
