-- Les règles de parcours se terminent par une et une seule règle « defaut » active, de rang le
-- plus grand parmi les règles actives ; chaque critère porte une valeur qu'un modèle sait comparer.
with actives as (
    select * from {{ ref('regles_parcours') }} where actif
)
select 'nombre de règles defaut actives : ' || count(*) as anomalie
from actives
where critere = 'defaut'
having count(*) <> 1
union all
select 'la règle defaut n''est pas la dernière : ' || a.code_regle
from actives as a
where a.critere <> 'defaut'
    and a.rang > (select max(rang) from actives where critere = 'defaut')
union all
select 'valeur inattendue pour ' || code_regle
from {{ ref('regles_parcours') }}
where (critere = 'ft_parcours_preconise' and coalesce(valeur, '') not in ('EMPLOI', 'SOCIAL', 'SOCIOPRO'))
    or (critere in ('inscrit_ft', 'age_moins_de_26', 'sans_domicile_fixe', 'droits_suspendus')
        and coalesce(valeur, '') not in ('true', 'false'))
    or (critere = 'reorientation_demandee' and coalesce(valeur, '') not in ('PSP', 'PED'))
    or (critere = 'defaut' and valeur is not null)
union all
select 'même condition deux fois : ' || critere || '=' || coalesce(valeur, '')
from actives
group by critere, valeur
having count(*) > 1
