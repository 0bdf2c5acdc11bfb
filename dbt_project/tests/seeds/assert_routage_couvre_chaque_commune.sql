-- Toute commune du référentiel (93059 comprise, même après la fusion) a, à toute date, une ligne
-- de routage « tout code postal » : avec le test de non-chevauchement, toute adresse
-- (code_insee, code_postal, date) du département se résout vers exactement un territoire.
-- La couverture ne change qu'aux bornes des périodes : on contrôle chaque borne, le jour qui la
-- précède ou la suit, et deux dates lointaines.
with dates_controle as (
    select '1900-01-01'::date as jour
    union select '2999-12-31'::date
    union select valide_du from {{ ref('routage_codes_postaux') }} where valide_du is not null
    union select valide_du - 1 from {{ ref('routage_codes_postaux') }} where valide_du is not null
    union select valide_au from {{ ref('routage_codes_postaux') }} where valide_au is not null
    union select valide_au + 1 from {{ ref('routage_codes_postaux') }} where valide_au is not null
),
couverture as (
    select c.code_insee, j.jour, count(r.code_territoire) as nb_regles
    from {{ ref('communes') }} as c
    cross join dates_controle as j
    left join {{ ref('routage_codes_postaux') }} as r
        on r.code_insee = c.code_insee
        and r.code_postal is null
        and j.jour between coalesce(r.valide_du, '-infinity'::date) and coalesce(r.valide_au, 'infinity'::date)
    group by c.code_insee, j.jour
)
select code_insee, jour, nb_regles
from couverture
where nb_regles <> 1
