-- Les règles de parcours se terminent par une et une seule règle « defaut » active, de rang le
-- plus grand parmi les règles actives ; chaque critère porte une valeur qu'un modèle sait comparer ;
-- le type de structure d'une règle accompagne son parcours et existe dans les destinations ; une
-- demande de réorientation d'une agence n'est jamais validée automatiquement (elle devient une
-- proposition que le Département décide).
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
where (critere in ('ft_parcours_preconise', 'ft_orientation_decidee')
        and coalesce(valeur, '') not in ('EMPLOI', 'SOCIAL', 'SOCIOPRO'))
    or (critere in ('inscrit_ft', 'age_moins_de_26', 'sans_domicile_fixe', 'droits_suspendus', 'boe',
                    'capacite_a_travailler', 'parent_isole_3_enfants')
        and coalesce(valeur, '') not in ('true', 'false'))
    or (critere = 'reorientation_demandee' and coalesce(valeur, '') not in ('PSP', 'PED'))
    or (critere = 'categorie_ft'
        and coalesce(valeur, '') not in (select code from {{ ref('codes_categorie_france_travail') }}))
    -- codes de France Travail : comparés en majuscules, sans espace autour
    or (critere in ('situation_professionnelle', 'niveau_etude', 'projet_pro', 'contrainte_sante',
                    'contrainte_logement', 'contrainte_mobilite', 'contrainte_familiale')
        and (coalesce(valeur, '') = '' or valeur <> upper(trim(valeur))))
    or (critere = 'defaut' and valeur is not null)
union all
select 'même condition deux fois : ' || critere || '=' || coalesce(valeur, '')
from actives
group by critere, valeur
having count(*) > 1
union all
select 'type de structure d''un autre parcours : ' || r.code_regle
from {{ ref('regles_parcours') }} as r
inner join {{ ref('codes_type_structure') }} as t on t.code = r.type_structure
where t.parcours <> r.parcours
union all
select 'aucune destination de ce type : ' || r.code_regle
from actives as r
inner join {{ ref('codes_parcours') }} as p on p.code = r.parcours
where not exists (
    select from {{ ref('destinations') }} as d
    where d.type_structure = coalesce(r.type_structure, p.type_structure)
)
union all
select 'réorientation validée automatiquement : ' || code_regle
from {{ ref('regles_parcours') }}
where critere = 'reorientation_demandee' and validation_automatique
