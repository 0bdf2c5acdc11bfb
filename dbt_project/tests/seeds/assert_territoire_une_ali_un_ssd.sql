-- Chaque territoire a exactement une ALI et exactement un service social départemental
-- (quelle que soit leur période d'activité), et aucune destination ALI/SSD n'est hors territoire.
-- Renvoie les territoires fautifs.
with comptes as (
    select
        t.code_territoire,
        count(*) filter (where d.type_structure = 'ALI') as nb_ali,
        count(*) filter (where d.type_structure = 'SSD') as nb_ssd
    from {{ ref('territoires') }} as t
    left join {{ ref('destinations') }} as d on d.code_territoire = t.code_territoire
    group by t.code_territoire
)
select code_territoire, nb_ali, nb_ssd
from comptes
where nb_ali <> 1 or nb_ssd <> 1
union all
select code_structure, null, null
from {{ ref('destinations') }}
where type_structure in ('ALI', 'SSD') and code_territoire is null
