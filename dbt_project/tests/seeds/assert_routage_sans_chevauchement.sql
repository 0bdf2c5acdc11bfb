-- Deux lignes de routage pour le même (code_insee, code_postal) — code postal vide compris —
-- ne doivent jamais être valides le même jour : sinon une adresse aurait deux territoires.
-- Renvoie les paires qui se chevauchent, et les lignes dont la période est vide.
with r as (
    select
        row_number() over (order by code_insee, code_postal, valide_du) as id,
        code_insee,
        code_postal,
        code_territoire,
        coalesce(valide_du, '-infinity'::date) as du,
        coalesce(valide_au, 'infinity'::date) as au
    from {{ ref('routage_codes_postaux') }}
)
select a.code_insee, a.code_postal, a.code_territoire, b.code_territoire as autre_territoire
from r as a
join r as b
    on a.id < b.id
    and a.code_insee = b.code_insee
    and a.code_postal is not distinct from b.code_postal
    and a.du <= b.au
    and b.du <= a.au
union all
select code_insee, code_postal, code_territoire, null
from r
where au < du
