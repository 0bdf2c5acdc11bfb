-- Chaque adresse du département a, à toute date, au plus une destination active de chaque type
-- (ALI, SSD, France Travail, Mission locale, Cap emploi), et exactement une dès que toutes les
-- structures de ce type sont ouvertes : une ALI et un SSD par territoire, une Mission locale par
-- commune, France Travail et Cap emploi partout. Une adresse, ce sont les lignes de routage
-- (code_insee, code_postal, période) qui la mènent à un territoire : le test suit donc les communes
-- déléguées et les codes postaux d'exception. La couverture ne change qu'aux bornes des périodes :
-- on contrôle chaque borne, le jour qui la précède ou la suit, et deux dates lointaines.
-- Renvoie (adresse, type, jour, nombre de destinations) quand ce nombre dépasse 1, ou vaut 0 une fois
-- toutes les structures du type ouvertes.
with bornes as (
    select actif_du as jour from {{ ref('destinations') }}
    union select actif_au from {{ ref('destinations') }}
    union select valide_du from {{ ref('destinations_communes') }}
    union select valide_au from {{ ref('destinations_communes') }}
    union select valide_du from {{ ref('routage_codes_postaux') }}
    union select valide_au from {{ ref('routage_codes_postaux') }}
),
dates_controle as (
    select '1900-01-01'::date as jour
    union select '2999-12-31'::date
    union select jour from bornes where jour is not null
    union select jour - 1 from bornes where jour is not null
    union select jour + 1 from bornes where jour is not null
),
adresses as (
    select r.code_insee, r.code_postal, r.code_territoire, j.jour
    from {{ ref('routage_codes_postaux') }} as r
    inner join dates_controle as j
        on j.jour between coalesce(r.valide_du, '-infinity'::date) and coalesce(r.valide_au, 'infinity'::date)
),
ouverture_des_types as (
    select type_structure, max(coalesce(actif_du, '-infinity'::date)) as complet_le
    from {{ ref('destinations') }}
    group by type_structure
),
actives as (
    select d.code_structure, d.type_structure, d.code_territoire, j.jour,
        not exists (select from {{ ref('destinations_communes') }} as c where c.code_structure = d.code_structure)
            as sans_communes
    from {{ ref('destinations') }} as d
    inner join dates_controle as j
        on j.jour between coalesce(d.actif_du, '-infinity'::date) and coalesce(d.actif_au, 'infinity'::date)
),
servies as (
    select a.code_insee, a.code_postal, a.jour, t.type_structure, t.complet_le,
        count(d.code_structure) as nb_destinations
    from adresses as a
    cross join ouverture_des_types as t
    left join actives as d
        on d.type_structure = t.type_structure
        and d.jour = a.jour
        and (
            d.code_territoire = a.code_territoire
            or (d.code_territoire is null and d.sans_communes)
            or exists (
                select from {{ ref('destinations_communes') }} as c
                where c.code_structure = d.code_structure
                    and c.code_insee = a.code_insee
                    and a.jour between coalesce(c.valide_du, '-infinity'::date) and coalesce(c.valide_au, 'infinity'::date)
            )
        )
    group by a.code_insee, a.code_postal, a.jour, t.type_structure, t.complet_le
)
select code_insee, code_postal, type_structure, jour, nb_destinations
from servies
where nb_destinations > 1 or (nb_destinations = 0 and jour >= complet_le)
